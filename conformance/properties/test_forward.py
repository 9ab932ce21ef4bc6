"""Forward: values, shape, dtype, requires_grad, is_leaf and grad_fn name of every output."""
from __future__ import annotations

import pytest

from conformance import programs
from conformance.examples import draw_inputs
from conformance.harness import check, run_both
from conformance.properties import cases


def forward_trial(session, spec, dtype, data):
    """Draw valid inputs and run the op on both sides."""
    inputs, kwargs = draw_inputs(data, spec, dtype)
    return run_both(session, programs.program_forward, spec.fn, inputs, kwargs, {})


@pytest.mark.parametrize(("spec", "dtype"), cases("forward"))
def test_forward(spec, dtype, conformance_session, request):
    """The op's outputs agree with torch's on every observable."""
    check(conformance_session, spec, dtype, "forward", forward_trial, request.node.nodeid)
