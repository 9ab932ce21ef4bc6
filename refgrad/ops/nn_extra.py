"""More of torch.nn.functional: softmin, rms_norm, pixel_shuffle, pixel_unshuffle, channel_shuffle, the deprecated
upsample_nearest/upsample_bilinear, the evaluation mode of dropout2d/dropout3d/alpha_dropout/feature_alpha_dropout,
multilabel_soft_margin_loss and triplet_margin_with_distance_loss.

The shuffles are Primitives with torch's nodes (a reshape-permute-reshape forward, the inverse shuffle as VJP); the
rest compose refgrad ops the way torch.nn.functional's Python does. The dropouts in training mode draw a random mask
from refgrad's generator, which cannot match torch's stream: only their evaluation mode is compared with torch.
"""
from __future__ import annotations

import warnings

import numpy as np

from refgrad.ops._layout import contiguous_result
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._scalar_ops import add_scalar
from refgrad.ops.activations import logsigmoid
from refgrad.ops.nn import pairwise_distance
from refgrad.ops.pooling import interpolate
from refgrad.ops.scan import softmax
from refgrad.ops.selection import clamp_min

__all__ = ["softmin", "rms_norm", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "upsample_nearest",
           "upsample_bilinear", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
           "multilabel_soft_margin_loss", "triplet_margin_with_distance_loss"]

_F = "torch.nn.functional"


@register(namespace=_F)
def softmin(input, dim=None, _stacklevel: int = 3, dtype=None):
    """softmax(-input) along ``dim`` (torch.nn.functional.softmin)."""
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return softmax(-input, dim, dtype=dtype)


@register(namespace=_F)
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """input / sqrt(mean(input², last dims) + eps) [· weight] (torch.nn.functional.rms_norm)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    eps = float(np.finfo(input.dtype.numpy).eps) if eps is None else eps
    result = input * add_scalar(input.pow(2).mean(dims, keepdim=True), eps).rsqrt()  # torch's graph: pow(x, 2)
    result = result * weight if weight is not None else result
    return result.contiguous()  # (torch's composite ends so: a clone, CloneBackward0, for a non-contiguous input)


# --- shuffles -----------------------------------------------------------------------------------------------

def _pixel_shuffle_forward(a, r):
    *batch, c, h, w = a.shape
    out = a.reshape(*batch, c // (r * r), r, r, h, w)
    n = len(batch)
    out = out.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return out.reshape(*batch, c // (r * r), h * r, w * r)


def _pixel_unshuffle_forward(a, r):
    *batch, c, h, w = a.shape
    out = a.reshape(*batch, c, h // r, r, w // r, r)
    n = len(batch)
    out = out.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return out.reshape(*batch, c * r * r, h // r, w // r)


def _channel_shuffle_forward(a, groups):
    n, c = a.shape[:2]
    return a.reshape(n, groups, c // groups, *a.shape[2:]).swapaxes(1, 2).reshape(a.shape)


_pixel_shuffle = Primitive("PixelShuffleBackward0", _pixel_shuffle_forward,
                           lambda c, g: _pixel_unshuffle(g, r=c.r))
_pixel_unshuffle = Primitive("PixelUnshuffleBackward0", contiguous_result(_pixel_unshuffle_forward),
                             lambda c, g: _pixel_shuffle(g, r=c.r))
_channel_shuffle = Primitive("ChannelShuffleBackward0", contiguous_result(_channel_shuffle_forward),
                             lambda c, g: _channel_shuffle(g, groups=c._input_meta[0][0][1] // c.groups))


@register(namespace=_F)
def pixel_shuffle(input, upscale_factor: int):
    """(*, C·r², H, W) -> (*, C, H·r, W·r) (torch.nn.functional.pixel_shuffle)."""
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    r = int(upscale_factor)
    if input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={input.shape[-3]} is not divisible by {r * r}")
    return _pixel_shuffle(input, r=r)


@register(namespace=_F)
def pixel_unshuffle(input, downscale_factor: int):
    """(*, C, H·r, W·r) -> (*, C·r², H, W) (torch.nn.functional.pixel_unshuffle)."""
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    r = int(downscale_factor)
    for axis, name in ((-2, "height"), (-1, "width")):
        if input.shape[axis] % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but input.size"
                               f"({axis})={input.shape[axis]} is not divisible by {r}")
    return _pixel_unshuffle(input, r=r)


@register(namespace=_F)
def channel_shuffle(input, groups: int):
    """Interleave the channels of ``groups`` groups (torch.nn.functional.channel_shuffle)."""
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    if input.shape[1] % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {input.shape[1]} channels and "
                           f"{groups} groups.")
    return _channel_shuffle(input, groups=int(groups))


# --- deprecated upsampling, evaluation-mode dropouts ----------------------------------------------------------

@register(namespace=_F)
def upsample_nearest(input, size=None, scale_factor=None):
    """interpolate(mode='nearest') with torch's deprecation warning (torch.nn.functional.upsample_nearest)."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


@register(namespace=_F)
def upsample_bilinear(input, size=None, scale_factor=None):
    """interpolate(mode='bilinear', align_corners=True) with torch's deprecation warning
    (torch.nn.functional.upsample_bilinear)."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _check_p(p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _feature_dropout(input, p, training, alpha: bool):
    """Zero (or, for alpha dropout, set to the SELU saturation) whole channels with probability p."""
    _check_p(p)
    if not training or p == 0:
        return input
    from refgrad.factories import rand
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if input.ndim > 1 else tuple(input.shape)
    keep = (rand(shape, dtype=input.dtype) >= p).to(input.dtype)
    if not alpha:
        return input * keep / (1 - p)
    saturation = -1.7580993408473766
    a = (1 / ((1 - p) * (1 + p * saturation ** 2))) ** 0.5
    return (input * keep + (1 - keep) * saturation) * a + (-a * saturation * p)


@register(namespace=_F)
def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels (torch.nn.functional.dropout2d); the input itself in evaluation mode."""
    return _feature_dropout(input, p, training, alpha=False)


@register(namespace=_F)
def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero whole channels of a volume (torch.nn.functional.dropout3d); evaluation mode: the input (4-d inputs
    get a batch dim added and removed, as torch)."""
    _check_p(p)
    if input.ndim == 4:
        return _feature_dropout(input.unsqueeze(0), p, training, alpha=False).squeeze(0)
    return _feature_dropout(input, p, training, alpha=False)


@register(namespace=_F)
def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """Dropout that keeps SELU's self-normalization (torch.nn.functional.alpha_dropout)."""
    _check_p(p)
    if not training or p == 0:
        return input
    from refgrad.factories import rand
    keep = (rand(tuple(input.shape), dtype=input.dtype) >= p).to(input.dtype)
    saturation = -1.7580993408473766
    a = (1 / ((1 - p) * (1 + p * saturation ** 2))) ** 0.5
    return (input * keep + (1 - keep) * saturation) * a + (-a * saturation * p)


@register(namespace=_F)
def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """Alpha dropout of whole channels (torch.nn.functional.feature_alpha_dropout)."""
    return _feature_dropout(input, p, training, alpha=True)


# --- losses ---------------------------------------------------------------------------------------------------

def _reduce(loss, reduction: str):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


@register(namespace=_F)
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    """Mean over classes of the binary logistic losses (torch.nn.functional.multilabel_soft_margin_loss)."""
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(dim=class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction)


@register(namespace=_F)
def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean"):
    """max(margin + d(anchor, positive) - d(anchor, negative), 0) with a custom distance
    (torch.nn.functional.triplet_margin_with_distance_loss); pairwise_distance by default."""
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: expected margin to be greater than 0, got {margin} "
                         "instead")
    distance = pairwise_distance if distance_function is None else distance_function
    positive_distance = distance(anchor, positive)
    negative_distance = distance(anchor, negative)
    if swap:
        swapped = distance(positive, negative)
        negative_distance = negative_distance.minimum(swapped)
    loss = clamp_min(margin + positive_distance - negative_distance, 0)
    return _reduce(loss, reduction)


