"""torch 2.13's argument checks for the ``beta * input + alpha * product`` family (addmm, addmv, baddbmm, addbmm,
addr) and their in-place variants, in torch's order. Each returns the product's shape; ``inplace`` makes a
``self`` of another shape raise torch's in-place error instead of being broadcast (torch's in-place ops never
change ``self``'s shape, except addbmm_: see check_addbmm)."""
from __future__ import annotations

from refgrad.ops._util import _scalar, wrap_dim
from refgrad.ops.shape import check_expand


def _c_name(dtype) -> str:
    from refgrad.tensor import _C_TYPE
    return _C_TYPE[dtype.name]


def _shape(shape) -> str:
    return f"[{', '.join(map(str, shape))}]"


def _size(t, dim: int) -> int:
    """``t.size(dim)`` as torch's C++ reads it (IndexError for a dim t does not have)."""
    if t.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return t.shape[wrap_dim(dim, t.ndim)]


def _fit(input, shape: tuple, inplace: bool) -> None:
    """Out of place ``input`` broadcasts to ``shape`` through expand; in place it must have that shape."""
    if not inplace:
        check_expand(input, shape)
    elif tuple(input.shape) != tuple(shape):
        raise RuntimeError(f"Bad in-place call: input tensor size {_shape(input.shape)} and output tensor size "
                           f"{_shape(shape)} should match")


def _mm_dtypes(input, mat1, mat2) -> None:
    if input.dtype is not mat2.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_scalar(input.dtype)} and "
                           f"{_scalar(mat2.dtype)}")
    if mat1.dtype is not mat2.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_scalar(mat1.dtype)} and "
                           f"{_scalar(mat2.dtype)}")


def check_addmm(input, mat1, mat2, inplace: bool = False) -> tuple:
    _mm_dtypes(input, mat1, mat2)
    if mat1.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1.ndim}-D tensor")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2.ndim}-D tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    shape = (mat1.shape[0], mat2.shape[1])
    _fit(input, shape, inplace)
    return shape


def check_addmv(input, mat, vec, inplace: bool = False) -> tuple:
    if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}")
    if mat.shape[1] != vec.shape[0] or (mat.shape[0] != input.numel() and input.numel() != 1):
        raise RuntimeError(f"size mismatch, got input ({_size(input, 0)}), mat ({mat.shape[0]}x{mat.shape[1]}), "
                           f"vec ({vec.shape[0]})")
    if not input.dtype is mat.dtype is vec.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_scalar(input.dtype)}, "
                           f"{_scalar(mat.dtype)}, and {_scalar(vec.dtype)}")
    shape = (mat.shape[0],)
    if inplace:  # (out of place the size check above is the broadcast check)
        _fit(input, shape, inplace)
    return shape


def check_baddbmm(input, batch1, batch2, inplace: bool = False) -> tuple:
    shape = (_size(batch1, 0), _size(batch1, 1), _size(batch2, 2))
    check_expand(input, shape)
    if input.dtype is not batch1.dtype:
        raise RuntimeError(f"Input dtypes must be the same, got: input {_c_name(input.dtype)}, batch1: "
                           f"{_c_name(batch1.dtype)}, batch2: {_c_name(batch2.dtype)}")
    if batch1.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if batch2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if batch2.shape[0] != batch1.shape[0] or batch2.shape[1] != batch1.shape[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch1.shape[0]}, "
                           f"{batch1.shape[2]}] but got: [{batch2.shape[0]}, {batch2.shape[1]}].")
    if inplace and batch2.dtype is not input.dtype:  # in place torch compares self with the result (batch2's)
        raise RuntimeError(f"Bad in-place call: input tensor dtype {_c_name(input.dtype)} and output tensor dtype "
                           f"{_c_name(batch2.dtype)} should match")
    if inplace:
        _fit(input, shape, inplace)
    if batch2.dtype is not batch1.dtype:
        raise RuntimeError(f"expected scalar type {_scalar(batch1.dtype)} but found {_scalar(batch2.dtype)}")
    return shape


def check_addbmm(input, batch1, batch2, inplace: bool = False) -> tuple:
    """torch 2.13's addbmm_ resizes a ``self`` that broadcasts to the product's shape (ones(1, 2).addbmm_ of a
    (5, 3, 4) @ (5, 4, 2) batch leaves self (3, 2), no warning), against its documented rule that in-place ops
    never change self's shape; refgrad keeps the rule and raises the general in-place shape error."""
    if batch1.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if _size(batch2, 0) != batch1.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {batch1.shape[0]} and "
                           f"{batch2.shape[0]}")
    shape = (batch1.shape[1], _size(batch2, 2))
    check_expand(input, shape)
    if batch2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({batch1.shape[1]}x{batch1.shape[2]} and "
                           f"{batch2.shape[1]}x{batch2.shape[2]})")
    if batch1.shape[0]:  # torch adds the batches with addmm: none, no dtype check
        _mm_dtypes(input, batch1, batch2)
    if inplace and tuple(input.shape) != shape:
        raise RuntimeError(f"output with shape {_shape(input.shape)} doesn't match the broadcast shape "
                           f"{_shape(shape)}")
    return shape


def check_addr(input, vec1, vec2, inplace: bool = False) -> tuple:
    if vec1.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.ndim}-D")
    if vec2.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    shape = (vec1.shape[0], vec2.shape[0])
    if not inplace:
        check_expand(input, shape)
    elif input.ndim != 2:
        raise RuntimeError(f"2D tensor expected, got {input.ndim}D tensor for input")
    elif tuple(input.shape) != shape:
        raise RuntimeError(f"size mismatch, input: {_shape(input.shape)}, v1: {_shape(vec1.shape)}, "
                           f"v2: {_shape(vec2.shape)}")
    return shape
