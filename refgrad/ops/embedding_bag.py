"""torch.nn.functional.embedding_bag: sums, means or maxima of bags of embedding rows, in one Primitive
(EmbeddingBagBackward0).

torch's conventions (2.13): rows equal to ``padding_idx`` are left out of a bag (not counted by the mean); an empty
bag gives zeros; ``max`` scans a bag in order and keeps the first maximum (a later NaN is skipped, a NaN first
stays). Neither gradient has a derivative, as in torch: the weight's (an EmbeddingBagBackwardBackward0 node that raises
NotImplementedError) and the per-sample weights' (a NotImplemented node that raises RuntimeError).
"""
from __future__ import annotations

import numpy as np

from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.tensor import Tensor

__all__ = ["embedding_bag"]


def _max_rows(w, idx, bag, keep, bags):
    """Per bag and feature: the row of the first maximum (-1 for an empty bag)."""
    best = np.full((bags, w.shape[1]), -1, np.int64)
    current = np.zeros((bags, w.shape[1]), w.dtype)
    for k in np.flatnonzero(keep):
        b, row = bag[k], idx[k]
        values = w[row]
        take = (best[b] < 0) | (values > current[b])
        current[b] = np.where(take, values, current[b])
        best[b] = np.where(take, row, best[b])
    return best


def _forward(w, offset2bag, *psw, idx, bag, keep, bags, mode, best):
    dims = w.shape[1]
    if mode == "max":
        return np.where(best >= 0, w[np.maximum(best, 0), np.arange(dims)], np.zeros((), w.dtype))
    out = np.zeros((bags, dims), w.dtype)
    rows = w[idx[keep]]
    if psw:
        rows = rows * psw[0][keep][:, None]
    elif mode == "mean":
        counts = np.bincount(bag[keep], minlength=bags)
        rows = rows / np.maximum(counts, 1)[bag[keep]][:, None].astype(w.dtype)
    np.add.at(out, bag[keep], rows)
    return out


def _weight_grad_forward(g, *psw, idx, bag, keep, bags, mode, best, rows):
    grad = np.zeros((rows, g.shape[1]), g.dtype)
    if mode == "max":
        has = best >= 0
        np.add.at(grad, (best[has], np.nonzero(has)[1]), g[has])
        return grad
    picked = g[bag[keep]]
    if psw:
        picked = picked * psw[0][keep][:, None]
    elif mode == "mean":
        counts = np.bincount(bag[keep], minlength=bags)
        picked = picked / np.maximum(counts, 1)[bag[keep]][:, None].astype(g.dtype)
    np.add.at(grad, idx[keep], picked)
    return grad


def _refuse_weight(c, *cotangents):
    raise NotImplementedError("the derivative for '_embedding_bag_backward' is not implemented.")


def _refuse_psw(c, *cotangents):
    raise RuntimeError("derivative for aten::_embedding_bag_per_sample_weights_backward is not implemented")


def _psw_grad_forward(g, w, idx, bag, keep):
    return np.where(keep, (g[bag] * w[idx]).sum(axis=1), np.zeros((), g.dtype)).astype(g.dtype)


_weight_grad = {n: Primitive("EmbeddingBagBackwardBackward0", _weight_grad_forward, _refuse_weight,
                             inputs=("grad",) + ("psw",) * n) for n in (0, 1)}
_psw_grad = Primitive("NotImplemented", _psw_grad_forward, _refuse_psw, inputs=("grad", "weight"))


def _vjp(c, g):
    params = {k: getattr(c, k) for k in ("idx", "bag", "keep", "bags", "mode", "best")}
    has_psw = len(c._input_meta) > 2
    grad_w = grad_psw = None
    if c.needs_input_grad(0):
        operands = (g, c.psw) if has_psw else (g,)
        grad_w = _weight_grad[int(has_psw)](*operands, rows=c._input_meta[0][0][0], **params)
    if has_psw and c.needs_input_grad(2):
        grad_psw = _psw_grad(g, c.weight, idx=c.idx, bag=c.bag, keep=c.keep)
    return (grad_w, None, grad_psw) if has_psw else (grad_w, None)


# as torch: the node saves its index bookkeeping (so it refuses a second backward), and the weight only for the
# per-sample weights' gradient
_BAGS = {0: Primitive("EmbeddingBagBackward0", _forward, _vjp, inputs=("weight", "offset2bag"),
                      save=("offset2bag",)),
         1: Primitive("EmbeddingBagBackward0", _forward, _vjp, inputs=("weight", "offset2bag", "psw"),
                      save={"offset2bag": None, "weight": ("psw",), "psw": ("weight",)})}


@register(namespace="torch.nn.functional")
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type: float = 2, scale_grad_by_freq: bool = False,
                  mode: str = "mean", sparse: bool = False, per_sample_weights=None, include_last_offset: bool = False,
                  padding_idx=None) -> Tensor:
    """Reduce bags of embedding rows with sum, mean or max (torch.nn.functional.embedding_bag); bags are the rows
    of a 2-D ``input`` or the ``offsets`` segments of a 1-D one."""
    if weight.dtype != (per_sample_weights.dtype if per_sample_weights is not None else weight.dtype):
        raise ValueError(f"Expected weight and per_sample_weights to have the same dtype, but got weight.dtype: "
                         f"{weight.dtype} and per_sample_weights.dtype: {per_sample_weights.dtype}")
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({list(per_sample_weights.shape)}) is not None, "
                         f"then it must have the same shape as the input ({list(input.shape)})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences. However, found offsets of type Tensor")
        bags = input.shape[0]
        starts = np.arange(bags) * input.shape[1]
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = offsets._data.astype(np.int64)
        if include_last_offset:
            starts = starts[:-1]
        bags = starts.shape[0]
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: max_norm, scale_grad_by_freq and sparse are not implemented")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    idx = input._data.reshape(-1).astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= weight.shape[0]):
        raise IndexError("index out of range in self")
    if bags and (starts[0] != 0 if input.ndim == 1 else False):
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {int(starts[0])}")
    bag = np.searchsorted(starts, np.arange(idx.size), side="right") - 1
    if padding_idx is not None:
        padding_idx = int(padding_idx) % weight.shape[0] if padding_idx < 0 else int(padding_idx)
    keep = (bag >= 0) & (idx != padding_idx if padding_idx is not None else np.ones(idx.size, bool))
    best = _max_rows(weight._data, idx, bag, keep, int(bags)) if mode == "max" else None
    params = dict(idx=idx, bag=bag, keep=keep, bags=int(bags), mode=mode, best=best)
    offset2bag = Tensor._make(bag.astype(np.int64))
    if per_sample_weights is not None:
        return _BAGS[1](weight, offset2bag, per_sample_weights.reshape(-1), **params)
    return _BAGS[0](weight, offset2bag, **params)
