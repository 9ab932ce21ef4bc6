"""grid_sample (torch.nn.functional.grid_sample) and its aten spellings torch.grid_sampler, grid_sampler_2d and
grid_sampler_3d: sample an image (N, C, H, W) or a volume (N, C, D, H, W) at the grid's normalised points.

Each output point reads the input at the source coordinate ``ix`` per spatial dim: the grid value unnormalised
(``(g + 1) / 2 · (size - 1)`` with align_corners, else ``((g + 1) · size - 1) / 2``), then moved into range by the
padding mode (border clips, reflection reflects then clips; zeros leaves it and reads 0 outside). Locally ``ix`` is
linear in the grid, ``ix = g · dix + const``, with torch's multiplier ``dix`` (0 where clipped, ±scale where
reflected, ties at the bounds count as clipped). Bilinear/trilinear mode weights the 2^nd corners by products of
``1 - t`` and ``t`` (``t = ix - floor(ix)``); nearest mode reads the corner at ``rint(ix)`` (half to even) and
gives the grid a zero gradient; bicubic (2-d) weights 4x4 taps by cubic convolution (A = -0.75), each tap
bounded by the padding mode.

The VJP is written in refgrad ops of the input, the grid (through ``t``) and the cotangent, so double backward
works and matches torch's GridSampler2DBackwardBackward0.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from refgrad.autograd._jvp import no_forward_rule
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops.nn import _zeros_of
from refgrad.tensor import Tensor

__all__ = ["grid_sample", "grid_sampler", "grid_sampler_2d", "grid_sampler_3d"]

_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
_PADDINGS = {"zeros": 0, "border": 1, "reflection": 2}
_A = -0.75  # torch's cubic convolution coefficient


# --- point gather / scatter: (N, C, S) at per-sample flat indices (N, P), -1 reading 0 ------------------------

def _gather_np(x, index):
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    safe = np.where(index >= 0, index, 0)
    picked = np.take_along_axis(flat, np.broadcast_to(safe[:, None, :], (n, c, index.shape[1])), axis=2)
    return np.where(index[:, None, :] >= 0, picked, np.zeros((), x.dtype))


def _scatter_np(g, index, size):
    n, c, p = g.shape
    out = np.zeros((n, c, size), g.dtype)
    valid = np.broadcast_to(index[:, None, :] >= 0, g.shape)
    rows = np.broadcast_to(np.arange(n)[:, None, None], g.shape)
    chans = np.broadcast_to(np.arange(c)[None, :, None], g.shape)
    cols = np.broadcast_to(index[:, None, :], g.shape)
    np.add.at(out, (rows[valid], chans[valid], cols[valid]), g[valid])
    return out


_gather = Primitive("GatherBackward0", lambda x, index: _gather_np(x, index),
                    lambda c, g: _scatter(g, index=c.index, size=int(np.prod(c._input_meta[0][0][2:]))))
_scatter = Primitive("ScatterAddBackward0", lambda g, index, size: _scatter_np(g, index, size),
                     lambda c, gg: _gather(gg, index=c.index))


# --- source coordinates ----------------------------------------------------------------------------------------

def _reflect(x, low2: int, high2: int):
    """torch's reflect_coordinates_set_grad over [low2/2, high2/2]: (value, multiplier)."""
    if low2 == high2:
        return np.zeros_like(x), np.zeros_like(x)
    low, span = low2 / 2, (high2 - low2) / 2
    x = x - low
    sign = np.where(x < 0, -1.0, 1.0)
    x = np.abs(x)
    extra = np.fmod(x, span)
    flips = np.floor(x / span)
    even = np.fmod(flips, 2) == 0
    return np.where(even, extra + low, span - extra + low), np.where(even, sign, -sign)


def _clip(x, size: int):
    """torch's clip_coordinates_set_grad: (value, multiplier); the bounds themselves count as clipped."""
    inside = (x > 0) & (x < size - 1)
    return np.where(inside, x, np.where(x <= 0, 0.0, size - 1.0)).astype(x.dtype), inside.astype(x.dtype)


def _source(coord, size: int, padding: int, align: bool, bounded: bool = True):
    """The source coordinate of normalised ``coord`` along a dim of ``size``, and d(source)/d(coord)."""
    scale = (size - 1) / 2 if align else size / 2
    ix = ((coord + 1) * (size - 1)) / 2 if align else ((coord + 1) * size - 1) / 2
    mult = np.full_like(ix, scale)
    if not bounded or padding == 0:
        return ix, mult
    if padding == 2:
        ix, m = _reflect(ix, 0, 2 * (size - 1)) if align else _reflect(ix, -1, 2 * size - 1)
        mult = mult * m
    ix, m = _clip(ix, size)
    return ix, mult * m


def _flat(per_dim, spatial):
    """Flat index of per-dim integer positions (-1 if any is outside its size)."""
    flat = np.zeros(per_dim[0].shape, np.int64)
    valid = np.ones(per_dim[0].shape, bool)
    for pos, size in zip(per_dim, spatial):
        valid &= (pos >= 0) & (pos < size)
        flat = flat * size + np.clip(pos, 0, size - 1)
    return np.where(valid, flat, -1)


def _bounded(pos, size, padding, align):
    """A bicubic tap position moved into range by the padding mode (torch's get_value_bounded)."""
    if padding == 0:
        return pos
    coord, _ = _source_from_index(pos.astype(np.float64), size, padding, align)
    return coord.astype(np.int64)


def _source_from_index(ix, size, padding, align):
    if padding == 2:
        ix, _ = _reflect(ix, 0, 2 * (size - 1)) if align else _reflect(ix, -1, 2 * size - 1)
    return _clip(ix, size)


def _near(x):
    return ((_A + 2) * x - (_A + 3)) * x * x + 1


def _far(x):
    return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A


def _near_slope(x):
    return (3 * (_A + 2) * x - 2 * (_A + 3)) * x


def _far_slope(x):
    return (3 * _A * x - 10 * _A) * x + 8 * _A


def _factors(t, mode):
    """The per-dim weight factors of each tap offset, and their derivatives in ``t``."""
    if mode == 0:
        return [1 - t, t], [-1.0, 1.0]
    return ([_far(t + 1), _near(t), _near(1 - t), _far(2 - t)],
            [_far_slope(t + 1), _near_slope(t), -_near_slope(1 - t), -_far_slope(2 - t)])


# --- the plan: taps (flat indices) and how their weights depend on the grid --------------------------------------

def _plan(grid, spatial, mode, padding, align):
    """Per spatial dim (in input order): (base position, t = ix - base, dix); and the taps as (per-dim offsets,
    flat index (N, P))."""
    nd = len(spatial)
    n = grid.shape[0]
    coords = grid.reshape(n, -1, nd)
    dims = []
    for d in range(nd):
        size = spatial[d]
        ix, dix = _source(coords[..., nd - 1 - d], size, padding, align, bounded=mode != 2)
        if mode == 1:
            base = np.rint(ix)
        else:
            base = np.floor(ix)
        dims.append((base, ix - base, dix))
    offsets = [(0,)] if mode == 1 else ([(0, 1)] if mode == 0 else [(-1, 0, 1, 2)])
    taps = []
    for combo in itertools.product(*(offsets * nd)):
        positions = []
        for d, off in enumerate(combo):
            pos = dims[d][0] + off
            pos = np.where(np.isfinite(pos), pos, -1).astype(np.int64) if mode != 2 else \
                _bounded(np.where(np.isfinite(pos), pos, -1).astype(np.int64), spatial[d], padding, align)
            positions.append(pos)
        taps.append((combo, _flat(positions, spatial)))
    return dims, taps


def _weights(taps, mode, ts, slope_dim=None):
    """Each tap's weight from the per-dim fractional offsets ``ts`` (arrays or refgrad tensors); with
    ``slope_dim``, the weight's derivative in that dim's offset instead."""
    factors = [_factors(t, mode) for t in ts]
    weights = []
    for combo, _ in taps:
        w = None
        for d, off in enumerate(combo):
            k = off if mode == 0 else off + 1
            factor = factors[d][1][k] if d == slope_dim else factors[d][0][k]
            w = factor if w is None else w * factor
        weights.append(w)
    return weights


_unlinked_zeros = Primitive("GridSamplerNearestGridGrad", lambda g, shape: np.zeros(shape, g.dtype),
                            lambda c, gg: None)


def _sample_forward(x, grid, mode, padding, align):
    spatial = x.shape[2:]
    dims, taps = _plan(grid, spatial, mode, padding, align)
    ts = [d[1].astype(x.dtype) for d in dims]
    out = None
    weights = [None] if mode == 1 else _weights(taps, mode, ts)
    for (_, index), w in zip(taps, weights):
        term = _gather_np(x, index)
        if w is not None:
            term = term * w[:, None, :]
        out = term if out is None else out + term
    return out.astype(x.dtype).reshape(x.shape[:2] + grid.shape[1:-1])


def _sample_vjp(c, g):
    x, grid = c.input, c.grid
    mode, padding, align = c.mode, c.padding, c.align
    spatial = tuple(x.shape[2:])
    nd = len(spatial)
    n, ch = x.shape[:2]
    dims, taps = _plan(grid._data, spatial, mode, padding, align)
    gflat = g.reshape(n, ch, -1)
    size = int(np.prod(spatial))
    if mode == 1:  # as torch's double backward: the input's gradient has a zero derivative in the grid, the
        # grid's zero gradient has no derivative at all (but requires grad along with the cotangent)
        grad_x = None
        if c.needs_input_grad(0):
            grad_x = _scatter(gflat, index=taps[0][1], size=size).reshape(x.shape) + _zeros_of(grid).sum()
        grad_grid = _unlinked_zeros(g, shape=tuple(grid.shape)) if c.needs_input_grad(1) else None
        return grad_x, grad_grid
    coords = grid.reshape(n, -1, nd)
    # t per dim as a refgrad function of the grid: locally linear, t = coord · dix + (ix - base - coord · dix)
    ts = []
    for d, (_, t, dix) in enumerate(dims):
        coord = coords[..., nd - 1 - d]
        ts.append(coord * Tensor._make(dix.astype(x._data.dtype)) +
                  Tensor._make((t - coord._data * dix).astype(x._data.dtype)))
    weights = _weights(taps, mode, ts)
    grad_x = None
    if c.needs_input_grad(0):
        for (_, index), w in zip(taps, weights):
            term = _scatter(gflat * w.unsqueeze(1), index=index, size=size)
            grad_x = term if grad_x is None else grad_x + term
        grad_x = grad_x.reshape(x.shape)
    grad_grid = None
    if c.needs_input_grad(1):
        # d out / d t_d = sum over taps of <g, value> · dw/dt_d; t_d moves with the grid by dix
        paired = [(gflat * _gather(x.reshape(n, ch, -1), index=index)).sum(1) for _, index in taps]
        parts = [None] * nd
        for d in range(nd):
            total = None
            for p, w in zip(paired, _weights(taps, mode, ts, slope_dim=d)):
                total = p * w if total is None else total + p * w
            parts[nd - 1 - d] = total * Tensor._make(dims[d][2].astype(x._data.dtype))
        grad_grid = _stack(parts, -1).reshape(grid.shape)
    return grad_x, grad_grid


def _stack(parts, dim):
    from refgrad.ops.join import stack
    return stack(parts, dim)


_SAMPLERS = {nd: Primitive(f"GridSampler{nd}DBackward0", _sample_forward, _sample_vjp, inputs=("input", "grid"),
                           save=("input", "grid"), jvp=no_forward_rule(f"grid_sampler_{nd}d"))  # torch has none
             for nd in (2, 3)}


def _sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool,
             nd: int | None = None) -> Tensor:
    nd = input.ndim - 2 if nd is None else nd
    if input.ndim != nd + 2 or grid.ndim != nd + 2:
        raise RuntimeError(f"grid_sampler(): expected {nd + 2}D input and grid with same number of dimensions, but "
                           f"got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.dtype is not grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but input has "
                           f"{input.dtype} and grid has {grid.dtype}")
    if not input.dtype.is_floating_point:
        raise RuntimeError("grid_sampler_2d_cpu not implemented for '" + str(input.dtype).removeprefix("torch.")
                           + "'")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last dimension, but got grid with "
                           f"sizes {list(grid.shape)}")
    if any(n == 0 for n in input.shape[2:]):
        raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                           f"sizes {list(input.shape)} with dimension 2 being empty")
    if interpolation_mode == 2 and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if interpolation_mode not in (0, 1, 2) or padding_mode not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): unknown interpolation mode {interpolation_mode} or padding mode "
                           f"{padding_mode}")
    return _SAMPLERS[nd](input, grid, mode=int(interpolation_mode), padding=int(padding_mode),
                         align=bool(align_corners))


@register(namespace="torch.nn.functional")
def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the normalised points of ``grid`` (torch.nn.functional.grid_sample): modes bilinear
    (trilinear for volumes), nearest and bicubic; padding zeros, border and reflection."""
    if mode not in _MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if mode == "bicubic" and input.ndim != 4:
        raise ValueError("nn.functional.grid_sample(): bicubic mode is only supported for 4D input")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", stacklevel=2)
        align_corners = False
    return grid_sampler(input, grid, _MODES[mode], _PADDINGS[padding_mode], align_corners)


@register()
def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                 align_corners: bool) -> Tensor:
    """torch.grid_sampler: grid_sample with integer modes (0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros,
    1 border, 2 reflection), dispatching on the input's rank."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but "
                           f"got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    return _sampler(input, grid, interpolation_mode, padding_mode, align_corners)


@register()
def grid_sampler_2d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """torch.grid_sampler_2d: grid_sampler of an image (N, C, H, W) at a grid (N, H_out, W_out, 2)."""
    return _sampler(input, grid, interpolation_mode, padding_mode, align_corners, nd=2)


@register()
def grid_sampler_3d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """torch.grid_sampler_3d: grid_sampler of a volume (N, C, D, H, W) at a grid (N, D_out, H_out, W_out, 3)."""
    return _sampler(input, grid, interpolation_mode, padding_mode, align_corners, nd=3)
