"""Writing a report directory: summary.md, report.html, divergences.csv, report.json, cells.parquet,
divergences.parquet, heatmap.png and one standalone reproducer per divergence (repro/<id>.py).

:func:`headline_markdown` renders the headline block (for the project README) from a written report.
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from conformance.report.tables import OUTCOMES, matrix_wide

__all__ = ["Report", "write_report", "headline_markdown", "headline_block", "markdown_table", "FILES"]

FILES = ("summary.md", "report.html", "divergences.csv", "report.json", "cells.parquet", "divergences.parquet",
         "heatmap.png")
_CSV_DROP = ("snippet", "details")


@dataclass
class Report:
    """Everything a report shows: meta (versions, run), headline, per-property, matrix, divergences, cells."""

    meta: dict[str, Any]
    headline: dict[str, Any]
    per_property: pd.DataFrame
    matrix: pd.DataFrame
    divergences: pd.DataFrame
    cells: pd.DataFrame
    stale: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---- small formatting helpers ------------------------------------------------------------------------------

def _pct(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f} %"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def markdown_table(frame: pd.DataFrame, columns: list[str] | None = None) -> str:
    """A GitHub-flavoured markdown table of ``frame`` (pipes and newlines escaped)."""
    columns = columns or [str(c) for c in frame.columns]
    if not len(frame):
        return "_(none)_\n"
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in frame[columns].itertuples(index=False):
        cells = [_cell(v).replace("|", "\\|").replace("\n", " ") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _json_safe(value.item())
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [_json_safe(r) for r in frame.astype(object).where(frame.notna(), None).to_dict("records")]


# ---- headline ----------------------------------------------------------------------------------------------

def headline_block(meta: dict[str, Any], figures: dict[str, Any]) -> str:
    """Markdown for the headline figures (what the project README shows)."""
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(figures.get("verdicts", {}).items())) or "none"
    return "\n".join([
        f"**{meta['engine']} {meta['engine_version']} vs torch {meta['torch_version']}** "
        f"(run `{meta.get('run_id') or '?'}`, {meta.get('finished') or meta.get('generated')}, "
        f"profile {meta.get('profile') or '?'})",
        "",
        f"- **{_pct(figures['conformant_pct'])} conformant**: {figures['cells_pass'] + figures['cells_known']} of "
        f"{figures['cells']} op x property x dtype cells show no unexpected divergence "
        f"({figures['cells_pass']} pass, {figures['cells_known']} known, {figures['cells_unexpected']} unexpected"
        + (f"; {figures['cells_error']} not evaluated" if figures["cells_error"] else "") + ")",
        f"- strict (known divergences count against): {_pct(figures['strict_pct'])}",
        f"- examples-weighted: {_pct(figures['examples_conformant_pct'])} of {figures['examples']} examples",
        f"- divergences: {figures['divergences']} ({figures['divergences_unexpected']} unexpected); "
        f"verdicts: {verdicts}",
        "",
    ])


def headline_markdown(report_dir: str | Path) -> str:
    """The headline block of the report in ``report_dir`` (read from its report.json), as markdown.
    FileNotFoundError when the directory holds no report."""
    data = json.loads((Path(report_dir) / "report.json").read_text(encoding="utf-8"))
    return headline_block(data["meta"], data["headline"])


# ---- files -------------------------------------------------------------------------------------------------

NOISE_COLUMNS = ["op", "property", "dtype", "noise", "examples", "noise_example"]


def noise_cells(report: Report) -> pd.DataFrame:
    """The cells where a float64 replay settled low-precision mismatches as rounding (conformance.arbitrate)."""
    cells = report.cells
    if not len(cells) or "noise" not in cells:
        return pd.DataFrame(columns=NOISE_COLUMNS)
    return cells[cells["noise"] > 0].sort_values(["op", "property", "dtype"])[NOISE_COLUMNS]


def _noise_title(noise: pd.DataFrame) -> str:
    return (f"Settled as rounding by a float64 replay ({int(noise['noise'].sum()) if len(noise) else 0} examples "
            f"in {len(noise)} cells)")


_NOISE_TEXT = ("Low-precision value mismatches where torch's own float32 (float16, complex64) value is at least half "
               "as far from torch's float64 replay of the same example as the engine's: rounding, not a divergence "
               "(conformance/arbitrate.py; `--no-float64-replay` counts them as divergences). The first example of "
               "each cell: torch's value, the engine's, torch's in double precision.")

def _matrix_markdown(report: Report) -> str:
    text = matrix_wide(report.matrix, "rate")
    if not len(text):
        return "_(no cells)_\n"
    counts = report.matrix.set_index(["family", "op", "property"])
    parts = []
    for family, block in text.groupby(level="family", sort=True):
        rows = []
        for (_, op), values in block.iterrows():
            row = {"op": op}
            for prop, rate in values.items():
                if isinstance(rate, float) and math.isnan(rate) and (family, op, prop) not in counts.index:
                    row[prop] = ""
                    continue
                entry = counts.loc[(family, op, prop)]
                ok = int(entry["pass"] + entry["known"])
                evaluated = ok + int(entry["unexpected"])
                mark = "" if int(entry["unexpected"]) == 0 else " ✗"
                row[prop] = f"{ok}/{evaluated}{mark}" + (f" ({int(entry['error'])} err)" if entry["error"] else "")
            rows.append(row)
        parts.append(f"**{family or '(no family)'}**\n\n" + markdown_table(pd.DataFrame(rows)))
    return "\n".join(parts)


def _summary_md(report: Report) -> str:
    meta = report.meta
    unexpected = report.divergences[~report.divergences["known"]] if len(report.divergences) else report.divergences
    known = report.divergences[report.divergences["known"]] if len(report.divergences) else report.divergences
    columns = ["divergence_id", "op", "property", "dtype", "kind", "key", "verdict", "max_rel_err", "reproducer"]
    noise = noise_cells(report)
    lines = [
        f"# Conformance report: {meta['engine']} vs torch {meta['torch_version']}", "",
        f"Engine `{meta['engine']}` {meta['engine_version']}, torch {meta['torch_version']}, run "
        f"`{meta.get('run_id')}`, profile {meta.get('profile')}, seed {meta.get('seed')}, generated "
        f"{meta['generated']}.", "",
        "## Headline", "", headline_block(meta, report.headline),
        "Definitions: a cell is one op x property x dtype; *conformant* = no unexpected divergence (pass, or a "
        "divergence listed as known); *strict* = no divergence at all; examples-weighted = share of examples run "
        "that did not diverge unexpectedly. See reports/README.md.", "",
        "## Per property", "",
        markdown_table(report.per_property, ["property", "cells", "cells_pass", "cells_known", "cells_unexpected",
                                             "cells_error", "conformant_pct", "strict_pct", "examples"])
        if len(report.per_property) else "_(none)_\n",
        "## Op x property matrix", "",
        "`ok/evaluated` cells over dtypes (ok = pass or known); ✗ marks unexpected divergences.", "",
        _matrix_markdown(report),
        f"## Unexpected divergences ({len(unexpected)})", "",
        markdown_table(unexpected, columns) if len(unexpected) else "_(none)_\n",
        f"## Known divergences ({len(known)})", "",
        markdown_table(known, columns + ["known_source", "known_reason"]) if len(known) else "_(none)_\n",
        f"## Stale known-divergence entries ({len(report.stale)})", "",
        markdown_table(pd.DataFrame(report.stale), ["entry", "status", "examples", "p_miss", "reason"])
        if report.stale else "_(none)_\n",
        f"## {_noise_title(noise)}", "", _NOISE_TEXT, "",
        markdown_table(noise) if len(noise) else "_(none)_\n",
        "Each divergence replays with `python repro/<id>.py` (exit 1 while it diverges) or "
        "`python -m conformance reproduce <id> --out <records dir>`; details, verdict evidence and snippets are "
        "in report.html, report.json and divergences.parquet.", "",
    ]
    if report.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in report.notes] + [""]
    return "\n".join(lines)


_SORTER = """
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0], index = th.cellIndex;
    var ascending = th.dataset.order !== 'asc';
    table.querySelectorAll('th').forEach(function (h) { delete h.dataset.order; });
    th.dataset.order = ascending ? 'asc' : 'desc';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.sort || a.cells[index].textContent;
      var y = b.cells[index].dataset.sort || b.cells[index].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var result = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return ascending ? result : -result;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""
_STYLE = """
body { font-family: sans-serif; margin: 2em; } table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; font-size: 13px; vertical-align: top; }
th { background: #eee; cursor: pointer; } th[data-order=asc]::after { content: ' ▲'; }
th[data-order=desc]::after { content: ' ▼'; } .unexpected { background: #fde2e2; } .known { background: #fff6d6; }
pre { max-height: 30em; overflow: auto; background: #f7f7f7; padding: 0.5em; }
"""


def _html_table(frame: pd.DataFrame, columns: list[str], row_class: str | None = None) -> str:
    if not len(frame):
        return "<p><em>(none)</em></p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = []
    for record in frame.to_dict("records"):
        css = f' class="{html.escape(str(record.get(row_class)))}"' if row_class else ""
        cells = []
        for column in columns:
            value = record.get(column)
            text = html.escape(_cell(value))
            if column == "reproducer" and value:
                text = f'<a href="{html.escape(str(value))}">{text}</a>'
            if column == "snippet" and value:
                text = f"<details><summary>show</summary><pre>{html.escape(str(value))}</pre></details>"
            cells.append(f"<td>{text}</td>")
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _report_html(report: Report) -> str:
    meta = report.meta
    divergences = report.divergences.copy()
    divergences["status"] = ["known" if k else "unexpected" for k in divergences["known"]] if len(divergences) \
        else []
    figures = report.headline
    matrix = report.matrix.copy()
    matrix["rate"] = [None if isinstance(r, float) and math.isnan(r) else round(100 * r, 1) for r in matrix["rate"]]
    title = f"Conformance report: {meta['engine']} {meta['engine_version']} vs torch {meta['torch_version']}"
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Run <code>{html.escape(str(meta.get('run_id')))}</code>, profile {html.escape(str(meta.get('profile')))}"
        f", generated {html.escape(meta['generated'])}.</p>",
        "<h2>Headline</h2><ul>",
        f"<li><b>{_pct(figures['conformant_pct'])} conformant</b> ({figures['cells_pass']} pass, "
        f"{figures['cells_known']} known, {figures['cells_unexpected']} unexpected of {figures['cells']} cells; "
        f"{figures['cells_error']} not evaluated)</li>",
        f"<li>strict: {_pct(figures['strict_pct'])}; examples-weighted: {_pct(figures['examples_conformant_pct'])}"
        f" of {figures['examples']} examples</li>",
        f"<li>divergences: {figures['divergences']} ({figures['divergences_unexpected']} unexpected); verdicts: "
        + html.escape(", ".join(f"{k} {v}" for k, v in sorted(figures["verdicts"].items())) or "none") + "</li></ul>",
        "<h2>Per property</h2>",
        _html_table(report.per_property, list(report.per_property.columns)),
        "<h2>Op x property matrix</h2>",
        '<p><img src="heatmap.png" alt="families x properties, and the divergent ops" style="max-width: 100%"></p>',
        _html_table(matrix, ["family", "op", "property", "cells", *OUTCOMES, "examples", "rate"]),
        f"<h2>Divergences ({len(divergences)})</h2><p>Click a header to sort.</p>",
        _html_table(divergences, ["status", "divergence_id", "op", "family", "property", "dtype", "scenario", "kind",
                                  "key", "input_shapes", "input_dtypes", "reference_outcome", "engine_outcome",
                                  "max_abs_err", "max_rel_err", "rtol", "atol", "verdict", "verdict_reason",
                                  "known_reason", "reproducer", "snippet"], row_class="status"),
        f"<h2>Stale known-divergence entries ({len(report.stale)})</h2>",
        _html_table(pd.DataFrame(report.stale), ["entry", "status", "examples", "p_miss", "reason"]),
        f"<h2>{html.escape(_noise_title(noise_cells(report)))}</h2><p>{html.escape(_NOISE_TEXT)}</p>",
        _html_table(noise_cells(report), NOISE_COLUMNS),
    ]
    if report.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in report.notes) + "</ul>")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + f"\n<script>{_SORTER}</script>\n"
            "</body></html>\n")


def _heatmap(report: Report, path: Path) -> None:
    from conformance.report.plot import plot
    plot(report.matrix, report.meta, path)


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else
                            (v if isinstance(v, (str, bool)) else json.dumps(_json_safe(v)))
                            for v in safe[column]]
    return safe


def write_report(report: Report, report_dir: str | Path) -> list[Path]:
    """Write every report file (see :data:`FILES`) and repro/<id>.py into ``report_dir``; returns the paths."""
    report_dir = Path(report_dir)
    (report_dir / "repro").mkdir(parents=True, exist_ok=True)
    for stale in (report_dir / "repro").glob("*.py"):  # reproducers of an earlier report's divergences
        stale.unlink()
    written = []

    def put(name: str, text: str) -> None:
        path = report_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)

    put("summary.md", _summary_md(report))
    put("report.html", _report_html(report))
    csv = report.divergences.drop(columns=[c for c in _CSV_DROP if c in report.divergences])
    csv.to_csv(report_dir / "divergences.csv", index=False)
    written.append(report_dir / "divergences.csv")
    put("report.json", json.dumps({
        "meta": report.meta, "headline": report.headline, "per_property": _records(report.per_property),
        "matrix": _records(report.matrix), "divergences": _records(report.divergences), "stale_known": report.stale,
        "settled_as_rounding": _records(noise_cells(report)), "notes": report.notes}, indent=1, allow_nan=False) + "\n")
    for name, frame in (("cells.parquet", report.cells), ("divergences.parquet", report.divergences)):
        table = _parquet_safe(frame.assign(torch_version=report.meta["torch_version"],
                                           engine_version=report.meta["engine_version"]))
        table.to_parquet(report_dir / name, index=False)
        written.append(report_dir / name)
    _heatmap(report, report_dir / "heatmap.png")
    written.append(report_dir / "heatmap.png")
    for record in report.divergences.to_dict("records"):
        if record.get("snippet"):
            put(f"repro/{record['divergence_id']}.py", str(record["snippet"]).rstrip() + "\n")
    return written
