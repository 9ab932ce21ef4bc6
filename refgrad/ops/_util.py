"""Helpers shared by the op families: operand conversion, type promotion, dim handling."""
from __future__ import annotations

import numbers

import numpy as np

from refgrad import dtypes
from refgrad.tensor import Tensor, _wrap_dim

__all__ = ["as_tensor", "promote", "float_dtype", "wrap_dim", "normalize_dims", "scalar_tensor", "is_scalar",
           "never_flowed", "scalar_array", "ones_vector", "steps_vector"]

# private helpers several families share (imported by name): _restore, _unreduce, _scalar


def is_scalar(value) -> bool:
    return isinstance(value, (numbers.Number, np.bool_)) and not isinstance(value, Tensor)


def scalar_array(value, dtype: np.dtype) -> np.ndarray:
    """``np.asarray(value, dtype)``, silent where a Python number overflows a float16/float32 dtype: inf, as torch's
    wrapped numbers (NumPy warns "overflow encountered in cast")."""
    largest = _NARROW_MAX.get(dtype)
    if largest is None or type(value) is not float or -largest <= value <= largest:  # (NaN: no warning)
        return np.asarray(value, dtype)
    with np.errstate(over="ignore"):
        return np.asarray(value, dtype)


_NARROW_MAX = {np.dtype(t): float(np.finfo(t).max) for t in (np.float16, np.float32)}


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
