"""Comparing two runs (or two reports): what newly diverges and what was fixed, by divergence_id and by
op/property/dtype cell, with both runs' engine and torch versions."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from conformance.report.load import CELL, RunDirError, load_run
from conformance.report.render import markdown_table

__all__ = ["Side", "load_side", "compare", "RunDiff"]


@dataclass
class Side:
    """One side of a diff: versions, its divergences and its cells (op, property, dtype, diverged)."""

    path: Path
    meta: dict[str, Any]
    divergences: pd.DataFrame
    cells: pd.DataFrame


def load_side(path: str | Path) -> Side:
    """A records directory (divergences.jsonl...) or a report directory (report.json). RunDirError else."""
    path = Path(path)
    if (path / "report.json").exists() and not (path / "summary.jsonl").exists():
        data = json.loads((path / "report.json").read_text(encoding="utf-8"))
        divergences = pd.DataFrame(data["divergences"])
        if not len(divergences):
            divergences = pd.DataFrame(columns=["divergence_id", *CELL, "kind", "key", "known"])
        cells = pd.read_parquet(path / "cells.parquet") if (path / "cells.parquet").exists() else \
            pd.DataFrame(columns=CELL)
        return Side(path, data["meta"], divergences, cells)
    run = load_run(path)
    meta = {"engine": run.engine, "engine_version": run.engine_version, "torch_version": run.torch_version,
            "run_id": run.info.get("run_id")}
    divergences = run.divergences.copy()
    if "known" not in divergences:
        divergences["known"] = divergences["expected"] if len(divergences) else []
    return Side(path, meta, divergences, run.cells)


@dataclass
class RunDiff:
    """The differences between an old and a new side."""

    old: Side
    new: Side
    new_divergences: pd.DataFrame
    fixed_divergences: pd.DataFrame
    persisting: pd.DataFrame
    new_cells: pd.DataFrame
    fixed_cells: pd.DataFrame
    not_rerun: pd.DataFrame

    def markdown(self) -> str:
        """The diff as markdown (what `python -m conformance diff` prints)."""
        columns = ["divergence_id", "op", "property", "dtype", "kind", "key"]

        def version(side: Side) -> str:
            meta = side.meta
            return (f"`{side.path}`: {meta.get('engine')} {meta.get('engine_version')} vs torch "
                    f"{meta.get('torch_version')} (run {meta.get('run_id')})")

        return "\n".join([
            "# Conformance diff", "", f"- old: {version(self.old)}", f"- new: {version(self.new)}", "",
            f"## Newly diverging ({len(self.new_divergences)})", "", markdown_table(self.new_divergences, columns),
            f"## Fixed ({len(self.fixed_divergences)})", "", markdown_table(self.fixed_divergences, columns),
            f"## Still diverging ({len(self.persisting)})", "", markdown_table(self.persisting, columns),
            "## By cell (op / property / dtype)", "",
            f"Newly diverging cells ({len(self.new_cells)}):", "", markdown_table(self.new_cells, CELL),
            f"Fixed cells: diverged before, ran clean now ({len(self.fixed_cells)}):", "",
            markdown_table(self.fixed_cells, CELL),
            f"Diverged before but not run now ({len(self.not_rerun)}):", "", markdown_table(self.not_rerun, CELL),
        ])


def _cells(frame: pd.DataFrame) -> set[tuple]:
    return {tuple(r) for r in frame[CELL].itertuples(index=False)} if len(frame) else set()


def _frame(cells: set[tuple]) -> pd.DataFrame:
    return pd.DataFrame(sorted(cells), columns=CELL)


def compare(old: Side, new: Side) -> RunDiff:
    """Divergences new in ``new``, fixed since ``old`` (keyed by divergence_id) and the same by cell: a cell
    is fixed only when ``new`` ran it without divergence; cells ``new`` did not run are listed apart."""
    old_ids, new_ids = set(old.divergences["divergence_id"]), set(new.divergences["divergence_id"])
    new_div = new.divergences[new.divergences["divergence_id"].isin(new_ids - old_ids)]
    fixed_div = old.divergences[old.divergences["divergence_id"].isin(old_ids - new_ids)]
    persisting = new.divergences[new.divergences["divergence_id"].isin(new_ids & old_ids)]
    old_bad, new_bad = _cells(old.divergences), _cells(new.divergences)
    new_ran = _cells(new.cells) | new_bad
    fixed_cells = {c for c in old_bad - new_bad if c in new_ran}
    not_rerun = {c for c in old_bad - new_bad if c not in new_ran}
    return RunDiff(old, new, new_div.reset_index(drop=True), fixed_div.reset_index(drop=True),
                   persisting.reset_index(drop=True), _frame(new_bad - old_bad), _frame(fixed_cells),
                   _frame(not_rerun))


__all__ += ["RunDirError"]
