"""The backward pass: accumulation, retain_graph, inputs=, autograd.grad, create_graph, and autograd's errors.

Expected values and messages are torch 2.13.0's (see shared/research/torch-autograd-facts.md §3-4).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import refgrad as torch
from refgrad.autograd.graph import ERR_BACKWARD_TWICE


def leaf(*values, dtype=torch.float64):
    return torch.tensor(list(values), dtype=dtype, requires_grad=True)


def test_grad_is_none_until_backward_then_accumulates():
    x = leaf(1.0, 2.0)
    assert x.grad is None
    (x * 3).sum().backward()
    (x * 4).sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]


def test_accumulation_is_in_place_on_the_existing_grad_tensor():
    x = leaf(1.0)
    (x * 2).sum().backward()
    first = x.grad
    (x * 2).sum().backward()
    assert first is x.grad and first.tolist() == [4.0]


def test_grad_zero_and_none_reset():
    x = leaf(1.0, 2.0)
    (x * x).sum().backward()
    x.grad.zero_()
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("build, raises", [
    (lambda x: x.sum(), False),
    (lambda x: (x + 1).sum(), False),
    (lambda x: (-x).sum(), False),
    (lambda x: x.view(2).sum(), False),
    (lambda x: x.mean(), False),
    (lambda x: (x * x).sum(), True),
    (lambda x: x.exp().sum(), True),
    (lambda x: (x * 2).sum(), True),  # the wrapped scalar 2 is saved
    (lambda x: (x / 2).sum(), True),
    (lambda x: (x ** 2).sum(), True),
])
def test_second_backward_raises_only_when_a_node_saved_tensors(build, raises):
    x = leaf(1.0, 2.0)
    y = build(x)
    y.backward()
    if raises:
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.backward()
    else:
        y.backward()
        assert x.grad is not None


def test_retain_graph_allows_a_second_backward():
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_saved_tensor_access_after_free_raises_backward_twice_message():
    x = leaf(1.0)
    y = x.exp()
    y.sum().backward()
    with pytest.raises(RuntimeError) as info:
        _ = y.grad_fn._saved_result
    assert str(info.value) == ERR_BACKWARD_TWICE


def test_vector_jacobian_product_with_gradient_argument():
    x = leaf(1.0, 2.0, 3.0)
    y = x * x
    y.backward(torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float64))
    np.testing.assert_allclose(x.grad.numpy(), [0.2, 4.0, 0.0006])


def test_non_scalar_backward_without_gradient_raises():
    x = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar outputs$"):
        (x * 2).backward()


def test_backward_on_tensor_without_grad_fn_raises():
    with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad and does not have a "
                                           "grad_fn$"):
        torch.ones(2).sum().backward()


def test_gradient_shape_mismatch_raises():
    x = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"torch.Size\(\[3\]\) and output\[0\] has a shape of torch.Size\(\[2\]\)"):
        (x * 2).backward(torch.ones(3, dtype=torch.float64))


def test_float64_gradient_for_float32_output_is_accepted_and_grad_stays_float32():
    x = leaf(1.0, 2.0, dtype=torch.float32)
    (x * 2).backward(torch.ones(2, dtype=torch.float64))
    assert x.grad.dtype is torch.float32


def test_backward_inputs_fills_only_the_given_leaves():
    x, w = leaf(1.0), leaf(2.0)
    (x * w).sum().backward(inputs=[x])
    assert x.grad.tolist() == [2.0] and w.grad is None


def test_autograd_grad_leaves_dot_grad_alone():
    x = leaf(1.0, 2.0)
    (g,) = torch.autograd.grad((x * x).sum(), x)
    assert g.tolist() == [2.0, 4.0] and x.grad is None


def test_autograd_grad_of_non_leaf():
    x = leaf(1.0, 2.0)
    h = x * 3
    (g,) = torch.autograd.grad((h * h).sum(), h)
    assert g.tolist() == [6.0, 12.0]


def test_autograd_grad_unused_input_errors_and_allow_unused():
    x, w = leaf(1.0), leaf(2.0)
    with pytest.raises(RuntimeError, match="^The differentiated Tensor at index 1 appears to not have been used in "
                                           "the graph. Set allow_unused=True if this is the desired behavior.$"):
        torch.autograd.grad((x * 2).sum(), [x, w])
    gx, gw = torch.autograd.grad((x * 2).sum(), [x, w], allow_unused=True)
    assert gx.tolist() == [2.0] and gw is None


def test_autograd_grad_input_that_does_not_require_grad():
    x = leaf(1.0)
    with pytest.raises(RuntimeError, match="^One of the differentiated Tensors does not require grad$"):
        torch.autograd.grad((x * 2).sum(), [x, torch.ones(1)])


def test_create_graph_gives_differentiable_gradients():
    x = leaf(1.0, 2.0)
    (g,) = torch.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and g.tolist() == [3.0, 12.0]
    (gg,) = torch.autograd.grad(g.sum(), x)
    assert gg.tolist() == [6.0, 12.0]


def test_x_times_x_with_create_graph_sums_both_branches_like_torch():
    x = leaf(1.0, 2.0)
    (g,) = torch.autograd.grad((x * x).sum(), x, create_graph=True)
    assert type(g.grad_fn).__name__ == "AddBackward0"


def test_backward_create_graph_warns_about_the_reference_cycle():
    x = leaf(1.0)
    with pytest.warns(UserWarning, match="create a reference cycle"):
        (x * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad


def test_non_leaf_grad_access_warns_and_retain_grad_fills_it():
    x = leaf(1.0, 2.0)
    h = x * 2
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
        assert h.grad is None
    h2 = x * 2
    h2.retain_grad()
    (h2 * h2).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert h2.grad.tolist() == [4.0, 8.0]


def test_grad_fn_names_and_next_functions():
    x = leaf(1.0, 2.0)
    y = (x * 2).sum()
    mul = y.grad_fn.next_functions[0][0]
    assert type(y.grad_fn).__name__ == "SumBackward0"
    assert type(mul).__name__ == "MulBackward0"
    accumulate, nr = mul.next_functions[0]
    assert type(accumulate).__name__ == "AccumulateGrad" and accumulate.variable is x and nr == 0
    assert mul.next_functions[1] == (None, 0)
    assert repr(mul).startswith("<MulBackward0 object at 0x")


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require gradients"):
        torch.ones(2, dtype=torch.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        torch.ones(2, dtype=torch.int64).requires_grad_()


def test_requires_grad_of_non_leaf_cannot_be_turned_off():
    y = leaf(1.0) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)
    assert y.requires_grad_(True) is y


def test_assigning_a_wrong_grad_raises():
    x = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match="attempting to assign a gradient of size"):
        x.grad = torch.ones(3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype 'float'"):
        x.grad = torch.ones(2, dtype=torch.float32)


def test_integer_outputs_never_require_grad():
    x = leaf(1.0, 2.0)
    assert not x.eq(x).requires_grad


def test_backward_inputs_makes_a_non_leaf_retain_its_grad_as_torch():
    """torch 2.13 calls retain_grad() on every backward(inputs=...) tensor: a non-leaf input keeps .grad even in
    later backwards without inputs, and its own node does not run (x.grad stays None)."""
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward(inputs=[y], retain_graph=True)
    assert y.retains_grad and y.grad.tolist() == [1.0, 1.0] and x.grad is None
    y.sum().backward()
    assert y.grad.tolist() == [2.0, 2.0] and x.grad.tolist() == [2.0, 2.0]
    z = x * 3  # not on the path of the backward: retains its grad all the same
    x.sum().backward(inputs=[x, z])
    assert z.retains_grad and z.grad is None


def test_retain_grad_on_a_no_grad_view_after_an_inplace_change_of_its_base_is_a_no_op():
    # torch 2.13: retain_grad reads the stored grad_fn, so the view (a leaf there) is left alone, although
    # reading .grad_fn or .is_leaf raises (found by a default run's graph-state machine, seed 404)
    v1 = torch.tensor(0.0, requires_grad=True)
    with torch.no_grad():
        v2 = v1.view(-1)
        v1.add_(1.5)
    v2.retain_grad()
    assert not v2.retains_grad
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        _ = v2.grad_fn
