"""Specs for the unary math ops (refgrad/ops/unary.py), plus the unary ops elementwise.py owns (sigmoid,
reciprocal, and method/in-place spellings of exp, log and neg, whose plain forms the tutorial specs cover).

Domains put each op's poles and kinks in as special points (0 for sqrt/log, ±1 for asin/atanh/erfinv, 1 for
acosh, the non-positive integers for lgamma/digamma, 0 and 1 for logit), so the conventions there are compared.
"""
import math

from hypothesis import strategies as st

from conformance.specs._spec import (
    BOOL,
    FLOAT,
    INT,
    POSITIVE,
    REAL,
    SMALL,
    UNIT,
    Domain,
    Kwargs,
    OpSpec,
    func,
    tensor,
    unary,
)

_NUMBERS = FLOAT + INT  # integer inputs compute in the default float dtype
_ALL = FLOAT + INT + BOOL
_NONNEG_LOG1P = Domain(-1.0, 100.0, specials=(-1.0, 0.0))
_ABOVE_ONE = Domain(1.0, 100.0, specials=(1.0,), nonfinite=(math.nan, math.inf, -math.inf))
# logit: torch's gradient at -0.0 (and at NaN with eps) depends on whether the element lands in its vectorized
# CPU loop (-inf) or the scalar tail (+inf); refgrad follows the scalar path, so -0.0 and NaN stay out here
_PROBABILITY = Domain(1e-300, 1.0, specials=(0.0, 1.0, 0.25, 0.75), nonfinite=(math.inf, -math.inf))
_BELOW_ZERO = Domain(-10.0, -1e-300, specials=(-1.0, -0.5), nonfinite=(-math.inf,))
_ABOVE_ONE_LOGIT = Domain(1.0, 10.0, specials=(1.0, 2.0), nonfinite=(math.inf,))
_GAMMA = Domain(-10.0, 10.0, specials=(0.0, -1.0, -2.0, -3.0, 1.0, 2.0, 0.5))
_ROUNDING = Domain(-100.0, 100.0, specials=(0.5, -0.5, 1.5, 2.5, -2.5, 0.125))
# float32 tanh near saturation: 1 - tanh(x)^2 is one or two ulps of 1 for |x| > 8, so a 1-ulp difference between
# NumPy's and torch's float32 tanh (8.5: 0x1.fffffcp-1 vs 0x1.fffffep-1) doubles the tiny second derivative
TANH_SATURATION_TOL = {"float32": (1.3e-6, 3e-5)}
TANH_SATURATION_REASON = ("float32 double backward: 1 - tanh(x)^2 is a few ulps of 1 for |x| > 8, so a 1-ulp "
                          "difference between NumPy's and torch's float32 tanh doubles the tiny second derivative "
                          "(-2.0e-5 vs -1.0e-5 at 8.5 with cotangents 6 and 7)")


def _dotted(name: str, domain: Domain = REAL, **options) -> OpSpec:
    """A one-tensor op under a dotted torch path (``special.erfinv``, ``nn.functional.tanh``)."""
    return OpSpec(name, func(name), args=(tensor(domain),), **options)


def _logit_kwargs(_shapes):
    return st.fixed_dictionaries({}, optional={"eps": st.sampled_from([None, 0.0, 1e-6, 0.1, 0.25])})


def _round_kwargs(_shapes):
    return st.fixed_dictionaries({"decimals": st.sampled_from([0, 1, 2, 3, -1, -2])})


def _nan_to_num_kwargs(_shapes):
    value = st.sampled_from([0.0, 1.5, -2.0, 100.0])
    return st.fixed_dictionaries({}, optional={"nan": value, "posinf": value, "neginf": value})


def _polygamma_kwargs(_shapes):
    return st.fixed_dictionaries({"n": st.sampled_from([0, 1, 2, 3])})


def _polygamma_invalid(_shapes):
    return st.fixed_dictionaries({"n": st.sampled_from([-1, -2])})


SPECS = [
    unary("abs", dtypes=FLOAT + INT),
    OpSpec("absolute.method", lambda t, x: x.absolute(), dtypes=FLOAT + INT),
    OpSpec("abs.inplace", lambda t, x: (x * 1).abs_()),
    unary("sign", dtypes=_ALL),
    unary("sgn", dtypes=_ALL),
    unary("exp2", SMALL, dtypes=_NUMBERS),
    unary("expm1", SMALL, dtypes=_NUMBERS),
    unary("log2", POSITIVE, dtypes=_NUMBERS),
    unary("log10", POSITIVE, dtypes=_NUMBERS),
    unary("log1p", _NONNEG_LOG1P, dtypes=_NUMBERS),
    unary("sqrt", POSITIVE, dtypes=_NUMBERS),
    unary("sqrt.negative", REAL, fn=lambda t, x: t.sqrt(x)),
    OpSpec("sqrt.inplace", lambda t, x: (x * 1).sqrt_(), args=(tensor(POSITIVE),)),
    unary("rsqrt", POSITIVE, dtypes=_NUMBERS),
    unary("square", dtypes=_ALL),
    OpSpec("square.inplace", lambda t, x: (x * 1).square_()),
    unary("sin", dtypes=_NUMBERS),
    unary("cos", dtypes=_NUMBERS),
    unary("tan", SMALL, dtypes=_NUMBERS),
    unary("asin", UNIT, dtypes=_NUMBERS),
    unary("acos", UNIT, dtypes=_NUMBERS),
    unary("atan", dtypes=_NUMBERS),
    unary("arcsin", UNIT),
    unary("sinh", SMALL, dtypes=_NUMBERS),
    unary("cosh", SMALL, dtypes=_NUMBERS),
    unary("tanh", dtypes=_NUMBERS, tol=TANH_SATURATION_TOL, tol_reason=TANH_SATURATION_REASON),
    OpSpec("tanh.inplace", lambda t, x: (x * 1).tanh_(), tol=TANH_SATURATION_TOL, tol_reason=TANH_SATURATION_REASON),
    unary("asinh", dtypes=_NUMBERS),
    unary("acosh", _ABOVE_ONE, dtypes=_NUMBERS),
    unary("atanh", UNIT, dtypes=_NUMBERS),
    OpSpec("logit", lambda t, x, **kw: t.logit(x, **kw), args=(tensor(_PROBABILITY),),
           kwargs=Kwargs(_logit_kwargs), dtypes=_NUMBERS),
    OpSpec("logit.below", lambda t, x: t.logit(x), args=(tensor(_BELOW_ZERO),)),
    OpSpec("logit.above", lambda t, x: t.logit(x), args=(tensor(_ABOVE_ONE_LOGIT),)),
    _dotted("special.logit", _PROBABILITY),
    unary("erf", SMALL, dtypes=_NUMBERS),
    unary("erfc", SMALL, dtypes=_NUMBERS),
    unary("erfinv", UNIT, dtypes=_NUMBERS),
    _dotted("special.erfinv", UNIT),
    unary("lgamma", _GAMMA, dtypes=_NUMBERS),
    _dotted("special.gammaln", _GAMMA),
    unary("digamma", _GAMMA, dtypes=_NUMBERS),
    OpSpec("polygamma", lambda t, x, n: t.polygamma(n, x), args=(tensor(_GAMMA),),
           kwargs=Kwargs(_polygamma_kwargs, _polygamma_invalid), dtypes=_NUMBERS),
    OpSpec("polygamma.method", lambda t, x, n: x.polygamma(n), args=(tensor(_GAMMA),),
           kwargs=Kwargs(_polygamma_kwargs)),
    unary("floor", _ROUNDING, dtypes=_ALL),
    unary("ceil", _ROUNDING, dtypes=_ALL),
    unary("round", _ROUNDING, dtypes=_ALL),
    OpSpec("round.decimals", lambda t, x, **kw: t.round(x, **kw), args=(tensor(_ROUNDING),),
           kwargs=Kwargs(_round_kwargs), dtypes=FLOAT + INT),
    unary("trunc", _ROUNDING, dtypes=_ALL),
    unary("fix", _ROUNDING),
    unary("frac", _ROUNDING, dtypes=_ALL),
    OpSpec("nan_to_num", lambda t, x, **kw: t.nan_to_num(x, **kw), kwargs=Kwargs(_nan_to_num_kwargs), dtypes=_ALL),
    OpSpec("nan_to_num.inplace", lambda t, x, **kw: (x * 1).nan_to_num_(**kw), kwargs=Kwargs(_nan_to_num_kwargs)),
    unary("deg2rad", dtypes=_NUMBERS),
    unary("rad2deg", dtypes=_NUMBERS),
    OpSpec("positive", lambda t, x: t.positive(x) * 1, dtypes=_ALL),
    unary("sinc", SMALL, dtypes=_NUMBERS, known={"double_backward": (
        "float32, small |x| (e.g. 0.0625): the second derivative cancels catastrophically in torch's formula "
        "(pi x cos(pi x) - sin(pi x)) / (x x pi), so a 1-ulp difference in cos(pi x) moves it ~1e-5 relative; "
        "torch's float32 cos is not correctly rounded (cos(0.19634955) = 0.98078531, correctly rounded "
        "0.98078525, which NumPy gives). refgrad replays torch's graph and summation order exactly: with torch's "
        "sin/cos values patched in it agrees bit for bit (0.0625: torch -3.2519298, refgrad -3.2518907, "
        "float64 -3.2519049)")}),
    unary("i0", SMALL, dtypes=_NUMBERS),
    # float64 only: torch's float32 i1 loses digits to cancellation in i0(x) - i1(x)/x near 0 (double backward)
    _dotted("special.i1", SMALL, dtypes=("float64",)),
    # ops owned by elementwise.py
    unary("sigmoid", dtypes=_NUMBERS),
    _dotted("special.expit", dtypes=FLOAT),
    OpSpec("sigmoid.inplace", lambda t, x: (x * 1).sigmoid_()),
    unary("reciprocal", dtypes=_NUMBERS, known={
        "vjp": "elementwise.py computes -g * result * result; torch -g * (result * result), so for a tiny x with "
               "g = 0 torch gives 0 * inf = NaN and refgrad 0 (fix in elementwise.py: parenthesize result * result)",
        "double_backward": "same as vjp"}),
    OpSpec("exp.method", lambda t, x: x.exp(), args=(tensor(SMALL),), dtypes=_NUMBERS),
    OpSpec("exp.inplace", lambda t, x: (x * 1).exp_(), args=(tensor(SMALL),)),
    OpSpec("log.method", lambda t, x: x.log(), args=(tensor(POSITIVE),), dtypes=_NUMBERS),
    OpSpec("neg.method", lambda t, x: x.neg(), dtypes=FLOAT + INT),
]
