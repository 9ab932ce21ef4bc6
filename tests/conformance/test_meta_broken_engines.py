"""Meta-tests: deliberately broken engines must be flagged by the property that covers the breakage, and
torch compared with itself must be flagged by nothing. Settings are derandomized and small, so these are
deterministic and fast."""
import dataclasses

import pytest

from conformance.engines import load_engine
from conformance.harness import Divergence, Session, check
from conformance.properties.test_double_backward import double_backward_trial
from conformance.properties.test_errors import errors_trial
from conformance.properties.test_forward import forward_trial
from conformance.properties.test_vjp import vjp_trial
from conformance.specs import get_spec
from conformance.specs._spec import unary

BROKEN = "tests.conformance.broken_engines"
TRIALS = {"forward": forward_trial, "vjp": vjp_trial, "double_backward": double_backward_trial,
          "errors": errors_trial}
SPEC_ABS = unary("abs")  # local, so the meta-test does not depend on another family file


def session_for(engine: str, max_examples: int, **overrides) -> Session:
    settings = {"derandomize": True, "database": None, **overrides}
    return Session(engine=load_engine(engine), max_examples=max_examples, overrides=settings)


def run_property(engine: str, spec, prop: str, dtype: str = "float64", max_examples: int = 60):
    """The divergence record the property produces for ``engine``, or None."""
    session = session_for(engine, max_examples)
    try:
        check(session, spec, dtype, prop, TRIALS[prop], nodeid=f"meta::{prop}[{spec.name}]")
    except Divergence:
        return session.recorder.divergences[-1]
    return None


# engine, spec, property, dtype, expected kind of the first mismatch, a fragment of its observable key
CASES = [
    ("exp_vjp_scaled", "exp", "vjp", "float64", "value", "grad"),
    ("exp_ignores_cotangent", "exp", "vjp", "float32", "value", "grad"),
    ("exp_first_order_only", "exp", "double_backward", "float64", "requires_grad", "grad[0]"),
    ("exp_gradient_node_renamed", "exp", "double_backward", "float64", "grad_fn", "grad[0]"),
    ("abs_subgradient_one", SPEC_ABS, "vjp", "float64", "value", "grad"),
    ("add_promotes_to_double", "add", "forward", "float32", "dtype", "out[0]"),
    ("mul_fortran_ordered", "mul", "forward", "float64", "layout", "out[0].layout"),
    ("t_contiguous", "t", "forward", "float32", "layout", "out[0].layout"),
    ("matmul_value_error", "matmul", "errors", "float64", "exception_type", "exception"),
    ("backward_twice_message", "exp", "errors", "float64", "message", "exception"),
    ("bce_sum_for_mean", "nn.functional.binary_cross_entropy_with_logits", "forward", "float32", "value",
     "out[0]"),
]


def _spec(spec):
    return get_spec(spec) if isinstance(spec, str) else spec


@pytest.mark.parametrize(("engine", "spec", "prop", "dtype", "kind", "key"), CASES, ids=[c[0] for c in CASES])
def test_broken_engine_is_flagged(engine, spec, prop, dtype, kind, key):
    record = run_property(f"{BROKEN}:{engine}", _spec(spec), prop, dtype)
    assert record is not None, f"{engine} was not flagged by {prop}"
    assert record["kind"] == kind and key in record["key"], record["details"]
    assert record["shrunk"] and record["reproduce_failure"] and record["snippet"]


TORCH_CASES = sorted({(c[1] if isinstance(c[1], str) else "abs", c[2], c[3]) for c in CASES})


@pytest.mark.parametrize(("spec", "prop", "dtype"), TORCH_CASES)
def test_torch_against_itself_is_never_flagged(spec, prop, dtype):
    assert run_property("torch", SPEC_ABS if spec == "abs" else get_spec(spec), prop, dtype) is None


def test_the_broken_forward_engines_pass_the_properties_they_do_not_break():
    """The hooks keep the forward exact: an engine off in its VJP passes the forward property."""
    assert run_property(f"{BROKEN}:exp_vjp_scaled", get_spec("exp"), "forward") is None
    assert run_property(f"{BROKEN}:abs_subgradient_one", SPEC_ABS, "forward") is None


@pytest.mark.parametrize(("engine", "error"), [("exp_hangs", "ExampleTimeout"), ("exp_crashes", "SystemError")])
def test_hangs_and_crashes_are_recorded_outcomes(engine, error):
    session = session_for(f"{BROKEN}:{engine}", 3)
    session.timeout = 0.3
    with pytest.raises(Divergence):
        check(session, get_spec("exp"), "float64", "forward", forward_trial, nodeid="meta::hang")
    record = session.recorder.divergences[-1]
    assert record["kind"] == "status" and record["engine_error_type"].endswith(error)
    assert record["reference_error_type"] is None


def test_known_divergences_are_recorded_as_expected_and_xfail():
    spec = dataclasses.replace(get_spec("exp"), known={"vjp": "deliberately broken engine"})
    session = session_for(f"{BROKEN}:exp_vjp_scaled", 20)
    with pytest.raises(pytest.xfail.Exception, match="deliberately broken engine"):
        check(session, spec, "float64", "vjp", vjp_trial)
    (record,) = session.recorder.divergences
    assert record["expected"] and record["expected_reason"] == "deliberately broken engine"
    assert session.recorder.summaries[-1]["status"] == "expected"

# The graph-state machine's search is meta-tested in test_meta_graph_search.py.
