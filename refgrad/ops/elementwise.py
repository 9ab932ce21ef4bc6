"""Elementwise arithmetic with broadcasting and torch's type promotion, a few unary maths ops, casts and copies.

Each op is a Primitive (NumPy forward + VJP in refgrad ops) and a registered public function. Broadcasting
needs no code in the VJPs: the engine sums each gradient back to its input's shape. The other binary maths ops
live in ``binary.py``, comparisons and logical/bitwise ops in ``comparison.py``, ``where`` and ``clamp`` in
``selection.py``; the names the Tensor operators need are re-exported here.
"""
from __future__ import annotations

import numbers

import numpy as np

from refgrad import dtypes
from refgrad._strides import contiguous_strides, empty_strided, restrided, torch_strides
from refgrad.autograd import zerotensor as _zerotensor
from refgrad.autograd._jvp import no_forward_rule
from refgrad.autograd.engine import non_overlapping_and_dense
from refgrad.autograd.forward_ad import _state as _forward_ad
from refgrad.autograd.grad_mode import _state as _grad_mode
from refgrad.ops._binary_common import (
    _BROADCAST,
    binary_operands,
    check_broadcast,
    check_int_divisor,
    require_tensor,
    type_name,
    unsupported,
)
from refgrad.ops._inplace import INPLACE_UFUNCS
from refgrad.ops._layout import contiguous_result, follows_inputs, relay
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._round_once import round_once, sub_mul_once
from refgrad.ops._scalar_ops import mul_scalar
from refgrad.ops._util import checked_scalar, float_dtype, scalar_array
from refgrad.ops.comparison import (  # noqa: F401 - re-exported for refgrad.ops.__init__ (Tensor operators)
    __and__,
    __invert__,
    __or__,
    __xor__,
    eq,
    ge,
    gt,
    le,
    lt,
    ne,
)
from refgrad.ops.selection import where
from refgrad.tensor import Tensor

_make = Tensor._make
_REAL = frozenset(np.dtype(c) for c in "efdg")  # (native) real floating dtypes

# --- add, sub, rsub, mul ------------------------------------------------------------------------------------

def _scaled(g, alpha, sign=1):
    """torch's maybe_multiply(±grad, alpha): a Scalar product (MulBackward1) when alpha is not 1."""
    if alpha == 1:
        return g if sign == 1 else -g
    return _times_scalar(g if sign == 1 else -g, alpha)


def _times_scalar(t, factor):
    """``t * factor`` as torch's Tensor-Scalar product (MulBackward1); a complex factor of a real tensor (no
    gradient torch computes) as a wrapped number."""
    if isinstance(factor, complex) and not t.dtype.is_complex or not (t.dtype.is_floating_point or t.dtype.is_complex):
        return t * factor
    return mul_scalar(t, factor)


def _minus_alpha_times(a, b, alpha):
    """a - alpha * b; for floats fused (rounded once), as torch's add/sub kernels compute it with an alpha."""
    if alpha == 1:
        return np.subtract(a, b)  # (sub's in-place ufunc, below)
    dtype = np.result_type(a, b)
    if dtype.kind == "f" and not isinstance(alpha, complex):
        return sub_mul_once(a, np.asarray(alpha, dtype), b)
    return a - alpha * b


_add = Primitive("AddBackward0", lambda a, b, alpha: np.add(a, b) if alpha == 1 else _minus_alpha_times(a, b, -alpha),
                 lambda c, g: (g, _scaled(g, c.alpha) if c.next_functions[1][0] is not None else None),
                 inputs=("self", "other"), jvp="elementwise")  # (other's gradient only when it needs one)
_sub = Primitive("SubBackward0", _minus_alpha_times,
                 lambda c, g: (g, _scaled(g, c.alpha, -1) if c.needs_input_grad(1) else None),
                 inputs=("self", "other"), jvp="elementwise")
_rsub_forward = lambda a, b, alpha: _minus_alpha_times(b, a, alpha)
# rsub with a number: torch's node has the tensor as its only input (the number is a parameter)
_rsub = Primitive("RsubBackward1", lambda a, other, alpha: _rsub_forward(a, other, alpha),
                  lambda c, g: _scaled(g, c.alpha, -1), jvp="elementwise")
_rsub_tensor = Primitive("RsubBackward0", follows_inputs(_rsub_forward, lead=1),
                         lambda c, g: (_scaled(g, c.alpha, -1), g), inputs=("self", "other"), jvp="elementwise")


def _mul_vjp(c, g):
    (first, _), (second, _) = c.next_functions  # needs_input_grad(0) and (1), read at once
    return g * c.other if first is not None else None, g * c.self if second is not None else None


_mul = Primitive("MulBackward0", np.multiply, _mul_vjp, inputs=("self", "other"),
                 save={"other": ("self",), "self": ("other",)}, jvp="elementwise")
_neg = Primitive("NegBackward0", np.negative, lambda c, g: -g, jvp="elementwise")


def _is_bool(operand) -> bool:
    return operand._data.dtype.kind == "b" if isinstance(operand, Tensor) else isinstance(operand, (bool, np.bool_))


def _binary_alpha(prim: Primitive, input, other, alpha):
    dtype, (a, b) = binary_operands(prim.grad_fn, input, other, prim)
    if prim is not _add and (_is_bool(input) or _is_bool(other)):
        if _is_bool(input) and _is_bool(other):
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
                               "or `logical_xor()` operator instead.")
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")
    if alpha != 1 and not dtype.is_floating_point and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if alpha != 1:
        checked_scalar(alpha, dtype.numpy)  # torch's overflow check of alpha
    if prim is _rsub:
        return prim(a, cast=dtype, other=b._data, alpha=alpha)
    if prim is _rsub_tensor:  # (its forward lays the result out itself)
        return prim(a, b, cast=dtype, alpha=alpha)
    return relay(prim(a, b, cast=dtype, alpha=alpha), a, b)


def _plain_sum(prim: Primitive, input: Tensor, other: Tensor, alpha, a, b) -> Tensor:
    """add/sub's common case (alpha == 1, two float tensors of one dtype whose shapes broadcast: nothing to promote,
    cast or check), laid out as torch's: NumPy's layout is torch's under 2 dimensions, or when the first operand is
    C-contiguous of the result's shape (_layout.py; the cheap tests first: this is the hot path)."""
    out = prim(input, other, alpha=alpha)
    if input._zerotensor and other._zerotensor:  # the sum of two ZeroTensors is one (zerotensor.py)
        return _zero_sum(relay(out, a, b))
    first, second = a.shape, b.shape
    if (len(first) < 2 and len(second) < 2) or (a.flags.c_contiguous and (
            first == second or first == out._data.shape)):
        return out
    return relay(out, a, b)


@register(method=True, inplace=True)
def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, broadcasting (torch.add)."""
    if alpha == 1 and type(input) is Tensor and type(other) is Tensor and not _forward_ad.stack:
        a, b = input._data, other._data  # the common case, two float tensors of one dtype, of one shape or shapes
        first, second = a.shape, b.shape  # known to broadcast: nothing to promote, cast or check
        if a.dtype is b.dtype and a.dtype in _REAL and (first == second or (first, second) in _BROADCAST):
            return _plain_sum(_add, input, other, alpha, a, b)
    if type(input) is Tensor and input._zerotensor:  # a 0-d ZeroTensor promotes a number as a 0-d double
        other = _zerotensor.number_operand(input, other)
    out = _binary_alpha(_add, input, other, alpha)
    if type(input) is Tensor and input._zerotensor and type(other) is Tensor and other._zerotensor:
        out._zerotensor = True
    return out


@register(method=True, inplace=True, aliases=("subtract",))
def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other, broadcasting (torch.sub)."""
    if alpha == 1 and type(input) is Tensor and type(other) is Tensor and not _forward_ad.stack:
        a, b = input._data, other._data  # as in add
        first, second = a.shape, b.shape
        if a.dtype is b.dtype and a.dtype in _REAL and (first == second or (first, second) in _BROADCAST):
            return _plain_sum(_sub, input, other, alpha, a, b)
    if type(input) is Tensor and input._zerotensor:  # a 0-d ZeroTensor promotes a number as a 0-d double
        other = _zerotensor.number_operand(input, other)
    out = _binary_alpha(_sub, input, other, alpha)
    if type(input) is Tensor and input._zerotensor and type(other) is Tensor and other._zerotensor:
        out._zerotensor = True
    return out


def _zero_sum(result):
    result._zerotensor = True
    return result


@register()
def rsub(input, other, *, alpha=1):
    """other - alpha * input (torch.rsub; ``2 - x`` calls it with a number, RsubBackward1)."""
    require_tensor("rsub", input)
    return _binary_alpha(_rsub_tensor if isinstance(other, Tensor) else _rsub, input, other, alpha)


@register(method=True, inplace=True, aliases=("multiply",))
def mul(input, other, *, out=None):
    """input * other, broadcasting (torch.mul); a Python number is saved as a wrapped 0-d tensor, as in torch."""
    if type(input) is Tensor and not _forward_ad.stack:  # the common cases: nothing to promote, cast or check
        a = input._data
        if type(other) is Tensor:
            b = other._data
            if a.dtype is b.dtype and (a.shape == b.shape or not b.shape or not a.shape):  # (a 0-d factor: a
                if input._zerotensor or other._zerotensor:  # gradient times a saved number, as binary_operands'
                    return _zerotensor.absorb(relay(_mul(input, other), a, b))  # fast case)
                if not b.shape or a.ndim < 2 or a.flags.c_contiguous:  # NumPy's layout is torch's (_layout.py;
                    # one operand with dimensions, under 2 of them, or the first C-contiguous: shapes are equal)
                    return _mul(input, other)
                return relay(_mul(input, other), a, b)
        elif type(other) is float and a.dtype in _REAL:  # a number never changes a floating tensor's dtype
            if input._zerotensor:  # 0-d: torch promotes the number as a 0-d double (zerotensor.number_operand)
                if not a.shape:
                    return mul(input, _zerotensor.number_operand(input, other))
                return _zerotensor.absorb(_mul(input, _make(scalar_array(other, a.dtype))))
            if not _grad_mode.enabled:  # nothing is recorded, so the number's tensor is never saved (nor seen):
                key = id(other)  # one is reused for the same float object (so the same value, sign of zero and NaN
                number = _numbers.get(key)  # payload) and dtype (an optimizer's ``p -= lr * p.grad``)
                if number is not None and number[0] is other and number[1] is a.dtype:
                    return _mul(input, number[2])
                number = _make(scalar_array(other, a.dtype))
                if _seen[0] is other:  # the second time in a row this float missed: remember it (a computed
                    if len(_numbers) >= 32:  # number, used once, is not), keeping it alive so that its id stays
                        _numbers.clear()  # its own
                    _numbers[key] = (other, a.dtype, number)
                else:
                    _seen[0] = other
                return _mul(input, number)
            return _mul(input, _make(scalar_array(other, a.dtype)))
    if type(input) is Tensor and input._zerotensor:  # a 0-d ZeroTensor promotes a number as a 0-d double
        other = _zerotensor.number_operand(input, other)
    dtype, (a, b) = binary_operands("mul", input, other, _mul)
    if a._data.dtype is b._data.dtype is dtype.numpy and not _forward_ad.stack:  # nothing to cast (tangents may
        out = relay(_mul(a, b), a, b)  # have other dtypes: forward AD passes the cast on to its rules)
    else:
        out = relay(_mul(a, b, cast=dtype), a, b)
    # a ZeroTensor times anything is one, 0 even where the other is inf or NaN (refgrad/autograd/zerotensor.py)
    return _zerotensor.absorb(out) if a._zerotensor or b._zerotensor else out


_numbers: dict = {}  # id of a Python float -> (that float, a NumPy dtype, it as a 0-d tensor), for mul under no_grad
_seen = [None]  # the last float that was not in _numbers


@register(method=True, inplace=True, aliases=("negative",))
def neg(input, *, out=None):
    """-input (torch.neg)."""
    if input.dtype is dtypes.bool:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return _neg(input)


# --- division -----------------------------------------------------------------------------------------------

def _rounded_divide(a, b, rounding_mode):
    """torch's 'trunc' / 'floor' division: Python's floor algorithm for floats, exact integer arithmetic."""
    if a.dtype.kind == "f":
        return np.trunc(a / b) if rounding_mode == "trunc" else np.floor_divide(a, b)
    floor = np.floor_divide(a, b)
    if rounding_mode == "floor":
        return floor
    inexact = (np.remainder(a, b) != 0) & ((a < 0) != (b < 0))
    return floor + inexact.astype(floor.dtype)


def _div_vjp(c, g):
    return (g / c.other if c.needs_input_grad(0) else None,
            -g * ((c.self / c.other) / c.other) if c.needs_input_grad(1) else None)


def _div_mode_vjp(c, g):
    """DivBackward2: true-division gradients for rounding_mode=None, zeros for 'trunc'/'floor'."""
    c.other  # noqa: B018 - torch always saves other (and self for other's gradient): unpacking checks versions
    if c.needs_input_grad(1):
        c.self  # noqa: B018
    if c.rounding_mode is None:
        return _div_vjp(c, g)
    zero = g.zeros_like_detached()
    return (zero if c.needs_input_grad(0) else None, zero if c.needs_input_grad(1) else None)


def _not_differentiable(op: str):
    def vjp(c, g):
        raise RuntimeError(f"derivative for aten::{op} is not implemented")
    return vjp


def div_jvp(c, self_t, other_t):
    """torch's forward formula of div.Tensor, (self_t - other_t · result) / other (one division: at other = ±0 it
    is ±inf where the VJP's sum self_t / other - other_t · result / other is inf - inf)."""
    if other_t is None:
        return self_t / c.other
    term = other_t * c.result
    out = (-term if self_t is None else self_t - term) / c.other
    if out.is_complex() and (c.other._data == 0).any():
        # torch's complex division of the NaN-carrying numerator (other_t · inf) by 0 is NaN + NaNj; NumPy's keeps
        # the infinite part (nan - inf j)
        from refgrad.ops.selection import where
        out = where(Tensor._make(c.other._data == 0), complex(np.nan, np.nan), out)
    return out


div_jvp.complex = True  # holomorphic: the same formula in complex arithmetic (see refgrad.autograd._jvp)
_div = Primitive("DivBackward0", np.true_divide, _div_vjp, inputs=("self", "other"),
                 save={"other": ("self", "other"), "self": ("other",)}, jvp=div_jvp)
_div_rounded = Primitive("DivBackward2", lambda a, b, rounding_mode: np.true_divide(a, b) if rounding_mode is None
                         else _rounded_divide(a, b, rounding_mode), _div_mode_vjp, inputs=("self", "other"),
                         save={"self": ("other",), "other": None}, jvp="elementwise")
_floor_divide = Primitive("NotImplemented", follows_inputs(lambda a, b: _rounded_divide(a, b, "floor")),
                          _not_differentiable("floor_divide"), inputs=("self", "other"),
                          jvp=no_forward_rule("aten::floor_divide", differentiable=False))


_NO_MODE = object()  # torch.div without the rounding_mode keyword (DivBackward0; with it, even None: DivBackward2)


@register(method=True, inplace=True, aliases=("divide",))
def div(input, other, *, rounding_mode=_NO_MODE, out=None):
    """input / other (torch.div): true division (integers give the default float dtype), or rounded with
    ``rounding_mode='trunc'|'floor'`` (dtype kept, zero gradient; integer division by zero raises)."""
    if rounding_mode not in (_NO_MODE, None, "trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                           f"'{rounding_mode}'")
    if rounding_mode is _NO_MODE and type(input) is Tensor and input._zerotensor:  # a 0-d ZeroTensor promotes a
        other = _zerotensor.number_operand(input, other)  # number as a 0-d double
    dtype, (a, b) = binary_operands("div", input, other, _div if rounding_mode is _NO_MODE else None)
    if rounding_mode is _NO_MODE:
        if a._zerotensor and not b._zerotensor:  # a ZeroTensor divided by anything but one (zerotensor.py)
            return _zerotensor.absorb(relay(_div(a, b, cast=float_dtype(dtype)), a, b))
        if b._zerotensor and not a._zerotensor:  # anything (even NaN) divided by one: torch's kernel fills inf
            out = relay(_div(a, b, cast=float_dtype(dtype)), a, b)
            out._data.fill(np.inf)  # (a fresh array)
            return out
        return relay(_div(a, b, cast=float_dtype(dtype)), a, b)
    if rounding_mode is None:
        return relay(_div_rounded(a, b, cast=float_dtype(dtype), rounding_mode=None), a, b)
    if dtype is dtypes.bool:
        raise unsupported(f"div_{rounding_mode}_cpu", dtype)
    check_int_divisor(dtype, b, a, b)
    return relay(_div_rounded(a, b, cast=dtype, rounding_mode=rounding_mode), a, b)


# each op's forward without an alpha / rounding mode, which apply_inplace writes straight into self under no_grad
INPLACE_UFUNCS.update({add: np.add, sub: np.subtract, mul: _mul.forward, div: _div.forward})


@register(method=True, inplace=True)
def true_divide(input, other, *, out=None):
    """input / other, always true division (torch.true_divide)."""
    return div(input, other)


@register(method=True, inplace=True)
def floor_divide(input, other, *, out=None):
    """Floor of input / other (torch.floor_divide); not differentiable (its backward raises, as in torch)."""
    dtype, (a, b) = binary_operands("floor_divide", input, other)
    if dtype is dtypes.bool:
        raise unsupported("div_floor_cpu", dtype)
    check_int_divisor(dtype, b, a, b)
    return _floor_divide(a, b, cast=dtype)


# --- pow ----------------------------------------------------------------------------------------------------

def _power(a, b):
    """NumPy power with torch's integer rule: a negative exponent gives 0 unless the base is ±1."""
    if a.dtype.kind in "iu" and np.any(np.asarray(b) < 0):
        positive = np.power(a, np.maximum(b, 0))
        odd = np.asarray(np.remainder(b, 2) != 0)
        negative = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0)).astype(a.dtype)
        return np.where(np.asarray(b) < 0, negative, positive)
    result = np.power(a, b)
    if result.dtype.kind == "f":
        # NumPy's one-element exponent 0.5 (or -0.5) is a square root, NaN at -inf and -0 at -0; torch's pow by a
        # tensor exponent is C's pow for every element: a non-integer y gives inf / +0 at -inf and +0 / inf at ±0
        b = np.asarray(b)
        fraction = np.isfinite(b) & (np.floor(b) != b)
        if not b.shape and not fraction:  # one integral exponent (x ** 2's gradient, x ** 1): nothing to fix
            return result
        at_minus_inf, at_zero = fraction & (a == -np.inf), fraction & (a == 0)
        if at_minus_inf.any() or at_zero.any():
            fixed = np.where(at_minus_inf, np.where(b > 0, np.inf, 0.0), result)
            result = np.where(at_zero, np.where(b > 0, 0.0, np.inf), fixed).astype(result.dtype, copy=False)
    return result


def _pow_scalar_vjp(c, g):
    x = c.self  # unpacked even when unused: a freed graph must refuse a second backward, as in torch
    exponent = c.exponent
    if exponent == 0:
        return g.zeros_like_detached()
    if exponent == 2 and not _grad_mode.enabled:  # x ** 2, not recorded: x.pow(1) is
        return g * (x * 2.0)  # x itself (torch's pow by 1 is a copy), and 2 * x the same product as a float
    return g * mul_scalar(x ** (exponent - 1), exponent)  # torch: exponent * self.pow(exponent - 1) (MulBackward1)


def _pow_tensor_vjp(c, g):
    """torch's formulas, including where their double backward gives NaN (0 * inf in the masked branch)."""
    x, e, result = c.self, c.exponent, c.result  # torch saves and unpacks all three whatever requires grad
    grad_x = grad_e = None
    if c.needs_input_grad(0):
        grad_x = where(e == 0, 0.0, g * (e * x ** (e - 1)))
    if c.needs_input_grad(1):
        # torch takes the log of self cast to the result's dtype but tests self == 0 before the cast: a float64 0-d
        # base of 5e-324 with a float32 exponent is 0 in the log (-inf; NaN times a zero cotangent), not masked
        base = x if x.dtype == result.dtype else to(x, result.dtype)
        grad_e = g * where((x == 0) & ((e.real if e.dtype.is_complex else e) >= 0), 0.0, result * log(base))
    return grad_x, grad_e


def _pow_base_vjp(c, g):
    base, e = c.base, c.exponent
    log_base = float(np.log(base)) if base > 0 else (-np.inf if base == 0 else np.nan)
    scaled = c.result * log_base
    if base == 0:  # torch: d/de 0**e = 0 for e >= 0
        scaled = where(e >= 0, 0.0, scaled)
    return g * scaled


_POW_SPECIAL = {1: lambda v: v.copy(order="K"), 0.5: np.sqrt, -0.5: lambda v: 1 / np.sqrt(v), -1: lambda v: 1 / v,
                2: lambda v: v * v, -2: lambda v: 1 / (v * v), 3: lambda v: v * v * v}  # 1: torch copies


def _pow_scalar_forward(a, exponent):
    """torch computes these exponents with sqrt/rsqrt/reciprocal/products: it shows at -0 (rsqrt(-0) = -inf)."""
    if a.dtype.kind == "f":
        special = _POW_SPECIAL.get(exponent)
        if special is not None:
            return special(a).astype(a.dtype, copy=False)
    return _power(a, np.asarray(exponent, a.dtype))


_pow_scalar = Primitive("PowBackward0", _pow_scalar_forward, _pow_scalar_vjp, save=("self",), jvp="elementwise")
_pow_tensor = Primitive("PowBackward1", follows_inputs(_power), _pow_tensor_vjp, inputs=("self", "exponent"),
                        save=("self", "exponent", "result"), jvp="elementwise")
_pow_base = Primitive("PowBackward2", contiguous_result(lambda e, base: _power(np.asarray(base, e.dtype), e)),
                      _pow_base_vjp, inputs=("exponent",), save=("exponent", "result"), jvp="elementwise")


@register(method=True, inplace=True)
def pow(input, exponent, *, out=None):  # noqa: A001 - torch.pow
    """input ** exponent for tensor or Python-number base and exponent (torch.pow)."""
    if not isinstance(input, Tensor):
        dtype = dtypes.result_type(input, exponent)
        if dtype is dtypes.bool:
            raise unsupported("pow", dtype)
        return _pow_base(exponent, cast=dtype, base=input)
    if not isinstance(exponent, Tensor):
        if (type(exponent) is int or type(exponent) is float) and input._data.dtype in _REAL:
            return _pow_scalar(input, exponent=exponent)  # a number never changes a floating tensor's dtype
        if not isinstance(exponent, (numbers.Number, np.bool_)):
            raise TypeError(f"pow(): argument 'exponent' must be Tensor or Number, not {type(exponent).__name__}")
        if input._data.dtype.kind == "f" and (type(exponent) is int or type(exponent) is float):
            return _pow_scalar(input, exponent=exponent)  # a number never changes a floating tensor's dtype
        dtype = dtypes.result_type(input, exponent)
        if dtype is dtypes.bool:  # True/False ** a bool: computed on integers
            return Tensor._make(np.power(input._data.astype(np.int64), int(exponent)).astype(bool))
        if not dtype.is_floating_point and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return _pow_scalar(input, cast=dtype, exponent=exponent)
    dtype, (a, b) = binary_operands("pow", input, exponent, _pow_tensor)
    if dtype is dtypes.bool:
        raise unsupported("pow", dtype)
    return _pow_tensor(a, b, cast=dtype)


@register(method=True)
def float_power(input, exponent, *, out=None):
    """input ** exponent computed in float64 (torch.float_power): the inputs are cast (ToCopyBackward0) first."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power() received an invalid combination of arguments - got (number, number)")
    complex_ = any(isinstance(v, complex) or (isinstance(v, Tensor) and v.dtype.is_complex) for v in (input, exponent))
    wide, number = (dtypes.complex128, complex) if complex_ else (dtypes.float64, float)  # complex: complex128
    base = to(input, wide) if isinstance(input, Tensor) else number(input)
    power = to(exponent, wide) if isinstance(exponent, Tensor) else number(exponent)
    return pow(base, power)


@register("float_power_", namespace="torch.Tensor", method="float_power_")
def _float_power_inplace(self, exponent):
    """In-place float_power (torch.Tensor.float_power_): only a float64 tensor can hold the result."""
    from refgrad.ops._inplace import apply_inplace
    if self.dtype is not dtypes.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {type_name(self.dtype)} but the operation's "
                           f"result requires dtype Double")
    return apply_inplace(self, float_power, exponent)


_reciprocal = Primitive("ReciprocalBackward0", lambda a: np.true_divide(1, a), lambda c, g: -g * (c.result * c.result),
                        save=("result",), jvp="elementwise")


@register(method=True, inplace=True)
def reciprocal(input, *, out=None):
    """1 / input (torch.reciprocal)."""
    return _reciprocal(input, cast=float_dtype(input.dtype))


# --- unary math used across families ------------------------------------------------------------------------

def _unary_float(prim: Primitive):
    def apply(input, *, out=None):
        return prim(input, cast=float_dtype(input.dtype))
    return apply


_exp = Primitive("ExpBackward0", round_once(np.exp), lambda c, g: g * c.result, save=("result",), jvp="elementwise")
_log = Primitive("LogBackward0", round_once(np.log), lambda c, g: g / c.self, save=("self",), jvp="elementwise")
exp = register("exp", method=True, inplace=True)(_unary_float(_exp))
log = register("log", method=True, inplace=True)(_unary_float(_log))
exp.__doc__ = "e ** input, elementwise (torch.exp)."
log.__doc__ = "Natural logarithm, elementwise (torch.log); log(0) = -inf and its gradient +inf."


def _sigmoid_forward(a):
    return (1 / (1 + np.exp(-a))).astype(a.dtype, copy=False)


def _sigmoid_backward_vjp(c, gg):
    grad_output, output = c.grad_output, c.output
    return (_sigmoid_backward(gg, output) if c.needs_input_grad(0) else None,
            gg * grad_output * (-2 * output + 1) if c.needs_input_grad(1) else None)


# torch's sigmoid_backward(grad_output, output), an op of its own (SigmoidBackwardBackward0 in a double backward)
_sigmoid_backward = Primitive("SigmoidBackwardBackward0", lambda g, y: g * (1 - y) * y, _sigmoid_backward_vjp,
                              inputs=("grad_output", "output"), save=("grad_output", "output"), jvp="elementwise")
_sigmoid = Primitive("SigmoidBackward0", _sigmoid_forward, lambda c, g: _sigmoid_backward(g, c.result),
                     save=("result",), jvp="elementwise")
sigmoid = register("sigmoid", method=True, inplace=True)(_unary_float(_sigmoid))
sigmoid.__doc__ = "1 / (1 + exp(-input)) (torch.sigmoid)."


# --- casts and copies ---------------------------------------------------------------------------------------

def _clone_forward(a, contiguous=False):
    """torch's preserve_format: a dense tensor keeps its layout, an overlapping (expanded) one becomes contiguous;
    ``contiguous`` (contiguous_format): C-contiguous. An empty tensor is dense: its copy keeps torch's strides."""
    if a.size:
        if contiguous or 0 in a.strides:
            return np.copy(a, order="C")
        out = np.copy(a, order="K")
        if out.strides == a.strides or not non_overlapping_and_dense(a):
            return out
        return restrided(out, a.strides)  # (a size-1 dimension's stride too, where NumPy gives it one of its own)
    return empty_strided(a.shape, contiguous_strides(a.shape) if contiguous else torch_strides(a), a.dtype)


_clone = Primitive("CloneBackward0", _clone_forward, lambda c, g: g, jvp="elementwise")


def _to_copy_forward(a, dtype):
    if a.dtype.kind == "c" and not dtype.is_complex:
        import warnings
        warnings.warn("Casting complex values to real discards the imaginary part (Triggered internally at "
                      "/refgrad/ops/elementwise.py.)", UserWarning, stacklevel=4)
        a = a.real
    return a.astype(dtype.numpy)


_to_copy = Primitive("ToCopyBackward0", _to_copy_forward, lambda c, g: g, jvp="elementwise")
_copy = Primitive("CopyBackwards", lambda dst, src: np.broadcast_to(src, dst.shape).astype(dst.dtype),
                  lambda c, g: (g * 0, g), inputs=("self", "src"), jvp="elementwise")


@register(method=True)
def clone(input, *, memory_format=None):
    """A copy that stays in the graph (torch.clone); ``memory_format=contiguous_format``: C-contiguous (other
    formats keep the layout, as preserve_format: refgrad has no channels_last layout)."""
    if memory_format is not None and (not input._data.flags.c_contiguous or not input._data.size):
        import refgrad
        if memory_format is refgrad.contiguous_format:
            return _clone(input, contiguous=True)
    return _clone(input)


def to(self, *args, **kwargs):
    """Tensor.to(dtype) / to(device) / to(other): a cast recorded as ToCopyBackward0 (no-op if nothing changes)."""
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, dtypes.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
    copy = kwargs.get("copy", False)
    if dtype is None or dtype is self.dtype:
        return _clone(self) if copy else self
    return _to_copy(self, dtype=dtype)


def copy_(self, src, non_blocking: bool = False):
    """Copy ``src`` (broadcast, cast) into this tensor in place (torch.Tensor.copy_)."""
    from refgrad.ops._inplace import apply_inplace
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' (position 1) must be Tensor, not {type(src).__name__}")
    return apply_inplace(self, _copy_into, src)


def _copy_into(old, src):
    shape = check_broadcast(old, src)  # (after the checks of the write: autograd's, torch's overlap check)
    if shape != tuple(old.shape):
        raise RuntimeError(f"output with shape [{', '.join(map(str, old.shape))}] doesn't match the broadcast "
                           f"shape [{', '.join(map(str, shape))}]")
    return _copy(old, src)


_copy_into.zerotensor_copy = True  # a ZeroTensor refuses copy_ with its own message (refgrad/autograd/zerotensor.py)


_zero = Primitive("ZeroBackward0", np.zeros_like, lambda c, g: g.zeros_like_detached(), jvp="elementwise")
_fill = Primitive("FillBackward0", lambda a, value: np.full_like(a, value), lambda c, g: g.zeros_like_detached(),
                  jvp="elementwise")


def zero_(self):
    """Fill with zeros in place (torch.Tensor.zero_)."""
    from refgrad.ops._inplace import apply_inplace
    return apply_inplace(self, lambda old: _zero(old), _overlapping=True)


def fill_(self, value):
    """Fill with ``value`` in place (torch.Tensor.fill_)."""
    from refgrad.ops._inplace import apply_inplace
    if isinstance(value, Tensor):
        value = value.item()  # (unchecked: torch converts a tensor's value as a cast)
    else:  # torch's overflow check (a 1-element float16 tensor: its fast path, unchecked)
        value = checked_scalar(value, self._data.dtype, half_checked=self._data.size != 1).item()
    return apply_inplace(self, lambda old: _fill(old, value=value), _overlapping=True)
