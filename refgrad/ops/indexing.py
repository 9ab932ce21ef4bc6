"""Indexing: ``x[...]``, ``x[...] = v`` and the gather/scatter family, with torch's node names.

Every op here is one of two shapes over a NumPy index ``key``: a *gather* (``out = a[key]``, gradient added back
at ``key``, so duplicate indices accumulate) or a *write* (``out = a; out[key] = v`` or ``+= v``; the gradient
of ``a`` is zeroed at ``key`` unless accumulating, and every ``v`` element gets ``g[key]``, duplicates included,
as in torch). The public ops only build the key and check arguments the way torch does.

Basic indices apply one view op per component, left to right, as torch does (``x[0, 1:]`` is a select then a
slice); the remaining tensor/list indices are then applied to that view — which is where torch and NumPy differ
(``x[0, :, [0, 1]]`` keeps the sliced dim first in torch).
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

from refgrad import dtypes
from refgrad.autograd.graph import SavedTensor, save_extra
from refgrad.ops._layout import contiguous_result, like_first
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._scatter_modes import check_reduce, scatter_reduced
from refgrad.ops._util import checked_scalar, wrap_dim
from refgrad.ops._views import (
    _add_into,
    _alias,
    _gather,
    _indexed,
    _saving_index,
    _select,
    _slice,
    _unpack_index,
    zeroed_at,
)
from refgrad.tensor import Tensor

_WRITES: dict[str, Primitive] = {}
_FILLS: dict[str, Primitive] = {}


def _write_forward(a, v, key, accumulate, src_key, alpha, pad_source=True, vjp_error=None):
    out = a.copy()
    values = v if src_key is None else v[src_key]
    if alpha != 1:
        values = values * np.asarray(alpha, dtype=a.dtype)
    if accumulate:
        np.add.at(out, key, values)
    else:
        out[key] = values
    return out


def _write_vjp(c, g):
    _unpack_index(c)
    if "values" in c._saved:
        c.values  # noqa: B018 - torch reads the saved source here (version check)
    grad_self = grad_values = None
    name = type(c).__name__
    if c.needs_input_grad(0):
        if c.accumulate:
            grad_self = g
        elif c.key == ():
            grad_self = _constant_zeros(g)
        else:
            zeroing, values_edge = _SELF_GRADIENTS.get(name, ("IndexPutBackward0", False))
            grad_self = zeroed_at(zeroing, g, c.key, values_edge)
    if c.needs_input_grad(1):
        if c.vjp_error is not None:
            raise c.vjp_error
        grad_values = _gather(_VALUES_GRADIENTS.get(name, "IndexBackward0"))(g, key=c.key)
        if c.alpha != 1:
            grad_values = grad_values * c.alpha
        if c.src_key is not None and c.pad_source:
            grad_values = _add_into(grad_values, shape=c._input_meta[1][0], key=c.src_key)
        elif name in ("IndexAddBackward0", "IndexCopyBackward0"):  # torch: index_select(..).expand_as(source)
            grad_values = grad_values.expand(c._input_meta[1][0])
    return grad_self, grad_values


#: torch's node for a write's gradient in its input (the written positions zeroed), and whether it has an edge
#: (None) for the zeros written: grad.scatter(dim, index, 0), grad.index_fill(dim, index, 0), grad.masked_fill(mask,
#: 0), grad.put(index, zeros_like(source)), grad.index_put(indices, zeros_like(values))
_SELF_GRADIENTS = {"ScatterBackward0": ("ScatterBackward1", False), "IndexCopyBackward0": ("IndexFillBackward0", False),
                   "IndexFillBackward1": ("IndexFillBackward0", False),
                   "MaskedScatterBackward0": ("MaskedFillBackward0", False), "PutBackward0": ("PutBackward0", True),
                   "IndexPutBackward0": ("IndexPutBackward0", True)}
#: torch's node for a write's gradient in its values: grad.gather(..), grad.take(..), grad.index_select(..)
_VALUES_GRADIENTS = {"ScatterBackward0": "GatherBackward0", "ScatterAddBackward0": "GatherBackward0",
                     "PutBackward0": "TakeBackward0", "IndexAddBackward0": "IndexSelectBackward0",
                     "IndexCopyBackward0": "IndexSelectBackward0"}


# torch saves the source of put / index_add / index_copy when the source needs a gradient (it reads its sizes
# there), so modifying it in place before the backward fails the version check; when only self needs a gradient,
# modifying the source is fine (torch 2.13: put(..., src) then src.add_(1), backward succeeds)
_WRITE_SAVES = {"PutBackward0": {"values": ("values",)}, "IndexAddBackward0": {"values": ("values",)},
                "IndexCopyBackward0": {"values": ("values",)}}


#: the writes whose torch kernel starts from ``input.clone()``, so keeps a permuted input's order (index_copy,
#: index_add, scatter and masked_scatter write into a C-contiguous result, as ``ndarray.copy()`` does)
_CLONES_INPUT = frozenset({"IndexFillBackward0", "IndexFillBackward1", "IndexPutBackward0", "PutBackward0"})


def _write(name: str, self: Tensor, values: Tensor, key, *, accumulate=False, src_key=None, alpha=1,
           pad_source=True, vjp_error=None) -> Tensor:
    """``self`` with ``values`` written (or added) at ``key``, recorded as ``name``."""
    if name not in _WRITES:
        forward = like_first(_write_forward) if name in _CLONES_INPUT else _write_forward
        _WRITES[name] = Primitive(name, forward, _write_vjp, inputs=("self", "values"),
                                  save=_WRITE_SAVES.get(name, ()), jvp="linear")
    result = _WRITES[name](self, values, key=key, accumulate=accumulate, src_key=src_key, alpha=alpha,
                           pad_source=pad_source, vjp_error=vjp_error)
    # the index is needed for the values' gradient, and for self's unless the write accumulates; torch's
    # IndexPutBackward0 and PutBackward0 keep their index whatever needs a gradient (a second backward fails even
    # when only self, accumulated into, requires grad)
    needed = (name in ("IndexPutBackward0", "PutBackward0") or values.requires_grad
              or (self.requires_grad and not accumulate))
    return _saving_index(result, needed)


def _fill_forward(a, key, value):
    out = a.copy()
    out[key] = value
    return out


def _fill(name: str, self: Tensor, key, value) -> Tensor:
    """``self`` with the Python number ``value`` written at ``key`` (torch's overflow check; an assigned number's
    float16 conversion unchecked, as in torch)."""
    value = checked_scalar(value, self._data.dtype, half_checked=name != "FillBackward3").item()
    if name not in _FILLS:
        forward = like_first(_fill_forward) if name in _CLONES_INPUT else _fill_forward
        _FILLS[name] = Primitive(name, forward, _fill_vjp, jvp="elementwise")
    result = _FILLS[name](self, key=key, value=value)
    return result if name == "FillBackward3" else _saving_index(result)


def _fill_vjp(c, g):
    _unpack_index(c)
    if c.key == ():
        return _constant_zeros(g)
    name = type(c).__name__  # torch: index_fill's gradient is grad.index_fill(.., 0), scatter's grad.scatter(.., 0)
    return zeroed_at(name if name in ("IndexFillBackward0", "ScatterBackward1") else "IndexPutBackward0", g, c.key)


def _constant_zeros(g: Tensor) -> Tensor:
    """torch's fill_ backward: zeros that carry no graph, even under create_graph."""
    return Tensor._make(np.zeros(g.shape, dtype=g.dtype.numpy))


def _np_key(key: tuple) -> tuple:
    """A key NumPy's ``np.add.at`` accepts: boolean masks become their nonzero coordinates."""
    out = []
    for k in key:
        if isinstance(k, np.ndarray) and k.dtype == np.bool_:
            out.extend(np.nonzero(k))
        else:
            out.append(k)
    return tuple(out)


# --- x[index] and x[index] = v ---------------------------------------------------------------------------------


def _components(self: Tensor, index) -> list:
    """The index as a list of components: ints, slices, None, Ellipsis, bools, and index arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    parts = []
    for k in index:
        if isinstance(k, Tensor):
            k = k._data
        if isinstance(k, (list, np.ndarray)):
            k = np.asarray(k)
            if k.size == 0 and k.dtype.kind == "f":
                k = k.astype(np.int64)
            if k.dtype.kind not in "biu":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if k.ndim == 0:
                k = bool(k) if k.dtype == np.bool_ else int(k)
        elif not (k is None or k is Ellipsis or isinstance(k, (slice, numbers.Integral, bool, np.bool_))):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                             "valid indices (got " + type(k).__name__ + ")")
        parts.append(k)
    return parts


def _consumed(k) -> int:
    if k is None or k is Ellipsis or isinstance(k, (bool, np.bool_)):
        return 0
    if isinstance(k, np.ndarray) and k.dtype == np.bool_:
        return k.ndim
    return 1


def _apply_basic(self: Tensor, index, *, skip_lone_slice: bool):
    """Apply the basic components as views; return (view, advanced key on the view or None)."""
    from refgrad.ops.shape import unsqueeze
    bare = not isinstance(index, tuple)  # torch skips full slices inside a tuple index, even a 1-tuple
    parts = _components(self, index)
    if sum(k is Ellipsis for k in parts) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_consumed(k) for k in parts)
    if used > self.ndim:
        if self.ndim == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
    if any(k is Ellipsis for k in parts):
        at = next(i for i, k in enumerate(parts) if k is Ellipsis)
        parts = parts[:at] + [slice(None)] * (self.ndim - used) + parts[at + 1:]
        lone = False
    else:
        lone = bare and not skip_lone_slice
    result, dim, advanced = self, 0, []
    for k in parts:
        if k is None:
            result = unsqueeze(result, dim)
            advanced.append(slice(None))
            dim += 1
        elif isinstance(k, (bool, np.bool_)):
            result = unsqueeze(result, dim)
            advanced.append(np.array([bool(k)]))
            dim += 1
        elif isinstance(k, slice):
            size = result.shape[dim]
            start, stop, step = k.indices(size)
            if k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            # torch skips a slice whose *written* bounds cover the dim (start 0 or omitted, stop omitted or
            # >= size, step 1 or omitted), before normalization: x[-n:] of a size-n dim is still a slice
            written = [None if v is None else operator.index(v) for v in (k.start, k.stop, k.step)]
            full = written[0] in (None, 0) and (written[1] is None or written[1] >= size) and written[2] in (None, 1)
            if not full or lone:
                result = _slice(result, dim=dim, start=start, end=max(stop, start), step=step,
                                self_sym_sizes=tuple(result.shape))
            advanced.append(slice(None))
            dim += 1
        elif isinstance(k, np.ndarray):
            if k.dtype == np.bool_:
                expected = result.shape[dim:dim + k.ndim]
                if k.shape != expected:
                    raise IndexError(f"The shape of the mask {list(k.shape)} at index {dim} does not match the "
                                     f"shape of the indexed tensor {list(result.shape)} at index {dim}")
            else:
                size = result.shape[dim]
                bad = k[(k >= size) | (k < -size)]
                if bad.size:
                    raise IndexError(f"index {int(bad.flat[0])} is out of bounds for dimension {dim} with size "
                                     f"{size}")
            advanced.append(k)
            dim += k.ndim if k.dtype == np.bool_ else 1
        else:
            size = result.shape[dim]
            i = int(k)
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {size}")
            result = _select(result, dim=dim, index=i % size, self_sym_sizes=tuple(result.shape))
    if not any(isinstance(k, np.ndarray) for k in advanced):
        return result, None
    while isinstance(advanced[-1], slice):
        advanced.pop()
    return result, tuple(advanced)


def getitem(self: Tensor, index):
    """``self[index]`` for every torch index kind (torch.Tensor.__getitem__)."""
    view, advanced = _apply_basic(self, index, skip_lone_slice=False)
    if advanced is not None:
        return _indexed("IndexBackward0", view, _np_key(advanced))
    return _alias(self) if view is self else view


def setitem(self: Tensor, index, value) -> None:
    """``self[index] = value``: index_put_ (advanced index), or into the view (basic index): copy_ of a value of
    its shape, fill_ with a 0-d tensor or a number, else copy_ of the value without its leading 1s, expanded."""
    from refgrad.ops._inplace import apply_inplace
    from refgrad.ops.elementwise import copy_
    view, advanced = _apply_basic(self, index, skip_lone_slice=True)
    if type(value) is int and not -(1 << 63) <= value < 1 << 63:
        raise ValueError("Overflow when unpacking long long")  # (torch reads an assigned integer as int64)
    if advanced is not None:
        if isinstance(value, Tensor) and value.ndim and value.shape[0] == 1:
            value = value.view(_without_leading_ones(value.shape))  # torch drops the value's leading 1s first
        key = _np_key(advanced)
        if not isinstance(value, Tensor):
            value = Tensor._make(checked_scalar(value, view._data.dtype, half_checked=False))
        try:
            np.broadcast_to(value._data, view._data[key].shape)
        except ValueError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
                               f"indexing result of shape {list(view._data[key].shape)}") from None
        # index_put_ refuses a value or an integer index sharing memory with the written tensor (as torch)
        positions = tuple(k for k in (index if isinstance(index, tuple) else (index,))
                          if isinstance(k, Tensor) and k._data.dtype != np.bool_)
        apply_inplace(view, lambda old, v, *_: _write("IndexPutBackward0", old, v.to(old.dtype), key), value,
                      *positions, _aliasing=(True, None))
        return
    if not isinstance(value, Tensor):
        apply_inplace(view, _copying(lambda old: _fill("FillBackward3", old, (), value)))
    elif value.shape == view.shape:
        copy_(view, value)
    elif value.ndim == 0:  # torch fills with a 0-d tensor (fill_.Tensor), which may share the view's memory
        apply_inplace(view, _copying(lambda old, v: _WRITES_FILL(old, v.to(old.dtype))), value, _aliasing=None)
    else:  # (an expanded value is not dense: torch cannot tell an overlap, and copies it)
        value = value.view(_without_leading_ones(value.shape))
        copy_(view, value if value.shape == view.shape else value.expand(view.shape))


def _without_leading_ones(shape: tuple) -> tuple:
    return tuple(shape[next((i for i, n in enumerate(shape) if n != 1), len(shape)):])


def _copying(fn):
    """``fn`` marked as a copy into the indexed view: a ZeroTensor refuses it with copy_'s message (torch)."""
    fn.zerotensor_copy = True
    return fn


def _WRITES_FILL(old: Tensor, value: Tensor) -> Tensor:  # noqa: N802 - reads as the torch node it records
    if "FillBackward3" not in _WRITES:
        _WRITES["FillBackward3"] = Primitive("FillBackward3", _write_forward, _write_vjp, inputs=("self", "values"),
                                             jvp="linear")
    return _WRITES["FillBackward3"](old, value, key=(), accumulate=False, src_key=None, alpha=1, pad_source=True,
                                    vjp_error=None)


# --- gathers ---------------------------------------------------------------------------------------------------


def _check_index(name: str, index: Tensor, allow_int32: bool = False) -> None:
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.dtype is not dtypes.int64 and not (allow_int32 and index.dtype is dtypes.int32):
        raise RuntimeError(f"{name}(): Expected dtype int32 or int64 for index" if allow_int32 else
                           f"{name}(): Expected dtype int64 for index")


def _check_bounds(index: np.ndarray, size: int, dim: int) -> None:
    bad = index[(index >= size) | (index < 0)]
    if bad.size:
        raise RuntimeError(f"index {int(bad.flat[0])} is out of bounds for dimension {dim} with size {size}")


def _dim_key(ndim: int, dim: int, index: np.ndarray) -> tuple:
    return (slice(None),) * dim + (index.reshape(-1),)


def _grid_key(index: np.ndarray, dim: int, ndim: int | None = None) -> tuple:
    """Key for gather/scatter: element ``i`` of ``index`` addresses position ``i`` with ``dim`` replaced."""
    if index.size == 0 and ndim is not None:  # torch accepts an empty index of any rank
        return tuple(np.zeros(index.shape, dtype=np.int64) for _ in range(ndim))
    if index.ndim == 0:
        return (index.reshape(()),) if dim == 0 else ()
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _index_select_error(dim: int, size: int, bad: int) -> Exception:
    """torch's index_select reports a bad index along dim 1 from its dedicated dim-1 kernel (a RuntimeError), along
    every other dim (0, 2, 3...) from the generic one (an IndexError)."""
    if dim != 1:
        return IndexError("index out of range in self")
    return RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={size}")


@register(method=True)
def index_select(input, dim: int, index):
    """Select entries along ``dim`` at ``index`` (torch.index_select)."""
    _check_index("index_select", index, allow_int32=True)
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim] if input.ndim else 1
    idx = index._data.reshape(-1)
    if ((idx >= size) | (idx < 0)).any():
        raise _index_select_error(dim, size, idx[(idx >= size) | (idx < 0)][0])
    if input.ndim == 0:
        return _indexed("IndexSelectBackward0", input, ())
    return _indexed("IndexSelectBackward0", input, _dim_key(input.ndim, dim, idx))


def _check_gather_like(name: str, input: Tensor, dim: int, index: Tensor, src: Tensor | None = None) -> int:
    _check_index(name, index)
    dim = wrap_dim(dim, input.ndim)
    if index.numel() == 0:
        return dim
    if index.ndim != input.ndim and not (max(index.ndim, input.ndim) <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           f"{'input' if name == 'gather' else 'self'} tensor")
    if src is not None and src.ndim != index.ndim and not (max(index.ndim, src.ndim) <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    for d in range(index.ndim):
        if d != dim and index.shape[d] > (input.shape[d] if input.ndim else 1):
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be no "
                               f"larger than self {list(input.shape)} apart from dimension {dim}")
        if src is not None and index.shape[d] > (src.shape[d] if src.ndim else 1):
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} "
                               f"apart from dimension {dim} and to be no larger size than src {list(src.shape)}")
    if index.numel():
        _check_bounds(index._data, input.shape[dim] if input.ndim else 1, dim)
    return dim


@register(method=True)
def gather(input, dim: int, index, *, sparse_grad: bool = False):
    """Values of ``input`` along ``dim`` at ``index`` (torch.gather); duplicate indices accumulate."""
    dim = _check_gather_like("gather", input, dim, index)
    if input.ndim == 0 and index.numel():
        return _indexed("GatherBackward0", input, (np.zeros(index.shape, dtype=np.int64),) if index.ndim else ())
    return _indexed("GatherBackward0", input.reshape(1) if input.ndim == 0 else input,
                    _grid_key(index._data, dim, max(input.ndim, 1)))


@register(method=True)
def take_along_dim(input, indices, dim=None):
    """``gather`` with broadcasting of the non-``dim`` sizes (torch.take_along_dim)."""
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    dim = wrap_dim(dim, input.ndim)
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    in_shape, idx_shape = list(input.shape), list(indices.shape)
    in_shape[dim] = idx_shape[dim] = 1
    try:
        batch = list(np.broadcast_shapes(tuple(in_shape), tuple(idx_shape)))
    except ValueError:
        bad = next(d for d in range(len(in_shape)) if in_shape[d] != idx_shape[d] and 1 not in (in_shape[d],
                                                                                                  idx_shape[d]))
        raise RuntimeError(f"The size of tensor a ({in_shape[bad]}) must match the size of tensor b "
                           f"({idx_shape[bad]}) at non-singleton dimension {bad}") from None
    in_target, idx_target = batch.copy(), batch.copy()
    in_target[dim], idx_target[dim] = input.shape[dim], indices.shape[dim]
    source = input.expand(in_target)  # (always, as torch: its gather saves this view, ExpandBackward0 below it)
    index = indices if tuple(idx_target) == indices.shape else Tensor._make(
        np.ascontiguousarray(np.broadcast_to(indices._data, idx_target)))
    return gather(source, dim, index)


@register(method=True)
def take(input, index):
    """Elements of the flattened ``input`` at ``index`` (torch.take)."""
    _check_index("take", index)
    n = input.numel()
    bad = index._data[(index._data >= n) | (index._data < -n)]
    if bad.size:
        raise IndexError(f"out of range: tried to access index {int(bad.flat[0])} on a tensor of {n} elements.")
    return _indexed("TakeBackward0", input, ("flat", np.mod(index._data, max(n, 1))))


@register(method=True)
def masked_select(input, mask):
    """The elements where ``mask`` (broadcast) is True, as 1-D (torch.masked_select)."""
    if mask.dtype is not dtypes.bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = np.broadcast_shapes(input.shape, mask.shape)
    flags = mask._data
    if not shape:  # 0-d input and mask: torch selects from one element (NumPy's nonzero refuses 0-d)
        input, flags, shape = input.reshape(1), flags.reshape(1), (1,)
    source = input if input.shape == shape else input.expand(shape)
    key = np.nonzero(np.broadcast_to(flags, shape))
    return _indexed("MaskedSelectBackward0", source, key)


# --- writes ----------------------------------------------------------------------------------------------------


def _same_dtype(name: str, input: Tensor, src: Tensor, what: str = "src") -> None:
    if input.dtype is not src.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to {what}.dtype")


def _source_key(index: Tensor, src: Tensor) -> tuple:
    """The source elements scatter reads: the leading index-shaped block."""
    if index.ndim == src.ndim:
        return tuple(slice(0, n) for n in index.shape)
    return (np.zeros(index.shape, dtype=np.int64),) * src.ndim


@register(method=True, inplace=True)
def scatter(input, dim: int, index, src=None, *, value=None, reduce=None):
    """Write ``src`` (or a scalar ``value``) into ``input`` along ``dim`` at ``index`` (torch.scatter)."""
    if src is None and value is None:
        raise TypeError("scatter() missing 1 required positional argument: 'src' or 'value'")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    dim = _check_gather_like("scatter", input, dim, index, src)
    key = _grid_key(index._data, dim, input.ndim) if input.ndim else ()
    if reduce is not None:  # torch computes these but has no derivative for them
        check_reduce(reduce, src is not None)
        if src is not None:
            _same_dtype("scatter", input, src)
        return scatter_reduced(input, value.item() if isinstance(value, Tensor) else value if src is None else src,
                               key, None if src is None else _source_key(index, src), reduce)
    if src is None:
        if isinstance(value, Tensor):
            value = value.item()
        return _fill("ScatterBackward1", input, key, value)
    _same_dtype("scatter", input, src)
    # torch returns the source gradient at the index's shape (its backward rejects a smaller index)
    src_key = _source_key(index, src)
    return _write("ScatterBackward0", input, src, key, src_key=src_key, pad_source=False)


@register(method=True, inplace=True)
def scatter_add(input, dim: int, index, src):
    """Add ``src`` into ``input`` along ``dim`` at ``index`` (torch.scatter_add)."""
    dim = _check_gather_like("scatter_add", input, dim, index, src)
    _same_dtype("scatter_add", input, src)
    key = _grid_key(index._data, dim, input.ndim) if input.ndim else ()
    src_key = _source_key(index, src)
    return _write("ScatterAddBackward0", input, src, key, accumulate=True, src_key=src_key, pad_source=False)


def _check_index_dim(name: str, input: Tensor, dim: int, index: Tensor, source: Tensor | None) -> tuple:
    _check_index(name, index, allow_int32=True)
    if index.ndim > 1:
        if name == "index_fill":
            raise RuntimeError("Index has to be a vector/scalar")
        raise IndexError(f"{name}_(): Index is supposed to be a vector, but got dim: {index.ndim} with type: "
                         f"{_scalar_name(index.dtype)} and size: {list(index.shape)}")
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim] if input.ndim else 1
    idx = index._data.reshape(-1)
    low = -size if name == "index_fill" else 0
    bad = idx[(idx >= size) | (idx < low)]
    if bad.size:
        message = f"index {bad[0]} is out of bounds for dimension {dim} with size {size}"
        if name == "index_add":
            raise RuntimeError(message)
        raise IndexError(f"index_copy_(): {message}" if name == "index_copy" else message)
    if source is not None:
        source_size = source.shape[dim] if source.ndim else 1
        if source_size != idx.size:
            if name == "index_add":
                raise RuntimeError(f"index_add_(): Number of indices ({idx.size}) should be equal to "
                                   f"source.size(dim): ({source_size}), for dim: {dim}")
            raise IndexError(f"index_copy_(): Number of indices ({idx.size}) should be equal to source.size(dim) "
                             f"({source_size})")
        expected = list(input.shape)
        if input.ndim:
            expected[dim] = idx.size
        if list(source.shape) != expected and source.ndim == input.ndim:
            raise RuntimeError(f"{name}_(): Source/destination tensor must have same slice shapes. Destination "
                               f"slice shape: {list(input.shape)} at dimension {dim} and source slice shape: "
                               f"{list(source.shape)} at dimension 0.")
    key = _dim_key(input.ndim, dim, np.mod(idx, max(size, 1))) if input.ndim else ()
    return dim, key


@register(method=True, inplace=True)
def index_add(input, dim: int, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added along ``dim`` at ``index`` (torch.index_add)."""
    _, key = _check_index_dim("index_add", input, dim, index, source)
    _same_dtype("index_add", input, source, "source")
    if alpha != 1:
        checked_scalar(alpha, input._data.dtype)  # torch's overflow check of alpha
    return _write("IndexAddBackward0", input, source.reshape(input[key].shape) if input.ndim == 0 else source, key,
                  accumulate=True, alpha=alpha)


@register(method=True, inplace=True)
def index_copy(input, dim: int, index, source):
    """``input`` with ``source`` copied along ``dim`` at ``index`` (torch.index_copy)."""
    _, key = _check_index_dim("index_copy", input, dim, index, source)
    _same_dtype("index_copy", input, source, "source")
    return _write("IndexCopyBackward0", input, source, key)


@register(method=True, inplace=True)
def index_fill(input, dim: int, index, value):
    """``input`` with ``value`` written along ``dim`` at ``index`` (torch.index_fill)."""
    dim, key = _check_index_dim("index_fill", input, dim, index, None)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        checked_scalar(value.item(), input._data.dtype)  # (torch converts its value with the overflow check)
        # torch's value gradient is an index_select, which rejects the negative positions the forward accepts
        negative = index._data.reshape(-1)[index._data.reshape(-1) < 0]
        error = _index_select_error(dim, input.shape[dim] if input.ndim else 1, negative[0]) if negative.size else None
        # each filled position counts once in the value's gradient, however often the index repeats it (torch)
        key = key[:-1] + (np.unique(key[-1]),) if key else key
        return _write("IndexFillBackward1", input, value.to(input.dtype), key, vjp_error=error)
    return _fill("IndexFillBackward0", input, key, value)


@register(method=True, inplace=True)
def index_put(input, indices, values, accumulate: bool = False):
    """``input`` with ``values`` put (or added) at the tuple of index tensors ``indices`` (torch.index_put)."""
    parts = _components(input, tuple(indices))
    if any(not isinstance(k, np.ndarray) for k in parts):
        parts = [np.asarray(k) if isinstance(k, (int, bool)) else k for k in parts]
    if len(parts) > input.ndim:
        raise IndexError(f"too many indices for tensor of dimension {input.ndim} (got {len(parts)})")
    if input.dtype is not values.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_scalar_name(input.dtype)} for the destination and {_scalar_name(values.dtype)} "
                           f"for the source.")
    key = _np_key(tuple(parts))
    target = input._data[key].shape
    try:
        np.broadcast_to(values._data, target)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot be broadcast to "
                           f"indexing result of shape {list(target)}") from None
    return _write("IndexPutBackward0", input, values, key, accumulate=accumulate)


@register(method=True, inplace=True)
def put(input, index, source, accumulate: bool = False):
    """``input`` with ``source`` put (or added) at flat positions ``index`` (torch.put)."""
    _check_index("put", index)
    if index.numel() != source.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    _same_dtype("put", input, source, "source")
    n = input.numel()
    bad = index._data[(index._data >= n) | (index._data < -n)]
    if bad.size:
        raise IndexError(f"out of range: tried to access index {int(bad.flat[0])} on a tensor of {n} elements.")
    key = np.unravel_index(np.mod(index._data.reshape(-1), max(n, 1)), input.shape) if input.ndim else ()
    return _write("PutBackward0", input, source.reshape(-1) if input.ndim else source.reshape(()), key,
                  accumulate=accumulate)


# torch's masked_fill nodes: edges for self (and the value tensor) only, none for the mask, which they save; the
# result is C-contiguous whatever the input's or the mask's order, channels-last included (np.where followed them)
_masked_fill = Primitive(
    "MaskedFillBackward0",
    contiguous_result(lambda a, mask, value: np.where(mask._data, np.asarray(value, a.dtype), a)),
    lambda c, g: g.masked_fill(c.mask, 0), jvp="elementwise")
_masked_fill_tensor = Primitive(
    "MaskedFillBackward1", contiguous_result(lambda a, value, mask: np.where(mask._data, value.astype(a.dtype), a)),
    lambda c, g: (g.masked_fill(c.mask, 0) if c.needs_input_grad(0) else None,
                  g.masked_select(c.mask).sum() if c.needs_input_grad(1) else None),  # torch's masked_select
    inputs=("self", "value"),
    jvp=lambda c, t_self, t_value: _masked_fill_tensor(  # linear in (self, value), the mask kept
        t_self if t_self is not None else c.self.zeros_like_detached(),
        t_value if t_value is not None else c.value.zeros_like_detached(), mask=c.mask))


def _saving_mask(out: Tensor, primitive: Primitive, mask: Tensor) -> Tensor:
    node = out._grad_fn
    if node is not None and type(node) is primitive.node_cls:  # recorded: the mask saved, version-checked
        save_extra(node, "mask", SavedTensor(mask))
    return out


@register(method=True, inplace=True)
def masked_fill(input, mask, value):
    """Replace elements where ``mask`` is True by ``value``, a number or 0-d tensor (torch.masked_fill)."""
    if mask.dtype is not dtypes.bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_scalar_name(mask.dtype)}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        checked_scalar(value.item(), input._data.dtype)  # (torch converts its value with the overflow check)
        return _saving_mask(_masked_fill_tensor(input, value, mask=mask), _masked_fill_tensor, mask)
    return _saving_mask(_masked_fill(input, mask=mask, value=checked_scalar(value, input._data.dtype).item()),
                        _masked_fill, mask)


@register(method=True, inplace=True)
def masked_scatter(input, mask, source):
    """``input`` with consecutive ``source`` elements written where ``mask`` is True (torch.masked_scatter)."""
    if mask.dtype is not dtypes.bool:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{_scalar_name(mask.dtype)}")
    _same_dtype("masked_scatter", input, source, "source")
    shape = np.broadcast_shapes(input.shape, mask.shape)
    target = input if input.shape == shape else input.expand(shape)
    key = np.nonzero(np.broadcast_to(mask._data, shape))
    count = key[0].size if key else int(np.broadcast_to(mask._data, shape))
    if count > source.numel():
        raise RuntimeError("masked_scatter: expected source to have at least as many elements as the ones "
                           "selected by the mask")
    src_key = np.unravel_index(np.arange(count), source.shape) if source.ndim else ()
    return _write("MaskedScatterBackward0", target, source, key, src_key=src_key)


def _scalar_name(dtype) -> str:
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]
