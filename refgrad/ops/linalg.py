"""Matrix products and linear algebra."""
from __future__ import annotations

import numpy as np

from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register

_MM_SAVE = {"self": ("mat2",), "mat2": ("self",)}
_mm = Primitive("MmBackward0", np.matmul,
                lambda c, g: (g.mm(c.mat2.t()) if c.needs_input_grad(0) else None,
                              c.self.t().mm(g) if c.needs_input_grad(1) else None),
                inputs=("self", "mat2"), save=_MM_SAVE)
_mv = Primitive("MvBackward0", np.matmul,
                lambda c, g: (g.unsqueeze(1) * c.vec.unsqueeze(0) if c.needs_input_grad(0) else None,
                              c.self.t().mv(g) if c.needs_input_grad(1) else None),
                inputs=("self", "vec"), save={"self": ("vec",), "vec": ("self",)})
_dot = Primitive("DotBackward0", np.dot,
                 lambda c, g: (g * c.tensor if c.needs_input_grad(0) else None,
                               g * c.self if c.needs_input_grad(1) else None),
                 inputs=("self", "tensor"), save={"self": ("tensor",), "tensor": ("self",)})
_bmm = Primitive("BmmBackward0", np.matmul,
                 lambda c, g: (g.bmm(c.mat2.transpose(1, 2)) if c.needs_input_grad(0) else None,
                               c.self.transpose(1, 2).bmm(g) if c.needs_input_grad(1) else None),
                 inputs=("self", "mat2"), save=_MM_SAVE)


def _same_dtype(name: str, a, b):
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_c_name(a.dtype)} != "
                           f"{_c_name(b.dtype)}" if name != "dot" else
                           f"dot : expected both vectors to have same dtype, but found {_scalar(a.dtype)} and "
                           f"{_scalar(b.dtype)}")


def _c_name(dtype) -> str:
    from refgrad.tensor import _C_TYPE
    return _C_TYPE[dtype.name]


def _scalar(dtype) -> str:
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]


@register(method=True)
def mm(input, mat2):
    """Matrix product of two 2-D tensors (torch.mm)."""
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    _same_dtype("mm", input, mat2)
    return _mm(input, mat2)


@register(method=True)
def mv(input, vec):
    """Matrix-vector product (torch.mv)."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x{input.shape[1]}), "
                           f"vec ({vec.shape[0]})")
    _same_dtype("mv", input, vec)
    return _mv(input, vec)


@register(method=True)
def dot(input, tensor):
    """Inner product of two 1-D tensors (torch.dot)."""
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{tensor.shape[0]}] to have the same number of elements, but got {input.shape[0]} and "
                           f"{tensor.shape[0]} elements respectively")
    _same_dtype("dot", input, tensor)
    return _dot(input, tensor)


@register(method=True)
def bmm(input, mat2):
    """Batched matrix product of two 3-D tensors (torch.bmm)."""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if input.ndim != 3 else "batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{input.shape[0]}, "
                           f"{input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    _same_dtype("bmm", input, mat2)
    return _bmm(input, mat2)


@register(method=True)
def matmul(input, other):
    """torch.matmul, decomposed as torch decomposes it (dot, mv, mm, or a batched bmm) so grad_fns match."""
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {input.ndim}D and "
                           f"{other.ndim}D")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_c_name(input.dtype)} != "
                           f"{_c_name(other.dtype)}")
    a, b = input.ndim, other.ndim
    if a == 1 and b == 1:
        return dot(input, other)
    if a == 2 and b == 1:
        return mv(input, other)
    if a == 1 and b == 2:
        return mm(input.unsqueeze(0), other).squeeze(-2)
    if a == 2 and b == 2:
        return mm(input, other)
    if a >= 3 and b <= 2:
        # fold the batch into the rows: (..., n, k) @ (k, m) as one mm
        other2 = other if b == 2 else other.unsqueeze(-1)
        if input.shape[-1] != other2.shape[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({int(np.prod(input.shape[:-1]))}x{input.shape[-1]} and "
                               f"{other2.shape[0]}x{other2.shape[1]})")
        rows = input.reshape(-1, input.shape[-1])
        out = rows.mm(other2)
        out = out._unsafe_view(tuple(input.shape[:-1]) + (other2.shape[1],))
        return out if b == 2 else out.squeeze(-1)
    # general batched case: broadcast the batch dims and use bmm
    x = input.unsqueeze(0) if a == 1 else input
    y = other.unsqueeze(-1) if b == 1 else other
    if x.shape[-1] != y.shape[-2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{int(np.prod(x.shape[:-2]))}, {x.shape[-1]}] but got: "
                           f"[{int(np.prod(y.shape[:-2]))}, {y.shape[-2]}].")
    batch = np.broadcast_shapes(tuple(x.shape[:-2]), tuple(y.shape[:-2]))
    xb = x.expand(batch + tuple(x.shape[-2:])).reshape(-1, x.shape[-2], x.shape[-1])
    yb = y.expand(batch + tuple(y.shape[-2:])).reshape(-1, y.shape[-2], y.shape[-1])
    out = xb.bmm(yb)._unsafe_view(batch + (x.shape[-2], y.shape[-1]))
    if a == 1:
        out = out.squeeze(-2)
    if b == 1:
        out = out.squeeze(-1)
    return out

