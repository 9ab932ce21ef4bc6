"""Low-precision mismatches settled by a float64 replay on torch.

In float32 (float16, complex64) two correct implementations round differently, and torch's own kernel can be
the less accurate one: a fused or reordered reduction, a cancellation at a special input. Tolerances cover the
usual rounding; at the tail they do not, and such a mismatch says nothing about the engine. :func:`settle`
replays the example on torch with every floating input and cotangent widened to double precision (the same
values, exactly) and takes that result as the truth for the mismatching elements. A value mismatch is *noise*
when, at every element outside the tolerance,

* torch's low-precision value is near its float64 value (``LOOSE``: the replay computed the same thing), and
* the engine's value is within the tolerance of the float64 value, or at most ``FACTOR`` times as far from it
  as torch's own low-precision value is.

Anything else stays a divergence: a non-finite value on any side, a replay that raises or changes shape, a
mismatch that is not a value (status, exception, dtype, shape, requires_grad, grad_fn), or a float64 example.
The run counts noise per cell and keeps the first example (see :class:`conformance.harness.Tracker`); the
report lists them. Graph-state programs are replayed the same way, statement by statement
(:func:`widen_statement`, :class:`conformance.graph_sides.Widened`), and settled by the same :func:`settle`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from conformance.verdict import close_elements, short

__all__ = ["LOW_PRECISION", "LOOSE", "FACTOR", "widen", "widen_statement", "settle"]

#: dtype names whose mismatches can be settled, and their double-precision counterparts
LOW_PRECISION = {"float32": "float64", "float16": "float64", "bfloat16": "float64", "complex64": "complex128"}
#: (rtol, atol) within which torch's low-precision value must agree with its float64 replay: a replay that took
#: another branch differs by O(1); cancellation in torch's float32 kernels reaches 1.3e-3 absolute (default seed
#: 2907: std of complex64 values near 64.7, second order, exact 0, torch -1.27e-3, refgrad 0)
LOOSE = {"float32": (1e-2, 1e-2), "float16": (1e-1, 1e-1), "bfloat16": (1e-1, 1e-1), "complex64": (1e-2, 1e-2)}
#: how much farther from the float64 value than torch's own low-precision value the engine's may be
FACTOR = 2.0


def widen(value: Any) -> Any:
    """``value`` (an input item, a list or dict of them, or kwargs) with every low-precision tensor item in double
    precision, and a ``dtype`` keyword naming a low-precision dtype (a training spec's model dtype, a reduction's
    accumulation dtype) naming its double-precision one; the data are unchanged (a float32 value is exact in
    float64)."""
    if isinstance(value, list):
        return [widen(part) for part in value]
    if isinstance(value, dict):
        if value.get("kind") == "tensor" and value.get("dtype") in LOW_PRECISION:
            return dict(value, dtype=LOW_PRECISION[value["dtype"]])
        return {key: LOW_PRECISION[part] if key == "dtype" and isinstance(part, str) and part in LOW_PRECISION
                else widen(part) for key, part in value.items()}
    return value


_DTYPE_NAME = re.compile(r"\bt\.(" + "|".join(LOW_PRECISION) + r")\b")


def widen_statement(statement: str) -> str:
    """A graph-state statement (torch-API source on the module ``t``) with every low-precision dtype it names
    (``t.float32``...) naming its double-precision one: the leaves it makes (``t.tensor([...], dtype=t.float32)``,
    whose literals are exact in float64), and the gradients and casts it asks for, are double precision."""
    return _DTYPE_NAME.sub(lambda found: "t." + LOW_PRECISION[found.group(1)], statement)


def _noise(ref: np.ndarray, got: np.ndarray, exact: np.ndarray, dtype: str, rtol: float, atol: float) -> bool:
    """Whether every element where ``got`` misses ``ref`` is rounding: see the module docstring."""
    if not (ref.shape == got.shape == exact.shape):
        return False
    kind = np.complex128 if "c" in (ref.dtype.kind, got.dtype.kind, exact.dtype.kind) else np.float64
    ref, got, exact = (np.asarray(a, dtype=kind) for a in (ref, got, exact))
    close = close_elements(ref, got, rtol, atol)[0]
    ref, got, exact = ref[~close], got[~close], exact[~close]
    if not (np.isfinite(ref).all() and np.isfinite(got).all() and np.isfinite(exact).all()):
        return False
    loose_rtol, loose_atol = LOOSE[dtype]
    torch_err, engine_err = np.abs(ref - exact), np.abs(got - exact)
    near = torch_err <= loose_atol + loose_rtol * np.abs(exact)
    fair = (engine_err <= atol + rtol * np.abs(exact)) | (engine_err <= FACTOR * torch_err)
    return bool(np.all(near & fair))


def settle(mismatches: list[dict], reference: dict, engine: dict, replay: Callable[[], dict],
           tolerances: dict[str, tuple], computing: tuple[str, ...] = ()) -> tuple[list[dict], list[dict]]:
    """Split ``mismatches`` (from :func:`conformance.verdict.compare_outcomes` of ``reference`` against
    ``engine``) into (divergences, noise). ``replay()`` runs the example on torch in double precision (an
    ``execute`` outcome); it is called only when every mismatch is a candidate, so a real divergence costs
    nothing. ``computing``: the dtypes the example computed in (a float64 value computed in float32 counts as
    float32). Noise mismatches gain ``float64`` (the replay's value, short text)."""
    if not mismatches or any(m["kind"] != "value" for m in mismatches):
        return mismatches, []
    low = [name for name in computing if name in LOW_PRECISION]
    candidates = []
    for mismatch in mismatches:
        dtype = reference["obs"][mismatch["key"]].dtype.name
        dtype = dtype if dtype in LOW_PRECISION else (low[0] if low else None)
        if dtype is None:
            return mismatches, []
        candidates.append(dtype)
    exact = replay()
    if exact["error"] is not None:
        return mismatches, []
    noise = []
    for mismatch, dtype in zip(mismatches, candidates):
        key = mismatch["key"]
        value = exact["obs"].get(key)
        if not isinstance(value, np.ndarray):
            return mismatches, []
        rtol, atol = tolerances.get(reference["obs"][key].dtype.name, (0.0, 0.0))[:2]
        if not _noise(reference["obs"][key], engine["obs"][key], value, dtype, rtol, atol):
            return mismatches, []
        noise.append(dict(mismatch, float64=short(value)))
    return [], noise
