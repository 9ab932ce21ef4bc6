"""Value tolerances follow the dtype an example computed in, not only the compared leaf's dtype.

A float64 0-d tensor mixed with float32 tensors computes in float32 (torch's type promotion): the gradient of that
float64 leaf is returned as float64 but carries float32 digits, on torch and on the engine alike. Shrunk example
of the logaddexp double_backward cell (ci run, 2026-11-22): torch 0.42933645844459534, refgrad 0.4293363094329834
(relative 3.5e-7, float32 rounding), which float64's 1e-7 flagged. refgrad's float32 exp/log are correctly rounded
since 2026-12-06 and agree with torch here, so the engine below plays that rounding: torch whose logaddexp gradient
to ``a`` is 3.5e-7 relative off (float32-sized, beyond float64's tolerance).
"""
import pytest
import torch

from conformance import programs
from conformance.engines import load_engine
from conformance.harness import Divergence, Session, check, computing_dtypes, run_both, tolerances
from conformance.specs import get_spec
from conformance.strategies import DEFAULT_TOLERANCE
from tests.conformance.broken_engines import TorchProxy

X0 = {"kind": "tensor", "data": -2.7346207321886618, "shape": [], "dtype": "float64", "requires_grad": True}
Y = {"kind": "tensor", "data": [0.0, 0.0, 0.0], "shape": [3], "dtype": "float32", "requires_grad": True}
EXTRA = {"cotangents": [{"kind": "tensor", "data": [1.0, 1.0, 1.0], "shape": [3], "dtype": "float32",
                         "requires_grad": True}],
         "second_cotangents": [{"kind": "tensor", "data": 2.5, "shape": [], "dtype": "float64", "requires_grad": False},
                               {"kind": "tensor", "data": [0.0, 0.0, 0.0], "shape": [3], "dtype": "float32",
                                "requires_grad": False}],
         "grad_fn": False}  # (the engine's hook adds a node to the gradient: only values are at stake here)


def _fixed_trial(session, spec, dtype, data):
    return run_both(session, programs.program_double_backward, spec.fn, [X0, Y], {}, EXTRA)


def _session(engine: str) -> Session:
    return Session(engine=load_engine(engine), max_examples=1, overrides={"derandomize": True, "database": None})


def test_float64_leaf_computed_in_float32_compares_at_float32_tolerance():
    session = _session("tests.conformance.test_harness_tolerance:logaddexp_float32_rounding")
    check(session, get_spec("logaddexp"), "float64", "double_backward", _fixed_trial, nodeid="meta::mixed")
    assert session.recorder.divergences == []


def test_the_example_differs_beyond_float64_tolerance():
    # control: the values really differ in float64 terms, so the test above needs the computing dtype's tolerance
    trial = _fixed_trial(_session("tests.conformance.test_harness_tolerance:logaddexp_float32_rounding"),
                         get_spec("logaddexp"), "float64", None)
    ref, got = trial.reference["obs"]["gradgrad[0].value"], trial.engine["obs"]["gradgrad[0].value"]
    assert ref.dtype.name == "float64" and abs(got - ref) > 1e-7 + 1e-7 * abs(ref)
    assert computing_dtypes(trial.reference, trial.extra) == ("float32",)
    assert tolerances(get_spec("logaddexp"), trial)["float64"] == DEFAULT_TOLERANCE["float32"]
    assert tolerances(get_spec("logaddexp"))["float64"] == DEFAULT_TOLERANCE["float64"]


def logaddexp_float32_rounding():
    """Engine factory: torch whose logaddexp gradient to ``a`` is 3.5e-7 relative off, float32 rounding's size."""
    return TorchProxy("logaddexp_float32_rounding", torch, {"logaddexp": _scaled_logaddexp(1 + 3.5e-7)})


def _scaled_logaddexp(factor: float):
    def logaddexp(a, b):
        if isinstance(a, torch.Tensor) and a.requires_grad:
            a = a.view_as(a)
            a.register_hook(lambda grad: grad * factor)
        return torch.logaddexp(a, b)
    return logaddexp


def logaddexp_gradient_off():
    """Engine factory (``tests.conformance.test_harness_tolerance:logaddexp_gradient_off``): torch with a wrong
    logaddexp gradient."""
    return TorchProxy("logaddexp_gradient_off", torch, {"logaddexp": _scaled_logaddexp(1.0001)})


def test_widened_tolerance_still_flags_a_wrong_gradient():
    session = _session("tests.conformance.test_harness_tolerance:logaddexp_gradient_off")
    with pytest.raises(Divergence):
        check(session, get_spec("logaddexp"), "float64", "double_backward", _fixed_trial, nodeid="meta::off")
    assert session.recorder.divergences[-1]["rtol"] == DEFAULT_TOLERANCE["float32"][0]
