"""Reading a run's output directory (see :mod:`conformance.records`) into pandas DataFrames.

``load_run(out_dir)`` returns a :class:`Run`: ``info`` (run.json), ``cells`` (summary.jsonl, one row per
op x property x dtype, latest record wins) and ``divergences`` (divergences.jsonl, plus pending.jsonl entries
of an interrupted run that never got a shrunk record, flagged ``shrunk=False``).
"""
from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from conformance.records import DIVERGENCE_FIELDS, DIVERGENCES, PENDING, RUN, SUMMARY, SUMMARY_FIELDS, read_jsonl

__all__ = ["Run", "RunDirError", "load_run", "parse_literal", "find_record", "CELL", "number"]

#: The columns that identify one cell of the matrix.
CELL = ["op", "property", "dtype"]
_NUMERIC = ("max_abs_err", "max_rel_err", "rtol", "atol")
_NAMES = {"nan": math.nan, "inf": math.inf}


class RunDirError(Exception):
    """The directory holds no conformance records (or they cannot be read)."""


@dataclass
class Run:
    """The records of one run: ``info`` (run.json), ``cells`` and ``divergences`` DataFrames."""

    out_dir: Path
    info: dict[str, Any]
    cells: pd.DataFrame
    divergences: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def torch_version(self) -> str:
        """The pinned torch version the run compared against."""
        return str(self.info.get("torch_version") or _first(self.cells, "torch_version") or "unknown")

    @property
    def engine(self) -> str:
        """The engine's name as given to the run (``refgrad``, ``module:attribute``)."""
        return str(self.info.get("engine") or _first(self.cells, "engine") or "unknown")

    @property
    def engine_version(self) -> str:
        """The engine's version string."""
        return str(self.info.get("engine_version") or _first(self.cells, "engine_version") or "unknown")


def _first(frame: pd.DataFrame, column: str) -> Any:
    if column in frame and len(frame):
        values = frame[column].dropna()
        return values.iloc[0] if len(values) else None
    return None


def number(value: Any) -> float | None:
    """A float from a record's numeric field (records store NaN/inf as the strings ``'nan'``/``'inf'``)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class _Literal(ast.NodeTransformer):
    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _NAMES:
            return ast.copy_location(ast.Constant(_NAMES[node.id]), node)
        raise ValueError(f"unexpected name {node.id!r} in a record literal")

    def visit_Call(self, node: ast.Call) -> ast.AST:
        """``complex(re, im)``, the form records use for complex values (conformance.repro)."""
        if isinstance(node.func, ast.Name) and node.func.id == "complex" and len(node.args) == 2 and not node.keywords:
            parts = [ast.literal_eval(ast.fix_missing_locations(self.visit(arg))) for arg in node.args]
            return ast.copy_location(ast.Constant(complex(*parts)), node)
        raise ValueError(f"unexpected call {ast.unparse(node)!r} in a record literal")


def parse_literal(text: Any) -> Any:
    """The value of a record's ``inputs``/``kwargs``/``extra`` field: a Python literal in which ``nan`` and
    ``inf`` appear as names and complex numbers as ``complex(re, im)``. Non-strings are returned unchanged;
    ValueError on anything else."""
    if not isinstance(text, str):
        return text
    tree = _Literal().visit(ast.parse(text, mode="eval"))
    return ast.literal_eval(ast.fix_missing_locations(tree))


def _frame(records: list[dict[str, Any]], fields: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(fields)) if records else pd.DataFrame(
        columns=list(fields))
    return frame.astype(object).where(frame.notna(), None) if len(frame) else frame


def _latest_run(records: list[dict[str, Any]], run_id: str | None) -> list[dict[str, Any]]:
    if run_id and any(r.get("run_id") == run_id for r in records):
        return [r for r in records if r.get("run_id") == run_id]
    return records


def load_run(out_dir: str | Path) -> Run:
    """Load a run's output directory. RunDirError when it has neither summary.jsonl nor divergences.jsonl.

    Records of other run ids (a reused directory) are dropped when run.json names the run; a cell recorded
    twice keeps its last record."""
    out_dir = Path(out_dir)
    files = [out_dir / name for name in (SUMMARY, DIVERGENCES, PENDING)]
    if not out_dir.is_dir() or not any(path.exists() for path in files):
        raise RunDirError(f"{str(out_dir)!r} holds no conformance records ({SUMMARY}, {DIVERGENCES})")
    notes: list[str] = []
    try:
        info = json.loads((out_dir / RUN).read_text(encoding="utf-8")) if (out_dir / RUN).exists() else {}
        summaries = read_jsonl(out_dir / SUMMARY)
        shrunk = read_jsonl(out_dir / DIVERGENCES)
        pending = read_jsonl(out_dir / PENDING)
    except (OSError, json.JSONDecodeError) as error:
        raise RunDirError(f"cannot read records in {str(out_dir)!r}: {error}") from None
    if not info:
        notes.append(f"{RUN} is missing: versions are taken from the records")
    run_id = info.get("run_id")
    summaries, shrunk, pending = (_latest_run(r, run_id) for r in (summaries, shrunk, pending))

    cells = _frame(summaries, SUMMARY_FIELDS)
    if len(cells):
        cells = cells.drop_duplicates(subset=CELL, keep="last").reset_index(drop=True)
        cells["examples"] = pd.to_numeric(cells["examples"]).fillna(0).astype(int)
        cells["diverged"] = pd.to_numeric(cells["diverged"]).fillna(0).astype(int)
        cells["noise"] = pd.to_numeric(cells["noise"]).fillna(0).astype(int)  # absent before 2026-12-07
        cells["noise_example"] = cells["noise_example"].fillna("")

    done = {r.get("nodeid") for r in shrunk}
    unfinished = [dict(r, shrunk=False) for r in pending if r.get("nodeid") not in done]
    if unfinished:
        notes.append(f"{len(unfinished)} divergence(s) come from {PENDING} (run interrupted before shrinking)")
    divergences = _frame(shrunk + unfinished, DIVERGENCE_FIELDS)
    if len(divergences):
        divergences = divergences.drop_duplicates(subset=["divergence_id"], keep="first").reset_index(drop=True)
        for column in _NUMERIC:
            divergences[column] = [number(v) for v in divergences[column]]
        divergences["expected"] = divergences["expected"].fillna(False).astype(bool)
    return Run(out_dir, info, cells, divergences, notes)


def find_record(out_dir: str | Path, record_id: str) -> dict[str, Any]:
    """The divergence record whose divergence_id is ``record_id`` (or starts with it, if unambiguous).

    Raises RunDirError when the directory has no records, KeyError when no or several records match."""
    run = load_run(out_dir)
    ids = list(run.divergences["divergence_id"]) if len(run.divergences) else []
    matches = [i for i in ids if i == record_id] or [i for i in ids if str(i).startswith(record_id)]
    if len(matches) != 1:
        what = "no divergence" if not matches else f"{len(matches)} divergences"
        raise KeyError(f"{what} with id {record_id!r} in {str(out_dir)!r}")
    row = run.divergences[run.divergences["divergence_id"] == matches[0]].iloc[0]
    return {k: (None if _missing(v) else v) for k, v in row.to_dict().items()}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
