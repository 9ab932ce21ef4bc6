"""The VJP of a holomorphic op on complex values, written as torch's formulas are: the real formula applied to the
cotangent with the node's saved tensors and parameters conjugated (``grad * other.conj()`` for mul).

For a formula ``g * f'(z)`` whose coefficients are real-coefficient functions of the saved values (every
holomorphic op's in refgrad), ``conj(f'(z)) = f'(conj(z))``, so this is ``g * conj(f'(z))``, torch's conjugate
Wirtinger gradient, and equals ``conj(vjp(conj(g)))``; under create_graph its top node is the formula's own
(MulBackward0 over ConjBackward0 of the saved tensor), as torch's, not a ConjPhysicalBackward0 over it."""
from __future__ import annotations

from typing import Callable

from refgrad.tensor import Tensor

__all__ = ["conjugated_vjp"]


def _conj(value):
    if isinstance(value, Tensor):
        return value.conj() if value._data.dtype.kind == "c" else value
    if isinstance(value, complex):
        return value.conjugate()
    return value


class _Conjugated:
    """A node as its VJP reads it: complex saved tensors and parameters conjugated, everything else the node's."""

    __slots__ = ("_node",)

    def __init__(self, node) -> None:
        self._node = node

    def __getattr__(self, name: str):
        value = getattr(self._node, name)
        if name == "_params":
            return {key: _conj(item) for key, item in value.items()}
        return _conj(value)


def conjugated_vjp(vjp: Callable) -> Callable:
    """``vjp`` for complex cotangents: ``vjp`` on a view of the node whose complex saved values are conjugated."""
    def complex_vjp(ctx, *cotangents):
        return vjp(_Conjugated(ctx), *cotangents)
    return complex_vjp
