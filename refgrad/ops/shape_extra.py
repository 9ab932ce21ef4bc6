"""More shape ops: diff, rot90, block_diag, meshgrid, cartesian_prod, combinations, hsplit/vsplit/dsplit,
column_stack, diagflat, repeat_interleave, Tensor.unfold, the ``*_scatter`` embeddings, select and fill.

Where torch composes an op in C++ (diff, meshgrid, cartesian_prod, combinations, column_stack, diagflat,
repeat_interleave) refgrad composes the same ops, so the graph has torch's nodes and the VJP comes for free; ops
with a node of their own (Rot90Backward0, BlockDiagBackward0, UnfoldBackward0, SelectScatterBackward0...) are
Primitives.
"""
from __future__ import annotations

import warnings

import numpy as np

from refgrad import dtypes
from refgrad.ops._layout import like_first, strided_like_first
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import wrap_dim
from refgrad.ops._views import _select
from refgrad.ops.indexing import index_select
from refgrad.ops.join import cat, stack, tensor_split
from refgrad.ops.shape import diag_embed
from refgrad.tensor import Tensor

__all__ = ["diff", "rot90", "block_diag", "meshgrid", "cartesian_prod", "combinations", "hsplit", "vsplit",
           "dsplit", "column_stack", "diagflat", "repeat_interleave", "select_scatter", "slice_scatter",
           "diagonal_scatter", "select", "fill"]


def _sizes(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


# --- diff ---------------------------------------------------------------------------------------------------

@register(method=True)
def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """n-th forward difference along ``dim``, after prepending/appending (torch.diff): x[1:] - x[:-1]."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = wrap_dim(dim, input.ndim)
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, dim) if len(parts) > 1 else input
    if n == 0:
        return _copy(x)  # torch: an empty tensor copy_'d from the input
    for _ in range(n):
        length = x.shape[dim]
        if length == 0:
            break
        later, earlier = x.narrow(dim, 1, length - 1), x.narrow(dim, 0, length - 1)
        x = later.logical_xor(earlier) if x.dtype is dtypes.bool else later - earlier
    return x


_copy = Primitive("CopyBackwards", like_first(lambda a: a.copy()), lambda c, g: g)  # (torch: empty_like(input))


# --- rot90 --------------------------------------------------------------------------------------------------

def _rot90_vjp(c, g):
    return _rot90(g, k=-c.k, dims=c.dims)


def _rot90_forward(a, k, dims):
    """torch's rot90 and its layout: k = 0 a C-contiguous copy; k = 2 a flip (a copy in the input's memory order);
    k = 1, 3 a flip along dims[1] (k = 1) or dims[0] (k = 3), then the two dims swapped (a transposed view)."""
    k %= 4
    if k == 0:
        return np.ascontiguousarray(a).copy()
    if k == 2:
        return np.flip(a, dims).copy(order="K")
    return np.swapaxes(np.flip(a, dims[1] if k == 1 else dims[0]).copy(order="K"), *dims)


_rot90 = Primitive("Rot90Backward0", _rot90_forward, _rot90_vjp)


@register(method=True)
def rot90(input, k: int = 1, dims=(0, 1)):
    """Rotate by k·90° in the plane of ``dims`` (torch.rot90)."""
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = wrap_dim(dims[0], input.ndim), wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    return _rot90(input, k=int(k) % 4, dims=(d0, d1))


# --- block_diag ---------------------------------------------------------------------------------------------

def _block_diag_forward(*arrays, shapes, dtype):
    rows = sum(s[0] for s in shapes)
    cols = sum(s[1] for s in shapes)
    out = np.zeros((rows, cols), dtype=dtype.numpy)
    r = c = 0
    for a, (h, w) in zip(arrays, shapes):
        out[r:r + h, c:c + w] = a.reshape(h, w)
        r, c = r + h, c + w
    return out


def _block_diag_vjp(c, g):
    grads, r, col = [], 0, 0
    for (h, w), (shape, _) in zip(c.shapes, c._input_meta):
        grads.append(g[r:r + h, col:col + w].reshape(shape))
        r, col = r + h, col + w
    return tuple(grads)


_block_diag = Primitive("BlockDiagBackward0", _block_diag_forward, _block_diag_vjp)


@register()
def block_diag(*tensors):
    """The block-diagonal matrix of 0-, 1- and 2-d tensors (torch.block_diag); dtypes promote."""
    shapes = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        shapes.append((1, 1) if t.ndim == 0 else (1, t.shape[0]) if t.ndim == 1 else tuple(t.shape))
    dtype = dtypes.result_type(*tensors) if tensors else dtypes.get_default_dtype()
    if not tensors:
        return Tensor._make(np.zeros((1, 0), dtype=dtype.numpy))
    return _block_diag(*tensors, shapes=tuple(shapes), dtype=dtype)


# --- meshgrid, cartesian_prod, combinations -----------------------------------------------------------------

_MESHGRID_WARNING = ("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.")


@register()
def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 0-/1-d tensors, as expanded views (torch.meshgrid); ``indexing`` 'ij' or 'xy'."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(_MESHGRID_WARNING, UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t!r}")
    if any(t.dtype is not tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(tensors) >= 2
    order = list(tensors)
    if swap:
        order[0], order[1] = order[1], order[0]
    shape = [t.numel() for t in order]
    grids = []
    for i, t in enumerate(order):
        view_shape = [1] * len(order)
        view_shape[i] = -1
        grids.append(t.view(view_shape).expand(shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@register()
def cartesian_prod(*tensors):
    """The Cartesian product of 1-d tensors, one row per tuple (torch.cartesian_prod)."""
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {_sizes(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.flatten() for g in grids], 1)


@register()
def combinations(input, r: int = 2, with_replacement: bool = False):
    """Length-r combinations of a 1-d tensor's elements, as rows (torch.combinations)."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {_sizes(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return Tensor._make(np.zeros((0,), dtype=input.dtype.numpy))
    grids = meshgrid(*([input] * r), indexing="ij")
    positions = np.meshgrid(*([np.arange(input.shape[0])] * r), indexing="ij")
    mask = np.ones(positions[0].shape, dtype=bool)
    for a, b in zip(positions[:-1], positions[1:]):
        mask &= (a <= b) if with_replacement else (a < b)
    mask_tensor = Tensor._make(mask)
    return stack([g.masked_select(mask_tensor) for g in grids], 1)


# --- hsplit, vsplit, dsplit, column_stack, diagflat ---------------------------------------------------------

def _directional_split(name: str, dim_of, min_dims: int, input, indices_or_sections):
    if input.ndim < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor "
                           f"with {input.ndim} dimensions!")
    dim = dim_of(input)
    if not isinstance(indices_or_sections, (list, tuple, Tensor)):
        sections = int(indices_or_sections)
        if sections == 0 or input.shape[dim] % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {input.shape[dim]} is not divisible by the split_size {sections}!")
    return tensor_split(input, indices_or_sections, dim)


@register(method=True)
def hsplit(input, indices_or_sections):
    """Split along dim 1 (dim 0 for 1-d tensors) (torch.hsplit)."""
    return _directional_split("hsplit", lambda t: 1 if t.ndim > 1 else 0, 1, input, indices_or_sections)


@register(method=True)
def vsplit(input, indices_or_sections):
    """Split along dim 0 of a tensor with at least 2 dims (torch.vsplit)."""
    return _directional_split("vsplit", lambda t: 0, 2, input, indices_or_sections)


@register(method=True)
def dsplit(input, indices_or_sections):
    """Split along dim 2 of a tensor with at least 3 dims (torch.dsplit)."""
    return _directional_split("dsplit", lambda t: 2, 3, input, indices_or_sections)


@register()
def column_stack(tensors, *, out=None):
    """Stack as columns: 0-/1-d tensors become (n, 1) columns, then concatenate along dim 1 (torch.column_stack)."""
    if not tensors:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    columns = [t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors]
    return cat(columns, 1)


@register(method=True)
def diagflat(input, offset: int = 0):
    """The flattened input on the ``offset`` diagonal of a square matrix (torch.diagflat)."""
    return diag_embed(input.contiguous().view(-1), offset)


# --- repeat_interleave --------------------------------------------------------------------------------------

@register(method=True)
def repeat_interleave(input, repeats=None, dim: int | None = None, *, output_size: int | None = None):
    """Repeat each element ``repeats`` times along ``dim`` (flattened when None) (torch.repeat_interleave).

    An integer repeat is unsqueeze, expand, clone and view, as torch records it; a tensor of repeats is an
    index_select. ``repeat_interleave(counts)`` alone gives the indices 0, 0, 1, ... (counts[i] copies of i)."""
    if repeats is None:
        counts = input._data
        if counts.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if np.any(counts < 0):
            raise RuntimeError("repeats can not be negative")
        return Tensor._make(np.repeat(np.arange(counts.shape[0], dtype=counts.dtype), counts))
    if dim is None:
        input, dim = input.flatten(), 0
    else:
        dim = wrap_dim(dim, input.ndim)
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        counts = np.broadcast_to(repeats._data.reshape(-1), (input.shape[dim],)) if repeats.numel() == 1 \
            else repeats._data
        if counts.shape[0] != input.shape[dim]:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                               f"{counts.shape[0]} and input.size({dim}) = {input.shape[dim]}")
        if np.any(counts < 0):
            raise RuntimeError("repeats can not be negative")
        index = Tensor._make(np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts))
        return index_select(input, dim, index)
    repeats = int(repeats)
    if repeats < 0:
        raise RuntimeError("repeats can not be negative")
    shape = list(input.shape)
    expanded = shape[:dim + 1] + [repeats] + shape[dim + 1:]
    result = shape[:dim] + [shape[dim] * repeats] + shape[dim + 1:]
    spread = input.unsqueeze(dim + 1).expand(expanded)
    # torch clones to a contiguous copy (CloneBackward0) and views it
    return (spread.clone() if spread.is_contiguous() else spread.contiguous()).view(result)


# --- Tensor.unfold ------------------------------------------------------------------------------------------

def _unfold_forward(a, dimension, size, step):
    if a.ndim == 0:
        return a.reshape(1)
    count = (a.shape[dimension] - size) // step + 1
    shape = a.shape[:dimension] + (count,) + a.shape[dimension + 1:] + (size,)
    strides = a.strides[:dimension] + (a.strides[dimension] * step,) + a.strides[dimension + 1:] + \
        (a.strides[dimension],)
    return np.lib.stride_tricks.as_strided(a, shape, strides)


def _unfold_backward_forward(g, input_sizes, dimension, size, step):
    out = np.zeros(input_sizes, dtype=g.dtype)
    if len(input_sizes) == 0:
        return g.reshape(()).copy()
    windows = np.moveaxis(g, -1, dimension + 1)  # (..., count, size, ...) with the window index next to dim
    for k in range(g.shape[dimension]):
        key = (slice(None),) * dimension + (slice(k * step, k * step + size),)
        out[key] += np.take(windows, k, axis=dimension)
    return out


_unfold_backward = Primitive("UnfoldBackwardBackward0", _unfold_backward_forward,
                             lambda c, gg: _unfold(gg, dimension=c.dimension, size=c.size, step=c.step))
_unfold = Primitive("UnfoldBackward0", _unfold_forward,
                    lambda c, g: _unfold_backward(g, input_sizes=c._input_meta[0][0], dimension=c.dimension,
                                                  size=c.size, step=c.step), view=True)


@register("unfold", namespace="torch.Tensor", method=True)
def tensor_unfold(self, dimension: int, size: int, step: int):
    """All windows of ``size`` along ``dimension`` with stride ``step``, as a new last dim (Tensor.unfold): a view."""
    dimension = wrap_dim(dimension, max(self.ndim, 1))
    length = self.shape[dimension] if self.ndim else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {dimension} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return _unfold(self, dimension=dimension, size=int(size), step=int(step))


# --- select_scatter, slice_scatter, diagonal_scatter --------------------------------------------------------

def _embed_forward(a, src, key):
    out = a.copy()
    if key and isinstance(key[0], str):  # ("diagonal", offset, dim1, dim2): the diagonal runs along src's last dim
        _, offset, dim1, dim2 = key
        moved = np.moveaxis(out, (dim1, dim2), (-2, -1))
        n = src.shape[-1]
        moved[..., np.arange(n) - min(offset, 0), np.arange(n) + max(offset, 0)] = src
    else:
        out[key] = src
    return out


def _embedding(grad_fn: str, view_of):
    """A ``*_scatter`` op: ``input`` with ``src`` written into ``view_of(input)``; the gradient of input is zero
    there, the gradient of src is that view of the cotangent."""
    def vjp(c, g):
        grad_input = grad_src = None
        if c.needs_input_grad(0):
            grad_input = prim(g, Tensor._make(np.zeros(c._input_meta[1][0], dtype=g.dtype.numpy)), key=c.key,
                              view_params=c.view_params)
        if c.needs_input_grad(1):
            grad_src = view_of(g, **c.view_params)
        return grad_input, grad_src

    @strided_like_first  # (torch writes into a clone of input with its strides)
    def forward(a, src, key, view_params):
        return _embed_forward(a, src, key)

    prim = Primitive(grad_fn, forward, vjp, inputs=("self", "src"))
    return prim


def _check_src(input, src, view) -> None:
    if tuple(src.shape) != tuple(view.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {_sizes(src.shape)},"
                           f" slice size = {_sizes(view.shape)}")


_select_scatter = _embedding("SelectScatterBackward0", lambda g, dim, index: g.select(dim, index))
_slice_scatter = _embedding("SliceScatterBackward0",
                            lambda g, dim, start, end, step: g[(slice(None),) * dim + (slice(start, end, step),)])
_diagonal_scatter = _embedding("DiagonalScatterBackward0",
                               lambda g, offset, dim1, dim2: g.diagonal(offset, dim1, dim2))


def _promote_src(input, src):
    if src.dtype is not input.dtype:
        raise RuntimeError(f"Expected self.dtype to be equal to src.dtype but got {input.dtype} and {src.dtype}")


@register(method=True)
def select_scatter(input, src, dim: int, index: int):
    """``input`` with ``src`` written at ``index`` along ``dim`` (torch.select_scatter)."""
    view = input.select(dim, index)
    _check_src(input, src, view)
    dim = wrap_dim(dim, input.ndim)
    index = index % input.shape[dim]
    return _select_scatter(input, src, key=(slice(None),) * dim + (index,), view_params={"dim": dim, "index": index})


@register(method=True)
def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1):
    """``input`` with ``src`` written into the slice start:end:step along ``dim`` (torch.slice_scatter)."""
    dim = wrap_dim(dim, input.ndim)
    key = (slice(None),) * dim + (slice(start, end, step),)
    _check_src(input, src, Tensor._make(input._data[key]))
    return _slice_scatter(input, src, key=key, view_params={"dim": dim, "start": start, "end": end, "step": step})


@register(method=True)
def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """``input`` with ``src`` written on a diagonal (torch.diagonal_scatter)."""
    view = input.diagonal(offset, dim1, dim2)
    _check_src(input, src, view)
    dim1, dim2 = wrap_dim(dim1, input.ndim), wrap_dim(dim2, input.ndim)
    return _diagonal_scatter(input, src, key=("diagonal", offset, dim1, dim2),
                             view_params={"offset": offset, "dim1": dim1, "dim2": dim2})


# --- select, fill ---------------------------------------------------------------------------------------------

@register("select", method=True)
def select(input, dim: int, index: int):
    """The slice at ``index`` along ``dim``, without that dim, as a view (torch.select)."""
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {_sizes(input.shape)} at "
                         f"dimension {dim}")
    return _select(input, dim=dim, index=index % size, self_sym_sizes=tuple(input.shape))


_fill = Primitive("FillBackward0", lambda a, value: np.full_like(a, value),
                  lambda c, g: Tensor._make(np.zeros(c._input_meta[0][0], dtype=g.dtype.numpy)))


@register()
def fill(input, value):
    """A tensor like ``input`` filled with ``value`` (torch.fill); the gradient of input is zero."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        value = value.item()
    return _fill(input, value=value)


