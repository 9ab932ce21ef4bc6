"""Tensor factories (torch.tensor, ones, zeros, full, eye, arange, *_like, rand, randn, manual_seed)."""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from numpy.lib.stride_tricks import as_strided

from refgrad import dtypes
from refgrad._strides import empty_strided, torch_order, torch_strides
from refgrad.autograd.engine import non_overlapping_and_dense
from refgrad.tensor import Tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "ones", "zeros", "full", "empty", "eye", "arange", "linspace",
           "ones_like", "zeros_like", "full_like", "empty_like", "rand", "randn", "randperm", "randint", "rand_like",
           "randn_like", "manual_seed", "seed", "scalar_tensor", "Generator"]

_ONLY_FLOAT = "Only Tensors of floating point and complex dtype can require gradients"


def _finish(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(array)
    if requires_grad:
        if not (t.dtype.is_floating_point or t.dtype.is_complex):
            raise RuntimeError(_ONLY_FLOAT)
        t._requires_grad = True
    return t


def _infer_dtype(data) -> dtypes.dtype:
    """torch's inference for Python data: any float → default float, else any int → int64, else bool."""
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, as in torch
        return dtypes.from_numpy_dtype(data.dtype)
    flat = np.asarray(data, dtype=object).ravel() if not isinstance(data, np.ndarray) else None
    if flat is None:
        return dtypes.from_numpy_dtype(data.dtype)
    kinds = {type(v) for v in flat}
    if len(kinds) == 1 and issubclass(next(iter(kinds)), np.generic):  # NumPy scalars of one type: their dtype
        return dtypes.from_numpy_dtype(next(iter(kinds)))
    if any(issubclass(k, (complex, np.complexfloating)) for k in kinds):
        return dtypes.get_default_complex_dtype()
    if any(issubclass(k, (float, np.floating)) for k in kinds):
        return dtypes.get_default_dtype()
    if any(issubclass(k, (bool, np.bool_)) for k in kinds) and not any(
            issubclass(k, (int, np.integer)) and not issubclass(k, (bool, np.bool_)) for k in kinds):
        return dtypes.bool
    if flat.size == 0:
        return dtypes.get_default_dtype()
    for k in kinds:
        if not issubclass(k, (numbers.Number, np.bool_)):
            raise TypeError(f"new(): invalid data type '{k.__name__}'")
    return dtypes.int64


def _sizes(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)):
            raise TypeError(f"ones(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: [{', '.join(map(str, size))}]")
    return tuple(int(s) for s in size)


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (nested lists, numbers, arrays, tensors) (torch.tensor)."""
    if isinstance(data, Tensor):
        data = data._data
    elif isinstance(data, (list, tuple)):
        data = _unwrap(data)  # lists may hold 0-d tensors
    if dtype is not None and dtype.numpy.kind in "iu" and not isinstance(data, np.ndarray):
        return _finish(_python_integers(data, dtype), requires_grad)
    dtype = dtype or _infer_dtype(data)
    with np.errstate(over="ignore"):  # (a number past float32's range: inf, silently, as torch)
        return _finish(np.array(data, dtype=dtype.numpy), requires_grad)


def _python_integers(data, dtype: dtypes.dtype) -> np.ndarray:
    """Python numbers as an integer dtype, with torch.tensor's overflow check (a float truncated; an unsigned dtype
    takes negative integers down to -max, wrapped)."""
    natural = np.asarray(data)
    if natural.dtype.kind in "iuf" and natural.size:
        info = np.iinfo(dtype.numpy)
        if natural.dtype.kind == "f":
            bad = ~np.isfinite(natural) | (natural < info.min) | (natural > info.max)
        elif info.min == 0:
            bad = (natural > info.max) | (natural < -int(info.max))
        else:
            bad = (natural < info.min) | (natural > info.max)
        if bad.any():
            raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow")
        return natural.astype(dtype.numpy)
    return np.array(data, dtype=dtype.numpy)


def _unwrap(data):
    if isinstance(data, Tensor):
        return data.item() if data.ndim == 0 else data.tolist()
    if isinstance(data, (list, tuple)):
        return [_unwrap(v) for v in data]
    return data


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """torch.as_tensor: shares memory with a NumPy array or tensor of the same dtype, else copies."""
    if isinstance(data, Tensor) and (dtype is None or dtype is data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or dtype.numpy == data.dtype):
        return Tensor._make(_shared(data))
    return tensor(data, dtype=dtype)


_NOT_WRITABLE = (
    "The given NumPy array is not writable, and PyTorch does not support non-writable tensors. This means writing to "
    "this tensor will result in undefined behavior. You may want to copy the array to protect its data or make it "
    "writable before converting it to a tensor. This type of warning will be suppressed for the rest of this "
    "program. (Triggered internally at /refgrad/factories.py.)")
_warned: list = []


class _WritableAlias:
    """Exposes a read-only array's memory as writable (``np.asarray`` of it is the alias); ``base``: the array."""

    def __init__(self, array: np.ndarray):
        interface = dict(array.__array_interface__)
        interface["data"] = (interface["data"][0], False)
        self.__array_interface__, self.base = interface, array


def _shared(array: np.ndarray) -> np.ndarray:
    """The array a tensor sharing ``array``'s memory holds. A read-only one warns (once per process, as torch) and,
    as in torch, in-place ops then write into its memory, seen by the array, when NumPy allocated that memory (the
    array, or the one it views, was only flagged read-only). Memory NumPy did not allocate (bytes, a read-only
    memory map) stays read-only: a write there could crash the process, where torch's would too; NumPy refuses it
    with its ValueError."""
    if array.flags.writeable:
        return array
    if not _warned:
        _warned.append(True)
        warnings.warn(_NOT_WRITABLE, UserWarning, stacklevel=3)
    owner = array
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if owner.base is not None and not owner.flags.writeable:
        return array
    return np.asarray(_WritableAlias(array))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (torch.from_numpy); a read-only array warns (see _shared)."""
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._make(_shared(array))


def scalar_tensor(value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(_fill_value(value, (dtype or dtypes.get_default_dtype()).numpy, 1), requires_grad)


def _fill_value(value, dtype: np.dtype, size: int) -> np.ndarray:
    """``value`` as a 0-d array of ``dtype``, with torch's overflow check of a fill (a float16 one unchecked when it
    fills a single element: torch's fast path)."""
    from refgrad.ops._util import checked_scalar
    return checked_scalar(value, dtype, half_checked=size != 1)


def _filled(fill, size, dtype, requires_grad) -> Tensor:
    dtype = dtype or dtypes.get_default_dtype()
    size = _sizes(size)
    return _finish(np.full(size, _fill_value(fill, dtype.numpy, int(np.prod(size))), dtype=dtype.numpy),
                   requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """A tensor of ones (torch.ones)."""
    return _filled(1, size, dtype, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """A tensor of zeros (torch.zeros)."""
    return _filled(0, size, dtype, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    """torch.empty; refgrad fills with zeros so results are reproducible."""
    return _filled(0, size, dtype, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; dtype inferred from the value as torch does (torch.full)."""
    if dtype is None:
        dtype = dtypes.result_type(fill_value)
    return _filled(fill_value, (tuple(size),), dtype, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Identity matrix, n × m (torch.eye)."""
    dtype = dtype or dtypes.get_default_dtype()
    return _finish(np.eye(n, n if m is None else m, dtype=dtype.numpy), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from start to end (exclusive) by step; int64 unless a bound is a float (torch.arange)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        dtype = dtypes.result_type(start, end, step)
    values = np.arange(start, end, step, dtype=np.float64 if dtype.is_floating_point else np.int64)
    return _finish(values.astype(dtype.numpy), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive (torch.linspace)."""
    dtype = dtype or dtypes.get_default_dtype()
    for bound in (start, end):
        if not isinstance(bound, Tensor):
            _fill_value(bound, dtype.numpy, 0)  # torch's overflow check of the bounds
    return _finish(np.linspace(start, end, steps).astype(dtype.numpy), requires_grad)


def _like_array(input: Tensor, dtype: np.dtype, memory_format, name: str) -> np.ndarray:
    """An uninitialised array of ``input``'s shape laid out as torch's ``*_like`` factories lay it out: by default
    (preserve_format) with ``input``'s strides when it is non-overlapping and dense (an empty tensor keeps its
    own), else dense in ``input``'s order of strides; contiguous_format: C-contiguous; channels_last (rank 4):
    dense in the order N, H, W, C (C innermost)."""
    data, shape = input._data, input._data.shape
    if memory_format is not None and memory_format is not _formats().preserve_format:
        if _check_format(memory_format, data.ndim, name):
            return np.empty(shape, dtype)
        return np.empty((shape[0], shape[2], shape[3], shape[1]), dtype).transpose(0, 3, 1, 2)
    if data.flags.c_contiguous and data.size:
        out = np.empty(shape, dtype)  # (a size-1 dimension may have a stride of its own, which torch keeps)
        return out if out.strides == tuple(s // data.itemsize * out.itemsize for s in data.strides) else \
            _dense_like(data, dtype)
    if not data.size:
        return empty_strided(shape, torch_strides(data), dtype)
    if non_overlapping_and_dense(data):
        return _dense_like(data, dtype)
    order = torch_order(shape, [tuple(s // data.itemsize for s in data.strides)])
    return np.empty(tuple(shape[d] for d in reversed(order)), dtype).transpose(np.argsort(order[::-1]))


def _dense_like(data: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """An uninitialised array with the strides (in elements) of the non-overlapping and dense ``data``."""
    return as_strided(np.empty(data.size, dtype), data.shape,
                      tuple(s // data.itemsize * np.dtype(dtype).itemsize for s in data.strides))


def _formats():
    import refgrad
    return refgrad


def _check_format(memory_format, ndim: int, name: str) -> bool:
    """torch's errors for a memory format other than preserve_format; True for contiguous_format, False for
    channels_last."""
    formats = _formats()
    if not isinstance(memory_format, formats.memory_format):
        raise TypeError(f"{name}(): argument 'memory_format' must be torch.memory_format, not "
                        f"{type(memory_format).__name__}")
    if memory_format is formats.contiguous_format:
        return True
    if ndim != 4:
        raise RuntimeError("required rank 4 tensor to use channels_last format")
    return False


def _like(fill, input: Tensor, dtype, requires_grad, memory_format, name: str) -> Tensor:
    dtype = dtype or input.dtype
    out = _like_array(input, dtype.numpy, memory_format, name)
    out[...] = _fill_value(fill, dtype.numpy, input.numel())
    return _finish(out, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return _like(1, input, dtype, requires_grad, memory_format, "ones_like")


def zeros_like(input, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return _like(0, input, dtype, requires_grad, memory_format, "zeros_like")


def empty_like(input, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return _like(0, input, dtype, requires_grad, memory_format, "empty_like")


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None):
    return _like(fill_value, input, dtype, requires_grad, memory_format, "full_like")


class Generator:
    """torch.Generator over NumPy's PCG64: ``manual_seed`` makes refgrad's random factories reproducible."""

    def __init__(self, device="cpu") -> None:
        self._rng = np.random.default_rng(67280421310721)
        self._seed = 67280421310721

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed refgrad's random factories (the values differ from torch's: same API, NumPy's generator)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    new = int(np.random.SeedSequence().entropy % (2 ** 63))
    default_generator.manual_seed(new)
    return new


def _random(sample, size, dtype, requires_grad, generator):
    dtype = dtype or dtypes.get_default_dtype()
    if not dtype.is_floating_point:
        raise RuntimeError(f"\"normal_kernel_cpu\" not implemented for '{dtype.name}'")
    rng = (generator or default_generator)._rng
    return _finish(sample(rng, _sizes(size)).astype(dtype.numpy), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) (torch.rand)."""
    return _random(lambda rng, s: rng.random(s), size, dtype, requires_grad, generator)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples (torch.randn)."""
    return _random(lambda rng, s: rng.standard_normal(s), size, dtype, requires_grad, generator)


def _random_like(sample, input, dtype, requires_grad, memory_format, name) -> Tensor:
    values = _random(sample, tuple(input.shape), dtype or input.dtype, requires_grad, None)
    out = _like_array(input, values._data.dtype, memory_format, name)
    if out.strides == values._data.strides:
        return values
    out[...] = values._data
    values._data = out
    return values


def rand_like(input, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    """rand of ``input``'s shape, laid out as ``input`` (see _like_array)."""
    return _random_like(lambda rng, s: rng.random(s), input, dtype, requires_grad, memory_format, "rand_like")


def randn_like(input, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    """randn of ``input``'s shape, laid out as ``input`` (see _like_array)."""
    return _random_like(lambda rng, s: rng.standard_normal(s), input, dtype, requires_grad, memory_format,
                        "randn_like")


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (torch.randperm; refgrad's stream, not torch's)."""
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    rng = (generator or default_generator)._rng
    return _finish(rng.permutation(int(n)).astype((dtype or dtypes.int64).numpy), requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Integers uniform in [low, high) (torch.randint)."""
    if high is None:
        low, high = 0, low
    rng = (generator or default_generator)._rng
    return _finish(rng.integers(low, high, size=tuple(size)).astype((dtype or dtypes.int64).numpy), requires_grad)
