"""VJP: random cotangents through autograd.grad (allow_unused, with an unused leaf) and backward(gradient=)."""
from __future__ import annotations

import pytest

from conformance import programs
from conformance.examples import draw_cotangents, draw_inputs
from conformance.harness import check, run_both, run_one
from conformance.properties import cases


def vjp_trial(session, spec, dtype, data):
    """Draw inputs, learn the output shapes from torch, draw cotangents, compare both VJP routes."""
    inputs, kwargs = draw_inputs(data, spec, dtype)
    forward = run_one(session, session.reference.module, programs.program_forward, spec.fn, inputs, kwargs, {})
    cotangents = draw_cotangents(data, forward["obs"])
    if not any(cotangents):  # nothing requires grad: only the forward is comparable
        return run_both(session, programs.program_forward, spec.fn, inputs, kwargs, {})
    return run_both(session, programs.program_vjp, spec.fn, inputs, kwargs, {"cotangents": cotangents})


@pytest.mark.parametrize(("spec", "dtype"), cases("vjp"))
def test_vjp(spec, dtype, conformance_session, request):
    """Gradients (values, dtype, shape, None-ness) agree with torch's for random cotangents."""
    check(conformance_session, spec, dtype, "vjp", vjp_trial, request.node.nodeid)
