"""Wrapper engines (conformance/engines/wrapper.py): loading by name, the wrap hook on the engine side only,
ignored observables, skipped properties, and reproducers that call the wrapper too. Cheap: torch eager only."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conformance.engines import EngineError, Wrapper, load_engine
from conformance.harness import Divergence, Session, check
from conformance.properties.test_forward import forward_trial
from conformance.properties.test_vjp import vjp_trial
from conformance.specs import get_spec


class Doubled(Wrapper):
    """A wrong backend: every output doubled (its gradients too)."""

    ignored = (".grad_fn",)
    skipped = {"errors": "not a property this test engine runs"}

    def transform(self, fn):
        def doubled(t, *args, **kwargs):
            out = fn(t, *args, **kwargs)
            return tuple(o * 2 for o in out) if isinstance(out, tuple) else out * 2
        return doubled


class Renamed(Wrapper):
    """A right backend whose outputs carry another grad_fn (a custom autograd.Function), like a compiled graph."""

    ignored = (".grad_fn",)

    def transform(self, fn):
        class Identity(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x.clone()

            @staticmethod
            def backward(ctx, g):
                return g

        def renamed(t, *args, **kwargs):
            return Identity.apply(fn(t, *args, **kwargs))
        return renamed


DOUBLED = Doubled()
ENGINE = Renamed()


def _session(name, examples=3):
    return Session(engine=load_engine(name), max_examples=examples, overrides={"derandomize": True, "database": None})


def test_names_load_wrappers_from_a_factory_an_object_or_a_module_engine():
    assert load_engine(f"{__name__}:DOUBLED").wrapper is DOUBLED
    assert isinstance(load_engine(f"{__name__}:Doubled").wrapper, Doubled)  # a factory (the class)
    assert load_engine(__name__).wrapper is ENGINE  # MODULE alone: its ENGINE
    compiled = load_engine("conformance.engines.compiled:aot_eager")
    assert compiled.module is torch and "aot_eager" in compiled.version
    assert load_engine("conformance.engines.func").wrapper.mode == "vjp"
    assert load_engine("torch").wrapper is None
    with pytest.raises(EngineError):
        load_engine("conformance.engines.compiled:nonexistent")


def test_a_wrong_wrapper_diverges_and_its_reproducer_calls_the_wrapper(tmp_path):
    # 10 examples: the derandomized stream follows the harness's source (Hypothesis digests it); since
    # 2026-12-07 its first 3 are a 0 gradient, an empty output and a 1e-202 gradient, where doubling shows nothing
    session = _session(f"{__name__}:DOUBLED", examples=10)
    with pytest.raises(Divergence):
        check(session, get_spec("tanh"), "float64", "vjp", vjp_trial, nodeid="meta::doubled")
    record = session.recorder.divergences[-1]
    assert "wrapper.wrap(fn)" in record["snippet"]
    script = tmp_path / "repro.py"
    script.write_text(record["snippet"], encoding="utf-8")
    root = str(Path(__file__).resolve().parents[2])  # the engine is this test module: importable from the root
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=root,
                          env=dict(os.environ, PYTHONPATH=root))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "DIVERGES" in done.stdout


def test_ignored_observables_are_not_compared_and_the_wrap_applies_to_the_engine_only():
    session = _session(__name__)
    check(session, get_spec("tanh"), "float64", "forward", forward_trial, nodeid="meta::renamed")
    check(session, get_spec("tanh"), "float64", "vjp", vjp_trial, nodeid="meta::renamed")
    assert session.recorder.divergences == []
    # the control: with grad_fn compared, the same engine differs (IdentityBackward vs TanhBackward0)
    engine = session.engine
    outcome = {"obs": {"out[0].grad_fn": "TanhBackward0", "out[0].value": 1.0}, "error": None}
    assert engine.comparable(outcome)["obs"] == {"out[0].value": 1.0}
    assert load_engine("torch").comparable(outcome) == outcome


def test_skipped_properties_skip_with_the_engines_reason():
    session = _session(f"{__name__}:DOUBLED")
    with pytest.raises(pytest.skip.Exception, match="not a property this test engine runs"):
        check(session, get_spec("tanh"), "float64", "errors", vjp_trial, nodeid="meta::skipped")
