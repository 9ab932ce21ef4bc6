"""Building real divergence records (through the harness) and synthetic record sets for the report tests."""
from __future__ import annotations

import numpy as np

from conformance import programs
from conformance.engines import load_engine
from conformance.examples import tensor_item
from conformance.harness import Session, make_record, run_both
from conformance.verdict import compare_outcomes

PROGRAM = {"forward": programs.program_forward, "vjp": programs.program_vjp,
           "double_backward": programs.program_double_backward}


def tensor(values, dtype="float64", requires_grad=True) -> dict:
    """An input item holding ``values``."""
    return tensor_item(np.asarray(values, dtype=np.float64), dtype, requires_grad)


def divergence(engine: str, op: str, prop: str, fn, inputs: list, extra: dict | None = None,
               kwargs: dict | None = None, tolerances: dict | None = None, dtype: str = "float64") -> dict:
    """The record the harness writes when ``fn`` diverges on ``engine`` (AssertionError if it agrees)."""
    session = Session(engine=load_engine(engine), run_id="test")
    tol = tolerances or {"float64": (1e-7, 1e-7), "float32": (1.3e-6, 1e-5)}
    trial = run_both(session, PROGRAM[prop], fn, inputs, kwargs or {}, extra or {})
    mismatches = compare_outcomes(trial.reference, trial.engine, tol)
    assert mismatches, "the example does not diverge"
    return make_record(session, op, "test", prop, dtype, trial, mismatches, tol)


def cotangent(values) -> dict:
    """A cotangent item (never requires grad)."""
    return tensor(values, requires_grad=False)


def summary(op: str, prop: str, dtype: str, examples: int, status: str, family: str = "fam") -> dict:
    """A summary record (status pass | diverged | expected | error)."""
    return {"record_type": "summary", "run_id": "run1", "op": op, "family": family, "property": prop,
            "dtype": dtype, "examples": examples, "diverged": int(status in ("diverged", "expected")),
            "expected": status == "expected", "status": status, "seconds": 0.1, "nodeid": f"{op}-{prop}-{dtype}",
            "engine": "refgrad", "engine_version": "0.1.0", "torch_version": "2.13.0+cpu"}


def error_divergence(op: str, prop: str, dtype: str, *, expected: str = "", family: str = "fam",
                     divergence_id: str | None = None) -> dict:
    """A synthetic exception-status divergence record in the documented schema (verdict: error-parity)."""
    return {"record_type": "divergence", "run_id": "run1", "divergence_id": divergence_id or f"{op}-{prop}-{dtype}",
            "op": op, "family": family, "property": prop, "dtype": dtype, "scenario": "call", "kind": "status",
            "key": "exception", "mismatches": 1, "details": "status at exception",
            "input_shapes": [[2], None], "input_dtypes": [dtype, "py:int"], "requires_grad": [True, None],
            "kwargs": "{}", "inputs": "[]", "extra": "{}", "reference_outcome": "builtins.RuntimeError: boom",
            "engine_outcome": "no exception", "reference_error_type": "builtins.RuntimeError",
            "reference_error_message": "boom", "engine_error_type": None, "engine_error_message": None,
            "max_abs_err": None, "max_rel_err": None, "rtol": None, "atol": None, "expected": bool(expected),
            "expected_reason": expected, "shrunk": True, "snippet": "raise SystemExit(1)\n", "seed": None,
            "reproduce_failure": None, "nodeid": f"{op}-{prop}-{dtype}", "command": "", "torch_version":
            "2.13.0+cpu", "engine": "refgrad", "engine_version": "0.1.0"}


def write_run(out_dir, summaries: list[dict], divergences: list[dict], pending: list[dict] = ()) -> None:
    """Write a run's files with the real Recorder."""
    from conformance.records import Recorder

    recorder = Recorder(out_dir)
    recorder.write_run({"run_id": "run1", "engine": "refgrad", "engine_version": "0.1.0",
                        "torch_version": "2.13.0+cpu", "profile": "dev", "seed": 0,
                        "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:01:00+00:00"})
    for record in summaries:
        recorder.summary(record)
    for record in divergences:
        recorder.divergence(record)
    for record in pending:
        recorder.pending(record)
