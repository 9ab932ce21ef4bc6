"""Running one property over one spec and dtype: Hypothesis loop, both sides, verdict, records, reproducer.

A property supplies a *trial* function ``trial(session, spec, dtype, data) -> Trial | None`` that draws an
example and runs a program on both modules; :func:`check` does everything else.
"""
from __future__ import annotations

import ast
import contextlib
import hashlib
import os
import re
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, reproduce_failure, settings
from hypothesis.errors import FlakyFailure
from hypothesis import strategies as st

from conformance import profiles, programs
from conformance.arbitrate import settle, widen
from conformance.engines import Engine, reference
from conformance.examples import input_facts
from conformance.records import Recorder
from conformance.repro import literal, snippet
from conformance.specs._spec import OpSpec
from conformance.strategies import DEFAULT_TOLERANCE
from conformance.verdict import compare_outcomes

__all__ = ["Session", "Trial", "Divergence", "ExampleTimeout", "check", "run_both", "run_one", "time_limit",
           "tolerances", "computing_dtypes", "widened", "make_record", "base_record", "tracked", "Tracker",
           "root_cause"]


class Divergence(AssertionError):
    """The engine and torch disagree; the reproducer is attached as an exception note."""


class ExampleTimeout(Exception):
    """One side exceeded the per-example time limit (recorded as that side's outcome)."""


@dataclass
class Session:
    """What every property needs: the engine, the reference, where records go, run settings."""

    engine: Engine
    recorder: Recorder = field(default_factory=Recorder)
    reference: Engine = field(default_factory=reference)
    run_id: str = ""
    seed: int | None = None
    max_examples: int | None = None
    timeout: float = 20.0
    profile: str = "dev"
    overrides: dict[str, Any] = field(default_factory=dict)  # extra Hypothesis settings (tests: derandomize...)
    reproduce: str | None = None  # a record's "@reproduce_failure(...)" text: replay that example only
    known: tuple = ()  # KnownEntry list from a known-divergences file: a cell whose first failing example matches
    # an entry is expected (see Tracker)
    # Shrinking budget (seconds): the first divergence of a root cause (:func:`root_cause`) shrinks for up to
    # ``shrink_seconds``; later ones of the same cause for ``repeat_shrink_seconds``, so an engine wrong
    # everywhere costs ~generation time per cell instead of a full shrink each
    shrink_seconds: float = 60.0
    repeat_shrink_seconds: float = 0.5
    roots: set = field(default_factory=set)  # root causes already shrunk in full in this process
    database: str | None = None  # example-database directory (default: $CONFORMANCE_DATABASE, else the profile's)
    # settle low-precision value mismatches by a float64 replay on torch (:mod:`conformance.arbitrate`)
    float64_replay: bool = True

    def settings(self) -> settings:
        """Hypothesis settings for one property run (the active profile; Hypothesis' own default -> dev)."""
        profiles.register()
        name = settings.get_current_profile_name()
        parent = settings.get_profile("dev") if name == "default" else settings.default
        changes: dict[str, Any] = {
            "deadline": None, "print_blob": True, "report_multiple_bugs": False,
            "suppress_health_check": list(parent.suppress_health_check) + [
                HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        }
        if self.max_examples is not None:
            changes["max_examples"] = self.max_examples
        # a campaign's example database (docs/campaign.md), or the CLI's (kept in its output directory)
        location = self.database or os.environ.get("CONFORMANCE_DATABASE")
        if location and "database" not in self.overrides:
            from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase
            database = DirectoryBasedExampleDatabase(location)
            changes["database"] = ReadOnlyDatabase(database) if parent.derandomize else database
        changes.update(self.overrides)
        chosen = settings(parent, **changes)
        if chosen.derandomize:
            profiles.pin_constant_pool()
        return chosen


@dataclass
class Trial:
    """One example run on both sides."""

    program: Callable
    fn: Callable
    inputs: list
    kwargs: dict
    extra: dict
    reference: dict
    engine: dict
    scenario: str = ""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ExampleTimeout in the block after ``seconds`` (main thread only; elsewhere no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum, _frame):
        raise ExampleTimeout(f"example exceeded the {seconds:g} s time limit")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_one(session: Session, module: Any, program: Callable, fn: Callable, inputs: list, kwargs: dict,
            extra: dict) -> dict:
    """``programs.execute`` under the time limit, with warnings silenced (they are not compared here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with time_limit(session.timeout):
                return programs.execute(module, program, fn, inputs, kwargs, extra)
        except ExampleTimeout as timeout:  # fired outside execute's try (setup/teardown)
            return {"obs": {}, "error": {"type": "ExampleTimeout", "base": "Exception", "message": str(timeout),
                                         "step": None}}


def run_both(session: Session, program: Callable, fn: Callable, inputs: list, kwargs: dict, extra: dict,
             scenario: str = "") -> Trial:
    """Run ``program`` on torch and on the engine (with ``fn`` as the engine wraps it: see
    :mod:`conformance.engines.wrapper`), minus the observables the engine cannot match by design."""
    ref = run_one(session, session.reference.module, program, fn, inputs, kwargs, extra)
    got = run_one(session, session.engine.module, program, session.engine.wrap(fn), inputs, kwargs, extra)
    engine = session.engine
    return Trial(program, fn, inputs, kwargs, extra, engine.comparable(ref), engine.comparable(got), scenario)


def float64_outcome(session: Session, trial: Trial) -> dict:
    """``trial``'s example run again on torch with its low-precision inputs and cotangents in double precision."""
    return run_one(session, session.reference.module, trial.program, trial.fn, widen(trial.inputs),
                   widen(trial.kwargs), widen(trial.extra))


_OUTPUT_DTYPE = re.compile(r"out\[\d+\]\.dtype")


def computing_dtypes(reference: dict, extra: dict) -> tuple[str, ...]:
    """The floating dtypes an example computed in on torch: the dtypes of the op's outputs, read from the
    reference outcome's forward observables or from the cotangents in ``extra`` (drawn per output, in its dtype).
    A float64 0-d tensor (or a Python scalar) mixed with float32 tensors computes in float32 (type promotion), and
    so does the float64 gradient of that 0-d leaf: its digits are float32 digits whatever dtype it is returned in."""
    names = {item["dtype"] for item in extra.get("cotangents") or ()
             if isinstance(item, dict) and item.get("kind") == "tensor"}
    names.update(value.removeprefix("torch.") for key, value in reference.get("obs", {}).items()
                 if isinstance(value, str) and _OUTPUT_DTYPE.fullmatch(key))
    return tuple(sorted(name for name in names if name in DEFAULT_TOLERANCE))


def widened(table: dict[str, tuple[float, float]], reference: dict, extra: dict) -> dict[str, tuple[float, float]]:
    """``table`` (dtype name -> (rtol, atol)) with every entry at least as loose as the tolerance of each dtype
    the example computed in (:func:`computing_dtypes`): a float64 value computed in float32 compares at float32's
    tolerance. Any comparison of one example's outcomes can use it (``compare_outcomes(ref, got, widened(...))``)."""
    computing = [name for name in computing_dtypes(reference, extra) if name in table]
    if not computing:
        return dict(table)
    loosest = [max(table[name][i] if len(table[name]) > i else 0.0 for name in computing) for i in range(3)]
    return {name: tuple(max(own[i] if len(own) > i else 0.0, loosest[i]) for i in range(max(len(own), 2 + (
        loosest[2] > 0)))) for name, own in table.items()}


def tolerances(spec: OpSpec, trial: Trial | None = None) -> dict[str, tuple[float, float]]:
    """dtype name -> (rtol, atol) for every floating dtype: the spec's (or assert_close's) tolerance of the
    compared value's dtype, :func:`widened` to the dtypes ``trial`` computed in when a trial is given."""
    table = {name: tuple(spec.tolerance(name)) for name in DEFAULT_TOLERANCE}
    return table if trial is None else widened(table, trial.reference, trial.extra)


def _error_fields(prefix: str, error: dict | None) -> dict[str, Any]:
    return {f"{prefix}_error_type": None if error is None else error["type"],
            f"{prefix}_error_message": None if error is None else error["message"]}


def base_record(session: Session, op: str, family: str, prop: str, dtype: str, mismatches: list[dict],
                errors: tuple[dict | None, dict | None], *, nodeid: str = "", expected_reason: str = "") -> dict:
    """The divergence-record fields that do not depend on how the example is represented."""
    first = mismatches[0]
    value = next((m for m in mismatches if m["kind"] == "value"), {})
    identity = f"{op}|{prop}|{dtype}|{first['kind']}|{first['key']}"
    return {
        "record_type": "divergence", "run_id": session.run_id,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "divergence_id": hashlib.sha1(identity.encode()).hexdigest()[:12],
        "op": op, "family": family, "property": prop, "dtype": dtype,
        "kind": first["kind"], "key": first["key"], "mismatches": len(mismatches),
        "details": "\n".join(f"{m['kind']} at {m['key']}: torch {m['reference']} | engine {m['engine']}"
                             for m in mismatches),
        "reference_outcome": first["reference"], "engine_outcome": first["engine"],
        **_error_fields("reference", errors[0]), **_error_fields("engine", errors[1]),
        "max_abs_err": value.get("max_abs_err"), "max_rel_err": value.get("max_rel_err"),
        "rtol": value.get("rtol"), "atol": value.get("atol"),
        "expected": bool(expected_reason), "expected_reason": expected_reason,
        "seed": session.seed, "reproduce_failure": None, "nodeid": nodeid,
        "command": (f"python -m conformance run --engine {session.engine.name} --ops {op} --properties {prop} "
                    f"--dtypes {dtype}" + (f" --seed {session.seed}" if session.seed is not None else "")),
        "torch_version": session.reference.version, "engine": session.engine.name,
        "engine_version": session.engine.version,
    }


def make_record(session: Session, spec_name: str, family: str, prop: str, dtype: str, trial: Trial,
                mismatches: list[dict], tol: dict, *, nodeid: str = "", expected_reason: str = "") -> dict:
    """The divergence record (see :mod:`conformance.records`) for a trial with mismatches."""
    record = base_record(session, spec_name, family, prop, dtype, mismatches,
                         (trial.reference["error"], trial.engine["error"]), nodeid=nodeid,
                         expected_reason=expected_reason)
    title = f"{spec_name} / {prop} / {dtype}: {record['kind']} mismatch at {record['key']}"
    record.update(input_facts(trial.inputs), scenario=trial.scenario, kwargs=literal(trial.kwargs),
                  inputs=literal(trial.inputs), extra=literal(trial.extra),
                  snippet=snippet(title, session.engine, trial.program, trial.fn, trial.inputs, trial.kwargs,
                                  trial.extra, tol))
    return record


def reproduce_arguments(text: str) -> tuple[str, bytes]:
    """(version, blob) from ``@reproduce_failure('6.1', b'...')`` as stored in records."""
    found = re.fullmatch(r"\s*@?reproduce_failure\((.*)\)\s*", text)
    if not found:
        raise ValueError(f"not a @reproduce_failure(...) text: {text!r}")
    version, blob = ast.literal_eval(f"({found.group(1)},)")
    return version, blob


def _blob(error: BaseException) -> str | None:
    for failure in (error, *getattr(error, "exceptions", ())):  # (a FlakyFailure holds the first failure)
        for note in getattr(failure, "__notes__", []):
            found = re.search(r"@reproduce_failure\(.*?\)", note)
            if found:
                return found.group(0)
    return None


def root_cause(record: dict) -> tuple[str, str, str]:
    """What a divergence is taken to share with others of one bug: property, kind and the observable with its
    indices dropped (``grad[0].value`` and ``grad[1].value`` are one cause), across ops and dtypes."""
    return record["property"], record["kind"], re.sub(r"\[\d+\]", "[]", str(record["key"]))


def _set_shrink_budget(seconds: float) -> None:
    """Hypothesis reads this module constant when it starts shrinking (documented as monkeypatchable)."""
    from hypothesis.internal.conjecture import engine
    engine.MAX_SHRINKING_SECONDS = seconds


class Tracker:
    """Counts examples and keeps the latest divergence record of one property run.

    The verdict of a run (expected or not) is decided by its *first* failing example, which a seed (or the
    derandomized profile) fixes, not by the shrunk one, which depends on how long shrinking had: the first
    failure's known-divergence entry (:meth:`known_entry`, none counts as one) is its *class*, and a shrink
    candidate of another class is rejected, so the shrunk example -- the reproducer the report shows -- falls
    under the same entry (or none) as the first. A cell the spec lists as known (``expected_reason``) is expected
    whatever it shrinks to, and shrinks freely."""

    def __init__(self, session: Session, expected_reason: str = "") -> None:
        self.session = session
        self.expected_reason = expected_reason
        self.examples = 0
        self.last: dict | None = None
        self.first_entry: int | None = None  # index into session.known of the first failure's entry
        self.shrink_budget: float | None = None
        self.noise = 0  # examples whose mismatches a float64 replay settled as rounding (conformance.arbitrate)
        self.noise_example = ""  # the first of them: what differed, and the float64 value

    def example(self) -> None:
        """Count an example (only before the first divergence: shrinking is not counted)."""
        if self.last is None:
            self.examples += 1

    def settled(self, noise: list[dict], inputs: list) -> None:
        """Count an example whose mismatches were all rounding (keeping the first one's description)."""
        if self.last is not None:
            return
        self.noise += 1
        if not self.noise_example:
            self.noise_example = "; ".join(
                f"{m['key']}: torch {m['reference']} | engine {m['engine']} | torch in double precision {m['float64']}"
                for m in noise) + f" (inputs {literal(inputs)})"

    def known_entry(self, record: dict) -> int | None:
        """The index in ``session.known`` of the first entry matching ``record`` (None: no entry matches)."""
        return next((index for index, entry in enumerate(self.session.known) if entry.matches(record)), None)

    @property
    def reason(self) -> str:
        """Why this run's divergence is expected ("" when it is not): the spec's reason, else the reason of the
        known-divergences entry matching the first failing example."""
        if self.expected_reason or self.first_entry is None:
            return self.expected_reason
        return self.session.known[self.first_entry].reason

    def divergence(self, record: dict) -> Divergence:
        """Remember ``record`` (saving the first one at once) and return the exception to raise; a later record
        (a shrink candidate) under another known-divergences entry than the first is rejected instead
        (:func:`hypothesis.reject`: the shrinker does not take it)."""
        entry = None if self.expected_reason else self.known_entry(record)
        if self.last is not None and entry != self.first_entry:
            reject()
        if self.last is None:
            self.first_entry = entry
            self.session.recorder.pending(record)
            cause = root_cause(record)
            repeated = cause in self.session.roots
            self.session.roots.add(cause)
            self.shrink_budget = self.session.repeat_shrink_seconds if repeated else self.session.shrink_seconds
            _set_shrink_budget(self.shrink_budget)  # before Hypothesis starts shrinking this failure
        self.last = record
        failure = Divergence(record["details"])
        failure.add_note("Reproducer (standalone script):\n" + record["snippet"])
        return failure


@contextlib.contextmanager
def tracked(session: Session, op: str, family: str, prop: str, dtype: str, nodeid: str,
            expected_reason: str = "") -> Iterator[Tracker]:
    """Bookkeeping around one Hypothesis run: the shrunk record on Divergence, xfail for known divergences (the
    first failing example decides: see :class:`Tracker`), and the summary record in every case."""
    tracker = Tracker(session, expected_reason)
    started, status = time.perf_counter(), "error"
    _set_shrink_budget(session.shrink_seconds)
    try:
        yield tracker
        status = "pass"
    except Divergence as error:
        record = dict(tracker.last, shrunk=True, reproduce_failure=_blob(error))
        expected_reason = tracker.reason  # the first failing example's entry, which the shrunk one shares
        record.update(expected=bool(expected_reason), expected_reason=expected_reason)
        session.recorder.divergence(record)
        status = "expected" if expected_reason else "diverged"
        if expected_reason:
            pytest.xfail(f"known divergence ({prop}): {expected_reason}")
        raise
    except FlakyFailure as error:
        if tracker.last is None:  # not a divergence: a harness error
            raise
        # the divergence did not recur when Hypothesis replayed its example (a side is nondeterministic: torch
        # reading past a sliced buffer, say): kept unconfirmed (shrunk False), and judged as a divergence
        record = dict(tracker.last, shrunk=False, reproduce_failure=_blob(error),
                      details=tracker.last["details"] + "\n(flaky: the example did not diverge again when replayed)")
        expected_reason = tracker.reason
        record.update(expected=bool(expected_reason), expected_reason=expected_reason)
        session.recorder.divergence(record)
        status = "expected" if expected_reason else "flaky"
        if expected_reason:
            pytest.xfail(f"known divergence ({prop}), flaky: {expected_reason}")
        raise Divergence(record["details"]) from error
    finally:
        session.recorder.summary({
            "record_type": "summary", "run_id": session.run_id, "op": op, "family": family, "property": prop,
            "dtype": dtype, "examples": tracker.examples, "diverged": int(tracker.last is not None),
            "noise": tracker.noise, "noise_example": tracker.noise_example,
            "expected": bool(expected_reason), "status": status,
            "seconds": round(time.perf_counter() - started, 3), "nodeid": nodeid, "engine": session.engine.name,
            "engine_version": session.engine.version, "torch_version": session.reference.version})


def check(session: Session, spec: OpSpec, dtype: str, prop: str,
          trial: Callable[[Session, OpSpec, str, st.DataObject], Trial | None], nodeid: str = "") -> None:
    """Run property ``prop`` over ``spec`` at ``dtype``: raise Divergence (with a reproducer note) after
    recording the shrunk example, or pytest.xfail when the spec lists the divergence as known."""
    expected_reason = spec.known.get(prop, "")
    if session.engine.unsupported(prop):  # a wrapper engine that cannot run this property (its reason)
        pytest.skip(session.engine.unsupported(prop))

    with tracked(session, spec.name, spec.family, prop, dtype, nodeid, expected_reason) as tracker:
        def example(data: st.DataObject) -> None:
            tracker.example()
            outcome = trial(session, spec, dtype, data)
            if outcome is None:
                return
            tol = tolerances(spec, outcome)  # the dtypes this example computed in, not only the leaves'
            mismatches = compare_outcomes(outcome.reference, outcome.engine, tol)
            if mismatches and session.float64_replay:
                mismatches, noise = settle(mismatches, outcome.reference, outcome.engine,
                                           lambda: float64_outcome(session, outcome), tol,
                                           computing_dtypes(outcome.reference, outcome.extra))
                if noise:
                    tracker.settled(noise, outcome.inputs)
            if mismatches:
                raise tracker.divergence(make_record(session, spec.name, spec.family, prop, dtype, outcome,
                                                     mismatches, tol, nodeid=nodeid,
                                                     expected_reason=expected_reason))

        example._hypothesis_internal_add_digest = f"{prop}|{spec.name}|{dtype}".encode()
        chosen = session.settings()
        if session.max_examples is None and prop in profiles.PROPERTY_SHARE:
            chosen = settings(chosen, max_examples=profiles.examples_for(prop, chosen.max_examples))
        run = settings(chosen)(given(st.data())(example))
        if session.reproduce:
            run = reproduce_failure(*reproduce_arguments(session.reproduce))(run)
        run()
