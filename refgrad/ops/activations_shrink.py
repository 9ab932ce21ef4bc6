"""Shrinkage, thresholds and composites: softshrink, hardshrink, threshold, softsign, tanhshrink."""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.ops._activation_util import (
    _F,
    _backward_op,
    _floating_only,
    _inplace,
    _np_dtype,
    _scalar,
)
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import checked_scalar
from refgrad.ops.unary import not_implemented, require_tensor, tanh

# --- shrinkage and thresholds -------------------------------------------------------------------------------

def _shrink_grad(g, x, lambd):
    return np.where((x >= -lambd) & (x <= lambd), np.zeros((), g.dtype), g)


_softshrink_backward = _backward_op("SoftshrinkBackwardBackward0", _shrink_grad)
_hardshrink_backward = _backward_op("HardshrinkBackwardBackward0", _shrink_grad)


def _softshrink_forward(a, lambd):
    lam = np.asarray(lambd, a.dtype)
    return np.where(a > lam, a - lam, np.where(a < -lam, a + lam, a * 0)).astype(a.dtype, copy=False)


def _hardshrink_forward(a, lambd):
    lam = np.asarray(lambd, a.dtype)
    return np.where((a >= -lam) & (a <= lam), np.zeros((), a.dtype), a)


_softshrink = Primitive("SoftshrinkBackward0", _softshrink_forward,
                        lambda c, g: _softshrink_backward(g, c.self, lambd=c.lambd), save=("self",), jvp="elementwise")
_hardshrink = Primitive("HardshrinkBackward0", _hardshrink_forward,
                        lambda c, g: _hardshrink_backward(g, c.self, lambd=c.lambd), save=("self",), jvp="elementwise")


@register(namespace=_F)
def softshrink(input, lambd: float = 0.5):
    """Shrink toward 0 by lambd, 0 inside [-lambd, lambd] (torch.nn.functional.softshrink)."""
    require_tensor("softshrink", input)
    _floating_only(input, "softshrink_check")
    if lambd < 0:
        limit = float(np.finfo(input.dtype.numpy).max)
        type_name = "Double" if input.dtype is dtypes.float64 else "Float" if input.dtype is dtypes.float32 else \
            "Half"
        raise RuntimeError(f"lambda must be in range [0, {limit:g}] for input dtype {type_name}, but found "
                           f"{lambd:g}")
    return _softshrink(input, lambd=lambd)


@register(method=True)
def hardshrink(input, lambd: float = 0.5):
    """0 inside [-lambd, lambd], input elsewhere (torch.hardshrink)."""
    require_tensor("hardshrink", input)
    _floating_only(input, "hardshrink_cpu")
    return _hardshrink(input, lambd=lambd)


register("hardshrink", namespace=_F)(hardshrink)


def _threshold_forward(a, threshold, value):
    dtype = _np_dtype(a)
    return np.where(a <= _scalar(threshold, dtype), _scalar(value, dtype), a)


_threshold_backward = _backward_op(
    "ThresholdBackwardBackward0", lambda g, x, threshold: np.where(x <= threshold, np.zeros((), g.dtype), g))
_threshold = Primitive("ThresholdBackward0", _threshold_forward,
                       lambda c, g: _threshold_backward(g, c.self, threshold=c.threshold), save=("self",),
                       jvp="elementwise")
# torch's in-place node also masks by the input before the write (it saves self, not the result)
_threshold_inplace = Primitive("ThresholdBackward1", _threshold_forward,
                               lambda c, g: _threshold_backward(g, c.self, threshold=c.threshold), save=("self",),
                               jvp="elementwise")


@register()
def threshold(input, threshold: float, value: float, inplace: bool = False):
    """value where input <= threshold, else input (torch.threshold); gradient 0 at the threshold."""
    require_tensor("threshold", input)
    if input.dtype is dtypes.bool:
        raise not_implemented("threshold_cpu", input.dtype)
    checked_scalar(threshold, input._data.dtype)  # torch's overflow check of threshold and value
    checked_scalar(value, input._data.dtype)
    if inplace:
        return _inplace(input, lambda x: _threshold_inplace(x, threshold=threshold, value=value))
    return _threshold(input, threshold=threshold, value=value)


@register("threshold_")
def threshold_(input, threshold: float, value: float):
    """In-place threshold (torch.threshold_); recorded as ThresholdBackward1."""
    return globals()["threshold"](input, threshold, value, inplace=True)


register("threshold", namespace=_F)(threshold)
register("threshold_", namespace=_F)(threshold_)


# --- composites: softsign, tanhshrink -----------------------------------------------------------------------

@register(namespace=_F)
def softsign(input):
    """input / (1 + |input|) (torch.nn.functional.softsign; a DivBackward0 node)."""
    from refgrad.ops.unary import abs as absolute
    from refgrad.ops.unary import divide
    require_tensor("softsign", input)
    return divide(input, absolute(input) + 1)


@register(namespace=_F)
def tanhshrink(input):
    """input - tanh(input) (torch.nn.functional.tanhshrink; a SubBackward0 node)."""
    require_tensor("tanhshrink", input)
    if input.dtype is dtypes.bool:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return input - tanh(input)


