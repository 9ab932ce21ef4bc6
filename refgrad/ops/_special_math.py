"""NumPy kernels for the special functions NumPy lacks (erf, erfinv, lgamma, digamma, polygamma, Bessel I0/I1).

Pure NumPy plus the standard library's ``math``: no SciPy. Each kernel takes an array and returns one of the
same dtype; float32 inputs are evaluated in float64 and rounded once, so results are correctly rounded to within
an ulp of the float32 value. Values at poles and infinities follow torch 2.13 (see the docstrings).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "i0", "i1"]

_erf_vec = np.vectorize(math.erf, otypes=[np.float64])
_erfc_vec = np.vectorize(math.erfc, otypes=[np.float64])


def _in64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _out(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype(like.dtype, copy=False)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function."""
    return _out(_erf_vec(_in64(x)), x) if x.size else x.copy()


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function, accurate in the tail (math.erfc)."""
    return _out(_erfc_vec(_in64(x)), x) if x.size else x.copy()


def erfinv(x: np.ndarray) -> np.ndarray:
    """Inverse error function: ±inf at ±1, NaN outside [-1, 1].

    A rational starting guess refined by Newton steps; near ±1 the steps solve erfc(y) = 1 - |x| instead, which
    keeps the tail accurate.
    """
    values = _in64(x)
    magnitude = np.abs(values)
    with np.errstate(all="ignore"):
        w = -np.log((1.0 - magnitude) * (1.0 + magnitude))
        # Giles' single-precision approximation as the starting point
        small = w < 5.0
        ws = w - 2.5
        p_small = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p_small = c + p_small * ws
        wl = np.sqrt(w) - 3.0
        p_large = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            p_large = c + p_large * wl
        y = np.where(small, p_small, p_large) * magnitude
        tail = magnitude > 0.5
        target_tail = 1.0 - magnitude  # exact for |x| >= 0.5
        finite = np.isfinite(y) & (magnitude < 1.0)
        y = np.where(finite, y, 0.0)
        log_target = np.log(target_tail)
        for _ in range(6):
            slope = 2.0 / math.sqrt(math.pi) * np.exp(-y * y)
            if y.size:  # Newton on log erfc(y) = log(1 - |x|) in the tail, on erf(y) = |x| elsewhere
                tail_value = _erfc_vec(y)
                step = np.where(tail, (log_target - np.log(tail_value)) * tail_value / slope,
                                (_erf_vec(y) - magnitude) / slope)
                y = y - np.where(finite, step, 0.0)
        result = np.copysign(y, values)
        result = np.where(magnitude == 1.0, np.copysign(np.inf, values), result)
        result = np.where((magnitude > 1.0) | np.isnan(values), np.nan, result)
    return _out(result, x)


def lgamma(x: np.ndarray) -> np.ndarray:
    """log|Γ(x)|: +inf at 0, the negative integers and ±inf."""
    def one(value: float) -> float:
        if math.isinf(value):
            return math.inf
        if value <= 0 and value == math.floor(value):
            return math.inf
        return math.lgamma(value)

    if not x.size:
        return x.copy()
    with np.errstate(all="ignore"):
        return _out(np.vectorize(one, otypes=[np.float64])(_in64(x)), x)


def digamma(x: np.ndarray) -> np.ndarray:
    """ψ(x) = Γ'(x)/Γ(x): ∓inf at ±0, NaN at the negative integers and -inf, +inf at +inf.

    Reflection ψ(x) = ψ(1-x) - π/tan(πx) for x < 0, recurrence up to x >= 10, then the asymptotic series.
    """
    values = _in64(x)
    with np.errstate(all="ignore"):
        negative = values < 0
        z = np.where(negative, 1.0 - values, values)
        shift = np.zeros_like(z)
        while True:
            low = z < 10.0
            if not np.any(low & np.isfinite(z)):
                break
            shift = np.where(low, shift + 1.0 / z, shift)
            z = np.where(low, z + 1.0, z)
        inv2 = 1.0 / (z * z)
        series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))
        result = np.log(z) - 0.5 / z - series - shift
        # as torch: pi / tan(pi * r) with r the fractional part of x (more accurate than tan(pi * x))
        reflection = math.pi / np.tan(math.pi * np.fmod(values, 1.0))
        result = np.where(negative, result - reflection, result)
        result = np.where(values == 0, np.copysign(np.inf, -values), result)
        result = np.where(negative & (values == np.floor(values)), np.nan, result)
        result = np.where(values == np.inf, np.inf, result)
    return _out(result, x)


def _trigamma(values: np.ndarray) -> np.ndarray:
    """ψ'(x) with the reflection π²/sin²(πx) for x < 1/2 (finite but huge at the negative integers, as torch)."""
    with np.errstate(all="ignore"):
        reflect = values < 0.5
        sign = np.where(reflect, -1.0, 1.0)
        result = np.where(reflect, -(math.pi ** 2) / np.sin(math.pi * values) ** 2, 0.0)
        z = np.where(reflect, 1.0 - values, values)
        for _ in range(6):
            result = result + 1.0 / (z * z)
            z = z + 1.0
        inv2 = 1.0 / (z * z)
        result = result + (1.0 + 1.0 / (2.0 * z) + inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42)))) / z
        return sign * result


# Bernoulli numbers B_2k / (2k)! for the Euler–Maclaurin tail of the Hurwitz zeta function
_EM_COEFFICIENTS = (1 / 12, -1 / 720, 1 / 30240, -1 / 1209600, 1 / 47900160, -691 / 1307674368000,
                    1 / 74724249600, -3617 / 10670622842880000, 43867 / 5109094217170944000,
                    -174611 / 802857662698291200000, 77683 / 14101100039391805440000,
                    -236364091 / 1693824136731743669452800000)


def _hurwitz_zeta(s: float, q: np.ndarray) -> np.ndarray:
    """ζ(s, q) for an integer s >= 2: +inf at q in {0, -1, -2, ...} and -inf; direct sum then Euler–Maclaurin."""
    with np.errstate(all="ignore"):
        total = np.zeros_like(q)
        a = q.copy()
        pole = (q <= 0) & (q == np.floor(q))
        finite = np.isfinite(q) & ~pole  # a pole never reaches 9 when q + 1 rounds to q (q = -1e300), as torch's inf
        count = 0
        while count < 9 or np.any(finite & (a <= 9.0)):  # direct sum until the tail expansion is accurate
            active = (count < 9) | (a <= 9.0)
            total = total + np.where(active, a ** -s, 0.0)
            a = np.where(active, a + 1.0, a)
            count += 1
        total = total + a ** (1.0 - s) / (s - 1.0) + 0.5 * a ** -s
        # Euler–Maclaurin: sum_k B_2k/(2k)! * s(s+1)...(s+2k-2) * a^(-s-2k+1)
        rising = s
        power = a ** (-s - 1.0)
        for k, coefficient in enumerate(_EM_COEFFICIENTS):
            total = total + coefficient * rising * power
            rising = rising * (s + 2 * k + 1) * (s + 2 * k + 2)
            power = power / (a * a)
        return np.where(pole, np.inf, total)


def polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """ψ⁽ⁿ⁾(x): digamma for n=0, trigamma for n=1, else (-1)^(n+1) n! ζ(n+1, x)."""
    if n == 0:
        return digamma(x)
    if n == 1:  # in the input dtype, as torch: the reflection term is sensitive to the rounding of pi * x
        return _out(_trigamma(np.asarray(x)), x)
    values = _in64(x)
    with np.errstate(all="ignore"):
        result = (1.0 if n % 2 else -1.0) * math.exp(math.lgamma(n + 1.0)) * _hurwitz_zeta(float(n + 1), values)
        result = np.where(values == np.inf, np.nan, result)
    return _out(result, x)


def _bessel_series(values: np.ndarray, order: int) -> np.ndarray:
    """I_order(x) = sum_k (x/2)^(2k+order) / (k! (k+order)!), summed until the terms stop mattering."""
    with np.errstate(all="ignore"):
        half = values / 2.0
        term = np.ones_like(values) if order == 0 else half.copy()
        total = term.copy()
        quarter = half * half
        k = 0
        while True:
            k += 1
            term = term * quarter / (k * (k + order))
            total = total + term
            active = np.isfinite(total) & (np.abs(term) > 1e-17 * np.abs(total))
            if not np.any(active) or k > 2000:
                break
        return total


def i0(x: np.ndarray) -> np.ndarray:
    """Modified Bessel function I0; NaN at ±inf (as torch)."""
    values = _in64(x)
    result = np.where(np.isinf(values), np.nan, _bessel_series(np.where(np.isinf(values), 0.0, values), 0))
    return _out(result, x)


def i1(x: np.ndarray) -> np.ndarray:
    """Modified Bessel function I1 (odd); NaN at ±inf like :func:`i0`."""
    values = _in64(x)
    result = np.where(np.isinf(values), np.nan, _bessel_series(np.where(np.isinf(values), 0.0, values), 1))
    return _out(result, x)
