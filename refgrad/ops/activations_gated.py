"""Gated and parametric activations: torch.nn.functional.glu and prelu (also torch.prelu, Tensor.prelu).

Both have hand-written double backward (torch's GluBackwardBackward0 and PreluKernelBackwardBackward0 closed
forms), so infinite inputs and the x == 0 mask of prelu's double backward match torch 2.13.
"""
from __future__ import annotations

import numpy as np

from refgrad.ops._activation_util import _F, _floating_only
from refgrad.ops._layout import follow_inputs
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import never_flowed
from refgrad.ops.elementwise import sigmoid as _sigmoid
from refgrad.ops.unary import _where, require_tensor
from refgrad.tensor import Tensor

__all__ = ["glu", "prelu"]


def _halves(a, dim):
    half = a.shape[dim] // 2
    return np.take(a, range(half), axis=dim), np.take(a, range(half, 2 * half), axis=dim)


_split_halves = Primitive("SplitBackward0", lambda a, dim: tuple(np.ascontiguousarray(h) for h in _halves(a, dim)),
                          lambda c, ga, gb: _join_halves(ga, gb, dim=c.dim))
_join_halves = Primitive("CatBackward0", lambda a, b, dim: np.concatenate([a, b], axis=dim),
                         lambda c, g: _split_halves(g, dim=c.dim), inputs=("self", "other"))


def _glu_forward(a, dim):
    first, second = _halves(a, dim)
    with np.errstate(over="ignore"):
        out = (first / (np.asarray(1, a.dtype) + np.exp(-second))).astype(a.dtype, copy=False)
    view = a[(slice(None),) * dim + (slice(0, first.shape[dim]),)]  # (np.take's halves are C-ordered copies)
    return follow_inputs(out, view)  # (torch's kernel is elementwise on the halves, views of a: a's order)


def _glu_grad(g, a, dim):
    first, second = _halves(a, dim)
    with np.errstate(over="ignore", invalid="ignore"):
        gate = np.asarray(1, a.dtype) / (np.asarray(1, a.dtype) + np.exp(-second))
        return np.concatenate([g * gate, (np.asarray(1, a.dtype) - gate) * gate * first * g], axis=dim)


def _glu_backward_vjp(c, gg):
    """Both derivatives of glu's gradient, in closed form (as torch), so ±inf halves give ±inf rather than NaN."""
    first, second = _split_halves(c.self, dim=c.dim)
    gg_first, gg_second = _split_halves(gg, dim=c.dim)
    gate = _sigmoid(second)
    complement = 1 - gate
    slope = gate * complement
    grad_output = grad_self = None
    if c.needs_input_grad(0):
        grad_output = gg_first * gate + gg_second * (first * slope)
    if c.needs_input_grad(1):
        g = c.grad_output
        curvature = slope * complement - gate * slope
        grad_self = _join_halves(gg_second * g * slope, gg_second * first * g * curvature + gg_first * g * slope,
                                 dim=c.dim)
    return grad_output, grad_self


_glu_backward = Primitive("GluBackwardBackward0", _glu_grad, _glu_backward_vjp, inputs=("grad_output", "self"),
                          save=("grad_output", "self"))


def _glu_vjp(c, g):
    return _glu_backward(g, c.self, dim=c.dim)


_glu = Primitive("GluBackward0", _glu_forward, _glu_vjp, save=("self",))


@register(namespace=_F)
def glu(input, dim: int = -1):
    """First half of input (along dim) times sigmoid of the second half (torch.nn.functional.glu)."""
    require_tensor("glu", input)
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    from refgrad.ops._util import wrap_dim
    axis = wrap_dim(dim, input.dim())
    if input.shape[axis] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size {input.shape[axis]}")
    _floating_only(input, "glu_cpu")
    return _glu(input, dim=axis)


def _channel_shape(input_shape: tuple, weight_numel: int) -> tuple:
    """The shape that broadcasts prelu's weight along input's channel dim (dim 1), or over everything."""
    if weight_numel == 1 or len(input_shape) < 2:
        return (1,) * len(input_shape)
    return tuple(weight_numel if i == 1 else 1 for i in range(len(input_shape)))


def _prelu_forward(a, w):
    slopes = w.reshape(_channel_shape(a.shape, w.size))
    return np.where(a > 0, a, slopes * a).astype(a.dtype, copy=False)


def _per_channel(t: Tensor, x_dim: int, weight_shape: tuple) -> Tensor:
    """Sum a per-element prelu term down to the weight's shape (over all dims but the channel dim 1)."""
    if x_dim < 2 or int(np.prod(weight_shape)) == 1:
        return t.sum().reshape(weight_shape)
    others = tuple(d for d in range(x_dim) if d != 1)
    return t.sum(dim=others).reshape(weight_shape)


def _prelu_grad(g, x, w):
    slopes = w.reshape(_channel_shape(x.shape, w.size))
    positive = x > 0
    grad_x = np.where(positive, g, slopes * g).astype(x.dtype, copy=False)
    per_element = np.where(positive, np.zeros((), x.dtype), x * g)
    if x.ndim < 2 or w.size == 1:
        grad_w = np.sum(per_element, dtype=x.dtype).reshape(w.shape)
    else:
        grad_w = np.sum(per_element, axis=tuple(d for d in range(x.ndim) if d != 1), dtype=x.dtype).reshape(w.shape)
    return grad_x, grad_w


def _prelu_backward_vjp(c, gg_x, gg_w):
    """torch 2.13's double backward masks with x >= 0 (the first-order gradient uses x > 0): at x == 0 the
    derivative of grad_input with respect to grad_output is 1, not the weight."""
    g, x, w = c.grad_output, c.self, c.weight
    shape = _channel_shape(tuple(x.shape), w.numel())
    nonnegative = x >= 0
    slopes, gg_w_b = w.reshape(shape), gg_w.reshape(shape)
    grad_g = None
    if c.needs_input_grad(0):
        # as torch, a cotangent that never flowed (x's or the weight's, when it needs no gradient) adds no term,
        # so a NaN x or weight meets no 0 * NaN (x = NaN, weight 0: torch gives 0, a flowed zero cotangent NaN)
        flowed_x, flowed_w = not never_flowed(gg_x), not never_flowed(gg_w)
        if flowed_x and flowed_w:
            negative = gg_x * slopes + gg_w_b * x
        else:
            negative = gg_x * slopes if flowed_x else gg_w_b * x
        grad_g = _where(nonnegative, gg_x, negative)
    grad_x = _where(nonnegative, 0.0, g * gg_w_b) if c.needs_input_grad(1) else None
    grad_w = _per_channel(_where(nonnegative, 0.0, g * gg_x), x.dim(), tuple(w.shape)) if c.needs_input_grad(2) \
        else None
    return grad_g, grad_x, grad_w


_prelu_backward = Primitive("PreluKernelBackwardBackward0", _prelu_grad, _prelu_backward_vjp,
                            inputs=("grad_output", "self", "weight"), save=("grad_output", "self", "weight"))


def _prelu_vjp(c, g):
    grad_x, grad_w = _prelu_backward(g, c.self, c.weight)
    return (grad_x if c.needs_input_grad(0) else None), (grad_w if c.needs_input_grad(1) else None)


_prelu = Primitive("PreluKernelBackward0", _prelu_forward, _prelu_vjp, inputs=("self", "weight"),
                   save=("self", "weight"))


@register(method=True)
def prelu(input, weight):
    """input if input > 0 else weight * input, weight per channel (dim 1) or shared (torch.prelu)."""
    require_tensor("prelu", input)
    require_tensor("prelu", weight, arg="weight", position=2)
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{weight.numel()} and channel size = {channels}.")
    if weight.dtype is not input.dtype:
        from refgrad.tensor import _SCALAR_TYPE
        raise RuntimeError(f"prelu: Type promoting not supported. Got {_SCALAR_TYPE[input.dtype.name]} and "
                           f"{_SCALAR_TYPE[weight.dtype.name]}")
    _floating_only(input, "prelu_cpu")
    return _prelu(input, weight)


register("prelu", namespace=_F)(prelu)
