"""Hypothesis building blocks shared by all specs: value domains, shapes, dtypes, tensor values, Python scalars.

Everything here draws plain data (NumPy arrays, tuples, Python numbers); nothing touches torch or the engine.
Special points (±0, ±1, bounds, NaN/±inf, ties) are mixed in deliberately, because that is where engines differ.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "Domain", "REAL", "POSITIVE", "NONNEGATIVE", "NONZERO", "UNIT", "PROBABILITY", "SMALL",
    "FLOAT", "INT", "BOOL", "COMPLEX", "DEFAULT_TOLERANCE", "numpy_dtype", "is_floating",
    "shapes", "same_shapes", "broadcastable_shapes", "mismatched_shapes", "matmul_shapes", "bad_matmul_shapes",
    "tensor_values", "python_scalars", "cotangents",
]

FLOAT: tuple[str, ...] = ("float64", "float32")
INT: tuple[str, ...] = ("int64",)
BOOL: tuple[str, ...] = ("bool",)
COMPLEX: tuple[str, ...] = ("complex128", "complex64")

#: torch.testing.assert_close defaults, (rtol, atol) per dtype name; integers and bool compare exactly.
DEFAULT_TOLERANCE: dict[str, tuple[float, float]] = {
    "float64": (1e-7, 1e-7), "float32": (1.3e-6, 1e-5), "float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5),
    "complex128": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5),  # assert_close: the tolerance of the parts
}

_NUMPY = {"float64": np.float64, "float32": np.float32, "float16": np.float16, "int64": np.int64,
          "int32": np.int32, "int16": np.int16, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_,
          "complex64": np.complex64, "complex128": np.complex128}
_NONFINITE = (math.nan, math.inf, -math.inf)
_COMMON_SPECIALS = (0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0)


def numpy_dtype(name: str) -> np.dtype:
    """The NumPy dtype that holds values of the torch dtype called ``name`` (``"float32"``...)."""
    return np.dtype(_NUMPY[name])


def is_floating(name: str) -> bool:
    """True for floating and complex dtype names (the only ones that may require grad)."""
    return name.startswith(("float", "bfloat", "complex"))


@dataclass(frozen=True)
class Domain:
    """Where an argument's values live.

    Floats are drawn from the closed interval [low, high]; ``specials`` (bounds, kinks, ±0...) are mixed in
    even when they lie on the boundary, e.g. 0 for ``log``; common specials (±0, ±1, ±0.5, ±2) inside the interval
    are added automatically. ``nonfinite`` lists the NaN/inf values an array may contain (in about one array in
    eight). ``nonzero`` removes zeros (divisors). Integer dtypes use the integers of [low, high] ∩ [-8, 8].
    """

    low: float = -100.0
    high: float = 100.0
    specials: tuple[float, ...] = ()
    nonfinite: tuple[float, ...] = _NONFINITE
    nonzero: bool = False

    def special_points(self) -> tuple[float, ...]:
        """The finite special points of this domain, in shrink order (simplest first)."""
        inner = tuple(v for v in _COMMON_SPECIALS if self.low <= v <= self.high)
        points = []
        for value in (*self.specials, *inner):
            if self.nonzero and value == 0:
                continue
            if not any(value == p and math.copysign(1, value) == math.copysign(1, p) for p in points):
                points.append(value)
        return tuple(points)


REAL = Domain()
SMALL = Domain(-10.0, 10.0)
POSITIVE = Domain(1e-3, 100.0, specials=(0.0, 1e-3), nonfinite=(math.nan, math.inf))
NONNEGATIVE = Domain(0.0, 100.0, nonfinite=(math.nan, math.inf))
NONZERO = Domain(-100.0, 100.0, nonzero=True)
UNIT = Domain(-0.999, 0.999, specials=(-1.0, 1.0))  # open (-1, 1) plus its bounds as special points
PROBABILITY = Domain(0.0, 1.0, nonfinite=())


@functools.lru_cache(maxsize=512)
def _float_elements(domain: Domain, width: int, with_nonfinite: bool) -> st.SearchStrategy[float]:
    points = list(domain.special_points()) + (list(domain.nonfinite) if with_nonfinite else [])
    low, high = _representable(domain.low, width, up=True), _representable(domain.high, width, up=False)
    ranged = st.floats(low, high, allow_nan=False, allow_infinity=False, width=width)
    if domain.nonzero:
        ranged = ranged.filter(bool)
    return st.one_of(st.sampled_from(points), ranged) if points else ranged


def _representable(value: float, width: int, up: bool) -> float:
    """The float of ``width`` bits nearest to ``value`` inside the interval (rounded up for a lower bound)."""
    kind = {16: np.float16, 32: np.float32, 64: np.float64}[width]
    rounded = kind(value)
    if up and float(rounded) < value:
        rounded = np.nextafter(rounded, kind(np.inf))
    if not up and float(rounded) > value:
        rounded = np.nextafter(rounded, kind(-np.inf))
    return float(rounded)


@functools.lru_cache(maxsize=512)
def _int_elements(domain: Domain, dtype: str) -> st.SearchStrategy[int]:
    info = np.iinfo(numpy_dtype(dtype))
    low = max(math.ceil(max(domain.low, -8)), int(info.min))
    high = min(math.floor(min(domain.high, 8)), int(info.max))
    if 0 in [v for v in domain.specials] and low > 0:
        low = 0
    low, high = (low, high) if low <= high else (0, 1)
    integers = st.integers(low, high)
    return integers.filter(bool) if domain.nonzero else integers


@functools.lru_cache(maxsize=4096)
def tensor_values(domain: Domain, dtype: str, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """An array of ``shape`` and ``dtype`` with values from ``domain`` (special points and repeats included).
    Cached: building strategies is a large part of an example's cost."""
    if dtype == "bool":
        return hnp.arrays(np.bool_, shape, elements=st.booleans())
    if dtype.startswith("complex"):  # real and imaginary parts drawn like the float parts' values
        part = "float32" if dtype == "complex64" else "float64"
        parts = st.tuples(tensor_values(domain, part, shape), tensor_values(domain, part, shape))
        return parts.map(lambda pair: _combine(*pair, numpy_dtype(dtype)))
    if not is_floating(dtype):
        return hnp.arrays(numpy_dtype(dtype), shape, elements=_int_elements(domain, dtype))
    width = 32 if dtype == "float32" else 64 if dtype == "float64" else 16
    finite = hnp.arrays(numpy_dtype(dtype), shape, elements=_float_elements(domain, width, False))
    if not domain.nonfinite:
        return finite
    special = hnp.arrays(numpy_dtype(dtype), shape, elements=_float_elements(domain, width, True))
    # most arrays are finite; about one in eight may contain NaN/inf (shrinks toward finite)
    return st.one_of(*([finite] * 7), special)


def _combine(real: np.ndarray, imag: np.ndarray, dtype: np.dtype) -> np.ndarray:
    out = np.empty(real.shape, dtype)
    out.real, out.imag = real, imag  # (real + 1j * imag would turn inf * 1j into nan)
    return out


@functools.lru_cache(maxsize=512)
def python_scalars(kinds: tuple[str, ...] = ("float", "int"), domain: Domain = SMALL) -> st.SearchStrategy:
    """Python ``float``/``int``/``bool`` operands (kinds ⊆ {"float", "int", "bool"}) with special points."""
    options: list[st.SearchStrategy] = []
    if "int" in kinds:
        options.append(_int_elements(domain, "int64"))
    if "float" in kinds:
        options.append(_float_elements(domain, 64, with_nonfinite=False))
        if domain.nonfinite:
            options.append(st.sampled_from(domain.nonfinite))
    if "bool" in kinds:
        options.append(st.booleans())
    return st.one_of(options)


@functools.lru_cache(maxsize=256)
def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4) -> st.SearchStrategy:
    """One shape; 0-d and size-0 included by default."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@functools.lru_cache(maxsize=256)
def same_shapes(n: int, **kwargs) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``n`` copies of one drawn shape (keyword arguments as for :func:`shapes`)."""
    return shapes(**kwargs).map(lambda shape: (shape,) * n)


@functools.lru_cache(maxsize=256)
def broadcastable_shapes(n: int, max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy:
    """``n`` mutually broadcastable shapes (ranks and 1-sides differ; 0-d and size-0 included)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims, min_side=0,
                                             max_side=max_side).map(lambda bs: tuple(bs.input_shapes))


@functools.lru_cache(maxsize=256)
def mismatched_shapes(n: int) -> st.SearchStrategy:
    """``n`` shapes of which the first two do not broadcast (for error-parity examples)."""
    def broken(pair):
        first, second = pair
        return (first + (2,), second + (3,)) + tuple(second for _ in range(n - 2))
    return st.tuples(shapes(max_dims=2, min_side=1), shapes(max_dims=2, min_side=1)).map(broken)


@functools.lru_cache(maxsize=256)
def matmul_shapes() -> st.SearchStrategy:
    """Valid ``matmul`` shape pairs: 1-D·1-D, 2-D·1-D, 1-D·2-D, 2-D·2-D and batched (with broadcasting)."""
    side = st.integers(0, 4)

    @st.composite
    def pair(draw):
        n, k, m = draw(side, label="n"), draw(side, label="k"), draw(side, label="m")
        kind = draw(st.sampled_from(["mm", "mv", "vm", "dot", "batched"]), label="matmul kind")
        if kind == "dot":
            return ((k,), (k,))
        if kind == "mv":
            return ((n, k), (k,))
        if kind == "vm":
            return ((k,), (k, m))
        if kind == "mm":
            return ((n, k), (k, m))
        batch = draw(broadcastable_shapes(2, max_dims=2, max_side=3), label="batch dims")
        return (batch[0] + (n, k), batch[1] + (k, m))

    return pair()


@functools.lru_cache(maxsize=256)
def bad_matmul_shapes() -> st.SearchStrategy:
    """``matmul`` shape pairs whose inner dimensions disagree, or 0-d operands."""
    return st.sampled_from([((2, 3), (2, 3)), ((3,), (4,)), ((), (3,)), ((2, 3), ()), ((2, 2, 3), (2, 2))])


def cotangents(dtype: str, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """A random cotangent (never all ones by construction) for an output of ``dtype`` and ``shape``."""
    return tensor_values(Domain(-10.0, 10.0, nonfinite=()), dtype, shape)
