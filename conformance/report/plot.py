"""The report's picture (heatmap.png): families x properties, then the divergent ops only x properties.

Readable at normal size: about 25 family rows instead of thousands of op rows. A tile's colour says the worst
outcome in it (green all pass, amber known divergences only, red an unexpected divergence or a harness error,
grey nothing evaluated); its text says how many op x dtype cells were conformant out of those evaluated, and how
many were unexpected (✗) or known (k). The full op x property matrix stays in report.html and summary.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from conformance.report.tables import _ordered

__all__ = ["plot", "family_matrix", "divergent_matrix"]

_COLOURS = {"pass": "#74c476", "known": "#fdd049", "unexpected": "#e34a33", "none": "#dddddd"}
_LEVEL = {"none": 0, "pass": 1, "known": 2, "unexpected": 3}


def _tiles(long: pd.DataFrame, row: str) -> pd.DataFrame:
    """Sum the op x property matrix's counts over ``row`` (family, or op for single ops) and property."""
    counts = ["pass", "known", "unexpected", "error"]
    grouped = long.groupby([row, "property"], sort=True)[counts].sum().reset_index()
    grouped["evaluated"] = grouped["pass"] + grouped["known"] + grouped["unexpected"]
    grouped["worst"] = ["unexpected" if r.unexpected or r.error else "known" if r.known else
                        "pass" if r.evaluated else "none" for r in grouped.itertuples()]
    return grouped


def family_matrix(long: pd.DataFrame) -> pd.DataFrame:
    """One row per (family, property): pass, known, unexpected, error, evaluated and the worst outcome."""
    frame = long.assign(family=long["family"].fillna("").replace("", "(none)"))
    return _tiles(frame, "family")


def divergent_matrix(long: pd.DataFrame) -> pd.DataFrame:
    """Like :func:`family_matrix` for the ops with at least one known or unexpected divergence (or error)."""
    bad = long[(long["known"] + long["unexpected"] + long["error"]) > 0]["op"].unique()
    frame = long[long["op"].isin(bad)]
    frame = frame.assign(op=[f"{op} ({family})" if family else op for op, family in zip(frame["op"], frame["family"])])
    return _tiles(frame, "op") if len(frame) else pd.DataFrame()


def _draw(axes: Any, tiles: pd.DataFrame, row: str, title: str) -> None:
    from matplotlib.patches import Rectangle

    rows = sorted(tiles[row].unique())
    columns = _ordered(list(tiles["property"].unique()))
    for tile in tiles.itertuples():
        y, x = rows.index(getattr(tile, row)), columns.index(tile.property)
        axes.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=_COLOURS[tile.worst], edgecolor="white"))
        text = f"{tile.evaluated - tile.unexpected}/{tile.evaluated}" if tile.evaluated else "-"
        marks = [f"{tile.unexpected}✗"] * bool(tile.unexpected) + [f"{tile.known}k"] * bool(tile.known)
        marks += [f"{tile.error} err"] * bool(tile.error)
        if marks:
            text += "  " + " ".join(marks)
        axes.text(x, y, text, ha="center", va="center", fontsize=8)
    axes.set_xlim(-0.5, len(columns) - 0.5)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.set_xticks(range(len(columns)), columns, fontsize=9)
    axes.xaxis.tick_top()
    axes.set_yticks(range(len(rows)), rows, fontsize=9)
    axes.tick_params(length=0)
    for side in axes.spines.values():
        side.set_visible(False)
    axes.set_title(title, fontsize=10, loc="left", pad=22)


def plot(long: pd.DataFrame, meta: dict, path: str | Path) -> None:
    """Write the picture of ``long`` (the report's op x property matrix, long form) to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    families = family_matrix(long) if len(long) else pd.DataFrame()
    divergent = divergent_matrix(long) if len(long) else pd.DataFrame()
    family_rows = families["family"].nunique() if len(families) else 1
    op_rows = divergent["op"].nunique() if len(divergent) else 1
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 2.4 + 0.3 * (family_rows + op_rows)),
        gridspec_kw={"height_ratios": [family_rows + 1.5, op_rows + 1.5]})
    title = f"{meta.get('engine')} {meta.get('engine_version')} vs torch {meta.get('torch_version')}"
    if len(families):
        _draw(top, families, "family", f"{title}: conformant op x dtype cells / evaluated, by family")
    else:
        top.text(0.5, 0.5, "no cells", ha="center", va="center")
        top.set_axis_off()
    if len(divergent):
        _draw(bottom, divergent, "op", "ops with a divergence (✗ unexpected, k known)")
    else:
        bottom.text(0.5, 0.5, "no op diverged", ha="center", va="center")
        bottom.set_axis_off()
    legend = [Patch(color=_COLOURS[name], label=label) for name, label in
              (("pass", "all pass"), ("known", "known divergences only"), ("unexpected", "unexpected or error"),
               ("none", "not evaluated"))]
    figure.legend(handles=legend, loc="lower center", ncol=4, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path, dpi=100)
    plt.close(figure)
