"""Helpers shared by the op families: operand conversion, type promotion, dim handling."""
from __future__ import annotations

import math
import numbers

import numpy as np

from refgrad import dtypes
from refgrad.tensor import Tensor, _wrap_dim

__all__ = ["as_tensor", "promote", "float_dtype", "wrap_dim", "normalize_dims", "scalar_tensor", "is_scalar",
           "never_flowed", "scalar_array", "checked_scalar", "ones_vector", "steps_vector"]

# private helpers several families share (imported by name): _restore, _unreduce, _scalar


def is_scalar(value) -> bool:
    return isinstance(value, (numbers.Number, np.bool_)) and not isinstance(value, Tensor)


def scalar_array(value, dtype: np.dtype) -> np.ndarray:
    """``np.asarray(value, dtype)`` as torch converts a wrapped number in arithmetic, unchecked: inf past a
    float16/float32 dtype's range, silently (NumPy warns "overflow encountered in cast"), and an integer past an
    integer dtype's range wrapped (``int8 + 300`` adds 44; NumPy raises OverflowError)."""
    largest = _NARROW_MAX.get(dtype)
    if largest is None or (type(value) is not float and type(value) is not int) or -largest <= value <= largest:
        try:
            return np.asarray(value, dtype)
        except OverflowError:
            if type(value) is not int or np.dtype(dtype).kind not in "iu":
                raise
            return np.asarray(value % (1 << 64)).astype(np.uint64).astype(dtype)  # two's complement, as C
    with np.errstate(over="ignore"):  # (past the range, or NaN)
        return np.asarray(value, dtype)


_NARROW_MAX = {np.dtype(t): float(np.finfo(t).max) for t in (np.float16, np.float32)}


def checked_scalar(value, dtype: np.dtype, *, half_checked: bool = True) -> np.ndarray:
    """A Python number (or NumPy scalar) as a 0-d array of ``dtype`` where torch converts it with its overflow check
    (c10's checked_convert: fill_, full, masked_fill, index_fill, scatter's value, clamp's bounds, where's scalar,
    assignment of a number): RuntimeError when it does not fit, else :func:`scalar_array`'s value. Fitting: any
    value for bool; inf and NaN, or a finite value within [-max, max], for a floating dtype (each part of a complex
    one); a value within [min, max] for an integer dtype (a float truncated; an unsigned dtype also takes negative
    integers down to -max, wrapped). ``half_checked=False``: the paths where torch converts to float16 unchecked (an
    assigned number, where's scalar, the fill of a 1-element tensor) give inf."""
    dtype = np.dtype(dtype)
    if isinstance(value, np.generic):
        value = value.item()
    if type(value) is int and not -(1 << 63) <= value < 1 << 64:  # torch's argument parser: int64 or uint64
        raise OverflowError("int too big to convert" if value > 0 else "can't convert negative int to unsigned")
    if _overflows(value, dtype, half_checked):
        raise RuntimeError(f"value cannot be converted to type {_C_NAMES[dtype.name]} without overflow")
    if dtype.kind in "iu" and type(value) is float:
        return np.asarray(int(value)).astype(dtype)  # (truncated, then an unsigned dtype's wrap)
    if dtype.kind == "u" and type(value) is int and value < 0:
        return np.asarray(value).astype(dtype)
    return scalar_array(value, dtype)


def _overflows(value, dtype: np.dtype, half_checked: bool) -> bool:
    kind = dtype.kind
    if kind == "b":
        return False
    if kind in "fc":
        if dtype.itemsize == 2 and not half_checked:
            return False
        largest = float(np.finfo(dtype).max)
        parts = (value.real, value.imag) if type(value) is complex else (value,)
        return any(math.isfinite(part) and abs(part) > largest for part in parts)
    info = np.iinfo(dtype)
    if type(value) is float:
        return not math.isfinite(value) or value < info.min or value > info.max
    if type(value) is complex:
        return True
    value = int(value)
    if kind == "u" and value < 0:
        return -value > info.max
    return value < info.min or value > info.max


_C_NAMES = {"bool": "bool", "float16": "c10::Half", "float32": "float", "float64": "double",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>", "int8": "int8_t",
            "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t", "int32": "int", "uint32": "uint32_t",
            "int64": "int64_t", "uint64": "uint64_t"}


_CONSTANTS: dict = {}  # ("ones" | "steps", length, dtype | step) -> a read-only vector, kept for reuse


def ones_vector(length: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``length`` ones, made once: BLAS sums rows or columns as products with it."""
    key = ("ones", length, dtype)
    vector = _CONSTANTS.get(key)
    return vector if vector is not None else _keep(key, np.ones(length, dtype))


def steps_vector(length: int, step: int = 1) -> np.ndarray:
    """A read-only vector 0, step, 2 step... of ``length`` int64 entries, made once (row indices, row starts)."""
    key = ("steps", length, step)
    vector = _CONSTANTS.get(key)
    return vector if vector is not None else _keep(key, np.arange(length, dtype=np.int64) * step)


def _keep(key: tuple, vector: np.ndarray) -> np.ndarray:
    if len(_CONSTANTS) > 256:
        _CONSTANTS.clear()
    vector.setflags(write=False)
    _CONSTANTS[key] = vector
    return vector


def scalar_tensor(value, dtype: dtypes.dtype) -> Tensor:
    """A Python number as a 0-d tensor of ``dtype`` (torch's "wrapped number")."""
    return Tensor._make(scalar_array(value, dtype.numpy))


def as_tensor(value, dtype: dtypes.dtype | None = None) -> Tensor:
    """Tensors pass through; numbers become 0-d tensors (of ``dtype``, or their natural dtype)."""
    if isinstance(value, Tensor):
        return value
    if is_scalar(value):
        return scalar_tensor(value, dtype or dtypes.result_type(value))
    raise TypeError(f"expected Tensor as element 0 in argument 0, but got {type(value).__name__}")


def promote(*operands) -> tuple[dtypes.dtype, tuple[Tensor, ...]]:
    """torch's result type of the operands, and the operands as tensors (numbers wrapped in that dtype)."""
    if len(operands) == 2:  # the common cases need no promotion lattice
        first, second = operands
        if type(first) is Tensor:
            if type(second) is Tensor:
                if first._data.dtype == second._data.dtype:
                    return first.dtype, operands
            elif (type(second) is float or type(second) is int) and first._data.dtype.kind == "f":
                dtype = first.dtype  # a Python number never changes a floating tensor's dtype
                return dtype, (first, scalar_tensor(second, dtype))
        elif type(second) is Tensor and (type(first) is float or type(first) is int) and \
                second._data.dtype.kind == "f":
            dtype = second.dtype
            return dtype, (scalar_tensor(first, dtype), second)
    for operand in operands:
        if not isinstance(operand, Tensor) and not is_scalar(operand):
            raise TypeError(f"unsupported operand type: {type(operand).__name__}")
    dtype = dtypes.result_type(*operands)
    return dtype, tuple(o if isinstance(o, Tensor) else scalar_tensor(o, dtype) for o in operands)


def float_dtype(dtype: dtypes.dtype) -> dtypes.dtype:
    """The dtype a floating op computes in: integers and bool go to the default float dtype."""
    return dtype if dtype.is_floating_point or dtype.is_complex else dtypes.get_default_dtype()


def wrap_dim(dim: int, ndim: int) -> int:
    return _wrap_dim(dim, ndim)


def normalize_dims(dim, ndim: int) -> tuple[int, ...]:
    """dim=None (all), an int, or a tuple/list of ints → sorted tuple of non-negative dims; repeats raise."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(dims) == 0:
        return tuple(range(ndim))
    wrapped = tuple(_wrap_dim(int(d), ndim) for d in dims)
    if len(set(wrapped)) != len(wrapped):
        repeated = next(d for d in wrapped if wrapped.count(d) > 1)
        raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
    return tuple(sorted(wrapped)) if ndim > 0 else ()


def never_flowed(g: Tensor) -> bool:
    """A cotangent the engine materialized (zeros) for an output no gradient reached: torch passes 'undefined'
    there and its formulas skip the term. An explicit zero cotangent is defined, and torch uses it (0 * inf = NaN)."""
    return bool(getattr(g, "_materialized", False))


def _restore(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Bring a reduced cotangent back to ``shape``: re-insert reduced dims, then broadcast."""
    if not keepdim:
        for d in dims:
            g = g.unsqueeze(d)
    return g.expand(shape)


def _unreduce(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Re-insert the reduced dims of ``g`` (without broadcasting): the keepdim shape."""
    if not keepdim and len(shape):
        for d in dims:
            g = g.unsqueeze(d)
    return g


def _scalar(dtype) -> str:
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]
