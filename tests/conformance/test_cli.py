"""The CLI (python -m conformance) and the pytest plugin, end to end in subprocesses."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main, plugin_is_installed
from conformance.records import DIVERGENCE_FIELDS, read_jsonl

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "tests.conformance.broken_engines"


def run(*args, cwd=ROOT, module=("-m", "conformance"), env=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    env.pop("CONFORMANCE_ENGINE", None)
    return subprocess.run([sys.executable, *module, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=600)


def test_list_shows_every_spec():
    result = run("list")
    assert result.returncode == 0
    assert "binary_cross_entropy_with_logits" in result.stdout and "graph_state" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--engine", "no_such_engine"], "cannot import engine"),
    (["run", "--engine", "torch", "--ops", "tanhh"], "unknown op: tanhh"),
    (["run", "--engine", "torch", "--properties", "vjpp"], "unknown property: vjpp"),
    (["run", "--engine", "torch", "--profile", "weekly"], "unknown profile: weekly"),
    (["run", "--engine", "torch", "--out", "/proc/forbidden"], "not writable"),
    (["run", "--engine", "torch", "--max-examples", "0"], "at least 1"),
    (["run", "--engine", "torch", "--ops", "eq", "--properties", "vjp"], "nothing to run"),
    (["run", "--seed", "x"], "invalid int value"),
    (["fly"], "invalid choice"),
    (["run", "--engine", "torch", "--reproduce", "@reproduce_failure('6', b'')"], "needs --ops"),
    (["run", "--engine", "torch", "--reproduce", "nonsense"], "--reproduce"),
    (["run", "--engine", "torch", "--dtypes", "float8"], "unknown dtype: float8"),
    (["run", "--engine", "torch", "--family", "nope"], "unknown family: nope"),
    (["run", "--engine", "torch", "--max-divergences", "0"], "at least 1"),
])
def test_bad_usage_exits_2_with_one_line(args, message, capsys, monkeypatch):
    monkeypatch.delenv("CONFORMANCE_ENGINE", raising=False)
    assert main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], captured.err
    assert captured.out == ""


def test_bad_usage_from_the_command_line():
    result = run("run", "--engine", "no_such_engine")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and not result.stdout


def test_run_against_torch_finds_nothing(tmp_path):
    result = run("run", "--engine", "torch", "--ops", "exp,sum.dim,graph_state", "--max-examples", "3",
                 "--seed", "7", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = read_jsonl(tmp_path / "summary.jsonl")
    # the default selection leaves the opt-in properties (jvp, func) out
    assert {r["property"] for r in summary} == {"forward", "vjp", "double_backward", "errors", "graph_state"}
    assert all(r["status"] == "pass" and r["examples"] >= 1 for r in summary)
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["engine"] == "torch" and info["seed"] == "7" and info["unexpected_divergences"] == 0
    assert not (tmp_path / "divergences.jsonl").exists()


@pytest.mark.parametrize(("properties", "expected"), [
    ("jvp,func", {"jvp", "func"}),
    ("all", {"forward", "vjp", "double_backward", "jvp", "func", "errors"}),  # `all` takes the opt-in ones too
])
def test_opt_in_properties_run_when_named(tmp_path, properties, expected):
    result = run("run", "--engine", "torch", "--ops", "exp", "--properties", properties, "--max-examples", "3",
                 "--seed", "7", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = read_jsonl(tmp_path / "summary.jsonl")
    assert {r["property"] for r in summary} == expected
    assert all(r["status"] == "pass" and r["examples"] >= 1 for r in summary)


def test_run_against_a_broken_engine_exits_1_with_records(tmp_path):
    result = run("run", "--engine", f"{BROKEN}:exp_vjp_scaled", "--ops", "exp", "--properties", "vjp,forward",
                 "--dtypes", "float64",
                 "--max-examples", "20", "--out", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DIVERGED exp / vjp" in result.stdout
    records = read_jsonl(tmp_path / "divergences.jsonl")
    assert {r["property"] for r in records} == {"vjp"}
    assert all(tuple(r) == DIVERGENCE_FIELDS and r["shrunk"] for r in records)
    assert not (tmp_path / "pending.jsonl").exists()
    snippet = tmp_path / "repro.py"
    snippet.write_text(records[0]["snippet"])
    replay = run(str(snippet), module=())
    assert replay.returncode == 1 and "DIVERGES" in replay.stdout
    # the record's command plus its blob replays exactly the shrunk example
    command = records[0]["command"].split()[3:] + ["--out", str(tmp_path / "again"),
                                                    "--reproduce", records[0]["reproduce_failure"]]
    again = run(*command)
    assert again.returncode == 1, again.stdout + again.stderr
    (summary,) = read_jsonl(tmp_path / "again" / "summary.jsonl")
    assert summary["examples"] == 1 and summary["diverged"] == 1


def test_pytest_plugin_runs_the_properties_from_another_directory(tmp_path):
    plugin = [] if plugin_is_installed() else ["-p", "conformance.plugin"]  # the pytest11 entry point loads it
    result = run("--pyargs", "conformance.properties", *plugin, "--engine", "torch",
                 "--conformance-ops", "exp", "--conformance-max-examples", "2", "-q", "-p", "no:cacheprovider",
                 cwd=tmp_path, module=("-m", "pytest"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_max_divergences_stops_early_and_progress_prints_each_divergence_when_found(tmp_path):
    # every VJP of this engine is wrong (the supplied cotangent is ignored); ~10 s
    result = run("run", "--engine", f"{BROKEN}:grad_ignores_cotangent", "--family", "tutorial", "--properties", "vjp",
                 "--dtypes", "float64", "--max-examples", "5", "--max-divergences", "2", "--out", str(tmp_path),
                 env={"PYTHONHASHSEED": "123"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(read_jsonl(tmp_path / "divergences.jsonl")) == 2  # stopped after the second
    assert "divergence 1: " in result.stderr and ("(shrinking)" in result.stderr or "(shrunk)" in result.stderr)
    assert "progress: " in result.stderr and "cells" in result.stderr
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["python_hash_seed"] == "0"  # the CLI re-executed itself with a fixed hash seed


def test_console_script_is_declared():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["conformance"] == "conformance.__main__:entry"
    from conformance.__main__ import entry
    assert callable(entry)


def test_only_the_first_divergence_of_a_root_cause_gets_the_full_shrink_budget(monkeypatch):
    from hypothesis.internal.conjecture import engine as hypothesis_engine
    monkeypatch.setattr(hypothesis_engine, "MAX_SHRINKING_SECONDS", hypothesis_engine.MAX_SHRINKING_SECONDS)

    from conformance.engines import load_engine
    from conformance.harness import Session, Tracker, root_cause
    session = Session(engine=load_engine("torch"), shrink_seconds=30.0, repeat_shrink_seconds=0.5)
    first = {"property": "vjp", "kind": "value", "key": "grad[0].value", "details": "", "snippet": ""}
    assert root_cause(first) == root_cause(dict(first, key="grad[2].value")) != root_cause(dict(first, kind="dtype"))
    budgets = []
    for record in (first, dict(first, key="grad[1].value"), dict(first, property="double_backward")):
        tracker = Tracker(session)
        tracker.divergence(record)
        budgets.append((tracker.shrink_budget, hypothesis_engine.MAX_SHRINKING_SECONDS))
    assert budgets == [(30.0, 30.0), (0.5, 0.5), (30.0, 30.0)]
