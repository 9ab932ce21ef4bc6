"""The training property catches broken optimizers (meta-tests); the control (refgrad passes the same specs) is
the property itself, run on refgrad in CI.
Each run is at most 15 derandomized examples, without shrinking (about 1 s each)."""
import pytest
from hypothesis import Phase

from conformance.engines import load_engine
from conformance.harness import Divergence, Session, check
from conformance.properties.test_training import SPECS, training_trial

pytest.importorskip("torch")
ENGINES = "tests.nn.broken_optim"
SPEC = {spec.name: spec for spec in SPECS}


def session_for(engine: str) -> Session:
    # no shrinking: the meta-test asks only whether a divergence is found
    return Session(engine=load_engine(engine), max_examples=15,
                   overrides={"derandomize": True, "database": None, "phases": (Phase.explicit, Phase.generate)})


@pytest.mark.parametrize(("engine", "spec"), [("zero_grad_is_a_no_op", "training.mlp.SGD"),
                                              ("sgd_ignores_dampening", "training.mlp.SGD"),
                                              ("adam_without_bias_correction", "training.mlp.Adam")])
def test_broken_optimizer_is_flagged(engine, spec):
    session = session_for(f"{ENGINES}:{engine}")
    with pytest.raises(Divergence):
        check(session, SPEC[spec], "float64", "training", training_trial, nodeid=f"meta::{engine}")
    record = session.recorder.divergences[-1]
    assert record["op"] == spec and record["property"] == "training"
