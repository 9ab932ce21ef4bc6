"""Extrema and order statistics: max/min (full and along a dim), amax/amin, aminmax, argmax/argmin, median,
nanmedian, kthvalue and mode.

torch's conventions (see tests/ops/test_reductions.py for the pinned numbers): reductions that return no index
(full ``max()``, ``amax``, ``median()``...) split the gradient evenly among ties; the ones returning indices send
it all to the returned index, chosen as torch's CPU kernels choose it.
"""
from __future__ import annotations

import collections

import numpy as np

from refgrad import dtypes
from refgrad.autograd import zerotensor as _zerotensor
from refgrad.ops._layout import contiguous_result
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import OPS, register
from refgrad.ops._round_once import count_nonzero
from refgrad.ops._util import _restore, never_flowed, normalize_dims, wrap_dim
from refgrad.tensor import _SCALAR_TYPE, Tensor

__all__ = ["return_type", "scatter_along", "gather_along", "value_selecting_backward"]


def return_type(name: str, fields=("values", "indices")):
    """A named tuple printed like ``torch.return_types.<name>(values=..., indices=...)``."""
    cls = collections.namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    cls.__module__ = "torch.return_types"
    return cls


_TYPES = {name: return_type(name) for name in ("max", "min", "median", "nanmedian", "kthvalue", "mode", "cummax",
                                                "cummin", "sort", "topk")}
_TYPES["aminmax"] = return_type("aminmax", ("min", "max"))


# --- differentiable scatter/gather along a dim (the index-routing VJPs) ----------------------------------------

def _index_key(index: np.ndarray, dim: int) -> tuple:
    key = list(np.indices(index.shape, sparse=True))
    key[dim] = index
    return tuple(key)


def _scatter_forward(g, index, dim, shape):
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, _index_key(index, dim), g)
    return out


_gather = Primitive("GatherBackward0", lambda a, index, dim, shape: a[_index_key(index, dim)],
                    lambda c, g: scatter_along(g, c.index, c.dim, c._input_meta[0][0]), jvp="linear")
_scatter = Primitive("ScatterAddBackward0", _scatter_forward, lambda c, g: gather_along(g, c.index, c.dim),
                     jvp="linear")


def scatter_along(g: Tensor, index: np.ndarray, dim: int, shape: tuple) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at ``index`` along ``dim`` (duplicates accumulate); differentiable."""
    return _scatter(g, index=index, dim=dim, shape=tuple(shape))


def gather_along(a: Tensor, index: np.ndarray, dim: int) -> Tensor:
    """``a`` read at ``index`` along ``dim`` (np.take_along_axis); differentiable."""
    return _gather(a, index=index, dim=dim, shape=tuple(a.shape))


def save_output(output: Tensor, name: str, tensor: Tensor) -> None:
    """Save another output of ``output``'s node for its VJP (torch saves the indices of max(dim), cummax...)."""
    from refgrad.autograd.graph import SavedTensor, save_extra
    node = output.grad_fn
    if node is not None:
        save_extra(node, name, SavedTensor(tensor, producer=node))


def value_selecting_backward(g: Tensor, index: np.ndarray, dim: int, shape: tuple, keepdim: bool,
                             accumulate: bool = False) -> Tensor:
    """torch's value_selecting_reduction_backward (``accumulate``: cummaxmin_backward): ``g`` written at ``index``
    along ``dim`` into new zeros of ``shape``, by torch's own scatter (scatter_add), so the gradient's node is
    torch's ScatterBackward0 (ScatterAddBackward0) with no edge to the zeros. A 0-d input is scattered as is."""
    from refgrad.ops.indexing import scatter, scatter_add
    if len(shape) and not keepdim:
        index, g = np.expand_dims(index, dim), g.unsqueeze(dim)
    zeros = Tensor._make(np.zeros(shape, g._data.dtype))
    return (scatter_add if accumulate else scatter)(zeros, dim, Tensor._make(index), g)


def _select_backward(c, g, *_):
    """Gradient of a value-selecting reduction: all of it to the returned index."""
    index = c.indices._data  # unpacked: a second backward raises, as in torch
    return value_selecting_backward(g, index, c.dim, c._input_meta[0][0], c.keepdim)


def _with_index(prim: Primitive, input: Tensor, values: np.ndarray, index: np.ndarray, dim: int, keepdim: bool,
                name: str):
    """Record a (values, indices) reduction whose index (keepdim shape) was computed beforehand."""
    values_out = values if keepdim or input.ndim == 0 else np.squeeze(values, dim)
    index_out = index if keepdim or input.ndim == 0 else np.squeeze(index, dim)
    out_values, out_index = prim(input, values=values_out, index_out=index_out, dim=dim, keepdim=keepdim)
    save_output(out_values, "indices", out_index)
    return _TYPES[name](out_values, out_index)


def _indexed(grad_fn: str) -> Primitive:
    return Primitive(grad_fn, lambda a, values, index_out: (values.astype(a.dtype), index_out.astype(np.int64)),
                     _select_backward, differentiable=(0,), outputs=("result", "indices"))


def _along_last(a: np.ndarray, dim: int) -> np.ndarray:
    return np.moveaxis(a, dim, -1) if a.ndim else a.reshape(1)


# --- full reductions that split ties evenly ---------------------------------------------------------------------

def _evenly(c, g):
    """torch's evenly_distribute_backward: ties (or all NaNs, when the result is NaN) share the gradient, written
    as torch does: new zeros masked_fill-ed with g / count (a MaskedFillBackward1 node under create_graph)."""
    from refgrad.ops.indexing import masked_fill
    x, value = c.self._data, c.result._data
    mask = np.isnan(x) if np.isnan(value) else x == value
    if g._zerotensor:  # torch's formula fills a zeros tensor: no ZeroTensor comes out (autograd/zerotensor.py)
        g = g.clone()
    count = Tensor._make(np.asarray(count_nonzero(mask), dtype=np.int64))  # (torch: mask.sum(), an int64 tensor)
    return masked_fill(Tensor._make(np.zeros(x.shape, g._data.dtype)), Tensor._make(mask), g / count)


def _evenly_jvp(c, t):
    """torch's evenly_read_jvp: the mean tangent over the elements equal to the result, so NaN (0/0) when the
    result is NaN (no element equals it), unlike the VJP's split among the NaNs."""
    mask = c.self._data == c.result._data
    total = (t * Tensor._make(mask.astype(t._data.dtype))).sum()
    return total / Tensor._make(np.asarray(mask.sum(), t._data.dtype))


def _full_extreme(np_fn, grad_fn):
    return Primitive(grad_fn, lambda a: np.asarray(np_fn(a)), _evenly, save=("self", "result"), jvp=_evenly_jvp)


_max_all, _min_all = _full_extreme(np.max, "MaxBackward1"), _full_extreme(np.min, "MinBackward1")
_max_dim, _min_dim = _indexed("MaxBackward0"), _indexed("MinBackward0")


def _extreme(name, full, by_dim, np_arg, input, dim, keepdim, other):
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        binary = OPS.get("torch.maximum" if name == "max" else "torch.minimum")
        if binary is None:
            raise NotImplementedError(f"torch.{name}(input, other) needs torch.{name}imum")
        return binary.function(input, other)
    if input.dtype.is_complex:  # complex numbers have no order
        if dim is not None:
            raise RuntimeError(f"{name}(): does not support complex input")
        raise NotImplementedError(f"\"{name}_all\" not implemented for '{_SCALAR_TYPE[input.dtype.name]}'")
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                               "the reduction dim with the 'dim' argument.")
        return full(input)
    dim = wrap_dim(dim, input.ndim)
    if input.ndim and input.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    data = input._data
    index = np.expand_dims(np_arg(data, axis=dim), dim) if data.ndim else np.zeros((), np.int64)
    values = np.take_along_axis(data, index, dim) if data.ndim else data.copy()
    return _with_index(by_dim, input, values, index, dim, keepdim, name)


@register(method=True)
def max(input, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001 - torch.max
    """torch.max: the maximum (ties share the gradient), or (values, indices) along ``dim`` (first occurrence)."""
    return _extreme("max", _max_all, _max_dim, np.argmax, input, dim, keepdim, other)


@register(method=True)
def min(input, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001 - torch.min
    """torch.min: the minimum (ties share the gradient), or (values, indices) along ``dim`` (first occurrence)."""
    return _extreme("min", _min_all, _min_dim, np.argmin, input, dim, keepdim, other)


def _amax_vjp(c, g):
    shape = c._input_meta[0][0]
    x, result = c.self._data, c.result._data
    mask = x == (result if c.keepdim or not len(shape) else np.expand_dims(result, c.dims))
    count = np.sum(mask, axis=c.dims, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = (mask / count).astype(x.dtype)
    if np.any(count == 0):  # torch: NaN slices get g / 0 * 0
        scale = (_restore(g, shape, c.dims, c.keepdim) / Tensor._make(
            np.broadcast_to(count, shape).astype(x.dtype)))
        return scale * Tensor._make(mask.astype(x.dtype))
    return _restore(g, shape, c.dims, c.keepdim) * Tensor._make(weights)


def _amax_like(np_fn, grad_fn):
    forward = contiguous_result(lambda a, dims, keepdim: np.asarray(np_fn(a, axis=dims, keepdims=keepdim)))
    return Primitive(grad_fn, forward, _amax_vjp, save=("self", "result"))


_amax, _amin = _amax_like(np.max, "AmaxBackward0"), _amax_like(np.min, "AminBackward0")


def _amax_call(name, prim, input, dim, keepdim):
    dims = normalize_dims(dim if dim != () else None, input.ndim)
    if input.numel() == 0 and (not dims or any(input.shape[d] == 0 for d in dims)):
        raise IndexError(f"{name}(): Expected reduction dim {dims[0] if dims else 0} to have non-zero size.")
    return prim(input, dims=dims, keepdim=keepdim)


@register(method=True)
def amax(input, dim=(), keepdim: bool = False):
    """Maximum over ``dim`` (all by default) (torch.amax); ties share the gradient evenly."""
    return _amax_call("amax", _amax, input, dim, keepdim)


@register(method=True)
def amin(input, dim=(), keepdim: bool = False):
    """Minimum over ``dim`` (all by default) (torch.amin); ties share the gradient evenly."""
    return _amax_call("amin", _amin, input, dim, keepdim)


def _aminmax_vjp(c, g_min, g_max):
    shape = c._input_meta[0][0]
    x = c.self._data
    grads = []
    for g, result in ((g_min, c.min), (g_max, c.max)):
        if never_flowed(g):  # torch skips an undefined output's term: a lone ZeroTensor's stays one
            continue
        mask = x == (result._data if c.keepdim or not len(shape) else np.expand_dims(result._data, c.dims))
        count = np.broadcast_to(np.sum(mask, axis=c.dims, keepdims=True), shape).astype(x.dtype)
        grads.append(_restore(g, shape, c.dims, c.keepdim) / Tensor._make(count) * Tensor._make(mask.astype(x.dtype)))
    if len(grads) == 1:
        return grads[0]
    if grads[0]._zerotensor:  # torch adds max's term into min's in place: a ZeroTensor there refuses
        _zerotensor.refuse_write()
    return grads[0] + grads[1]


def _aminmax_forward(a, dims, keepdim):
    return np.asarray(np.min(a, axis=dims, keepdims=keepdim)), np.asarray(np.max(a, axis=dims, keepdims=keepdim))


_aminmax = Primitive("AminmaxBackward0", contiguous_result(_aminmax_forward), _aminmax_vjp, save=("self",),
                     outputs=("min", "max"))


@register(method=True)
def aminmax(input, *, dim=None, keepdim: bool = False):
    """(min, max) in one node (torch.aminmax); ties share each gradient evenly."""
    if input.numel() == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    dims = normalize_dims(dim, input.ndim) if dim is not None else tuple(range(input.ndim))
    low, high = _aminmax(input, dims=dims, keepdim=keepdim)
    save_output(low, "min", low)  # the VJP reads both outputs; Primitive saves only the first as "result"
    save_output(low, "max", high)
    return _TYPES["aminmax"](low, high)


def _arg(np_fn, name):
    def arg(input, dim=None, keepdim: bool = False):
        if input.dtype is dtypes.bool:
            raise RuntimeError(f"\"{name}_cpu\" not implemented for 'Bool'")
        if dim is None:
            if input.numel() == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
            flat = np.asarray(np_fn(input._data.reshape(-1)), dtype=np.int64)
            return Tensor._make(flat.reshape((1,) * input.ndim) if keepdim else flat)
        dim = wrap_dim(dim, input.ndim)
        if input.ndim == 0:
            return Tensor._make(np.zeros((), np.int64))
        if input.shape[dim] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
        return Tensor._make(np.asarray(np_fn(input._data, axis=dim, keepdims=keepdim), dtype=np.int64))
    arg.__name__ = name
    arg.__doc__ = f"Index of the {name[3:]}imum (torch.{name}); first occurrence, int64, no gradient."
    return arg


argmax = register("argmax", method=True)(_arg(np.argmax, "argmax"))
argmin = register("argmin", method=True)(_arg(np.argmin, "argmin"))


# --- median, nanmedian, kthvalue, mode -------------------------------------------------------------------------

def _lower_median(flat: np.ndarray, ignore_nan: bool) -> np.ndarray:
    finite = flat[~np.isnan(flat)]
    if (np.isnan(flat).any() and not ignore_nan) or finite.size == 0:
        return np.asarray(np.nan, dtype=flat.dtype)
    return np.sort(finite)[(finite.size - 1) // 2]


_median_all = Primitive("MedianBackward0", lambda a: _lower_median(a.reshape(-1), False), _evenly,
                        save=("self", "result"), jvp=_evenly_jvp)
_nanmedian_all = Primitive("NanmedianBackward0", lambda a: _lower_median(a.reshape(-1), True), _evenly,
                           save=("self", "result"), jvp=_evenly_jvp)
_median_dim, _nanmedian_dim = _indexed("MedianBackward1"), _indexed("NanmedianBackward1")
_kthvalue, _mode = _indexed("KthvalueBackward0"), _indexed("ModeBackward0")


def _median_index(data: np.ndarray, dim: int, ignore_nan: bool) -> np.ndarray:
    """torch CPU's median index: rank (n-1)//2 in the stable order (NaN last), or the first NaN."""
    moved = _along_last(data, dim)
    order = np.argsort(moved, axis=-1, kind="stable")
    valid = np.sum(~np.isnan(moved), axis=-1, keepdims=True)
    n = moved.shape[-1]
    if ignore_nan:
        rank = np.maximum(valid - 1, 0) // 2
    else:
        rank = np.where(valid < n, valid, (n - 1) // 2)
    picked = np.take_along_axis(order, rank, -1)
    return np.moveaxis(picked, -1, dim) if data.ndim else picked.reshape(())


def _median_call(name, full, by_dim, input, dim, keepdim, ignore_nan):
    if dim is None:
        return full(input)
    dim = wrap_dim(dim, input.ndim)
    if input.ndim and input.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    data = input._data
    index = _median_index(data, dim, ignore_nan) if data.ndim else np.zeros((), np.int64)
    index = np.asarray(index, order="C")  # (a reduction's outputs are contiguous in torch, whatever data's layout)
    values = np.take_along_axis(data, index, dim) if data.ndim else data.copy()
    return _with_index(by_dim, input, values, index, dim, keepdim, name)


@register(method=True)
def median(input, dim=None, keepdim: bool = False):
    """Lower median (torch.median): full (ties share the gradient; NaN propagates) or (values, indices)."""
    return _median_call("median", _median_all, _median_dim, input, dim, keepdim, ignore_nan=False)


@register(method=True)
def nanmedian(input, dim=None, keepdim: bool = False):
    """Lower median ignoring NaN (torch.nanmedian): full, or (values, indices) along ``dim``."""
    return _median_call("nanmedian", _nanmedian_all, _nanmedian_dim, input, dim, keepdim, ignore_nan=True)


def _after(a: float, b: float) -> bool:
    """torch's select comparator: a sorts after b (NaN sorts last)."""
    return a > b or (a != a and b == b)


def _quickselect(values: list, k: int) -> int:
    """The original position of the k-th smallest (0-based), by median-of-three quickselect as torch CPU does it
    (which element of a tie comes out depends on the partitioning, so the algorithm itself is the spec)."""
    arr = list(values)
    pos = list(range(len(arr)))

    def swap(i, j):
        arr[i], arr[j] = arr[j], arr[i]
        pos[i], pos[j] = pos[j], pos[i]

    lo, hi = 0, len(arr) - 1
    while hi > lo:
        if hi == lo + 1:
            if _after(arr[lo], arr[hi]):
                swap(lo, hi)
            break
        swap(lo + (hi - lo) // 2, lo + 1)
        if _after(arr[lo + 1], arr[hi]):
            swap(lo + 1, hi)
        if _after(arr[lo], arr[hi]):
            swap(lo, hi)
        if _after(arr[lo + 1], arr[lo]):
            swap(lo + 1, lo)
        i, j, pivot = lo + 1, hi, arr[lo]
        while True:
            i += 1
            while _after(pivot, arr[i]):
                i += 1
            j -= 1
            while _after(arr[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1
    return pos[k]


def _per_slice(data: np.ndarray, dim: int, pick) -> np.ndarray:
    """Apply ``pick(1-D list) -> index`` to every slice along ``dim``; returns indices in keepdim shape."""
    moved = _along_last(data, dim)
    flat = moved.reshape(-1, moved.shape[-1])
    picked = np.array([pick(row.tolist()) for row in flat], dtype=np.int64).reshape(moved.shape[:-1] + (1,))
    return np.moveaxis(picked, -1, dim) if data.ndim else picked.reshape(())


@register(method=True)
def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """The k-th smallest element along ``dim`` and its index (torch.kthvalue); gradient to that index."""
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim] if input.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
    data = input._data
    index = _per_slice(data, dim, lambda row: _quickselect(row, k - 1)) if data.ndim else np.zeros((), np.int64)
    values = np.take_along_axis(data, index, dim) if data.ndim else data.copy()
    return _with_index(_kthvalue, input, values, index, dim, keepdim, "kthvalue")


def _std_sort(items: list, less) -> None:
    """Sort ``items`` in place exactly as libstdc++'s std::sort does (introsort, median-of-three pivot, final
    insertion sort): torch CPU's mode sorts (value, index) pairs by value with it, so which tied element ends a
    run, and hence which index mode returns, depends on this order."""
    def linear_insert(last):
        value = items[last]
        while less(value, items[last - 1]):
            items[last] = items[last - 1]
            last -= 1
        items[last] = value

    def insertion_sort(first, last):
        for i in range(first + 1, last):
            if less(items[i], items[first]):
                value = items[i]
                items[first + 1:i + 1] = items[first:i]
                items[first] = value
            else:
                linear_insert(i)

    def median_to_first(result, a, b, c):
        if less(items[a], items[b]):
            pick = b if less(items[b], items[c]) else c if less(items[a], items[c]) else a
        else:
            pick = a if less(items[a], items[c]) else c if less(items[b], items[c]) else b
        items[result], items[pick] = items[pick], items[result]

    def partition(first, last, pivot):
        while True:
            while less(items[first], items[pivot]):
                first += 1
            last -= 1
            while less(items[pivot], items[last]):
                last -= 1
            if not first < last:
                return first
            items[first], items[last] = items[last], items[first]
            first += 1

    def introsort(first, last, depth):
        while last - first > 16:
            if depth == 0:  # heapsort fallback: any correct order (not reached for realistic sizes)
                items[first:last] = sorted(items[first:last], key=lambda item: item[0])
                return
            depth -= 1
            median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
            cut = partition(first + 1, last, first)
            introsort(cut, last, depth)
            last = cut

    n = len(items)
    if n < 2:
        return
    introsort(0, n, 2 * (n.bit_length() - 1))
    if n > 16:
        insertion_sort(0, 16)
        for i in range(16, n):
            linear_insert(i)
    else:
        insertion_sort(0, n)


def _mode_of(row: list) -> int:
    """torch CPU's mode: sort (value, index) by value, take the longest run of equal values (the first such run),
    and return the index that ends it."""
    items = [(value, i) for i, value in enumerate(row)]
    _std_sort(items, lambda a, b: a[0] < b[0])
    best_count, best_index, count = 0, 0, 0
    for i, (value, index) in enumerate(items):
        count += 1
        if i == len(items) - 1 or value != items[i + 1][0]:
            if count > best_count:
                best_count, best_index = count, index
            count = 0
    return best_index


@register(method=True)
def mode(input, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` and its last index (torch.mode); gradient to that index."""
    dim = wrap_dim(dim, input.ndim)
    if input.ndim and input.shape[dim] == 0:
        raise IndexError(f"mode(): Expected reduction dim {dim} to have non-zero size.")
    data = input._data
    index = _per_slice(data, dim, _mode_of) if data.ndim else np.zeros((), np.int64)
    values = np.take_along_axis(data, index, dim) if data.ndim else data.copy()
    return _with_index(_mode, input, values, index, dim, keepdim, "mode")
