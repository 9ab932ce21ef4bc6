"""Records of a conformance run: flat JSON lines, appended and flushed as they are found.

Files in the output directory (``--out DIR`` / ``--conformance-out DIR``):

``divergences.jsonl``  one line per divergence, with the *shrunk* example (fields: :data:`DIVERGENCE_FIELDS`).
``pending.jsonl``      the first (unshrunk) example of each divergence, written the moment it is found, so an
                       interrupted run still keeps it; entries superseded by a shrunk record are removed at the
                       end of a clean run.
``summary.jsonl``      one line per op x property x dtype (fields: :data:`SUMMARY_FIELDS`).
``run.json``           engine, versions, seed, profile, command line, start and end time.

Divergence fields (all flat; lists hold one entry per input):

- record_type "divergence"; run_id; time (ISO 8601); divergence_id (stable hash of op/property/dtype/kind/key)
- op, family, property, dtype, scenario (errors: the misuse scenario; graph_state: the step)
- kind: status | exception_type | message | value | dtype | shape | requires_grad | is_leaf | grad_fn |
  missing | metadata (of the first mismatch); key: the observable (``out[0].value``, ``grad[1]``, ``x0.grad``)
- mismatches (count), details (one line per mismatch)
- input_shapes (list, None for Python scalars), input_dtypes (dtype names, or ``py:float``...), requires_grad
- kwargs, inputs, extra: Python literals (``nan``/``inf`` as names) of the minimal example
- reference_outcome, engine_outcome: text of the first mismatch on each side
- reference_error_type, reference_error_message, engine_error_type, engine_error_message (None if no raise)
- max_abs_err, max_rel_err, rtol, atol: of the first value mismatch (None otherwise)
- expected (bool), expected_reason: the spec lists this divergence as known
- shrunk (bool): True in divergences.jsonl, False in pending.jsonl, and in divergences.jsonl for a flaky
  divergence (its example did not diverge again when Hypothesis replayed it; ``details`` ends saying so)
- snippet: standalone Python reproducer (needs only torch and the engine)
- seed (Hypothesis seed of the run, None if not forced), reproduce_failure (``@reproduce_failure`` blob text),
  nodeid (pytest id), command (CLI line re-running the same op/property/dtype; the Hypothesis database replays
  the failure first, or append ``--reproduce "<reproduce_failure>"`` to replay exactly that example)
- torch_version, engine, engine_version

Summary fields: record_type "summary", run_id, op, family, property, dtype, examples (run before the first
divergence, shrinking excluded), diverged (0/1), expected (bool), status (pass | diverged | flaky | expected | error |
unsupported: the engine lacks the property's API, one record with op/dtype "*", the reason in nodeid), seconds, nodeid,
engine, engine_version, torch_version.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["PROPERTIES", "OPT_IN", "DEFAULT_PROPERTIES", "DIVERGENCE_FIELDS", "SUMMARY_FIELDS", "Recorder",
           "read_jsonl", "OutputDirError", "divergence_record"]

#: Every property, in the report's column order (each is ``conformance/properties/test_<name>.py``).
PROPERTIES = ("forward", "vjp", "double_backward", "jvp", "func", "errors", "graph_state", "training")
#: Properties that run only when named (``--properties`` / ``--conformance-properties``), with the reason.
OPT_IN = {
    "jvp": "cost (2026-12-07): a jvp+func dev run (1978 cells, ~3,350 examples, one process) takes 37-66 CPU-s, median "
           "46, against the default run's 248 cell-seconds (reference run, seed 2501): ~18 %, which would take `tox -e "
           "report` from ~3 min 6 s to ~3 min 33 s on 2 cores, over its ~3 min budget. Reliability is no longer the "
           "reason: dev seeds 110-136 (90,600 examples) gave 18 clean runs and 9 with 1-3 new cells each, every one "
           "fixed in refgrad (scatter_reduce amax/amin and prod, group_norm; seed 109: addmv, einsum) or listed with "
           "its evidence (torch artifacts and rounding at extreme or non-finite inputs); default runs: 2 of 4 seeds",
    "func": "kept opt-in with jvp (one decision for forward mode; func is ~40 % of the cost above); its cells were "
            "clean in those runs apart from known torch bugs (det at singular matrices, cond's norms, scatter_reduce "
            "prod)",
}
#: What a run without a property selection runs.
DEFAULT_PROPERTIES = tuple(name for name in PROPERTIES if name not in OPT_IN)

DIVERGENCE_FIELDS = (
    "record_type", "run_id", "time", "divergence_id", "op", "family", "property", "dtype", "scenario", "kind",
    "key", "mismatches", "details", "input_shapes", "input_dtypes", "requires_grad", "kwargs", "inputs",
    "extra", "reference_outcome", "engine_outcome", "reference_error_type", "reference_error_message",
    "engine_error_type", "engine_error_message", "max_abs_err", "max_rel_err", "rtol", "atol", "expected",
    "expected_reason", "shrunk", "snippet", "seed", "reproduce_failure", "nodeid", "command", "torch_version",
    "engine", "engine_version",
)
SUMMARY_FIELDS = (
    "record_type", "run_id", "op", "family", "property", "dtype", "examples", "diverged", "expected", "status",
    "seconds", "nodeid", "engine", "engine_version", "torch_version", "noise", "noise_example",
)
DIVERGENCES, PENDING, SUMMARY, RUN = "divergences.jsonl", "pending.jsonl", "summary.jsonl", "run.json"


class OutputDirError(Exception):
    """The output directory cannot be created or written."""


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # strict JSON has no NaN/inf
    return value


def _line(record: dict[str, Any]) -> str:
    return json.dumps({k: _clean(v) for k, v in record.items()}, default=repr, allow_nan=False) + "\n"


def divergence_record(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` as a divergence record: exactly :data:`DIVERGENCE_FIELDS`, in order (missing ones None)."""
    return {field: fields.get(field) for field in DIVERGENCE_FIELDS}


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All records of a JSON-lines file (empty list if it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@contextlib.contextmanager
def _locked(path: Path, mode: str) -> Iterator[Any]:
    with path.open(mode, encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # pytest-xdist workers share the files
        try:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Recorder:
    """Collects records in memory (``divergences``, ``summaries``) and, with ``out_dir``, appends them to files."""

    def __init__(self, out_dir: str | os.PathLike | None = None) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.divergences: list[dict[str, Any]] = []
        self.summaries: list[dict[str, Any]] = []
        if self.out_dir is not None:
            check_writable(self.out_dir)

    def _append(self, name: str, record: dict[str, Any]) -> None:
        if self.out_dir is not None:
            with _locked(self.out_dir / name, "a") as handle:
                handle.write(_line(record))

    def pending(self, record: dict[str, Any]) -> None:
        """Save the first, unshrunk example of a divergence right away."""
        self._append(PENDING, dict(record, shrunk=False))

    def divergence(self, record: dict[str, Any]) -> None:
        """Save a final (shrunk) divergence record."""
        record = divergence_record(record)
        self.divergences.append(record)
        self._append(DIVERGENCES, record)

    def summary(self, record: dict[str, Any]) -> None:
        """Save the per op x property x dtype counts."""
        record = {field: record.get(field) for field in SUMMARY_FIELDS}
        self.summaries.append(record)
        self._append(SUMMARY, record)

    def write_run(self, info: dict[str, Any]) -> None:
        """Write (overwrite) run.json."""
        if self.out_dir is not None:
            (self.out_dir / RUN).write_text(json.dumps(info, indent=2, default=repr) + "\n", encoding="utf-8")

    def prune_pending(self) -> None:
        """Drop pending entries whose shrunk record exists; delete the file when nothing is left."""
        if self.out_dir is None or not (self.out_dir / PENDING).exists():
            return
        done = {r.get("nodeid") for r in read_jsonl(self.out_dir / DIVERGENCES)}
        left = [r for r in read_jsonl(self.out_dir / PENDING) if r.get("nodeid") not in done]
        if left:
            with _locked(self.out_dir / PENDING, "w") as handle:
                handle.writelines(_line(r) for r in left)
        else:
            (self.out_dir / PENDING).unlink()


def check_writable(out_dir: Path) -> None:
    """Create ``out_dir`` if needed; OutputDirError when it cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{os.getpid()}"  # per process: xdist workers probe at the same time
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as error:
        raise OutputDirError(f"output directory {str(out_dir)!r} is not writable: {error.strerror or error}") \
            from None
