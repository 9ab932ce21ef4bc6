"""The torch.compile engines (conformance/engines/compiled.py): aot_eager really compiles the spec function
(Dynamo frames counted) and agrees with eager on a few cells; a backend with a wrong gradient is caught.
~10 s (aot_eager recompiles in ~0.1 s); inductor (2-20 s a compile) only with CONFORMANCE_SLOW=1."""
import os

import pytest
import torch
import torch._dynamo
from torch._dynamo.utils import counters

from conformance.engines import load_engine
from conformance.engines.compiled import Compiled
from conformance.harness import Divergence, Session, check
from conformance.properties.test_forward import forward_trial
from conformance.properties.test_vjp import vjp_trial
from conformance.specs import get_spec


def _session(name, examples=3):
    return Session(engine=load_engine(name), max_examples=examples, overrides={"derandomize": True, "database": None})


@pytest.mark.parametrize("op", ["tanh", "sum.dim", "nn.functional.layer_norm"])
def test_aot_eager_compiles_and_agrees(op):
    counters.clear()
    session = _session("conformance.engines.compiled:aot_eager")
    check(session, get_spec(op), "float32", "forward", forward_trial, nodeid="meta::aot")
    check(session, get_spec(op), "float32", "vjp", vjp_trial, nodeid="meta::aot")
    assert session.recorder.divergences == []
    assert counters["stats"]["unique_graphs"] > 0  # the function really went through Dynamo


def _wrong_backward_backend(graph_module, example_inputs):
    """aot_eager, with every backward graph's outputs scaled by 1.001 plus 1e-3 (a miscompiled backward)."""
    from torch._dynamo.backends.common import aot_autograd

    def backward(gm, _inputs):
        def run(*args):
            return [None if g is None else g * 1.001 + 1e-3 for g in gm(*args)]
        return run
    return aot_autograd(fw_compiler=lambda gm, _i: gm, bw_compiler=backward)(graph_module, example_inputs)


def wrong_backward():
    """Engine factory: torch.compile with a backend whose backward is off by 0.1 %."""
    return Compiled(_wrong_backward_backend)


def test_a_miscompiled_backward_is_caught():
    session = _session(f"{__name__}:wrong_backward")
    with pytest.raises(Divergence):
        check(session, get_spec("tanh"), "float64", "vjp", vjp_trial, nodeid="meta::wrong")
    torch._dynamo.reset()


@pytest.mark.skipif(not os.environ.get("CONFORMANCE_SLOW"), reason="an inductor compile costs 2-20 s of CPU; "
                    "set CONFORMANCE_SLOW=1 to run")
def test_inductor_agrees_on_one_cell():
    session = _session("conformance.engines.compiled:inductor", examples=2)
    check(session, get_spec("tanh"), "float32", "vjp", vjp_trial, nodeid="meta::inductor")
    assert session.recorder.divergences == []
