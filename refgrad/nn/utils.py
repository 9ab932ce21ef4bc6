"""torch.nn.utils basics: gradient clipping and flattening parameters to one vector."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from refgrad.autograd.grad_mode import no_grad
from refgrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _with_grads(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def zero_grads(parameters: Iterable[Tensor], set_to_none: bool = True) -> None:
    """What ``Module.zero_grad`` and ``Optimizer.zero_grad`` do to each parameter: drop its ``.grad`` (the
    default, as torch 2.x) or zero it in place, detached from any graph it was built in (create_graph=True)."""
    for param in _with_grads(parameters):
        if set_to_none:
            param.grad = None
            continue
        if param.grad.grad_fn is not None:
            param.grad.detach_()
        else:
            param.grad.requires_grad_(False)
        param.grad.zero_()


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale all gradients in place so that their joint ``norm_type``-norm is at most ``max_norm``; returns the
    norm before clipping (torch.nn.utils.clip_grad_norm_: the coefficient is max_norm / (norm + 1e-6), capped at
    1, and the norm of the per-gradient norms is the total norm)."""
    from refgrad.factories import tensor
    grads = [p.grad for p in _with_grads(parameters)]
    if not grads:
        return tensor(0.0)
    norm_type = float(norm_type)
    if norm_type == np.inf:
        norms = [np.abs(g._data).max() if g.numel() else 0.0 for g in grads]
        total = np.max(norms)
    else:
        norms = [np.sum(np.abs(g._data.astype(np.float64, copy=False)) ** norm_type) ** (1 / norm_type)
                 for g in grads]
        total = np.sum(np.asarray(norms) ** norm_type) ** (1 / norm_type)
    dtype = grads[0].dtype
    total_norm = tensor(float(total), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    # as torch: the coefficient is a tensor of the gradients' dtype, max_norm / (norm + 1e-6) clamped to 1
    kind = dtype.numpy.type
    coefficient = min(kind(max_norm) / (total_norm._data + kind(1e-6)), kind(1.0))
    with no_grad():
        for grad in grads:
            grad.mul_(tensor(coefficient, dtype=dtype))
    return total_norm


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float, foreach=None) -> None:
    """Clamp every gradient to [-clip_value, clip_value] in place (torch.nn.utils.clip_grad_value_)."""
    with no_grad():
        for param in _with_grads(parameters):
            param.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated (torch.nn.utils.parameters_to_vector)."""
    from refgrad import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' data (torch.nn.utils.vector_to_parameters)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    for param in parameters:
        count = param.numel()
        param.data = vec[offset:offset + count].reshape(tuple(param.shape)).data
        offset += count
