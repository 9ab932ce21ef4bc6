"""JVP: random tangents through forward_ad (the tangents against torch's), plus the transpose identity
<w, J v> = <Jᵀ w, v> of each module's forward mode against its own reverse mode.

An engine without ``autograd.forward_ad`` gets one "unsupported" summary record and every case is skipped, instead
of one divergence per op.
"""
from __future__ import annotations

import pytest

from conformance import programs
from conformance.examples import draw_cotangents, draw_inputs, tensor_item
from conformance.harness import check, run_both, run_one
from conformance.properties import cases, skip_unsupported
from conformance.strategies import cotangents as tangent_values

#: (rtol, atol) of the transpose identity, relative to the sum of the terms' magnitudes, per example dtype
IDENTITY_TOL = {"float64": (1e-9, 1e-12), "float32": (2e-3, 1e-5), "float16": (1e-2, 1e-3), "bfloat16": (5e-2, 1e-2),
                "complex128": (1e-9, 1e-12), "complex64": (2e-3, 1e-5)}


def identity_tol(inputs) -> tuple[float, float]:
    """The loosest identity tolerance among the example's floating inputs."""
    names = [item["dtype"] for item in inputs if item["kind"] == "tensor" and item["dtype"] in IDENTITY_TOL]
    return max((IDENTITY_TOL[n] for n in names), default=IDENTITY_TOL["float64"])


def draw_tangents(data, inputs) -> list:
    """One tangent per input that requires grad (drawn like a cotangent, in the input's dtype and shape)."""
    tangents = []
    for position, item in enumerate(inputs):
        if item["kind"] == "tensor" and item["requires_grad"]:
            values = data.draw(tangent_values(item["dtype"], tuple(item["shape"])),
                               label=f"tangent for input {position}")
            tangents.append(tensor_item(values, item["dtype"], False))
        else:
            tangents.append(None)
    return tangents


def jvp_trial(session, spec, dtype, data):
    """Draw inputs, tangents for the inputs that require grad, cotangents for the outputs that do."""
    inputs, kwargs = draw_inputs(data, spec, dtype)
    tangents = draw_tangents(data, inputs)
    if not any(tangents):  # nothing to differentiate: the forward property covers this example
        return None
    forward = run_one(session, session.reference.module, programs.program_forward, spec.fn, inputs, kwargs, {})
    extra = {"tangents": tangents, "cotangents": draw_cotangents(data, forward["obs"]),
             "identity_tol": identity_tol(inputs)}
    return run_both(session, programs.program_jvp, spec.fn, inputs, kwargs, extra)


@pytest.mark.parametrize(("spec", "dtype"), cases("jvp"))
def test_jvp(spec, dtype, conformance_session, request):
    """Forward-mode tangents agree with torch's, and each side's forward mode is the transpose of its reverse."""
    skip_unsupported(conformance_session, "jvp", ("autograd.forward_ad",))
    check(conformance_session, spec, dtype, "jvp", jvp_trial, request.node.nodeid)
