"""The ``*_copy`` variants of the view ops (torch.t_copy, transpose_copy, permute_copy, ...): the view's values
as a new tensor, recorded as the view's node name with ``_copy`` appended (``TBackward0_copy``), as torch does.

Each op checks its arguments and computes its output shape by running the view op itself on a detached input, so
the errors are the view's; the forward copies and the VJP is the view's VJP written in refgrad ops.
"""
from __future__ import annotations

import numpy as np

from refgrad.ops._layout import contiguous_result
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import wrap_dim
from refgrad.ops.join import cat, stack
from refgrad.ops.shape import unsqueezed_to
from refgrad.ops.shape_extra import _unfold_backward, _unfold_forward, diagonal_scatter, slice_scatter
from refgrad.tensor import Tensor

__all__ = ["t_copy", "transpose_copy", "permute_copy", "unsqueeze_copy", "squeeze_copy", "view_copy",
           "expand_copy", "alias_copy", "diagonal_copy", "narrow_copy", "unfold_copy", "unbind_copy",
           "split_with_sizes_copy"]


def _zeros(c) -> Tensor:
    shape, dtype = c._input_meta[0]
    return Tensor._make(np.zeros(shape, dtype=dtype.numpy))


def _copied(a, shape):
    return np.array(a, copy=True, order="C").reshape(shape)  # torch's *_copy results are contiguous


_reshaped = Primitive("ViewBackward0_copy", _copied, lambda c, g: g.reshape(c._input_meta[0][0]))
# (torch's gradients: the view ops' own, unsqueeze_to and squeeze: UnsqueezeBackward0 / SqueezeBackward1 nodes)
_squeezed = Primitive("SqueezeBackward0_copy", _copied, lambda c, g: unsqueezed_to(g, c._input_meta[0][0]))
_squeezed_dim = Primitive("SqueezeBackward1_copy", _copied, lambda c, g: unsqueezed_to(g, c._input_meta[0][0]))
_squeezed_dims = Primitive("SqueezeBackward2_copy", _copied, lambda c, g: unsqueezed_to(g, c._input_meta[0][0]))
_unsqueezed = Primitive("UnsqueezeBackward0_copy", _copied, lambda c, g: g.squeeze(c.dim))
_t = Primitive("TBackward0_copy", lambda a: np.array(a.T, order="C"), lambda c, g: g.t())
_transposed = Primitive("TransposeBackward0_copy", lambda a, dim0, dim1: np.swapaxes(a, dim0, dim1).copy(),
                        lambda c, g: g.transpose(c.dim0, c.dim1))
_permuted = Primitive("PermuteBackward0_copy", lambda a, dims: np.transpose(a, dims).copy(),
                      lambda c, g: g.permute(tuple(int(i) for i in np.argsort(c.dims))))
_expanded = Primitive("ExpandBackward0_copy", lambda a, shape: np.broadcast_to(a, shape).copy(),
                      lambda c, g: g.sum_to_size(c._input_meta[0][0]))
_alias = Primitive("AliasBackward0_copy", lambda a: a.copy(), lambda c, g: g)
_diagonal = Primitive("DiagonalBackward0_copy",
                      lambda a, offset, dim1, dim2: np.diagonal(a, offset, dim1, dim2).copy(),
                      lambda c, g: diagonal_scatter(_zeros(c).to(g.dtype), g, c.offset, c.dim1, c.dim2))
_narrow = Primitive("NarrowCopyBackward0",
                    lambda a, dim, start, length: a[(slice(None),) * dim + (slice(start, start + length),)].copy(),
                    lambda c, g: slice_scatter(_zeros(c).to(g.dtype), g, c.dim, c.start, c.start + c.length))
_unfold = Primitive("UnfoldBackward0_copy", lambda a, dimension, size, step: _unfold_forward(
    a, dimension, size, step).copy(), lambda c, g: _unfold_backward(
        g, input_sizes=c._input_meta[0][0], dimension=c.dimension, size=c.size, step=c.step))
_unbind = Primitive("UnbindBackward0_copy",
                    lambda a, dim: tuple(np.take(a, i, axis=dim) for i in range(a.shape[dim])),
                    lambda c, *grads: stack(list(grads), c.dim))
_split = Primitive("SplitWithSizesBackward0_copy",  # (torch's copies are contiguous; np.split's are views)
                   contiguous_result(lambda a, dim, sizes: tuple(np.split(a, np.cumsum(sizes)[:-1].astype(int),
                                                                          axis=dim))),
                   lambda c, *grads: cat(list(grads), c.dim))


def _shape_of(view) -> tuple:
    return tuple(view.shape)


@register()
def t_copy(input, *, out=None):
    """torch.t as a copy (torch.t_copy)."""
    input.detach().t()
    return _t(input)


@register()
def transpose_copy(input, dim0: int, dim1: int, *, out=None):
    """torch.transpose as a copy (torch.transpose_copy)."""
    input.detach().transpose(dim0, dim1)
    ndim = max(input.ndim, 1)
    return _transposed(input, dim0=dim0 % ndim, dim1=dim1 % ndim)


@register()
def permute_copy(input, dims, *, out=None):
    """torch.permute as a copy (torch.permute_copy)."""
    input.detach().permute(tuple(dims))
    return _permuted(input, dims=tuple(int(d) % max(input.ndim, 1) for d in dims))


@register()
def unsqueeze_copy(input, dim: int, *, out=None):
    """torch.unsqueeze as a copy (torch.unsqueeze_copy)."""
    view = input.detach().unsqueeze(dim)
    return _unsqueezed(input, shape=_shape_of(view), dim=wrap_dim(dim, input.ndim + 1))


@register()
def squeeze_copy(input, dim=None, *, out=None):
    """torch.squeeze as a copy (torch.squeeze_copy)."""
    view = input.detach().squeeze() if dim is None else input.detach().squeeze(dim)
    prim = _squeezed if dim is None else _squeezed_dims if isinstance(dim, (list, tuple)) else _squeezed_dim
    return prim(input, shape=_shape_of(view))


@register()
def view_copy(input, size, *, out=None):
    """Tensor.view as a copy (torch.view_copy)."""
    # the shape (and its errors) view's, of a contiguous input: a copy needs no viewable strides (torch's neither)
    return _reshaped(input, shape=_shape_of(input.detach().contiguous().view(size)))


@register()
def expand_copy(input, size, *, implicit: bool = False, out=None):
    """Tensor.expand as a copy (torch.expand_copy)."""
    return _expanded(input, shape=_shape_of(input.detach().expand(size)))


@register()
def alias_copy(input, *, out=None):
    """torch.alias as a copy (torch.alias_copy)."""
    return _alias(input)


@register()
def diagonal_copy(input, offset: int = 0, dim1: int = 0, dim2: int = 1, *, out=None):
    """torch.diagonal as a copy (torch.diagonal_copy)."""
    input.detach().diagonal(offset, dim1, dim2)
    return _diagonal(input, offset=offset, dim1=dim1 % input.ndim, dim2=dim2 % input.ndim)


@register(method=True)
def narrow_copy(input, dim: int, start: int, length: int, *, out=None):
    """torch.narrow as a copy (torch.narrow_copy); its node is NarrowCopyBackward0."""
    input.detach().narrow(dim, start, length)
    dim = dim % input.ndim
    return _narrow(input, dim=dim, start=start % input.shape[dim] if start < 0 else start, length=length)


@register()
def unfold_copy(input, dimension: int, size: int, step: int, *, out=None):
    """Tensor.unfold as a copy (torch.unfold_copy)."""
    input.detach().unfold(dimension, size, step)
    return _unfold(input, dimension=dimension % max(input.ndim, 1), size=size, step=step)


@register()
def unbind_copy(input, dim: int = 0, *, out=None):
    """torch.unbind as copies (torch.unbind_copy)."""
    input.detach().unbind(dim)
    outputs = _unbind(input, dim=dim % input.ndim)
    return outputs if isinstance(outputs, tuple) else (outputs,)


@register()
def split_with_sizes_copy(input, split_sizes, dim: int = 0, *, out=None):
    """Tensor.split_with_sizes as copies (torch.split_with_sizes_copy)."""
    input.detach().split_with_sizes(list(split_sizes), dim)
    outputs = _split(input, dim=dim % input.ndim, sizes=tuple(int(s) for s in split_sizes))
    return outputs if isinstance(outputs, tuple) else (outputs,)
