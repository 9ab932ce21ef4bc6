"""``scatter(..., reduce='add'|'multiply')``: torch computes it but gives it no derivative (its node is
``NotImplemented``; a backward through it raises), and warns once that ``reduce`` with a Tensor source is
deprecated. The in-place ``scatter_`` raises the same error as ``scatter`` (torch names the kernel ``aten::scatter_``
there: the in-place machinery does not tell the op it runs in place)."""
from __future__ import annotations

import warnings

import numpy as np

from refgrad.autograd._jvp import no_forward_rule
from refgrad.ops._numpy_names import user_stacklevel
from refgrad.ops._primitive import Primitive
from refgrad.tensor import Tensor

_UFUNCS = {"add": np.add, "multiply": np.multiply}
_DEPRECATED = ("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a future "
               "PyTorch release. Use torch.scatter_reduce instead for more reduction options. (Triggered internally "
               "at /refgrad/ops/_scatter_modes.py.)")

_warned: list = []


def _forward(a, v, key, src_key, reduce):
    out = a.copy()
    _UFUNCS[reduce].at(out, key, v if src_key is None else v[src_key])
    return out


def _no_derivative(c, g):
    raise RuntimeError("derivative for aten::scatter is not implemented")


_SCATTER_REDUCE = Primitive("NotImplemented", _forward, _no_derivative, inputs=("self", "src"),
                            jvp=no_forward_rule("aten::scatter", differentiable=False))


def check_reduce(reduce: str, src_is_tensor: bool) -> None:
    """torch's checks, in torch's order: the mode, then the deprecation warning for a Tensor source."""
    if reduce not in _UFUNCS:
        raise RuntimeError("reduce argument must be either add or multiply.")
    if src_is_tensor and not _warned:
        _warned.append(True)  # torch warns once per process
        warnings.warn(_DEPRECATED, UserWarning, stacklevel=user_stacklevel(4))


def scatter_reduced(input: Tensor, src, key, src_key, reduce: str) -> Tensor:
    """``input`` with ``src`` (a tensor read at ``src_key``, or a number) combined in at ``key``."""
    if not isinstance(src, Tensor):
        src = Tensor._make(np.asarray(src).astype(input._data.dtype))
    return _SCATTER_REDUCE(input, src, key=key, src_key=src_key, reduce=reduce)
