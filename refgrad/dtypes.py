"""torch's dtypes over NumPy, and torch's type-promotion rules.

A dtype prints as torch prints it (``torch.float32``) so that tutorial output matches character for character.
"""
from __future__ import annotations

import builtins

import numpy as np

__all__ = [
    "dtype", "float16", "float32", "float64", "half", "float", "double",
    "uint8", "int8", "int16", "int32", "int64", "short", "int", "long", "bool",
    "complex64", "complex128", "cfloat", "cdouble", "get_default_complex_dtype",
    "from_numpy_dtype", "promote_types", "result_type", "get_default_dtype", "set_default_dtype",
]

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3  # promotion categories, ordered


class dtype:
    """A tensor element type: torch's name, the NumPy type that stores it, and its promotion category."""

    __slots__ = ("name", "numpy", "category", "itemsize", "is_signed")

    def __init__(self, name: str, numpy_type, category: int, is_signed: bool = True):
        self.name = name
        self.numpy = np.dtype(numpy_type)
        self.category = category
        self.itemsize = self.numpy.itemsize
        self.is_signed = is_signed

    @property
    def is_floating_point(self) -> bool:
        return self.category == _FLOAT

    @property
    def is_complex(self) -> bool:
        return self.category == _COMPLEX

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return self.name  # dtypes are module-level singletons

    def to_real(self) -> "dtype":
        """The dtype of a complex dtype's real and imaginary parts (itself for a real dtype)."""
        return _REAL_OF.get(self, self)

    def to_complex(self) -> "dtype":
        """The complex dtype whose parts have this floating dtype (torch.float16's complex32 has no NumPy type)."""
        return _COMPLEX_OF.get(self, self)


float16 = half = dtype("float16", np.float16, _FLOAT)
float32 = float = dtype("float32", np.float32, _FLOAT)
float64 = double = dtype("float64", np.float64, _FLOAT)
uint8 = dtype("uint8", np.uint8, _INT, is_signed=False)
int8 = dtype("int8", np.int8, _INT)
int16 = short = dtype("int16", np.int16, _INT)
int32 = int = dtype("int32", np.int32, _INT)
int64 = long = dtype("int64", np.int64, _INT)
bool = dtype("bool", np.bool_, _BOOL, is_signed=False)  # noqa: A001 - torch.bool
complex64 = cfloat = dtype("complex64", np.complex64, _COMPLEX)
complex128 = cdouble = dtype("complex128", np.complex128, _COMPLEX)
_REAL_OF = {complex64: float32, complex128: float64}
_COMPLEX_OF = {float16: complex64, float32: complex64, float64: complex128}

_ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool, complex64, complex128)
_BY_NUMPY = {d.numpy: d for d in _ALL}
_default_float = float32


def from_numpy_dtype(numpy_dtype) -> dtype:
    """The refgrad dtype that stores as ``numpy_dtype``; TypeError for types torch has no CPU dtype for."""
    try:
        return _BY_NUMPY[np.dtype(numpy_dtype)]
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type {np.dtype(numpy_dtype)}. The only supported types are: "
                        "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, and "
                        "bool.") from None


def get_default_dtype() -> dtype:
    """torch.get_default_dtype: the dtype of float literals and float factories (float32 unless changed)."""
    return _default_float


def get_default_complex_dtype() -> dtype:
    """The dtype of complex literals: complex128 when the default float dtype is float64, else complex64."""
    return complex128 if _default_float is float64 else complex64


def set_default_dtype(d: dtype) -> None:
    """torch.set_default_dtype; only floating dtypes are accepted, as in torch."""
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = d


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: the smallest dtype both ``a`` and ``b`` convert to without losing category."""
    if a is b:
        return a
    if a.category != b.category:
        higher, lower = (a, b) if a.category > b.category else (b, a)
        if higher.category == _COMPLEX and lower.category == _FLOAT:  # the parts widen to the float's size
            return higher if higher.to_real().itemsize >= lower.itemsize else lower.to_complex()
        return higher
    if a.category == _COMPLEX:
        return a if a.itemsize >= b.itemsize else b
    if a.category == _FLOAT:
        if {a, b} == {float16, float32} or a.itemsize != b.itemsize:
            return a if a.itemsize > b.itemsize else b
        return a
    if a.is_signed == b.is_signed:
        return a if a.itemsize >= b.itemsize else b
    signed, unsigned = (a, b) if a.is_signed else (b, a)
    if signed.itemsize > unsigned.itemsize:
        return signed
    return {1: int16, 2: int32, 4: int64}.get(unsigned.itemsize, int64)


def _scalar_dtype(value) -> dtype:
    if isinstance(value, (builtins.bool, np.bool_)):
        return bool
    if isinstance(value, (builtins.int, np.integer)):
        return int64
    if isinstance(value, (builtins.complex, np.complexfloating)):
        return get_default_complex_dtype()
    return _default_float


def result_type(*operands) -> dtype:
    """torch.result_type over tensors and Python scalars.

    Dimensioned tensors decide first; a 0-d tensor or a Python scalar only matters when its category (bool < int
    < float < complex) is higher than everything above it, and then a Python scalar contributes the category's
    default dtype (int64, the default float or complex dtype), a 0-d tensor its own dtype; a complex operand
    over a floating result keeps the float's precision (float64 with 1j is complex128).
    """
    dimmed = zero_dim = scalar = None
    for operand in operands:
        d = getattr(operand, "dtype", None)
        if isinstance(d, dtype):
            if operand.dim() > 0:
                dimmed = d if dimmed is None else promote_types(dimmed, d)
            else:
                zero_dim = d if zero_dim is None else promote_types(zero_dim, d)
        else:
            d = _scalar_dtype(operand)
            scalar = d if scalar is None or d.category > scalar.category else scalar
    result = dimmed
    for level in (zero_dim, scalar):
        if level is None:
            continue
        if result is None:
            result = level
        elif level.category == _COMPLEX and result.category == _FLOAT:  # torch keeps the float's precision
            result = result.to_complex()
        elif level.category > result.category:
            result = level if level is zero_dim else (_default_float if level.category == _FLOAT else level)
    return result
