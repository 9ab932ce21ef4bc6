"""Shape and movement ops. Those torch implements as views return NumPy views sharing storage and version."""
from __future__ import annotations

import math
import warnings

import numpy as np

from refgrad._strides import restrided, view_strides
from refgrad.ops._binary_common import _broadcast
from refgrad.ops._layout import contiguous_result, suggested_format
from refgrad.ops._primitive import Primitive, refuse_before_kernel
from refgrad.ops._registry import register
from refgrad.ops._util import normalize_dims, wrap_dim
from refgrad.ops._view_dtype import view_dtype
from refgrad.ops._views import _alias, _slice
from refgrad.tensor import Tensor


def _infer_shape(shape, numel: int) -> tuple:
    """Resolve one -1 in a requested shape, with torch's error for an impossible shape."""
    shape = tuple([int(s) for s in shape])
    if -1 not in shape:
        if math.prod(shape) != numel:
            raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
        return shape
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in shape if s != -1)
    if known == 0 or numel % known:
        raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
    return tuple(numel // known if s == -1 else s for s in shape)


def _shape_args(args) -> tuple:
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def view_forward(a: np.ndarray, shape: tuple) -> np.ndarray:
    """``a`` viewed as ``shape`` (a view exists), with torch's strides: NumPy's reshape gives the same ones except
    for size-1 dimensions (see refgrad/_strides.py view_strides), which a later stride(), view or mm reads."""
    out = a.reshape(shape)
    if 1 in shape and out.size and not (a.flags.c_contiguous and 1 not in a.shape):  # (NumPy's are torch's for
        # a C-contiguous array without size-1 dimensions: its strides are the standard ones)
        own = view_strides(a.shape, a.strides, shape, a.itemsize)
        if own is not None and own != out.strides:
            return restrided(out, own)
    return out


_view = Primitive("ViewBackward0", view_forward, lambda c, g: g.reshape(c.self_sym_sizes), view=True)
_unsafe_view = Primitive("UnsafeViewBackward0", view_forward,  # (a view's strides, without a view's aliasing)
                         lambda c, g: g.reshape(c.self_sym_sizes))
_reshape_alias = Primitive("ReshapeAliasBackward0", view_forward, lambda c, g: g.reshape(c.self_sym_sizes),
                           view=True)


VIEW_ERROR = ("view size is not compatible with input tensor's size and stride (at least one dimension spans across "
              "two contiguous subspaces). Use .reshape(...) instead.")


def viewable(data: np.ndarray, target: tuple) -> bool:
    """Whether torch can view an array of ``data``'s strides as shape ``target`` (same number of elements)."""
    return not data.size or data.flags.c_contiguous or np.may_share_memory(data.reshape(target), data)


def view(self, *shape, dtype=None):
    """A view with a new shape (torch.Tensor.view), RuntimeError if the strides don't allow one; or of the same
    bytes as another dtype (``view(dtype)``)."""
    if dtype is not None or (len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer))):
        return view_dtype(self, dtype if dtype is not None else shape[0])
    data = self._data
    try:
        target = _infer_shape(_shape_args(shape), data.size)
    except RuntimeError:
        refuse_before_kernel(_view, self)
        raise
    if not viewable(data, target):
        refuse_before_kernel(_view, self)
        raise RuntimeError(VIEW_ERROR)
    return _view(self, shape=target, self_sym_sizes=data.shape)


@register(method=True)
def reshape(input, *shape):
    """A view when the layout allows it, else a copy (torch.reshape)."""
    try:
        target = _infer_shape(_shape_args(shape), input.numel())
    except RuntimeError:
        refuse_before_kernel(_view, input)
        raise
    if input._data.size == 0 or input._data.flags.c_contiguous:
        return _view(input, shape=target, self_sym_sizes=tuple(input.shape))
    if np.may_share_memory(input._data.reshape(target), input._data):  # strides allow a view: torch's alias
        return _reshape_alias(input, shape=target, self_sym_sizes=tuple(input.shape))
    return _unsafe_view(_contiguous_clone(input), shape=target, self_sym_sizes=tuple(input.shape))


def view_as(self, other):
    """self.view(other.shape)."""
    return view(self, tuple(other.shape))


def reshape_as(self, other):
    return reshape(self, tuple(other.shape))


_transpose = Primitive("TransposeBackward0",
                       lambda a, dim0, dim1: np.swapaxes(a, dim0, dim1) if a.ndim else a.view(),
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


def unsqueezed_to(g, shape: tuple):
    """torch's unsqueeze_to: a squeezed cotangent ``g`` with its removed length-1 dimensions of ``shape`` put back,
    one unsqueeze each (UnsqueezeBackward0 under create_graph), or ``g`` itself when none was removed."""
    removed, j, kept = [], 0, tuple(g.shape)
    for i, n in enumerate(shape):
        if j < len(kept) and n == kept[j]:
            j += 1
        else:
            removed.append(i)
    if j != len(kept) or any(shape[i] != 1 for i in removed):
        return g.reshape(shape)
    for i in removed:
        g = g.unsqueeze(i)
    return g


def _unsqueeze_forward(a, dim):
    """``a`` with a size-1 dimension at ``dim``, whose stride is torch's: 1 as the last dimension, else the extent
    of the dimension after it (NumPy's reshape gives it, and ``a``'s own size-1 dimensions, strides of its own)."""
    shape, strides = a.shape, a.strides
    out = a.reshape(shape[:dim] + (1,) + shape[dim:])
    own = strides[:dim] + (a.itemsize if dim == a.ndim else shape[dim] * strides[dim],) + strides[dim:]
    return out if out.strides == own else restrided(out, own)


_unsqueeze = Primitive("UnsqueezeBackward0", _unsqueeze_forward, lambda c, g: g.squeeze(c.dim), view=True)
_squeeze_dim = Primitive("SqueezeBackward1",
                         lambda a, dim: np.squeeze(a, dim) if a.ndim and a.shape[dim] == 1 else a.view(),
                         lambda c, g: unsqueezed_to(g, c.self_sym_sizes), view=True)
_squeeze_all = Primitive("SqueezeBackward0", lambda a: np.squeeze(a), lambda c, g: unsqueezed_to(g, c.self_sym_sizes),
                         view=True)
_squeeze_dims = Primitive("SqueezeBackward2",
                          lambda a, dims: np.squeeze(a, tuple(d for d in dims if a.shape[d] == 1))
                          if a.ndim else a.view(),
                          lambda c, g: unsqueezed_to(g, c.self_sym_sizes), view=True)


@register(method=True)
def unsqueeze(input, dim: int):
    """Insert a length-1 dimension (torch.unsqueeze)."""
    return _unsqueeze(input, dim=wrap_dim(dim, input.ndim + 1))


@register(method=True)
def squeeze(input, dim=None):
    """Remove length-1 dimensions: all, or the given one (torch.squeeze)."""
    if dim is None:
        return _squeeze_all(input, self_sym_sizes=tuple(input.shape))
    if isinstance(dim, (tuple, list)):
        return _squeeze_dims(input, dims=normalize_dims(dim, input.ndim) if dim else (),
                             self_sym_sizes=tuple(input.shape))
    return _squeeze_dim(input, dim=wrap_dim(dim, input.ndim), self_sym_sizes=tuple(input.shape))


def _expand_forward(a, shape, self_sym_sizes=None):  # (self_sym_sizes: the VJP's, taken to skip a filtering)
    if not a.ndim:  # a number (mean's and sum's gradients): what the general case below makes, in ~40 % of its time
        out = np.ndarray(shape, a.dtype, a, 0, (0,) * len(shape))
        if shape and max(shape) > 1:  # an element repeats (even with another dimension 0)
            out.setflags(write=False)
        return out
    flags = a.flags
    writeable = flags.writeable
    if flags.c_contiguous and a.size:  # the view made directly over a's buffer (np.broadcast_to costs ~1.8 µs)
        lead = len(shape) - a.ndim
        strides = (0,) * lead + tuple([0 if n == 1 else s for n, s in zip(a.shape, a.strides)])
        out = np.ndarray(shape, a.dtype, a, 0, strides)  # np.broadcast_to's strides; writable when a is
    else:
        out = np.broadcast_to(a, shape)  # read-only
        if not writeable:
            return out
        strides = out.strides
    for s, n in zip(strides, shape):
        if s == 0 and n > 1:  # an element repeats: read-only, as np.broadcast_to makes it
            if out.flags.writeable:
                out.setflags(write=False)
            return out
    # no element repeats (only size-1 dims added): writable, as torch lets in-place ops write through it
    if writeable and not out.flags.writeable:
        out = np.lib.stride_tricks.as_strided(a, shape, strides)
    return out


_expand = Primitive("ExpandBackward0", _expand_forward, lambda c, g: g.sum_to_size(c.self_sym_sizes), view=True)


_EXPAND_TYPES = {"bool": "CPUBoolType", "complex64": "CPUComplexFloatType", "complex128": "CPUComplexDoubleType"}


def check_expand(self, sizes) -> tuple:
    """The shape ``self`` expands to (-1 keeps a dimension), or torch's expand error (used by the ops that
    broadcast an input through expand, such as addmm's ``input``)."""
    from refgrad.autograd.graph import _TYPE_NAMES
    shape = self._data.shape
    if len(sizes) < len(shape):
        name = _EXPAND_TYPES.get(self.dtype.name) or f"torch.{_TYPE_NAMES[self.dtype.name]}"
        raise RuntimeError(f"expand({name}{{[{', '.join(map(str, self.shape))}]}}, "
                           f"size=[{', '.join(map(str, sizes))}]): "
                           f"the number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
                           f"dimensions in the tensor ({self.ndim})")
    lead = len(sizes) - len(shape)
    target = tuple([shape[i - lead] if s == -1 and i >= lead else int(s) for i, s in enumerate(sizes)])
    for i, n in reversed(list(enumerate(shape))):  # torch reports the last mismatching dim
        if n != 1 and n != target[lead + i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[lead + i]}) must match the existing size ({n}) at "
                f"non-singleton dimension {lead + i}.  Target sizes: [{', '.join(map(str, sizes))}].  Tensor sizes: "
                f"[{', '.join(map(str, shape))}]")
    return target


def expand(self, *sizes):
    """Broadcast to a larger shape as a view (-1 keeps a dimension) (torch.Tensor.expand)."""
    sizes = _shape_args(sizes)
    shape = self._data.shape
    target = check_expand(self, sizes)
    return _expand(self, shape=target, self_sym_sizes=shape)


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



# --- more views: unflatten, movedim, narrow, diagonal, broadcast_to, atleast_nd, ravel, T/mT/mH ---------------

@register(method=True)
def unflatten(input, dim: int, sizes):
    """Split dimension ``dim`` into ``sizes`` (one may be -1), as a view (torch.unflatten)."""
    dim = wrap_dim(dim, input.ndim)
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    size = input.shape[dim]
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if (-1 in sizes and (known == 0 or size % known)) or (-1 not in sizes and known != size):
        raise RuntimeError(f"unflatten: Provided sizes [{', '.join(map(str, sizes))}] don't multiply up to the size "
                           f"of dim {dim} ({size}) in the input tensor")
    sizes = tuple(size // known if s == -1 else s for s in sizes)
    return view(input, input.shape[:dim] + sizes + input.shape[dim + 1:])


@register(method=True, aliases=("moveaxis",))
def movedim(input, source, destination):
    """Move dimensions ``source`` to positions ``destination``, as a permute view (torch.movedim)."""
    source = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    destination = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(source)} dims) should "
                           f"contain the same number of dims as destination ({list(destination)} dims)")
    n = input.ndim
    if n == 0:
        normalize_dims(source, 1), normalize_dims(destination, 1)
        return _alias(input)
    source = normalize_dims(source, n) and tuple(wrap_dim(d, n) for d in source)
    destination = normalize_dims(destination, n) and tuple(wrap_dim(d, n) for d in destination)
    order = [d for d in range(n) if d not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return permute(input, tuple(order))


@register(method=True)
def narrow(input, dim: int, start, length: int):
    """The slice start:start+length along ``dim``, as a view (torch.narrow)."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    start = int(start.item() if hasattr(start, "item") else start)
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    start = start + size if start < 0 else start
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return _slice(input, dim=dim, start=start, end=start + length, step=1, self_sym_sizes=tuple(input.shape))


def _diagonal_view(a, offset, dim1, dim2):
    """A writable NumPy view of the diagonal (np.diagonal's is read-only), diagonal last, as in torch."""
    rows, cols = a.shape[dim1], a.shape[dim2]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    rest = [d for d in range(a.ndim) if d not in (dim1, dim2)]
    shape = tuple(a.shape[d] for d in rest) + (length,)
    strides = tuple(a.strides[d] for d in rest) + (a.strides[dim1] + a.strides[dim2],)
    if length == 0:
        return np.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)
    key = [slice(None)] * a.ndim
    key[dim2 if offset >= 0 else dim1] = slice(abs(offset), None)
    return np.lib.stride_tricks.as_strided(a[tuple(key)], shape=shape, strides=strides)


def _diagonal_backward_forward(g, shape, offset, dim1, dim2):
    out = np.zeros(shape, dtype=g.dtype)
    _diagonal_view(out, offset, dim1, dim2)[...] = g
    return out


_diagonal_backward = Primitive("DiagonalBackwardBackward0", _diagonal_backward_forward,
                               lambda c, g: g.diagonal(c.offset, c.dim1, c.dim2), jvp="linear")
_diagonal = Primitive("DiagonalBackward0", _diagonal_view,
                      lambda c, g: _diagonal_backward(g, shape=c.self_sym_sizes, offset=c.offset, dim1=c.dim1,
                                                      dim2=c.dim2), view=True)


def _diagonal_dims(input, offset, dim1, dim2, name="diagonal"):
    n = input.ndim
    if n < 2:
        raise RuntimeError(f"{name}() expects a tensor with at least 2 dimensions" if name != "diagonal" else
                           f"diagonal dimensions requires ndim larger than 1, but got {n}")
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


@register(method=True)
def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The ``offset`` diagonal of the (dim1, dim2) planes, appended as the last dim, as a view (torch.diagonal)."""
    d1, d2 = _diagonal_dims(input, offset, dim1, dim2)
    return _diagonal(input, offset=int(offset), dim1=d1, dim2=d2, self_sym_sizes=tuple(input.shape))


def _diag_embed_forward(a, offset, dim1, dim2):
    n = a.shape[-1] + abs(offset)
    out_ndim = a.ndim + 1
    rest = list(a.shape[:-1])
    shape = []
    for d in range(out_ndim):
        shape.append(n if d in (dim1, dim2) else rest.pop(0))
    out = np.zeros(shape, dtype=a.dtype)
    _diagonal_view(out, offset, dim1, dim2)[...] = a
    return out


_diag_embed = Primitive("DiagEmbedBackward0", _diag_embed_forward,
                        lambda c, g: g.diagonal(c.offset, c.dim1, c.dim2), jvp="linear")
_diag_copy = Primitive("DiagonalBackward0_copy", lambda a, offset: np.diagonal(a, offset).copy(),
                       lambda c, g: _diagonal_backward(g, shape=c._input_meta[0][0], offset=c.offset, dim1=0, dim2=1),
                       jvp="linear")


@register(method=True)
def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Place the last dim of ``input`` on the ``offset`` diagonal of new (dim1, dim2) planes (torch.diag_embed)."""
    n = input.ndim + 1
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    if input.ndim == 0:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -2)")
    return _diag_embed(input, offset=int(offset), dim1=d1, dim2=d2)


@register(method=True)
def diag(input, diagonal: int = 0):
    """1-D → a matrix with ``input`` on a diagonal; 2-D → that diagonal, copied (torch.diag)."""
    if input.ndim == 1:
        return _diag_embed(input, offset=int(diagonal), dim1=0, dim2=1)
    if input.ndim == 2:
        return _diag_copy(input, offset=int(diagonal))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def _triangle(np_fn, grad_fn, name):
    # C-contiguous whatever the input's layout, as torch's (NumPy's keeps a transposed input's)
    prim = Primitive(grad_fn, lambda a, diagonal: np.ascontiguousarray(np_fn(a, diagonal)), None)
    prim.vjp = lambda c, g: prim(g, diagonal=c.diagonal)

    def op(input, diagonal: int = 0):
        if input.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return prim(input, diagonal=int(diagonal))

    op.__name__ = name
    op.__doc__ = f"Keep the {'lower' if name == 'tril' else 'upper'} triangle from ``diagonal`` (torch.{name})."
    return op


tril = register("tril", method=True, inplace=True)(_triangle(np.tril, "TrilBackward0", "tril"))
triu = register("triu", method=True, inplace=True)(_triangle(np.triu, "TriuBackward0", "triu"))


@register(method=True)
def broadcast_to(input, size):
    """Expand to ``size`` as a view (torch.broadcast_to)."""
    return expand(input, tuple(size))


@register()
def broadcast_tensors(*tensors):
    """Expand every tensor to the common broadcast shape, as views (torch.broadcast_tensors)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = _broadcast([tuple(t.shape) for t in tensors])
    return tuple(t if t.shape == shape else expand(t, shape) for t in tensors)


def _atleast(n: int):
    def one(t):
        if t.ndim >= n:
            return t
        if t.ndim == 0:
            return reshape(t, (1,) * n)
        if n == 2:
            return unsqueeze(t, 0)
        return unsqueeze(unsqueeze(t, 0), -1) if t.ndim == 1 else unsqueeze(t, -1)

    def op(*tensors):
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
            return tuple(one(t) for t in tensors[0])
        return one(tensors[0]) if len(tensors) == 1 else tuple(one(t) for t in tensors)

    op.__name__ = f"atleast_{n}d"
    op.__doc__ = f"View with at least {n} dimensions (torch.atleast_{n}d); several inputs give a tuple."
    return op


atleast_1d = register("atleast_1d")(_atleast(1))
atleast_2d = register("atleast_2d")(_atleast(2))
atleast_3d = register("atleast_3d")(_atleast(3))

_contiguous_clone = Primitive("CloneBackward0", lambda a: np.array(a, order="C", copy=True), lambda c, g: g,
                              jvp="linear")


@register(method=True)
def ravel(input):
    """Flatten to 1-D: a view of a contiguous tensor, else a view of a contiguous copy (torch.ravel)."""
    if not input._data.flags.c_contiguous:
        input = _contiguous_clone(input)
    return view(input, -1)


def matrix_transpose(input):
    """``x.mT``: swap the last two dims (a view); needs at least 2 dims."""
    if input.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {input.ndim}-D "
                           "tensor.")
    return transpose(input, -2, -1)


def matrix_adjoint(input):
    """``x.mH``: the conjugate transpose of the last two dims (real tensors: mT)."""
    if input.ndim < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {input.ndim}-D "
                           "tensor.")
    return _conj_if_complex(transpose(input, -2, -1))


def _conj_if_complex(t):
    if not t.dtype.is_complex:
        return t
    from refgrad.ops.complex import conj  # a complex adjoint is the conjugated transpose (ConjBackward0)
    return conj(t)


def adjoint_2d(input):
    """``x.H``: the conjugate transpose of a matrix (real tensors: the transpose)."""
    if input.ndim not in (0, 2):
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {input.ndim}-D tensor.")
    if input.ndim == 0:
        warnings.warn("Tensor.H is deprecated on 0-D tensors. Consider using x.conj().", UserWarning, stacklevel=2)
        return _conj_if_complex(input)  # torch: x.conj(), which is x itself for a real tensor
    return _conj_if_complex(transpose(input, 0, 1))


def reversed_dims(input):
    """``x.T``: all dims reversed, as a permute view (torch warns for ndim other than 2)."""
    if input.ndim != 2 and input.ndim != 0:
        warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
                      "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
                      "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
                      "tensor.", UserWarning, stacklevel=2)
    return permute(input, tuple(range(input.ndim - 1, -1, -1)))


# --- copies: repeat, tile, flip, roll ---------------------------------------------------------------------------

def _repeat_vjp(c, g):
    """torch's repeat_backward: zeros for a 0 repeat; the leading new dimensions summed one by one
    (SumBackward1), then each repeated dimension split off and summed, or the cotangent itself when none is."""
    repeats, shape = c.repeats, tuple(c._input_meta[0][0])
    if 0 in repeats:
        return Tensor._make(np.zeros(shape, dtype=g._data.dtype))
    for _ in range(len(repeats) - len(shape)):
        g = g.sum(0)
    split_shape, summed = [], []
    for r, n in zip(repeats[len(repeats) - len(shape):], shape):
        if r != 1:
            summed.append(len(split_shape))
            split_shape.append(r)
        split_shape.append(n)
    return g.reshape(tuple(split_shape)).sum(tuple(summed)) if summed else g


_repeat = Primitive("RepeatBackward0",  # (torch: contiguous, whatever the input's layout)
                    contiguous_result(lambda a, repeats, padded_shape: np.tile(a.reshape(padded_shape), repeats)),
                    _repeat_vjp, jvp="linear")


@register(namespace="torch.Tensor", method=True)
def repeat(self, *sizes):
    """Tile the tensor ``sizes`` times along each dim (torch.Tensor.repeat); a copy."""
    repeats = tuple(int(r) for r in _shape_args(sizes))
    if len(repeats) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    if any(r < 0 for r in repeats):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(repeats)}: "
                           f"[{', '.join(map(str, repeats))}]")
    padded = (1,) * (len(repeats) - self.ndim) + tuple(self.shape)
    return _repeat(self, repeats=repeats, padded_shape=padded)


@register(method=True)
def tile(input, dims):
    """Repeat along each dim, padding ``dims`` with leading 1s (torch.tile)."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    return repeat(input, (1,) * (input.ndim - len(dims)) + tuple(dims))


_flip = Primitive("FlipBackward0", lambda a, dims: np.flip(a, dims).copy(order="K"),  # (the input's order, as torch's)
                  lambda c, g: _flip(g, dims=c.dims), jvp="linear")


@register(method=True)
def flip(input, *dims):
    """Reverse the order along ``dims`` (torch.flip); a copy."""
    dims = _shape_args(dims)
    return _flip(input, dims=normalize_dims(dims, input.ndim) if dims else ())


@register(method=True)
def fliplr(input):
    """Flip the columns, dim 1 (torch.fliplr)."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


@register(method=True)
def flipud(input):
    """Flip the rows, dim 0 (torch.flipud)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


def _roll_forward(a, shifts, dims):
    if not dims:
        return np.roll(a.reshape(-1), shifts).reshape(a.shape)
    return np.roll(a, shifts, dims)


# torch rolls into empty_like(input, input.suggest_memory_format()): C-contiguous from a transposed input (NumPy
# kept its order), channels-last from a channels-last one
_roll = Primitive("RollBackward0", suggested_format(_roll_forward),
                  lambda c, g: _roll(g, shifts=-c.shifts if isinstance(c.shifts, int) else
                                     tuple(-s for s in c.shifts), dims=c.dims), jvp="linear")


@register(method=True)
def roll(input, shifts, dims=None):
    """Rotate elements along ``dims`` (or the flattened tensor) by ``shifts`` (torch.roll); a copy."""
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = () if dims is None else ((dims,) if isinstance(dims, (int, np.integer)) else tuple(dims))
    if not dims and len(shifts) != 1:
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if dims and len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    dims = tuple(wrap_dim(d, input.ndim) for d in dims)
    return _roll(input, shifts=tuple(int(s) for s in shifts) if dims else int(shifts[0]), dims=dims)
