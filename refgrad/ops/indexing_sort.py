"""Sorting and searching (the indexing family's second half): sort, argsort, topk, and the index-valued ops.

Values come out as gathers at the computed indices (``SortBackward0``, ``TopkBackward0``), whose gradient is torch's
value_selecting_reduction_backward: the cotangent scattered at the returned ``indices`` (a ScatterBackward0 node
under create_graph); the indices never carry gradient.
"""
from __future__ import annotations

import inspect
from collections import namedtuple

import numpy as np

from refgrad import dtypes
from refgrad.autograd._jvp import no_forward_rule
from refgrad.ops._layout import in_order, memory_order
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import wrap_dim
from refgrad.ops.extrema import _indexed, save_output
from refgrad.tensor import Tensor

_SortResult = namedtuple("sort", ["values", "indices"])
_TopkResult = namedtuple("topk", ["values", "indices"])


def _not_implemented(op: str):
    def vjp(ctx, *grads):
        raise NotImplementedError(f"the derivative for '{op}' is not implemented.")
    return vjp


# torch records a node for unique whose backward raises
_unique_flat = Primitive("Unique2Backward0", lambda a, values: values, _not_implemented("_unique2"),
                         jvp=no_forward_rule("_unique2"))
_unique_dim = Primitive("UniqueDimBackward0", lambda a, values: values, _not_implemented("unique_dim"),
                        jvp=no_forward_rule("unique_dim"))


_PRIMS = {name: _indexed(name) for name in ("SortBackward0", "SortBackward1", "TopkBackward0")}


def _selected(prim: Primitive, input: Tensor, order: np.ndarray, dim: int, like_input: bool = False) -> tuple:
    """(values, indices) of ``input`` at ``order`` along ``dim``, recorded as ``prim`` saving the indices; both
    dense in ``input``'s memory order when ``like_input`` (sort's, where take_along_axis made them C-ordered)."""
    data = input._data
    values = np.take_along_axis(data, order, dim) if data.ndim else data.copy()
    if like_input and data.ndim > 1 and not data.flags.c_contiguous:
        layout = memory_order(data)
        values, order = in_order(values, layout), in_order(order, layout)
    out_values, out_index = prim(input, values=values, index_out=order, dim=dim, keepdim=True)
    save_output(out_values, "indices", out_index)
    return out_values, out_index


def _order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sort order along ``axis``; NaN is the largest value, ties keep their original order (as torch)."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    flipped = np.flip(a, axis=axis)
    return np.flip(n - 1 - np.argsort(flipped, axis=axis, kind="stable"), axis=axis)


def _check_sortable(name: str, input: Tensor) -> None:
    if input.dtype is dtypes.bool and name == "topk":
        raise RuntimeError("\"topk_cpu\" not implemented for 'Bool'")


#: torch's two overloads of each, as its argument parser lists them when none matches (function, then method)
_OVERLOADS = {
    ("sort", False): (" * (Tensor input, *, bool stable, int dim = -1, bool descending = False, tuple of Tensors out = "
                      "None)\n * (Tensor input, int dim = -1, bool descending = False, *, tuple of Tensors out = None)"
                      "\n"),
    ("argsort", False): (" * (Tensor input, *, bool stable, int dim = -1, bool descending = False, Tensor out = None)"
                         "\n * (Tensor input, int dim = -1, bool descending = False)\n"),
    ("sort", True): " * (*, bool stable, int dim = -1, bool descending = False)\n * (int dim = -1, bool descending = "
                    "False)\n",
}
_OVERLOADS["argsort", True] = _OVERLOADS["sort", True]
_STABLE_KEYWORD = "      didn't match because some of the keywords were incorrect: stable\n"


def _parsed(name: str, method: bool, args: tuple, kwargs: dict) -> None:
    """torch's argument parser for sort/argsort: ``stable`` only as a keyword, with dim and descending keywords
    too (the overload without it takes them positionally); argsort's ``stable`` is a bool, never None."""
    if len(args) > 2 or (method and len(args) == 2 and "stable" in kwargs):
        if method:
            raise TypeError(f"{name}() takes from 1 to 0 positional arguments but {len(args)} were given")
        if name == "argsort":
            raise TypeError(f"argsort() takes from 2 to 1 positional arguments but {len(args) + 1} were given")
    elif not ("stable" in kwargs and (args or (name == "argsort" and kwargs["stable"] is None))):
        return
    got = ", ".join([*([] if method else ["Tensor"]), *(type(a).__name__ for a in args),
                     *(f"{k}={type(v).__name__}" for k, v in reversed(kwargs.items()))])  # (torch lists them reversed)
    if method and not args:
        got += ", "  # (torch's parser, for a method given keywords only)
    raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected "
                    f"one of:\n{_OVERLOADS[name, method]}"
                    f"{_STABLE_KEYWORD if args and (method or name == 'argsort') else ''}")


def _sort(input, dim: int = -1, descending: bool = False, stable: bool | None = None):
    _check_sortable("sort", input)
    name = "SortBackward1" if stable is not None else "SortBackward0"
    if input.ndim == 0:
        wrap_dim(dim, 0)
        return _SortResult(*_selected(_PRIMS[name], input, np.zeros((), np.int64), 0))
    dim = wrap_dim(dim, input.ndim)
    # torch sorts a copy of the input made with empty_like: values and indices keep a permuted input's order
    return _SortResult(*_selected(_PRIMS[name], input, _order(input._data, dim, descending), dim, like_input=True))


@register()
def sort(input, *args, **kwargs):
    """Sorted values and their indices along ``dim`` (torch.sort(input, dim=-1, descending=False) or
    torch.sort(input, *, stable, dim=-1, descending=False)); ties keep input order. Raises torch's TypeError for
    ``stable`` with a positional dim or descending."""
    _parsed("sort", False, args, kwargs)
    return _sort(input, *args, **kwargs)


@register("sort", namespace="torch.Tensor", method=True)
def tensor_sort(self, *args, **kwargs):
    """Tensor.sort: torch.sort as a method (its parser's errors name no input)."""
    _parsed("sort", True, args, kwargs)
    return _sort(self, *args, **kwargs)


def _argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    return _sort(input, dim, descending, stable=stable).indices


# (the parameters as torch's parser names them, for the NumPy spellings: axis= for dim; see _numpy_names.py)
sort.__signature__ = tensor_sort.__signature__ = inspect.signature(_sort)


@register()
def argsort(input, *args, **kwargs):
    """Indices that sort ``input`` along ``dim`` (torch.argsort(input, dim=-1, descending=False) or
    torch.argsort(input, *, stable, dim=-1, descending=False)); torch's TypeErrors as sort's."""
    _parsed("argsort", False, args, kwargs)
    return _argsort(input, *args, **kwargs)


@register("argsort", namespace="torch.Tensor", method=True)
def tensor_argsort(self, *args, **kwargs):
    """Tensor.argsort: torch.argsort as a method."""
    _parsed("argsort", True, args, kwargs)
    return _argsort(self, *args, **kwargs)


argsort.__signature__ = tensor_argsort.__signature__ = inspect.signature(_argsort)


@register(method=True)
def msort(input):
    """Values sorted along dim 0 (torch.msort)."""
    return _sort(input, 0).values


# --- topk: torch's CPU kernel is std::nth_element + std::sort on (value, index) pairs (libstdc++), whose
# choice among ties is what torch returns; the two routines are reproduced step by step below.


def _introselect(queue: list, nth: int, before) -> None:
    first, last = 0, len(queue)
    depth = 2 * (len(queue).bit_length() - 1)
    while last - first > 3:
        if depth == 0:
            queue[first:last] = sorted(queue[first:last], key=_Key(before))  # heap select fallback
            return
        depth -= 1
        cut = _partition_pivot(queue, first, last, before)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(queue, first, last, before)


def _partition_pivot(queue: list, first: int, last: int, before) -> int:
    mid = first + (last - first) // 2
    a, b, c = first + 1, mid, last - 1
    if before(queue[a], queue[b]):
        pick = b if before(queue[b], queue[c]) else (c if before(queue[a], queue[c]) else a)
    else:
        pick = a if before(queue[a], queue[c]) else (c if before(queue[b], queue[c]) else b)
    queue[first], queue[pick] = queue[pick], queue[first]
    pivot, low, high = queue[first], first + 1, last
    while True:
        while before(queue[low], pivot):
            low += 1
        high -= 1
        while before(pivot, queue[high]):
            high -= 1
        if not low < high:
            return low
        queue[low], queue[high] = queue[high], queue[low]
        low += 1


def _insertion_sort(queue: list, first: int, last: int, before) -> None:
    for i in range(first + 1, last):
        item, j = queue[i], i
        while j > first and before(item, queue[j - 1]):
            queue[j] = queue[j - 1]
            j -= 1
        queue[j] = item


def _std_sort(queue: list, first: int, last: int, before) -> None:
    """libstdc++ std::sort: introsort down to runs of 16, then one insertion sort over the whole range."""
    def loop(low: int, high: int, depth: int) -> None:
        while high - low > 16:
            if depth == 0:
                queue[low:high] = sorted(queue[low:high], key=_Key(before))  # heapsort fallback
                return
            depth -= 1
            cut = _partition_pivot(queue, low, high, before)
            loop(cut, high, depth)
            high = cut

    if last - first > 1:
        loop(first, last, 2 * ((last - first).bit_length() - 1))
        _insertion_sort(queue, first, last, before)


class _Key:
    def __init__(self, before):
        self.before = before

    def __call__(self, item):
        before = self.before

        class Wrapped:
            def __init__(self, value):
                self.value = value

            def __lt__(self, other):
                return before(self.value, other.value)
        return Wrapped(item)


def _topk_order(row: np.ndarray, k: int, largest: bool, sorted_: bool) -> list[int]:
    if k == 0:
        return []
    if largest:
        def before(x, y):
            return (np.isnan(x[0]) and not np.isnan(y[0])) or x[0] > y[0]
    else:
        def before(x, y):
            return (not np.isnan(x[0]) and np.isnan(y[0])) or x[0] < y[0]
    queue = [(float(v), i) for i, v in enumerate(row)]
    if k * 64 <= len(queue):  # torch uses std::partial_sort here; approximated by a stable sort
        queue.sort(key=_Key(before))
    else:
        _introselect(queue, k - 1, before)
        if sorted_:
            _std_sort(queue, 0, k - 1, before)
    return [i for _, i in queue[:k]]


@register(method=True)
def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002 - torch's name
    """The ``k`` largest (or smallest) values along ``dim`` and their indices (torch.topk); ties resolve as on
    torch's CPU kernel."""
    _check_sortable("topk", input)
    size = input.shape[wrap_dim(dim, input.ndim)] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    if input.ndim == 0:
        return _TopkResult(*_selected(_PRIMS["TopkBackward0"], input, np.zeros((), np.int64), 0))
    dim = wrap_dim(dim, input.ndim)
    moved = np.moveaxis(input._data, dim, -1)
    rows = moved.reshape(int(np.prod(moved.shape[:-1])), moved.shape[-1])
    picked = np.array([_topk_order(row, k, largest, sorted) for row in rows], dtype=np.int64).reshape(len(rows), k)
    order = np.ascontiguousarray(np.moveaxis(picked.reshape(moved.shape[:-1] + (k,)), -1, dim))  # (C, as torch's)
    return _TopkResult(*_selected(_PRIMS["TopkBackward0"], input, order, dim))


@register(method=True)
def nonzero(input, *, as_tuple: bool = False):
    """Indices of the nonzero elements, one row per element (torch.nonzero); ``as_tuple`` gives one per dim."""
    data = input._data
    if as_tuple:
        if data.ndim == 0:
            return (Tensor._make(np.zeros(1 if data else 0, dtype=np.int64)),)
        return tuple(Tensor._make(np.ascontiguousarray(i, np.int64)) for i in np.nonzero(data))  # (torch: contiguous)
    if data.ndim == 0:
        return Tensor._make(np.zeros((1 if data else 0, 0), dtype=np.int64))
    return Tensor._make(np.argwhere(data).astype(np.int64).reshape(-1, data.ndim))


@register(method=True)
def argwhere(input):
    """Indices of the nonzero elements (torch.argwhere)."""
    return nonzero(input)


def _search(boundaries: np.ndarray, values: np.ndarray, side: str) -> np.ndarray:
    if boundaries.ndim <= 1:
        return np.searchsorted(boundaries, values, side=side)
    out = np.empty(values.shape, dtype=np.int64)
    for lead in np.ndindex(*boundaries.shape[:-1]):
        out[lead] = np.searchsorted(boundaries[lead], values[lead], side=side)
    return out


@register()
def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False, side=None, sorter=None):
    """Insertion points of ``input`` in the last dim of ``sorted_sequence`` (torch.searchsorted); no gradient."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    boundaries = sorted_sequence._data
    if sorter is not None:
        boundaries = np.take_along_axis(boundaries, sorter._data, axis=-1)
    scalar = not isinstance(input, Tensor)
    values = np.asarray(input if scalar else input._data)
    if boundaries.ndim > 1 and (scalar or values.shape[:-1] != boundaries.shape[:-1]):
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           "dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(boundaries.shape)} and input value tensor "
                           f"{list(values.shape)}")
    found = _search(boundaries, values, "right" if right else "left")
    return Tensor._make(np.asarray(found).astype(np.int32 if out_int32 else np.int64))


@register()
def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False):
    """Bucket index of each element of ``input`` given 1-D ``boundaries`` (torch.bucketize); no gradient."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@register(method=True)
def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim=None):
    """Distinct elements, sorted (torch.unique); optional inverse indices and counts. No gradient."""
    data = input._data
    if dim is None:
        values, inverse, counts = np.unique(data.reshape(-1), return_inverse=True, return_counts=True)
        inverse = inverse.reshape(data.shape)
    else:
        dim = wrap_dim(dim, input.ndim)
        values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True, axis=dim)
        inverse = inverse.reshape(-1)
    result = (_unique_flat if dim is None else _unique_dim)(input, values=values)
    extras = []
    if return_inverse:
        extras.append(Tensor._make(inverse.astype(np.int64)))
    if return_counts:
        extras.append(Tensor._make(counts.astype(np.int64)))
    return (result, *extras) if extras else result
