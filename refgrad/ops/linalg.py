"""Matrix products, contractions and norms. Decompositions (inv, det, solve, qr, eigh, svd...) live in
``decompositions.py``.

``matmul`` is decomposed exactly as torch 2.13 decomposes it (dot, mv, mm, a folded mm/mv, or an expanded bmm),
so the recorded chain of nodes reads the same as torch's.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from refgrad import dtypes
from refgrad._strides import torch_strides
from refgrad.autograd import zerotensor as _zerotensor
from refgrad.autograd._jvp import multilinear
from refgrad.autograd.grad_mode import _state as _grad_mode
from refgrad.ops._addmm_checks import check_addbmm, check_addmm, check_addmv, check_baddbmm
from refgrad.ops._binary_common import _broadcast
from refgrad.ops._inplace import apply_inplace
from refgrad.ops._primitive import Primitive, refuse_before_kernel
from refgrad.ops._registry import register
from refgrad.ops._util import _scalar, promote, wrap_dim
from refgrad.ops._layout import follow_inputs
from refgrad.ops._views import internal_view
from refgrad.ops.elementwise import _times_scalar
from refgrad.ops.shape import VIEW_ERROR, _t, view_forward, viewable
from refgrad.tensor import Tensor

_MM_SAVE = {"self": ("mat2",), "mat2": ("self",)}


def _column_major(a: np.ndarray) -> bool:
    """torch's layout test in mm_mat1_backward / mm_mat2_backward: a matrix whose strides (in elements; torch's
    for an empty one) are (1, size(0)), laid out column by column. A transposed matrix is one, and so is a [1, 1]
    matrix (strides (1, 1)) however it was made."""
    strides = torch_strides(a)
    return strides[0] == 1 and strides[1] == a.shape[0]


def _layouts(first: np.ndarray, second: np.ndarray) -> int:
    """Which operands of a matrix product are column-major: bit 0 the first, bit 1 the second (see _MM)."""
    return _column_major(first) | _column_major(second) << 1


def mat1_grad(g, mat2, column_major) -> Tensor:
    """torch's mm_mat1_backward without its alpha: g @ mat2.t(), or for a column-major mat1 (mat2 @ g.t()).t(),
    laid out as mat1 is. The operands are valid by construction (g has the product's shape and dtype), so mm's
    argument checks are skipped; a holomorphic node's ``mat2`` arrives conjugated (see refgrad/ops/_conjugate.py).
    Under create_graph each product is recorded by the node its operands' layouts pick (see _MM); without grad
    mode no node is recorded and there is nothing to pick."""
    if column_major:
        first, second = mat2, internal_view(_t, g)
    else:
        first, second = g, internal_view(_t, mat2)
    product = (_MM[_layouts(first._data, second._data)] if _grad_mode.enabled else _mm)(first, second)
    return _t(product) if column_major else product


def mat2_grad(g, mat1, column_major) -> Tensor:
    """torch's mm_mat2_backward without its alpha: mat1.t() @ g, or for a column-major mat2 (g.t() @ mat1).t()
    (see mat1_grad)."""
    if column_major:
        first, second = internal_view(_t, g), mat1
    else:
        first, second = internal_view(_t, mat1), g
    product = (_MM[_layouts(first._data, second._data)] if _grad_mode.enabled else _mm)(first, second)
    return _t(product) if column_major else product


def _mm_vjp(c, g, layouts=0):
    """torch's mm gradients: mm_mat1_backward and mm_mat2_backward, each picked by its operand's layout at the
    forward (``layouts``, see _layouts)."""
    (first, _), (second, _) = c.next_functions  # needs_input_grad(0) and (1), read at once
    if not layouts and not _grad_mode.enabled:  # the plain case, no column-major operand and no create_graph:
        # mat1_grad's and mat2_grad's general products, inlined (mm's backward is the mlp benchmark's, issue #15)
        return (_mm(g, internal_view(_t, c.mat2)) if first is not None else None,
                _mm(internal_view(_t, c.self), g) if second is not None else None)
    return (mat1_grad(g, c.mat2, layouts & 1) if first is not None else None,
            mat2_grad(g, c.self, layouts & 2) if second is not None else None)


def _mm_node(layouts: int) -> Primitive:
    return Primitive("MmBackward0", np.matmul, _mm_vjp if not layouts else partial(_mm_vjp, layouts=layouts),
                     inputs=("self", "mat2"), save=_MM_SAVE, jvp="bilinear")


#: mm by its operands' layouts (index: _layouts): one op whose node's VJP knows which operands were column-major
_MM = tuple(_mm_node(layouts) for layouts in range(4))
_mm = _MM[0]
_mv = Primitive("MvBackward0", np.matmul,
                lambda c, g: (g.unsqueeze(1) * c.vec.unsqueeze(0) if c.needs_input_grad(0) else None,
                              c.self.t().mv(g) if c.needs_input_grad(1) else None),
                inputs=("self", "vec"), save={"self": ("vec",), "vec": ("self",)}, jvp="bilinear")


_dot = Primitive("DotBackward0", np.dot, lambda c, g: (g * c.tensor if c.needs_input_grad(0) else None,
                                                       g * c.self if c.needs_input_grad(1) else None),
                 inputs=("self", "tensor"), save={"self": ("tensor",), "tensor": ("self",)}, jvp="bilinear")
# vdot conjugates its first argument, so it is not holomorphic: d/d self is conj(g) * other
_vdot = Primitive("VdotBackward0", np.vdot, lambda c, g: (g.conj() * c.other if c.needs_input_grad(0) else None,
                                                          g * c.self if c.needs_input_grad(1) else None),
                  inputs=("self", "other"), save={"self": ("other",), "other": ("self",)}, holomorphic=False)
# torch's bmm skips its dtype check when there is nothing to multiply (an empty result, or k = 0: zeros); the
# result then has batch2's dtype
_bmm = Primitive("BmmBackward0", lambda a, b: np.matmul(a, b).astype(b.dtype, copy=False),
                 lambda c, g: (g.bmm(c.mat2.transpose(1, 2)) if c.needs_input_grad(0) else None,
                               c.self.transpose(1, 2).bmm(g) if c.needs_input_grad(1) else None),
                 inputs=("self", "mat2"), save=_MM_SAVE, jvp="bilinear")
# torch squeezes the (1, m) result of vector @ matrix in place: its node is SqueezeBackward4, not a view
_squeeze_row = Primitive("SqueezeBackward4", lambda a: a[0], lambda c, g: g.unsqueeze(0))
_reshape_alias = Primitive("ReshapeAliasBackward0", view_forward, lambda c, g: g.reshape(c._input_meta[0][0]),
                           view=True)


_BOOL = np.dtype(np.bool_)


def _same_dtype(name: str, a, b):
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_c_name(a.dtype)} != "
                           f"{_c_name(b.dtype)}" if name != "dot" else
                           f"dot : expected both vectors to have same dtype, but found {_scalar(a.dtype)} and "
                           f"{_scalar(b.dtype)}")


def _no_bool_kernel(kernel: str, a, b, always: bool = False) -> None:
    """torch's CPU products have no bool kernel: NotImplementedError when one runs (dot always; the others only
    when both operands hold elements)."""
    if a.dtype is dtypes.bool and (always or (a.numel() and b.numel())):
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _c_name(dtype) -> str:
    from refgrad.tensor import _C_TYPE
    return _C_TYPE[dtype.name]


@register(method=True)
def mm(input, mat2):
    """Matrix product of two 2-D tensors (torch.mm)."""
    first, second = input._data, mat2._data
    if first.ndim == 2 == second.ndim and first.shape[1] == second.shape[0] and first.dtype is second.dtype \
            and first.dtype is not _BOOL:  # the common case: every check below passes
        size = first.itemsize
        if first.strides[0] > size and second.strides[0] > size:  # neither can be column-major (_column_major)
            return _mm(input, mat2)
        return _MM[_layouts(first, second)](input, mat2)
    if first.ndim != 2 or second.ndim != 2 or first.shape[1] != second.shape[0]:
        refuse_before_kernel(_mm, input, mat2)  # torch saves the inputs before its kernel checks them
    if first.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if second.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if first.shape[1] != second.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({first.shape[0]}x{first.shape[1]} and "
                           f"{second.shape[0]}x{second.shape[1]})")
    if first.dtype is not second.dtype:
        _same_dtype("mm", input, mat2)
    if first.dtype is _BOOL:
        _no_bool_kernel("addmm_impl_cpu_", input, mat2)
    return _MM[_layouts(first, second)](input, mat2)


@register(method=True)
def mv(input, vec):
    """Matrix-vector product (torch.mv)."""
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        refuse_before_kernel(_mv, input, vec)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x{input.shape[1]}), "
                           f"vec ({vec.shape[0]})")
    if input.dtype is not vec.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_scalar(vec.dtype)}, "
                           f"{_scalar(input.dtype)}, and {_scalar(vec.dtype)}")
    _no_bool_kernel("addmv_impl_cpu", input, vec)
    return _mv(input, vec)


def _check_vectors(name: str, input, other) -> None:
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{other.shape[0]}] to have the same number of elements, but got {input.shape[0]} and "
                           f"{other.shape[0]} elements respectively")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{name} : expected both vectors to have same dtype, but found {_scalar(input.dtype)} and "
                           f"{_scalar(other.dtype)}")


@register(method=True)
def dot(input, tensor):
    """Inner product of two 1-D tensors (torch.dot)."""
    if input.ndim != 1 or tensor.ndim != 1 or input.shape[0] != tensor.shape[0]:
        refuse_before_kernel(_dot, input, tensor)
    _check_vectors("dot", input, tensor)
    _no_bool_kernel("dot", input, tensor, always=True)
    if input._zerotensor or tensor._zerotensor:  # torch: a ZeroTensor, 0 whatever the other holds (zerotensor.py)
        return _zerotensor.absorb(_dot(input, tensor))
    return _dot(input, tensor)


@register(method=True)
def vdot(input, other):
    """Inner product of two 1-D tensors, conjugating the first (torch.vdot)."""
    if input.ndim != 1 or other.ndim != 1 or input.shape[0] != other.shape[0]:
        refuse_before_kernel(_vdot, input, other)
    _check_vectors("vdot", input, other)
    return _vdot(input, other)


@register(method=True)
def bmm(input, mat2):
    """Batched matrix product of two 3-D tensors (torch.bmm)."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        refuse_before_kernel(_bmm, input, mat2)
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if input.ndim != 3 else "batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{input.shape[0]}, "
                           f"{input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    empty = input.shape[0] * input.shape[1] * mat2.shape[2] == 0 or input.shape[2] == 0
    if input.dtype is not mat2.dtype and not empty:
        raise RuntimeError(f"expected scalar type {_scalar(input.dtype)} but found {_scalar(mat2.dtype)}")
    _no_bool_kernel("bmm", input, mat2)
    return _bmm(input, mat2)


def _batch_contiguous(t: Tensor) -> bool:
    """torch's fold test: the leading n-1 dims can be viewed as one without a copy."""
    strides, shape = t.stride(), t.shape
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(t.ndim - 2))


def _should_fold(t1: Tensor, t2: Tensor) -> bool:
    larger_first = t1.ndim >= t2.ndim
    big = t1 if larger_first else t2.transpose(-2, -1)
    small = t2 if larger_first else t1
    if not (big.ndim >= 3 and small.ndim <= 2):
        return False
    if small.requires_grad:
        return True
    if t1.ndim == 2:
        return False
    return big.numel() == 0 or _batch_contiguous(big)


def _flat_batch(t: Tensor, shape: tuple) -> Tensor:
    """Reshape as torch's matmul does: a view (View/ReshapeAlias) when possible, else a copy."""
    from refgrad.ops.shape import reshape
    if t._data.size and not t.is_contiguous():
        viewed = t._data.reshape(shape)
        if np.may_share_memory(viewed, t._data):
            return _reshape_alias(t, shape=shape)
    return reshape(t, shape)


@register(method=True)
def matmul(input, other):
    """torch.matmul, decomposed as torch 2.13 decomposes it (dot, mv, mm, folded mm/mv, or bmm)."""
    a, b = input._data.ndim, other._data.ndim
    if a == 2 and b == 2:  # the common case first (no dtype check here: each product checks its own)
        return mm(input, other)
    if a == 0 or b == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a}D and {b}D")
    # (bmm lets mixed dtypes through when its result is empty)
    if a == 1 and b == 1:
        return dot(input, other)
    if a == 2 and b == 1:
        return mv(input, other)
    if a == 1 and b == 2:
        return _squeeze_row(mm(input.unsqueeze(0), other))
    if _should_fold(input, other):
        transposed = b > a
        big = other.transpose(-2, -1) if transposed else input
        small = input if transposed else other
        # a size mismatch is mm's or mv's error (after their refusal to save an inference operand), as in torch
        rows = _flat_batch(big, (-1, big.shape[-1]) if big.numel() else (int(np.prod(big.shape[:-1])), big.shape[-1]))
        if small.ndim == 1:
            out = rows.mv(small)._unsafe_view(tuple(big.shape[:-1]))
            return out
        out = rows.mm(small.t() if transposed else small)
        out = out._unsafe_view(tuple(big.shape[:-1]) + (out.shape[-1],))
        return out.transpose(-2, -1).contiguous() if transposed else out
    # two 3-D operands with different batch sizes: a batch-1 operand that requires grad is squeezed to a matrix
    if a == 3 and b == 3 and input.shape[0] != other.shape[0]:
        if input.shape[0] == 1 and input.requires_grad:
            return matmul(input.squeeze(0), other)
        if other.shape[0] == 1 and other.requires_grad:
            return matmul(input, other.squeeze(0))
    # general batched case: broadcast the batch dims and use bmm
    n = input.shape[-2] if a > 1 else 1
    k = input.shape[-1]
    k2 = other.shape[-2] if b > 1 else other.shape[0]
    p = other.shape[-1] if b > 1 else 1
    batch = _broadcast([tuple(input.shape[:-2]), tuple(other.shape[:-2])])  # torch's infer_size error first
    size = int(np.prod(batch))
    if k != k2:  # bmm's error on the expanded operands (after its refusal to save an inference operand)
        refuse_before_kernel(_bmm, input, other)
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{size}, {k}] but got: "
                           f"[{size}, {k2}].")
    x = input.expand(batch + (n, k)) if a > 1 else input.expand(batch + (n, k))
    y = other.expand(batch + (k, p)) if b > 1 else other.unsqueeze(-1).expand(batch + (k, p))
    out = _flat_batch(x, (size, n, k)).bmm(_flat_batch(y, (size, k, p)))
    shape = batch + ((n,) if a > 1 else ()) + ((p,) if b > 1 else ())
    return out._unsafe_view(shape)


# --- products built on the above -------------------------------------------------------------------------------


def _addmm_vjp(c, g, layouts=0):
    """torch's addmm gradients: beta * g, and mm's (see _mm_vjp) times alpha."""
    grads = [None, None, None]
    if c.needs_input_grad(0):
        grads[0] = _scale(g, c.beta)
    if c.needs_input_grad(1):
        grads[1] = _scale(mat1_grad(g, c.mat2, layouts & 1), c.alpha)
    if c.needs_input_grad(2):
        grads[2] = _scale(mat2_grad(g, c.mat1, layouts & 2), c.alpha)
    return tuple(grads)


def _scale(t: Tensor, factor) -> Tensor:
    """torch's maybe_multiply(t, factor): t itself for 1, else a Tensor-Scalar product (MulBackward1)."""
    return t if factor == 1 else _times_scalar(t, factor)


def _add_scaled(input, product, beta, alpha):
    scaled = product * np.asarray(alpha, product.dtype) if alpha != 1 else product
    if beta == 0:
        return scaled + np.zeros_like(input)
    return scaled + (input * np.asarray(beta, product.dtype) if beta != 1 else input)


def _addmm_forward(s, m1, m2, beta, alpha):
    return _add_scaled(s, m1 @ m2, beta, alpha)


#: addmm by its matrices' layouts (index: _layouts), as _MM
_ADDMM = tuple(Primitive("AddmmBackward0", _addmm_forward, partial(_addmm_vjp, layouts=layouts),
                         inputs=("self", "mat1", "mat2"), save={"mat1": ("mat2",), "mat2": ("mat1",)},
                         jvp=multilinear(1, 2)) for layouts in range(4))


def _addmv_vjp(c, g):
    # outer and mv check their arguments as torch's ger / mv do: with an empty ``mat`` the output takes the shape
    # of ``input`` (see _addmv_forward) and torch's backward rejects a 0-d gradient there
    return (_scale(g, c.beta) if c.needs_input_grad(0) else None,
            _scale(outer(g, c.vec), c.alpha) if c.needs_input_grad(1) else None,
            _scale(c.mat.t().mv(g), c.alpha) if c.needs_input_grad(2) else None)


def _addmv_forward(s, m, v, beta, alpha):
    if m.size == 0:  # torch's shortcut for an empty matrix: zeros, or beta * input at input's own shape
        if beta == 0:
            return np.zeros((m.shape[0],), dtype=m.dtype)
        return s * np.asarray(beta, s.dtype)
    return _add_scaled(s, m @ v, beta, alpha)


_addmv = Primitive("AddmvBackward0", _addmv_forward, _addmv_vjp,
                   inputs=("self", "mat", "vec"), save={"mat": ("vec",), "vec": ("mat",)}, jvp=multilinear(1, 2))


def _baddbmm_vjp(c, g):
    return (_scale(g, c.beta) if c.needs_input_grad(0) else None,
            _scale(g.bmm(c.batch2.transpose(1, 2)), c.alpha) if c.needs_input_grad(1) else None,
            _scale(c.batch1.transpose(1, 2).bmm(g), c.alpha) if c.needs_input_grad(2) else None)


def _addbmm_vjp(c, g):
    expanded = g.unsqueeze(0).expand((c._input_meta[1][0][0],) + tuple(g.shape))
    return (_scale(g, c.beta) if c.needs_input_grad(0) else None,
            _scale(expanded.bmm(c.batch2.transpose(1, 2)), c.alpha) if c.needs_input_grad(1) else None,
            _scale(c.batch1.transpose(1, 2).bmm(expanded), c.alpha) if c.needs_input_grad(2) else None)


_BMM_SAVE = {"batch1": ("batch2",), "batch2": ("batch1",)}
_baddbmm = Primitive("BaddbmmBackward0", lambda s, b1, b2, beta, alpha: _add_scaled(s, b1 @ b2, beta, alpha),
                     _baddbmm_vjp, inputs=("self", "batch1", "batch2"), save=_BMM_SAVE, jvp=multilinear(1, 2))
_addbmm = Primitive("AddbmmBackward0",
                    lambda s, b1, b2, beta, alpha: _add_scaled(s, (b1 @ b2).sum(0), beta, alpha).astype(
                        s.dtype, copy=False),  # (no batches: torch checks no dtypes and keeps input's)
                    _addbmm_vjp, inputs=("self", "batch1", "batch2"), save=_BMM_SAVE, jvp=multilinear(1, 2))


@register(method=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2) (torch.addmm)."""
    return _addmm_checked(input, mat1, mat2, beta=beta, alpha=alpha)


def _addmm_checked(input, mat1, mat2, *, beta, alpha, inplace=False):
    check_addmm(input, mat1, mat2, inplace)
    return _ADDMM[_layouts(mat1._data, mat2._data)](input, mat1, mat2, beta=beta, alpha=alpha)


@register("addmm_", namespace="torch.Tensor", method=True)
def _addmm_inplace(self, mat1, mat2, *, beta=1, alpha=1):
    """In-place addmm (torch.Tensor.addmm_): self must have the product's shape (it is not broadcast)."""
    return apply_inplace(self, _addmm_checked, mat1, mat2, beta=beta, alpha=alpha, inplace=True)


@register(method=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec) (torch.addmv)."""
    return _addmv_checked(input, mat, vec, beta=beta, alpha=alpha)


def _addmv_checked(input, mat, vec, *, beta, alpha, inplace=False):
    check_addmv(input, mat, vec, inplace)
    if mat.numel() == 0 and beta != 0 and tuple(input.shape) != (mat.shape[0],):
        _refuse_shortcut_tangent(input, mat, vec)
    return _addmv(input, mat, vec, beta=beta, alpha=alpha)


@register("addmv_", namespace="torch.Tensor", method=True)
def _addmv_inplace(self, mat, vec, *, beta=1, alpha=1):
    """In-place addmv (torch.Tensor.addmv_): self must have the product's shape (it is not broadcast)."""
    return apply_inplace(self, _addmv_checked, mat, vec, beta=beta, alpha=alpha, inplace=True)


def _refuse_shortcut_tangent(input, mat, vec) -> None:
    """torch's addmv of an empty matrix returns beta * input at input's own shape (see _addmv_forward), but its
    forward formula's tangent has the shape of mat @ vec, which torch then refuses to attach: torch 2.13 raises
    this for addmv(0-d self, 0x3 mat, vec) in forward mode (refgrad's broadcast tangent would have been accepted)."""
    from refgrad.autograd.forward_ad import has_tangents
    if has_tangents((input, mat, vec)):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the original Tensor, this is "
            f"not supported. Tensor is of size [{', '.join(map(str, input.shape))}] while the given forward "
            f"gradient is of size [{mat.shape[0]}].")


@register(method=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * bmm(batch1, batch2) (torch.baddbmm)."""
    return _baddbmm_checked(input, batch1, batch2, beta=beta, alpha=alpha)


def _baddbmm_checked(input, batch1, batch2, *, beta, alpha, inplace=False):
    check_baddbmm(input, batch1, batch2, inplace)
    return _baddbmm(input, batch1, batch2, beta=beta, alpha=alpha)


@register("baddbmm_", namespace="torch.Tensor", method=True)
def _baddbmm_inplace(self, batch1, batch2, *, beta=1, alpha=1):
    """In-place baddbmm (torch.Tensor.baddbmm_): self must have the product's shape (it is not broadcast)."""
    return apply_inplace(self, _baddbmm_checked, batch1, batch2, beta=beta, alpha=alpha, inplace=True)


@register(method=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * sum_b(batch1[b] @ batch2[b]) (torch.addbmm)."""
    return _addbmm_checked(input, batch1, batch2, beta=beta, alpha=alpha)


def _addbmm_checked(input, batch1, batch2, *, beta, alpha, inplace=False):
    check_addbmm(input, batch1, batch2, inplace)
    return _addbmm(input, batch1, batch2, beta=beta, alpha=alpha)


@register("addbmm_", namespace="torch.Tensor", method=True)
def _addbmm_inplace(self, batch1, batch2, *, beta=1, alpha=1):
    """In-place addbmm (torch.Tensor.addbmm_): self must have the product's shape (see check_addbmm)."""
    return apply_inplace(self, _addbmm_checked, batch1, batch2, beta=beta, alpha=alpha, inplace=True)


@register(method=True, aliases=("ger",))
def outer(input, vec2):
    """Outer product of two 1-D tensors (torch.outer / torch.ger)."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input.ndim}-D" if input.ndim != 1 else
                           f"outer: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    return input.unsqueeze(1) * vec2


@register(method=True)
def tensordot(a, b, dims=2, out=None):
    """Contract ``dims`` trailing dims of ``a`` with leading dims of ``b``, or explicit dim lists (torch.tensordot)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist() if dims.ndim else int(dims.item())
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = dims
        dims_a = [dims_a] if isinstance(dims_a, int) else list(dims_a)
        dims_b = [dims_b] if isinstance(dims_b, int) else list(dims_b)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    dims_a = [wrap_dim(d, a.ndim) for d in dims_a]
    dims_b = [wrap_dim(d, b.ndim) for d in dims_b]
    # as torch: a contracted dim of size 1 on one side broadcasts, the other side is summed over it right away
    # (keepdim), so the product never sees (nor saves) that operand itself
    t1, t2, csize = a, b, 1
    for da, db in zip(dims_a, dims_b):
        s1, s2 = a.shape[da], b.shape[db]
        if s2 == 1:
            t1 = t1.sum(da, keepdim=True)
        elif s1 == 1:
            t2 = t2.sum(db, keepdim=True)
        elif s1 != s2:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {s1} in dim {da} "
                               f"and second has size {s2} in dim {db}")
        else:
            csize *= s1
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    size1 = int(np.prod([a.shape[d] for d in free_a]))
    size2 = int(np.prod([b.shape[d] for d in free_b]))
    out_shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    left, right = t1.permute(free_a + dims_a), t2.permute(dims_b + free_b)
    if size1 == 1 and size2 == 1:  # torch contracts two vectors with dot
        left = left if tuple(left.shape) == (csize,) else left.reshape(csize)
        right = right if tuple(right.shape) == (csize,) else right.reshape(csize)
        return dot(left, right).view(out_shape)
    return left.reshape(size1, csize).mm(right.reshape(csize, size2)).view(out_shape)


@register(method=True)
def inner(input, other):
    """Sum product over the last dims (torch.inner)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


@register(method=True)
def kron(input, other):
    """Kronecker product (torch.kron)."""
    nd = max(input.ndim, other.ndim)
    a_shape = (1,) * (nd - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (nd - other.ndim) + tuple(other.shape)
    # torch interleaves the dims with _unsafe_view (no view of the inputs: the product saves fresh tensors, which
    # an in-place change of an input doesn't touch), and _unsafe_view's the product (laid out after the inputs'
    # strides) to the result's shape: torch's view error when that product's strides don't allow it
    a = input._unsafe_view(tuple(n for d in a_shape for n in (d, 1)))
    b = other._unsafe_view(tuple(n for d in b_shape for n in (1, d)))
    product = a * b
    # (mul's fast paths trust NumPy's contiguity flags, which ignore the strides of size-1 dimensions; torch's
    # order reads them, and here they decide it: a transposed (2, 1) input makes a Fortran-ordered product)
    product._data = follow_inputs(product._data, a._data, b._data)
    target = tuple(a_shape[d] * b_shape[d] for d in range(nd))
    if not viewable(product._data, target):
        raise RuntimeError(VIEW_ERROR)
    return product._unsafe_view(target)


_trace = Primitive("TraceBackward0", np.trace,
                   lambda c, g: _zerotensor.materialized(g) * Tensor._make(  # (torch: zeros, index_fill)
                       np.eye(*c._input_meta[0][0], dtype=c._input_meta[0][1].numpy)))


@register(method=True)
def trace(input):
    """Sum of the main diagonal of a 2-D tensor (torch.trace)."""
    if input.ndim != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim " f"{input.ndim}")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        return Tensor._make(np.asarray(np.trace(input._data), dtype=np.int64))
    return _trace(input)


def _cross_forward(a, b, dim):
    return np.cross(a, b, axis=dim)


_cross = Primitive("LinalgCrossBackward0", _cross_forward,
                   lambda c, g: (_cross(c.other, g, dim=c.dim) if c.needs_input_grad(0) else None,
                                 _cross(g, c.self, dim=c.dim) if c.needs_input_grad(1) else None),
                   inputs=("self", "other"), save={"self": ("other",), "other": ("self",)})


@register(namespace="torch.linalg")
def cross(input, other, *, dim=-1):
    """Cross product of 3-vectors along ``dim``, broadcasting (torch.linalg.cross)."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = np.broadcast_shapes(input.shape, other.shape)
    dim = wrap_dim(dim, len(shape))
    if input.shape[dim] != 3 or other.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[dim]} and "
                           f"{other.shape[dim]}")
    dtype, (a, b) = promote(input, other)
    return _cross(a, b, cast=dtype, dim=dim - len(shape))


def _torch_cross(input, other, dim=None):
    """torch.cross: ``dim=None`` means the first dim of size 3 (deprecated in torch)."""
    if dim is None:
        shape = np.broadcast_shapes(input.shape, other.shape)
        dim = next((d for d, n in enumerate(shape) if n == 3), -1)
    return cross(input, other, dim=dim)


register("cross", method=True)(_torch_cross)


@register(namespace="torch.linalg")
def vecdot(x, y, *, dim=-1):
    """Dot product along ``dim`` (torch.linalg.vecdot): vdot for two vectors, else a product-sum."""
    if x.ndim == 1 and y.ndim == 1:
        return vdot(x, y)
    return (x.conj() * y).sum(dim)


register("matmul", namespace="torch.linalg")(matmul)


# --- einsum ---------------------------------------------------------------------------------------------------


def _einsum_parse(equation: str, operands) -> tuple[list[str], str]:
    """Subscripts per operand and for the output, with ``...`` replaced by upper-case letters."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(operands) > len(terms) else
                           "einsum(): fewer operands were provided than specified in the equation")
    ellipsis_dims = 0
    for term, op in zip(terms, operands):
        named = len(term.replace("...", ""))
        if "..." in term:
            ellipsis_dims = max(ellipsis_dims, op.ndim - named)
        elif named != op.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does not match the "
                               f"number of dimensions ({op.ndim}) for operand {terms.index(term)} and no ellipsis "
                               f"was given")
    batch = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:ellipsis_dims]
    expanded = [t.replace("...", batch[ellipsis_dims - (op.ndim - len(t.replace("...", ""))):])
                for t, op in zip(terms, operands)]
    if arrow:
        output = rhs.replace("...", batch)
    else:
        letters = "".join(expanded)
        output = batch + "".join(sorted(ch for ch in set(letters) if letters.count(ch) == 1 and ch.islower()))
    return expanded, output


def _zero_tangents(operands) -> tuple:
    """The operands, those without a forward tangent given a zero one at each level where another has one: torch
    contracts with bmm, whose forward formula materializes a missing tangent as zeros, so the tangent is NaN where
    a zero meets an infinite partner (0 · inf), e.g. where the first two factors of 'ab,bc,cd->ad' overflowed."""
    from refgrad.autograd.forward_ad import _make_dual, get_tangent, live_levels
    operands = list(operands)
    for lid in live_levels():
        have = [isinstance(op, Tensor) and get_tangent(op, lid) is not None for op in operands]
        if any(have) and not all(have):
            operands = [op if has or not op.dtype.is_floating_point and not op.dtype.is_complex
                        else _make_dual(op, Tensor._make(np.zeros_like(op._data)), lid)
                        for op, has in zip(operands, have)]
    return tuple(operands)


@register()
def einsum(equation: str, *operands):
    """Einstein summation (torch.einsum): diagonals, broadcasting ``...``, products and sums, in refgrad ops."""
    from refgrad.ops.shape import diagonal
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, output = _einsum_parse(equation, operands)
    contracted = sorted({ch for term in terms for ch in term} - set(output))
    if contracted and len(operands) > 1:
        operands = _zero_tangents(operands)
    order = list(output) + contracted
    sizes: dict[str, int] = {}
    aligned = []
    for term, op in zip(terms, operands):
        while len(set(term)) != len(term):  # repeated subscripts: a diagonal VIEW, as torch's (its dim goes last)
            ch = next(ch for ch in term if term.count(ch) > 1)
            first, second = term.index(ch), term.index(ch, term.index(ch) + 1)
            op = diagonal(op, 0, first, second)
            term = "".join(c for i, c in enumerate(term) if i not in (first, second)) + ch
        for ch, n in zip(term, op.shape):
            if sizes.get(ch, 1) != n and n != 1 and sizes.get(ch, 1) != 1:
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"(original->remapped): subscript {ch} has sizes {sizes[ch]} and {n}")
            sizes[ch] = max(sizes.get(ch, 1), n)
        perm = sorted(range(len(term)), key=lambda i: order.index(term[i]))
        placed = op.permute(perm) if perm != list(range(len(term))) else op
        shape, present = [], [term[i] for i in perm]
        for ch in order:
            shape.append(placed.shape[present.index(ch)] if ch in present else 1)
        aligned.append(placed.reshape(shape) if tuple(shape) != tuple(placed.shape) else placed)
    product = aligned[0]
    for k, other in enumerate(aligned[1:], start=2):
        product = product * other
        if k < len(aligned):  # torch contracts left to right: sum what no later operand carries (an overflow in
            # the product of the first two then meets the third as torch's: (AB)C, not A·B·C term by term)
            done = [i for i in range(len(output), len(order)) if product.shape[i] > 1
                    and all(later.shape[i] == 1 for later in aligned[k:])]
            if done:
                product = product.sum(tuple(done), keepdim=True)
    target = tuple(sizes.get(ch, 1) for ch in output)
    if contracted:
        product = product.sum(tuple(range(len(output), len(order))))
        if len(operands) > 1:  # torch contracts pairs with bmm and views the result into place
            if tuple(product.shape) != target:
                product = product.expand(target).clone()
            product = product.view(target)
    elif len(operands) == 1:  # torch always ends a single-operand einsum with a permute
        product = product.permute(tuple(range(product.ndim)))
    return product if tuple(product.shape) == target else product.expand(target)


__all__ = ["mm", "mv", "dot", "vdot", "bmm", "matmul", "addmm", "addmv", "baddbmm", "addbmm", "outer", "tensordot",
           "inner", "kron", "trace", "cross", "vecdot", "dtypes"]
