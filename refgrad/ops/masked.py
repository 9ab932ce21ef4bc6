"""torch.masked's reductions and normalizations on strided tensors: sum, prod, amax, amin, mean, median, norm,
var, std, logsumexp, cumsum, cumprod, softmax, log_softmax, softmin, normalize and logaddexp.

As in torch, masked-out elements are replaced by the operation's identity (0 for sum, 1 for prod, -inf for amax
and softmax, +inf for amin and softmin, NaN for median) with ``where``, then the ordinary op runs; so the graph is
torch's (WhereBackward0 under the op's own node) and the gradient of a masked-out element is 0.
"""
from __future__ import annotations

import math

import numpy as np

from refgrad import dtypes
from refgrad.ops._registry import register
from refgrad.ops.binary import logaddexp as _logaddexp
from refgrad.ops.binary import maximum
from refgrad.ops.extrema import amax as _amax
from refgrad.ops.extrema import amin as _amin
from refgrad.ops.extrema import nanmedian
from refgrad.ops.linalg_norms import vector_norm
from refgrad.ops.reductions import logsumexp as _logsumexp
from refgrad.ops.reductions import sum as _sum
from refgrad.ops.scan import cumprod as _cumprod
from refgrad.ops.scan import cumsum as _cumsum
from refgrad.ops.scan import log_softmax as _log_softmax
from refgrad.ops.scan import softmax as _softmax
from refgrad.ops.selection import where
from refgrad.tensor import Tensor

__all__ = ["sum", "prod", "amax", "amin", "mean", "median", "norm", "var", "std", "logsumexp", "cumsum", "cumprod",
           "softmax", "log_softmax", "softmin", "normalize", "logaddexp"]

_M = "torch.masked"
_SMALL_INTS = (dtypes.uint8, dtypes.bool, dtypes.int8, dtypes.int16, dtypes.int32)


def _dims(dim, ndim: int) -> tuple:
    """torch.masked's canonical dims: a sorted tuple, all dims for None or ()."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    rank = max(ndim, 1)
    dims = []
    for d in ((dim,) if isinstance(dim, int) else dim):
        if d in dims:
            raise RuntimeError(f"dim={d} appears multiple times in the list of dims")
        if not -rank <= d < rank:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], but got {d})")
        dims.append(d % rank)
    return tuple(sorted(dims))


def _mask(input: Tensor, mask: Tensor) -> Tensor:
    """The mask as bool, broadcast to the input's shape."""
    values = mask._data.astype(bool)  # (in the mask's memory order: torch expands it, and where follows it)
    if values.shape == tuple(input.shape):
        return Tensor._make(values)
    return Tensor._make(np.ascontiguousarray(np.broadcast_to(values, input.shape)))


def _identity(input: Tensor, value: float) -> Tensor:
    if input.dtype.is_floating_point:
        return Tensor._make(np.asarray(value, dtype=input.dtype.numpy))
    info = np.iinfo(input.dtype.numpy) if input.dtype is not dtypes.bool else None
    if value in (math.inf, -math.inf) and info is not None:
        value = info.max if value > 0 else info.min
    return Tensor._make(np.asarray(value, dtype=input.dtype.numpy))


def _combine(input: Tensor, mask, identity: float) -> Tensor:
    return input if mask is None else where(_mask(input, mask), input, _identity(input, identity))


def _sum_dtype(input: Tensor, dtype):
    if dtype is not None:
        return dtype
    return dtypes.int64 if input.dtype in _SMALL_INTS else input.dtype


@register("sum", namespace=_M)
def sum(input, dim=None, *, keepdim: bool = False, dtype=None, mask=None):  # noqa: A001 - torch's name
    """Sum of the unmasked elements (torch.masked.sum)."""
    return _sum(_combine(input, mask, 0), _dims(dim, input.ndim), bool(keepdim), dtype=_sum_dtype(input, dtype))


@register("prod", namespace=_M)
def prod(input, dim=None, *, keepdim: bool = False, dtype=None, mask=None):
    """Product of the unmasked elements, one dim at a time as torch (torch.masked.prod)."""
    result = _combine(input, mask, 1).to(_sum_dtype(input, dtype))
    for d in reversed(_dims(dim, input.ndim)):
        result = result.prod(dim=d, keepdim=bool(keepdim))
    return result


@register("cumsum", namespace=_M)
def cumsum(input, dim: int, *, dtype=None, mask=None):
    """Cumulative sum with masked-out elements counting as 0 (torch.masked.cumsum)."""
    dtype = dtype or input.dtype
    return _cumsum(_combine(input, mask, 0), _dims(dim, input.ndim)[0], dtype=dtype).to(dtype)


@register("cumprod", namespace=_M)
def cumprod(input, dim: int, *, dtype=None, mask=None):
    """Cumulative product with masked-out elements counting as 1 (torch.masked.cumprod)."""
    dtype = dtype or input.dtype
    return _cumprod(_combine(input, mask, 1), _dims(dim, input.ndim)[0], dtype=dtype).to(dtype)


@register("amax", namespace=_M)
def amax(input, dim=None, *, keepdim: bool = False, dtype=None, mask=None):
    """Maximum of the unmasked elements (-inf where all are masked) (torch.masked.amax)."""
    combined = _combine(input, mask, -math.inf)
    return _amax(combined, _dims(dim, combined.ndim), bool(keepdim)).to(dtype or input.dtype)


@register("amin", namespace=_M)
def amin(input, dim=None, *, keepdim: bool = False, dtype=None, mask=None):
    """Minimum of the unmasked elements (inf where all are masked) (torch.masked.amin)."""
    combined = _combine(input, mask, math.inf)
    return _amin(combined, _dims(dim, combined.ndim), bool(keepdim)).to(dtype or input.dtype)


@register("mean", namespace=_M)
def mean(input, dim=None, *, keepdim: bool = False, dtype=None, mask=None):
    """Mean of the unmasked elements (NaN where all are masked) (torch.masked.mean)."""
    dtype = dtype or input.dtype
    if mask is None:
        count = _sum(Tensor._make(np.ones(input.shape, dtype=np.int64)), _dims(dim, input.ndim), bool(keepdim))
        total = sum(input, dim, keepdim=keepdim, dtype=dtype)
    else:
        inmask = _mask(input, mask)
        count = _sum(inmask, _dims(dim, input.ndim), bool(keepdim))
        total = sum(input, dim, keepdim=keepdim, dtype=dtype, mask=inmask)
    return total / count


@register("median", namespace=_M)
def median(input, dim: int = -1, *, keepdim: bool = False, dtype=None, mask=None):
    """Median of the unmasked elements (NaN where all are masked) (torch.masked.median)."""
    if not input.dtype.is_floating_point:
        input = input.to(dtypes.float32)
    return nanmedian(_combine(input, mask, math.nan), _dims(dim, input.ndim)[0], keepdim).values


@register("logsumexp", namespace=_M)
def logsumexp(input, dim=None, *, keepdim: bool = False, dtype=None, mask=None):
    """log(sum(exp)) of the unmasked elements (-inf where all are masked) (torch.masked.logsumexp)."""
    return _logsumexp(_combine(input, mask, -math.inf), _dims(dim, input.ndim), keepdim=keepdim).to(
        dtype or input.dtype)


@register("logaddexp", namespace=_M)
def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    """logaddexp with masked-out elements of either operand as -inf (torch.masked.logaddexp)."""
    return _logaddexp(_combine(input, input_mask, -math.inf), _combine(other, other_mask, -math.inf)).to(
        dtype or input.dtype)


@register("norm", namespace=_M)
def norm(input, ord=2.0, dim=None, *, keepdim: bool = False, dtype=None, mask=None):
    """Vector norm of the unmasked elements (torch.masked.norm)."""
    combined = _combine(input, mask, math.inf if ord == -math.inf else 0)
    return vector_norm(combined, ord, _dims(dim, input.ndim), bool(keepdim), dtype=dtype or input.dtype)


def _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt):
    if unbiased is not None and correction is not None:
        raise AssertionError("Only one of unbiased and correction may be given")
    correction = float(correction) if correction is not None else 1.0 if unbiased is None else float(unbiased)
    if dtype is None:
        dtype = input.dtype if input.dtype.is_floating_point else dtypes.float32
    dims = _dims(dim, input.ndim)
    if mask is None:
        count = _sum(Tensor._make(np.ones(input.shape, dtype=np.int64)), dims, True)
        sample_total = sum(input, dim, keepdim=True, dtype=dtype)
    else:
        inmask = _mask(input, mask)
        count = _sum(inmask, dims, True)
        sample_total = sum(input, dim, keepdim=True, dtype=dtype, mask=inmask)
    x = input - sample_total / count
    total = sum(x * x, dim, keepdim=keepdim, dtype=dtype, mask=None if mask is None else inmask)
    if not keepdim:
        count = count.reshape(total.shape)
    if correction != 0:
        count = count.to(dtype) - correction
        count = maximum(count, Tensor._make(np.zeros((), dtype=dtype.numpy)))
    output = (total / count).to(dtype)
    return output.sqrt() if take_sqrt else output


@register("var", namespace=_M)
def var(input, dim=None, unbiased=None, *, correction=None, keepdim: bool = False, dtype=None, mask=None):
    """Variance of the unmasked elements (torch.masked.var)."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=False)


@register("std", namespace=_M)
def std(input, dim=None, unbiased=None, *, correction=None, keepdim: bool = False, dtype=None, mask=None):
    """Standard deviation of the unmasked elements (torch.masked.std)."""
    return _std_var(input, dim, unbiased, correction, keepdim, dtype, mask, take_sqrt=True)


@register("softmax", namespace=_M)
def softmax(input, dim: int, *, dtype=None, mask=None):
    """softmax over the unmasked elements (masked-out ones get 0) (torch.masked.softmax)."""
    return _softmax(_combine(input, mask, -math.inf), _dims(dim, input.ndim)[0], dtype=dtype or input.dtype)


@register("log_softmax", namespace=_M)
def log_softmax(input, dim: int, *, dtype=None, mask=None):
    """log_softmax over the unmasked elements (torch.masked.log_softmax)."""
    return _log_softmax(_combine(input, mask, -math.inf), _dims(dim, input.ndim)[0], dtype=dtype or input.dtype)


@register("softmin", namespace=_M)
def softmin(input, dim: int, *, dtype=None, mask=None):
    """softmin over the unmasked elements (torch.masked.softmin)."""
    return _softmax(-_combine(input, mask, math.inf), _dims(dim, input.ndim)[0], dtype=dtype or input.dtype)


@register("normalize", namespace=_M)
def normalize(input, ord: float, dim: int, *, eps: float = 1e-12, dtype=None, mask=None):
    """input / max(norm, eps) over the unmasked elements (torch.masked.normalize)."""
    dtype = dtype or input.dtype
    combined = _combine(input, mask, 0)
    magnitude = norm(input, ord, dim, keepdim=True, dtype=dtype, mask=mask)
    return combined / maximum(magnitude, Tensor._make(np.asarray(eps, dtype=magnitude.dtype.numpy)))
