"""Drawing one example for a spec: shapes, kwargs, dtypes, values, requires_grad flags, cotangents.

Inputs are plain data items (see :func:`conformance.programs.make_input`) so the same example can be built on
torch, on the engine and in a reproducer.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance.specs._spec import OpSpec, TensorArg
from conformance.strategies import cotangents, is_floating, tensor_values

__all__ = ["draw_inputs", "draw_cotangents", "tensor_item", "input_facts"]

# requires_grad is True three times in four, and shrinks toward True
_REQUIRES_GRAD = st.integers(0, 3).map(lambda k: k != 3)


def tensor_item(array: np.ndarray, dtype: str, requires_grad: bool) -> dict[str, Any]:
    """The data item for a tensor holding ``array``."""
    return {"kind": "tensor", "data": array.tolist(), "shape": list(array.shape), "dtype": dtype,
            "requires_grad": bool(requires_grad)}


def draw_inputs(data: st.DataObject, spec: OpSpec, dtype: str, *, invalid_shapes: bool = False,
                invalid_kwargs: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Draw ``(inputs, kwargs)`` for one example of ``spec`` at example dtype ``dtype``.

    With ``invalid_shapes``/``invalid_kwargs`` the spec's invalid strategies are used (the caller checks that
    the spec declares them)."""
    shape_strategy = spec.shape_strategy(invalid=invalid_shapes)
    shapes = data.draw(shape_strategy, label="input shapes")
    kwargs = data.draw(spec.kwargs_strategy(shapes, invalid=invalid_kwargs), label="kwargs")
    inputs: list[dict[str, Any]] = []
    tensor_index = 0
    for position, arg in enumerate(spec.args):
        if not isinstance(arg, TensorArg):
            value = data.draw(arg.strategy(), label=f"input {position} (Python scalar)")
            inputs.append({"kind": "scalar", "value": value})
            continue
        shape = tuple(shapes[tensor_index])
        tensor_index += 1
        arg_dtype = dtype
        if arg.dtypes is not None:
            arg_dtype = data.draw(st.sampled_from((dtype,) + tuple(d for d in arg.dtypes if d != dtype)),
                                  label=f"input {position} dtype")
        values = data.draw(tensor_values(arg.domain, arg_dtype, shape), label=f"input {position} values")
        requires_grad = False
        if arg.differentiable and is_floating(arg_dtype):
            requires_grad = data.draw(_REQUIRES_GRAD, label=f"input {position} requires_grad")
        inputs.append(tensor_item(values, arg_dtype, requires_grad))
    return inputs, kwargs


def draw_cotangents(data: st.DataObject, forward_obs: dict[str, Any], label: str = "cotangent") -> list:
    """One cotangent item per output that requires grad in the reference forward (None for the others)."""
    items: list = []
    for index in range(forward_obs.get("outputs", 0)):
        key = f"out[{index}]"
        dtype = forward_obs.get(key + ".dtype", "")
        if forward_obs.get(key + ".requires_grad") is True and dtype.startswith("torch."):
            name = dtype.removeprefix("torch.")
            shape = forward_obs[key + ".shape"]
            array = data.draw(cotangents(name, shape), label=f"{label} for output {index}")
            items.append(tensor_item(array, name, False))
        else:
            items.append(None)
    return items


def input_facts(inputs: list[dict[str, Any]]) -> dict[str, list]:
    """Per-input shapes, dtype names (``py:float`` for scalars) and requires_grad flags, for records."""
    shapes, dtypes, flags = [], [], []
    for item in inputs:
        if item["kind"] == "scalar":
            shapes.append(None)
            dtypes.append("py:" + type(item["value"]).__name__)
            flags.append(None)
        else:
            shapes.append(list(item["shape"]))
            dtypes.append(item["dtype"])
            flags.append(item["requires_grad"])
    return {"input_shapes": shapes, "input_dtypes": dtypes, "requires_grad": flags}
