"""nll_loss's kernels (torch.nn.functional.nll_loss and cross_entropy's class-index path, registered in
``losses.py``): torch's checks in torch's order, the NllLossBackward0 / NllLoss2DBackward0 primitives, their
backward NllLossBackwardBackward0, and the target tensor the nodes save."""
from __future__ import annotations

import numpy as np

from refgrad.autograd.engine import non_overlapping_and_dense
from refgrad.autograd.graph import SavedTensor
from refgrad.ops._layout import channels_last_like
from refgrad.ops._primitive import Primitive
from refgrad.ops._round_once import count_nonzero
from refgrad.ops._util import steps_vector
from refgrad.ops.nn import not_differentiable
from refgrad.ops.reductions import _scalar_name
from refgrad.tensor import Tensor

_INT64 = np.dtype(np.int64)
_UINT64 = np.dtype(np.uint64)
_UINT8 = np.dtype(np.uint8)

_COUNTED: list = [None]  # (target array, ignore_index) that nll_loss last found to ignore no target


def _nll_weights(x, target, weight, ignore_index):
    """The per-element weights (0 for an ignored target) and the targets with ignored ones replaced by class 0.
    The common case, no class weights and no ignored target, gives ``None`` weights: every weight is 1.

    ``_COUNTED`` spares the comparison with ignore_index for the targets nll_loss has just checked: all within
    [0, C) and ignore_index outside it. The forward and the backward (which receives the same array) use it; the
    nodes save the target tensor, so a change of it in place before the backward raises first."""
    counted = _COUNTED[0]
    if counted is not None and counted[0] is target and counted[1] == ignore_index:
        ignored = None
    else:
        ignored = target == ignore_index
    if ignored is None or not count_nonzero(ignored):  # (NumPy's C function: ndarray.any has two Python frames)
        if weight is None and x.dtype.itemsize >= 4 and target.size <= 1 << 24:  # the sum of the weights is exact
            return None, target, ignored
        per_weight = np.ones(target.shape, x.dtype) if weight is None else weight.astype(x.dtype)[target]
        return per_weight, target, ignored
    safe = np.where(ignored, 0, target)
    w = np.ones(x.shape[1], x.dtype) if weight is None else weight.astype(x.dtype)
    return np.where(ignored, 0, w[safe]).astype(x.dtype), safe, ignored


def _flat_positions(shape: tuple, safe):
    """The flat index of the target class of every row of a C-ordered (N, C) array: ``take`` and ``put`` there
    cost about half of the (rows, targets) fancy index."""
    return steps_vector(shape[0], shape[1]) + safe


def _nll_positions(x, safe):
    """Index of the target class of every element of (N, C, ...) ``x``."""
    if x.ndim == 2:
        return steps_vector(x.shape[0]), safe
    return tuple(np.indices(safe.shape, sparse=True)[:1]) + (safe,) + tuple(np.indices(safe.shape, sparse=True)[1:])


def _nll_forward(x, target, weight, ignore_index, reduction):
    if x.ndim == 1:  # unbatched (C,): a 0-d loss
        return _nll_forward(x[None], target.reshape(1), weight, ignore_index, reduction).reshape(())
    per_weight, safe, ignored = _nll_weights(x, target, weight, ignore_index)
    if x.ndim == 2 and x.flags.c_contiguous:
        picked = x.take(_flat_positions(x.shape, safe))
    else:
        picked = x[_nll_positions(x, safe)]
    if per_weight is None:  # unit weights: the same sums as below, with weight 1 and a total weight of N
        if reduction == "none":
            return np.negative(picked)
        total = x.dtype.type(0) - np.add.reduce(picked, axis=None, dtype=x.dtype)  # torch: 0 - sum, so never -0
        return np.asarray(total if reduction == "sum" else total / x.dtype.type(picked.size), dtype=x.dtype)
    losses = -picked * per_weight
    if safe is not target:  # an ignored target adds no term (not inf * 0), as in torch
        losses = np.where(ignored, np.zeros((), x.dtype), losses)
    if reduction == "none":
        return losses.astype(x.dtype, copy=False)
    if reduction == "sum":
        return np.asarray(losses.sum(dtype=x.dtype))
    return np.asarray(losses.sum(dtype=x.dtype) / per_weight.sum(dtype=x.dtype), dtype=x.dtype)


def _nll_vjp(c, g):
    """nll_loss's gradient: torch's nll_loss_backward(grad_output, self, ...), one recorded node
    (NllLossBackwardBackward0 or NllLoss2DBackwardBackward0) under create_graph."""
    params = c._params  # (target, ignore_index, reduction: read once, not through ctx.<name>)
    x = c.self
    target = params["target"]
    ndim = x._data.ndim
    if ndim > 2:  # (N, C, d...): the target as (N, d...) (the method: np.reshape adds two frames)
        target = target.reshape((x._data.shape[0],) + x._data.shape[2:])
    weighted = type(c) is _WithWeight
    weight = c.weight if weighted else params["weight"]  # (a parameter: no accessor)
    prim = _nll_cotangent if ndim <= 2 else _nll2d_cotangent
    grad = prim(g, x, target=target, weight=weight, ignore_index=params["ignore_index"],
                reduction=params["reduction"])
    node = grad._grad_fn
    if node is not None:  # torch's double-backward node saves the target and the weight
        saved = c._saved
        _save_target(grad, saved.get("target"))
        if weighted:
            node._saved["weight_tensor"] = SavedTensor(saved["weight_tensor"].tensor)
    return grad


def _nll_cotangent_forward(g, x, target, weight, ignore_index, reduction):
    """torch's nll_loss_backward: zeros of ``x``'s shape, and at each counted target -w * g (g / total weight for
    the mean); an ignored target's row stays zero whatever g is (NaN included). ``x`` is read for its shape only
    (torch's kernel takes self, so its own backward gives self a zero gradient)."""
    if x.ndim == 1:  # unbatched (C,): one row
        return _nll_cotangent_forward(g.reshape(1) if reduction == "none" else g, x[None], target.reshape(1),
                                      weight, ignore_index, reduction)[0]
    shape = x.shape
    out = np.zeros(shape, g.dtype)
    dtype = out.dtype
    per_weight, safe, ignored = _nll_weights(out, target, weight, ignore_index)
    if reduction == "mean":  # a zero total weight: 0/0 = NaN or g/0 = inf (warnings are off in a forward)
        total = dtype.type(target.size) if per_weight is None else np.add.reduce(per_weight, axis=None)
        g = -(g / total)
    else:
        g = -g
    values = g if per_weight is None else per_weight * g
    if safe is not target:  # ignored targets write nothing (a zero at class 0 of their row)
        values = np.where(ignored, np.zeros((), dtype), values)
    if len(shape) == 2:
        out.put(_flat_positions(shape, safe), values)
    else:
        if len(shape) == 4:  # (the 2-d kernel's check; its other inputs were checked by the forward)
            _check_grad_input(x)
        out[_nll_positions(out, safe)] = values
    return out


def _check_grad_input(x) -> None:
    """torch's nll_loss2d_backward writes into zeros_like(self), which keeps the strides of a dense ``x`` (else
    takes its suggested memory format), and refuses a grad_input that is not contiguous."""
    if x.flags.c_contiguous:
        return
    if not non_overlapping_and_dense(x):
        if not channels_last_like(x):
            return
        n, c, h, w = x.shape
        if np.empty((n, h, w, c), np.int8).transpose(0, 3, 1, 2).flags.c_contiguous:
            return
    raise RuntimeError("grad_input must be contiguous")


def _nll_cotangent_vjp(c, gg):
    """torch's double backward of nll_loss: in grad_output, nll_loss itself applied to gg (so a mean over no
    counted target is 0/0 = NaN there, as the forward: the zeros of the one-hot would give 0); in self, zeros
    that do not require grad (torch's zeros_like)."""
    params = c._params  # (the target array: ``c.target`` is the saved tensor)
    grad_output = None
    if c.needs_input_grad(0):
        saved = c._saved
        options = dict(target=params["target"], ignore_index=params["ignore_index"], reduction=params["reduction"])
        if "weight_tensor" in saved:  # (unpacked: a weight changed in place since raises torch's error)
            prim = _nll_w if gg.ndim <= 2 else _nll2d_w  # the VJP's input is (C,), (N, C) or (N, C, h, w)
            grad_output = prim(gg, saved["weight_tensor"].unpack(c), **options)
        else:
            grad_output = (_nll if gg.ndim <= 2 else _nll2d)(gg, weight=None, **options)
        _save_target(grad_output, saved.get("target"))
    grad_self = Tensor._make(np.zeros(gg._data.shape, gg._data.dtype)) if c.needs_input_grad(1) \
        else None
    return grad_output, grad_self


def _save_target(out: Tensor, saved) -> None:
    """torch's nll nodes save the target tensor (``saved``: a SavedTensor, or the tensor): changing it in place
    before the backward raises there, and an inference-mode target cannot be saved (raises now)."""
    node = out._grad_fn
    if node is not None and saved is not None:
        node._saved["target"] = SavedTensor(saved.tensor if type(saved) is SavedTensor else saved)


def _nll_cotangent_jvp(c, grad_output_tangent, self_tangent):
    """torch's forward derivative of nll_loss_backward: the same backward of grad_output's tangent (linear in it,
    no term in self, which it reads for its shape only: the tangent requires grad only if grad_output's does); no
    tangent when grad_output has none."""
    if grad_output_tangent is None:
        return None
    x = c._jvp_call[0][1]
    prim = _nll_cotangent if x._data.ndim <= 2 else _nll2d_cotangent
    return prim(grad_output_tangent, x.detach(), **c._params)


_nll_cotangent_jvp.skips_missing = True
_nll_cotangent = Primitive("NllLossBackwardBackward0", _nll_cotangent_forward, _nll_cotangent_vjp,
                           inputs=("grad_output", "self"), jvp=_nll_cotangent_jvp)
_nll2d_cotangent = Primitive("NllLoss2DBackwardBackward0", _nll_cotangent_forward, _nll_cotangent_vjp,
                             inputs=("grad_output", "self"), jvp=_nll_cotangent_jvp)


def _nll_weighted_forward(x, weight, target, ignore_index, reduction):
    return _nll_forward(x, target, weight, ignore_index, reduction)


def _nll_weighted_vjp(c, g):
    weight = c.weight_tensor._data  # torch saves the weight too: unpacking it reports an in-place change
    return _nll_vjp(_WithWeight(c, weight), g), None


class _WithWeight:
    """A node view whose ``weight`` is the saved weight's array (what :func:`_nll_vjp` reads)."""

    def __init__(self, node, weight):
        self._node, self.weight = node, weight

    def __getattr__(self, name):
        return getattr(self._node, name)


_nll = Primitive("NllLossBackward0", _nll_forward, _nll_vjp, save=("self",))
_nll2d = Primitive("NllLoss2DBackward0", _nll_forward, _nll_vjp, save=("self",))
_nll_w = Primitive("NllLossBackward0", _nll_weighted_forward, _nll_weighted_vjp, inputs=("self", "weight_tensor"),
                   save=("self", "weight_tensor"))
_nll2d_w = Primitive("NllLoss2DBackward0", _nll_weighted_forward, _nll_weighted_vjp,
                     inputs=("self", "weight_tensor"), save=("self", "weight_tensor"))


def _target_dtype_error(target) -> RuntimeError:
    return RuntimeError(f"expected target dtype to be Long or Byte, but got {_scalar_name(target.dtype)}")


def _out_of_bounds(value: int, as_character: bool) -> IndexError:
    """torch's IndexError for a target outside [0, C). torch 2.13's batched kernel without reduction formats a
    byte target as a character: its C string ends at a NUL, and a byte >= 128 is not UTF-8 (Python's
    UnicodeDecodeError is raised instead, as in torch)."""
    if not as_character:
        return IndexError(f"Target {value} is out of bounds.")
    return IndexError((b"Target " + bytes([value]) + b" is out of bounds.").split(b"\0")[0].decode())


def _nll_loss(input, target, weight, ignore_index: int, reduction: str) -> Tensor:
    """nll_loss after its reduction argument was checked: torch's checks in torch's order (nll_loss_nd's batch and
    target sizes, the differentiability of ``weight``, then the kernels': target rank, dtype, weight size, bounds),
    then the (N, C) or (N, C, h, w) primitive."""
    data, tdata = input._data, target._data
    ndim, tdtype = data.ndim, tdata.dtype
    if ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {ndim})")
    shape = data.shape
    if ndim != 1 and shape[0] != (tdata.shape[0] if tdata.ndim else 0):  # (torch reads a 0-d target's size as 0)
        raise ValueError(f"Expected input batch_size ({shape[0]}) to match target batch_size "
                         f"({tdata.shape[0] if tdata.ndim else 0}).")
    classes = shape[0] if ndim == 1 else shape[1]
    if ndim > 2 and ndim != 4 and tdata.shape != shape[:1] + shape[2:]:
        raise RuntimeError(f"Expected target size {list(shape[:1] + shape[2:])}, got {list(tdata.shape)}")
    if weight is not None:
        not_differentiable("nll_loss2d_forward" if ndim > 2 else "nll_loss_forward", "weight", weight)
    if ndim <= 2:  # nll_loss_forward's checks
        if tdata.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if tdtype != _INT64 and tdtype != _UINT8:
            raise _target_dtype_error(target)
        if ndim == 2 and tdata.ndim == 0:  # (an empty batch and a 0-d target pass the batch check)
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        if ndim == 1 and tdata.ndim == 1 and tdata.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {tdata.shape[0]}")
        if weight is not None and weight._data.size != classes:
            raise RuntimeError(f"weight tensor should be defined either for all {classes} classes or no classes but "
                               f"got weight tensor of shape: {list(weight.shape)}")
    else:  # nll_loss2d_forward's (3-d and 5-d or more inputs are folded to 4-d: their spatial sizes match then)
        if ndim == 4 and tdata.ndim != 3:
            raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got targets of dimension: "
                               f"{tdata.ndim}")
        if tdtype != _INT64 and tdtype != _UINT8:
            raise _target_dtype_error(target)
        if weight is not None and weight._data.size != classes:
            raise RuntimeError("weight tensor should be defined either for all or no classes")
        if ndim == 4 and tdata.shape != shape[:1] + shape[2:]:
            raise RuntimeError(f"size mismatch (got input: {list(shape)} , target: {list(tdata.shape)}")  # (sic)
        if tdtype != _INT64:  # the 2-d kernel reads int64 targets only
            raise RuntimeError(f"expected scalar type Long but found {_scalar_name(target.dtype)}")
    # the bounds, in one reduction: as uint64, a negative int64 target is larger than any class (an element-wise
    # look only then)
    in_range = not tdata.size or np.maximum.reduce(tdata.view(_UINT64) if tdtype is _INT64 else tdata,
                                                   axis=None) < classes
    if not in_range:
        bad = (tdata != ignore_index) & ((tdata < 0) | (tdata >= classes))
        if bad.any():
            raise _out_of_bounds(int(tdata[bad][0]), tdtype == _UINT8 and ndim == 2 and reduction == "none")
    if tdtype is not _INT64:  # uint8 (values as they are: an ignore_index of -100 never matches a byte)
        tdata = tdata.astype(_INT64)
    if in_range and not 0 <= ignore_index < classes:  # no target is ignored: _nll_weights need not look
        _COUNTED[0] = (tdata, ignore_index)
    if ndim == 2:
        if weight is None:  # (_nll_call inline)
            out = _nll(input, target=tdata, weight=None, ignore_index=ignore_index, reduction=reduction)
        else:
            out = _nll_w(input, weight, target=tdata, ignore_index=ignore_index, reduction=reduction)
    elif ndim == 1:
        out = _nll_call(_nll, _nll_w, input, tdata.reshape(1) if tdata.ndim == 0 else tdata, weight, ignore_index,
                        reduction)
    elif ndim == 4:
        out = _nll_call(_nll2d, _nll2d_w, input, tdata, weight, ignore_index, reduction)
    else:
        # (torch folds a contiguous copy to (N, C, 1, rest), the target to (N, 1, rest): what its node saves)
        folded = input.contiguous().reshape(shape[0], classes, 1, -1)
        out = _nll_call(_nll2d, _nll2d_w, folded, tdata.reshape(folded.shape[0], 1, -1), weight, ignore_index,
                        reduction)
        if out._grad_fn is not None:  # torch saves the target as it folds it: a view, or one of a contiguous copy
            _save_target(out, target.contiguous().view(shape[0], 1, -1))
        return out.view(tuple(target.shape)) if reduction == "none" else out
    if out._grad_fn is not None:
        _save_target(out, target)
    return out


def _nll_call(prim, prim_weighted, tensor, target, weight, ignore_index, reduction):
    if weight is None:
        return prim(tensor, target=target, weight=None, ignore_index=ignore_index, reduction=reduction)
    return prim_weighted(tensor, weight, target=target, ignore_index=ignore_index, reduction=reduction)
