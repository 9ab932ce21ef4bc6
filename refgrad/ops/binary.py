"""Binary maths ops: atan2, hypot, maximum/minimum, fmax/fmin, fmod/remainder, copysign, xlogy, logaddexp(2),
lerp, addcmul/addcdiv and dist, with torch 2.13.0's gradients at ties, zeros and infinities.

Piecewise-constant factors of a VJP (tie weights, trunc/floor of a quotient, masks) are constants computed from
the saved inputs; everything else is written in refgrad ops so double backward works.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from refgrad import dtypes
from refgrad.autograd import zerotensor as _zerotensor
from refgrad.autograd._jvp import elementwise_in, no_forward_rule
from refgrad.ops._binary_common import (
    binary_operands,
    check_broadcast,
    check_int_divisor,
    constant,
    require_tensor,
    type_name,
    unsupported,
)
from refgrad.ops._layout import follows_inputs
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._round_once import sub_mul_once
from refgrad.ops._scalar_ops import add_scalar, mul_scalar
from refgrad.ops._util import checked_scalar, float_dtype, promote
from refgrad.ops.elementwise import div, exp, pow, reciprocal
from refgrad.ops.linalg_norms import _vector_norm_forward
from refgrad.ops.selection import where
from refgrad.ops.unary import zeros_vjp
from refgrad.tensor import Tensor

__all__ = ["atan2", "hypot", "maximum", "minimum", "fmax", "fmin", "fmod", "remainder", "copysign", "xlogy",
           "logaddexp", "logaddexp2", "lerp", "addcmul", "addcdiv", "dist"]


def _tensors(name: str, input, other, *, floating: bool = False, kernel: str | None = None, bool_ok=True,
             primitive=None):
    """Both operands must be tensors; promoted dtype (to float for floating ops), broadcast checked."""
    require_tensor(name, input, other)
    dtype, operands = binary_operands(name, input, other, primitive)
    if kernel is not None and (not dtype.is_floating_point or (dtype is dtypes.bool and not bool_ok)):
        raise unsupported(kernel, dtype)
    return (float_dtype(dtype) if floating else dtype), operands


def _needs(c, *indices):
    return [c.needs_input_grad(i) for i in indices]


def _saved_arrays(c, g, *names):
    """The saved inputs' values in the result dtype: torch's backward compares them after type promotion."""
    return [getattr(c, name)._data.astype(g.dtype.numpy, copy=False) for name in names]


# --- atan2, hypot -------------------------------------------------------------------------------------------

def _atan2_vjp(c, g):
    x, y = c.self, c.other
    denominator = x * x + y * y
    # torch zeroes the reciprocal where x² + y² is exactly 0 (atan2(0, 0), or squares underflowing to 0): gradient
    # (0, -0), not NaN; a nonzero subnormal x² + y² whose reciprocal overflows stays inf (float32 atan2(0, 4e-21):
    # gradient (g * inf, NaN) in torch 2.13)
    recip = reciprocal(denominator).masked_fill(constant(denominator._data == 0), 0.0)
    need_x, need_y = _needs(c, 0, 1)
    return (g * y * recip if need_x else None, g * -x * recip if need_y else None)


def _atan2_jvp(c, t_self, t_other):
    # torch's forward formula divides by x² + y² unmasked: NaN at atan2(0, 0), where the VJP gives (0, -0)
    x, y = c.self, c.other
    numerator = (t_self * y if t_self is not None else 0) - (t_other * x if t_other is not None else 0)
    return numerator / (x * x + y * y)


_atan2 = Primitive("Atan2Backward0", follows_inputs(np.arctan2), _atan2_vjp, inputs=("self", "other"),
                   save=("self", "other"), jvp=_atan2_jvp)


@register(method=True, inplace=True, aliases=("arctan2",))
def atan2(input, other, *, out=None):
    """Angle of (other, input) in radians (torch.atan2); at (0, 0) the gradient is (0, -0) as in torch."""
    dtype, (a, b) = _tensors("atan2", input, other, floating=True, primitive=_atan2)
    return _atan2(a, b, cast=dtype)


_hypot = Primitive("HypotBackward0", follows_inputs(np.hypot),
                   lambda c, g: (g * c.self / c.result if c.needs_input_grad(0) else None,
                                 g * c.other / c.result if c.needs_input_grad(1) else None),
                   inputs=("self", "other"), save={"self": ("self",), "other": ("other",), "result": None},
                   jvp="elementwise")


@register(method=True, inplace=True)
def hypot(input, other, *, out=None):
    """sqrt(input² + other²) (torch.hypot); floats only; gradient NaN at (0, 0) as in torch."""
    dtype, (a, b) = _tensors("hypot", input, other, kernel="hypot_cpu", primitive=_hypot)
    return _hypot(a, b, cast=dtype)


# --- maximum, minimum, fmax, fmin ---------------------------------------------------------------------------

def _extremum_vjp(loses):
    """maximum/minimum as torch 2.13 writes them: where(x == y, g / 2, g) (a tie splits the gradient), the losing
    input's share masked to 0 (a select, not a product by 0: an infinite or NaN cotangent there gives 0, and so does
    the second order through it); NaN gives both the full gradient."""
    def vjp(c, g):
        x, y = _saved_arrays(c, g, "self", "other")
        shared = where(constant(x == y), g / 2, g)
        need_x, need_y = _needs(c, 0, 1)
        return (shared.masked_fill(constant(loses(x, y)), 0) if need_x else None,  # torch's masked_fill_
                shared.masked_fill(constant(loses(y, x)), 0) if need_y else None)
    return vjp


def _nan_ignoring_vjp(wins):
    """fmax/fmin (torch 2.13): the whole gradient goes to the first input on a tie or when the other is NaN."""
    def vjp(c, g):
        x, y = _saved_arrays(c, g, "self", "other")
        first = wins(x, y) | (x == y) | np.isnan(y)
        need_x, need_y = _needs(c, 0, 1)
        return (g.masked_fill(constant(~first), 0) if need_x else None, g.masked_fill(constant(first), 0) if need_y
                else None)
    return vjp


def _choice_jvp(first_wins, split_ties: bool):
    """torch 2.13's forward formulas, which differ from its VJPs at NaN and (fmax/fmin) at ties: the first
    operand's tangent where ``first_wins(x, y)``, else the second's; maximum/minimum average the two on a tie."""
    def jvp(c, t_x, t_y):
        x, y = c.self, c.other
        t_x = t_x if t_x is not None else constant(np.zeros(x.shape, x._data.dtype))
        t_y = t_y if t_y is not None else constant(np.zeros(y.shape, y._data.dtype))
        x_, y_ = x._data, y._data
        chosen = where(constant(first_wins(x_, y_)), t_x, t_y)
        return where(constant(x_ == y_), (t_x + t_y) / 2, chosen) if split_ties else chosen
    return jvp


_maximum = Primitive("MaximumBackward0", follows_inputs(np.maximum), _extremum_vjp(np.less), inputs=("self", "other"),
                     save=("self", "other"), jvp=_choice_jvp(np.greater, True))
_minimum = Primitive("MinimumBackward0", follows_inputs(np.minimum), _extremum_vjp(np.greater),
                     inputs=("self", "other"), save=("self", "other"), jvp=_choice_jvp(np.less, True))
_fmax = Primitive("FmaxBackward0", follows_inputs(np.fmax), _nan_ignoring_vjp(np.greater), inputs=("self", "other"),
                  save=("self", "other"), jvp=_choice_jvp(lambda x, y: (x > y) | np.isnan(y), False))
_fmin = Primitive("FminBackward0", follows_inputs(np.fmin), _nan_ignoring_vjp(np.less), inputs=("self", "other"),
                  save=("self", "other"), jvp=_choice_jvp(lambda x, y: (x <= y) | np.isnan(y), False))


def _binary(prim: Primitive, name: str, doc: str, **options):
    def op(input, other, *, out=None):
        dtype, (a, b) = _tensors(name, input, other, primitive=prim, **options)
        return prim(a, b, cast=dtype)
    op.__name__ = name
    op.__doc__ = doc
    return op


maximum = register("maximum", method=True)(_binary(
    _maximum, "maximum", "Elementwise maximum, NaN-propagating (torch.maximum); a tie splits the gradient 0.5/0.5."))
minimum = register("minimum", method=True)(_binary(
    _minimum, "minimum", "Elementwise minimum, NaN-propagating (torch.minimum); a tie splits the gradient 0.5/0.5."))
fmax = register("fmax", method=True)(_binary(
    _fmax, "fmax", "Elementwise maximum ignoring NaN (torch.fmax); a tie sends the gradient to input (2.13)."))
fmin = register("fmin", method=True)(_binary(
    _fmin, "fmin", "Elementwise minimum ignoring NaN (torch.fmin); a tie sends the gradient to input (2.13)."))


# --- fmod, remainder ----------------------------------------------------------------------------------------

def _remainder_forward(a, b):
    """torch's remainder: fmod, shifted by the divisor when the signs differ (the result takes b's sign)."""
    if a.dtype.kind != "f":
        return np.remainder(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        mod = np.fmod(a, b)
        return np.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)


def _quotient_vjp(rounding):
    """d/dx = 1, d/dy = -q with q the rounded quotient: trunc(x / y) for fmod, floor division for remainder.
    q is a rounded division (zero gradient), so double backward sees zeros, as torch's does."""
    def vjp(c, g):
        grad_y = None
        if c.needs_input_grad(1):
            grad_y = -g * div(c.self, c.other, rounding_mode=rounding)
        return (g if c.needs_input_grad(0) else None, grad_y)
    return vjp


def _not_implemented(kernel):
    def vjp(c, g):
        raise RuntimeError(f"derivative for aten::{kernel} is not implemented")
    return vjp


def _modulo(name, np_fn, kernel, tensor_node, scalar_node):
    np_fn = follows_inputs(np_fn)
    tensor_prim = Primitive(tensor_node, np_fn, _quotient_vjp(name), inputs=("self", "other"),
                            save={"self": ("other",), "other": ("other",)}, jvp="elementwise")
    scalar_prim = Primitive(scalar_node, np_fn, lambda c, g: (g, None), inputs=("self", "other"), jvp="elementwise")
    number_self = Primitive("NotImplemented", np_fn, _not_implemented(kernel), inputs=("self", "other"),
                            jvp=no_forward_rule(f"aten::{kernel}", differentiable=False))

    def op(input, other, *, out=None):
        if not isinstance(input, Tensor) and (kernel == "fmod" or not isinstance(other, Tensor)):
            require_tensor(kernel, input, other)
        dtype, (a, b) = binary_operands(kernel, input, other)
        if dtype is dtypes.bool:
            raise unsupported(f"{kernel}_cpu", dtype)
        check_int_divisor(dtype, b, a, b)
        prim = tensor_prim if isinstance(other, Tensor) else scalar_prim
        return (prim if isinstance(input, Tensor) else number_self)(a, b, cast=dtype)
    return op


fmod = register("fmod", method=True, inplace=True)(_modulo("trunc", np.fmod, "fmod", "FmodBackward1",
                                                           "FmodBackward0"))
fmod.__doc__ = "C-style remainder, the sign of input (torch.fmod); d/d other = -trunc(input / other)."
remainder = register("remainder", method=True, inplace=True)(_modulo(
    "floor", _remainder_forward, "remainder", "RemainderBackward1", "RemainderBackward0"))
remainder.__doc__ = ("Python-style remainder, the sign of other (torch.remainder); d/d other = "
                     "-floor_divide(input, other).")


# --- copysign -----------------------------------------------------------------------------------------------

def _copysign_self_grad(c, g):
    x, result = c.self, c.result
    zero = constant(x._data.astype(g.dtype.numpy, copy=False) == 0)
    return g * (result / x).masked_fill(zero, 0.0)  # ±1; 0 at x = ±0; NaN at x = ±inf (torch)


def _copysign_vjp(c, g):
    c.result  # noqa: B018 - torch always saves the result (self only for self's gradient)
    grad_x = _copysign_self_grad(c, g) if c.needs_input_grad(0) else None
    return (grad_x, g.zeros_like_detached() if c.needs_input_grad(1) else None)


_copysign = Primitive("CopysignBackward0", follows_inputs(np.copysign), _copysign_vjp, inputs=("self", "other"),
                      save={"self": ("self",), "result": None}, jvp=elementwise_in(0))  # torch: other has no term
_copysign_scalar = Primitive("CopysignBackward1", lambda a, other: np.copysign(a, np.asarray(other, a.dtype)),
                             _copysign_self_grad, save=("self", "result"), jvp="elementwise")


@register(method=True, inplace=True)
def copysign(input, other, *, out=None):
    """|input| with the sign of other (torch.copysign); integers give the default float dtype."""
    require_tensor("copysign", input, names=("input",))
    dtype, (a, b) = binary_operands("copysign", input, other)
    dtype = float_dtype(dtype)
    if isinstance(other, Tensor):
        return _copysign(a, b, cast=dtype)
    return _copysign_scalar(a, cast=dtype, other=other)


# --- xlogy --------------------------------------------------------------------------------------------------

def _xlogy_forward(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        product = x * np.log(y)
    return np.where(np.isnan(y), y, np.where(x == 0, np.zeros_like(product), product))


def _xlogy_vjp(c, g):
    x, y = c.self, c.other
    grad_x = grad_y = None
    if c.needs_input_grad(0):
        x_values, y_values = _saved_arrays(c, g, "self", "other")
        zero_x = constant((x_values == 0) & (y_values <= 0))  # torch: 0 where x == 0 and y <= 0 (not NaN y)
        grad_x = xlogy(g, y).masked_fill(zero_x, 0.0)  # torch's node: MaskedFillBackward0
    if c.needs_input_grad(1):
        grad_y = g * x / y
    return grad_x, grad_y


def _xlogy_number_self_forward(y, self_value):
    return _xlogy_forward(np.asarray(self_value, y.dtype), y)


_xlogy = Primitive("XlogyBackward0", follows_inputs(_xlogy_forward), _xlogy_vjp, inputs=("self", "other"),
                   save=("self", "other"), jvp="elementwise")
_xlogy_number_other = Primitive("XlogyBackward2", follows_inputs(_xlogy_forward), _xlogy_vjp, inputs=("self", "other"),
                                save=("self", "other"), jvp=elementwise_in(0))
_xlogy_number_self = Primitive("XlogyBackward1", follows_inputs(_xlogy_number_self_forward),
                               lambda c, g: mul_scalar(g, c.self_value) / c.other, inputs=("other",), save=("other",),
                               jvp="elementwise")


@register(method=True, inplace=True)
def xlogy(input, other, *, out=None):
    """input * log(other), 0 where input == 0 unless other is NaN (torch.xlogy, torch.special.xlogy)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        require_tensor("xlogy", input)
    dtype, (a, b) = binary_operands("xlogy", input, other)
    dtype = float_dtype(dtype)
    if not isinstance(input, Tensor):
        return _xlogy_number_self(b, cast=dtype, self_value=input)
    if not isinstance(other, Tensor):
        return _xlogy_number_other(a, b, cast=dtype)
    return _xlogy(a, b, cast=dtype)


register("xlogy", namespace="torch.special")(xlogy)


# --- logaddexp, logaddexp2 ----------------------------------------------------------------------------------

def _logaddexp_vjp(c, g):
    x, y = c.self, c.other
    return (g / add_scalar(exp(y - x), 1) if c.needs_input_grad(0) else None,  # torch: 1 + exp(..) (AddBackward1)
            g / add_scalar(exp(x - y), 1) if c.needs_input_grad(1) else None)


def _logaddexp2_vjp(c, g):
    x, y = c.self, c.other
    return (g / add_scalar(pow(2.0, y - x), 1) if c.needs_input_grad(0) else None,
            g / add_scalar(pow(2.0, x - y), 1) if c.needs_input_grad(1) else None)


_logaddexp = Primitive("LogaddexpBackward0", follows_inputs(np.logaddexp), _logaddexp_vjp, inputs=("self", "other"),
                       save=("self", "other"), jvp="elementwise")
_logaddexp2 = Primitive("Logaddexp2Backward0", follows_inputs(np.logaddexp2), _logaddexp2_vjp, inputs=("self", "other"),
                        save=("self", "other"), jvp="elementwise")
logaddexp = register("logaddexp", method=True)(_binary(
    _logaddexp, "logaddexp", "log(exp(input) + exp(other)) (torch.logaddexp); gradient NaN at (-inf, -inf).",
    kernel="logaddexp_cpu"))
logaddexp2 = register("logaddexp2", method=True)(_binary(
    _logaddexp2, "logaddexp2", "log2(2**input + 2**other) (torch.logaddexp2).", kernel="logaddexp2_cpu"))


# --- lerp ---------------------------------------------------------------------------------------------------

def _lerp_forward(start, end, weight):
    """torch's two-sided formula, exact at weight 0 and 1, each side one fused multiply-add as torch's kernel
    computes it (start + weight * diff, end - diff * (1 - weight), rounded once)."""
    weight = np.asarray(weight, start.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = end - start
        return np.where(np.abs(weight) < 0.5, sub_mul_once(start, -weight, diff), sub_mul_once(end, diff, 1 - weight))


def _lerp_scalar_vjp(c, g):
    # torch: grad * (1 - weight), grad * weight with weight a Scalar (MulBackward1)
    return (mul_scalar(g, 1 - c.weight) if c.needs_input_grad(0) else None,
            mul_scalar(g, c.weight) if c.needs_input_grad(1) else None)


def _lerp_tensor_vjp(c, g):
    return (g * (1 - c.weight) if c.needs_input_grad(0) else None, g * c.weight if c.needs_input_grad(1) else None,
            g * (c.end - c.self) if c.needs_input_grad(2) else None)


_lerp_scalar = Primitive("LerpBackward0", follows_inputs(_lerp_forward), _lerp_scalar_vjp, inputs=("self", "end"),
                         jvp="elementwise")
# as torch: start and end are saved only for weight's gradient, weight always (torch 2.13 saves it also when only
# weight requires grad, so an in-place change of weight before backward is its version-counter error)
def _lerp_tensor_jvp(c, self_t, end_t, weight_t):
    """torch's forward formula: lerp(self_t, end_t, weight) + weight_t · (end - self), the lerp run on zero tangents
    where there are none (so NaN at an infinite weight even when only the weight has a tangent)."""
    total = _lerp_tensor(*(Tensor._make(np.zeros_like(p._data)) if t is None else t
                           for p, t in ((c.self, self_t), (c.end, end_t))), c.weight)
    return total if weight_t is None else total + weight_t * (c.end - c.self)


_lerp_tensor = Primitive("LerpBackward1", follows_inputs(_lerp_forward), _lerp_tensor_vjp,
                         inputs=("self", "end", "weight"),
                         save={"self": ("weight",), "end": ("weight",), "weight": None}, jvp=_lerp_tensor_jvp)


@register(method=True, inplace=True)
def lerp(input, end, weight, *, out=None):
    """input + weight * (end - input) (torch.lerp); weight is a number or a tensor of input's dtype."""
    require_tensor("lerp", input, end, names=("input", "end"))
    for arg, value in (("end", end), ("weight", weight)):
        if isinstance(value, Tensor) and value.dtype is not input.dtype:
            raise RuntimeError(f"expected dtype {_c_name(input.dtype)} for `{arg}` but got dtype "
                               f"{_c_name(value.dtype)}")
    if not input.dtype.is_floating_point:
        raise unsupported("lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar",
                          input.dtype)
    check_broadcast(input, end, weight)
    if not isinstance(weight, Tensor):
        checked_scalar(weight, input._data.dtype)  # torch's overflow check of a number weight
    if isinstance(weight, Tensor):
        return _lerp_tensor(input, end, weight)
    return _lerp_scalar(input, end, weight=weight)


def _c_name(dtype: dtypes.dtype) -> str:
    return {"float32": "float", "float64": "double"}.get(dtype.name, dtype.name)


# --- addcmul, addcdiv ---------------------------------------------------------------------------------------

def _addc_operands(name, input, tensor1, tensor2, value):
    require_tensor(name, input, tensor1, tensor2, names=("input", "tensor1", "tensor2"))
    dtype = dtypes.result_type(input, tensor1, tensor2)
    check_broadcast(input, tensor1, tensor2)
    checked_scalar(value, dtype.numpy)  # torch's overflow check of value
    if not (dtype.is_floating_point or dtype.is_complex):
        value = int(value)
    return dtype, value


def _addcmul_forward(x, t1, t2, value):
    scaled = value * t1
    if scaled.dtype.kind == "f":  # torch's kernel: (value * t1) * t2 + x fused, rounded once
        return sub_mul_once(x, -scaled, t2)
    return x + scaled * t2


def _times_value(tensor: Tensor, value) -> Tensor:
    """torch's tensor * value for addcmul's Scalar value (MulBackward1; an integer tensor promotes as usual)."""
    return mul_scalar(tensor, value) if tensor.dtype.is_floating_point or tensor.dtype.is_complex else tensor * value


_addcmul = Primitive(
    "AddcmulBackward0", follows_inputs(_addcmul_forward),
    lambda c, g: (g if c.needs_input_grad(0) else None,
                  g * _times_value(c.tensor2, c.value) if c.needs_input_grad(1) else None,
                  g * _times_value(c.tensor1, c.value) if c.needs_input_grad(2) else None),
    inputs=("self", "tensor1", "tensor2"), save={"tensor2": ("tensor1",), "tensor1": ("tensor2",)}, jvp="elementwise")


def _addcdiv_vjp(c, g):
    """torch's grouping: the factors multiplying grad are formed first (it shows in NaNs of double backward), and
    value / tensor2 is a division of the wrapped number (DivBackward0: its derivative -value / tensor2², 0 for
    value = 0 even where 1 / tensor2² overflows), not value times a reciprocal."""
    tensor2 = c.tensor2  # torch always saves tensor2, tensor1 only for tensor2's gradient
    return (g if c.needs_input_grad(0) else None,
            g * div(c.value, tensor2) if c.needs_input_grad(1) else None,
            -g * (c.value * c.tensor1 / (tensor2 * tensor2)) if c.needs_input_grad(2) else None)


def _addcdiv_jvp(c, self_t, tensor1_t, tensor2_t):
    """torch's forward formula: self_t + value · tensor1_t / tensor2 - value · tensor2_t · (tensor1 / tensor2) /
    tensor2 (the quotient first: tensor2² would underflow where the VJP's formula does)."""
    total = self_t
    for tangent, sign in ((tensor1_t, 1), (tensor2_t, -1)):
        if tangent is None:
            continue
        term = tangent / c.tensor2 if sign > 0 else tangent * (c.tensor1 / c.tensor2) / c.tensor2
        term = term if c.value == 1 else term * c.value
        total = (term if sign > 0 else -term) if total is None else total + term if sign > 0 else total - term
    return total


_addcdiv_jvp.complex = True  # holomorphic (see refgrad.autograd._jvp)
_addcdiv = Primitive("AddcdivBackward0", follows_inputs(lambda x, t1, t2, value: x + value * t1 / t2), _addcdiv_vjp,
                     inputs=("self", "tensor1", "tensor2"), save={"tensor1": ("tensor2",), "tensor2": None},
                     jvp=_addcdiv_jvp)


@register(method=True, inplace=True)
def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 * tensor2 (torch.addcmul)."""
    dtype, value = _addc_operands("addcmul", input, tensor1, tensor2, value)
    return _addcmul(input, tensor1, tensor2, cast=dtype, value=value)


@register(method=True, inplace=True)
def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 / tensor2 (torch.addcdiv); integer tensor1 and tensor2 are refused as in torch."""
    dtype, value = _addc_operands("addcdiv", input, tensor1, tensor2, value)
    if not (tensor1.dtype.is_floating_point or tensor1.dtype.is_complex or tensor2.dtype.is_floating_point
            or tensor2.dtype.is_complex):  # integral (and bool) operands only: complex ones divide
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform a "
            "true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as (input + "
            "value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as (input + value * "
            "tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    return _addcdiv(input, tensor1, tensor2, cast=dtype, value=value)


# --- dist ---------------------------------------------------------------------------------------------------

def _dist_forward(x, y, p):
    diff = np.abs(x - y).ravel()
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if p == 0:
            return np.asarray(np.count_nonzero(diff), x.dtype)
        if p == math.inf:
            return np.max(diff, initial=0).astype(x.dtype) if diff.size else np.asarray(0, x.dtype)
        if p == -math.inf:
            return np.min(diff).astype(x.dtype) if diff.size else np.asarray(np.inf, x.dtype)
        if p == 1 or diff.size == 1:  # torch: a single element's norm is |d| for every p (even where |d|^p
            return np.sum(diff).astype(x.dtype)  # under- or overflows)
        # torch's vector norm, unscaled: the powers under- and overflow ([1e-200, 1e-200] gives 0, whose gradient
        # is then 0; [1e200, 1e200] gives inf; default seed 2807)
        return _vector_norm_forward(diff, p, (0,), False)


# sign with torch's sign(NaN) = 0; its zero gradient keeps the inputs in the double-backward graph, as in torch
_sign = Primitive("SgnBackward0", lambda a: np.where(np.isnan(a), 0, np.sign(a)).astype(a.dtype),
                  lambda c, g: _zerotensor.zeros_like(g), jvp=zeros_vjp)  # as unary.sgn's


def _dist_vjp(c, g):
    p = c.p
    if p == 0:  # torch: self's gradient is undefined (None); other's, its negation, raises
        if c.needs_input_grad(1):
            raise RuntimeError("Expected a proper Tensor but got None (or an undefined Tensor in C++) for argument "
                               "#0 'self'")
        return (None, None)
    diff = c.self - c.other
    if diff.dtype is not g.dtype:
        diff = diff.to(g.dtype)
    sign = _sign(diff)
    norm = c.result
    if p == 1:
        grad = sign * g
    elif math.isinf(p):  # ties at the extreme share the gradient evenly
        extreme = np.abs(diff._data) == norm._data
        grad = sign * constant(extreme / max(int(np.count_nonzero(extreme)), 1), diff.dtype) * g
    elif p == 2:
        grad = g * (diff / norm).masked_fill(constant(norm._data == 0), 0.0)  # torch's grouping (NaN in double bwd)
    else:
        magnitude = diff * sign  # sign(d) * |d|^(p-1): 0 (not NaN) for an infinite d when p < 1, as in torch
        scaled = where(constant(diff._data == 0), 0.0, sign * pow(magnitude, p - 1))
        grad = scaled * where(constant(norm._data == 0), 0.0, g / pow(norm, p - 1))
        if g._zerotensor:  # sgn's ZeroTensor (zerotensor.py): torch's p < 1 term is a product of it, and for
            if p > 1:  # p > 1 torch masks its quotient in place, which a ZeroTensor refuses
                _zerotensor.refuse_write()
            grad = _zerotensor.absorb(grad)
    return (grad if c.needs_input_grad(0) else None, -grad if c.needs_input_grad(1) else None)


def _dist_jvp(c, t_self, t_other):
    # torch's norm_jvp: the gradient contracted with the tangent of self - other, the gradient evaluated (not
    # differentiated: its masks at norm = 0 stay exact; over no elements the tangent is 0, as torch's; p = 0's
    # count is piecewise constant: tangent 0)
    if c.p == 0:
        return Tensor._make(np.zeros_like(c.result._data))
    grads = c._vjp(c, Tensor._make(np.ones_like(c.result._data)))
    terms = [(g * t).sum() for g, t in zip(grads, (t_self, t_other)) if g is not None and t is not None]
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


_dist = Primitive("DistBackward0", _dist_forward, _dist_vjp, inputs=("self", "other"),
                  save=("self", "other", "result"), jvp=_dist_jvp)


@register(method=True)
def dist(input, other, p: float = 2):
    """The p-norm of input - other, broadcast and flattened (torch.dist); floats only."""
    require_tensor("dist", input, other)
    if not isinstance(p, numbers.Number):
        raise TypeError(f"dist(): argument 'p' must be Number, not {type(p).__name__}")
    dtype, (a, b) = promote(input, other)
    if not dtype.is_floating_point:
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got "
                           f"{type_name(dtype)} instead.")
    shape = check_broadcast(a, b)
    if (p < 0 or math.isinf(p)) and 0 in shape:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on an empty tensor because the "
                           f"operation does not have an identity")
    return _dist(a, b, cast=dtype, p=p)


