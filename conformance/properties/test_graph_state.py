"""Graph state: a random autograd program (leaves, tutorial ops, backward/grad with retain_graph and inputs=,
accumulation, grad.zero_()/grad=None, detach/detach_, grad modes, requires_grad_, retain_grad, hooks,
in-place ops and version errors) compared with torch after every step."""
from __future__ import annotations

import pytest
from hypothesis.stateful import run_state_machine_as_test

from conformance.graph_machine import bind
from conformance.harness import tracked


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_graph_state(dtype, conformance_session, request):
    """Every observable agrees with torch after every statement of random programs."""
    nodeid = request.node.nodeid
    with tracked(conformance_session, "graph_state", "graph", "graph_state", dtype, nodeid) as tracker:
        machine = bind(conformance_session, dtype, tracker, nodeid)
        run_state_machine_as_test(machine, settings=conformance_session.settings())
