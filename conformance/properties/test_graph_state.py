"""Graph state: random autograd programs (swarm-selected rules: leaves, tutorial ops, views, backward/grad with
retain_graph, inputs= and create_graph, repeated backwards, the tutorials' accumulate/zero_/backward(v)
sequence, .grad assignment, detach/detach_, grad modes and decorators, requires_grad_, retain_grad, tensor,
Node and post-accumulate-grad hooks, in-place ops and version errors, ZeroTensor gradients) compared with torch
after every step. The budget per profile is ``conformance.profiles.GRAPH_BUDGET``."""
from __future__ import annotations

import pytest

from conformance import graph_machine


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_graph_state(dtype, conformance_session, request):
    """Every observable agrees with torch after every statement of random programs."""
    graph_machine.check(conformance_session, dtype, request.node.nodeid)
