"""Low-precision mismatches settled by a float64 replay (conformance.arbitrate).

The example is the one of the default run's seed 2645 (logcumsumexp, vjp, float32) with a larger cotangent:
x = [100, 88, 88], cotangent 10. The first gradient entry is 29.9998157 in float64 (torch); torch's float32 kernel
gives 29.9996014, 2.1e-4 off, beyond the spec's float32 tolerance there (8.9e-5). The engines below compute the
gradient in float64 and round once (the best a float32 engine can do), or add a bias of 10 times torch's error.
"""
import json

import numpy as np
import pytest
import torch

from conformance import programs
from conformance.arbitrate import settle, widen
from conformance.engines import load_engine
from conformance.harness import Divergence, Session, check, run_both
from conformance.specs import get_spec
from tests.conformance.broken_engines import TorchProxy

X = {"kind": "tensor", "data": [100.0, 88.0, 88.0], "shape": [3], "dtype": "float32", "requires_grad": True}
EXTRA = {"cotangents": [{"kind": "tensor", "data": [10.0, 10.0, 10.0], "shape": [3], "dtype": "float32",
                         "requires_grad": False}]}
HERE = "tests.conformance.test_arbitrate"


def _trial(session, spec, dtype, data):
    return run_both(session, programs.program_vjp, spec.fn, [X], {"dim": 0}, EXTRA)


def _session(engine: str, **kwargs) -> Session:
    return Session(engine=load_engine(f"{HERE}:{engine}"), max_examples=1,
                   overrides={"derandomize": True, "database": None}, **kwargs)


def _logcumsumexp(bias: float):
    def logcumsumexp(x, **kwargs):  # float64 inside, one rounding: the gradient is the exact one, rounded
        out = torch.logcumsumexp(x.double(), **kwargs).to(x.dtype)
        if bias and x.requires_grad:
            out = out.view_as(out)
            out.register_hook(lambda grad: grad * (1 + bias))
        return out
    return logcumsumexp


def rounded_once():
    """Engine factory: logcumsumexp computed in float64 and rounded to float32 (more accurate than torch's)."""
    return TorchProxy("rounded_once", torch, {"logcumsumexp": _logcumsumexp(0.0)})


def biased():
    """Engine factory: the same, with every gradient 7e-5 relative too large (2.1e-3 at the first entry)."""
    return TorchProxy("biased", torch, {"logcumsumexp": _logcumsumexp(7e-5)})


def test_torch_float32_rounding_is_settled_as_noise():
    session = _session("rounded_once")
    check(session, get_spec("logcumsumexp"), "float32", "vjp", _trial, nodeid="meta::noise")
    assert session.recorder.divergences == []
    (summary,) = [r for r in session.recorder.summaries if r["property"] == "vjp"]
    assert summary["noise"] == 1 and "torch in double precision float64 [2.99998156755" in summary["noise_example"]


def test_the_same_example_diverges_without_the_replay():
    # control: the mismatch is real at float32's tolerance, so the test above needs the replay
    session = _session("rounded_once", float64_replay=False)
    with pytest.raises(Divergence):
        check(session, get_spec("logcumsumexp"), "float32", "vjp", _trial, nodeid="meta::strict")


def test_an_engine_error_beyond_twice_torchs_own_still_diverges():
    session = _session("biased")
    with pytest.raises(Divergence):
        check(session, get_spec("logcumsumexp"), "float32", "vjp", _trial, nodeid="meta::biased")


# ---- settle() on hand-made outcomes ---------------------------------------------------------------------------

TOL = {"float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}


def _outcome(value, dtype="float32", error=None):
    return {"obs": {"grad[0].value": np.array(value, dtype=dtype)}, "error": error}


def _mismatch(kind="value"):
    return {"key": "grad[0].value", "kind": kind, "reference": "r", "engine": "e"}


class Replay:
    def __init__(self, outcome):
        self.outcome, self.calls = outcome, 0

    def __call__(self):
        self.calls += 1
        return self.outcome


@pytest.mark.parametrize("engine, exact, noise", [
    ([1.00001], [1.00002], True),      # torch 2e-5 off, the engine 1e-5: noise
    ([1.00004], [1.00002], True),      # the engine as far as torch, on the other side: noise (FACTOR 2)
    ([1.00007], [1.00002], False),     # the engine 2.5x as far as torch
    ([1.01], [1.00002], False),        # an engine error
    ([1.0001], [1.1], False),          # torch's float32 value is not near the replay: not the same computation
    ([np.inf], [1.00002], False),      # a non-finite value is never noise
])
def test_settle_rules(engine, exact, noise):
    reference = _outcome([1.0])
    kept, settled = settle([_mismatch()], reference, _outcome(engine), Replay(_outcome(exact, "float64")), TOL)
    assert (kept == [], len(settled) == 1) == (noise, noise)


def test_torch_cancellation_of_a_millesimal_size_is_settled():
    # default seed 2907 (std.complex, complex64, second order): exact 0, torch -1.27e-3, refgrad 0
    kept, settled = settle([_mismatch()], _outcome([-0.001268592]), _outcome([0.0]), Replay(_outcome([0.0], "float64")),
                           TOL)
    assert kept == [] and len(settled) == 1


def test_settle_keeps_non_value_mismatches_and_does_not_replay():
    replay = Replay(_outcome([1.0], "float64"))
    mismatches = [_mismatch(), _mismatch("status")]
    assert settle(mismatches, _outcome([1.0]), _outcome([1.00001]), replay, TOL) == (mismatches, [])
    assert replay.calls == 0


def test_settle_keeps_float64_mismatches_and_replays_that_raise():
    replay = Replay(_outcome([1.0], "float64"))
    mismatches = [_mismatch()]
    assert settle(mismatches, _outcome([1.0], "float64"), _outcome([1.1], "float64"), replay, TOL)[0] == mismatches
    assert replay.calls == 0
    failing = Replay(_outcome([1.0], "float64", error={"type": "RuntimeError"}))
    assert settle(mismatches, _outcome([1.0]), _outcome([1.00001]), failing, TOL)[0] == mismatches


def test_a_float64_value_computed_in_float32_can_be_settled():
    # computing dtypes name float32: the float64 leaf's gradient carries float32 digits
    reference, engine = _outcome([1.0], "float64"), _outcome([1.00001], "float64")
    replay = Replay(_outcome([1.00002], "float64"))
    assert settle([_mismatch()], reference, engine, replay, TOL, ("float32",))[0] == []


def test_widen_changes_only_low_precision_tensor_dtypes():
    items = [X, {"kind": "scalar", "value": 2.5},
             {"kind": "tensor", "data": [1], "shape": [1], "dtype": "int64", "requires_grad": False}]
    widened = widen({"inputs": items, "cotangents": [dict(X, dtype="complex64")]})
    assert [item.get("dtype") for item in widened["inputs"]] == ["float64", None, "int64"]
    assert widened["cotangents"][0]["dtype"] == "complex128"
    assert widened["inputs"][0]["data"] == X["data"] and X["dtype"] == "float32"
    # kwargs: a dtype keyword (a training spec's model dtype) is widened too, other strings are not
    assert widen({"dtype": "float32", "mode": "float32", "model": "nn.Linear(3, 5)"}) == {
        "dtype": "float64", "mode": "float32", "model": "nn.Linear(3, 5)"}


def test_the_report_lists_settled_cells(tmp_path):
    from conformance.report import build
    from tests.report.records import summary, write_run

    noisy = dict(summary("logcumsumexp", "vjp", "float32", 5, "pass"), noise=2,
                 noise_example="grad[0].value: torch float32 [29.9996] | engine float32 [29.99982] | torch in double "
                               "precision float64 [29.99981567]")
    write_run(tmp_path / "records", [noisy, summary("add", "vjp", "float32", 5, "pass")], [])
    assert build(tmp_path / "records", tmp_path / "report", None) == 0
    text = (tmp_path / "report" / "summary.md").read_text()
    assert "## Settled as rounding by a float64 replay (2 examples in 1 cells)" in text
    assert "| logcumsumexp | vjp | float32 | 2 | 5 |" in text
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [row["op"] for row in data["settled_as_rounding"]] == ["logcumsumexp"]
