"""Double backward: the VJP's own VJP (create_graph=True), w.r.t. the inputs and the first cotangent, and the
grad_fn names of the first-order gradients (except the specs of conformance/gradient_nodes.py)."""
from __future__ import annotations

import pytest
from hypothesis import strategies as st

from conformance import programs
from conformance.examples import draw_cotangents, draw_inputs, tensor_item
from conformance.gradient_nodes import compares_names
from conformance.harness import check, run_both, run_one
from conformance.properties import cases
from conformance.strategies import cotangents as cotangent_values


def double_backward_trial(session, spec, dtype, data: st.DataObject):
    """Draw inputs, a first cotangent v (requiring grad) and a second cotangent u per differentiable input."""
    inputs, kwargs = draw_inputs(data, spec, dtype)
    forward = run_one(session, session.reference.module, programs.program_forward, spec.fn, inputs, kwargs, {})
    first = [None if item is None else dict(item, requires_grad=True)
             for item in draw_cotangents(data, forward["obs"])]
    if not any(first):
        return run_both(session, programs.program_forward, spec.fn, inputs, kwargs, {})
    second = []
    for position, item in enumerate(inputs):
        if item["kind"] == "tensor" and item["requires_grad"]:
            values = data.draw(cotangent_values(item["dtype"], tuple(item["shape"])),
                               label=f"second cotangent for input {position}")
            second.append(tensor_item(values, item["dtype"], False))
    extra = {"cotangents": first, "second_cotangents": second}
    if not compares_names(spec.name, inputs, kwargs):
        extra["grad_fn"] = False  # the gradients' node names differ by design (conformance/gradient_nodes.py)
    return run_both(session, programs.program_double_backward, spec.fn, inputs, kwargs, extra)


@pytest.mark.parametrize(("spec", "dtype"), cases("double_backward"))
def test_double_backward(spec, dtype, conformance_session, request):
    """Second-order gradients agree with torch's."""
    check(conformance_session, spec, dtype, "double_backward", double_backward_trial, request.node.nodeid)
