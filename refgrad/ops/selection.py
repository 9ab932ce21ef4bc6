"""Selection ops: ``where`` and the ``clamp`` family (torch 2.13.0's conventions at ties and bounds).

Gradients are routed by masks computed from the saved inputs; the masks are constants, so double backward
goes through the ``where`` that applies them. As in torch, ``where`` lets a NaN/inf from the unselected
branch's own gradient leak (``where(x > 0, sqrt(x), 0)`` at -1 has gradient NaN): that product happens in the
branch's VJP, not here.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from refgrad import dtypes
from refgrad.ops._binary_common import (
    _where,
    check_broadcast,
    constant,
    require_tensor,
    type_name,
    unsupported,
)
from refgrad.ops._layout import follows_inputs
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import checked_scalar, promote
from refgrad.tensor import Tensor

__all__ = ["where", "clamp", "clip", "clamp_min", "clamp_max"]


# --- where --------------------------------------------------------------------------------------------------

@register()
def where(condition, input=None, other=None, *, out=None):
    """Select from input where condition holds, else from other (torch.where); either may be a Python number.
    ``where(condition)`` is ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        from refgrad.ops.indexing_sort import nonzero
        return nonzero(condition, as_tuple=True)
    require_tensor("where", condition, names=("condition",))
    if condition.dtype is dtypes.uint8:
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed "
                      "in a future version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=2)
        condition = Tensor._make(condition._data.astype(bool))
    elif condition.dtype is not dtypes.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{type_name(condition.dtype)}")
    dtype, (a, b) = promote(input, other)
    for value in (input, other):  # a number: torch's overflow check (float16's unchecked)
        if not isinstance(value, Tensor):
            checked_scalar(value, dtype.numpy, half_checked=False)
    check_broadcast(condition, a, b)
    return _where(condition, a, b, dtype=dtype)


@register("where", namespace="torch.Tensor", method=True)
def _where_method(self, condition, other):
    """Tensor.where(condition, other): self where condition holds, else other (torch.Tensor.where)."""
    return where(condition, self, other)


# --- clamp --------------------------------------------------------------------------------------------------

def _between(x: np.ndarray, low, high) -> np.ndarray:
    """x ∈ [low, high] (closed: torch 2.13 passes the gradient at a bound to x; NaN compares False)."""
    inside = np.ones(np.broadcast_shapes(*(np.shape(v) for v in (x, low, high) if v is not None)), dtype=bool)
    if low is not None:
        inside &= x >= low
    if high is not None:
        inside &= x <= high
    return inside


def _check_inplace_masks(x, low, high, need_x_or_min: bool, need_max: bool) -> None:
    """torch combines its masks in place, so its backward refuses shapes where x and one bound alone do not
    already have the full broadcast shape (e.g. x and min 0-d, max of shape [0])."""
    full = np.broadcast_shapes(x.shape, low.shape, high.shape)
    for needed, bound in ((need_x_or_min, low), (need_max, high)):
        partial = np.broadcast_shapes(x.shape, bound.shape)
        if needed and partial != full:
            raise RuntimeError(f"output with shape [{', '.join(map(str, partial))}] doesn't match the broadcast "
                               f"shape [{', '.join(map(str, full))}]")


def _clamp_forward(x, low=None, high=None):
    with np.errstate(invalid="ignore"):
        if low is not None:
            x = np.maximum(x, np.asarray(low, x.dtype))
        if high is not None:
            x = np.minimum(x, np.asarray(high, x.dtype))
    return x


def _select(mask, g):
    return where(constant(mask), g, 0.0)


def _clamp_scalar_vjp(c, g):
    return _select(_between(c.self._data.astype(g.dtype.numpy, copy=False), c.min, c.max), g)


def _clamp_tensor_vjp(c, g):
    dtype = g.dtype.numpy  # compare in the result dtype, as torch's backward does
    x = c.self._data.astype(dtype, copy=False)
    low = c.min._data.astype(dtype, copy=False) if c.has_min else None
    high = c.max._data.astype(dtype, copy=False) if c.has_max else None
    if c.has_min and c.has_max:
        _check_inplace_masks(x, low, high, c.needs_input_grad(0) or c.needs_input_grad(1), c.needs_input_grad(2))
    grads = [_select(_between(x, low, high), g) if c.needs_input_grad(0) else None]
    if c.has_min:  # below the lower bound, only when min < max strictly (torch 2.13: min == max > x gives 0)
        below = x < low if high is None else (x < low) & (low < high)
        grads.append(_select(below, g) if c.needs_input_grad(1) else None)
    if c.has_max:
        above = x > high if low is None else (x > high) | (low > high)
        grads.append(_select(above, g) if c.needs_input_grad(len(grads)) else None)
    return tuple(grads)


def _clamp_tensor_forward(x, *bounds, has_min, has_max):
    low = bounds[0] if has_min else None
    high = bounds[-1] if has_max else None
    return _clamp_forward(x, low, high)


_clamp_scalar = Primitive("ClampBackward1", _clamp_forward, _clamp_scalar_vjp, save=("self",), jvp="elementwise")
_clamp_min_scalar = Primitive("ClampMinBackward0", _clamp_forward, _clamp_scalar_vjp, save=("self",), jvp="elementwise")
_clamp_max_scalar = Primitive("ClampMaxBackward0", _clamp_forward, _clamp_scalar_vjp, save=("self",), jvp="elementwise")
def _clamp_jvp(pick):
    """torch 2.13's forward formulas for tensor bounds (their ties and NaNs differ from the VJP's masks, and they
    combine no masks in place): ``pick(x, *bounds)`` (arrays) returns the tangent's source per element, 0 for
    input and 1, 2 for the bounds in order."""
    def jvp(c, *tangents):
        primals = [c.self, *(getattr(c, name) for name in ("min", "max") if name in c._saved)]
        tangents = [t if t is not None else constant(np.zeros(p.shape, p._data.dtype))
                    for t, p in zip(tangents, primals)]
        with np.errstate(invalid="ignore"):
            source = pick(*(p._data for p in primals))
        out = tangents[0]
        for k in range(1, len(tangents)):
            out = where(constant(source == k), tangents[k], out)
        return out
    return jvp


def _both(x, low, high):
    return np.where(low > high, 2, np.where(x < low, 1, np.where(x > high, 2, 0)))


_LAID_CLAMP = follows_inputs(_clamp_tensor_forward)  # (torch's output layout)
_CLAMP_TENSOR = {
    (True, True): Primitive("ClampBackward0", _LAID_CLAMP, _clamp_tensor_vjp,
                            inputs=("self", "min", "max"), save=("self", "min", "max"), jvp=_clamp_jvp(_both)),
    (True, False): Primitive("ClampBackward0", _LAID_CLAMP, _clamp_tensor_vjp,
                             inputs=("self", "min"), save=("self", "min"),
                             jvp=_clamp_jvp(lambda x, low: np.where(x > low, 0, 1))),
    (False, True): Primitive("ClampBackward0", _LAID_CLAMP, _clamp_tensor_vjp,
                             inputs=("self", "max"), save=("self", "max"),
                             jvp=_clamp_jvp(lambda x, high: np.where(x < high, 0, 1))),
}
_clamp_min_tensor = Primitive("ClampMinBackward1", _LAID_CLAMP, _clamp_tensor_vjp,
                              inputs=("self", "min"), save=("self", "min"),
                              jvp=_clamp_jvp(lambda x, low: np.where(x >= low, 0, 1)))
_clamp_max_tensor = Primitive("ClampMaxBackward1", _LAID_CLAMP, _clamp_tensor_vjp,
                              inputs=("self", "max"), save=("self", "max"),
                              jvp=_clamp_jvp(lambda x, high: np.where(x <= high, 0, 1)))


def _is_number(value) -> bool:
    return isinstance(value, (numbers.Number, np.bool_)) and not isinstance(value, Tensor)


def _clamp(name, input, min, max, scalar_prims, tensor_prim=None):
    require_tensor(name, input, names=("input",))
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")  # clip too
    bounds = [b for b in (min, max) if b is not None]
    if all(_is_number(b) for b in bounds):
        dtype = dtypes.result_type(input, *bounds)
        if dtype is dtypes.bool:
            kernel = "clamp_scalar_cpu" if len(bounds) == 2 else "clamp_min_scalar_cpu" if max is None else \
                "clamp_max_scalar_cpu"
            raise unsupported(kernel, dtype)
        for bound in bounds:
            checked_scalar(bound, dtype.numpy)  # torch's overflow check of a number bound
        prim = scalar_prims
        return prim(input, cast=dtype, min=min, max=max, low=min, high=max)
    if not all(isinstance(b, Tensor) for b in bounds):
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                        f"{', '.join(type(b).__name__ for b in (min, max))}), but expected one of:\n"
                        f" * (Tensor input, Tensor min = None, Tensor max = None, *, Tensor out = None)\n"
                        f" * (Tensor input, Number min = None, Number max = None, *, Tensor out = None)")
    dtype = dtypes.result_type(input, *bounds)
    check_broadcast(input, *bounds)
    has = (min is not None, max is not None)
    prim = tensor_prim or _CLAMP_TENSOR[has]
    return prim(input, *bounds, cast=dtype, has_min=has[0], has_max=has[1])


@register(method=True, inplace=True)
def clamp(input, min=None, max=None, *, out=None):
    """Limit input to [min, max] (torch.clamp); bounds are numbers or tensors. torch 2.13 conventions: the
    gradient at a bound goes to input; with min > max the output is max (its gradient goes to max)."""
    return _clamp("clamp", input, min, max, _clamp_scalar)


@register(method=True, inplace=True)
def clip(input, min=None, max=None, *, out=None):
    """Alias of clamp (torch.clip)."""
    return _clamp("clip", input, min, max, _clamp_scalar)


@register(method=True, inplace=True)
def clamp_min(input, min, *, out=None):
    """max(input, min) (torch.clamp_min); at input == min the gradient goes to input."""
    if min is None:
        raise TypeError("clamp_min() received an invalid combination of arguments - got (Tensor, NoneType)")
    return _clamp("clamp_min", input, min, None, _clamp_min_scalar, _clamp_min_tensor)


@register(method=True, inplace=True)
def clamp_max(input, max, *, out=None):
    """min(input, max) (torch.clamp_max); at input == max the gradient goes to input."""
    if max is None:
        raise TypeError("clamp_max() received an invalid combination of arguments - got (Tensor, NoneType)")
    return _clamp("clamp_max", input, None, max, _clamp_max_scalar, _clamp_max_tensor)
