"""Helpers the activation families share: namespace, constants, in-place dispatch, argument checks and
``_backward_op`` (a first-order gradient as an op of its own, like torch's ``*BackwardBackward0`` nodes)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from refgrad import dtypes
from refgrad.ops._primitive import Primitive
from refgrad.ops.unary import not_implemented
from refgrad.tensor import Tensor

_F = "torch.nn.functional"
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_ONE_SIXTH = float(np.float32(1.0 / 6.0))  # torch's hardsigmoid slope is the float32 constant, in every dtype




def _sigmoid(x: Tensor) -> Tensor:
    from refgrad.ops.elementwise import sigmoid
    return sigmoid(x)


def _exp(x: Tensor) -> Tensor:
    from refgrad.ops.elementwise import exp
    return exp(x)


def _inplace(input: Tensor, fn: Callable) -> Tensor:
    from refgrad.ops._inplace import apply_inplace
    return apply_inplace(input, fn)


def _floating_only(input, kernel: str) -> None:
    if not input.dtype.is_floating_point:
        raise not_implemented(kernel, input.dtype)


def _scalar(value, dtype: dtypes.dtype):
    """A Python number in ``dtype`` (integer tensors truncate float bounds, as torch's scalar conversion does)."""
    return np.asarray(value).astype(dtype.numpy)


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._make(np.zeros_like(t._data))


def _backward_op(grad_fn: str, forward: Callable, dself: Callable | None = None) -> Primitive:
    """An op's first-order gradient as an op of its own, like torch's ``*BackwardBackward0`` nodes.

    ``forward(grad_output, self, **params)`` computes the gradient in NumPy; it is linear in grad_output, so
    its VJP for grad_output is the op itself. ``dself(c, gg)`` is the VJP for ``self`` (None: zeros, for
    piecewise-constant slopes). Writing these by hand keeps torch's values where autodiff of a ``where`` would
    leak NaN from the unselected branch (0 * inf at ±inf, masks at the kinks).
    """
    def vjp(c, gg):
        grad_output = prim(gg, c.self, **c._params) if c.needs_input_grad(0) else None
        grad_self = None
        if c.needs_input_grad(1):
            grad_self = _zeros_like(c.self) if dself is None else dself(c, gg)
        return grad_output, grad_self

    prim = Primitive(grad_fn, forward, vjp, inputs=("grad_output", "self"), save=("grad_output", "self"),
                     jvp="elementwise")
    return prim


def _np_dtype(a: np.ndarray) -> dtypes.dtype:
    return next(d for d in (dtypes.float64, dtypes.float32, dtypes.float16, dtypes.int64, dtypes.int32,
                            dtypes.int16, dtypes.int8, dtypes.uint8) if d.numpy == a.dtype)
