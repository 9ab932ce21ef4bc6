"""Helpers shared by the binary, comparison and selection families: torch's errors, broadcasting, masks."""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.autograd.graph import SavedTensor, save_extra
from refgrad.ops._layout import follow_inputs, settled
from refgrad.ops._primitive import Primitive, refuse_before_kernel
from refgrad.ops._util import promote, scalar_array
from refgrad.tensor import _DTYPE_OF, _SCALAR_TYPE, Tensor

__all__ = ["check_broadcast", "unsupported", "require_tensor", "constant", "check_int_divisor", "type_name",
           "binary_operands", "select"]


def type_name(dtype: dtypes.dtype) -> str:
    """torch's scalar type name (``Float``, ``Long``...)."""
    return _SCALAR_TYPE[dtype.name]


def unsupported(kernel: str, dtype: dtypes.dtype) -> NotImplementedError:
    """torch's dispatch error for a dtype a kernel does not handle."""
    return NotImplementedError(f"\"{kernel}\" not implemented for '{type_name(dtype)}'")


def check_broadcast(*operands) -> tuple[int, ...]:
    """The broadcast shape of the tensor operands; RuntimeError (torch's message) when they do not broadcast."""
    if len(operands) == 2 and type(operands[0]) is Tensor and type(operands[1]) is Tensor:
        first, second = operands[0]._data.shape, operands[1]._data.shape
        if first == second or not second:  # same shape, or a 0-d operand: nothing to check
            return first
        if not first:
            return second
    shapes = [o._data.shape for o in operands if isinstance(o, Tensor)]
    if not shapes:
        return ()
    first = shapes[0]
    if all(shape == first for shape in shapes):  # the common case: nothing to broadcast
        return first
    key = tuple(shapes)
    cached = _BROADCAST.get(key)
    if cached is not None:
        return cached
    if len(_BROADCAST) > 4096:  # many distinct shapes: start over rather than grow without bound
        _BROADCAST.clear()
    _BROADCAST[key] = result = _broadcast(shapes)
    return result


_BROADCAST: dict = {}  # shapes -> their broadcast shape (only shapes that broadcast are cached)


def _broadcast(shapes: list) -> tuple[int, ...]:
    """The broadcast shape of ``shapes``, or torch's RuntimeError."""
    result: tuple[int, ...] = ()
    for shape in shapes:
        ndim = max(len(result), len(shape))
        left, right = (1,) * (ndim - len(result)) + result, (1,) * (ndim - len(shape)) + shape
        for i in reversed(range(ndim)):  # torch reports the rightmost mismatch
            a, b = left[i], right[i]
            if a != b and a != 1 and b != 1:
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                                   f"non-singleton dimension {i}")
        result = tuple(b if a == 1 else a for a, b in zip(left, right))
    return result


def require_tensor(name: str, *operands, names=("input", "other")) -> None:
    """torch's TypeError for a Python number where the schema has only a Tensor overload."""
    for position, (operand, arg) in enumerate(zip(operands, names), start=1):
        if not isinstance(operand, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, not "
                            f"{type(operand).__name__}")


def binary_operands(name: str, input, other, primitive: Primitive | None = None):
    """Both operands as tensors of their promoted dtype (numbers wrapped); torch's checks for shapes. ``primitive``:
    the op's node, whose refusal to save an inference operand comes before a shape error (as in torch)."""
    if type(input) is Tensor:  # the common cases: same dtype and same shape or a 0-d operand; a Python float
        first = input._data
        if type(other) is Tensor:
            second = other._data
            if first.dtype is second.dtype and (first.shape == second.shape or not second.shape or not first.shape
                                                or (first.shape, second.shape) in _BROADCAST):  # known to broadcast
                return _DTYPE_OF[first.dtype], (input, other)
        elif type(other) is float and first.dtype.kind == "f":  # a number never changes a float tensor's dtype
            dtype = _DTYPE_OF[first.dtype]
            return dtype, (input, Tensor._make(scalar_array(other, first.dtype)))
    dtype, operands = promote(input, other)
    try:
        check_broadcast(*operands)
    except RuntimeError:
        if primitive is not None:
            refuse_before_kernel(primitive, *operands)
        raise
    return dtype, operands


def constant(array, dtype: dtypes.dtype | None = None) -> Tensor:
    """A constant tensor (no history) from a NumPy array, e.g. a mask or a piecewise-constant derivative."""
    array = np.asarray(array)
    return Tensor._make(array if dtype is None else array.astype(dtype.numpy, copy=False))


def _zero(like: Tensor) -> Tensor:
    return Tensor._make(np.zeros((), dtype=like._data.dtype))


def _where_vjp(c, g):
    cond = c.condition
    return (_where(cond, g, _zero(g), dtype=None) if c.needs_input_grad(0) else None,
            _where(cond, _zero(g), g, dtype=None) if c.needs_input_grad(1) else None)


def _where_forward(a, b, condition, dtype):
    if dtype is not None:
        a, b = a.astype(dtype.numpy, copy=False), b.astype(dtype.numpy, copy=False)
    operands = (condition._data, a, b)  # (TensorIterator's order: the condition leads the layout)
    out = np.where(*operands)
    return out if settled(out, operands) else follow_inputs(out, *operands)


# torch.where's node: edges for self and other only (torch records none for the condition, which it saves)
_where_node = Primitive("WhereBackward0", _where_forward, _where_vjp, inputs=("self", "other"), jvp="elementwise")


def _where(condition: Tensor, a: Tensor, b: Tensor, dtype) -> Tensor:
    """torch.where's node (the public op, with its checks and promotion, is selection.where)."""
    out = _where_node(a, b, condition=condition, dtype=dtype)
    node = out._grad_fn
    if node is not None and type(node) is _where_node.node_cls:  # recorded: the condition saved, version-checked
        save_extra(node, "condition", SavedTensor(condition))
    return out


def select(mask: np.ndarray, value: Tensor) -> Tensor:
    """``where(mask, value, 0)``: keeps ``value`` where the mask holds (0 elsewhere, even for inf/NaN values)."""
    return _where(constant(mask), value, _zero(value), dtype=None)


def check_int_divisor(dtype: dtypes.dtype, divisor: Tensor, *operands) -> None:
    """Integer division by zero is an error in torch (not inf, not 0)."""
    if not dtype.is_floating_point and dtype is not dtypes.bool and np.any(divisor._data == 0):
        if 0 not in check_broadcast(*operands):  # nothing is divided when the result is empty
            raise RuntimeError("ZeroDivisionError")
