"""Normalisation layers (torch.nn.functional.layer_norm, batch_norm, group_norm, instance_norm).

Forwards in NumPy (biased variance, rstd = 1/sqrt(var + eps)); the VJPs recompute the normalised input with
refgrad ops from the saved input, so double backward works. batch_norm updates the running statistics in place
without bumping their version counters, as torch does.
"""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.ops._layout import contiguous_result, suggested_format
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops.nn import not_differentiable
from refgrad.tensor import Tensor


def _moments(x: np.ndarray, axes: tuple):
    mean = np.mean(x, axis=axes, keepdims=True, dtype=x.dtype)
    var = np.mean((x - mean) ** 2, axis=axes, keepdims=True, dtype=x.dtype)
    return mean, var


def _affine_shape(ndim: int, axis: int) -> tuple:
    return tuple(-1 if d == axis else 1 for d in range(ndim))


def _norm_forward(x, *params, axes, eps, affine_axes, has_weight, has_bias):
    dtype = x.dtype
    x = x.astype(np.float64, copy=False)  # statistics in float64 (see _wide), one rounding at the end
    mean, var = _moments(x, axes)
    y = (x - mean) / np.sqrt(var + eps)
    if has_weight:
        y = y * params[0].reshape(affine_axes)
    if has_bias:
        y = y + params[-1].reshape(affine_axes)
    return y.astype(dtype, copy=False)


def _wide(t):
    """``t`` in float64 (a differentiable cast) when it is a narrower float. The VJPs recompute the statistics,
    and 1/sqrt(var + eps) amplifies their rounding up to 316 times per order on (nearly) constant groups: in
    float32 a constant instance_norm input left second derivatives of 60-160 where the float64 value (and
    torch's float32 kernels) give 0. Working in float64 and rounding once keeps float32 results accurate."""
    return t if t is None or t.dtype is dtypes.float64 else t.to(dtypes.float64)


def _narrow(grads, metas):
    return tuple(g if g is None or g.dtype is meta[1] else g.to(meta[1]) for g, meta in zip(grads, metas))


def _norm_vjp(c, g):
    """Gradient of y = xhat * w + b where xhat normalises over ``axes``."""
    x = _wide(c.input)
    g = _wide(g)
    if c.has_bias and type(c).__name__ == "NativeLayerNormBackward0":
        c.bias  # noqa: B018 - unpacked for torch's in-place check
    axes, count = c.axes, c.count
    mean = x.mean(axes, keepdim=True)
    centered = x - mean
    rstd = ((centered * centered).mean(axes, keepdim=True) + c.eps).pow(-0.5)
    xhat = centered * rstd
    weight = _wide(c.weight).reshape(c.affine_axes) if c.has_weight else None
    reduce_axes = tuple(d for d in range(len(c._input_meta[0][0])) if c.affine_axes[d] == 1)
    grads = []
    if c.needs_input_grad(0):
        # batch norm's weight is constant over the normalised axes: it factors out and multiplies last, as in
        # torch, so an infinite weight gives the +-inf limit (not 0 * inf = NaN where the cotangent is 0)
        if weight is not None and all(c.affine_axes[a] == 1 for a in axes):
            grads.append(_channel_input_grad(x, weight, g, axes=axes, eps=c.eps))
        else:
            dxhat = g * weight if weight is not None else g
            grads.append(rstd * (dxhat - dxhat.mean(axes, keepdim=True)
                                 - xhat * (dxhat * xhat).mean(axes, keepdim=True)))
    else:
        grads.append(None)
    def reduce(t):  # an empty dim tuple means "all dims" to sum(): skip it when nothing is reduced
        return t.sum(reduce_axes) if reduce_axes else t

    k = 1
    if c.has_weight:
        grads.append(reduce(g * xhat).reshape(c._input_meta[k][0]) if c.needs_input_grad(k) else None)
        k += 1
    if c.has_bias:
        grads.append(reduce(g).reshape(c._input_meta[k][0]) if c.needs_input_grad(k) else None)
    del count
    return _narrow(grads, c._input_meta)


def _project(x, v, axes, eps):
    """L_x(v) = rstd (v - mean(v) - xhat mean(v xhat)) over ``axes``, in refgrad ops, with rstd and xhat."""
    centered = x - x.mean(axes, keepdim=True)
    rstd = ((centered * centered).mean(axes, keepdim=True) + eps).pow(-0.5)
    xhat = centered * rstd
    return rstd * (v - v.mean(axes, keepdim=True) - xhat * (v * xhat).mean(axes, keepdim=True)), rstd, xhat


def _channel_input_grad_np(x, w, g, axes, eps):
    mean = np.mean(x, axis=axes, keepdims=True)
    centered = x - mean
    rstd = 1.0 / np.sqrt(np.mean(centered * centered, axis=axes, keepdims=True) + eps)
    # torch's order: mean(g (x - mean)) rstd^2 scales the centred input, rstd multiplies last, so a cotangent
    # orthogonal to both 1 and x - mean gives exactly 0 (times an infinite weight: NaN, as torch), not rounding
    k = np.mean(g * centered, axis=axes, keepdims=True) * rstd * rstd
    projected = (g - np.mean(g, axis=axes, keepdims=True) - centered * k) * rstd
    return (projected * w).astype(x.dtype, copy=False)


def _channel_input_grad_vjp(c, u):
    """Derivatives of w * L_x(g) (w per channel, so it is applied last in every term, as in torch's batch-norm
    double backward: an infinite weight gives +-inf limits, not inf - inf = NaN inside L). L_x is symmetric, so
    the g-derivative is the same map applied to u; the x-derivative of <u, L_x(g)> is, with N elements per
    channel, a = u - mean(u), b = g - mean(g), A = sum(a g), B = sum(u xhat), C = sum(g xhat):
    rstd^2 / N * (3 xhat B C / N - xhat A - a C - b B)."""
    x, w, g, axes, eps = c.input, c.weight, c.grad_output, c.axes, c.eps
    grad_x = grad_w = grad_g = None
    if c.needs_input_grad(2):
        grad_g = _channel_input_grad(x, w, u, axes=axes, eps=eps)
    if c.needs_input_grad(0) or c.needs_input_grad(1):
        projected, rstd, xhat = _project(x, g, axes, eps)
        if c.needs_input_grad(1):
            reduce_axes = tuple(d for d in range(u.ndim) if c._input_meta[1][0][d] == 1)
            grad_w = (u * projected).sum(reduce_axes, keepdim=True)
        if c.needs_input_grad(0):
            count = int(np.prod([c._input_meta[0][0][a] for a in axes]))
            a, b = u - u.mean(axes, keepdim=True), g - g.mean(axes, keepdim=True)
            big_a = (a * g).sum(axes, keepdim=True)
            big_b = (u * xhat).sum(axes, keepdim=True)
            big_c = (g * xhat).sum(axes, keepdim=True)
            inner = xhat * (big_b * big_c * (3.0 / count) - big_a) - a * big_c - b * big_b
            grad_x = rstd * rstd / count * inner * w
    return grad_x, grad_w, grad_g


_channel_input = Primitive("NativeBatchNormBackwardBackward0", _channel_input_grad_np, _channel_input_grad_vjp,
                           inputs=("input", "weight", "grad_output"), save=("input", "weight", "grad_output"))


def _channel_input_grad(x, w, g, axes, eps):
    """Batch norm's input gradient w * L_x(g) as one node (torch's NativeBatchNormBackwardBackward0)."""
    return _channel_input(x, w, g, axes=axes, eps=eps)


def _norm_jvp(c, *tangents):
    """The generic rule, plus torch's convention at a NaN/inf input: a slice whose statistics are NaN has NaN
    tangents even when only the weight or bias has one (torch's formula runs the input's term on a zero tangent
    through those statistics: 0 · NaN)."""
    from refgrad.autograd._jvp import _transpose
    tensors, results, outs = c._jvp_call
    found = list(_transpose(c, tensors, tangents, results, outs))
    tangent = found[0] if found[0] is not None else Tensor._make(np.zeros_like(results[0]._data))
    if tangents[0] is None:
        x = tensors[0]._data.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            variance = np.var(x, axis=c.axes, keepdims=True) if x.size else np.zeros((), np.float64)
        undefined = np.broadcast_to(np.isnan(variance), x.shape)
        if undefined.any():
            tangent = tangent + Tensor._make(np.where(undefined, np.nan, 0.0).astype(tangent._data.dtype))
    found[0] = tangent
    return tuple(found)


_NORM_PRIMS: dict = {}


def _norm_primitive(name: str, has_weight: bool, has_bias: bool) -> Primitive:
    key = (name, has_weight, has_bias)
    if key not in _NORM_PRIMS:
        inputs = ("input",) + (("weight",) if has_weight else ()) + (("bias",) if has_bias else ())
        # torch's layer norm saves (and unpacks) weight and bias too, so an in-place change to either is reported;
        # its batch norm saves the weight but not the bias
        save = inputs if name == "NativeLayerNormBackward0" else tuple(n for n in inputs if n != "bias")
        # torch's layer norm writes a C-contiguous output whatever the input's layout; its batch norm writes one in
        # the input's suggested memory format (channels-last kept, a transposed input's order not)
        layout = contiguous_result if name == "NativeLayerNormBackward0" else suggested_format
        _NORM_PRIMS[key] = Primitive(name, layout(_norm_forward), _norm_vjp, inputs=inputs, save=save, jvp=_norm_jvp)
    return _NORM_PRIMS[key]


def _normalize(name, x, weight, bias, axes, affine_axes, eps):
    prim = _norm_primitive(name, weight is not None, bias is not None)
    operands = [x] + [t for t in (weight, bias) if t is not None]
    count = int(np.prod([x.shape[a] for a in axes]))
    return prim(*operands, axes=axes, eps=eps, affine_axes=affine_axes, has_weight=weight is not None,
                has_bias=bias is not None, count=count)


@register(namespace="torch.nn.functional")
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims (torch.nn.functional.layer_norm)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    for t, label in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {label} to be of same shape as normalized_shape, but got {label} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(shape)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    lead = input.ndim - k
    affine = tuple([1] * lead + list(shape))
    return _normalize("NativeLayerNormBackward0", input, weight, bias, axes, affine, eps)


@register(namespace="torch", name="layer_norm")
def _torch_layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    """torch.layer_norm: same as torch.nn.functional.layer_norm."""
    return layer_norm(input, normalized_shape, weight, bias, eps)


@register(namespace="torch.nn.functional")
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over groups of channels (torch.nn.functional.group_norm)."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, channels = input.shape[:2]
    if channels % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    for t in (weight, bias):
        if t is not None and (t.ndim != 1 or t.shape[0] != channels):
            raise RuntimeError(f"Expected weight to be a vector of size equal to the number of channels in input, "
                               f"but got weight of shape {list(t.shape)} and input of shape {list(input.shape)}")
    spatial = [int(n) for n in input.shape[2:]]
    if n * channels // num_groups * int(np.prod(spatial)) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{[n * channels // num_groups, num_groups] + spatial}")
    prim = _group_affine("NativeGroupNormBackward0", weight is not None, bias is not None)
    operands = [input] + [t for t in (weight, bias) if t is not None]
    return prim(*operands, groups=num_groups, eps=eps, has_weight=weight is not None, has_bias=bias is not None)


def _group_affine_forward(x, *params, groups, eps, has_weight, has_bias):
    shape = x.shape
    n, channels = shape[:2]
    x = x.reshape(n, channels, -1)
    spatial = x.shape[2]
    grouped = x.reshape(n, groups, -1)
    y = _norm_forward(grouped, axes=(2,), eps=eps, affine_axes=(1, 1, 1), has_weight=False, has_bias=False)
    y = y.reshape(n, channels, spatial)
    if has_weight:
        y = y * params[0][:, None]
    if has_bias:
        y = y + params[-1][:, None]
    return y.astype(x.dtype, copy=False).reshape(shape)


def _group_affine_vjp(c, g):
    shape = c._input_meta[0][0]
    n, channels = shape[:2]
    spatial = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    x = _wide(c.input).reshape(n, channels, spatial)  # torch's group norm saves input and weight, not the bias
    g = _wide(g).reshape(n, channels, spatial)
    groups = c.groups
    grouped = x.reshape(n, groups, -1)
    mean = grouped.mean(2, keepdim=True)
    centered = grouped - mean
    rstd = ((centered * centered).mean(2, keepdim=True) + c.eps).pow(-0.5)
    xhat = (centered * rstd).reshape(n, channels, spatial)
    grads = []
    if c.needs_input_grad(0):
        dxhat = (g * _wide(c.weight).reshape(-1, 1) if c.has_weight else g).reshape(n, groups, -1)
        xg = xhat.reshape(n, groups, -1)
        grads.append((rstd * (dxhat - dxhat.mean(2, keepdim=True) - xg * (dxhat * xg).mean(2, keepdim=True)))
                     .reshape(shape))
    else:
        grads.append(None)
    k = 1
    if c.has_weight:
        grads.append((g * xhat).sum((0, 2)) if c.needs_input_grad(k) else None)
        k += 1
    if c.has_bias:
        grads.append(g.sum((0, 2)) if c.needs_input_grad(k) else None)
    return _narrow(grads, c._input_meta)


_GROUP_PRIMS: dict = {}


def _group_affine(name, has_weight, has_bias):
    key = (has_weight, has_bias)
    if key not in _GROUP_PRIMS:
        inputs = ("input",) + (("weight",) if has_weight else ()) + (("bias",) if has_bias else ())
        save = tuple(n for n in inputs if n != "bias")
        # torch's forward formula reads the primals (its tangent requires grad when only the bias does)
        # (torch writes the output in the input's suggested memory format, as batch norm)
        _GROUP_PRIMS[key] = Primitive(name, suggested_format(_group_affine_forward), _group_affine_vjp,
                                      inputs=inputs, save=save, jvp="transpose_reading_primals")
    return _GROUP_PRIMS[key]


def _eval_forward(x, mean, var, *params, eps, affine_axes, has_weight, has_bias):
    y = (x - mean.reshape(affine_axes)) / np.sqrt(var.reshape(affine_axes) + np.asarray(eps, x.dtype))
    if has_weight:
        y = y * params[0].reshape(affine_axes)
    if has_bias:
        y = y + params[-1].reshape(affine_axes)
    return y.astype(x.dtype, copy=False)


def _eval_vjp(c, g):
    x = c.input
    scale = (c.running_var.reshape(c.affine_axes) + c.eps).pow(-0.5)
    xhat = (x - c.running_mean.reshape(c.affine_axes)) * scale
    reduce_axes = tuple(d for d in range(x.ndim) if d != 1)
    grads = [None, None, None]
    if c.needs_input_grad(0):
        grads[0] = g * scale * c.weight.reshape(c.affine_axes) if c.has_weight else g * scale
    k = 3
    if c.has_weight:
        grads.append((g * xhat).sum(reduce_axes) if c.needs_input_grad(k) else None)
        k += 1
    if c.has_bias:
        grads.append(g.sum(reduce_axes) if c.needs_input_grad(k) else None)
    return tuple(grads)


_EVAL_PRIMS: dict = {}


def _eval_primitive(has_weight, has_bias):
    key = (has_weight, has_bias)
    if key not in _EVAL_PRIMS:
        inputs = ("input", "running_mean", "running_var") + (("weight",) if has_weight else ()) + \
            (("bias",) if has_bias else ())
        save = ("input", "running_mean", "running_var") + (("weight",) if has_weight else ())
        _EVAL_PRIMS[key] = Primitive("NativeBatchNormBackward0", suggested_format(_eval_forward), _eval_vjp,
                                     inputs=inputs, save=save)
    return _EVAL_PRIMS[key]


@register(namespace="torch.nn.functional")
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Per-channel normalisation over batch and spatial dims (torch.nn.functional.batch_norm); in training the
    running stats (if given) become (1 - momentum) * old + momentum * batch stat (unbiased var), in place."""
    if input.ndim < 2:
        raise ValueError(f"Expected 2D or 3D input (got {input.ndim}D input)") if False else \
            RuntimeError(f"batch_norm: expected at least 2D input, got {input.ndim}D")
    channels = input.shape[1]
    not_differentiable("native_batch_norm", "running_mean", running_mean)
    not_differentiable("native_batch_norm", "running_var", running_var)
    affine = _affine_shape(input.ndim, 1)
    axes = tuple(d for d in range(input.ndim) if d != 1)
    for t in (running_mean, running_var, weight, bias):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"running_mean should contain {channels} elements not {t.numel()}")
    if training:
        count = input.numel() // channels if channels else 0
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"torch.Size({list(input.shape)})")
        out = _normalize("NativeBatchNormBackward0", input, weight, bias, axes, affine, eps)
        if running_mean is not None or running_var is not None:
            mean, var = _moments(input._data, axes)
            if running_mean is not None:
                running_mean._data[...] = ((1 - momentum) * running_mean._data + momentum * mean.reshape(-1))
            if running_var is not None:
                unbiased = var.reshape(-1) * count / (count - 1)
                running_var._data[...] = ((1 - momentum) * running_var._data + momentum * unbiased)
        return out
    if running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    operands = [input, running_mean, running_var] + [t for t in (weight, bias) if t is not None]
    return _eval_primitive(weight is not None, bias is not None)(
        *operands, eps=eps, affine_axes=affine, has_weight=weight is not None, has_bias=bias is not None)


@register(namespace="torch.nn.functional")
def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Per-sample, per-channel normalisation (torch.nn.functional.instance_norm): batch_norm on a (1, N*C, ...)
    view, as torch does."""
    if input.ndim < 3:
        raise ValueError(f"Expected at least 3D input (got {input.ndim}D input)")
    n, channels = input.shape[:2]
    # as torch: input.contiguous().view(...) and weight.repeat(n), so weight and bias are copies (an in-place
    # change to them after the call is not reported)
    folded = input.contiguous().view((1, n * channels) + tuple(input.shape[2:]))
    rep_w = weight.repeat(n) if weight is not None else None
    rep_b = bias.repeat(n) if bias is not None else None
    rm = rv = None
    if running_mean is not None:
        rm = Tensor._make(np.tile(running_mean._data, n))
    if running_var is not None:
        rv = Tensor._make(np.tile(running_var._data, n))
    out = batch_norm(folded, rm, rv, rep_w, rep_b, use_input_stats, momentum, eps)
    if use_input_stats:
        if running_mean is not None:
            running_mean._data[...] = rm._data.reshape(n, channels).mean(0)
        if running_var is not None:
            running_var._data[...] = rv._data.reshape(n, channels).mean(0)
    return out.view(tuple(input.shape))


@register(namespace="torch", name="batch_norm")
def _torch_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled=True):
    """torch.batch_norm: torch.nn.functional.batch_norm with torch's positional order."""
    return batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


@register(namespace="torch", name="group_norm")
def _torch_group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    """torch.group_norm: same as torch.nn.functional.group_norm."""
    return group_norm(input, num_groups, weight, bias, eps)


@register(namespace="torch", name="instance_norm")
def _torch_instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                         cudnn_enabled=True):
    """torch.instance_norm: torch.nn.functional.instance_norm with torch's positional order."""
    return instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)
