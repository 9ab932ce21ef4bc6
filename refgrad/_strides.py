"""torch's strides for empty tensors, which NumPy does not keep.

NumPy 2 gives every new empty array all-zero strides (and calls every empty array C-contiguous), where torch gives
a new empty tensor the contiguous strides of its sizes (a size-0 dimension counted as 1) and carries them through
its views: ``torch.zeros(0, 2).t().stride()`` is ``(1, 2)``. An empty view's array therefore gets torch's strides as
real NumPy strides when the view is made (free: an empty array reads no memory), from which NumPy's view functions
derive the view's own; a non-empty array never comes here.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def contiguous_strides(shape) -> tuple[int, ...]:
    """torch's contiguous strides for ``shape``, in elements (a size-0 dimension counted as 1)."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def torch_strides(array: np.ndarray) -> tuple[int, ...]:
    """The strides, in elements, torch's tensor of ``array`` has: its own, or for a new empty array (all-zero
    strides) the contiguous ones."""
    if array.size or any(array.strides):
        return tuple(s // array.itemsize for s in array.strides)
    return contiguous_strides(array.shape)


def with_torch_strides(array: np.ndarray) -> np.ndarray:
    """``array`` itself, or for a new empty array a view of it with torch's (contiguous) strides as its own."""
    if array.size or any(array.strides):
        return array
    return as_strided(array, array.shape, tuple(s * array.itemsize for s in contiguous_strides(array.shape)))


def empty_strided(shape, strides, dtype) -> np.ndarray:
    """An empty array of ``shape`` with torch's ``strides`` (in elements) as its own."""
    return as_strided(np.empty(0, dtype), tuple(shape), tuple(s * np.dtype(dtype).itemsize for s in strides))


class ArrayHolder:
    """An object exposing an array interface, keeping the array whose memory it points into alive (NumPy's
    stride_tricks shape)."""

    def __init__(self, interface: dict, base: np.ndarray) -> None:
        self.__array_interface__ = interface
        self.base = base


def empty_at(out: np.ndarray, source: np.ndarray, shift: int) -> np.ndarray:
    """The empty array ``out`` placed ``shift`` bytes after ``source``'s start: where torch's empty slice of
    ``source`` starts (NumPy puts an empty slice at its source's start, which a storage offset would observe)."""
    interface = dict(out.__array_interface__)
    interface["data"] = (source.__array_interface__["data"][0] + shift, not out.flags.writeable)
    interface["strides"] = out.strides  # (NumPy's interface omits the strides of an array it calls contiguous)
    return np.asarray(ArrayHolder(interface, source))


def restrided(out: np.ndarray, strides: tuple) -> np.ndarray:
    """``out`` with ``strides`` (bytes) as its own: what torch's view gives a size-1 dimension, which NumPy's
    reshape would give a stride of its own."""
    interface = out.__array_interface__
    interface["strides"] = strides
    return np.asarray(ArrayHolder(interface, out))


def view_strides(shape: tuple, strides: tuple, new_shape: tuple, unit: int = 1) -> tuple | None:
    """torch's strides for a view of a tensor of ``shape`` and ``strides`` as ``new_shape`` (its computeStride,
    in the unit of ``strides``; ``unit``: one element's, what a 0-d tensor's view gets), or None when no view
    exists. The dimensions are walked from the last in chunks that are contiguous among themselves (a size-1
    dimension never ends one); each new dimension of a chunk, size-1 ones included, gets the chunk's base stride
    times the elements after it in the chunk. NumPy's reshape gives a size-1 dimension a stride of its own
    instead: ``x[:, 1:2].view(2, 2, 1)`` of a [4, 6] ``x`` has torch's strides (12, 6, 1), NumPy's (12, 6, 6)."""
    if not shape:
        return (unit,) * len(new_shape)
    new = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    base = strides[-1]
    numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and strides[d - 1] != numel * base):  # the chunk ends at d
            while view_d >= 0 and (view_numel < numel or new_shape[view_d] == 1):
                new[view_d] = view_numel * base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != numel:
                return None
            if d > 0:
                base, numel, view_numel = strides[d - 1], 1, 1
    return tuple(new) if view_d == -1 else None


def empty_view(forward, arrays: tuple, params: dict, out: np.ndarray) -> np.ndarray:
    """A view primitive's empty output ``out``, remade from its input with torch's strides so that NumPy derives
    the view's strides from torch's (``forward(*arrays, **params)`` is how ``out`` was made)."""
    source = with_torch_strides(arrays[0])
    if source is arrays[0]:
        return out
    remade = forward(source, *arrays[1:], **params)
    return remade if type(remade) is np.ndarray and remade.shape == out.shape else out


def torch_order(shape: tuple[int, ...], strides: list[tuple[int, ...]]) -> list[int]:
    """The dimensions of an elementwise result of ``shape`` from the innermost (fastest) in memory to the outermost,
    given each operand's strides broadcast to ``shape`` (0 where broadcast), first operand first: an insertion
    sort in which a pair no operand tells apart neither moves nor stops the dimension being placed."""
    def compare(d0: int, d1: int) -> int:  # 1: d1 belongs inside d0 (d0 is now inside); -1: it does not; 0: unknown
        for operand in strides:
            s0, s1 = operand[d0], operand[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return 1 if s0 > s1 else -1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    order = list(range(len(shape) - 1, -1, -1))
    for i in range(1, len(order)):
        moving = i
        for j in range(i - 1, -1, -1):
            verdict = compare(order[j], order[moving])
            if verdict > 0:
                order[j], order[moving] = order[moving], order[j]
                moving = j
            elif verdict < 0:
                break
    return order
