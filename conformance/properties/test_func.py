"""torch.func on every op: jacrev and jacfwd of the same function (and whether they agree), the hessian of a
random projection of the outputs, and vmap over a batch of two against a loop.

The hessian (forward-over-reverse) and vmap steps are dropped from an example when torch itself cannot run them
there (an op whose backward has no forward rule in torch, or no batching rule): the reference decides what is
comparable. An engine without ``func`` gets one "unsupported" summary record, every case skipped.
"""
from __future__ import annotations

import pytest

from conformance import programs
from conformance.examples import draw_cotangents, draw_inputs
from conformance.harness import check, run_both, run_one
from conformance.properties import cases, skip_unsupported
from conformance.properties.test_jvp import identity_tol

OPTIONAL_STEPS = ("hessian", "vmap")


def func_trial(session, spec, dtype, data):
    """Draw inputs and output cotangents; run the transforms torch can run on this example."""
    inputs, kwargs = draw_inputs(data, spec, dtype)
    forward = run_one(session, session.reference.module, programs.program_forward, spec.fn, inputs, kwargs, {})
    extra = {"cotangents": draw_cotangents(data, forward["obs"]), "identity_tol": identity_tol(inputs),
             "steps": list(OPTIONAL_STEPS)}
    while True:
        reference = run_one(session, session.reference.module, programs.program_func, spec.fn, inputs, kwargs, extra)
        failed = (reference["error"] or {}).get("step")
        if failed not in extra["steps"]:
            break
        extra["steps"].remove(failed)
    return run_both(session, programs.program_func, spec.fn, inputs, kwargs, extra)


@pytest.mark.parametrize(("spec", "dtype"), cases("func"))
def test_func(spec, dtype, conformance_session, request):
    """jacrev, jacfwd, hessian and vmap agree with torch.func's."""
    skip_unsupported(conformance_session, "func", ("func.jacrev", "func.jacfwd", "func.hessian", "func.vmap"))
    check(conformance_session, spec, dtype, "func", func_trial, request.node.nodeid)
