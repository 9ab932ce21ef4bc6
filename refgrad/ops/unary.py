"""Unary math: abs/sign, exponentials and logarithms, roots, trigonometric and hyperbolic functions and their
inverses, the error and gamma families, rounding, and a few conversions.

Each op is a Primitive (NumPy forward + VJP in refgrad ops, so double backward works) registered under its torch
names. Floating ops compute in the input's float dtype (integers and bool go to the default dtype); rounding,
``abs``, ``sign`` and ``nan_to_num`` keep integer dtypes as torch does. Values and gradients at poles, kinks and
non-finite inputs follow torch 2.13 (pinned in tests/ops/test_unary.py). ``exp``, ``log``, ``sigmoid``,
``reciprocal`` and ``neg`` live in :mod:`refgrad.ops.elementwise`.
"""
from __future__ import annotations

import builtins
import math
from typing import Callable

import numpy as np

from refgrad import dtypes
from refgrad.autograd import zerotensor as _zerotensor
from refgrad.ops import _special_math as special
from refgrad.ops._layout import follows_inputs, like_first
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._round_once import round_once, sub_mul_once
from refgrad.ops._scalar_ops import mul_scalar
from refgrad.ops._util import float_dtype
from refgrad.ops.elementwise import div_jvp
from refgrad.tensor import _SCALAR_TYPE, Tensor

__all__ = ["abs", "sign", "sgn", "exp2", "expm1", "log2", "log10", "log1p", "sqrt", "rsqrt", "square", "sin",
           "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "logit", "erf",
           "erfc", "erfinv", "lgamma", "digamma", "polygamma", "floor", "ceil", "round", "trunc", "frac",
           "nan_to_num", "deg2rad", "rad2deg", "positive", "sinc", "i0"]

_REAL = frozenset(np.dtype(c) for c in "efdg")  # (native) real floating dtypes: a set test is cheaper than .kind
_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# --- helpers ------------------------------------------------------------------------------------------------

def require_tensor(name: str, input, arg: str = "input", position: int = 1) -> None:
    """torch's TypeError when a Python object stands where only a Tensor is accepted."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, not "
                        f"{type(input).__name__}")


def not_implemented(kernel: str, dtype: dtypes.dtype) -> NotImplementedError:
    """torch's dispatch error for a dtype a CPU kernel does not cover."""
    return NotImplementedError(f"\"{kernel}\" not implemented for '{_SCALAR_TYPE[dtype.name]}'")


def zeros_vjp(c, g):
    """The gradient of a piecewise-constant function: zeros that carry no history (torch: zeros_like(grad))."""
    return Tensor._make(np.zeros_like(g._data))


def _divide_vjp(c, g):
    grad_self = divide(g, c.other) if c.needs_input_grad(0) else None
    # torch's order, (self / other) / other: the square of a tiny divisor would underflow to 0 and give NaN
    grad_other = -g * divide(divide(c.self, c.other), c.other) if c.needs_input_grad(1) else None
    return grad_self, grad_other


_divide = Primitive("DivBackward0", follows_inputs(np.true_divide), _divide_vjp, inputs=("self", "other"),
                    save={"other": ("self", "other"), "self": ("other",)}, jvp=div_jvp)


def divide(a, b) -> Tensor:
    """a / b as torch.div records it (a DivBackward0 node), with torch's gradient formula for the divisor."""
    from refgrad.ops._util import promote
    dtype, (left, right) = promote(a, b)
    if left._zerotensor and not right._zerotensor:  # as div: a ZeroTensor over anything else is one
        return _zerotensor.absorb(_divide(left, right, cast=float_dtype(dtype)))
    return _divide(left, right, cast=float_dtype(dtype))


def _float_op(name: str, prim: Primitive, doc: str, *, method: bool = True, inplace: bool = True,
              aliases: tuple = (), special_names: tuple = ()) -> Callable:
    """Register a one-tensor float op (integers and bool compute in the default dtype)."""
    def op(input, *, out=None):
        if type(input) is Tensor and input._data.dtype in _REAL:  # a floating tensor computes in its dtype
            return prim(input)
        require_tensor(name, input)
        return prim(input, cast=float_dtype(input.dtype))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    register(name, method=method, inplace=inplace, aliases=aliases)(op)
    for alias in special_names:
        register(alias, namespace="torch.special")(op)
    return op


def _unary(name: str, grad_fn: str, forward: Callable, vjp: Callable, doc: str, *, save=("self",), **options):
    return _float_op(name, Primitive(grad_fn, forward, vjp, save=save, jvp="elementwise"), doc, **options)


# --- abs and sign -------------------------------------------------------------------------------------------

def _sign_forward(a):
    if a.dtype == np.bool_:
        return a.copy(order="K")  # (K: the input's order, as torch)
    return np.where(np.isnan(a), 0, np.sign(a)).astype(a.dtype, copy=False)  # torch: sign(NaN) = 0


_abs = Primitive("AbsBackward0", np.abs, lambda c, g: g * sgn(c.self), save=("self",), jvp="elementwise")
_sign = Primitive("SignBackward0", _sign_forward, zeros_vjp, jvp="elementwise")
def _sgn_vjp(c, g):
    # torch's SgnBackward0 saves self and result (it needs them for complex inputs) and unpacks them, so a
    # second backward or an in-place change of either raises: unpacking here does the same
    _ = (c.self, c.result)
    return _zerotensor.zeros_like(g)  # torch: an efficient ZeroTensor (refgrad/autograd/zerotensor.py)


_sgn = Primitive("SgnBackward0", _sign_forward, _sgn_vjp, save=("self", "result"),
                 jvp=zeros_vjp)  # torch's tangent: ordinary zeros (the VJP's ZeroTensor stays in reverse mode)


@register(method=True, inplace=True, aliases=("absolute",))
def abs(input, *, out=None):  # noqa: A001 - torch.abs
    """|input| (torch.abs); the gradient is sgn(input): 0 at ±0 and at NaN."""
    require_tensor("abs", input)
    if input.dtype is dtypes.bool:
        raise not_implemented("abs_cpu", input.dtype)
    return _abs(input)


@register(method=True, inplace=True)
def sign(input, *, out=None):
    """-1, 0 or 1 by the sign of input, 0 for NaN (torch.sign); zero gradient."""
    require_tensor("sign", input)
    if input.dtype.is_complex:
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
                                  "torch.sgn instead.")
    return _sign(input)


@register(method=True, inplace=True)
def sgn(input, *, out=None):
    """sign for real tensors (torch.sgn; zero gradient), z/|z| for complex ones (0 at 0)."""
    require_tensor("sgn", input)
    if input.dtype.is_complex:
        from refgrad.ops.complex import sgn_complex
        return sgn_complex(input)
    return _sgn(input)


@register(method=True)
def positive(input):
    """input itself (torch.positive); bool tensors are refused."""
    require_tensor("positive", input)
    if input.dtype is dtypes.bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


# --- exponentials, logarithms, powers -----------------------------------------------------------------------

exp2 = _unary("exp2", "Exp2Backward0", round_once(np.exp2), lambda c, g: mul_scalar(g * c.result, _LN2),
              "2 ** input (torch.exp2).", save=("result",), special_names=("exp2",))
expm1 = _unary("expm1", "Expm1Backward0", round_once(np.expm1), lambda c, g: g * (c.result + 1),
               "exp(input) - 1, accurate near 0 (torch.expm1).", save=("result",), special_names=("expm1",))
log2 = _unary("log2", "Log2Backward0", round_once(np.log2), lambda c, g: divide(g, c.self * _LN2),
              "Base-2 logarithm (torch.log2).")
log10 = _unary("log10", "Log10Backward0", round_once(np.log10), lambda c, g: divide(g, c.self * _LN10),
               "Base-10 logarithm (torch.log10).")
log1p = _unary("log1p", "Log1PBackward0", round_once(np.log1p), lambda c, g: divide(g, c.self + 1),
               "log(1 + input), accurate near 0 (torch.log1p).", special_names=("log1p",))
sqrt = _unary("sqrt", "SqrtBackward0", np.sqrt, lambda c, g: divide(g, 2 * c.result),
              "Square root (torch.sqrt); the gradient at 0 is +inf.", save=("result",))
rsqrt = _unary("rsqrt", "RsqrtBackward0", lambda a: (1 / np.sqrt(a)).astype(a.dtype, copy=False),
               lambda c, g: -0.5 * g * c.result.pow(3), "1 / sqrt(input) (torch.rsqrt); gradient -inf at 0.",
               save=("result",))


@register(method=True, inplace=True)
def square(input, *, out=None):
    """input ** 2 (torch.square: a PowBackward0 node; integer and bool inputs give int64)."""
    from refgrad.ops.elementwise import pow as power
    require_tensor("square", input)
    return power(input, 2)


# --- trigonometric and hyperbolic ---------------------------------------------------------------------------

sin = _unary("sin", "SinBackward0", round_once(np.sin), lambda c, g: g * cos(c.self), "Sine (torch.sin).")
cos = _unary("cos", "CosBackward0", round_once(np.cos), lambda c, g: g * -sin(c.self), "Cosine (torch.cos).")
tan = _unary("tan", "TanBackward0", round_once(np.tan), lambda c, g: g * (1 + c.result.pow(2)), "Tangent (torch.tan).",
             save=("result",))
asin = _unary("asin", "AsinBackward0", round_once(np.arcsin), lambda c, g: g * rsqrt(-c.self * c.self + 1),
              "Arcsine (torch.asin); the gradient at ±1 is +inf.", aliases=("arcsin",))
acos = _unary("acos", "AcosBackward0", round_once(np.arccos), lambda c, g: g * -rsqrt(-c.self * c.self + 1),
              "Arccosine (torch.acos); the gradient at ±1 is -inf.", aliases=("arccos",))
atan = _unary("atan", "AtanBackward0", round_once(np.arctan), lambda c, g: divide(g, c.self * c.self + 1),
              "Arctangent (torch.atan).", aliases=("arctan",))
sinh = _unary("sinh", "SinhBackward0", round_once(np.sinh), lambda c, g: g * cosh(c.self),
              "Hyperbolic sine (torch.sinh).")
cosh = _unary("cosh", "CoshBackward0", round_once(np.cosh), lambda c, g: g * sinh(c.self),
              "Hyperbolic cosine (torch.cosh).")
def _tanh_backward_vjp(c, gg):
    grad_output, output = c.grad_output, c.output
    return (_tanh_backward(gg, output) if c.needs_input_grad(0) else None,
            gg * (-2 * output * grad_output) if c.needs_input_grad(1) else None)


_ONES = {np.dtype(t): np.ones((), t) for t in (np.float64, np.float32, np.float16)}  # read only
_F64 = np.dtype(np.float64)


def _tanh_backward_forward(g, y):
    """torch's tanh_backward, g * (1 - y²), with 1 - y² as accurately as its kernel (which fuses the square into
    the subtraction); the square rounded first lost up to 6.7e-4 (float32) and 8e-7 (float64) of the gradient where
    y² ~ 1.

    float64: (1 - y)(1 + y), whose factor next to ±1 is exact (Sterbenz), so it never cancels: within 1 ulp of
    torch's fused value on 60,000 random tanh outputs (bit-equal on 73-81 %), at a fifth of the cost of the fused
    :func:`sub_mul_once` (64x64: 4.8 against 25 µs; the plain 1 - y*y is 16,000 ulp off near y² = 1). float32
    and float16: :func:`sub_mul_once` (the exact difference in float64, rounded once)."""
    if y.dtype is _F64:
        return g * ((1.0 - y) * (1.0 + y))
    one = _ONES.get(y.dtype)
    if one is not None:
        return g * sub_mul_once(one, y, y)
    return g * (1 - y * y)


# torch's tanh_backward(grad_output, output): the gradient is an op of its own, so a double backward meets a
# TanhBackwardBackward0 node, as in torch
_tanh_backward = Primitive("TanhBackwardBackward0", _tanh_backward_forward, _tanh_backward_vjp,
                           inputs=("grad_output", "output"), save=("grad_output", "output"), jvp="elementwise")
tanh = _unary("tanh", "TanhBackward0", round_once(np.tanh), lambda c, g: _tanh_backward(g, c.result),
              "Hyperbolic tangent (torch.tanh).", save=("result",))
register("tanh", namespace="torch.nn.functional")(tanh)
asinh = _unary("asinh", "AsinhBackward0", round_once(np.arcsinh), lambda c, g: g * rsqrt(c.self.pow(2) + 1),
               "Inverse hyperbolic sine (torch.asinh).", aliases=("arcsinh",))
def _acosh_vjp(c, g):
    if c.self.dtype.is_complex:  # sqrt(z² - 1) is on the wrong branch off the real line: torch's split form
        return g * (rsqrt(c.self + 1) * rsqrt(c.self - 1))
    return g * rsqrt(c.self.pow(2) - 1)


acosh = _unary("acosh", "AcoshBackward0", round_once(np.arccosh), _acosh_vjp,
               "Inverse hyperbolic cosine (torch.acosh); NaN below 1, gradient +inf at 1.", aliases=("arccosh",))
atanh = _unary("atanh", "AtanhBackward0", round_once(np.arctanh), lambda c, g: divide(g * 1, 1 - c.self.pow(2)),
               "Inverse hyperbolic tangent (torch.atanh); ±inf at ±1.", aliases=("arctanh",))


def _deg2rad_forward(a):
    return (a * np.asarray(math.pi / 180, a.dtype)).astype(a.dtype, copy=False)


def _rad2deg_forward(a):
    return (a * np.asarray(180 / math.pi, a.dtype)).astype(a.dtype, copy=False)


deg2rad = _unary("deg2rad", "Deg2RadBackward0", _deg2rad_forward, lambda c, g: mul_scalar(g, math.pi / 180),
                 "Degrees to radians (torch.deg2rad).", save=())
rad2deg = _unary("rad2deg", "Rad2DegBackward0", _rad2deg_forward, lambda c, g: mul_scalar(g, 180 / math.pi),
                 "Radians to degrees (torch.rad2deg).", save=())


def _sinc_forward(a):
    scaled = a * np.asarray(math.pi, a.dtype)
    return np.where(a == 0, np.asarray(1, a.dtype), np.sin(scaled) / scaled).astype(a.dtype, copy=False)


def _sinc_vjp(c, g):
    x = c.self
    scaled = x * math.pi  # formed once and shared, as in torch: its rounding decides double backward
    squared = x * x * math.pi
    # torch's composite term by term: grad * ((pi x cos(pi x) - sin(pi x)) / (x x pi)), with sin(pi x) formed
    # before cos(pi x) as torch's C++ does; that fixes the order double backward sums the three terms into pi x
    sine = sin(scaled)
    slope = g * divide(scaled * cos(scaled) - sine, squared)
    return _where(squared == 0, 0.0, slope)  # 0 where x * x * pi underflows; NaN leaks in double backward at 0


sinc = _unary("sinc", "SincBackward0", _sinc_forward, _sinc_vjp, "sin(pi x) / (pi x), 1 at 0 (torch.sinc).",
              special_names=("sinc",))


# --- logit, error and gamma functions -----------------------------------------------------------------------

def _logit_forward(a, eps):
    if eps is not None:
        a = np.clip(a, np.asarray(eps, a.dtype), np.asarray(1 - eps, a.dtype))
    return np.log(a / (1 - a)).astype(a.dtype, copy=False)


def _logit_vjp(c, g):
    from refgrad.autograd.grad_mode import is_grad_enabled
    x = c.self
    # torch's fused kernel (no create_graph) gives +inf at -0.0; its differentiable form (create_graph) -inf
    slope = divide(g, (x if is_grad_enabled() else x + 0.0) * (1 - x))
    if c.eps is None:
        return _where((x < 0) | (x > 1), math.nan, slope)
    return _where((x < c.eps) | (x > 1 - c.eps), 0.0, slope)


_logit = Primitive("LogitBackward0", _logit_forward, _logit_vjp, save=("self",), jvp="elementwise")


@register(method=True, inplace=True)
def logit(input, eps: float | None = None, *, out=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given (torch.logit)."""
    require_tensor("logit", input)
    return _logit(input, cast=float_dtype(input.dtype), eps=None if eps is None else float(eps))


register("logit", namespace="torch.special")(logit)

erf = _unary("erf", "ErfBackward0", special.erf, lambda c, g: _TWO_OVER_SQRT_PI * _exp(-c.self.pow(2)) * g,
             "The error function (torch.erf).", special_names=("erf",))
erfc = _unary("erfc", "ErfcBackward0", special.erfc, lambda c, g: -_TWO_OVER_SQRT_PI * _exp(-c.self.pow(2)) * g,
              "The complementary error function 1 - erf (torch.erfc).", special_names=("erfc",))
erfinv = _unary("erfinv", "ErfinvBackward0", special.erfinv,
                lambda c, g: 0.5 * math.sqrt(math.pi) * _exp(erfinv(c.self).pow(2)) * g,
                "Inverse error function (torch.erfinv); ±inf at ±1 with gradient +inf.", special_names=("erfinv",))
lgamma = _unary("lgamma", "LgammaBackward0", special.lgamma, lambda c, g: g * digamma(c.self),
                "log|Gamma(input)| (torch.lgamma); +inf at 0 and the negative integers.",
                special_names=("gammaln",))
digamma = _unary("digamma", "DigammaBackward0", special.digamma, lambda c, g: g * polygamma(1, c.self),
                 "The digamma function psi (torch.digamma); -inf at +0, NaN at negative integers.",
                 special_names=("digamma", "psi"))


def _polygamma_forward(a, n):
    return special.polygamma(n, a)


_polygamma = Primitive("PolygammaBackward0", like_first(_polygamma_forward),
                       lambda c, g: g * polygamma(c.n + 1, c.self), save=("self",), jvp="elementwise")
_polygamma_inplace = Primitive("PolygammaBackward1", _polygamma_forward,
                               lambda c, g: g * polygamma(c.n + 1, c.self), save=("self",), jvp="elementwise")


def _check_polygamma_order(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return int(n)


@register(inplace=False)
def polygamma(n: int, input, *, out=None):
    """The n-th derivative of digamma (torch.polygamma(n, input); also Tensor.polygamma(n))."""
    if isinstance(n, Tensor) and not isinstance(input, Tensor):  # called as the method input.polygamma(n)
        n, input = input, n
    n = _check_polygamma_order(n)
    require_tensor("polygamma", input, position=2)
    return _polygamma(input, cast=float_dtype(input.dtype), n=n)


def _polygamma_method(self, n: int):
    """n-th derivative of digamma of this tensor (torch.Tensor.polygamma)."""
    return polygamma(n, self)


def _polygamma_inplace_method(self, n: int):
    """In-place polygamma (torch.Tensor.polygamma_); recorded as PolygammaBackward1 like torch."""
    from refgrad.ops._inplace import apply_inplace
    n = _check_polygamma_order(n)
    return apply_inplace(self, lambda old: _polygamma_inplace(old, cast=float_dtype(old.dtype), n=n))


# Tensor-only spellings (torch has no torch.polygamma_): registered in a namespace nothing populates
register("polygamma", namespace="torch.Tensor", method=True)(_polygamma_method)
register("polygamma_", namespace="torch.Tensor", method=True)(_polygamma_inplace_method)
register("polygamma", namespace="torch.special")(polygamma)


def _i1_vjp(c, g):
    x = c.self
    tiny = float(np.finfo(x.dtype.numpy).eps)
    regular = abs(x) > tiny  # torch: slope 0.5 for |x| <= eps and for NaN
    safe = _where(regular, x, tiny)
    return g * _where(regular, i0(safe) - c.result / safe, 0.5)


_i1 = Primitive("SpecialI1Backward0", like_first(special.i1), _i1_vjp, save=("self", "result"), jvp="elementwise")
i0 = _unary("i0", "I0Backward0", like_first(special.i0), lambda c, g: g * _i1(c.self),
            "Modified Bessel function of the first kind, order 0 (torch.i0); NaN at ±inf.", special_names=("i0",))


@register("i1", namespace="torch.special")
def special_i1(input, *, out=None):
    """Modified Bessel function of the first kind, order 1 (torch.special.i1)."""
    require_tensor("special_i1", input)
    return _i1(input, cast=float_dtype(input.dtype))


# --- rounding -----------------------------------------------------------------------------------------------

def _rounding(name: str, grad_fn: str, np_fn: Callable, kernel: str, doc: str, aliases: tuple = ()):
    prim = Primitive(grad_fn, lambda a: np_fn(a) if a.dtype.kind == "f" else a.copy(order="K"), zeros_vjp,
                     jvp="elementwise")  # (an integer's copy in its order, as torch's)

    def op(input, *, out=None):
        require_tensor(name, input)
        if input.dtype is dtypes.bool:
            raise not_implemented(kernel, input.dtype)
        return prim(input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return register(name, method=True, inplace=True, aliases=aliases)(op)


floor = _rounding("floor", "FloorBackward0", np.floor, "floor_vml_cpu", "Round down (torch.floor); zero gradient.")
ceil = _rounding("ceil", "CeilBackward0", np.ceil, "ceil_vml_cpu", "Round up (torch.ceil); zero gradient.")
trunc = _rounding("trunc", "TruncBackward0", np.trunc, "trunc_vml_cpu", "Round toward zero (torch.trunc, torch.fix);"
                  " zero gradient.", aliases=("fix",))


def _round_decimals(a, decimals):
    scale = np.asarray(10.0 ** builtins.abs(decimals), a.dtype)
    if decimals >= 0:
        return (np.rint(a * scale) / scale).astype(a.dtype, copy=False)
    return (np.rint(a / scale) * scale).astype(a.dtype, copy=False)


_round = Primitive("RoundBackward0", lambda a: np.rint(a) if a.dtype.kind == "f" else a.copy(order="K"), zeros_vjp,
                   jvp="elementwise")
_round_dec = Primitive("RoundBackward1", _round_decimals, zeros_vjp, jvp="elementwise")


@register(method=True, inplace=True)
def round(input, *, decimals: int | None = None, out=None):  # noqa: A001 - torch.round
    """Round half to even, optionally to ``decimals`` places (torch.round); zero gradient."""
    require_tensor("round", input)
    if input.dtype is dtypes.bool or (decimals is not None and not input.dtype.is_floating_point):
        raise not_implemented("round_vml_cpu" if decimals is None else "round_cpu", input.dtype)
    if decimals is None:
        return _round(input)
    return _round_dec(input, decimals=int(decimals))


register("round", namespace="torch.special")(round)

_frac = Primitive("FracBackward0", lambda a: a - np.trunc(a), lambda c, g: g, jvp="elementwise")


@register(method=True, inplace=True)
def frac(input, *, out=None):
    """input - trunc(input) (torch.frac); gradient 1."""
    require_tensor("frac", input)
    if not input.dtype.is_floating_point:
        raise not_implemented("frac_cpu", input.dtype)
    return _frac(input)


def _nan_to_num_forward(a, nan, posinf, neginf):
    if not np.issubdtype(a.dtype, np.floating):
        return a.copy(order="K")
    return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)


_nan_to_num = Primitive("NanToNumBackward0", like_first(_nan_to_num_forward), lambda c, g: g * isfinite_mask(c.self),
                        save=("self",), jvp="elementwise")


def isfinite_mask(x: Tensor) -> Tensor:
    """A bool constant: True where x is finite (multiplying by it zeroes non-finite slots, as torch does)."""
    return Tensor._make(np.isfinite(x._data))


@register(method=True, inplace=True)
def nan_to_num(input, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None, *, out=None):
    """Replace NaN, +inf and -inf by finite numbers (torch.nan_to_num); gradient 0 at those slots."""
    require_tensor("nan_to_num", input)
    return _nan_to_num(input, nan=0.0 if nan is None else nan, posinf=posinf, neginf=neginf)


# --- small helpers used by the VJPs above -------------------------------------------------------------------

def _where(condition: Tensor, a, b) -> Tensor:
    from refgrad.ops._registry import OPS
    return OPS["torch.where"].function(condition, a, b)  # resolved late: the selection family owns where


def _exp(x: Tensor) -> Tensor:
    from refgrad.ops.elementwise import exp as exponential
    return exponential(x)
