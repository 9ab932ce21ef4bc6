"""torch.nn.functional.ctc_loss: the connectionist temporal classification loss, by the forward-backward (alpha/beta)
recursions in log space over the blank-interleaved target.

As torch: the per-sample losses come from one CtcLossBackward0 node; ``zero_infinity`` replaces infinite losses
by 0 (WhereBackward0) and zeroes their gradient; ``mean`` divides each loss by its target length (at least 1)
and averages. The gradient is torch's: ``exp(lp) - exp(log(sum alpha·beta per class) + nll - lp)`` for the first
``input_length`` steps, the gradient with respect to the logits of a log_softmax feeding the loss (the form CTC
is used in); its own backward raises, as torch's ``_ctc_loss_backward`` has no derivative.
"""
from __future__ import annotations

import numpy as np

from refgrad.autograd._jvp import no_forward_rule
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.tensor import Tensor

__all__ = ["ctc_loss"]


def _lse(*terms):
    out = terms[0]
    for term in terms[1:]:
        out = np.logaddexp(out, term)
    return out


def _shift(values, k: int):
    """values moved k places right (k < 0: left), -inf filling."""
    out = np.full_like(values, -np.inf)
    if k >= 0:
        out[k:] = values[:values.shape[0] - k]
    else:
        out[:k] = values[-k:]
    return out


def _sample(lp, labels, length, blank):
    """(nll, lcab (T, C)) for one sample: lp (T_max, C) float64, labels (S,), length T."""
    ext = np.full(2 * len(labels) + 1, blank, np.int64)
    ext[1::2] = labels
    size = ext.shape[0]
    skip = np.zeros(size, bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    alpha = np.full((length, size), -np.inf)
    beta = np.full((length, size), -np.inf)
    if length == 0:
        return (0.0 if size == 1 else np.inf), np.full(lp.shape, -np.inf)
    alpha[0, 0] = lp[0, blank]
    if size > 1:
        alpha[0, 1] = lp[0, ext[1]]
    for t in range(1, length):
        prev = alpha[t - 1]
        shifted1, shifted2 = _shift(prev, 1), np.where(skip, _shift(prev, 2), -np.inf)
        alpha[t] = lp[t, ext] + _lse(prev, shifted1, shifted2)
    nll = -(_lse(alpha[-1, -1], alpha[-1, -2]) if size > 1 else alpha[-1, -1])
    beta[-1, -1] = lp[length - 1, ext[-1]]
    if size > 1:
        beta[-1, -2] = lp[length - 1, ext[-2]]
    skip_next = np.zeros(size, bool)  # s -> s + 2 allowed when ext[s + 2] may be reached by a skip
    skip_next[:size - 2] = skip[2:]
    for t in range(length - 2, -1, -1):
        nxt = beta[t + 1]
        shifted1, shifted2 = _shift(nxt, -1), np.where(skip_next, _shift(nxt, -2), -np.inf)
        beta[t] = lp[t, ext] + _lse(nxt, shifted1, shifted2)
    lcab = np.full(lp.shape, -np.inf)
    both = alpha + beta
    for s in range(size):
        lcab[:length, ext[s]] = np.logaddexp(lcab[:length, ext[s]], both[:, s])
    return nll, lcab


def _run(lp, targets, input_lengths, target_lengths, blank):
    wide = lp.astype(np.float64)
    nlls, lcabs = [], []
    for n in range(wide.shape[1]):
        nll, lcab = _sample(wide[:, n], targets[n], int(input_lengths[n]), blank)
        nlls.append(nll)
        lcabs.append(lcab)
    return np.asarray(nlls), np.stack(lcabs, 1)


def _ctc_forward(lp, targets, input_lengths, target_lengths, blank, zero_infinity):
    return _run(lp, targets, input_lengths, target_lengths, blank)[0].astype(lp.dtype)


def _ctc_backward_forward(g, lp, targets, input_lengths, target_lengths, blank, zero_infinity):
    nll, lcab = _run(lp, targets, input_lengths, target_lengths, blank)
    wide = lp.astype(np.float64)
    grad = (np.exp(wide) - np.exp(lcab + nll[None, :, None] - wide)) * np.asarray(g, np.float64)[None, :, None]
    steps = np.arange(lp.shape[0])[:, None] < np.asarray(input_lengths)[None, :]
    grad = np.where(steps[:, :, None], grad, 0.0)
    if zero_infinity:
        grad = np.where(np.isinf(nll)[None, :, None], 0.0, grad)
    return grad.astype(lp.dtype)


def _refuse(c, *cotangents):
    raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")


_ctc_backward = Primitive("NotImplemented", _ctc_backward_forward, _refuse, inputs=("grad", "log_probs"),
                          jvp=no_forward_rule("aten::_ctc_loss_backward", differentiable=False))
_ctc = Primitive("CtcLossBackward0", _ctc_forward,
                 lambda c, g: _ctc_backward(g, c.log_probs, targets=c.targets, input_lengths=c.input_lengths,
                                            target_lengths=c.target_lengths, blank=c.blank,
                                            zero_infinity=c.zero_infinity),
                 inputs=("log_probs",), save=("log_probs", "result"), jvp=no_forward_rule("_ctc_loss"))


def _lengths(value, count: int) -> np.ndarray:
    if isinstance(value, Tensor):
        return value._data.reshape(-1).astype(np.int64)
    if isinstance(value, int):
        return np.full(count, value, np.int64)
    return np.asarray(value, np.int64).reshape(-1)


@register(namespace="torch.nn.functional")
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> Tensor:
    """CTC loss of log-probabilities (T, N, C) or (T, C) against padded (N, S) or concatenated targets
    (torch.nn.functional.ctc_loss)."""
    from refgrad.ops.selection import where
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs to be 2-D or 3-D, got {log_probs.ndim}-D")
    steps, batch, classes = lp.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    in_lengths, tgt_lengths = _lengths(input_lengths, batch), _lengths(target_lengths, batch)
    if in_lengths.shape[0] != batch or tgt_lengths.shape[0] != batch:
        raise RuntimeError(f"input_lengths and target_lengths must have size batch_size ({batch})")
    if (in_lengths > steps).any() or (in_lengths < 0).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got value "
                           f"{int(in_lengths.max())}")
    data = targets._data.astype(np.int64)
    if unbatched:
        data = data.reshape(1, -1)
    rows = []
    offset = 0
    for n in range(batch):
        length = int(tgt_lengths[n])
        if data.ndim == 2:
            if length > data.shape[1]:
                raise RuntimeError(f"Expected tensor to have size at least {length} at dimension 1, but got size "
                                   f"{data.shape[1]} for argument #2 'targets' (while checking arguments for "
                                   "ctc_loss_cpu)")
            rows.append(data[n, :length])
        else:
            rows.append(data[offset:offset + length])
            offset += length
    for row in rows:
        if row.size and (row.min() < 0 or row.max() >= classes):
            raise RuntimeError("ctc_loss: target index out of range")
    losses = _ctc(lp, targets=rows, input_lengths=in_lengths, target_lengths=tgt_lengths, blank=int(blank),
                  zero_infinity=bool(zero_infinity))
    if zero_infinity:
        losses = where(Tensor._make(np.isinf(losses._data)), Tensor._make(np.zeros((), lp._data.dtype)), losses)
    if reduction == "mean":
        divisor = Tensor._make(np.maximum(tgt_lengths, 1).astype(lp._data.dtype))
        return (losses / divisor).mean()
    if reduction == "sum":
        return losses.sum()
    return losses.squeeze(0) if unbatched else losses
