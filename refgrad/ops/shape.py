"""Shape and movement ops. Those torch implements as views return NumPy views sharing storage and version."""
from __future__ import annotations

import numpy as np

from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import wrap_dim


def _infer_shape(shape, numel: int) -> tuple:
    """Resolve one -1 in a requested shape, with torch's error for an impossible shape."""
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
    return shape


def _shape_args(args) -> tuple:
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


_view = Primitive("ViewBackward0", lambda a, shape: a.reshape(shape), lambda c, g: g.reshape(c.self_sym_sizes),
                  view=True)
_unsafe_view = Primitive("UnsafeViewBackward0", lambda a, shape: a.reshape(shape),
                         lambda c, g: g.reshape(c.self_sym_sizes))
_alias = Primitive("AliasBackward0", lambda a: a.view(), lambda c, g: g, view=True)


def view(self, *shape):
    """A view with a new shape (torch.Tensor.view); RuntimeError if the strides don't allow one."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer)):
        from refgrad.ops.elementwise import to
        return to(self, shape[0])  # view(dtype) of a same-size dtype is not supported: treat as cast
    target = _infer_shape(_shape_args(shape), self.numel())
    result = self._data.reshape(target) if self._data.size else np.empty(target, self._data.dtype)
    if self._data.size and not np.may_share_memory(result, self._data):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one dimension "
                           "spans across two contiguous subspaces). Use .reshape(...) instead.")
    return _view(self, shape=target, self_sym_sizes=tuple(self.shape))


@register(method=True)
def reshape(input, *shape):
    """A view when the layout allows it, else a copy (torch.reshape)."""
    target = _infer_shape(_shape_args(shape), input.numel())
    result = input._data.reshape(target)
    if input._data.size == 0 or np.may_share_memory(result, input._data):
        return _view(input, shape=target, self_sym_sizes=tuple(input.shape))
    return _unsafe_view(_clone_for_reshape(input), shape=target, self_sym_sizes=tuple(input.shape))


def _clone_for_reshape(input):
    from refgrad.ops.elementwise import clone
    return clone(input)


def view_as(self, other):
    """self.view(other.shape)."""
    return view(self, tuple(other.shape))


def reshape_as(self, other):
    return reshape(self, tuple(other.shape))


_transpose = Primitive("TransposeBackward0", lambda a, dim0, dim1: np.swapaxes(a, dim0, dim1),
                       lambda c, g: g.transpose(c.dim0, c.dim1), view=True)
_t = Primitive("TBackward0", lambda a: a.T, lambda c, g: g.t(), view=True)


@register(method=True, aliases=("swapaxes", "swapdims"))
def transpose(input, dim0: int, dim1: int):
    """Swap two dimensions, as a view (torch.transpose)."""
    n = input.ndim
    return _transpose(input, dim0=wrap_dim(dim0, n), dim1=wrap_dim(dim1, n))


@register(method=True)
def t(input):
    """Transpose a tensor of at most 2 dimensions (torch.t)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return _t(input)


_unsqueeze = Primitive("UnsqueezeBackward0", lambda a, dim: np.expand_dims(a, dim), lambda c, g: g.squeeze(c.dim),
                       view=True)
_squeeze_dim = Primitive("SqueezeBackward1", lambda a, dim: np.squeeze(a, dim) if a.shape[dim] == 1 else a.view(),
                         lambda c, g: g.reshape(c.self_sym_sizes), view=True)
_squeeze_all = Primitive("SqueezeBackward0", lambda a: np.squeeze(a), lambda c, g: g.reshape(c.self_sym_sizes),
                         view=True)


@register(method=True)
def unsqueeze(input, dim: int):
    """Insert a length-1 dimension (torch.unsqueeze)."""
    return _unsqueeze(input, dim=wrap_dim(dim, input.ndim + 1))


@register(method=True)
def squeeze(input, dim=None):
    """Remove length-1 dimensions: all, or the given one (torch.squeeze)."""
    if dim is None:
        return _squeeze_all(input, self_sym_sizes=tuple(input.shape))
    return _squeeze_dim(input, dim=wrap_dim(dim, input.ndim), self_sym_sizes=tuple(input.shape))


_expand = Primitive("ExpandBackward0", lambda a, shape: np.broadcast_to(a, shape),
                    lambda c, g: g.sum_to_size(c.self_sym_sizes), view=True)


def expand(self, *sizes):
    """Broadcast to a larger shape as a view (-1 keeps a dimension) (torch.Tensor.expand)."""
    sizes = _shape_args(sizes)
    if len(sizes) < self.ndim:
        raise RuntimeError(f"expand(torch.FloatTensor{{[{', '.join(map(str, self.shape))}]}}, size=[{', '.join(map(str, sizes))}]): the number of sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({self.ndim})")
    lead = len(sizes) - self.ndim
    target = tuple(self.shape[i - lead] if s == -1 and i >= lead else int(s) for i, s in enumerate(sizes))
    for i, n in enumerate(self.shape):
        if n != 1 and n != target[lead + i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[lead + i]}) must match the existing size ({n}) at "
                f"non-singleton dimension {lead + i}.  Target sizes: [{', '.join(map(str, sizes))}].  Tensor sizes: "
                f"[{', '.join(map(str, self.shape))}]")
    return _expand(self, shape=target, self_sym_sizes=tuple(self.shape))


def expand_as(self, other):
    return expand(self, tuple(other.shape))


_permute = Primitive("PermuteBackward0", lambda a, dims: np.transpose(a, dims),
                     lambda c, g: g.permute(tuple(np.argsort(c.dims))), view=True)


@register(method=True)
def permute(input, *dims):
    """Reorder dimensions as a view (torch.permute)."""
    dims = tuple(wrap_dim(d, input.ndim) for d in _shape_args(dims))
    if sorted(dims) != list(range(input.ndim)):
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           "length of the desired ordering of dimensions i.e. input.dim() = "
                           f"{input.ndim} is not equal to len(dims) = {len(dims)}")
    return _permute(input, dims=dims)


@register(method=True)
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dimensions start_dim..end_dim (torch.flatten); a view when possible."""
    if input.ndim == 0:
        return reshape(input, (1,))
    start, end = wrap_dim(start_dim, input.ndim), wrap_dim(end_dim, input.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    shape = input.shape[:start] + (int(np.prod(input.shape[start:end + 1])),) + input.shape[end + 1:]
    return reshape(input, shape)

