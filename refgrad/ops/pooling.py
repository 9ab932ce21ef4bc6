"""Pooling, interpolation and padding (torch.nn.functional): each a gather over the spatial dims.

Every op here is a :func:`refgrad.ops.nn.sparse_map` with per-dim index/weight tables: max pooling gathers the
argmax (so the gradient goes to the argmax, first occurrence on ties, the last NaN wins, as in torch), average
pooling and linear interpolation gather weighted windows, padding gathers reflected/replicated/wrapped positions.
The VJP is the adjoint scatter-add, itself differentiable, so double backward works.
"""
from __future__ import annotations

import math

import numpy as np

from refgrad.ops._layout import in_order, memory_order
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import checked_scalar
from refgrad.ops.nn import _map_adjoint_np, _map_np, grid_index, grid_weight, sparse_map, sparse_map_adjoint
from refgrad.tensor import Tensor


def _tuple(value, n: int) -> tuple:
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value) * (n if len(value) == 1 else 1)
    return (int(value),) * n


def _fmt(shape) -> str:
    return "x".join(str(s) for s in shape)


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    numerator = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = numerator // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _window_tables(in_spatial, out_spatial, kernel, stride, padding, dilation):
    """Per-dim (O, K) input positions of each window tap (-1 outside the input)."""
    tables = []
    for size, out, k, s, p, d in zip(in_spatial, out_spatial, kernel, stride, padding, dilation):
        pos = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
        tables.append(np.where((pos >= 0) & (pos < size), pos, -1))
    return tables


def _adaptive_tables(in_spatial, out_spatial):
    tables = []
    for size, out in zip(in_spatial, out_spatial):
        starts = [(o * size) // out for o in range(out)]
        ends = [-((-(o + 1) * size) // out) for o in range(out)]
        width = max(e - s for s, e in zip(starts, ends))
        table = np.full((out, width), -1, dtype=np.int64)
        for o, (s, e) in enumerate(zip(starts, ends)):
            table[o, :e - s] = np.arange(s, e)
        tables.append(table)
    return tables


def _argmax_index(x: np.ndarray, index: np.ndarray, nd: int) -> np.ndarray:
    """Per-batch flat input index of each window's maximum: (B, M, 1). As torch's kernels scan a window: the first
    maximum wins, a NaN beats all (the last NaN wins), and a padded tap never wins (a window of -inf values picks
    its first real tap, not the padding)."""
    lead = x.shape[:x.ndim - nd]
    flat = x.reshape(int(np.prod(lead, dtype=np.int64)), -1)
    valid = index >= 0
    values = np.where(valid, flat[:, np.where(valid, index, 0)], -np.inf)
    is_nan = np.isnan(values)
    clean = np.where(is_nan, -np.inf, values)
    top = np.max(clean, axis=-1, keepdims=True)
    first_max = np.argmax(valid & (clean == top), axis=-1)
    last_nan = values.shape[-1] - 1 - np.argmax(is_nan[..., ::-1], axis=-1)
    best = np.where(is_nan.any(axis=-1), last_nan, first_max)
    return np.take_along_axis(np.broadcast_to(index, values.shape), best[..., None], axis=-1)


def _max_pool(input: Tensor, nd: int, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              tables_fn, name: str):
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")
    in_spatial = tuple(input.shape[-nd:])
    tables, out_spatial = tables_fn(in_spatial)
    index = grid_index(tables, in_spatial)
    chosen = _argmax_index(input._data, index, nd)
    out = sparse_map(input, chosen, None, in_spatial, out_spatial, name=name, link=True)
    if return_indices:
        indices = Tensor._make(chosen[..., 0].reshape(out.shape).astype(np.int64))
        return out, indices
    return out


def _check_pool_args(in_spatial, kernel, stride, padding, dilation, ceil_mode, input_shape):
    for k, s, p, d in zip(kernel, stride, padding, dilation):
        if k <= 0:
            raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kernel[0]} kW: {kernel[-1]}")
        if s <= 0:
            raise RuntimeError(f"stride should be greater than zero, but got dH: {stride[0]} dW: {stride[-1]}")
        if d <= 0:
            raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dilation[0]} "
                               f"dilationW: {dilation[-1]}")
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
    out = tuple(_pool_out(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(in_spatial, kernel, stride, padding,
                                                                             dilation))
    if any(o < 1 for o in out):
        lead = input_shape[-len(in_spatial) - 1]
        raise RuntimeError(f"Given input size: ({lead}x{_fmt(in_spatial)}). Calculated output size: "
                           f"({lead}x{_fmt(out)}). Output size is too small")
    return out


def max_pool(input: Tensor, nd: int, kernel_size, stride, padding, dilation, ceil_mode: bool, return_indices: bool):
    """Max pooling over the last ``nd`` dims (MaxPool{nd}DWithIndicesBackward0)."""
    kernel = _tuple(kernel_size, nd)
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, nd)
    padding, dilation = _tuple(padding, nd), _tuple(dilation, nd)

    def tables(in_spatial):
        out = _check_pool_args(in_spatial, kernel, stride, padding, dilation, ceil_mode, input.shape)
        return _window_tables(in_spatial, out, kernel, stride, padding, dilation), out

    return _max_pool(input, nd, kernel, stride, padding, dilation, ceil_mode, return_indices, tables,
                     f"MaxPool{nd}DWithIndicesBackward0")


@register(namespace="torch")
@register(namespace="torch.nn.functional")
def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-D max pooling (torch.nn.functional.max_pool2d); the gradient goes to each window's (first) argmax."""
    return max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@register(namespace="torch")
@register(namespace="torch.nn.functional")
def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-D max pooling (torch.nn.functional.max_pool1d): torch's unsqueeze + max_pool2d + squeeze."""
    if input.ndim not in (2, 3):
        raise RuntimeError("max_pool1d() Expected 2D or 3D input tensor, but got " + f"{list(input.shape)}")
    stride = kernel_size if stride is None or stride == [] or stride == () else stride
    result = max_pool2d(input.unsqueeze(-2), (1, _tuple(kernel_size, 1)[0]), (1, _tuple(stride, 1)[0]),
                        (0, _tuple(padding, 1)[0]), (1, _tuple(dilation, 1)[0]), ceil_mode, True)
    out, indices = result[0].squeeze(-2), Tensor._make(result[1]._data[..., 0, :])
    return (out, indices) if return_indices else out


@register(namespace="torch.nn.functional")
def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows (torch.nn.functional.adaptive_max_pool2d)."""
    return adaptive_max_pool(input, output_size, return_indices, 2)


def _adaptive_size(input: Tensor, output_size, nd: int) -> tuple:
    if input.ndim not in (nd + 1, nd + 2) or any(n == 0 for n in input.shape[-nd:]):
        raise RuntimeError(f"adaptive_avg_pool{nd}d(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{list(input.shape)}")
    sizes = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * nd
    if len(sizes) != nd:
        raise RuntimeError(f"adaptive_avg_pool{nd}d: output_size must be {nd}")
    return tuple(input.shape[-nd + i] if s is None else int(s) for i, s in enumerate(sizes))


def adaptive_avg_pool(input: Tensor, output_size, nd: int) -> Tensor:
    """Mean over adaptive windows of the last ``nd`` dims; an all-ones output is torch's mean."""
    out_size = _adaptive_size(input, output_size, nd)
    if out_size == (1,) * nd:
        return input.mean(tuple(range(-1, -nd - 1, -1)), keepdim=True)
    in_spatial = tuple(input.shape[-nd:])
    tables = _adaptive_tables(in_spatial, out_size)
    index = grid_index(tables, in_spatial)
    counts = (index >= 0).sum(axis=1, keepdims=True)
    return sparse_map(input, index, np.broadcast_to(1.0 / counts, index.shape), in_spatial, out_size,
                      name=f"AdaptiveAvgPool{nd}DBackward0", link=True)


def adaptive_max_pool(input: Tensor, output_size, return_indices: bool, nd: int):
    """Max over adaptive windows of the last ``nd`` dims."""
    out_size = _adaptive_size(input, output_size, nd)
    return _max_pool(input, nd, None, None, None, None, False, return_indices,
                     lambda in_spatial: (_adaptive_tables(in_spatial, out_size), out_size),
                     f"AdaptiveMaxPool{nd}DBackward0")


@register(namespace="torch.nn.functional")
def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mean over adaptive windows (torch.nn.functional.adaptive_avg_pool2d); 1x1 output is torch's mean."""
    return adaptive_avg_pool(input, output_size, 2)


@register(namespace="torch")
@register(namespace="torch.nn.functional")
def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-D adaptive average pooling (torch.nn.functional.adaptive_avg_pool1d), via the 2-D op as torch does."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d(): Expected 2D or 3D tensor, but got {list(input.shape)}")
    size = output_size[0] if isinstance(output_size, (list, tuple)) else output_size
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def avg_pool(input: Tensor, nd: int, kernel_size, stride, padding, ceil_mode: bool, count_include_pad: bool,
             divisor_override) -> Tensor:
    """Average pooling over the last ``nd`` dims with torch's divisor rules (AvgPool{nd}DBackward0)."""
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for input")
    kernel = _tuple(kernel_size, nd)
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, nd)
    padding = _tuple(padding, nd)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    in_spatial = tuple(input.shape[-nd:])
    out = _check_pool_args(in_spatial, kernel, stride, padding, (1,) * nd, ceil_mode, input.shape)
    tables = _window_tables(in_spatial, out, kernel, stride, padding, (1,) * nd)
    index = grid_index(tables, in_spatial)
    if divisor_override is not None:
        divisor = np.full((index.shape[0], 1), float(divisor_override))
    else:
        per_dim = []
        for size, o, k, s, p in zip(in_spatial, out, kernel, stride, padding):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, size + p)
            count = end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0)
            per_dim.append(count[:, None].astype(np.float64))
        divisor = grid_weight(per_dim)
    return sparse_map(input, index, np.broadcast_to(1.0 / divisor, index.shape), in_spatial, out,
                      name=f"AvgPool{nd}DBackward0", link=True)


@register(namespace="torch.nn.functional")
def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-D average pooling (torch.nn.functional.avg_pool2d) with torch's divisor rules."""
    return avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


@register(namespace="torch")
@register(namespace="torch.nn.functional")
def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling (torch.nn.functional.avg_pool1d), via the 2-D op as torch does."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"avg_pool1d() Expected 2D or 3D input tensor, but got {list(input.shape)}")
    stride = kernel_size if stride is None or stride == [] or stride == () else stride
    return avg_pool2d(input.unsqueeze(-2), (1, _tuple(kernel_size, 1)[0]), (1, _tuple(stride, 1)[0]),
                      (0, _tuple(padding, 1)[0]), ceil_mode, count_include_pad).squeeze(-2)


# --- interpolate ---------------------------------------------------------------------------------------------

def _nearest_table(size: int, out: int, scale) -> np.ndarray:
    if out == size:
        return np.arange(out)[:, None]
    if out == 2 * size:
        return (np.arange(out) >> 1)[:, None]
    factor = np.float32(1.0 / scale) if scale else np.float32(size) / np.float32(out)
    src = np.floor(np.arange(out, dtype=np.float32) * factor).astype(np.int64)
    return np.minimum(src, size - 1)[:, None]


def _nearest_exact_table(size: int, out: int, scale) -> np.ndarray:
    """torch's 'nearest-exact': source floor((i + 0.5) * in/out) in float32 (no shortcut for equal or doubled
    sizes, unlike 'nearest')."""
    factor = np.float32(1.0 / scale) if scale else np.float32(size) / np.float32(out)
    src = np.floor((np.arange(out, dtype=np.float32) + np.float32(0.5)) * factor).astype(np.int64)
    return np.minimum(src, size - 1)[:, None]


def _linear_tables(size: int, out: int, scale, align_corners: bool, dtype):
    real = np.float32 if dtype == np.float32 else np.float64
    if out == size:  # as torch: a dim kept at its size (whatever the scale) pairs each element with itself,
        # weights (1, 0): no neighbour mixes in, but x * 1 + x * 0 is still NaN for x = +-inf
        return np.stack([np.arange(out)] * 2, 1), np.stack([np.ones(out, real), np.zeros(out, real)], 1)
    if align_corners:
        factor = real((size - 1) / (out - 1)) if out > 1 else real(0)
        src = factor * np.arange(out, dtype=real)
    else:
        factor = real(1.0 / scale) if scale else real(size) / real(out)
        # factor * (i + 0.5) - 0.5 rounded once, as torch's fused multiply-add: for 1 -> 3 elements the middle
        # source is 1.5 * float32(1/3) - 0.5 = 1.5e-8 (weight on the neighbour > 0), not 0.5 - 0.5 = 0
        if real is np.float32:  # the float64 product of float32 factors is exact
            src = (np.float64(factor) * (np.arange(out) + 0.5) - 0.5).astype(real)
        else:  # exact in integers (factor = n / d, d a power of 2), one correctly rounded division: 1 -> 5
            n, d = float(factor).as_integer_ratio()  # elements puts the middle one at 2.8e-17, not 0
            src = np.array([(n * (2 * i + 1) - d) / (2 * d) for i in range(out)], dtype=real)
        src = np.maximum(src, real(0))
    # torch's floorf: a float64 source just below an integer rounds up to it in float32 (its lambda src - low < 0
    # is clipped to 0 below)
    low = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), size - 1)
    high = low + (low < size - 1)
    lam1 = np.clip(src - low.astype(real), 0, 1).astype(real)
    return np.stack([low, high], 1), np.stack([real(1) - lam1, lam1], 1)


_MODES = {"nearest": ("UpsampleNearest{n}DBackward0", None),
          "nearest-exact": ("UpsampleNearestExact{n}DBackward0", None),
          "linear": ("UpsampleLinear1DBackward0", 1), "bilinear": ("UpsampleBilinear2DBackward0", 2),
          "trilinear": ("UpsampleTrilinear3DBackward0", 3)}


@register(namespace="torch.nn.functional")
def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims (torch.nn.functional.interpolate): modes 'nearest', 'nearest-exact' (1 to 3
    spatial dims), 'linear', 'bilinear', 'trilinear'."""
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented")
    if mode in ("nearest", "nearest-exact") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    nd = input.ndim - 2
    name, needed = _MODES[mode]
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None else
                         "either size or scale_factor should be defined")
    in_spatial = tuple(input.shape[2:])
    if size is not None:
        out = tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd
        if len(out) != nd:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(in_spatial)} and output size of {size}. Please "
                             f"provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, "
                             f"...,oK) format.")
        scales = (None,) * nd
    else:
        scales = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * nd
        out = tuple(int(math.floor(float(n) * float(s))) for n, s in zip(in_spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * nd
    # torch checks the input's rank only after reading size / scale_factor
    if not 1 <= nd <= 3:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    if needed is not None and nd != needed:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {needed + 2}D input")
    if any(o <= 0 for o in out):
        names = "DHW"[-nd:]
        given, made = (", ".join(f"{n}: {v}" for n, v in zip(names, dims)) for dims in (in_spatial, out))
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({given})"
                           f"{' and ' if nd == 1 else ' '}output ({made})")
    dtype = input._data.dtype
    if mode in ("nearest", "nearest-exact"):
        table = _nearest_table if mode == "nearest" else _nearest_exact_table
        tables = [table(n, o, s) for n, o, s in zip(in_spatial, out, scales)]
        index, weight = grid_index(tables, in_spatial), None
    else:
        if align_corners is None:
            align_corners = False
        pairs = [_linear_tables(n, o, s, align_corners, dtype) for n, o, s in zip(in_spatial, out, scales)]
        index = grid_index([p[0] for p in pairs], in_spatial)
        weight = grid_weight([p[1] for p in pairs]).astype(dtype)
    return sparse_map(input, index, weight, in_spatial, out, name=name.format(n=nd))


# --- pad -----------------------------------------------------------------------------------------------------

def _constant_pad_forward(x, index, nd, out_spatial, in_spatial, value):
    out = _map_np(x, index, None, nd, out_spatial)
    if x.ndim > 1 and not x.flags.c_contiguous and out.size and (index[:, 0] >= 0).all():
        return in_order(out, memory_order(x))  # (only narrowing: torch clones a narrowed view, in x's order)
    if value != 0:
        outside = (index[:, 0] < 0).reshape(out_spatial)
        out = np.where(outside, np.asarray(value, x.dtype), out)
    return out


_constant_pad = Primitive("ConstantPadNdBackward0", _constant_pad_forward,
                          lambda c, g: sparse_map_adjoint(g, c.index, None, c.in_spatial, c.out_spatial,
                                                          name="ConstantPadNdBackward0"))


def _pad_table(size: int, lo: int, hi: int, mode: str) -> np.ndarray:
    pos = np.arange(-lo, size + hi)
    if mode == "constant":
        return np.where((pos >= 0) & (pos < size), pos, -1)[:, None]
    if mode == "reflect":
        pos = np.abs(pos)
        return np.where(pos >= size, 2 * (size - 1) - pos, pos)[:, None]
    if mode == "replicate":
        return np.clip(pos, 0, size - 1)[:, None]
    # circular: torch crops first, then wraps around what is left
    start, kept = max(-lo, 0), size + min(lo, 0) + min(hi, 0)
    return (start + (np.arange(size + lo + hi) - max(lo, 0)) % max(kept, 1))[:, None]


@register(namespace="torch.nn.functional")
def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or crop, for negative amounts) the last len(pad)//2 dims (torch.nn.functional.pad); modes
    constant, reflect, replicate, circular, with torch's node names."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.ndim}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        if value is not None and value != 0:
            raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument.")
        if not (k <= 3 and input.ndim in (k + 1, k + 2)):
            raise NotImplementedError(
                f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\nSupported combinations "
                "for non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or 4D "
                "input: padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 (pads last 3 "
                "dimensions)")
    in_spatial = tuple(input.shape[input.ndim - k:])
    amounts = [(int(pad[2 * (k - 1 - i)]), int(pad[2 * (k - 1 - i) + 1])) for i in range(k)]  # per dim, in order
    for dim, (size, (lo, hi)) in enumerate(zip(in_spatial, amounts)):
        axis = input.ndim - k + dim
        if mode == "reflect" and (lo >= size or hi >= size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, but "
                               f"got: padding ({lo}, {hi}) at dimension {axis} of input {list(input.shape)}")
        if mode == "replicate" and size == 0:
            raise RuntimeError("input tensor must have non-zero size in padded dimensions")
        if mode == "circular":
            _check_circular(size, lo, hi)
        if mode == "constant" and size + min(lo, 0) + min(hi, 0) < 0:  # torch narrows first
            raise RuntimeError("narrow(): length must be non-negative.")
    out_spatial = tuple(size + lo + hi for size, (lo, hi) in zip(in_spatial, amounts))
    if mode in ("reflect", "replicate"):
        _check_reflect_replicate(mode, input.shape, in_spatial, out_spatial)
    if mode == "circular":
        _check_circular_copies(tuple(input.shape), out_spatial, amounts)
    index = grid_index([_pad_table(size, lo, hi, mode) for size, (lo, hi) in zip(in_spatial, amounts)], in_spatial)
    if mode == "constant":
        if value is not None:
            checked_scalar(value, input._data.dtype)  # torch's overflow check of the fill
        return _constant_pad(input, index=index, nd=k, out_spatial=out_spatial, in_spatial=in_spatial,
                             value=0.0 if value is None else value)
    name = {"reflect": f"ReflectionPad{k}DBackward0", "replicate": f"ReplicationPad{k}DBackward0",
            "circular": "CopySlices"}[mode]
    return sparse_map(input, index, None, in_spatial, out_spatial, name=name, link=mode != "circular")


def _check_circular(size: int, lo: int, hi: int) -> None:
    """torch's circular padding checks for one dim; it writes the wrapped parts by copying from the cropped middle,
    which must be at least as long as each (positive) pad."""
    if lo > size or hi > size:
        raise RuntimeError("Padding value causes wrapping around more than once.")
    if size + lo + hi < 0:
        raise RuntimeError("Negative padding value is resulting in an empty dimension")


_UNDEFINED = ("torch 2.13 returns uninitialized memory, or a gradient that does not match its output, for this "
              "circular padding; refgrad refuses ({})")


def _check_circular_copies(shape, out_spatial, amounts) -> None:
    """torch fills the wrapped parts by copying slices of its own output, last dim first, left before right. A pad
    longer than the cropped middle makes the two slices overlap: torch detects that (and raises) only when the
    slices are dense, i.e. every output dim before this one has size 1; otherwise the copy runs element by element,
    which reads not-yet-written memory on the left, and on the right repeats the middle periodically while the
    gradient (CopySlices, which treats the copy as simultaneous) does not match that forward (torch 2.13: pad
    (0, 0, -1, 2, 0, 0) of a (1, 1, 2, 2, 1) input, gradient of the sum 2 where the forward reads an element 3
    times). refgrad refuses both."""
    k = len(amounts)
    out_full = list(shape[:len(shape) - k]) + list(out_spatial)
    for d in reversed(range(k)):
        size = shape[len(shape) - k + d]
        lo, hi = amounts[d]
        kept = size + min(lo, 0) + min(hi, 0)
        if kept == 0 and max(lo, hi) > 0:
            raise RuntimeError(_UNDEFINED.format("the cropped dimension is empty"))
        dense = math.prod(out_full[:len(shape) - k + d]) == 1
        for pad_amount, left in ((lo, True), (hi, False)):
            if pad_amount > kept:
                if dense:
                    raise RuntimeError("unsupported operation: some elements of the input tensor and the written-to "
                                       "tensor refer to a single memory location. Please clone() the tensor before "
                                       "performing the operation.")
                raise RuntimeError(_UNDEFINED.format(f"a {'left' if left else 'right'} pad longer than the cropped "
                                                     "dimension"))


def _check_reflect_replicate(mode: str, shape, in_spatial, out_spatial) -> None:
    """torch's reflection/replication kernels refuse an output only when every padded dim is below 1; a negative
    size in just some of them fails later, where the output is allocated."""
    if all(n < 1 for n in out_spatial):
        names = "DHW"[-len(in_spatial):]
        given = ", ".join(f"{name}: {n}" for name, n in zip(names, in_spatial))
        if len(in_spatial) == 3:
            given = given.replace(", ", " ", 1)
        if mode == "replicate" and len(in_spatial) == 2:
            given += " "
        calculated = " ".join(f"{name}: {n}" for name, n in zip(names, out_spatial))
        raise RuntimeError(f"input ({given}) is too small. Calculated output {calculated}")
    negative = [n for n in out_spatial if n < 0]
    if negative:
        if mode == "reflect":
            raise RuntimeError("numel: integer multiplication overflow")
        full = list(shape[:len(shape) - len(out_spatial)]) + list(out_spatial)
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative[0]}: {full}")


_ = _map_adjoint_np  # re-exported for symmetry with conv
