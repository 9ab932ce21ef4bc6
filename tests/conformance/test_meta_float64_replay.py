"""Meta-tests of the float64 replay *in the search* (conformance.arbitrate; test_arbitrate.py pins the rule on
fixed examples): a derandomized Hypothesis run of the vjp property, with no hand-picked example, must

* flag an engine whose float32 gradient of acosh is 1e-4 relative too large (10-100x torch's own float32 error
  in the searched domain, 1e-2 below the replay's guard: a rule that settled what is near the float64 value would
  settle it), and
* settle as rounding (``noise``), not report, the same engine without the bias, whose float32 gradient is the
  float64 one rounded once and so differs from torch's float32 kernel by rounding only -- and must meet such a
  mismatch (a control that never mismatched would prove nothing).

The spec searches acosh near its branch point, x in [1.0005, 1.01], where torch's float32 backward cancels in
x*x - 1 (relative error: median 1.5e-6, up to 6e-5 at the low end): about one example in three mismatches the
rounded-once gradient beyond float32's tolerance there. Each run is 30 derandomized examples without shrinking
(each test about 0.5 s; the module about 2 s)."""
from __future__ import annotations

import numpy as np
from hypothesis import Phase

from conformance import arbitrate
from conformance.engines import load_engine
from conformance.harness import Divergence, Session, check
from conformance.properties.test_vjp import vjp_trial
from conformance.specs._spec import unary
from conformance.strategies import Domain

BROKEN = "tests.conformance.broken_engines"
SPEC = unary("acosh", Domain(1.0005, 1.01, nonfinite=()))
EXAMPLES = 30


def search(engine: str, **session):
    """(divergence record or None, summary record) of a derandomized vjp run of SPEC in float32."""
    overrides = {"derandomize": True, "database": None, "phases": [Phase.generate]}
    run = Session(engine=load_engine(f"{BROKEN}:{engine}"), max_examples=EXAMPLES, overrides=overrides, **session)
    try:
        check(run, SPEC, "float32", "vjp", vjp_trial, nodeid=f"meta::replay[{engine}]")
    except Divergence:
        return run.recorder.divergences[-1], run.recorder.summaries[-1]
    return None, run.recorder.summaries[-1]


def test_the_search_flags_a_float32_sized_bias_with_the_replay_on():
    record, summary = search("acosh_float32_bias")
    assert record is not None, "a 1e-4 relative bias in acosh's float32 gradient was settled as rounding"
    assert record["kind"] == "value" and record["key"].endswith(".value"), record["details"]
    assert summary["noise"] == 0, summary["noise_example"]  # no biased example was settled on the way


def test_the_search_settles_the_rounded_once_control():
    record, summary = search("acosh_rounded_once")
    assert record is None, record["details"]
    assert summary["examples"] >= EXAMPLES and summary["noise"] >= 1, summary
    assert "torch in double precision" in summary["noise_example"]


# ---- the two tests above can fail -----------------------------------------------------------------------------

def test_without_the_replay_the_control_diverges():
    record, _ = search("acosh_rounded_once", float64_replay=False)
    assert record is not None and record["kind"] == "value"


def test_a_rule_without_its_fairness_clause_misses_the_bias(monkeypatch):
    """A tempting rule: settle when torch's value and the engine's are both near the float64 value (the guard
    LOOSE, 1e-2), instead of the engine within the tolerance of it or at most FACTOR times torch's error."""
    def naive(ref, got, exact, dtype, rtol, atol):
        loose_rtol, loose_atol = arbitrate.LOOSE[dtype]
        return all(np.allclose(side, exact, rtol=loose_rtol, atol=loose_atol) for side in (ref, got))

    monkeypatch.setattr(arbitrate, "_noise", naive)
    record, summary = search("acosh_float32_bias")
    assert record is None and summary["noise"] >= 1

