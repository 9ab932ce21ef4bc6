"""Tensor-with-Python-number arithmetic as torch's C++ decompositions record it: ``mul.Scalar`` (MulBackward1),
``add.Scalar`` (AddBackward1), ``div.Scalar`` (DivBackward1). Python's ``x * 0.5`` wraps the number in a tensor
(MulBackward0); ops that torch composes in C++ (ndtr, trapezoid, quantile...) use these to record the same nodes.
The tensor must be floating point (these are for compositions, which have already cast)."""
from __future__ import annotations

import numpy as np

from refgrad.autograd import zerotensor as _zerotensor
from refgrad.ops._primitive import Primitive

__all__ = ["mul_scalar", "add_scalar", "div_scalar"]


def _mul_scalar_vjp(c, g):
    return mul_scalar(g, c.other)


_mul = Primitive("MulBackward1", lambda a, other: a * np.asarray(other, a.dtype), _mul_scalar_vjp)
_add = Primitive("AddBackward1", lambda a, other: a + np.asarray(other, a.dtype), lambda c, g: g)
_div = Primitive("DivBackward1", lambda a, other: a / np.asarray(other, a.dtype),
                 lambda c, g: div_scalar(g, c.other))


def mul_scalar(tensor, other: float):
    """``tensor * other`` recorded as MulBackward1; of a ZeroTensor, one (0 even times inf: torch's mul.Scalar keeps
    the flag, its div.Scalar and add.Scalar compute with the zeros; refgrad/autograd/zerotensor.py)."""
    out = _mul(tensor, other=other)
    return _zerotensor.absorb(out) if tensor._zerotensor else out


def add_scalar(tensor, other: float):
    """``tensor + other`` recorded as AddBackward1."""
    return _add(tensor, other=other)


def div_scalar(tensor, other: float):
    """``tensor / other`` recorded as DivBackward1."""
    return _div(tensor, other=other)
