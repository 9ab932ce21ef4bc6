"""torch.special's scaled and normal-distribution functions: entr, erfcx, i0e, i1e, ndtr, ndtri, log_ndtr, and
xlog1py, with torch 2.13.0's node names and its values at 0, ±inf and NaN.

``ndtr`` is the composition torch itself records ((1 + erf(x/√2)) / 2); the rest are Primitives whose VJPs are
written in refgrad ops, so double backward works. Kernels are in :mod:`refgrad.ops._special_math_extra`.
"""
from __future__ import annotations

import math

import numpy as np

from refgrad.autograd import zerotensor as _zerotensor
from refgrad.ops import _special_math_extra as kernels
from refgrad.ops._binary_common import binary_operands, constant
from refgrad.ops._layout import follows_inputs, like_first
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._scalar_ops import add_scalar, mul_scalar
from refgrad.ops._util import float_dtype
from refgrad.ops.elementwise import exp, log
from refgrad.ops.selection import where
from refgrad.ops.unary import erf, require_tensor, sgn
from refgrad.tensor import Tensor

__all__ = ["entr", "erfcx", "i0e", "i1e", "ndtr", "ndtri", "log_ndtr", "xlog1py"]

_S = "torch.special"
_SQRT1_2 = math.sqrt(0.5)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _entr_forward(a):
    with np.errstate(divide="ignore", invalid="ignore"):
        value = -a * np.log(a)
    return np.where(a < 0, -np.inf, np.where(a == 0, np.zeros((), a.dtype), value)).astype(a.dtype, copy=False)


def _i1e_vjp(c, g):
    x = c.self
    tiny = float(np.finfo(x.dtype.numpy).eps)
    regular = x.abs() > tiny  # torch: slope 0.5 for |x| <= eps and for NaN
    safe = where(regular, x, tiny)
    return g * where(regular, i0e(safe) - c.result * (sgn(safe) + 1 / safe), 0.5)


_entr = Primitive("SpecialEntrBackward0", _entr_forward, lambda c, g: g * -(log(c.self) + 1), save=("self",))
def _derivative_primitive(name: str, kernel) -> Primitive:
    """The order-th derivative of a unary function as a node whose VJP is the next derivative: float64 kernels
    without the cancellation of torch's float32 formulas (see _special_math_extra), to any order. A zero cotangent
    gives 0 wherever this derivative is finite at a finite x, also where the next one overflows (erfcx near -26.5
    in float64): torch multiplies it by the finite factors of its formula (erfcx and erfcx') instead. At x = ±inf
    a factor of torch's formula is infinite (log_ndtr'' = R·(-x - R)), so its NaN stands even there."""
    def vjp(c, g):
        zero = constant((g._data == 0) & np.isfinite(c.result._data) & np.isfinite(c.self._data))
        return (g * primitive(c.self, order=c.order + 1)).masked_fill(zero, 0.0)

    primitive = Primitive(name, kernel, vjp, save=("self", "result"), jvp="elementwise")
    return primitive


# torch's first derivatives, 2x·erfcx(x) - 2/√π and exp(-x²/2 - log_ndtr(x))/√(2π) (saving self and result),
# evaluated without their float32 cancellation; same values at ±inf and NaN
_erfcx_derivative = _derivative_primitive("SpecialErfcxDerivativeBackward0", kernels.erfcx_derivative)
_log_ndtr_derivative = _derivative_primitive("SpecialLogNdtrDerivativeBackward0", kernels.log_ndtr_derivative)
_erfcx = Primitive("SpecialErfcxBackward0", kernels.erfcx,
                   lambda c, g: g * _erfcx_derivative(c.self, order=1), save=("self", "result"))
_i0e = Primitive("SpecialI0EBackward0", kernels.i0e, lambda c, g: g * (i1e(c.self) - sgn(c.self) * c.result),
                 save=("self", "result"))
_i1e = Primitive("SpecialI1EBackward0", kernels.i1e, _i1e_vjp, save=("self", "result"))
_ndtri = Primitive("SpecialNdtriBackward0", like_first(kernels.ndtri),
                   lambda c, g: g * _SQRT_2PI * exp(c.result * c.result / 2), save=("result",))
_log_ndtr = Primitive("SpecialLogNdtrBackward0", kernels.log_ndtr,
                      lambda c, g: _zerotensor.materialized(g) * _log_ndtr_derivative(c.self, order=1),
                      save=("self", "result"))  # (torch: a fused backward, no ZeroTensor out)


def _unary(name: str, prim: Primitive, doc: str):
    def op(input, *, out=None):
        require_tensor(f"special_{name}", input)
        return prim(input, cast=float_dtype(input.dtype))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return register(name, namespace=_S)(op)


entr = _unary("entr", _entr, "-x·log(x): 0 at 0, -inf for x < 0 (torch.special.entr).")
erfcx = _unary("erfcx", _erfcx, "exp(x²)·erfc(x) (torch.special.erfcx).")
i0e = _unary("i0e", _i0e, "exp(-|x|)·I0(x) (torch.special.i0e).")
i1e = _unary("i1e", _i1e, "exp(-|x|)·I1(x) (torch.special.i1e).")
ndtri = _unary("ndtri", _ndtri, "The standard normal quantile: -inf at 0, inf at 1, NaN outside (torch.special.ndtri).")
log_ndtr = _unary("log_ndtr", _log_ndtr, "log of the standard normal CDF (torch.special.log_ndtr).")


@register("ndtr", namespace=_S)
def ndtr(input, *, out=None):
    """The standard normal CDF, recorded as torch records it: (1 + erf(x·√½)) · ½ (torch.special.ndtr)."""
    require_tensor("special_ndtr", input)
    if not input.dtype.is_floating_point:
        input = input.to(float_dtype(input.dtype))
    return mul_scalar(add_scalar(erf(mul_scalar(input, _SQRT1_2)), 1.0), 0.5)


# --- xlog1py ----------------------------------------------------------------------------------------------------

def _xlog1py_forward(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        product = x * np.log1p(y)
    return np.where(np.isnan(y), y, np.where(x == 0, np.zeros_like(product), product))


def _xlog1py_vjp(c, g):
    grad_x = grad_y = None
    if c.needs_input_grad(0):
        x_values = c.self._data.astype(g.dtype.numpy, copy=False)
        y_values = c.other._data.astype(g.dtype.numpy, copy=False)
        zero_x = constant((x_values == 0) & (y_values <= -1))  # torch: 0 where x == 0 and y <= -1
        grad_x = xlog1py(g, c.other).masked_fill(zero_x, 0.0)
    if c.needs_input_grad(1):
        grad_y = g * c.self / (c.other + 1)
    return grad_x, grad_y


_xlog1py = Primitive("SpecialXlog1PyBackward0", follows_inputs(_xlog1py_forward), _xlog1py_vjp,
                     inputs=("self", "other"), save=("self", "other"))
_xlog1py_number_other = Primitive("SpecialXlog1PyBackward2", follows_inputs(_xlog1py_forward), _xlog1py_vjp,
                                  inputs=("self", "other"), save=("self", "other"))
_xlog1py_number_self = Primitive(
    "SpecialXlog1PyBackward1", lambda y, self_value: _xlog1py_forward(np.asarray(self_value, y.dtype), y),
    lambda c, g: g * c.self_value / (c.other + 1), inputs=("other",), save=("other",))


@register("xlog1py", namespace=_S)
def xlog1py(input, other, *, out=None):
    """input · log1p(other), 0 where input == 0 unless other is NaN (torch.special.xlog1py)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        require_tensor("special_xlog1py", input)
    dtype, (a, b) = binary_operands("special_xlog1py", input, other)
    dtype = float_dtype(dtype)
    if not isinstance(input, Tensor):
        return _xlog1py_number_self(b, cast=dtype, self_value=input)
    if not isinstance(other, Tensor):
        return _xlog1py_number_other(a, b, cast=dtype)
    return _xlog1py(a, b, cast=dtype)


