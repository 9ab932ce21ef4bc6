"""torch.nn.functional: activations with a functional-only spelling, and the losses."""
from __future__ import annotations

import numpy as np

from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import promote

_REDUCTIONS = ("none", "mean", "sum")


def _reduce_forward(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.mean(loss, dtype=loss.dtype)
    if reduction == "sum":
        return np.sum(loss, dtype=loss.dtype)
    return loss


def _reduce_backward(g, shape, reduction: str):
    """The cotangent of an elementwise loss before its reduction."""
    if reduction == "none":
        return g
    numel = int(np.prod(shape))
    return g.expand(shape) / numel if reduction == "mean" else g.expand(shape)


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _bce_logits_forward(x, y, weight, pos_weight, reduction):
    softplus_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))  # log(1 + exp(-x)), stable
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
    loss = (1 - y) * x + log_weight * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce_forward(np.asarray(loss, dtype=x.dtype), reduction)


def _bce_logits_vjp(c, g):
    from refgrad.ops.elementwise import sigmoid
    x, y = c.self, c.target
    g = _reduce_backward(g, c.shape, c.reduction)
    w = c.weight_tensor
    pw = c.pos_weight_tensor
    grad_x = grad_y = None
    if c.needs_input_grad(0):
        if pw is None:
            grad_x = sigmoid(x) - y
        else:
            log_weight = (pw - 1) * y + 1
            grad_x = (1 - y) - log_weight * sigmoid(-x)
        grad_x = grad_x * g if w is None else grad_x * w * g
    if c.needs_input_grad(1):
        softplus_neg = (1 + (-x).exp()).log()
        grad_y = -x if pw is None else -x + (pw - 1) * softplus_neg
        grad_y = grad_y * g if w is None else grad_y * w * g
    return grad_x, grad_y


_bce_logits = Primitive("BinaryCrossEntropyWithLogitsBackward0",
                        lambda x, y, reduction, shape, weight, pos_weight, weight_tensor, pos_weight_tensor:
                        _bce_logits_forward(x, y, weight, pos_weight, reduction),
                        _bce_logits_vjp, inputs=("self", "target"), save=("self", "target"))


@register(namespace="torch.nn.functional")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one numerically stable step (torch.nn.functional, same name)."""
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    dtype, (x, y) = promote(input, target)
    return _bce_logits(x, y, cast=dtype, reduction=reduction, shape=tuple(np.broadcast_shapes(x.shape, y.shape)),
                       weight=None if weight is None else weight._data,
                       pos_weight=None if pos_weight is None else pos_weight._data,
                       weight_tensor=weight, pos_weight_tensor=pos_weight)
