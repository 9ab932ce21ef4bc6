"""Comparisons, predicates, logical and bitwise ops: no gradient, bool (or integer) results.

Comparisons promote their operands like arithmetic does; binary logical ops take the truth values of the operands
cast to their promoted dtype (so a float64 0-d value that underflows in float32 is False); bitwise ops
take integers and bools only (floats raise torch's NotImplementedError).
"""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.ops._binary_common import binary_operands, check_broadcast, require_tensor, type_name, unsupported
from refgrad.ops._inplace import apply_inplace
from refgrad.ops._layout import follows_inputs, relay
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.tensor import Tensor

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "isclose", "allclose", "isnan", "isinf", "isposinf", "isneginf",
           "isfinite", "signbit", "equal", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
           "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift"]


def _result(array) -> Tensor:
    return Tensor._make(np.asarray(array))


def _compare(np_fn, name: str):
    laid = follows_inputs(np_fn)  # (torch's output layout)

    def compare(input, other, *, out=None):
        require_tensor(name, input)
        dtype, (a, b) = binary_operands(name, input, other)
        if dtype.is_complex and name not in ("eq", "ne"):  # complex numbers have no order
            raise unsupported(f"{name}_cpu", dtype)
        return _result(laid(a._data.astype(dtype.numpy, copy=False), b._data.astype(dtype.numpy, copy=False)))
    compare.__name__ = name
    compare.__doc__ = f"Elementwise {np_fn.__name__} after type promotion, a bool tensor (torch.{name})."
    return compare


eq = register("eq", method=True)(_compare(np.equal, "eq"))
ne = register("ne", method=True, aliases=("not_equal",))(_compare(np.not_equal, "ne"))
lt = register("lt", method=True, aliases=("less",))(_compare(np.less, "lt"))
le = register("le", method=True, aliases=("less_equal",))(_compare(np.less_equal, "le"))
gt = register("gt", method=True, aliases=("greater",))(_compare(np.greater, "gt"))
ge = register("ge", method=True, aliases=("greater_equal",))(_compare(np.greater_equal, "ge"))


def _zero_grads(c, g):
    zero = g.zeros_like_detached()
    return tuple(zero if c.needs_input_grad(i) else None for i in range(len(c.next_functions)))


def _compare_inplace(np_fn, name: str, aliases=()):
    """``x.eq_(y)``: the comparison written into x's dtype; torch records EqBackward0/1 with zero gradients."""
    node = name[0].upper() + name[1:]
    forward = lambda a, b, out_dtype: np_fn(a, b).astype(out_dtype.numpy)  # noqa: E731
    with_tensor = Primitive(f"{node}Backward1", forward, _zero_grads, inputs=("self", "other"))
    with_number = Primitive(f"{node}Backward0", forward, _zero_grads, inputs=("self", "other"))

    def method(self, other):
        def write(old, other):
            dtype, (a, b) = binary_operands(name, old, other)
            prim = with_tensor if isinstance(other, Tensor) else with_number
            return prim(a, b, cast=dtype, out_dtype=old.dtype)
        return apply_inplace(self, write, other)
    method.__name__ = f"{name}_"
    method.__doc__ = f"In-place {name} (torch.Tensor.{name}_): 1/0 written in this tensor's dtype."
    for method_name in (name, *aliases):
        register(f"{method_name}_", namespace="torch.Tensor", method=f"{method_name}_")(method)
    return method


for _np_fn, _name, _aliases in ((np.equal, "eq", ()), (np.not_equal, "ne", ("not_equal",)),
                                (np.less, "lt", ("less",)), (np.less_equal, "le", ("less_equal",)),
                                (np.greater, "gt", ("greater",)), (np.greater_equal, "ge", ("greater_equal",))):
    _compare_inplace(_np_fn, _name, _aliases)


@register(method=True)
def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """|input - other| <= atol + rtol * |other|, elementwise (torch.isclose); dtypes must match."""
    require_tensor("isclose", input, other)
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{type_name(input.dtype)} did not match {type_name(other.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    check_broadcast(input, other)
    a, b = input._data, other._data
    if input.dtype is dtypes.bool:
        return relay(_result(a == b), input, other)
    if not (input.dtype.is_floating_point or input.dtype.is_complex):  # integers compare in double precision
        a, b = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        close = (a == b) | (np.isfinite(a) & np.isfinite(b) & (np.abs(a - b) <= atol + rtol * np.abs(b)))
    if equal_nan:
        close |= np.isnan(a) & np.isnan(b)
    return relay(_result(close), input, other)  # (torch's composite keeps the first comparison's layout)


@register(method=True)
def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when :func:`isclose` holds everywhere (torch.allclose: a Python bool; isclose's errors)."""
    require_tensor("allclose", input, other)
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def _predicate(np_fn, name: str, integer_value):
    def predicate(input, *, out=None):
        require_tensor(name, input, names=("input",))
        if input.dtype.is_floating_point or input.dtype.is_complex:
            return _result(np_fn(input._data))
        return _result(np.full_like(input._data, integer_value, dtype=bool) if integer_value is not None else
                       np.asarray(input._data < 0))  # (full_like: the input's order, as torch's kernel)
    predicate.__name__ = name
    predicate.__doc__ = f"Elementwise {name} test, a bool tensor (torch.{name})."
    return predicate


isnan = register("isnan", method=True)(_predicate(np.isnan, "isnan", False))
isinf = register("isinf", method=True)(_predicate(np.isinf, "isinf", False))
isposinf = register("isposinf", method=True)(_predicate(np.isposinf, "isposinf", False))
isneginf = register("isneginf", method=True)(_predicate(np.isneginf, "isneginf", False))
isfinite = register("isfinite", method=True)(_predicate(np.isfinite, "isfinite", True))
signbit = register("signbit", method=True)(_predicate(np.signbit, "signbit", None))


@register(method=True)
def equal(input, other) -> bool:
    """True when both tensors have the same shape and equal elements after promotion (torch.equal)."""
    require_tensor("equal", input, other)
    if tuple(input.shape) != tuple(other.shape):
        return False
    dtype = dtypes.promote_types(input.dtype, other.dtype)
    return bool(np.array_equal(input._data.astype(dtype.numpy), other._data.astype(dtype.numpy)))


# --- logical ------------------------------------------------------------------------------------------------

def _truth(a: Tensor, dtype: dtypes.dtype) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return a._data.astype(dtype.numpy, copy=False).astype(bool)


def _logical(np_fn, name: str):
    laid = follows_inputs(np_fn)

    def op(input, other, *, out=None):
        # torch takes the truth values in the promoted dtype: a float64 0-d 1e-129 next to float32 tensors is
        # float32 0 (False), an int64 0-d 256 next to uint8 tensors is uint8 0
        require_tensor(name, input, other)
        dtype, (a, b) = binary_operands(name, input, other)
        if dtype.is_complex and name not in ("eq", "ne"):  # complex numbers have no order
            raise unsupported(f"{name}_cpu", dtype)
        return _result(laid(_truth(a, dtype), _truth(b, dtype)))
    op.__name__ = name
    op.__doc__ = f"Elementwise {name.replace('_', ' ')} of the operands' truth values (torch.{name})."
    return op


logical_and = register("logical_and", method=True, inplace=True)(_logical(np.logical_and, "logical_and"))
logical_or = register("logical_or", method=True, inplace=True)(_logical(np.logical_or, "logical_or"))
logical_xor = register("logical_xor", method=True, inplace=True)(_logical(np.logical_xor, "logical_xor"))


@register(method=True, inplace=True)
def logical_not(input, *, out=None) -> Tensor:
    """Elementwise not of the truth values (torch.logical_not)."""
    require_tensor("logical_not", input, names=("input",))
    return _result(np.logical_not(input._data.astype(bool)))


# --- bitwise ------------------------------------------------------------------------------------------------

def _left_shift(a, b):
    bits = a.dtype.itemsize * 8
    inside = (b >= 0) & (b < bits)
    return np.where(inside, np.left_shift(a, np.where(inside, b, 0)), 0).astype(a.dtype)


def _right_shift(a, b):
    bits = a.dtype.itemsize * 8
    inside = (b >= 0) & (b < bits)
    overflow = np.where(a < 0, -1, 0) if a.dtype.kind == "i" else 0
    return np.where(inside, np.right_shift(a, np.where(inside, b, 0)), overflow).astype(a.dtype)


def _bitwise(np_fn, name: str, kernel: str, allow_bool: bool = True):
    laid = follows_inputs(np_fn)

    def op(input, other, *, out=None):
        if not isinstance(input, Tensor) and not isinstance(other, Tensor):
            require_tensor(name, input)
        dtype, (a, b) = binary_operands(name, input, other)
        if dtype.is_floating_point or (dtype is dtypes.bool and not allow_bool):
            raise unsupported(kernel, dtype)
        return _result(laid(a._data.astype(dtype.numpy), b._data.astype(dtype.numpy)))
    op.__name__ = name
    op.__doc__ = f"Elementwise {name.replace('_', ' ')} of integer or bool tensors (torch.{name})."
    return op


bitwise_and = register("bitwise_and", method=True, inplace=True)(_bitwise(np.bitwise_and, "bitwise_and",
                                                                          "bitwise_and_cpu"))
bitwise_or = register("bitwise_or", method=True, inplace=True)(_bitwise(np.bitwise_or, "bitwise_or",
                                                                       "bitwise_or_cpu"))
bitwise_xor = register("bitwise_xor", method=True, inplace=True)(_bitwise(np.bitwise_xor, "bitwise_xor",
                                                                          "bitwise_xor_cpu"))
bitwise_left_shift = register("bitwise_left_shift", method=True, inplace=True)(
    _bitwise(_left_shift, "bitwise_left_shift", "lshift_cpu", allow_bool=False))
bitwise_right_shift = register("bitwise_right_shift", method=True, inplace=True)(
    _bitwise(_right_shift, "bitwise_right_shift", "rshift_cpu", allow_bool=False))


@register(method=True, inplace=True)
def bitwise_not(input, *, out=None) -> Tensor:
    """Elementwise bitwise not of an integer or bool tensor (torch.bitwise_not)."""
    require_tensor("bitwise_not", input, names=("input",))
    if input.dtype.is_floating_point:
        raise unsupported("bitwise_not_cpu", input.dtype)
    return _result(np.invert(input._data))


# Tensor operators (installed by refgrad.ops.__init__)
__and__ = bitwise_and
__or__ = bitwise_or
__xor__ = bitwise_xor


def __invert__(self):
    """``~tensor`` (torch.Tensor.__invert__): bitwise not; floats raise TypeError as in torch."""
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(self)
