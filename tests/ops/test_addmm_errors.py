"""torch 2.13's errors for the beta * input + alpha * product family (addmm, addmv, baddbmm, addbmm, addr) and
their in-place variants: texts and order as torch 2.13.0 raises them (each case checked against torch)."""
import re

import numpy as np
import pytest

import refgrad

F64 = refgrad.float64
ones = refgrad.ones

CASES = [  # (expression, exception type, torch 2.13's message)
    # in place, self is never broadcast: torch's "Bad in-place call", not the broadcast error
    (lambda: ones(1).addmv_(ones(3, 2), ones(2)), RuntimeError,
     "Bad in-place call: input tensor size [1] and output tensor size [3] should match"),
    (lambda: ones(()).addmv_(ones(1, 2), ones(2)), RuntimeError,
     "Bad in-place call: input tensor size [] and output tensor size [1] should match"),
    (lambda: ones(2, 4).addmm_(ones(3, 2), ones(2, 4)), RuntimeError,
     "Bad in-place call: input tensor size [2, 4] and output tensor size [3, 4] should match"),
    (lambda: ones(1, 3, 4).addmm_(ones(3, 2), ones(2, 4)), RuntimeError,
     "Bad in-place call: input tensor size [1, 3, 4] and output tensor size [3, 4] should match"),
    (lambda: ones(5, 3, 1).baddbmm_(ones(5, 3, 2), ones(5, 2, 4)), RuntimeError,
     "Bad in-place call: input tensor size [5, 3, 1] and output tensor size [5, 3, 4] should match"),
    (lambda: ones(1).baddbmm_(ones(5, 3, 2), ones(5, 2, 4, dtype=F64)), RuntimeError,
     "Bad in-place call: input tensor dtype float and output tensor dtype double should match"),
    (lambda: ones(2, 3, 4).baddbmm_(ones(5, 3, 2), ones(5, 2, 4)), RuntimeError,  # baddbmm_ expands first
     "The expanded size of the tensor (5) must match the existing size (2) at non-singleton dimension 0.  Target "
     "sizes: [5, 3, 4].  Tensor sizes: [2, 3, 4]"),
    (lambda: ones(1, 2).addr_(ones(3), ones(2)), RuntimeError, "size mismatch, input: [1, 2], v1: [3], v2: [2]"),
    (lambda: ones(4, 2).addr_(ones(3), ones(2)), RuntimeError, "size mismatch, input: [4, 2], v1: [3], v2: [2]"),
    (lambda: ones(2).addr_(ones(3), ones(2)), RuntimeError, "2D tensor expected, got 1D tensor for input"),
    # torch's addbmm_ resizes such a self to (3, 2) (see check_addbmm); refgrad keeps the in-place shape rule
    (lambda: ones(1, 2).addbmm_(ones(5, 3, 4), ones(5, 4, 2)), RuntimeError,
     "output with shape [1, 2] doesn't match the broadcast shape [3, 2]"),
    # out of place: expand's error at the dimension that mismatches, a RuntimeError for addr too (was ValueError)
    (lambda: ones(2, 4).addmm(ones(3, 2), ones(2, 4)), RuntimeError,
     "The expanded size of the tensor (3) must match the existing size (2) at non-singleton dimension 0.  Target "
     "sizes: [3, 4].  Tensor sizes: [2, 4]"),
    (lambda: ones(1, 3, 4, dtype=F64).addmm(ones(3, 2, dtype=F64), ones(2, 4, dtype=F64)), RuntimeError,
     "expand(torch.DoubleTensor{[1, 3, 4]}, size=[3, 4]): the number of sizes provided (2) must be greater or "
     "equal to the number of dimensions in the tensor (3)"),
    (lambda: ones(4, 2).addr(ones(3), ones(2)), RuntimeError,
     "The expanded size of the tensor (3) must match the existing size (4) at non-singleton dimension 0.  Target "
     "sizes: [3, 2].  Tensor sizes: [4, 2]"),
    (lambda: ones(2).addmv(ones(3, 2), ones(2)), RuntimeError, "size mismatch, got input (2), mat (3x2), vec (2)"),
    (lambda: ones(1).addmv(ones(3, 2), ones(3)), RuntimeError, "size mismatch, got input (1), mat (3x2), vec (3)"),
    (lambda: ones(()).addmv(ones(3, 2), ones(3)), IndexError, "Dimension specified as 0 but tensor has no dimensions"),
    (lambda: ones(3, 1).addmv(ones(3, 2), ones(2)), RuntimeError, "vector + matrix @ vector expected, got 2, 2, 1"),
    # dtypes, in torch's order
    (lambda: ones(3, 4, dtype=F64).addmm(ones(3, 2), ones(3, 4)), RuntimeError,
     "self and mat2 must have the same dtype, but got Double and Float"),
    (lambda: ones(3, 4).addmm(ones(3, 2, dtype=F64), ones(2)), RuntimeError,
     "mat1 and mat2 must have the same dtype, but got Double and Float"),
    (lambda: ones(3).addmv(ones(3, 2), ones(2, dtype=F64)), RuntimeError,
     "addmv input tensors must have the same dtype, but got Float, Float, and Double"),
    (lambda: ones(5, 3, 4, dtype=F64).baddbmm(ones(5, 3), ones(5, 2, 4)), RuntimeError,
     "Input dtypes must be the same, got: input double, batch1: float, batch2: float"),
    (lambda: ones(5, 3, 4).baddbmm(ones(5, 3, 2), ones(5, 2, 4, dtype=F64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda: ones(5, 3, 4).baddbmm(ones(5, 3, 2), ones(5, 2)), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda: ones(3, 4).addbmm(ones(5, 3, 2), ones(4, 2, 4)), RuntimeError,
     "batch1 and batch2 must have same number of batches, got 5 and 4"),
    (lambda: ones(3, 4, dtype=F64).addbmm(ones(5, 3, 2), ones(5, 3, 4)), RuntimeError,
     "Incompatible matrix sizes for bmm (3x2 and 3x4)"),
    (lambda: ones(3, 4).addbmm(ones(5, 3, 2), ones(5, 2, 4, dtype=F64)), RuntimeError,
     "self and mat2 must have the same dtype, but got Float and Double"),
    (lambda: ones(3, 2, dtype=refgrad.int64).addr(ones(3, dtype=refgrad.int64), ones(2, dtype=refgrad.int64),
                                                  alpha=0.5), RuntimeError,
     "For integral input tensors, argument alpha must not be a floating point number."),
    (lambda: ones(3, 2).addr(ones(3), ones(2), beta=False), RuntimeError,
     "Boolean beta only supported for Boolean results."),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_errors_match_torch(case):
    expression, kind, message = CASES[case]
    with pytest.raises(kind, match=f"^{re.escape(message)}$"):
        expression()


def test_leaf_check_comes_before_the_in_place_shape_check():
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        ones(1, requires_grad=True).addmm_(ones(3, 2), ones(2, 4))


def test_in_place_variants_write_and_record_their_node():
    x = ones(3, 4, requires_grad=True)
    y = x * 1
    y.addmm_(ones(3, 2), ones(2, 4), beta=0.5)
    assert y.grad_fn.name() == "AddmmBackward0" and np.allclose(y.detach().numpy(), 2.5)
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), 0.5)
    z = ones(3, 2)
    assert z.addr_(ones(3), ones(2), alpha=2) is z and np.allclose(z.numpy(), 3)


def test_addbmm_of_no_batches_skips_the_dtype_check_and_keeps_input_dtype():
    out = ones(3, 4).addbmm(ones(0, 3, 2), ones(0, 2, 4, dtype=F64))  # torch 2.13: float32 ones
    assert out.dtype is refgrad.float32 and np.array_equal(out.numpy(), np.ones((3, 4)))
