"""Losses (torch.nn.functional): fused primitives where torch has a fused node (MseLossBackward0,
SmoothL1LossBackward0, HuberLossBackward0, BinaryCrossEntropyBackward0, NllLossBackward0,
SoftMarginLossBackward0), and torch's own composites elsewhere, so the outermost node names match torch's.
binary_cross_entropy_with_logits lives in ``nn.py``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from refgrad.autograd._jvp import no_forward_rule, reduced_elementwise, reduced_elementwise_zero_filled
from refgrad.ops._binary_common import check_broadcast
from refgrad.ops._layout import follows_inputs, like_first
from refgrad.ops._nll import _UINT8, _nll_loss
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._round_once import count_nonzero
from refgrad.ops._util import promote
from refgrad.ops.binary import xlogy
from refgrad.ops.nn import (
    _REDUCTIONS,
    _check_reduction,
    _clamp_min_value_only,
    _reduce_backward,
    _reduce_forward,
    const,
    legacy_reduction,
    not_differentiable,
    pairwise_distance,
    reduce_loss,
)
from refgrad.ops.scan import _log_softmax, log_softmax
from refgrad.ops.selection import clamp_min
from refgrad.ops.unary import abs as tensor_abs
from refgrad.ops.unary import sqrt
from refgrad.tensor import Tensor


def _pair(input, target, name: str):
    if not isinstance(target, Tensor) or not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' and 'target' must be Tensor")
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", UserWarning, stacklevel=3)
    shape = check_broadcast(input, target)  # torch's broadcast RuntimeError, after the warning
    dtype, (x, y) = promote(input, target)
    return dtype, x, y, shape


def _pointwise(name: str, loss_np, slope, norm_first: bool = False, jvp=reduced_elementwise):
    """A fused elementwise loss of d = input - target; ``slope(c, d)`` is dloss/dd in refgrad ops.

    ``norm_first``: the mean's 1/n multiplies the slope before the cotangent (torch's mse backward computes
    (d * 2/n) * grad, so a subnormal cotangent does not underflow to 0 first: at d = inf it gives inf, not NaN);
    otherwise the cotangent is divided first, as torch's smooth_l1 and huber backward."""
    def vjp(c, g):
        # as torch, target's gradient is the same backward with self and target swapped (not -grad of self), so
        # each has its own product with g (at d = inf with a zero second cotangent, one is NaN, not both +-inf)
        if g._zerotensor:  # torch's fused kernel computes with sgn's ZeroTensor materialized (zerotensor.py)
            g = g.clone()
        if norm_first:
            numel = int(np.prod(c.shape))
            norm = (1.0 / numel if numel else math.inf) if c.reduction == "mean" else 1.0  # torch: 2. / 0 = inf
            g = g if c.reduction == "none" else g.expand(c.shape)
            grad_x = slope(c, c.self - c.target) * norm * g if c.needs_input_grad(0) else None
            grad_y = slope(c, c.target - c.self) * norm * g if c.needs_input_grad(1) else None
            return grad_x, grad_y
        g = _reduce_backward(g, c.shape, c.reduction)
        grad_x = g * slope(c, c.self - c.target) if c.needs_input_grad(0) else None
        grad_y = g * slope(c, c.target - c.self) if c.needs_input_grad(1) else None
        return grad_x, grad_y

    def forward(x, y, reduction, shape, beta):
        with np.errstate(all="ignore"):
            return _reduce_forward(np.asarray(loss_np(x - y, beta), dtype=x.dtype), reduction)
    # (reduction="none": torch's kernel orders its output like its operands; huber's writes into empty_like(input))
    layout = like_first if name == "HuberLossBackward0" else follows_inputs
    return Primitive(name, layout(forward), vjp, inputs=("self", "target"), save=("self", "target"), jvp=jvp)


def _smooth_slope(c, d):
    """d/beta strictly inside |d| < beta, the sign outside; at |d| = beta the value is ±1 with zero second
    derivative, as torch's double backward (mask ``|d| < beta``) gives."""
    inside = const(np.abs(d._data) < c.beta)
    edge = const(np.clip(d._data, -c.beta, c.beta), d)
    return d.masked_fill(~inside, 0.0) / c.beta + edge.masked_fill(inside, 0.0) / c.beta


def _huber_slope(c, d):
    inside = const(np.abs(d._data) < c.beta)
    edge = const(np.clip(d._data, -c.beta, c.beta), d)
    return d.masked_fill(~inside, 0.0) + edge.masked_fill(inside, 0.0)


_mse = _pointwise("MseLossBackward0", lambda d, beta: d * d, lambda c, d: 2 * d, norm_first=True,
                  jvp=reduced_elementwise_zero_filled)  # torch 2.13: NaN at d = inf with one tangent
_smooth_l1 = _pointwise("SmoothL1LossBackward0",
                        lambda d, beta: np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta),
                        _smooth_slope)
_huber = _pointwise("HuberLossBackward0",
                    lambda d, beta: np.where(np.abs(d) < beta, 0.5 * d * d, beta * (np.abs(d) - 0.5 * beta)),
                    _huber_slope)


@register(namespace="torch.nn.functional")
def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None) -> Tensor:
    """Mean squared error (torch.nn.functional.mse_loss); broadcasting warns as in torch."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    dtype, x, y, shape = _pair(input, target, "mse_loss")
    return _mse(x, y, cast=dtype, reduction=reduction, shape=shape, beta=0.0)


@register(namespace="torch.nn.functional")
def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None) -> Tensor:
    """Mean absolute error (torch.nn.functional.l1_loss): |input - target| then the reduction, as torch's
    composite (gradient 0 at input == target)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _pair(input, target, "l1_loss")
    return reduce_loss(tensor_abs(input - target), reduction)


@register(namespace="torch.nn.functional")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Smooth L1 (torch.nn.functional.smooth_l1_loss); beta = 0 is l1_loss; gradient ±1 at |d| = beta."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    dtype, x, y, shape = _pair(input, target, "smooth_l1_loss")
    return _smooth_l1(x, y, cast=dtype, reduction=reduction, shape=shape, beta=float(beta))


@register(namespace="torch.nn.functional")
def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None) -> Tensor:
    """Huber loss (torch.nn.functional.huber_loss); gradient ±delta at |d| = delta."""
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    dtype, x, y, shape = _pair(input, target, "huber_loss")
    return _huber(x, y, cast=dtype, reduction=reduction, shape=shape, beta=float(delta))


# --- binary cross-entropy ------------------------------------------------------------------------------------

def _bce_forward(x, y, *maybe_weight, reduction):
    with np.errstate(divide="ignore", invalid="ignore"):
        log_x = np.maximum(np.log(x), -100)
        log_1mx = np.maximum(np.log1p(-x), -100)
    loss = -(y * log_x + (1 - y) * log_1mx)
    if maybe_weight:
        loss = loss * maybe_weight[0]
    return _reduce_forward(np.asarray(loss, dtype=x.dtype), reduction)


def _bce_vjp(c, g):
    from refgrad.ops.unary import logit
    x, y = c.self, c.target
    w = c.weight if len(c._input_meta) > 2 else None
    grad_x = grad_y = None
    if c.needs_input_grad(0):
        gx = _reduce_backward(g, c.shape, c.reduction)
        grad_x = _bce_grad(x, y, gx if w is None else gx * w)
    if c.needs_input_grad(1):  # torch's form: -logit(x) * grad (* weight) (/ numel), unclamped: +-inf at 0 or 1
        grad_y = -logit(x) * g
        if w is not None:
            grad_y = grad_y * w
        if c.reduction == "mean":
            grad_y = grad_y / int(np.prod(c.shape))
    return grad_x, grad_y, None


_BCE_EPS = float(np.float32(1e-12))  # torch's EPSILON is a C++ float: 9.99999996e-13


def _bce_grad_forward(x, y, g):
    return (g * (x - y) / np.maximum((1 - x) * x, np.asarray(_BCE_EPS, x.dtype))).astype(x.dtype, copy=False)


def _bce_grad_vjp(c, gout):
    """torch's binary_cross_entropy double backward (its own formula, with eps = 1e-12 added, not clamped)."""
    x, y, g = c.self, c.target, c.grad_output
    gx = gy = gg = None
    if c.needs_input_grad(0):
        gx = gout * g * (x * x - 2 * x * y + y) / ((x + 1e-12).pow(2) * (1 - x + 1e-12).pow(2))
    if c.needs_input_grad(1):  # clamped at a double 1e-12 here (the first order clamps at float(1e-12))
        gy = -gout * g / clamp_min((1 - x) * x, 1e-12)
    if c.needs_input_grad(2):  # 1e-12 added to x and 1 - x, not clamped: x = 1e-8, y = 0 gives 0.99990002
        gg = gout * (x - y) / ((x + 1e-12) * (1 - x + 1e-12))
    return gx, gy, gg


_bce_grad = Primitive("BinaryCrossEntropyBackwardBackward0", _bce_grad_forward, _bce_grad_vjp,
                      inputs=("self", "target", "grad_output"), save=("self", "target", "grad_output"))
_bce = Primitive("BinaryCrossEntropyBackward0", _bce_forward, _bce_vjp, inputs=("self", "target"),
                 save=("self", "target"), jvp=reduced_elementwise)
_bce_weighted = Primitive("BinaryCrossEntropyBackward0", _bce_forward, _bce_vjp, inputs=("self", "target", "weight"),
                          jvp=reduced_elementwise,
                          save=("self", "target", "weight"))


@register(namespace="torch.nn.functional")
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) with logs clamped at -100 (torch.nn.functional.binary_cross_entropy)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    not_differentiable("binary_cross_entropy", "weight", weight)
    data = input._data
    if data.size and not np.all((data >= 0) & (data <= 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    dtype, (x, y) = promote(input, target)
    shape = tuple(x.shape)
    if weight is None:
        return _bce(x, y, cast=dtype, reduction=reduction, shape=shape)
    return _bce_weighted(x, y, weight.expand(shape) if weight.shape != shape else weight, cast=dtype,
                         reduction=reduction, shape=shape)


# --- nll / cross entropy (the kernels: _nll.py) ---------------------------------------------------------

@register(namespace="torch.nn.functional")
def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices (torch.nn.functional.nll_loss): (C), (N, C) or (N, C, d...);
    int64 or uint8 targets ((C) and (N, C) only for uint8, as torch's kernels)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    return _nll_loss(input, target, weight, ignore_index, reduction)


_div_scalar = Primitive("DivBackward1", lambda a, other: (a / np.asarray(other, a.dtype)).astype(a.dtype),
                        lambda c, g: g / c.other)


@register(namespace="torch.nn.functional")
def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax + nll_loss for class indices, or soft cross-entropy for class probabilities
    (torch.nn.functional.cross_entropy), with weight, ignore_index and label_smoothing as torch composes them."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in _REDUCTIONS:
        _check_reduction(reduction)  # raises
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    data = input._data
    class_dim = 0 if data.ndim == 1 else 1
    # (log_softmax's checks and casts apply to floating inputs only: their primitive directly)
    logp = _log_softmax(input, dim=class_dim) if data.dtype.kind == "f" and data.ndim else log_softmax(input, class_dim)
    if target._data.shape != data.shape:  # class indices (torch tells them from probabilities by the shape alone)
        nll = _nll_loss(logp, target, weight, ignore_index, reduction)
        if label_smoothing <= 0:
            return nll
        tdata = target._data
        if weight is not None and reduction == "mean" and tdata.dtype == _UINT8 and count_nonzero(
                tdata != ignore_index):  # torch 2.13 gathers the weights of the counted targets by the bytes
            raise RuntimeError("gather(): Expected dtype int32/int64 for index")
        return _smoothed(nll, logp, target, weight, ignore_index, reduction, label_smoothing, class_dim)
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                           f"{_scalar_name(target.dtype)}")
    classes = data.shape[class_dim]
    wshape = tuple(classes if d == class_dim else 1 for d in range(data.ndim))
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = logp * target if weight is None else logp * target * weight.view(wshape)
    if reduction == "none":
        return -terms.sum(class_dim)
    if reduction == "sum":
        return -terms.sum()
    return _div_scalar(-terms.sum(), other=float(input.numel() / classes))


def _smoothed(nll, logp, target, weight, ignore_index, reduction, label_smoothing, class_dim):
    """torch's label smoothing of class-index targets: the nll term and the mean of -log p over the classes."""
    classes = logp.shape[class_dim]
    wshape = tuple(classes if d == class_dim else 1 for d in range(logp.ndim))
    ignored = const(target._data == ignore_index)
    smooth = -(logp * weight.view(wshape)).sum(class_dim) if weight is not None else -logp.sum(class_dim)
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "mean":
        if weight is not None:
            kept = target._data[target._data != ignore_index]
            smooth_total = smooth.sum() / Tensor._make(np.sum(weight._data[kept], dtype=weight._data.dtype))
        else:
            smooth_total = smooth.sum() / Tensor._make(np.asarray(np.sum(~ignored._data)))
    elif reduction == "sum":
        smooth_total = smooth.sum()
    else:
        smooth_total = smooth
    return (1 - label_smoothing) * nll + smooth_total * (label_smoothing / classes)


# --- the other composites --------------------------------------------------------------------------------------

@register(namespace="torch.nn.functional")
def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
    """Pointwise KL divergence (torch.nn.functional.kl_div), reductions incl. 'batchmean'."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    loss = target.exp() * (target - input) if log_target else xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return reduce_loss(loss, reduction)


def _soft_margin_vjp(c, g):
    x, y = c.self, c.target
    z = -y * x
    sig = (1 + (-z).exp()).reciprocal()
    return _reduce_backward(g, c.shape, c.reduction) * (-y) * sig, None


_soft_margin = Primitive("SoftMarginLossBackward0",
                         like_first(lambda x, y, reduction, shape: _reduce_forward(  # (torch: empty_like(input))
                             np.asarray(np.logaddexp(0, -y * x), dtype=x.dtype), reduction)),
                         _soft_margin_vjp, inputs=("self", "target"), save=("self", "target"))


@register(namespace="torch.nn.functional")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) (torch.nn.functional.soft_margin_loss); target is not differentiable."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.requires_grad:
        raise RuntimeError("The function 'soft_margin_loss' is not differentiable with respect to argument 'target'. "
                           "This input cannot have requires_grad True.")
    dtype, x, y, shape = _pair(input, target, "soft_margin_loss")
    return _soft_margin(x, y, cast=dtype, reduction=reduction, shape=shape)


@register(namespace="torch.nn.functional")
def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin) (torch.nn.functional.margin_ranking_loss); gradient flows at the kink."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return reduce_loss(clamp_min(-target * (input1 - input2) + margin, 0), reduction)


@register(namespace="torch.nn.functional")
def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (torch.nn.functional.hinge_embedding_loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    from refgrad.ops.elementwise import where
    zeros = const(np.zeros(input.shape), input)
    margin_part = where(target != 1, clamp_min(margin - input, 0), zeros)
    self_part = where(target != -1, input, zeros)
    return reduce_loss(margin_part + self_part, reduction)


@register(namespace="torch.nn.functional")
def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None, reduce=None,
                          reduction: str = "mean") -> Tensor:
    """1 - cos for y = 1, max(0, cos - margin) for y = -1 (torch.nn.functional.cosine_embedding_loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    from refgrad.ops.elementwise import where
    dim = input1.ndim - 1
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / sqrt(mag1 * mag2)
    zeros = const(np.zeros(cos.shape), cos)
    positive = where(target == 1, 1 - cos, zeros)
    negative = where(target == -1, clamp_min(cos - margin, 0), zeros)
    return reduce_loss(positive + negative, reduction)


@register(namespace="torch.nn.functional")
def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood (torch.nn.functional.poisson_nll_loss), with the Stirling term when
    ``full`` (only where target > 1)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return reduce_loss(loss, reduction)


@register(namespace="torch.nn.functional")
def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
    """Gaussian negative log-likelihood (torch.nn.functional.gaussian_nll_loss); var is clamped at eps in value
    only (as torch clamps a clone under no_grad)."""
    if isinstance(var, (int, float)):
        var = const(np.full(input.shape, float(var)), input)
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if np.any(var._data < 0):
        raise ValueError("var has negative entry/entries")
    var = _clamp_min_value_only(var, min=eps)
    diff = input - target
    loss = 0.5 * (var.log() + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


@register(namespace="torch.nn.functional")
def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) (torch.nn.functional.triplet_margin_loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not (anchor.ndim == positive.ndim == negative.ndim):
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:  # torch.min(dist_neg, dist_swap): MinimumBackward0, a tie splits the gradient evenly
        from refgrad.ops.binary import minimum
        dist_swap = pairwise_distance(positive, negative, p, eps)
        dist_neg = minimum(dist_neg, dist_swap)
    return reduce_loss(clamp_min(margin + dist_pos - dist_neg, 0), reduction)


def _scalar_name(dtype) -> str:
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]



# --- multi-class margin -------------------------------------------------------------------------------------------

def _multi_margin_terms(x, target, p, margin, weight):
    """Per-(sample, class) hinge terms z = margin - x[y] + x[j] (j != y), clipped at 0, and the scale w[y] / C."""
    classes = x.shape[1]
    picked = np.take_along_axis(x, target[:, None], axis=1)
    with np.errstate(invalid="ignore"):
        z = margin - picked + x
    # torch adds a term only when z > 0, so NaN terms (inf - inf) are skipped
    z = np.where((np.arange(classes)[None, :] == target[:, None]) | ~(z > 0), 0, z)
    scale = (np.ones(classes, x.dtype) if weight is None else weight.astype(x.dtype))[target] / classes
    return z, scale


def _multi_margin_forward(x, *maybe_weight, target, p, margin, reduction, unbatched):
    weight = maybe_weight[0] if maybe_weight else None
    xb = x[None] if unbatched else x
    z, scale = _multi_margin_terms(xb, target, p, margin, weight)
    losses = ((z if p == 1 else z * z).sum(axis=1) * scale).astype(x.dtype)
    if unbatched and reduction == "none":
        return losses.reshape(())
    return _reduce_forward(losses, reduction)


def _multi_margin_backward_forward(g, x, target, p, margin, weight, reduction, unbatched):
    xb = x[None] if unbatched else x
    z, scale = _multi_margin_terms(xb, target, p, margin, weight)
    slope = (z > 0).astype(x.dtype) if p == 1 else 2 * z
    slope = slope * scale[:, None]
    slope[np.arange(xb.shape[0]), target] = -slope.sum(axis=1)
    g = np.asarray(g, x.dtype)
    if reduction == "none":
        factor = g.reshape(-1, 1)
    else:
        factor = g / xb.shape[0] if reduction == "mean" else g
    grad = (slope * factor).astype(x.dtype)
    return grad[0] if unbatched else grad


def _not_implemented_multi_margin(c, *cotangents):
    raise RuntimeError("derivative for aten::multi_margin_loss_backward is not implemented")


_multi_margin_backward = Primitive("NotImplemented", _multi_margin_backward_forward, _not_implemented_multi_margin,
                                   inputs=("grad_output", "self"),
                                   jvp=no_forward_rule("aten::multi_margin_loss_backward", differentiable=False))
def _multi_margin_vjp(c, g):
    weight = c.weight._data if len(c._input_meta) > 1 else None  # saved by torch too: in-place changes are caught
    grad = _multi_margin_backward(g, c.self, target=c.target, p=c.p, margin=c.margin, weight=weight,
                                  reduction=c.reduction, unbatched=c.unbatched)
    return (grad,) + (None,) * (len(c._input_meta) - 1)


_multi_margin = Primitive("MultiMarginLossBackward0", _multi_margin_forward, _multi_margin_vjp, save=("self",),
                          jvp=no_forward_rule("multi_margin_loss"))
_multi_margin_weighted = Primitive("MultiMarginLossBackward0", _multi_margin_forward, _multi_margin_vjp,
                                   inputs=("self", "weight"), save=("self", "weight"),
                                   jvp=no_forward_rule("multi_margin_loss"))


@register(namespace="torch.nn.functional")
def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss (torch.nn.functional.multi_margin_loss), p in {1, 2}; like torch, it has no
    double backward."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise RuntimeError("only p == 1 and p == 2 supported")
    unbatched = input.ndim <= 1
    classes = input.shape[-1] if input.ndim else 1
    tdata = target._data.reshape(-1).astype(np.int64)
    if input.ndim > 2 or tdata.shape[0] != (1 if unbatched else input.shape[0]):
        raise RuntimeError(f"inconsistent target size, expected {1 if unbatched else input.shape[0]} but got "
                           f"{list(target.shape)}")
    if tdata.size and (tdata.min() < 0 or tdata.max() >= classes):
        raise RuntimeError("target out of range")
    if weight is not None and (weight.ndim != 1 or weight.numel() != classes):
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got {list(weight.shape)}")
    not_differentiable("multi_margin_loss", "weight", weight)
    x = input.reshape(1) if input.ndim == 0 else input
    params = dict(target=tdata, p=p, margin=margin, reduction=reduction, unbatched=unbatched)
    if weight is None:
        return _multi_margin(x, **params)
    return _multi_margin_weighted(x, weight, **params)
