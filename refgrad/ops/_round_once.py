"""Single-precision transcendental functions evaluated in double precision and rounded once.

NumPy's float32 kernels (exp, log10, tanh, ...) are up to 1 ulp off the correctly rounded value; torch's are
closer. Measured on 200,000 uniform float32 inputs per function (2026-12-06, this machine): NumPy's float32 result
differs from torch's on 2-46 % of inputs (exp 39 %, log10 46 %, cosh 39 %, tanh 32 %), the float64-then-rounded
value on 0.01-18 % (exp 1.1 %, log10 0.01 %, cosh 0.1 %, tanh 0.2 %; tan 18 %, asinh 13 %, where torch's own
kernels are the less accurate side). A 1-ulp difference is inside every tolerance, but a discontinuous step after
it (floor division, comparisons, rounding) turns it into a different value: a graph-state program computed
floor(3 exp(12.25) / exp(12.25)) as 2 (torch: 3, the exact answer).

``sub_mul_once`` is c - a*b rounded once, what a C++ kernel compiled with FMA contraction computes (torch's
log_softmax backward, tanh backward, add with alpha, addcmul and lerp kernels do), for float64 only where the
difference cancels: there the rounding of the product it skips is all that is left of a difference like
329.33 - 0.99995 * 329.33 (1.77e-2 in torch, 1.77e-2 ± 3e-4 with the product rounded first); elsewhere that
rounding moves the result by at most 1 ulp, and the exact product would cost ~20 NumPy calls instead of one.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from refgrad.ops._primitive import _FP_QUIET, _NARROW, _get_fp_errors, _reset_fp_errors, _set_fp_errors

try:  # NumPy's C function, without np.count_nonzero's two Python frames
    from numpy._core._multiarray_umath import count_nonzero
except ImportError:  # another NumPy layout
    count_nonzero = np.count_nonzero
_count_nonzero = count_nonzero

__all__ = ["count_nonzero", "round_once", "sub_mul_once"]



def _widened(a: np.ndarray) -> np.ndarray:
    """``a`` in float64, C-ordered when it overlaps itself (an expanded tensor): NumPy's order="K" copy of a
    stride-0 axis makes it the fastest one, so exp of a float32 (2, 3) expanded to (2, 2, 3) got strides
    (1, 6, 2), where torch's result is contiguous and a reshape of it a view (default seed 2734)."""
    return a.astype(np.float64, order="C" if 0 in a.strides and a.size > 1 else "K")


def round_once(fn: Callable) -> Callable:
    """``fn`` (an elementwise NumPy function) evaluated in float64 for float32/float16 arrays, rounded once."""
    if isinstance(fn, np.ufunc) and fn.nin == 1:  # the common case: one argument, no argument packing
        def forward(a):
            if a.dtype in _NARROW:
                return fn(_widened(a)).astype(a.dtype)
            return fn(a)
        forward.ufunc = fn  # a Primitive calls it directly for other dtypes (no frame for this function)
    else:
        def forward(a, *args, **kwargs):
            if a.dtype in _NARROW:
                return fn(_widened(a), *args, **kwargs).astype(a.dtype)
            return fn(a, *args, **kwargs)
    forward.__name__ = getattr(fn, "__name__", "forward")
    return forward


_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant, splits a float64 into two 26-bit halves
_BIG = 2.0 ** 995  # operands this large are scaled by 2**-64 first (their split would overflow)
_TINY = 2.0 ** -900  # products this small leave the error term inexact (it underflows): plain c - a*b there


def _product_error(a, b, p):
    """``a*b - p`` exactly (Dekker's product with Veltkamp's split; ``p`` is the rounded product)."""
    t = a * _SPLIT
    a_hi = t - (t - a)
    a_lo = a - a_hi
    if b is a:  # a square (tanh's 1 - y*y): one split
        return ((a_hi * a_hi - p) + 2.0 * (a_hi * a_lo)) + a_lo * a_lo
    t = b * _SPLIT
    b_hi = t - (t - b)
    b_lo = b - b_hi
    return ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _fused64(c, a, b, p):
    """c - a*b in float64 (``p``: the rounded product), rounded once but for rare last-bit cases: Dekker's exact
    product (p + e = a*b) and Knuth's exact sum (s + t = c - p), then s + (t - e)."""
    e = _product_error(a, b, p)
    s = c - p
    z = s - c
    t = (c - (s - z)) + (-p - z)  # (c - p) - s, exactly
    return s + (t - e)


def _cancelling64(c, a, b, p):
    """:func:`_fused64` where the difference cancels (c between p/2 and 2p): c - p is exact there (Sterbenz), so
    (c - p) - e is the exact difference rounded once, without Knuth's sum."""
    return (c - p) - _product_error(a, b, p)


def _fused64_anywhere(c, a, b):
    """:func:`_fused64` for any float64 operands: those past 2**995 are scaled by powers of two (exact) so that a
    product past float64's range can still cancel (1e308 - 2 * 1e308 is -1e308, not -inf); where an input is not
    finite or the product is below 2**-900 (its error term underflows), the plain ``c - a * b`` (whose infinities
    and NaNs are the fused ones but for an infinite c, which stays c; its subnormal results can differ in the last
    subnormal bit)."""
    a, b, c = np.broadcast_arrays(a, b, c)
    plain = c - a * b
    big = (np.abs(a) >= _BIG) | (np.abs(b) >= _BIG) | np.isinf(a * b)
    shrink = np.where(big, 2.0 ** -64, 1.0)
    a, b, c = a * shrink, b * shrink, c * shrink * shrink
    p = a * b
    fused = _fused64(c, a, b, p)
    usable = np.isfinite(fused) & np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & (np.abs(p) >= _TINY)
    # an infinite c absorbs any finite product, however large (the fused product never overflows)
    plain = np.where(np.isinf(c) & np.isfinite(a) & np.isfinite(b), c, plain)
    return np.where(usable, fused / (shrink * shrink), plain)


def _part(x: np.ndarray, where: np.ndarray, shape: tuple) -> np.ndarray:
    """The elements of ``x`` broadcast to ``shape`` at the flat indices ``where`` (a 0-d ``x`` as it is)."""
    if not x.shape:
        return x
    return (x if x.shape == shape else np.broadcast_to(x, shape)).take(where)


def sub_mul_once(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``c - a * b`` with a single rounding (a fused multiply-subtract) where that rounding matters, in the dtype
    of ``a``.

    float32 and float16: the product of two float32 values is exact in float64, so the float64 difference rounded
    to float32 (and then to float16) is the fused value but for a double rounding (one input in ~10^9).

    float64 (no wider type to compute in: the exact product is Dekker's, ~20 NumPy calls, 40x the plain
    expression on small arrays): fused only where the difference cancels, ``|a*b| > 2 |c - a*b|``, or is not
    finite (an overflowing product), :func:`_fused64_anywhere`; elsewhere the plain ``c - a * b``, whose product's
    rounding moves the result by at most 1 ulp of it (so it is within 2 ulp of the fused value, and bit-equal to
    it on most inputs). Where it cancels the product's rounding is the largest error of the difference (tanh's
    gradient 1 - y*y was 8e-7 off torch's at y*y ~ 1). Bit-equal to torch 2.13's kernels on 20,000 random inputs
    (2026-12-07; fused everywhere / plain everywhere in brackets): tanh_backward 95.8 % for x ~ U(-6, 6) (100 /
    19.2) and 83.9 % for x ~ U(-1.5, 1.5) (100 / 69.0), add with alpha 84.9 % (100 / 73.7), addcmul 90.2 % (100 /
    85.3). Cost on 16 elements: ~1.5 µs where nothing cancels (plain: 0.4 µs), ~12 µs where something does.
    """
    if type(a) is not np.ndarray or type(b) is not np.ndarray or type(c) is not np.ndarray:
        a, b, c = np.asarray(a), np.asarray(b), np.asarray(c)
    dtype = a.dtype
    token = None if _get_fp_errors() is _FP_QUIET else _set_fp_errors(_FP_QUIET)  # (a forward: quiet already)
    try:
        if dtype in _NARROW:
            wide = c.astype(np.float64) - a.astype(np.float64) * b.astype(np.float64)
            return wide.astype(np.float32).astype(dtype, copy=False)
        p = a * b
        plain = c - p
        if dtype != np.float64 or plain.size == 0:
            return plain
        if type(plain) is not np.ndarray:  # 0-d operands give a NumPy scalar: an array to write into
            plain = np.asarray(plain)
        # (the checks count with count_nonzero: a NumPy reduction costs ~1 µs on a small array, 3 ufunc calls)
        checked = False  # the products that cancel are known to be neither tiny nor past float64's range
        if b is a and c.ndim == 0 and float(c) > 0:  # c - a², e.g. tanh's 1 - y*y: it cancels where 2c/3 < a² < 2c
            limit = float(c)
            top = p > 0.66 * limit  # (about that, without the NaNs of NaN inputs: plain there)
            if not _count_nonzero(top):  # away from |y| ~ 1: no cancellation
                return plain
            cancels = top & (p <= 2.0 * limit)  # (within Sterbenz's c/2 <= a² <= 2c: c - a² is exact)
            n_cancel = _count_nonzero(cancels)
            if not n_cancel:
                return plain
            q = p
            checked = 2.0 ** -890 < limit < 2.0 ** 990
        else:
            # |p| <= 2|plain| as |plain / p| >= 1/2 (three array ops; the correctly rounded quotient can round up
            # to 1/2 only within an ulp of it, where plain and fused agree but for the last bit); False for NaN
            # (an infinite or NaN p, NaN inputs, and 0/0: counted as cancelling, the careful path sorts them out)
            ratio = plain / p
            if type(ratio) is np.ndarray:  # (a 0-d quotient is a NumPy scalar: nothing to write into)
                np.abs(ratio, out=ratio)
            else:
                ratio = np.abs(ratio)
            if np.minimum.reduce(ratio, axis=None) >= 0.5:  # the common case: no cancellation anywhere (one
                return plain  # reduction: a NaN ratio fails it, and the count below sorts it out)
            no_cancel = ratio >= 0.5
            n_cancel = no_cancel.size - _count_nonzero(no_cancel)
            if not n_cancel:  # the common case: no cancellation anywhere
                return plain
            cancels = ~no_cancel
            q = np.abs(p)
        shape = plain.shape
        if n_cancel * 2 < cancels.size:  # a minority cancels: Dekker's product on those elements only
            where = np.flatnonzero(cancels)  # (flat indices: take and put are ~3x boolean indexing)
            a_part = _part(a, where, shape)
            b_part = a_part if b is a else _part(b, where, shape)
            fused = _cancelling64(_part(c, where, shape), a_part, b_part, _part(p, where, shape))
            tiny = not checked and _count_nonzero(_part(q, where, shape) < _TINY)
        else:
            where = None
            fused = _cancelling64(c, a, b, p)  # (kept only where it cancels)
            tiny = not checked and _count_nonzero((q < _TINY) & cancels)
        # the careful path where an operand needs scaling or is not finite (conservative: a non-finite value
        # anywhere, or an overflowing sum), or where a cancelling product is tiny
        if tiny or not (checked or np.isfinite(np.add.reduce(fused, axis=None))):
            fused = _fused64_anywhere(c, a, b)
            if where is not None:
                fused = fused.take(where)
        if where is not None:
            plain.put(where, fused)
            return plain
        if n_cancel == cancels.size:
            return fused
        np.copyto(plain, fused, where=cancels)
        return plain
    finally:
        if token is not None:
            _reset_fp_errors(token)
