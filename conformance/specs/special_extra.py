"""Specs for torch.special's scaled and normal-distribution functions (refgrad/ops/special_extra.py).

Domains put in each function's special points: 0 for entr (and negatives, where it is -inf), the ends 0 and 1 of
ndtri's domain, the tails of erfcx and log_ndtr, 0 for i1e (torch's slope 0.5 there) and -1 for xlog1py.
"""
import math

from conformance.specs._spec import FLOAT, INT, REAL, SMALL, Domain, OpSpec, binary, func, tensor

_NUMBERS = FLOAT + INT  # integer inputs compute in the default float dtype
_ENTR = Domain(-2.0, 50.0, specials=(0.0, 1.0, 1e-300))
_PROB = Domain(0.0, 1.0, specials=(0.0, 1.0, 0.5, 1e-10, 1 - 1e-10), nonfinite=(math.nan, math.inf, -math.inf))
_TAILS = Domain(-60.0, 60.0, specials=(0.0, -30.0, 30.0, 26.0, -26.0))
# log_ndtr's float32 slope cancels terms of size x²/2: below -20 both engines keep few correct digits
_LOWER_TAIL = Domain(-20.0, 60.0, specials=(0.0, -10.0, -20.0, 30.0), nonfinite=(math.nan, math.inf, -math.inf))
_LOG1P = Domain(-1.0, 5.0, specials=(-1.0, 0.0))


def _special(name: str, domain: Domain = REAL, **options) -> OpSpec:
    return OpSpec(name, func(name), args=(tensor(domain),), **options)


SPECS = [
    _special("special.entr", _ENTR, dtypes=_NUMBERS),
    _special("special.erfcx", _TAILS, dtypes=_NUMBERS, tol={"float32": (5e-6, 1e-5)},
             tol_reason="torch's float32 erfcx rounds x² to float32 before exp, 3.9e-6 relative error at x = -8.938 "
                        "(torch 9.903879e34, refgrad and mpmath 9.903841e34); the largest |torch - refgrad| / |torch| "
                        "over 200,001 float32 points of [-60, 60] is 3.9e-6 for the value and the gradient"),
    _special("special.i0e", REAL, dtypes=_NUMBERS),
    # float64 only, as special.i1: torch's float32 kernel loses digits in i0e(x) - i1e(x)/x near 0
    _special("special.i1e", SMALL, dtypes=("float64",)),
    _special("special.ndtr", _TAILS, dtypes=_NUMBERS),
    _special("special.ndtri", _PROB, dtypes=_NUMBERS, tol={"float32": (3e-5, 1e-5)},
             tol_reason="float32 slopes sqrt(2 pi) exp(ndtri(x)²/2) turn one ulp of ndtri into |ndtri|·ulp relative: "
                        "1.3e-5 at subnormal x (ndtri = -13.2); the largest |torch - refgrad| / |torch| over 440,000 "
                        "float32 points of (0, 1) is 1.5e-5 for the gradient and 2.3e-5 for the second derivative "
                        "(6.1e-6 near 1, x = 0.99998146)"),
    _special("special.log_ndtr", _LOWER_TAIL, dtypes=_NUMBERS, tol={"float32": (1e-3, 1e-5)},
             tol_reason="float32 tails: the slope exp(-x²/2 - log_ndtr(x)) cancels two terms of size x²/2, so one "
                        "ulp of log_ndtr (torch's float32 kernel is 1-2 ulp off refgrad's correctly rounded value) "
                        "moves the gradient by about x²·eps: at -57, torch 57.0026, refgrad 57.0166, true 57.0175"),
    binary("special.xlog1py", domains=(Domain(-3.0, 3.0, specials=(0.0, 1.0)), _LOG1P), dtypes=FLOAT,
           promote=FLOAT),
]
