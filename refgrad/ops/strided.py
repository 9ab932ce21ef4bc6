"""torch's storage-level views: ``as_strided``, ``as_strided_copy``, ``as_strided_scatter`` and
``Tensor.storage_offset``.

A tensor's storage is its base's memory (the tensor itself when it is no view): the span of the base's array,
from its lowest address. Sizes, strides and storage offsets are in elements of that storage, as in torch. The
forward is NumPy's stride tricks from the input's own address shifted by the difference of the offsets, so a
result never depends on more than the input array it is given (a view's replay on another base works alike).

Gradients are torch's AsStridedBackward0: the output's gradient summed into a zero storage at the output's
positions (overlapping output elements add up), read back at the input's positions, each divided by the number
of input elements sharing its position (an expanded input). Positions outside the input are dropped.
"""
from __future__ import annotations

import numpy as np

from refgrad._strides import ArrayHolder
from refgrad._strides import contiguous_strides as _contiguous_strides
from refgrad.ops._primitive import Primitive, _mark_view
from refgrad.ops._registry import register
from refgrad.tensor import Tensor

__all__ = ["as_strided", "as_strided_copy", "as_strided_scatter", "storage_offset"]


_Interface = ArrayHolder


def _span(array: np.ndarray) -> tuple[int, int]:
    """The lowest and one-past-highest element addresses ``array`` touches, in elements from its own start."""
    if not array.size:
        return 0, 0
    low = sum((n - 1) * s for n, s in zip(array.shape, array.strides) if s < 0) // array.itemsize
    high = sum((n - 1) * s for n, s in zip(array.shape, array.strides) if s > 0) // array.itemsize
    return low, high + 1


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


class _Storage(_Interface):
    """The array interface of a tensor laid into a whole cloned storage (as_strided_scatter's output, as torch's
    clone of the input's storage): the tensor's storage is ``base``, not its own span."""


def _storage(tensor: Tensor) -> tuple[int, int]:
    """``tensor``'s storage offset and its storage's size, in elements."""
    data = tensor._data
    root = tensor._base if tensor._base is not None else tensor
    root = root.__dict__.get("_storage_of", root)._data  # (detach() or .data of a view: the view's storage)
    if type(root.base) is _Storage:
        buffer = root.base.base
        start, size = _address(buffer), buffer.size
    else:
        low, high = _span(root)
        start, size = _address(root) + low * root.itemsize, high - low
    offset = (_address(data) - start) // data.itemsize if data.size or size else 0
    return max(offset, 0), size


@register(namespace="torch.Tensor", method=True)
def storage_offset(self) -> int:
    """The element offset of the tensor's first element in its storage (Tensor.storage_offset)."""
    return _storage(self)[0]


def _memory(array: np.ndarray) -> tuple[int, int]:
    """The address range of the allocation ``array``'s memory belongs to (its owner's)."""
    owner = array
    while isinstance(owner.base, (np.ndarray, _Interface)):
        owner = owner.base if isinstance(owner.base, np.ndarray) else owner.base.base
    start = _address(owner) + _span(owner)[0] * owner.itemsize
    return start, start + max(owner.nbytes, _span(owner)[1] * owner.itemsize)


def _strided_forward(a, size, stride, shift, holder=_Interface):
    """``a``'s memory read with ``size`` and ``stride`` (elements) from ``shift`` elements after ``a``'s start."""
    interface = dict(a.__array_interface__)
    first = _address(a) + shift * a.itemsize
    if all(size):  # (never a read outside the allocation: a replay on another array must fit it too)
        start, end = _memory(a)
        if first < start or first + (sum((n - 1) * s for n, s in zip(size, stride)) + 1) * a.itemsize > end:
            raise RuntimeError("as_strided: the geometry reaches outside the input's memory")
    interface["data"] = (first, not a.flags.writeable)
    interface["shape"] = tuple(size)
    interface["strides"] = tuple(s * a.itemsize for s in stride)
    interface.pop("mask", None)
    return np.asarray(holder(interface, a))


def _positions(size, stride, offset) -> np.ndarray:
    """The storage position of each element of the geometry (``size``, ``stride``, ``offset``), in its shape."""
    position = np.full((), offset, dtype=np.int64)
    for dim, (n, s) in enumerate(zip(size, stride)):
        position = position[..., None] + np.arange(n, dtype=np.int64) * s if dim else \
            position + np.arange(n, dtype=np.int64) * s
    return position.reshape(tuple(size))


def _restride_forward(g, source, target, counted):
    """``g`` (at storage positions ``source``) summed into a zero storage, read at ``target``; ``counted``: the
    positions whose multiplicity divides what is read (the input's, as torch)."""
    length = max(int(p.max()) + 1 if p.size else 0 for p in (source, target, counted))
    storage = np.zeros(length, dtype=g.dtype)
    np.add.at(storage, source.reshape(-1), g.reshape(-1))
    count = np.bincount(counted.reshape(-1), minlength=length)
    if count.size and count.max() > 1:
        storage /= np.maximum(count, 1)
    return storage[target]


# AsStridedBackward0's gradient, and that of its own node (the same map between the two geometries, reversed)
_restride = Primitive("AsStridedBackward0", _restride_forward,
                      lambda c, g: _restride(g, source=c.target, target=c.source, counted=c.counted), jvp="linear")


def _geometry(input: Tensor) -> tuple[tuple, tuple, int]:
    return tuple(input.shape), tuple(input.stride()), _storage(input)[0]


def _as_strided_vjp(c, g):
    if not g._data.size:  # an empty output: new zeros, outside any graph (torch)
        return Tensor._make(np.zeros(c.input_size, dtype=g._data.dtype))
    low = min(c.input_offset, c.storage_offset)  # (positions relative to the lowest one either touches)
    return _restride(g, source=_positions(c.size, c.stride, c.storage_offset - low),
                     target=_positions(c.input_size, c.input_stride, c.input_offset - low),
                     counted=_positions(c.input_size, c.input_stride, c.input_offset - low))


def _as_strided_view_forward(a, size, stride, storage_offset, input_size, input_stride, input_offset):
    return _strided_forward(a, size, stride, storage_offset - input_offset)


# (forward AD: the same geometry read from the tangent's storage, as torch's rule; never outside its memory)
_as_strided = Primitive("AsStridedBackward0", _as_strided_view_forward, _as_strided_vjp, view=True)
_as_strided_copy = Primitive("AsStridedBackward0_copy",
                             lambda a, **p: np.array(_as_strided_view_forward(a, **p), order="C"), _as_strided_vjp,
                             jvp="linear")


def _ints(name: str, position: int, values, function: str) -> tuple[int, ...]:
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{function}(): argument '{name}' (position {position}) must be tuple of ints, not "
                        f"{type(values).__name__}")
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{function}(): argument '{name}' (position {position}) must be tuple of ints, but "
                            f"found element of type {type(value).__name__} at pos {index}")
    return tuple(int(v) for v in values)


def _checked(input: Tensor, size, stride, storage_offset, function: str) -> tuple[tuple, tuple, int]:
    """torch's checks of an as_strided geometry against ``input``'s storage, in torch's order."""
    size, stride = _ints("size", 1, size, function), _ints("stride", 2, stride, function)
    if storage_offset is not None and (isinstance(storage_offset, bool) or
                                       not isinstance(storage_offset, (int, np.integer))):
        raise TypeError(f"{function}(): argument 'storage_offset' (position 3) must be int, not "
                        f"{type(storage_offset).__name__}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: "
                           f"{list(stride)}")
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    own_offset, storage_size = _storage(input)
    offset = own_offset if storage_offset is None else int(storage_offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    itemsize = input._data.itemsize
    if all(size):
        required = (offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1) * itemsize
        if required > storage_size * itemsize:
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
                               f"and itemsize {itemsize} requiring a storage size of {required} are out of bounds "
                               f"for storage of size {storage_size * itemsize}")
    return size, stride, offset


def _params(input: Tensor, size, stride, storage_offset, function: str) -> dict:
    size, stride, offset = _checked(input, size, stride, storage_offset, function)
    input_size, input_stride, input_offset = _geometry(input)
    return dict(size=size, stride=stride, storage_offset=offset, input_size=input_size, input_stride=input_stride,
                input_offset=input_offset)


@register(method=True)
def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with ``size``, ``stride`` and ``storage_offset`` in elements (default: the
    input's own offset) (torch.as_strided). Raises torch's RuntimeErrors for negative strides or offsets,
    mismatched lengths and geometry outside the storage."""
    params = _params(input, size, stride, storage_offset, "as_strided")
    out = _as_strided(input, **params)
    if out._base is None:  # (a view even where it shares no element with the input: NumPy cannot tell)
        _mark_view(out, input, _as_strided, params)
    base = out._base
    if base is not None and base is not input:  # replayed on its base alone, as torch regenerates a view's node
        # after an in-place change of the base (AsStridedBackward0 of the base: its gradient reaches all of it)
        input_size, input_stride, input_offset = _geometry(base)
        replay = dict(params, input_size=input_size, input_stride=input_stride, input_offset=input_offset)
        out._view_fn = lambda tensor: _as_strided(tensor, **replay)
    return out


@register()
def as_strided_copy(input, size, stride, storage_offset=None):
    """as_strided's result as a new contiguous tensor (torch.as_strided_copy)."""
    return _as_strided_copy(input, **_params(input, size, stride, storage_offset, "as_strided_copy"))


def _scatter_forward(a, src, size, stride, storage_offset, input_size, input_stride, input_offset, storage_size,
                     overlapping):
    """torch's clone of the input's whole storage (a plain contiguous clone for an input with internal overlap),
    ``src`` written at the geometry, the output the input's geometry in it."""
    if overlapping:
        storage = np.array(a, order="C").reshape(-1)
    else:
        storage = _strided_forward(a, (storage_size,), (1,), -input_offset).copy()
    _strided_forward(storage, size, stride, storage_offset)[...] = src
    return _strided_forward(storage, input_size, input_stride, input_offset, holder=_Storage)


def _scatter_vjp(c, g):
    """self's gradient is the output's outside the written region, src's the output's at it (torch 2.13's
    formulas differ: reports/known_divergences.toml)."""
    every = _positions(c.input_size, c.input_stride, c.input_offset)
    region = _positions(c.size, c.stride, c.storage_offset)
    return _zero_inside(g, region=region, every=every), _restride(g, source=every, target=region, counted=every)


def _zero_inside_forward(g, region, every):
    out = g.copy()
    out[np.isin(every, region)] = 0
    return out


def _place_forward(src, region, every):
    """``src`` written at the storage positions ``region`` (a later element over an earlier one, as copy_), read
    at the input's positions ``every``; zero where ``every`` is outside ``region``."""
    storage = np.zeros(max(int(every.max()) if every.size else 0, int(region.max()) if region.size else 0) + 1,
                       dtype=src.dtype)
    storage[region] = src
    return np.where(np.isin(every, region), storage[every], np.zeros((), src.dtype))


_zero_inside = Primitive("AsStridedBackward0", _zero_inside_forward,
                         lambda c, g: _zero_inside(g, region=c.region, every=c.every), jvp="linear")
_place = Primitive("AsStridedScatterBackward0", _place_forward,
                   lambda c, g: _restride(g, source=c.every, target=c.region, counted=c.every), jvp="linear")


def _scatter_jvp(c, self_tangent, src_tangent):
    """The output's tangent: self's outside the written region, src's (placed as the forward places src) in it,
    by positions (a tangent has its own storage)."""
    every = _positions(c.input_size, c.input_stride, c.input_offset)
    region = _positions(c.size, c.stride, c.storage_offset)
    terms = [_zero_inside(self_tangent, region=region, every=every)] if self_tangent is not None else []
    if src_tangent is not None:
        terms.append(_place(src_tangent, region=region, every=every))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


_as_strided_scatter = Primitive("AsStridedScatterBackward0", _scatter_forward, _scatter_vjp, inputs=("self", "src"),
                                jvp=_scatter_jvp)


_NOT_CONTIGUOUS = ('!self.requires_grad() || self.is_contiguous() INTERNAL ASSERT FAILED at "/__w/pytorch/pytorch/'
                   'aten/src/ATen/native/TensorShape.cpp":4754, please report a bug to PyTorch. as_strided_scatter is '
                   'currently only supported for contiguous inputs')


@register(method=True)
def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """``input`` (its storage cloned) with ``src`` written at the as_strided geometry (torch.as_strided_scatter)."""
    if any(n > 1 and s == 0 for n, s in zip(input.shape, input.stride())):  # torch: a contiguous clone
        params = _params(input.contiguous(), size, stride, storage_offset, "as_strided_scatter")
        params.update(input_stride=tuple(_contiguous_strides(input.shape)), input_offset=0,
                      storage_size=input.numel(), overlapping=True)
    else:
        params = _params(input, size, stride, storage_offset, "as_strided_scatter")
        params.update(storage_size=_storage(input)[1], overlapping=False)
    if tuple(src.shape) != params["size"]:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(params['size'])}")
    if input.requires_grad and not input.is_contiguous():
        raise RuntimeError(_NOT_CONTIGUOUS)
    return _as_strided_scatter(input, src, **params)
