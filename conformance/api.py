"""``conformance.compare``: check one user function, written against torch's API, on given inputs."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from conformance import programs
from conformance.engines import Engine, load_engine
from conformance.examples import tensor_item
from conformance.harness import Session, Trial, make_record, run_both, run_one, widened
from conformance.records import divergence_record
from conformance.strategies import DEFAULT_TOLERANCE
from conformance.verdict import compare_outcomes

__all__ = ["compare"]

_NUMPY_NAMES = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"}


def _item(value: Any, requires_grad: bool) -> dict[str, Any]:
    if isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
        return {"kind": "scalar", "value": value}
    array = np.asarray(value)
    name = array.dtype.name
    if name not in _NUMPY_NAMES:
        raise TypeError(f"unsupported input dtype {name} (use float64/float32/int64/bool arrays or lists)")
    return tensor_item(array, name, requires_grad and array.dtype.kind == "f")


def _cotangents(forward_obs: dict, rng: np.random.Generator, requires_grad: bool = False) -> list:
    items: list = []
    for index in range(forward_obs.get("outputs", 0)):
        key = f"out[{index}]"
        if forward_obs.get(key + ".requires_grad") is True:
            name = str(forward_obs[key + ".dtype"]).removeprefix("torch.")
            array = rng.standard_normal(forward_obs[key + ".shape"]).astype(name)
            items.append(tensor_item(np.asarray(array), name, requires_grad))
        else:
            items.append(None)
    return items


def compare(fn: Callable[..., Any], *inputs: Any, engine: str | Engine | None = None,
            kwargs: dict[str, Any] | None = None, requires_grad: bool | Sequence[bool] = True,
            properties: Sequence[str] = ("forward", "vjp", "double_backward"), seed: int = 0,
            tolerances: dict[str, tuple[float, float]] | None = None, name: str | None = None) -> list[dict]:
    """Run ``fn(t, *inputs, **kwargs)`` on torch and on ``engine`` and return the divergence records.

    ``inputs`` are NumPy arrays, nested lists (tensors; their NumPy dtype picks the torch dtype) or Python
    scalars. Floating tensors require grad (``requires_grad``: one flag, or one per input). Cotangents are
    standard-normal draws from ``seed``. The records have the schema of :mod:`conformance.records`; an empty
    list means torch and the engine agree. Raises EngineError when the engine cannot be loaded.

    Example::

        compare(lambda t, x, w: (x @ w).tanh().sum(), np.ones((2, 3)), np.eye(3), engine="refgrad")
    """
    flags = [requires_grad] * len(inputs) if isinstance(requires_grad, bool) else list(requires_grad)
    items = [_item(value, flag) for value, flag in zip(inputs, flags)]
    session = Session(engine=engine if isinstance(engine, Engine) else load_engine(engine))
    tol = dict(DEFAULT_TOLERANCE, **(tolerances or {}))
    kwargs = dict(kwargs or {})
    label = name or getattr(fn, "__name__", "fn")
    dtype = next((i["dtype"] for i in items if i["kind"] == "tensor"), "python")
    rng = np.random.default_rng(seed)
    records: list[dict] = []
    forward_obs = run_one(session, session.reference.module, programs.program_forward, fn, items, kwargs, {})["obs"]
    for prop in properties:
        if prop == "forward":
            trial = run_both(session, programs.program_forward, fn, items, kwargs, {})
        elif prop in ("vjp", "double_backward"):
            first = _cotangents(forward_obs, rng, requires_grad=prop == "double_backward")
            if not any(first):
                continue
            extra: dict[str, Any] = {"cotangents": first}
            program = programs.program_vjp
            if prop == "double_backward":
                program = programs.program_double_backward
                extra["second_cotangents"] = [
                    tensor_item(rng.standard_normal(i["shape"]).astype(i["dtype"]).reshape(i["shape"]), i["dtype"],
                                False) for i in items if i["kind"] == "tensor" and i["requires_grad"]]
            trial = run_both(session, program, fn, items, kwargs, extra)
        else:
            raise ValueError(f"unknown property {prop!r} (forward, vjp, double_backward)")
        records.extend(_records(session, label, prop, dtype, trial, tol))
    return records


def _records(session: Session, label: str, prop: str, dtype: str, trial: Trial, tol: dict) -> list[dict]:
    tol = widened(tol, trial.reference, trial.extra)  # the computing dtype's tolerance, as the properties compare
    mismatches = compare_outcomes(trial.reference, trial.engine, tol)
    if not mismatches:
        return []
    record = make_record(session, label, "user", prop, dtype, trial, mismatches, tol)
    return [divergence_record(dict(record, shrunk=False))]
