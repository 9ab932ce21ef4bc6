"""NumPy kernels for torch.special's scaled and normal-distribution functions: erfcx, i0e, i1e, ndtri, log_ndtr.

Pure NumPy plus ``math`` (no SciPy), evaluated in float64 and rounded once to the input's dtype, like
:mod:`refgrad.ops._special_math`. Values at ±inf, NaN and the ends of the domain follow torch 2.13.
"""
from __future__ import annotations

import math

import numpy as np

from refgrad.ops._special_math import _bessel_series, _erfc_vec, _in64, _out

__all__ = ["erfcx", "i0e", "i1e", "ndtri", "log_ndtr"]

_SQRT_PI = math.sqrt(math.pi)
_SQRT1_2 = math.sqrt(0.5)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _erfcx64(x: np.ndarray) -> np.ndarray:
    """exp(x²)·erfc(x): directly while erfc(x) is representable, by its asymptotic series beyond x = 25."""
    out = np.empty_like(x)
    large = x > 25.0
    small = ~large  # includes NaN and -inf (exp(inf)·2 = inf)
    xs = x[small]
    with np.errstate(over="ignore", invalid="ignore"):
        out[small] = np.where(xs < -26.7, np.inf, np.exp(xs * xs) * _erfc_vec(xs)) if xs.size else xs
    xl = x[large]
    if xl.size:
        inv2 = 1.0 / (2.0 * xl * xl)
        term, total = np.ones_like(xl), np.ones_like(xl)
        for k in range(1, 12):  # 1 - 1/(2x²) + 3/(2x²)² - 15/(2x²)³ ...
            term = -term * (2 * k - 1) * inv2
            total = total + term
        out[large] = np.where(np.isinf(xl), 0.0, total / (xl * _SQRT_PI))
    return out


def erfcx(x: np.ndarray) -> np.ndarray:
    """The scaled complementary error function exp(x²)·erfc(x); inf at -inf, 0 at inf."""
    return _out(_erfcx64(_in64(x)), x) if x.size else x.copy()


def _scaled_bessel(x: np.ndarray, order: int) -> np.ndarray:
    """exp(-|x|)·I_order(x): the power series below |x| = 50, the large-argument expansion above."""
    values = _in64(x)
    ax = np.abs(values)
    out = np.zeros_like(values)
    small = ~(ax >= 50.0)  # NaN goes to the series and stays NaN
    if np.any(small):
        out[small] = _bessel_series(values[small], order) * np.exp(-ax[small])
    big = ax >= 50.0
    if np.any(big):
        xb = ax[big]
        mu = 4.0 * order * order
        term, total = np.ones_like(xb), np.ones_like(xb)
        for k in range(1, 30):  # sum_k (-1)^k prod_j (mu - (2j-1)²) / (k! (8x)^k)
            term = -term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * xb)
            total = total + term
        scaled = np.where(np.isinf(xb), 0.0, total / np.sqrt(2.0 * math.pi * xb))
        out[big] = scaled * (np.sign(values[big]) if order % 2 else 1.0)
    return _out(np.where(values == 0, 0.0, out) if order % 2 else out, x)  # torch: i1e(-0.0) is +0.0


def i0e(x: np.ndarray) -> np.ndarray:
    """exp(-|x|)·I0(x); 0 at ±inf."""
    return _scaled_bessel(x, 0) if x.size else x.copy()


def i1e(x: np.ndarray) -> np.ndarray:
    """exp(-|x|)·I1(x) (odd); 0 at ±inf."""
    return _scaled_bessel(x, 1) if x.size else x.copy()


def ndtri(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile: -inf at 0, inf at 1, NaN outside [0, 1].

    Newton's method on log ndtr from a rational start, on the lower half (q = 1 - p mirrors the upper half)."""
    values = _in64(p)
    out = np.full(values.shape, np.nan)
    inside = (values > 0) & (values < 1)
    q = np.where(values[inside] > 0.5, 1.0 - values[inside], values[inside])
    # start: the Abramowitz-Stegun 26.2.23 rational approximation of the lower-tail quantile
    t = np.sqrt(-2.0 * np.log(q))
    x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t
                                                              + 0.001308 * t ** 3))
    log_q = np.log(q)
    for _ in range(8):  # Newton on log ndtr(x) = log q: no underflow even for subnormal q
        log_cdf = _log_ndtr64(x)
        x = x - (log_cdf - log_q) * _SQRT_2PI * np.exp(0.5 * x * x + log_cdf)
    x = np.where(q == 0.5, 0.0, x)
    out[inside] = np.where(values[inside] > 0.5, -x, x)
    out[values == 0] = -np.inf
    out[values == 1] = np.inf
    return _out(out, p)


def _log_ndtr64(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lower = np.log(0.5 * _erfcx64(-values * _SQRT1_2)) - 0.5 * values * values
        upper = np.log1p(-0.5 * _erfc_vec(values * _SQRT1_2))
    out = np.where(values < 0, lower, upper)
    return np.where(values == -np.inf, -np.inf, out)


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """log of the standard normal CDF, accurate in both tails."""
    return _out(_log_ndtr64(_in64(x)), x) if x.size else x.copy()
