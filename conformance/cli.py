"""``python -m conformance``: run the properties against an engine, or list the specs.

    python -m conformance run [--engine MODULE] [--ops OP,...] [--family F,...] [--properties P,...]
                              [--profile NAME] [--max-examples N] [--seed N] [--out DIR] [--jobs N]
                              [--max-divergences N] [--shrink-seconds S] [--database DIR|none] [--no-progress]
    python -m conformance list
    python -m conformance report RECORDS_DIR [--report-dir DIR] [--known FILE | --no-known]
    python -m conformance reproduce ID --out RECORDS_DIR
    python -m conformance diff OLD_RECORDS NEW_RECORDS

Exit status of ``run``: 0 no unexpected divergence; 1 at least one; 2 bad usage (one line on stderr);
3 the harness itself failed (a test errored without a divergence record).

As a program (``python -m conformance`` or the ``conformance`` console script), ``run`` fixes Python's hash
seed: started without ``PYTHONHASHSEED=0`` it re-executes itself with it (see :mod:`conformance.__main__`).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import random
import sys
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

from conformance.engines import EngineError, default_engine_name, load_engine
from conformance.harness import reproduce_arguments
from conformance.profiles import PROFILES
from conformance.properties import PROPERTY_NAMES, cases
from conformance.records import DEFAULT_PROPERTIES, DIVERGENCES, SUMMARY, OutputDirError, check_writable, read_jsonl
from conformance.specs import all_specs

__all__ = ["main"]

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # node ids read conformance/properties/test_*.py


class UsageError(Exception):
    """Bad command line: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + message; we want one line
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m conformance", description="Differential conformance against torch.autograd")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="run properties against an engine")
    run.add_argument("--engine", default=None, help="MODULE or MODULE:ATTRIBUTE (default $CONFORMANCE_ENGINE "
                                                    "or refgrad)")
    run.add_argument("--ops", default=None, help="comma-separated spec names (default: all)")
    run.add_argument("--family", default=None,
                     help="comma-separated spec families (the family column of `list`), added to --ops")
    opt_in = ", ".join(p for p in PROPERTY_NAMES if p not in DEFAULT_PROPERTIES)
    run.add_argument("--properties", default=None,
                     help=f"comma-separated, from {', '.join(PROPERTY_NAMES)}, or `all` (default: all but the opt-in "
                          f"{opt_in})")
    run.add_argument("--dtypes", default=None, help="comma-separated example dtypes (default: all)")
    run.add_argument("--reproduce", default=None, metavar="BLOB",
                     help="replay a record's reproduce_failure text (with --ops, --properties, --dtypes)")
    run.add_argument("--profile", default="dev", help=f"Hypothesis profile: {', '.join(PROFILES)} (default dev)")
    run.add_argument("--max-examples", type=int, default=None, help="examples per op x property x dtype")
    run.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random, recorded)")
    run.add_argument("--out", default="conformance-results", help="records directory (default ./conformance-results)")
    run.add_argument("--jobs", type=int, default=1, help="pytest-xdist workers (default 1: in-process)")
    run.add_argument("--timeout", type=float, default=20.0, help="seconds per example per side (default 20)")
    run.add_argument("--known", default=None, metavar="FILE",
                     help="known-divergences file: matching divergences do not fail the run")
    run.add_argument("--max-divergences", type=int, default=None, metavar="N",
                     help="stop after N cells with an unexpected divergence (or harness error)")
    run.add_argument("--shrink-seconds", type=float, default=60.0, metavar="S",
                     help="shrinking budget for the first divergence of a root cause (property, kind, observable); "
                          "later ones of the same cause get 0.5 s (default 60)")
    run.add_argument("--database", default=None, metavar="DIR",
                     help="Hypothesis example database ('none': no database; default $CONFORMANCE_DATABASE, else "
                          "OUT/hypothesis-examples, and none under the derandomized ci profile)")
    run.add_argument("--no-float64-replay", dest="float64_replay", action="store_false",
                     help="count float32 mismatches as divergences even where torch's own float32 value is as far "
                          "from its float64 replay as the engine's (default: settled as rounding, listed in the "
                          "report)")
    run.add_argument("--no-progress", dest="progress", action="store_false",
                     help="no progress bar (cells done, divergences so far, ETA); pytest's dots instead")
    run.add_argument("-v", "--verbose", action="store_true", help="pytest output per test")
    commands.add_parser("list", help="list the op specs")
    from conformance.report.cli import add_report_commands
    add_report_commands(commands)
    return parser


def _split(value: str | None, known: set[str], what: str) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise UsageError(f"unknown {what}: {', '.join(unknown) or repr(value)} "
                         f"(see python -m conformance list)" if what == "op" else
                         f"unknown {what}: {', '.join(unknown) or repr(value)} (known: {', '.join(sorted(known))})")
    return names


def plugin_is_installed() -> bool:
    """True when the conformance plugin is registered as a pytest11 entry point (so no ``-p`` needed)."""
    return any(ep.value == "conformance.plugin" for ep in importlib.metadata.entry_points(group="pytest11"))


def _pytest_args(args: argparse.Namespace, run_id: str, seed: int, ini: Path) -> list[str]:
    pytest_args = ["--pyargs", "conformance.properties", "-c", str(ini), "--rootdir", str(_PACKAGE_ROOT),
                   "--noconftest", "-p", "no:cacheprovider", "-p", "no:benchmark",
                   "--engine", args.engine or default_engine_name(), "--conformance-out", str(Path(args.out).resolve()),
                   "--conformance-run-id", run_id, "--hypothesis-profile", args.profile,
                   "--hypothesis-seed", str(seed), "--conformance-timeout", str(args.timeout),
                   "-q" if not args.verbose else "-v", "-rfE", "--tb=line",
                   "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    if not plugin_is_installed():
        pytest_args[:0] = ["-p", "conformance.plugin"]
    if args.ops:
        pytest_args += ["--conformance-ops", args.ops]
    if args.properties:
        pytest_args += ["--conformance-properties", args.properties]
    if args.dtypes:
        pytest_args += ["--conformance-dtypes", args.dtypes]
    if args.reproduce:
        # one argument, without the "@" pytest would read as an argument file
        pytest_args.append("--conformance-reproduce=" + args.reproduce.strip().lstrip("@"))
    if args.max_examples is not None:
        pytest_args += ["--conformance-max-examples", str(args.max_examples)]
    if args.max_divergences is not None:
        pytest_args += ["--maxfail", str(args.max_divergences)]
    pytest_args += ["--conformance-shrink-seconds", str(args.shrink_seconds)]
    if not args.float64_replay:
        pytest_args.append("--conformance-no-float64-replay")
    database = _database(args)
    if database:
        pytest_args += ["--conformance-database", database]
    if args.progress:  # the progress display prints divergences (and a harness error's traceback) itself
        pytest_args = [a for a in pytest_args if a not in ("-rfE", "--tb=line")]
        pytest_args += ["-o", "console_output_style=classic", "--tb=no", "-rN", "-p", "no:warnings"]
    if args.known:
        pytest_args += ["--conformance-known", str(Path(args.known).resolve())]
    if args.jobs > 1:
        pytest_args += ["-n", str(args.jobs)]
    return pytest_args


def _database(args: argparse.Namespace) -> str:
    """The example database the run uses ("" for none): --database, $CONFORMANCE_DATABASE, else a directory in
    the run's output (never the working directory's .hypothesis/, which a test run might read)."""
    chosen = args.database or os.environ.get("CONFORMANCE_DATABASE")
    if chosen:
        return "" if chosen.lower() == "none" else str(Path(chosen).resolve())
    if args.profile == "ci":  # derandomized: Hypothesis allows no database
        return ""
    return str((Path(args.out) / "hypothesis-examples").resolve())


def _family_ops(value: str | None) -> list[str]:
    """The spec names of the comma-separated families in ``value`` (graph: the graph-state machine)."""
    if value is None:
        return []
    families = {spec.family for spec in all_specs()} | {"graph"}
    names = _split(value, families, "family")
    return [spec.name for spec in all_specs() if spec.family in names] + (["graph_state"] if "graph" in names
                                                                           else [])


def _print_summary(out: Path, run_id: str) -> int:
    """Print the run's cells and divergences; return the number of unexpected divergences."""
    summaries = [r for r in read_jsonl(out / SUMMARY) if r.get("run_id") == run_id]
    divergences = [r for r in read_jsonl(out / DIVERGENCES) if r.get("run_id") == run_id]
    table: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for record in summaries:
        cell = table[(record["op"], record["property"])]
        cell[0] += record["examples"] or 0
        cell[1] += record["diverged"] or 0
    examples = sum(c[0] for c in table.values())
    noise = sum(r.get("noise") or 0 for r in summaries)
    print(f"\n{len(table)} op x property cells, {examples} examples, {len(divergences)} divergence(s)"
          + (f"; {noise} low-precision mismatch(es) settled as rounding by a float64 replay (listed in the report)"
             if noise else ""))
    for record in divergences:
        flag = " (expected)" if record.get("expected") else ""
        print(f"  DIVERGED{flag} {record['op']} / {record['property']} / {record['dtype']}: {record['kind']} at "
              f"{record['key']}")
    print(f"records: {out / DIVERGENCES}, {out / SUMMARY}")
    return sum(1 for r in divergences if not r.get("expected"))


def _run(args: argparse.Namespace) -> int:
    import pytest

    training = {case.values[0].name for case in cases("training")}
    ops = _split(args.ops, {s.name for s in all_specs()} | {"graph_state"} | training, "op")
    if args.family:
        ops = list(dict.fromkeys((ops or []) + _family_ops(args.family)))
        args.ops = ",".join(ops)
    props = list(PROPERTY_NAMES) if args.properties == "all" else _split(args.properties, set(PROPERTY_NAMES),
                                                                           "property")
    _split(args.dtypes, {"float64", "float32", "float16", "int64", "bool"}, "dtype")
    if args.known:
        from conformance.report.known import KnownFileError, load_known
        try:
            load_known(args.known)
        except KnownFileError as error:
            raise UsageError(f"--known: {error}") from None
    if args.reproduce:
        try:
            reproduce_arguments(args.reproduce)
        except (ValueError, SyntaxError) as error:
            raise UsageError(f"--reproduce: {error}") from None
        if not (args.ops and args.properties and args.dtypes):
            raise UsageError("--reproduce needs --ops, --properties and --dtypes naming the record's cell")
    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile: {args.profile} (known: {', '.join(PROFILES)})")
    if args.max_examples is not None and args.max_examples < 1:
        raise UsageError("--max-examples must be at least 1")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.max_divergences is not None and args.max_divergences < 1:
        raise UsageError("--max-divergences must be at least 1")
    if args.shrink_seconds < 0:
        raise UsageError("--shrink-seconds must be at least 0")
    if not _selection_size(ops, props):
        raise UsageError(f"nothing to run: no selected property applies to the selected ops ({args.ops})")
    try:
        engine = load_engine(args.engine)
        check_writable(Path(args.out))
    except (EngineError, OutputDirError) as error:
        raise UsageError(str(error)) from None
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    run_id = uuid.uuid4().hex[:12]
    print(f"conformance: engine {engine.name} {engine.version} vs torch; profile {args.profile}; seed {seed}; "
          f"run {run_id}")
    with tempfile.TemporaryDirectory() as scratch:
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        plugins = []
        if args.progress:
            from conformance.progress import Progress
            known = ()
            if args.known:
                from conformance.report.known import load_known
                known = tuple(load_known(args.known))
            plugins.append(Progress(Path(args.out), run_id, known=known))
        status = pytest.main(_pytest_args(args, run_id, seed, ini), plugins=plugins)
    unexpected = _print_summary(Path(args.out), run_id)
    if unexpected:
        return 1
    if status == 0:
        return 0
    print(f"conformance: pytest exited with status {int(status)} without an unexpected divergence record "
          f"(harness error; see the output above)", file=sys.stderr)
    return 3


def _selection_size(ops: list[str] | None, props: list[str] | None) -> int:
    """How many pytest items the op/property selection keeps (same rule as the plugin)."""
    count = 0
    for prop in props or DEFAULT_PROPERTIES:
        if prop == "graph_state":
            count += ops is None or "graph_state" in ops
        else:
            count += sum(1 for case in cases(prop) if ops is None or case.values[0].name in ops)
    return count


def _list() -> int:
    print(f"{'op':<50} {'family':<12} {'dtypes':<28} properties")
    for spec in all_specs():
        props = [p for p in PROPERTY_NAMES if p != "graph_state"
                 and any(c.values[0] is spec for c in cases(p))]
        print(f"{spec.name:<50} {spec.family:<12} {','.join(spec.dtypes):<28} {','.join(props)}")
    print(f"{'graph_state':<50} {'graph':<12} {'float64,float32':<28} graph_state")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (programs start at :func:`conformance.__main__.entry`, which fixes
    the hash seed first)."""
    try:
        args = _parser().parse_args(argv)
        if args.command in ("report", "reproduce", "diff"):
            return args.handler(args)
        return _list() if args.command == "list" else _run(args)
    except UsageError as error:
        print(f"conformance: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `python -m conformance list | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
