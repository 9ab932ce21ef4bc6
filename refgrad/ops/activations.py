"""Activation functions: torch.nn.functional's pointwise activations, their torch.* and Tensor spellings, and
their in-place forms.

Each activation is a Primitive with torch's node name; in-place forms that torch records under a different node
(``elu_`` → EluBackward1, ``leaky_relu_`` → LeakyReluBackward1, ``threshold_`` → ThresholdBackward1...) have
their own Primitive whose VJP reads the result, as torch's does. Masks at the kinks follow torch 2.13 exactly
(pinned in tests/ops/test_activations.py): relu/hardtanh/threshold/shrink masks are open at the kink (gradient
0 there), leaky_relu takes the negative slope at 0, NaN inputs pass the gradient where torch's mask lets them.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from refgrad import dtypes
from refgrad.autograd import zerotensor as _zerotensor
from refgrad.autograd._jvp import no_forward_rule
from refgrad.ops._activation_util import (
    _F,
    _ONE_SIXTH,
    _SELU_ALPHA,
    _SELU_SCALE,
    _backward_op,
    _exp,
    _floating_only,
    _inplace,
    _np_dtype,
    _scalar,
    _sigmoid,
)
from refgrad.ops._layout import contiguous_result
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._round_once import round_once
from refgrad.ops._scalar_ops import add_scalar
from refgrad.ops._util import checked_scalar
from refgrad.ops.elementwise import _sigmoid_forward
from refgrad.ops.elementwise import sigmoid as _elementwise_sigmoid
from refgrad.ops.unary import _where, cosh, require_tensor, tanh

__all__ = ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus",
           "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "rrelu"]

# --- relu family --------------------------------------------------------------------------------------------

_relu_backward = _backward_op("ThresholdBackwardBackward0", lambda g, y: np.where(y <= 0, np.zeros((), g.dtype), g))
_relu = Primitive("ReluBackward0", lambda a: np.maximum(a, np.zeros((), a.dtype)),
                  lambda c, g: _relu_backward(g, c.result), save=("result",), jvp="elementwise")


@register(method=True, inplace=True)
def relu(input):
    """max(input, 0) (torch.relu); gradient 0 at 0 and 1 at NaN (mask result <= 0)."""
    require_tensor("relu", input)
    if input.dtype is dtypes.bool:
        raise RuntimeError("Boolean inputs not supported for relu")
    return _relu(input)


@register("relu_")
def relu_(input):
    """In-place relu (torch.relu_)."""
    return _inplace(input, relu)


@register("relu", namespace=_F)
def functional_relu(input, inplace: bool = False):
    """torch.nn.functional.relu."""
    return relu_(input) if inplace else relu(input)


register("relu_", namespace=_F)(relu_)


def _hardtanh_forward(a, min_val, max_val):
    return np.clip(a, _scalar(min_val, _np_dtype(a)), _scalar(max_val, _np_dtype(a)))


_hardtanh_backward = _backward_op(
    "HardtanhBackwardBackward0",
    lambda g, x, min_val, max_val: np.where((x <= min_val) | (x >= max_val), np.zeros((), g.dtype), g))
_hardtanh = Primitive("HardtanhBackward0", _hardtanh_forward,
                      lambda c, g: _hardtanh_backward(g, c.self, min_val=c.min_val, max_val=c.max_val),
                      save=("self",), jvp="elementwise")


@register(namespace=_F)
def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """clamp(input, min_val, max_val) (torch.nn.functional.hardtanh); gradient 0 at and beyond the bounds."""
    require_tensor("hardtanh", input)
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input.dtype is dtypes.bool:
        raise RuntimeError("Bool inputs not supported for hardtanh")
    checked_scalar(min_val, input._data.dtype)  # torch's overflow check of the bounds
    checked_scalar(max_val, input._data.dtype)
    fn = lambda x: _hardtanh(x, min_val=min_val, max_val=max_val)  # noqa: E731
    return _inplace(input, fn) if inplace else fn(input)


@register("hardtanh_", namespace=_F)
def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0):
    """In-place hardtanh (torch.nn.functional.hardtanh_)."""
    return hardtanh(input, min_val, max_val, inplace=True)


@register(namespace=_F)
def relu6(input, inplace: bool = False):
    """min(max(input, 0), 6) (torch.nn.functional.relu6; a HardtanhBackward0 node)."""
    return hardtanh(input, 0.0, 6.0, inplace=inplace)


def _leaky_forward(a, negative_slope):
    return np.where(a > 0, a, a * np.asarray(negative_slope, a.dtype))


def _leaky_inplace_vjp(c, g):
    if c.negative_slope < 0:
        raise RuntimeError("In-place leakyReLu backward calculation is triggered with a negative slope which is not "
                           "supported. This is caused by calling in-place forward function with a negative slope, "
                           "please call out-of-place version instead.")
    return _leaky_backward(g, c.result, negative_slope=c.negative_slope)


def _leaky_grad(g, x, negative_slope):
    return np.where(x > 0, g, g * np.asarray(negative_slope, g.dtype))


_leaky_backward = _backward_op("LeakyReluBackwardBackward0", _leaky_grad)
_rrelu_backward = _backward_op("RreluWithNoiseBackwardBackward0", _leaky_grad)
_leaky = Primitive("LeakyReluBackward0", _leaky_forward,
                   lambda c, g: _leaky_backward(g, c.self, negative_slope=c.negative_slope), save=("self",),
                   jvp="elementwise")
_leaky_inplace = Primitive("LeakyReluBackward1", _leaky_forward, _leaky_inplace_vjp, save=("result",),
                           jvp="elementwise")


@register(namespace=_F)
def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """input if input > 0 else negative_slope * input (torch.nn.functional.leaky_relu); slope at 0."""
    require_tensor("leaky_relu", input)
    _floating_only(input, "leaky_relu_cpu")
    checked_scalar(negative_slope, input._data.dtype)  # torch's overflow check of the slope
    if inplace:
        return _inplace(input, lambda x: _leaky_inplace(x, negative_slope=negative_slope))
    return _leaky(input, negative_slope=negative_slope)


@register("leaky_relu_", namespace=_F)
def leaky_relu_(input, negative_slope: float = 0.01):
    """In-place leaky_relu (torch.nn.functional.leaky_relu_)."""
    return leaky_relu(input, negative_slope, inplace=True)


def _rrelu_slope(lower: float, upper: float, training: bool) -> float:
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if training:
        raise NotImplementedError("refgrad: rrelu with training=True draws random slopes; only training=False "
                                  "is supported")
    return (lower + upper) / 2


_rrelu = Primitive("RreluWithNoiseBackward0", contiguous_result(_leaky_forward),  # (torch: contiguous)
                   lambda c, g: _rrelu_backward(g, c.self, negative_slope=c.negative_slope), save=("self",),
                   jvp="elementwise")
_rrelu_inplace = Primitive("RreluWithNoiseBackward1", _leaky_forward,
                           lambda c, g: _rrelu_backward(g, c.result, negative_slope=c.negative_slope),
                           save=("result",), jvp=no_forward_rule("rrelu_with_noise_", derivatives_yaml=False))


@register()
def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False):
    """Randomized leaky relu, evaluation mode: slope (lower + upper) / 2 (torch.rrelu; training=False only)."""
    require_tensor("rrelu", input)
    slope = _rrelu_slope(lower, upper, training)
    _floating_only(input, "leaky_relu_cpu")
    if inplace:
        return _inplace(input, lambda x: _rrelu_inplace(x, negative_slope=slope))
    return _rrelu(input, negative_slope=slope)


@register("rrelu_")
def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False):
    """In-place rrelu (torch.rrelu_, torch.nn.functional.rrelu_)."""
    return rrelu(input, lower, upper, training, inplace=True)


register("rrelu", namespace=_F)(rrelu)
register("rrelu_", namespace=_F)(rrelu_)


# --- elu family: elu, selu, celu (one kernel with scale, alpha and input scale) -----------------------------

def _elu_forward(a, alpha, scale, input_scale):
    negative = np.expm1(a * np.asarray(input_scale, a.dtype)) * np.asarray(alpha * scale, a.dtype)
    return np.where(a <= 0, negative, a * np.asarray(scale, a.dtype)).astype(a.dtype, copy=False)


def _elu_grad(g, x, alpha, scale, input_scale):
    negative = g * np.asarray(input_scale * alpha * scale, g.dtype) * np.exp(x * np.asarray(input_scale, x.dtype))
    return np.where(x <= 0, negative, g * np.asarray(scale, g.dtype))


def _elu_result_grad(g, y, alpha, scale, input_scale):
    negative = g * np.asarray(input_scale, g.dtype) * (y + np.asarray(alpha * scale, y.dtype))
    return np.where(y <= 0, negative, g * np.asarray(scale, g.dtype))


def _elu_second(c, gg):
    """d(elu_backward)/dx: torch's curvature term, nonzero only for x < 0 (0 at ±0 and at ±inf)."""
    x = c.self
    curvature = gg * c.grad_output * (c.input_scale * c.input_scale * c.alpha * c.scale) * _exp(x * c.input_scale)
    return _where(x < 0, curvature, 0.0)


def _elu_result_second(c, gg):
    return _where(c.self < 0, gg * c.grad_output * c.input_scale, 0.0)


_elu_backward = _backward_op("EluBackwardBackward0", _elu_grad, _elu_second)
_elu_result_backward = _backward_op("EluBackwardBackward0", _elu_result_grad, _elu_result_second)


def _elu_vjp(c, g):
    return _elu_backward(g, c.self, alpha=c.alpha, scale=c.scale, input_scale=c.input_scale)


def _elu_result_vjp(c, g):
    if c.alpha < 0:
        raise RuntimeError("In-place elu backward calculation is triggered with a negative slope which is not "
                           "supported. This is caused by calling in-place forward function with a negative slope, "
                           "please call out-of-place version instead.")
    return _elu_result_backward(g, c.result, alpha=c.alpha, scale=c.scale, input_scale=c.input_scale)


def _elu_primitives(name: str):
    return (Primitive(f"{name}Backward0", _elu_forward, _elu_vjp, save=("self",), jvp="elementwise"),
            Primitive(f"{name}Backward1", _elu_forward, _elu_result_vjp, save=("result",), jvp="elementwise"))


_elu, _elu_inplace = _elu_primitives("Elu")
_celu, _celu_inplace = _elu_primitives("Celu")


def _elu_apply(input, inplace: bool, prims, kernel: str = "elu_cpu", **coefficients):
    require_tensor(kernel.split("_")[0], input)
    _floating_only(input, kernel)
    for value in coefficients.values():
        checked_scalar(value, input._data.dtype)  # torch's overflow check of alpha, scale, input_scale
    plain, in_place = prims
    if inplace:
        return _inplace(input, lambda x: in_place(x, **coefficients))
    return plain(input, **coefficients)


@register(namespace=_F)
def elu(input, alpha: float = 1.0, inplace: bool = False):
    """input if input > 0 else alpha * (exp(input) - 1) (torch.nn.functional.elu)."""
    return _elu_apply(input, inplace, (_elu, _elu_inplace), alpha=alpha, scale=1.0, input_scale=1.0)


@register("elu_", namespace=_F)
def elu_(input, alpha: float = 1.0):
    """In-place elu (torch.nn.functional.elu_); recorded as EluBackward1."""
    return elu(input, alpha, inplace=True)


@register()
def selu(input, inplace: bool = False):
    """scale * elu(input, alpha) with torch's fixed constants (torch.selu; an EluBackward0 node)."""
    return _elu_apply(input, inplace, (_elu, _elu_inplace), alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0)


@register("selu_")
def selu_(input):
    """In-place selu (torch.selu_)."""
    return selu(input, inplace=True)


@register()
def celu(input, alpha: float = 1.0, inplace: bool = False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (torch.celu)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu_apply(input, inplace, (_celu, _celu_inplace), alpha=alpha, scale=1.0, input_scale=1.0 / alpha)


@register("celu_")
def celu_(input, alpha: float = 1.0):
    """In-place celu (torch.celu_)."""
    return celu(input, alpha, inplace=True)


for _name, _fn in (("selu", selu), ("selu_", selu_), ("celu", celu), ("celu_", celu_)):
    register(_name, namespace=_F)(_fn)


# --- smooth activations: gelu, silu, mish, softplus, logsigmoid ---------------------------------------------

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_BETA = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715


def _gelu_forward(a, approximate):
    from refgrad.ops._special_math import erf as np_erf
    c = lambda v: np.asarray(v, a.dtype)  # noqa: E731 - constants in the input dtype
    if approximate == "tanh":
        inner = c(_GELU_BETA) * (a + c(_GELU_KAPPA) * a * a * a)
        return c(0.5) * a * (c(1) + np.tanh(inner))
    result = a * c(0.5) * (c(1) + np_erf(a * c(_SQRT1_2)))
    if a.dtype == np.float32 and a.size > 1 and a.flags.c_contiguous:
        # torch 2.13's vectorized float32 kernel (contiguous, 2+ elements) gives NaN at +inf; one element: +inf
        result = np.where(a == np.inf, np.float32(np.nan), result)
    return result


def _gelu_tanh_slope(x, tanh_fn):
    inner_tanh = tanh_fn((x + x * x * x * _GELU_KAPPA) * _GELU_BETA)
    left_slope = (inner_tanh + 1) * 0.5
    right_slope = x * 0.5 * (1 - inner_tanh * inner_tanh) * (_GELU_BETA * (1 + 3 * _GELU_KAPPA * x * x))
    return left_slope + right_slope


def _gelu_tanh_backward_forward(g, x):
    f = lambda v: np.asarray(v, x.dtype)  # noqa: E731 - NumPy keeps float32 with these 0-d constants
    inner_tanh = round_once(np.tanh)((x + x * x * x * f(_GELU_KAPPA)) * f(_GELU_BETA))
    left_slope = (inner_tanh + f(1)) * f(0.5)
    right_slope = x * f(0.5) * (f(1) - inner_tanh * inner_tanh) * (f(_GELU_BETA) * (f(1) + f(3 * _GELU_KAPPA) * x * x))
    return g * (left_slope + right_slope)


def _gelu_tanh_backward_vjp(c, gg):
    """torch's gelu double backward (tanh form), term for term: with f = x/2, g = 1 - tanh², h = beta (1 + 3 kappa x²),
    d(gelu')/dx = f'gh + f'gh + f g' h + f g h' (its float32 rounding shows at x = 3: default seed 3106)."""
    g_out, x = c.grad_output, c.self
    grad_g = gg * _gelu_tanh_slope(x, tanh) if c.needs_input_grad(0) else None
    grad_x = None
    if c.needs_input_grad(1):
        inner = (x + x.pow(3) * _GELU_KAPPA) * _GELU_BETA
        tanh_inner = tanh(inner)
        sech_inner = 1 / cosh(inner)
        f = x * 0.5
        g = 1 - tanh_inner * tanh_inner
        h = (1 + x * x * (3 * _GELU_KAPPA)) * _GELU_BETA
        f_prime_gh = g * 0.5 * h
        g_prime_fh = f * h * ((sech_inner * 2) * (-sech_inner * tanh_inner) * h)
        h_prime_fg = f * g * (x * (6 * _GELU_KAPPA) * _GELU_BETA)
        grad_x = gg * g_out * (f_prime_gh + f_prime_gh + g_prime_fh + h_prime_fg)
    return grad_g, grad_x


_gelu_tanh_backward = Primitive("GeluBackwardBackward0", _gelu_tanh_backward_forward, _gelu_tanh_backward_vjp,
                                inputs=("grad_output", "self"), save=("grad_output", "self"), jvp="elementwise")


def _gelu_backward_forward(g, x):
    """g * (Phi(x) + x phi(x)), rounded as refgrad's erf and exp ops compute it."""
    from refgrad.ops._special_math import erf as np_erf
    f = lambda v: np.asarray(v, x.dtype)  # noqa: E731 - constants in the input dtype
    cdf = (np_erf(x * f(_SQRT1_2)) + f(1)) * f(0.5)
    pdf = round_once(np.exp)(x * x * f(-0.5)) * f(_INV_SQRT_2PI)
    return g * (cdf + x * pdf)


def _gelu_second(c, gg):
    """d/dx of g (Phi(x) + x phi(x)) = g phi(x) (2 - x²)."""
    x = c.self
    pdf = _exp(x * x * -0.5) * _INV_SQRT_2PI
    return gg * c.grad_output * (pdf * (2 - x * x))


# torch's gelu_backward (approximate="none"), an op of its own: GeluBackwardBackward0 under create_graph
_gelu_backward = _backward_op("GeluBackwardBackward0", _gelu_backward_forward, _gelu_second)


def _gelu_vjp(c, g):
    x, g = c.self, _zerotensor.materialized(g)  # torch: fused backward kernels (gelu, silu, mish, logsigmoid)
    if c.approximate == "tanh":
        return _gelu_tanh_backward(g, x)
    return _gelu_backward(g, x)


_gelu = Primitive("GeluBackward0", _gelu_forward, _gelu_vjp, save=("self",), jvp="elementwise")


@register(namespace=_F)
def gelu(input, approximate: str = "none"):
    """x * Phi(x), or its tanh approximation (torch.nn.functional.gelu)."""
    require_tensor("gelu", input)
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _floating_only(input, "GeluKernelImpl")
    return _gelu(input, approximate=approximate)


def _silu_forward(a):
    return (a / (np.asarray(1, a.dtype) + np.exp(-a))).astype(a.dtype, copy=False)


def _silu_vjp(c, g):
    s, g = _sigmoid(c.self), _zerotensor.materialized(g)
    return g * s * add_scalar(c.self * (1 - s), 1)  # torch: 1 + self * (1 - sigmoid) (AddBackward1)


_silu = Primitive("SiluBackward0", _silu_forward, _silu_vjp, save=("self",), jvp="elementwise")


def _mish_forward(a):
    return (a * np.tanh(np.log1p(np.exp(a)))).astype(a.dtype, copy=False)


def _mish_vjp(c, g):
    x, g = c.self, _zerotensor.materialized(g)
    tanh_softplus = tanh(_softplus(x, beta=1.0, threshold=20.0))  # torch's composite: softplus, not log1p(exp)
    return g * (tanh_softplus + x * _sigmoid(x) * (1 - tanh_softplus * tanh_softplus))


_mish = Primitive("MishBackward0", _mish_forward, _mish_vjp, save=("self",), jvp="elementwise")


def _simple_activation(name: str, prim: Primitive, kernel: str, doc: str) -> Callable:
    def op(input, inplace: bool = False):
        require_tensor(name, input)
        _floating_only(input, kernel)
        return _inplace(input, prim) if inplace else prim(input)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return register(name, namespace=_F)(op)


silu = _simple_activation("silu", _silu, "silu_cpu", "input * sigmoid(input) (torch.nn.functional.silu).")
mish = _simple_activation("mish", _mish, "mish_cpu", "input * tanh(softplus(input)) (torch.nn.functional.mish).")


def _softplus_forward(a, beta, threshold):
    scaled = a * np.asarray(beta, a.dtype)
    smooth = np.log1p(np.exp(scaled)) / np.asarray(beta, a.dtype)
    return np.where(scaled > threshold, a, smooth).astype(a.dtype, copy=False)


def _softplus_grad(g, x, beta, threshold):
    scaled = x * np.asarray(beta, x.dtype)
    z = np.exp(scaled)
    return np.where(scaled > threshold, g, g * z / (z + np.asarray(1, x.dtype)))


def _softplus_second(c, gg):
    """torch 2.13 zeroes the curvature where beta * x >= threshold (the first derivative switches at >)."""
    scaled = c.self * c.beta
    gate = _sigmoid(scaled)
    return _where(scaled >= c.threshold, 0.0, gg * c.grad_output * c.beta * gate * (1 - gate))


_softplus_backward = _backward_op("SoftplusBackwardBackward0", _softplus_grad, _softplus_second)


def _softplus_vjp(c, g):
    return _softplus_backward(g, c.self, beta=c.beta, threshold=c.threshold)


_softplus = Primitive("SoftplusBackward0", _softplus_forward, _softplus_vjp, save=("self",), jvp="elementwise")


@register(namespace=_F)
def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold (torch.nn.functional.softplus)."""
    require_tensor("softplus", input)
    _floating_only(input, "softplus_cpu")
    checked_scalar(beta, input._data.dtype)  # torch's overflow check of beta and threshold
    checked_scalar(threshold, input._data.dtype)
    return _softplus(input, beta=beta, threshold=threshold)


def _logsigmoid_forward(a):
    return (np.minimum(a, np.zeros((), a.dtype)) - np.log1p(np.exp(-np.abs(a)))).astype(a.dtype, copy=False)


def _logsigmoid_second(c, gg):
    """d/dx of g sigmoid(-x) = -g sigmoid(-x) (1 - sigmoid(-x))."""
    s = _sigmoid(-c.self)
    return -(gg * c.grad_output * (s * (1 - s)))


# torch's log_sigmoid_backward, an op of its own: LogSigmoidBackwardBackward0 under create_graph
_logsigmoid_backward = _backward_op("LogSigmoidBackwardBackward0", lambda g, x: g * _sigmoid_forward(-x),
                                    _logsigmoid_second)
_logsigmoid = Primitive("LogSigmoidBackward0", contiguous_result(_logsigmoid_forward),  # (as torch)
                        lambda c, g: _logsigmoid_backward(_zerotensor.materialized(g), c.self),
                        save=("self",), jvp="elementwise")


@register(namespace=_F)
def logsigmoid(input):
    """log(sigmoid(input)), computed stably (torch.nn.functional.logsigmoid)."""
    require_tensor("logsigmoid", input)
    _floating_only(input, "log_sigmoid_cpu")
    return _logsigmoid(input)


# --- hard activations ---------------------------------------------------------------------------------------

def _hardsigmoid_forward(a):
    return (np.clip(a + np.asarray(3, a.dtype), 0, 6) / np.asarray(6, a.dtype)).astype(a.dtype, copy=False)


def _hardswish_forward(a):
    return (a * np.clip(a + np.asarray(3, a.dtype), 0, 6) / np.asarray(6, a.dtype)).astype(a.dtype, copy=False)


def _hardswish_grad(g, x):
    return np.where(x <= -3, np.zeros((), g.dtype), np.where(x < 3, g * (x / np.asarray(3, x.dtype) +
                                                                         np.asarray(0.5, x.dtype)), g))


def _hardswish_second(c, gg):
    x = c.self
    return _where((x > -3) & (x < 3), gg * c.grad_output / 3, 0.0)


def _hardsigmoid_second(c, gg):
    raise RuntimeError("derivative for aten::hardsigmoid_backward is not implemented")


_hardswish_backward = _backward_op("HardswishBackwardBackward0", _hardswish_grad, _hardswish_second)
# torch 2.13 has no double backward for hardsigmoid: its gradient's node raises when differentiated
_hardsigmoid_backward = _backward_op(
    "NotImplemented", lambda g, x: np.where((x > -3) & (x < 3), g * np.asarray(_ONE_SIXTH, g.dtype),
                                            np.zeros((), g.dtype)), _hardsigmoid_second)
_hardsigmoid = Primitive("HardsigmoidBackward0", _hardsigmoid_forward,
                         lambda c, g: _hardsigmoid_backward(g, c.self), save=("self",), jvp="elementwise")
_hardswish = Primitive("HardswishBackward0", _hardswish_forward, lambda c, g: _hardswish_backward(g, c.self),
                       save=("self",), jvp="elementwise")
hardsigmoid = _simple_activation("hardsigmoid", _hardsigmoid, "hardsigmoid_cpu",
                                 "relu6(input + 3) / 6 (torch.nn.functional.hardsigmoid); gradient 0 at ±3.")
hardswish = _simple_activation("hardswish", _hardswish, "hardswish_cpu",
                               "input * relu6(input + 3) / 6 (torch.nn.functional.hardswish).")


# --- aliases of ops other modules own -----------------------------------------------------------------------

register("sigmoid", namespace=_F)(_elementwise_sigmoid)
register("expit", namespace="torch.special")(_elementwise_sigmoid)
