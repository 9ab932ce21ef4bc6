"""The report commands: ``build``, ``reproduce`` and ``diff`` (functions returning exit codes), and ``main``
for ``python -m conformance.report <command> ...``.

Exit codes: build 0 no unexpected divergence / 1 unexpected divergences / 2 bad usage (no records, bad known
file); reproduce 0 fixed / 1 still diverges / 2 bad usage (unknown id...); diff 0 nothing newly diverges /
1 something newly diverges / 2 bad usage.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from conformance.report.diff import compare, load_side
from conformance.report.known import (
    STALE_MIN_EXAMPLES,
    KnownFileError,
    adopt_known_verdicts,
    apply_known,
    known_digest,
    load_known,
    stale_entries,
    stale_line,
)
from conformance.report.load import RunDirError, find_record, load_run
from conformance.report.render import Report, headline_block, write_report
from conformance.report.reproduce import run_snippet
from conformance.report.tables import cell_outcomes, divergence_table, headline, matrix, per_property
from conformance.report.verdict import judge

__all__ = ["build", "reproduce", "diff", "main", "make_report", "DEFAULT_KNOWN"]

#: The project's known-divergences file (used by ``main`` when it exists and no --known is given).
DEFAULT_KNOWN = Path(__file__).resolve().parents[2] / "reports" / "known_divergences.toml"


def _error(message: str) -> int:
    print(f"conformance report: {message}", file=sys.stderr)
    return 2


def make_report(out_dir: str | Path, known_file: str | Path | None = None, verdicts: bool = True,
                engine: object = None) -> Report:
    """Load a run, judge every divergence, apply the known-divergences file, compute every table.

    ``engine`` overrides the engine module used to replay divergences (default: the one the records name).
    Raises RunDirError / KnownFileError."""
    run = load_run(out_dir)
    entries = load_known(known_file)
    divergences = run.divergences.copy()
    if len(divergences):
        judged = [judge(record, engine=engine).as_dict() if verdicts else {"verdict": "undecided",
                  "reason": "verdicts not computed", "reproduced": None}
                  for record in divergences.to_dict("records")]
        divergences["verdict"] = [v["verdict"] for v in judged]
        divergences["verdict_reason"] = [v["reason"] for v in judged]
        divergences["reproduced"] = [v["reproduced"] for v in judged]
        for name in ("kink", "numeric", "torch_dot", "engine_dot"):
            divergences[f"verdict_{name}"] = [v.get(name) for v in judged]
    divergences = apply_known(divergences, entries)
    if len(divergences) and "verdict" in divergences:
        divergences = adopt_known_verdicts(divergences)
    cells = cell_outcomes(run, divergences)
    table = divergence_table(divergences)
    for name in ("kink", "numeric", "torch_dot", "engine_dot"):
        if f"verdict_{name}" in divergences:
            table[f"verdict_{name}"] = divergences.set_index("divergence_id").loc[
                table["divergence_id"], f"verdict_{name}"].to_numpy()
    meta = {"engine": run.engine, "engine_version": run.engine_version, "torch_version": run.torch_version,
            "run_id": run.info.get("run_id"), "profile": run.info.get("profile"), "seed": run.info.get("seed"),
            "python": run.info.get("python"), "started": run.info.get("started"),
            "finished": run.info.get("finished"), "records": str(Path(out_dir)),
            "known_file": str(known_file) if known_file else None,
            "generated": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    min_examples = stale_min_examples(run.info.get("profile"))
    unflagged = int((~run.divergences["expected"]).sum()) if len(run.divergences) else 0
    meta["known_file_note"] = known_file_note(run.info, known_file, unflagged)
    notes = list(run.notes) + ([meta["known_file_note"]] if meta["known_file_note"] else [])
    return Report(meta, headline(cells, divergences), per_property(cells), matrix(cells), table, cells,
                  stale_entries(entries, divergences, run.cells, min_examples), notes)


def known_file_note(info: dict, known_file: str | Path | None, unflagged: int = 1) -> str | None:
    """A note when the report matches ``unflagged`` divergences (those the run did not flag as expected) with
    another known-divergences file than the run had, or the same one since changed (None otherwise, or for a
    run.json from before runs recorded theirs): the run decides a cell from its first failing example, while the
    report can only match the shrunk one, which depends on how long shrinking had."""
    if not unflagged or "known_sha1" not in info or known_file is None:
        return None
    if info["known_sha1"] == known_digest(known_file):
        return None
    had = info.get("known_file")
    if not had:
        what = f"the run had no known-divergences file, this report matches with {known_file}"
    elif Path(had).resolve() == Path(known_file).resolve():
        what = f"{known_file} has changed since the run"
    else:
        what = f"the run had known-divergences file {had}, this report matches with {known_file}"
    return (f"{what}: {unflagged} divergence(s) the run did not flag as expected are matched on their shrunk "
            f"examples, which can vary with how long shrinking had (run again with --known {known_file} for "
            f"verdicts that the seed alone decides)")


def stale_min_examples(profile: str | None) -> int:
    """Examples an entry's cells need before its missing match reads as fixed: any under nightly (1000 per
    cell), :data:`STALE_MIN_EXAMPLES` otherwise."""
    return 0 if profile == "nightly" else STALE_MIN_EXAMPLES


def build(out_dir: str | Path, report_dir: str | Path | None = None, known_file: str | Path | None = None) -> int:
    """Write the report of the run in ``out_dir`` into ``report_dir`` (default ``<out_dir>/report``), with
    divergences listed in ``known_file`` (TOML, see reports/README.md) counted as known.

    Returns 1 when there are unexpected divergences, 0 otherwise, 2 for bad usage (message on stderr)."""
    try:
        report = make_report(out_dir, known_file)
    except (RunDirError, KnownFileError) as error:
        return _error(str(error))
    report_dir = Path(report_dir) if report_dir is not None else Path(out_dir) / "report"
    try:
        write_report(report, report_dir)
    except OSError as error:
        return _error(f"cannot write the report to {str(report_dir)!r}: {error}")
    print(headline_block(report.meta, report.headline))
    line = stale_line(report.stale, stale_min_examples(report.meta.get("profile")))
    if line:
        print(line)
    if report.meta.get("known_file_note"):
        print(f"note: {report.meta['known_file_note']}")
    unexpected = report.headline["divergences_unexpected"]
    print(f"report written to {report_dir}/ ({unexpected} unexpected divergence(s))")
    return 1 if unexpected else 0


def reproduce(record_id: str, out_dir: str | Path) -> int:
    """Re-run divergence ``record_id`` (a divergence_id or an unambiguous prefix) of the run in ``out_dir``
    through its standalone snippet. Returns 0 when it no longer diverges, 1 when it still does (or the
    snippet crashed), 2 for bad usage (no records, unknown id, record without snippet)."""
    try:
        record = find_record(out_dir, record_id)
    except (RunDirError, KeyError) as error:
        return _error(str(error.args[0]) if error.args else str(error))
    if not record.get("snippet"):
        return _error(f"divergence {record['divergence_id']} has no snippet")
    title = f"{record['divergence_id']} ({record['op']} / {record['property']} / {record['dtype']})"
    result = run_snippet(record["snippet"])
    sys.stdout.write(result.stdout)
    if result.diverges is False:
        print(f"{title}: fixed (no longer diverges)")
        return 0
    if result.diverges is True:
        print(f"{title}: still diverges")
        return 1
    sys.stderr.write(result.stderr[-4000:])
    print(f"{title}: the reproducer failed (exit {result.returncode}); counted as still diverging")
    return 1


def diff(old_dir: str | Path, new_dir: str | Path) -> int:
    """Print what newly diverges and what was fixed between two runs (records or report directories).
    Returns 1 when something newly diverges, 0 otherwise, 2 for bad usage."""
    try:
        result = compare(load_side(old_dir), load_side(new_dir))
    except (RunDirError, OSError, ValueError, KeyError) as error:
        return _error(str(error))
    print(result.markdown())
    return 1 if len(result.new_divergences) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conformance.report", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_report_commands(commands)
    return parser


def add_report_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``report``, ``reproduce`` and ``diff`` on a subparsers object (each sets ``handler``)."""
    report = commands.add_parser("report", help="build the conformance report of a run")
    report.add_argument("out", metavar="RECORDS_DIR", help="the run's output directory (--out of the run)")
    report.add_argument("--report-dir", default=None, help="where to write the report (default RECORDS_DIR/report)")
    report.add_argument("--known", default=None, help=f"known-divergences TOML (default {DEFAULT_KNOWN} if present)")
    report.add_argument("--no-known", action="store_true", help="treat every divergence as unexpected")
    report.set_defaults(handler=lambda a: build(a.out, a.report_dir, None if a.no_known else (
        a.known or (DEFAULT_KNOWN if DEFAULT_KNOWN.exists() else None))))
    again = commands.add_parser("reproduce", help="re-run one divergence; exit 0 fixed, 1 still diverges")
    again.add_argument("id", help="divergence_id (or an unambiguous prefix)")
    again.add_argument("--out", required=True, metavar="RECORDS_DIR", help="the run's output directory")
    again.set_defaults(handler=lambda a: reproduce(a.id, a.out))
    changes = commands.add_parser("diff", help="what newly diverges / was fixed between two runs")
    changes.add_argument("old", help="older records or report directory")
    changes.add_argument("new", help="newer records or report directory")
    changes.set_defaults(handler=lambda a: diff(a.old, a.new))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m conformance.report``."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and 2
    return args.handler(args)


