"""The report's arithmetic: cell outcomes, the headline figures, per-property figures, the op x property matrix
and the one-row-per-divergence table.

Definitions (the same words appear in every output):

- A **cell** is one op x property x dtype (one summary record). Its **outcome** is ``pass`` (no divergence),
  ``known`` (diverged, but the spec or the known-divergences file lists it), ``unexpected`` (diverged, not
  listed) or ``error`` (the property run itself failed, e.g. a harness error, before recording any divergence:
  not evaluated).
- **Conformant cells** = (pass + known) / evaluated cells, where evaluated = pass + known + unexpected. This is
  the headline figure ("% conformant"). **Strict** = pass / evaluated (known divergences count against).
- **Examples-weighted** = (examples run - examples that diverged unexpectedly) / examples run, over evaluated
  cells. A cell stops at its first divergence, so at most one example per cell diverges and this figure sits
  close to 100 %; read it as "share of random examples on which the engine matched torch".
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from conformance.records import PROPERTIES as PROPERTY_ORDER
from conformance.report.load import CELL, Run

__all__ = ["cell_outcomes", "headline", "per_property", "matrix", "divergence_table", "OUTCOMES",
           "DIVERGENCE_COLUMNS"]

OUTCOMES = ("pass", "known", "unexpected", "error")
DIVERGENCE_COLUMNS = [
    "divergence_id", "op", "family", "property", "dtype", "scenario", "kind", "key", "mismatches",
    "input_shapes", "input_dtypes", "requires_grad", "kwargs", "reference_outcome", "engine_outcome",
    "reference_error_type", "engine_error_type", "max_abs_err", "max_rel_err", "rtol", "atol", "verdict",
    "verdict_reason", "numerical_verdict", "reproduced", "known", "known_source", "known_reason", "shrunk",
    "reproducer", "command", "nodeid", "details", "snippet",
]


def cell_outcomes(run: Run, divergences: pd.DataFrame) -> pd.DataFrame:
    """The run's cells with an ``outcome`` column; divergences without a summary record (an interrupted run)
    become cells with 0 examples. ``divergences`` must carry the ``known`` column (see known.apply_known)."""
    cells = run.cells.copy()
    known_by_cell: dict[tuple, bool] = {}
    for record in divergences.to_dict("records"):
        cell = tuple(record[c] for c in CELL)
        known_by_cell[cell] = known_by_cell.get(cell, True) and bool(record["known"])
    present = {tuple(row) for row in cells[CELL].itertuples(index=False)} if len(cells) else set()
    extra = []
    for record in divergences.to_dict("records"):
        cell = tuple(record[c] for c in CELL)
        if cell not in present:
            present.add(cell)
            extra.append({"op": record["op"], "family": record.get("family"), "property": record["property"],
                          "dtype": record["dtype"], "examples": 0, "diverged": 1, "expected": record["known"],
                          "status": "diverged", "seconds": None, "nodeid": record.get("nodeid")})
    if extra:
        cells = pd.concat([cells, pd.DataFrame(extra)], ignore_index=True) if len(cells) else pd.DataFrame(extra)
    if not len(cells):
        return pd.DataFrame(columns=CELL + ["family", "examples", "diverged", "status", "outcome"])

    def outcome(row: Any) -> str:
        if row.status == "pass":
            return "pass"
        cell = (row.op, row.property, row.dtype)
        if cell in known_by_cell:  # a recorded divergence decides, even when the run then ended in an error
            return "known" if known_by_cell[cell] else "unexpected"
        if row.status in ("error", "unsupported"):  # unsupported: the engine lacks the API (one "*" cell)
            return "error"
        return "known" if row.status == "expected" else "unexpected"

    cells["outcome"] = [outcome(row) for row in cells.itertuples(index=False)]
    cells["family"] = cells["family"].fillna("")
    cells["examples"] = pd.to_numeric(cells["examples"]).fillna(0).astype(int)
    return cells


def _figures(cells: pd.DataFrame) -> dict[str, Any]:
    counts = {name: int((cells["outcome"] == name).sum()) for name in OUTCOMES}
    evaluated = counts["pass"] + counts["known"] + counts["unexpected"]
    in_scope = cells[cells["outcome"] != "error"]
    examples = int(in_scope["examples"].sum())
    unexpected_examples = counts["unexpected"]  # one diverging example per diverged cell

    def pct(part: float, whole: float) -> float | None:
        return round(100.0 * part / whole, 2) if whole else None

    return {
        "cells": evaluated, "cells_pass": counts["pass"], "cells_known": counts["known"],
        "cells_unexpected": counts["unexpected"], "cells_error": counts["error"],
        "conformant_pct": pct(counts["pass"] + counts["known"], evaluated),
        "strict_pct": pct(counts["pass"], evaluated),
        "examples": examples, "examples_conformant_pct": pct(examples - unexpected_examples, examples),
    }


def headline(cells: pd.DataFrame, divergences: pd.DataFrame) -> dict[str, Any]:
    """The headline figures (see the module docstring) plus divergence counts by verdict."""
    figures = _figures(cells)
    figures["divergences"] = int(len(divergences))
    figures["divergences_unexpected"] = int((~divergences["known"]).sum()) if len(divergences) else 0
    if len(divergences) and "verdict" in divergences:
        figures["verdicts"] = {str(k): int(v) for k, v in divergences["verdict"].value_counts().items()}
    else:
        figures["verdicts"] = {}
    return figures


def _ordered(values: list[str]) -> list[str]:
    known = [p for p in PROPERTY_ORDER if p in values]
    return known + sorted(v for v in values if v not in PROPERTY_ORDER)


def per_property(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per property with the headline figures."""
    rows = [dict(property=prop, **_figures(group)) for prop, group in cells.groupby("property", sort=False)]
    frame = pd.DataFrame(rows)
    if not len(frame):
        return frame
    order = _ordered(list(frame["property"]))
    return frame.set_index("property").loc[order].reset_index()


def matrix(cells: pd.DataFrame) -> pd.DataFrame:
    """Long form of the op x property matrix, aggregated over dtypes: family, op, property, cells, pass,
    known, unexpected, error, examples, rate (= (pass + known) / evaluated; NaN when nothing was evaluated)."""
    rows = []
    for (family, op, prop), group in cells.groupby(["family", "op", "property"], sort=True):
        counts = {name: int((group["outcome"] == name).sum()) for name in OUTCOMES}
        evaluated = counts["pass"] + counts["known"] + counts["unexpected"]
        rows.append({"family": family, "op": op, "property": prop, "cells": len(group), **counts,
                     "examples": int(group["examples"].sum()),
                     "rate": (counts["pass"] + counts["known"]) / evaluated if evaluated else float("nan")})
    return pd.DataFrame(rows, columns=["family", "op", "property", "cells", *OUTCOMES, "examples", "rate"])


def matrix_wide(long: pd.DataFrame, value: str = "rate") -> pd.DataFrame:
    """The matrix as a table: rows (family, op), columns properties in the usual order."""
    if not len(long):
        return pd.DataFrame()
    wide = long.pivot(index=["family", "op"], columns="property", values=value)
    return wide[_ordered(list(wide.columns))]


def _text(value: Any) -> Any:
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value)
    return value


def divergence_table(divergences: pd.DataFrame) -> pd.DataFrame:
    """One row per divergence with the report's columns, unexpected first, then by op/property/dtype."""
    frame = divergences.copy()
    frame["reproducer"] = [f"repro/{i}.py" for i in frame["divergence_id"]] if len(frame) else []
    for column in DIVERGENCE_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame = frame[DIVERGENCE_COLUMNS]
    for column in ("input_shapes", "input_dtypes", "requires_grad"):
        frame[column] = frame[column].map(_text)
    if len(frame):
        frame = frame.sort_values(["known", "op", "property", "dtype", "divergence_id"]).reset_index(drop=True)
    return frame
