"""Error parity: invalid inputs and autograd misuse raise on both sides or neither, with the same builtin
exception type and, for autograd's own errors, the same message. Every example with valid inputs goes
through all misuse scenarios (so each is covered even with few examples)."""
from __future__ import annotations

import pytest
from hypothesis import strategies as st

from conformance import programs
from conformance.examples import draw_cotangents, draw_inputs
from conformance.harness import check, run_both, run_one, tolerances
from conformance.properties import cases
from conformance.verdict import compare_outcomes

AUTOGRAD_SCENARIOS = ("implicit_backward", "backward_twice", "grad_unused_strict", "grad_output_shape",
                      "inplace_input", "inplace_output", "numpy_on_output")


def scenarios(spec, dtype) -> list[str]:
    """The misuse scenarios that apply to ``spec`` at ``dtype`` ("call" = the op on invalid inputs)."""
    names = []
    if spec.has_invalid_shapes or spec.has_invalid_kwargs:
        names.append("call")
    if spec.differentiable_dtype(dtype):
        names.extend(AUTOGRAD_SCENARIOS)
    else:
        names.extend(["implicit_backward", "numpy_on_output"])
    return names


def errors_trial(session, spec, dtype, data: st.DataObject):
    """Either the op on invalid inputs (one example in three, when the spec declares invalid inputs), or valid
    inputs put through every misuse scenario in turn; the first diverging scenario is the result."""
    names = scenarios(spec, dtype)
    if "call" in names and data.draw(st.integers(0, 2), label="invalid inputs (0) else misuse scenarios") == 0:
        bad_shapes = spec.has_invalid_shapes
        if spec.has_invalid_shapes and spec.has_invalid_kwargs:
            bad_shapes = data.draw(st.booleans(), label="invalid shapes (else invalid kwargs)")
        inputs, kwargs = draw_inputs(data, spec, dtype, invalid_shapes=bad_shapes, invalid_kwargs=not bad_shapes)
        return run_both(session, programs.program_errors, spec.fn, inputs, kwargs, {"scenario": "call"}, "call")
    inputs, kwargs = draw_inputs(data, spec, dtype)
    forward = run_one(session, session.reference.module, programs.program_forward, spec.fn, inputs, kwargs, {})
    cotangents = draw_cotangents(data, forward["obs"])
    chosen = [n for n in names if n != "call"] if any(cotangents) else ["implicit_backward", "numpy_on_output"]
    extra = {"cotangents": cotangents}
    if "inplace_input" in chosen:
        count = sum(item["kind"] == "tensor" for item in inputs)
        extra["target"] = data.draw(st.integers(0, count - 1), label="input modified in place")
    for scenario in chosen:
        trial = run_both(session, programs.program_errors, spec.fn, inputs, kwargs, dict(extra, scenario=scenario),
                         scenario)
        if compare_outcomes(trial.reference, trial.engine, tolerances(spec, trial)):
            break
    return trial


@pytest.mark.parametrize(("spec", "dtype"), cases("errors"))
def test_errors(spec, dtype, conformance_session, request):
    """Both raise or neither, with the same exception type (and message, for autograd's errors)."""
    check(conformance_session, spec, dtype, "errors", errors_trial, request.node.nodeid)
