"""torch.cdist and torch.pdist (p-norm distances between rows), with torch's node names. As in torch, their
backward has no derivative of its own: the double backward raises."""
from __future__ import annotations

import numpy as np

from refgrad.autograd._jvp import no_forward_rule
from refgrad.ops._layout import contiguous_result
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.tensor import Tensor


def _norms(diff: np.ndarray, p: float, skip_nan_max: bool = False) -> np.ndarray:
    """The p-norms of the last dim. For p = inf, torch's cdist kernel keeps a running max from 0 in which a NaN
    never compares greater (``skip_nan_max``), while its pdist kernel's max propagates NaN."""
    mag = np.abs(diff)
    with np.errstate(all="ignore"):
        if p == 0:  # count of non-zeros as sum(min(ceil(|d|), 1)): a NaN difference propagates, as in torch
            return np.sum(np.minimum(np.ceil(mag), 1), axis=-1).astype(diff.dtype)
        if p == 1:
            return np.sum(mag, axis=-1)
        if p == 2:
            return np.sqrt(np.sum(mag * mag, axis=-1))
        if p == np.inf:
            if skip_nan_max:
                mag = np.where(np.isnan(mag), 0, mag)
            return np.max(mag, axis=-1, initial=0).astype(diff.dtype)
        return np.sum(mag ** p, axis=-1) ** (1.0 / p)


def _norm_grad(diff: np.ndarray, dist: np.ndarray, g: np.ndarray, p: float) -> np.ndarray:
    """g * d dist / d diff per element, with torch's distance-backward formulas at their special points: 0 where
    the distance is 0 (and where diff is 0 for p < 1); for p = inf the indicator of |diff| == dist is
    1 - min(1, ceil(| |diff| - dist |)), so an infinite (or NaN) distance gives NaN."""
    d = dist[..., None]
    g = g[..., None]
    with np.errstate(all="ignore"):
        if p == 0:
            return np.zeros_like(diff)
        if p == 1:
            return (g * np.sign(diff)).astype(diff.dtype, copy=False)
        if p == np.inf:
            at_max = 1 - np.minimum(1, np.ceil(np.abs(np.abs(diff) - d)))
            return (g * np.sign(diff) * at_max).astype(diff.dtype, copy=False)
        if p == 2:
            grad = g * diff / d
        elif p < 2:
            grad = np.sign(diff) * np.abs(diff) ** (p - 1) * g / d ** (p - 1)
        else:
            grad = diff * np.abs(diff) ** (p - 2) * g / d ** (p - 1)
        zero = d == 0
        if p < 1:
            zero = zero | (diff == 0)
        return np.where(zero, 0, grad).astype(diff.dtype, copy=False)


def _cdist_diff(x1, x2):
    with np.errstate(all="ignore"):
        return x1[..., :, None, :] - x2[..., None, :, :]


def _cdist_backward_forward(g, x1, x2, p):
    diff = _cdist_diff(x1, x2)
    local = _norm_grad(diff, _norms(diff, p, skip_nan_max=True), g, p)
    with np.errstate(all="ignore"):
        return local.sum(axis=-2).astype(x1.dtype), (-local.sum(axis=-3)).astype(x1.dtype)


def _raise(name):
    def vjp(c, *cotangents):
        raise NotImplementedError(f"the derivative for '{name}' is not implemented.")
    return vjp


_cdist_backward = Primitive("CdistBackwardBackward0", _cdist_backward_forward, _raise("_cdist_backward"),
                            jvp=no_forward_rule("_cdist_backward"),
                            inputs=("grad", "x1", "x2"))
_cdist = Primitive("CdistBackward0",
                   contiguous_result(lambda x1, x2, p: _norms(_cdist_diff(x1, x2), p, skip_nan_max=True).astype(
                       x1.dtype)),  # (torch: contiguous, whatever the inputs' layouts)
                   lambda c, g: _cdist_backward(g, c.x1, c.x2, p=c.p) if c.result is not None else None,
                   inputs=("x1", "x2"), save=("x1", "x2", "result"),  # torch saves (and checks) the result too
                   jvp=no_forward_rule("_cdist_forward"))


@register()
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """p-norm distance between each pair of rows of x1 (..., P, M) and x2 (..., R, M) (torch.cdist); the
    gradient at equal points is 0."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X{1 if x1.ndim < 2 else 2} got: "
                           f"{min(x1.ndim, x2.ndim)}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    if not x1.dtype.is_floating_point or x1.dtype is not x2.dtype:
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype}")
    return _cdist(x1, x2, p=float(p))


def _pdist_pairs(n: int):
    return np.triu_indices(n, k=1)


def _pdist_backward_forward(g, x, p):
    rows, cols = _pdist_pairs(x.shape[0])
    with np.errstate(all="ignore"):
        diff = x[rows] - x[cols]
    local = _norm_grad(diff, _norms(diff, p), g, p)
    grad = np.zeros_like(x)
    with np.errstate(all="ignore"):
        np.add.at(grad, rows, local)
        np.add.at(grad, cols, -local)
    return grad


_pdist_backward = Primitive("PdistBackwardBackward0", _pdist_backward_forward, _raise("_pdist_backward"),
                            inputs=("grad", "self"), jvp=no_forward_rule("_pdist_backward"))
def _pdist_forward(x, p):
    rows, cols = _pdist_pairs(x.shape[0])
    with np.errstate(all="ignore"):
        return _norms(x[rows] - x[cols], p).astype(x.dtype)


_pdist = Primitive("PdistBackward0", _pdist_forward,
                   lambda c, g: _pdist_backward(g, c.self, p=c.p) if c.result is not None else None,
                   save=("self", "result"), jvp=no_forward_rule("_pdist_forward"))


@register(namespace="torch.nn.functional")
@register()
def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """p-norm distances between all pairs of rows, upper triangle in row order (torch.pdist)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"pdist only supports floating-point dtypes, got: {input.dtype}")
    return _pdist(input, p=float(p))
