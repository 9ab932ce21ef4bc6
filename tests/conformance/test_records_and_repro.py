"""Records (schema, files, pending pruning), programs, source extraction and standalone reproducers."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conformance import programs
from conformance.engines import EngineError, load_engine, reference
from conformance.harness import ExampleTimeout, Session, make_record, run_both, time_limit, tolerances
from conformance.records import DIVERGENCE_FIELDS, SUMMARY_FIELDS, OutputDirError, Recorder, read_jsonl
from conformance.source import function_source
from conformance.specs import get_spec

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "tests.conformance.broken_engines"
EXP_INPUT = [{"kind": "tensor", "data": [0.5, -1.0], "shape": [2], "dtype": "float64", "requires_grad": True}]
EXP_EXTRA = {"cotangents": [{"kind": "tensor", "data": [1.0, 2.0], "shape": [2], "dtype": "float64",
                             "requires_grad": False}]}


def exp_trial(engine_name):
    session = Session(engine=load_engine(engine_name))
    spec = get_spec("exp")
    trial = run_both(session, programs.program_vjp, spec.fn, EXP_INPUT, {}, EXP_EXTRA)
    return session, spec, trial


def test_execute_records_exception_type_base_and_step():
    def program(t, fn, inputs, kwargs, extra, obs):
        obs["_step"] = "forward"
        raise IndexError("out of range")
    outcome = programs.execute(torch, program, None, [], {}, {})
    assert outcome["error"] == {"type": "builtins.IndexError", "base": "IndexError", "message": "out of range",
                                "step": "forward"}


def test_observe_records_every_observable():
    obs = {}
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    programs.observe(torch, obs, "y", x * 2)
    assert obs["y.shape"] == (2,) and obs["y.dtype"] == "torch.float32" and obs["y.grad_fn"] == "MulBackward0"
    assert obs["y.requires_grad"] is True and obs["y.is_leaf"] is False
    np.testing.assert_array_equal(obs["y.value"], [2.0, 4.0])
    programs.observe(torch, obs, "none", None)
    assert obs["none"] is None


def test_time_limit_interrupts_a_hang():
    with pytest.raises(ExampleTimeout):
        with time_limit(0.05):
            while True:
                pass


def test_function_source_of_lambdas_defs_and_generated_functions():
    def double(t, x):
        return x * 2
    assert function_source(get_spec("exp").fn) == "fn = lambda t, *inputs, **kwargs: t.exp(*inputs, **kwargs)"
    assert function_source(get_spec("sum.dim").fn) == "fn = lambda t, x, **kw: t.sum(x, **kw)"
    assert function_source(double, "op").startswith("def op(t, x):")


def test_records_are_flat_and_complete(tmp_path):
    session, spec, trial = exp_trial(f"{BROKEN}:exp_vjp_scaled")
    from conformance.verdict import compare_outcomes
    tol = tolerances(spec)
    mismatches = compare_outcomes(trial.reference, trial.engine, tol)
    record = make_record(session, "exp", "tutorial", "vjp", "float64", trial, mismatches, tol, nodeid="n")
    recorder = Recorder(tmp_path)
    recorder.pending(record)
    recorder.divergence(dict(record, shrunk=True))
    recorder.summary({"op": "exp", "property": "vjp", "examples": 3, "diverged": 1})
    (line,) = read_jsonl(tmp_path / "divergences.jsonl")
    assert tuple(line) == DIVERGENCE_FIELDS
    assert all(not isinstance(v, dict) for v in line.values())
    assert line["kind"] == "value" and line["key"] == "grad[0].value"
    assert line["max_rel_err"] == pytest.approx(0.01) and line["rtol"] == 1e-7
    assert line["torch_version"] == torch.__version__ and line["engine_version"].endswith("exp_vjp_scaled")
    assert line["input_shapes"] == [[2]] and line["requires_grad"] == [True]
    assert tuple(read_jsonl(tmp_path / "summary.jsonl")[0]) == SUMMARY_FIELDS
    recorder.prune_pending()
    assert not (tmp_path / "pending.jsonl").exists()


def test_pending_records_survive_when_no_shrunk_record_exists(tmp_path):
    recorder = Recorder(tmp_path)
    recorder.pending({"nodeid": "interrupted", "op": "exp"})
    recorder.prune_pending()
    assert read_jsonl(tmp_path / "pending.jsonl")[0]["shrunk"] is False


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputDirError, match="not writable"):
        Recorder(blocker / "sub")


def run_snippet(tmp_path, text):
    path = tmp_path / "repro.py"
    path.write_text(text)
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_snippet_reproduces_the_divergence_standalone(tmp_path):
    session, spec, trial = exp_trial(f"{BROKEN}:exp_vjp_scaled")
    from conformance.verdict import compare_outcomes
    mismatches = compare_outcomes(trial.reference, trial.engine, tolerances(spec))
    record = make_record(session, "exp", "tutorial", "vjp", "float64", trial, mismatches, tolerances(spec))
    assert not re.search(r"^\s*(from|import) conformance", record["snippet"], re.M)
    result = run_snippet(tmp_path, record["snippet"])
    assert result.returncode == 1, result.stderr
    assert "value at grad[0].value" in result.stdout and "DIVERGES" in result.stdout


def test_engine_loading():
    assert load_engine("torch").module is torch and reference().version == torch.__version__
    assert load_engine(f"{BROKEN}:exp_vjp_scaled").name.endswith("exp_vjp_scaled")
    with pytest.raises(EngineError, match="cannot import engine"):
        load_engine("no_such_engine_module")
    with pytest.raises(EngineError, match="has no attribute"):
        load_engine(f"{BROKEN}:nope")
    with pytest.raises(EngineError, match="does not expose torch's API"):
        load_engine(f"{BROKEN}:missing_api")


def test_environment_variable_names_the_default_engine(monkeypatch):
    monkeypatch.setenv("CONFORMANCE_ENGINE", "torch")
    assert load_engine().name == "torch"


def test_records_json_has_no_nan_tokens(tmp_path):
    Recorder(tmp_path).divergence({"max_abs_err": float("nan"), "max_rel_err": float("inf")})
    text = (tmp_path / "divergences.jsonl").read_text()
    assert "NaN" not in text and json.loads(text)["max_abs_err"] == "nan"
