"""pytest plugin: ``--engine MODULE`` and friends, the ``conformance_session`` fixture, run metadata.

Load it with ``-p conformance.plugin`` (or through the ``pytest11`` entry point), then e.g.
``pytest --pyargs conformance --engine mypkg --hypothesis-profile ci --conformance-out results/``.
"""
from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conformance import profiles  # registers the Hypothesis profiles on import
from conformance.engines import EngineError, default_engine_name, load_engine, reference
from conformance.harness import Session
from conformance.records import DEFAULT_PROPERTIES, PROPERTIES, RUN, Recorder, read_jsonl

_PROPERTY_OF = {f"test_{name}": name for name in PROPERTIES}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "differential conformance against torch.autograd")
    group.addoption("--engine", default=None, metavar="MODULE",
                    help="engine under test, MODULE or MODULE:ATTRIBUTE (default: $CONFORMANCE_ENGINE or refgrad)")
    group.addoption("--conformance-out", default=None, metavar="DIR", help="write JSON-lines records to DIR")
    group.addoption("--conformance-ops", default=None, metavar="OPS", help="comma-separated spec names to run")
    group.addoption("--conformance-dtypes", default=None, metavar="DTYPES",
                    help="comma-separated example dtypes to run (float64,float32,int64,bool)")
    group.addoption("--conformance-properties", default=None, metavar="PROPS",
                    help="comma-separated properties to run, or `all` (default: all but the opt-in jvp,func)")
    group.addoption("--conformance-max-examples", type=int, default=None, metavar="N",
                    help="examples per op x property x dtype (overrides the Hypothesis profile)")
    group.addoption("--conformance-timeout", type=float, default=20.0, metavar="SECONDS",
                    help="time limit for one example on one side (default 20)")
    group.addoption("--conformance-reproduce", default=None, metavar="BLOB",
                    help="replay one record's @reproduce_failure(...) text (select its op/property/dtype too)")
    group.addoption("--conformance-known", default=None, metavar="FILE",
                    help="known-divergences TOML file: divergences matching an entry are expected (xfail)")
    group.addoption("--conformance-run-id", default=None, help="run id written into every record (CLI sets it)")
    group.addoption("--conformance-shrink-seconds", type=float, default=60.0, metavar="SECONDS",
                    help="shrinking budget of the first divergence of a root cause (later ones: 0.5 s)")
    group.addoption("--conformance-no-float64-replay", dest="conformance_float64_replay", action="store_false",
                    help="count low-precision mismatches a float64 replay would settle as rounding as divergences")
    group.addoption("--conformance-database", default=None, metavar="DIR",
                    help="Hypothesis example database directory (default $CONFORMANCE_DATABASE, else the profile's)")


def _run_id(config: pytest.Config) -> str:
    worker = getattr(config, "workerinput", None)
    if worker and worker.get("conformance_run_id"):
        return worker["conformance_run_id"]
    if not getattr(config, "_conformance_run_id", None):
        config._conformance_run_id = config.getoption("conformance_run_id") or uuid.uuid4().hex[:12]
    return config._conformance_run_id


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: share the run id with workers."""
    node.workerinput["conformance_run_id"] = _run_id(node.config)


def pytest_configure(config: pytest.Config) -> None:
    config._conformance_started = time.time()
    out = config.getoption("conformance_out")
    if out and _is_controller(config):
        recorder = Recorder(out)
        recorder.write_run(_run_info(config))


def pytest_sessionstart(session: pytest.Session) -> None:
    """A derandomized profile (``ci``) draws without local-module constants in every test of the session, the
    suite's own Hypothesis tests included (after Hypothesis' plugin has loaded the profile in its configure).
    The profile active now is the session's: :func:`pytest_runtest_setup` keeps it active."""
    from hypothesis import settings

    session.config._conformance_profile = profiles.active()
    if settings.default.derandomize:
        profiles.pin_constant_pool()


class ProfileChangedWarning(pytest.PytestWarning):
    """Something changed the session's active Hypothesis profile (it was restored)."""


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every test runs under the session's Hypothesis profile, whatever ran before it in this process.

    The active profile is process-wide: a test that left another one loaded (importing torch's op_db does: its
    ``torch.testing._internal.common_utils`` registers and loads a ``dev`` profile of its own) made every later
    test of its xdist worker draw other examples, random ones once conformance re-registered its own ``dev``, so
    a ci run's examples depended on which worker had run that test. Restored before each test and after it (its
    fixtures torn down), with a :class:`ProfileChangedWarning` naming the test (an error in this project's
    own suite: see pyproject.toml)."""
    _keep_profile(item, "before")


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    _keep_profile(item, "after")


def _keep_profile(item: pytest.Item, when: str) -> None:
    expected = getattr(item.config, "_conformance_profile", None)
    was = None if expected is None else profiles.restore(expected)
    if was is not None:
        item.warn(ProfileChangedWarning(
            f"the active Hypothesis profile was {was.name!r} {when} this test instead of the session's "
            f"{expected.name!r} (restored, so that later tests draw the examples they draw alone)"))


def _run_info(config: pytest.Config) -> dict:
    from conformance.report.known import known_digest
    name = config.getoption("engine") or default_engine_name()
    known = config.getoption("conformance_known")
    try:
        engine_version = load_engine(name).version
    except EngineError as error:
        engine_version = f"unavailable ({error})"
    return {"run_id": _run_id(config), "engine": name, "engine_version": engine_version,
            "torch_version": reference().version, "python": sys.version.split()[0],
            "python_hash_seed": os.environ.get("PYTHONHASHSEED"),
            "seed": config.getoption("hypothesis_seed", None),
            "profile": config.getoption("hypothesis_profile", None) or "dev",
            "max_examples": config.getoption("conformance_max_examples"), "argv": sys.argv,
            "float64_replay": config.getoption("conformance_float64_replay"),
            "known_file": known, "known_sha1": known_digest(known),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ops = config.getoption("conformance_ops")
    props = config.getoption("conformance_properties")
    dtypes = config.getoption("conformance_dtypes")
    wanted_ops = set(ops.split(",")) if ops else None
    wanted_props = (set(PROPERTIES) if props == "all" else set(props.split(",")) if props
                    else set(DEFAULT_PROPERTIES))  # opt-in ones only when named
    wanted_dtypes = set(dtypes.split(",")) if dtypes else None
    keep, drop = [], []
    for item in items:
        module = getattr(getattr(item, "module", None), "__name__", "")
        prop = _PROPERTY_OF.get(getattr(item, "originalname", item.name))
        if prop is None or not module.startswith("conformance.properties."):
            keep.append(item)
            continue
        params = item.callspec.params if hasattr(item, "callspec") else {}
        spec = params.get("spec")
        dtype_ok = wanted_dtypes is None or params.get("dtype") in wanted_dtypes
        op_ok = wanted_ops is None or (spec is not None and spec.name in wanted_ops) or (
            spec is None and "graph_state" in wanted_ops)
        prop_ok = wanted_props is None or prop in wanted_props
        (keep if op_ok and prop_ok and dtype_ok else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    name = config.getoption("engine") or default_engine_name()
    return f"conformance: engine {name} vs torch {reference().version}"


@pytest.fixture(scope="session")
def conformance_session(pytestconfig: pytest.Config) -> Session:
    """The engine under test, the torch reference and the recorder, shared by all property tests."""
    try:
        engine = load_engine(pytestconfig.getoption("engine"))
    except EngineError as error:
        pytest.fail(f"conformance: {error}", pytrace=False)
    seed = pytestconfig.getoption("hypothesis_seed", None)
    return Session(engine=engine, recorder=Recorder(pytestconfig.getoption("conformance_out")),
                   run_id=_run_id(pytestconfig), seed=int(seed) if seed is not None else None,
                   max_examples=pytestconfig.getoption("conformance_max_examples"),
                   timeout=pytestconfig.getoption("conformance_timeout"),
                   profile=pytestconfig.getoption("hypothesis_profile", None) or "dev",
                   reproduce=pytestconfig.getoption("conformance_reproduce"),
                   known=_known_entries(pytestconfig.getoption("conformance_known")),
                   shrink_seconds=pytestconfig.getoption("conformance_shrink_seconds"),
                   database=pytestconfig.getoption("conformance_database"),
                   float64_replay=pytestconfig.getoption("conformance_float64_replay"))


def _known_entries(path: str | None) -> tuple:
    if not path:
        return ()
    from conformance.report.known import KnownFileError, load_known
    try:
        return tuple(load_known(path))
    except KnownFileError as error:
        raise pytest.UsageError(f"conformance: {error}") from None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    out = config.getoption("conformance_out")
    if not out or not _is_controller(config):
        return
    recorder = Recorder(out)
    recorder.prune_pending()
    path = Path(out) / RUN
    info = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    divergences = read_jsonl(Path(out) / "divergences.jsonl")
    info.update(finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                seconds=round(time.time() - config._conformance_started, 1), pytest_exit_status=int(exitstatus),
                divergences=len(divergences),
                unexpected_divergences=sum(1 for d in divergences if not d.get("expected")))
    recorder.write_run(info)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    out = config.getoption("conformance_out")
    if out and _is_controller(config):
        count = len(read_jsonl(Path(out) / "divergences.jsonl"))
        terminalreporter.write_line(f"conformance: {count} divergence record(s) in {out}")
