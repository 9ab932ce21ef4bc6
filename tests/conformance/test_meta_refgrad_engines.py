"""Meta-tests with engines built from a private copy of refgrad, each with one piece of graph machinery broken
(tests/conformance/refgrad_engines.py). Fixed programs make them deterministic; each program is also run on
the unbroken refgrad as a control, in a separate test, so a refgrad regression reads as such."""
import pytest

from conformance.engines import load_engine
from conformance.graph_machine import replay
from conformance.harness import Divergence, Session, check
from conformance.properties.test_errors import errors_trial
from conformance.specs import get_spec

refgrad = pytest.importorskip("refgrad", reason="refgrad is the default engine; these need its internals")
ENGINES = "tests.conformance.refgrad_engines"
LEAF = "v1 = t.tensor([1.0, -2.0, 0.5], requires_grad=True)"

# broken engine, program, fragment of the first mismatching observable, index of the diverging statement
PROGRAMS = {
    "accumulate_overwrites": ([LEAF, "v2 = (v1 * 3).sum()", "v2.backward(retain_graph=True)", "v2.backward()"],
                              "v1.grad", 3),
    "no_grad_ignored": ([LEAF, "c1 = t.no_grad(); c1.__enter__()", "v2 = v1 * 2", "c1.__exit__(None, None, None)"],
                        "is_grad_enabled", 1),
    "detach_keeps_graph": ([LEAF, "v2 = v1 * 2", "v3 = v2.detach()"], "v3.", 2),
    "retain_graph_not_enforced": ([LEAF, "v2 = t.exp(v1).sum()", "v2.backward()", "v2.backward()"],
                                  "exception", 3),
    "accumulate_skips_leaf_check": ([LEAF, "with t.no_grad(): v2 = v1.view(-1)", "v2.requires_grad_()",
                                     "v3 = t.exp(v2 * 1)", "with t.no_grad(): v2.mul_(2)", "v3.sum().backward()"],
                                    "exception", 5),
    # (the ZeroTensor flag is observed since graph10: before, the refused add_ at statement 3 showed it)
    "zerotensor_ordinary": ([LEAF, "v2 = t.sgn(v1)", "v2.sum().backward()", "v1.grad.add_(1)"],
                            "v1.grad.zerotensor", 2),
    "zerotensor_flag_lost": ([LEAF, "v2 = t.sgn(v1)", "v2.sum().backward()"], "v1.grad.zerotensor", 2),
}


def session_for(engine: str, **overrides) -> Session:
    return Session(engine=load_engine(engine), max_examples=40,
                   overrides={"derandomize": True, "database": None, **overrides})


@pytest.mark.parametrize("engine", sorted(PROGRAMS))
def test_broken_refgrad_is_flagged_on_its_program(engine):
    program, key, index = PROGRAMS[engine]
    found = replay(session_for(f"{ENGINES}:{engine}"), program)
    assert found is not None, f"{engine} was not flagged"
    assert found[0] == index and any(key in m["key"] for m in found[1]), found


@pytest.mark.parametrize("engine", sorted(PROGRAMS))
def test_control_refgrad_agrees_with_torch_on_the_program(engine):
    assert replay(session_for("refgrad"), PROGRAMS[engine][0]) is None


def test_errors_property_flags_a_second_backward_that_succeeds():
    session = session_for(f"{ENGINES}:retain_graph_not_enforced")
    with pytest.raises(Divergence):
        check(session, get_spec("exp"), "float64", "errors", errors_trial, nodeid="meta::retain")
    assert session.recorder.divergences[-1]["scenario"] == "backward_twice"


def test_an_engine_without_is_zerotensor_is_compared_through_the_effects():
    """An engine whose Tensor lacks ``_is_zerotensor`` is not compared on the flag (no "missing" observable), but
    its ZeroTensors still are through what they do: ordinary zeros diverge where torch refuses the write."""
    program = PROGRAMS["zerotensor_ordinary"][0]
    assert replay(session_for(f"{ENGINES}:without_zerotensor_method"), program + ["v3 = v1.grad * inf"]) is None
    found = replay(session_for(f"{ENGINES}:zerotensor_ordinary_without_method"), program)
    assert found is not None and found[0] == 3 and found[1][0]["key"] == "exception", found
