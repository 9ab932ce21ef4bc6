"""Statistics: trapezoid (trapz), cumulative_trapezoid, cov, corrcoef, quantile and nanquantile.

All are compositions recorded as torch records them in C++ (Mul/Sub/Sum nodes for the trapezoid rules, an Mm for
cov, Sort + Gather + Lerp for quantile), so their VJPs come from those ops. quantile's final reshapes are torch's
in-place view ops (UnsqueezeBackward1, TransposeBackward1, SqueezeBackward4), here small Primitives of those names.
"""
from __future__ import annotations

import warnings

import numpy as np

from refgrad import dtypes
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._scalar_ops import div_scalar, mul_scalar
from refgrad.ops._util import wrap_dim
from refgrad.ops.indexing import gather
from refgrad.ops.indexing_sort import sort
from refgrad.ops.linalg import mm
from refgrad.ops.scan import cumsum
from refgrad.ops.selection import clamp
from refgrad.tensor import Tensor

__all__ = ["trapezoid", "trapz", "cumulative_trapezoid", "cov", "corrcoef", "quantile", "nanquantile"]


# --- trapezoid rules ----------------------------------------------------------------------------------------

def _spacing(y: Tensor, x: Tensor, dim: int) -> Tensor:
    """The differences of the sample points x along ``dim``, broadcast against y."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[dim]:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        shape = [1] * y.ndim
        shape[dim] = x.shape[0]
        x = x.view(shape)
        along = dim
    else:
        along = dim - y.ndim + x.ndim if dim - y.ndim + x.ndim >= 0 else dim
    length = x.shape[along]
    return x.narrow(along, 1, length - 1) - x.narrow(along, 0, length - 1)


@register()
def trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """Integral of y by the trapezoid rule along ``dim``, with spacing ``dx`` or sample points ``x``
    (torch.trapezoid)."""
    dim = wrap_dim(dim, y.ndim)
    length = y.shape[dim]
    if isinstance(x, Tensor):
        if length == 0:
            return Tensor._make(np.zeros(tuple(s for i, s in enumerate(y.shape) if i != dim), y.dtype.numpy))
        spacing = _spacing(y, x, dim)
        pairs = y.narrow(dim, 1, length - 1) + y.narrow(dim, 0, length - 1)
        return div_scalar((pairs * spacing).sum(dim), 2.0)
    step = 1.0 if dx is None and x is None else float(dx if dx is not None else x)
    if length == 0:
        return Tensor._make(np.zeros(tuple(s for i, s in enumerate(y.shape) if i != dim), y.dtype.numpy))
    ends = y.select(dim, 0) + y.select(dim, length - 1)
    return mul_scalar(y.sum(dim) - mul_scalar(ends, 0.5), step)


@register()
def trapz(y, x=None, *, dx=None, dim: int = -1):
    """Alias of :func:`trapezoid` (torch.trapz)."""
    return trapezoid(y, x, dx=dx, dim=dim)


@register()
def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """Running integral of y by the trapezoid rule along ``dim`` (torch.cumulative_trapezoid)."""
    dim = wrap_dim(dim, y.ndim)
    length = y.shape[dim]
    if length == 0:
        return y.narrow(dim, 0, 0).clone()
    pairs = y.narrow(dim, 1, length - 1) + y.narrow(dim, 0, length - 1)
    if isinstance(x, Tensor):
        return div_scalar(cumsum(pairs * _spacing(y, x, dim), dim), 2.0)
    step = 1.0 if dx is None and x is None else float(dx if dx is not None else x)
    return cumsum(mul_scalar(pairs, step / 2.0), dim)


# --- cov, corrcoef ------------------------------------------------------------------------------------------

@register(method=True)
def cov(input, *, correction: int = 1, fweights=None, aweights=None):
    """Covariance of the variables in the rows of ``input`` (observations in columns) (torch.cov)."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = input.view(1, -1) if input.ndim < 2 else input
    observations = x.shape[1]
    weights = None
    for name, w in (("fweights", fweights), ("aweights", aweights)):
        if w is not None:
            if w.ndim > 1:
                raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                                   f"{w.ndim} dimensions")
            if w.numel() != observations:
                raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in "
                                   f"the input but got {w.numel()} != {observations}")
            weights = w if weights is None else weights * w
    float_dtype = x.dtype if x.dtype.is_floating_point else dtypes.get_default_dtype()
    if weights is None:
        total = Tensor._make(np.asarray(observations, dtype=np.int64))
        average = x.sum(1) / total
        norm = float(observations - correction)
    else:
        total = weights.sum()
        average = (x * weights).sum(1) / total
        if correction == 0:
            norm = total
        elif aweights is None:
            norm = total - correction
        else:
            norm = total - correction * (weights * aweights).sum() / total
    if isinstance(norm, float):
        if norm <= 0:
            warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number "
                          "of observations.", UserWarning, stacklevel=2)
            norm = 0.0
        norm = Tensor._make(np.asarray(norm, dtype=float_dtype.numpy))
    centered = x - average.unsqueeze(1)
    product = mm(centered, (centered if weights is None else centered * weights).t())
    return (product / norm).squeeze()


@register(method=True)
def corrcoef(input):
    """Pearson correlation coefficients of the rows of ``input`` (torch.corrcoef), clamped to [-1, 1]."""
    if input.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:
        return c / c
    stddev = c.diagonal().sqrt()
    c = c / stddev.view(-1, 1)
    c = c / stddev.view(1, -1)
    return clamp(c, -1, 1)


# --- quantile, nanquantile ----------------------------------------------------------------------------------

_reshaped = {name: Primitive(name, lambda a, shape: a.reshape(shape), lambda c, g: g.reshape(c._input_meta[0][0]))
             for name in ("UnsqueezeBackward1", "SqueezeBackward4")}
_transpose_inplace = Primitive("TransposeBackward1", lambda a, dim0, dim1: np.swapaxes(a, dim0, dim1).copy(order="K"),
                               lambda c, g: _transpose_inplace(g, dim0=c.dim0, dim1=c.dim1))
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dtype not in (dtypes.float32, dtypes.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if input.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q.dtype is not input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        qs = q._data.reshape(-1).astype(np.float64)
        if np.any((qs < 0) | (qs > 1)):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    else:
        if not 0 <= q <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
        qs = np.array([float(q)])
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, but "
                           f"got {interpolation}")
    if dim is None:
        values = input.reshape(-1)
        kept = [1] * input.ndim if keepdim else []
    else:
        dim = wrap_dim(dim, input.ndim)
        values = input.movedim(dim, -1) if input.ndim else input.reshape(1)
        kept = list(input.shape)
        if input.ndim:
            if keepdim:
                kept[dim] = 1
            else:
                del kept[dim]
    ordered = sort(values, -1).values
    data = ordered._data
    n = data.shape[-1]
    nan = np.isnan(data)
    if ignore_nan:
        count = (~nan).sum(-1, keepdims=True)
        ranks = np.maximum(qs * (count - 1), 0.0)
    else:
        ranks = np.where(nan.any(-1, keepdims=True), float(n - 1), qs * (n - 1))
    ranks = np.broadcast_to(ranks, data.shape[:-1] + (qs.size,))
    below, above = np.floor(ranks).astype(np.int64), np.ceil(ranks).astype(np.int64)
    if interpolation == "lower":
        result = gather(ordered, -1, Tensor._make(below))
    elif interpolation == "higher":
        result = gather(ordered, -1, Tensor._make(above))
    elif interpolation == "nearest":
        result = gather(ordered, -1, Tensor._make(np.round(ranks).astype(np.int64)))
    else:
        weights = np.full(ranks.shape, 0.5) if interpolation == "midpoint" else ranks - below
        result = gather(ordered, -1, Tensor._make(below)).lerp(
            gather(ordered, -1, Tensor._make(above)), Tensor._make(weights.astype(data.dtype)))
    if isinstance(q, Tensor) and q.ndim == 1:  # the q dim goes first, as torch's unsqueeze_/transpose_/squeeze_
        result = _reshaped["UnsqueezeBackward1"](result, shape=(1,) + tuple(result.shape))
        result = _transpose_inplace(result, dim0=0, dim1=result.ndim - 1)
        return _reshaped["SqueezeBackward4"](result, shape=(qs.size,) + tuple(kept))
    return _reshaped["SqueezeBackward4"](result, shape=tuple(kept))


@register(method=True)
def quantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear", out=None):
    """The q-th quantiles along ``dim`` (all elements when None); NaN if a NaN is present (torch.quantile)."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


@register(method=True)
def nanquantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear", out=None):
    """:func:`quantile` ignoring NaN (NaN only where all values are NaN) (torch.nanquantile)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)
