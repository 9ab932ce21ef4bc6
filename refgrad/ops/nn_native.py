"""torch's native normalisation spellings (torch.native_batch_norm, native_layer_norm, native_group_norm),
local_response_norm, multilabel_margin_loss and linear_cross_entropy.

The native ops return the normalised output (the same Primitive as the functional op, so the same node) with the
saved statistics torch returns beside it: batch and layer norm's statistics are plain tensors (torch marks them
not differentiable); group norm's mean and rstd are outputs of its NativeGroupNormBackward0 node and carry
gradient, as in torch. local_response_norm composes refgrad ops as torch.nn.functional does (its node is
DivBackward0). multilabel_margin_loss is one Primitive; like torch, its backward has no derivative.
"""
from __future__ import annotations

import numpy as np

from refgrad.autograd._jvp import _connect, _transpose, no_forward_rule
from refgrad.autograd.grad_mode import is_grad_enabled
from refgrad.ops._layout import c_contiguous, channels_last_like
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops.nn import _check_reduction, _reduce_forward, legacy_reduction
from refgrad.ops.normalization import (
    _group_affine_forward,
    _group_affine_vjp,
    _narrow,
    _wide,
    batch_norm,
    layer_norm,
)
from refgrad.ops.pool_nd import avg_pool3d
from refgrad.ops.pooling import avg_pool2d, pad
from refgrad.tensor import Tensor

__all__ = ["native_batch_norm", "native_layer_norm", "native_group_norm", "local_response_norm",
           "multilabel_margin_loss", "linear_cross_entropy"]


def _stats(x: np.ndarray, axes: tuple, eps: float, keepdims: bool):
    wide = x.astype(np.float64)
    mean = wide.mean(axis=axes, keepdims=True)
    var = ((wide - mean) ** 2).mean(axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = mean.reshape(var.shape)
    return mean.astype(x.dtype), (1 / np.sqrt(var + eps)).astype(x.dtype)


@register()
def native_batch_norm(input: Tensor, weight, bias, running_mean, running_var, training: bool, momentum: float,
                      eps: float):
    """(output, save_mean, save_invstd) (torch.native_batch_norm): the batch statistics in training, empty
    tensors in evaluation; running stats are updated in place as by batch_norm."""
    axes = tuple(d for d in range(input.ndim) if d != 1)
    if training:
        mean, invstd = _stats(input._data, axes, eps, keepdims=False)
    out = batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = np.zeros(0, input._data.dtype)
        return out, Tensor._make(empty), Tensor._make(empty.copy())
    return out, Tensor._make(mean), Tensor._make(invstd)


@register()
def native_layer_norm(input: Tensor, normalized_shape, weight, bias, eps: float):
    """(output, mean, rstd) (torch.native_layer_norm); mean and rstd keep the normalised dims as size 1."""
    out = layer_norm(input, normalized_shape, weight, bias, eps)
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    axes = tuple(range(input.ndim - k, input.ndim))
    mean, rstd = _stats(input._data, axes, eps, keepdims=True)  # (torch's are C-contiguous, NumPy's in x's order)
    return out, Tensor._make(c_contiguous(mean)), Tensor._make(c_contiguous(rstd))


def _native_group_forward(x, *params, groups, eps, has_weight, has_bias):
    out = _group_affine_forward(x, *params, groups=groups, eps=eps, has_weight=has_weight, has_bias=has_bias)
    mean, rstd = _stats(x.reshape(x.shape[0], groups, -1), (2,), eps, keepdims=False)
    return out, mean, rstd


def _native_group_vjp(c, g_out, g_mean, g_rstd):
    def given(g):
        return g is not None and not getattr(g, "_materialized", False)
    count = 1 + c.has_weight + c.has_bias
    grads = list(_group_affine_vjp(c, g_out)) if given(g_out) else [None] * count
    if c.needs_input_grad(0) and (given(g_mean) or given(g_rstd)):
        shape = c._input_meta[0][0]
        x = _wide(c.input).reshape(shape[0], c.groups, -1)
        size = x.shape[2]
        extra = None
        if given(g_mean):
            extra = (_wide(g_mean) / size).unsqueeze(-1).expand(x.shape)
        if given(g_rstd):
            centered = x - x.mean(2, keepdim=True)
            rstd = ((centered * centered).mean(2, keepdim=True) + c.eps).pow(-0.5)
            term = -(_wide(g_rstd).unsqueeze(-1) * rstd.pow(3) * centered / size)
            extra = term if extra is None else extra + term
        extra = _narrow((extra.reshape(shape),), c._input_meta)[0]
        grads[0] = extra if grads[0] is None else grads[0] + extra
    return tuple(grads)


def _native_group_jvp(ctx, *tangents):
    """The generic rule, except that mean and rstd get no tangent without one on the input (torch 2.13); the
    output's and rstd's tangents read the primals in torch's formula, so they require grad when any input does
    (only the bias, say), the mean's only through the input's tangent."""
    tensors, results, outs = ctx._jvp_call
    found = list(_transpose(ctx, tensors, tangents, results, outs))
    anchors = [t for t in tensors if t.requires_grad] if is_grad_enabled() else []
    for i in outs:
        if i and tangents[0] is None:
            found[i] = None
            continue
        if found[i] is None:
            found[i] = Tensor._make(np.zeros_like(results[i]._data))
        if i != 1 and anchors and not found[i].requires_grad:
            found[i] = _connect(found[i], *anchors)
    return tuple(found)


_NATIVE_GROUP: dict = {}


def _native_group(has_weight: bool, has_bias: bool) -> Primitive:
    key = (has_weight, has_bias)
    if key not in _NATIVE_GROUP:
        inputs = ("input",) + (("weight",) if has_weight else ()) + (("bias",) if has_bias else ())
        _NATIVE_GROUP[key] = Primitive("NativeGroupNormBackward0", _native_group_forward, _native_group_vjp,
                                       inputs=inputs, save=tuple(n for n in inputs if n != "bias"),
                                       outputs=("result", "mean", "rstd"), jvp=_native_group_jvp)
    return _NATIVE_GROUP[key]


def _dense_in_suggested_format(data) -> bool:
    """torch's native_group_norm check on CPU, X.is_contiguous(X.suggest_memory_format()): C-contiguous, or (rank 4
    or 5) dense with the channels last (transposed or sliced inputs raise; torch.nn.functional.group_norm does not)."""
    if data.flags.c_contiguous:
        return True
    return channels_last_like(data) and np.moveaxis(data, 1, -1).flags.c_contiguous


@register()
def native_group_norm(input: Tensor, weight, bias, N: int, C: int, HxW: int, group: int, eps: float):  # noqa: N803
    """(output, mean, rstd) (torch.native_group_norm); mean and rstd are (N, group) and differentiable."""
    if input.numel() != N * C * HxW:
        raise RuntimeError(f"Expected input to have {N * C * HxW} elements, got {input.numel()}")
    if group <= 0 or C % group:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={group}")
    for t in (weight, bias):
        if t is not None and t.numel() != C:
            raise RuntimeError(f"Expected weight to be a vector of size equal to the number of channels in input, "
                               f"but got weight of shape {list(t.shape)} and input of shape {list(input.shape)}")
    if not _dense_in_suggested_format(input._data):
        raise RuntimeError("Expected X.is_contiguous(memory_format) to be true, but got false.  (Could this error "
                           "message be improved?  If so, please report an enhancement request to PyTorch.)")
    operands = [input] + [t for t in (weight, bias) if t is not None]
    return _native_group(weight is not None, bias is not None)(
        *operands, groups=int(group), eps=eps, has_weight=weight is not None, has_bias=bias is not None)


@register(namespace="torch.nn.functional")
def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
    """input / (k + alpha · mean of input² over ``size`` neighbouring channels)^beta
    (torch.nn.functional.local_response_norm), the window average taken by average pooling over the zero-padded
    channel dim, as torch does."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    square = input * input
    if input.ndim == 3:
        window = pad(square.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(window, (size, 1), stride=1).squeeze(1)
    else:
        shape = tuple(input.shape)
        # a view, as torch's: it raises for an input whose square (laid out like it) cannot be viewed so
        window = square.view(shape[0], 1, shape[1], shape[2], -1)
        window = pad(window, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(window, (size, 1, 1), stride=1).squeeze(1).view(shape)
    return input / (div * alpha + k).pow(beta)


# --- multilabel_margin_loss ------------------------------------------------------------------------------------

def _multilabel_terms(x, target):
    """Per sample: the (target class j, other class i) pairs with z = 1 - (x[j] - x[i]) > 0, as a slope matrix
    (d loss / d x, before the 1/C and the reduction) and the losses."""
    n, classes = x.shape
    slope = np.zeros_like(x)
    losses = np.zeros(n, x.dtype)
    for row in range(n):
        labels = []
        for value in target[row]:
            if value < 0:
                break
            labels.append(int(value))
        is_target = np.zeros(classes, bool)
        is_target[labels] = True
        others = np.flatnonzero(~is_target)
        for j in labels:
            z = (1 - x[row, j]) + x[row, others]  # torch: 1 - x[target] + x[i], in that order
            active = z > 0
            losses[row] += z[active].sum()
            slope[row, others[active]] += 1
            slope[row, j] -= active.sum()
    return slope / classes, (losses / classes).astype(x.dtype)


def _multilabel_forward(x, target, reduction, unbatched):
    xb = x.reshape(1, -1) if unbatched else x
    _, losses = _multilabel_terms(xb, target)
    if unbatched and reduction == "none":
        return losses.reshape(())
    return np.asarray(_reduce_forward(losses, reduction), x.dtype)


def _multilabel_backward_forward(g, x, target, reduction, unbatched):
    xb = x.reshape(1, -1) if unbatched else x
    slope, _ = _multilabel_terms(xb, target)
    g = np.asarray(g, x.dtype)
    factor = g.reshape(-1, 1) if reduction == "none" else (g / xb.shape[0] if reduction == "mean" else g)
    return (slope * factor).astype(x.dtype).reshape(x.shape)


def _not_implemented(c, *cotangents):
    raise RuntimeError("derivative for aten::multilabel_margin_loss_backward is not implemented")


_multilabel_backward = Primitive("NotImplemented", _multilabel_backward_forward, _not_implemented,
                                 inputs=("grad_output", "self"),
                                 jvp=no_forward_rule("aten::multilabel_margin_loss_backward", differentiable=False))
_multilabel = Primitive(
    "MultilabelMarginLossBackward0", _multilabel_forward,
    lambda c, g: _multilabel_backward(g, c.self, target=c.target, reduction=c.reduction, unbatched=c.unbatched),
    save=("self",), jvp=no_forward_rule("multilabel_margin_loss_forward"))


@register(namespace="torch.nn.functional")
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Hinge loss between each sample's target classes (listed first in ``target``, ended by -1) and its other
    classes, divided by the class count (torch.nn.functional.multilabel_margin_loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input.ndim > 2 or tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    unbatched = input.ndim <= 1
    classes = input.shape[-1] if input.ndim else 1
    tdata = target._data.reshape(1 if unbatched else input.shape[0], -1).astype(np.int64)
    if tdata.size and (tdata.min() < -1 or tdata.max() >= classes):
        raise RuntimeError("argument #2 'target' is out of range")
    return _multilabel(input, target=tdata, reduction=reduction, unbatched=unbatched)


@register(namespace="torch.nn.functional")
def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction: str = "mean",
                         ignore_index: int | None = None, label_smoothing: float = 0.0, options=None) -> Tensor:
    """cross_entropy(linear(input, linear_weight, linear_bias), target, ...) (torch.nn.functional.
    linear_cross_entropy), torch's reference form; ``ignore_index=None`` ignores no class. ``options`` (torch's
    chunked evaluation) changes only how torch computes it, so it is accepted and unused."""
    from refgrad.ops.losses import cross_entropy
    from refgrad.ops.nn import linear
    if linear_weight.ndim != 2:
        raise NotImplementedError("linear_cross_entropy: only a 2-D linear_weight (classes, in_features) is "
                                  "implemented")
    if ignore_index is None:
        classes = linear_weight.shape[0]
        bad = target._data[(target._data < 0) | (target._data >= classes)] if not target.dtype.is_floating_point \
            else np.zeros(0)
        if bad.size:
            raise IndexError(f"Target {int(bad[0])} is out of bounds.")
        ignore_index = -100
    return cross_entropy(linear(input, linear_weight, linear_bias), target, weight, ignore_index=ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)
