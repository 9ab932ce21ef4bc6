"""The conformance properties and the graph-state machine as module-level ``@given`` tests, for HypoFuzz
campaigns and for replaying them.

HypoFuzz only fuzzes pytest items whose function is a Hypothesis test; the properties in
``conformance/properties/`` build their ``@given`` inside ``conformance.harness.check`` (and need the
``conformance_session`` fixture), so HypoFuzz skips them. These targets run the same trials and the same verdict
(the reproducer is attached as an exception note). The file name does not match ``test_*.py``, so normal test runs
do not collect it; name it explicitly:

    CONFORMANCE_DATABASE=.conformance-db hypothesis fuzz -n 2 -- tests/campaign/fuzz_targets.py
    CONFORMANCE_DATABASE=.conformance-db pytest tests/campaign/fuzz_targets.py --hypothesis-profile ci

``$CONFORMANCE_ENGINE`` names the engine (default refgrad). ``$CONFORMANCE_DATABASE`` is a directory or a
``redis://host:port`` URL; see docs/campaign.md.
"""
from __future__ import annotations

import os
from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase, ReadOnlyDatabase

from conformance import profiles
from conformance.engines import load_engine
from conformance.graph_machine import run_program
from conformance.harness import Divergence, Session, Tracker, make_record, tolerances
from conformance.properties import cases
from conformance.properties.test_double_backward import double_backward_trial
from conformance.properties.test_errors import errors_trial
from conformance.properties.test_forward import forward_trial
from conformance.properties.test_vjp import vjp_trial
from conformance.verdict import compare_outcomes

DATABASE_VAR = "CONFORMANCE_DATABASE"


def campaign_database(location: str | None = None, *, read_only: bool = False) -> ExampleDatabase | None:
    """The shared example database named by ``location`` (default ``$CONFORMANCE_DATABASE``): a directory, or
    ``redis://host:port/db`` (needs ``hypothesis[redis]``). None when unset. ``read_only`` wraps it so a CI
    replay cannot modify the campaign's corpus."""
    location = location if location is not None else os.environ.get(DATABASE_VAR)
    if not location:
        return None
    if location.startswith("redis://"):
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
        database: ExampleDatabase = RedisExampleDatabase(redis.Redis.from_url(location))
    else:
        database = DirectoryBasedExampleDatabase(location)
    return ReadOnlyDatabase(database) if read_only else database


def _install_database() -> ExampleDatabase | None:
    """Make the campaign database the default (HypoFuzz requires every target to use ``settings().database``).
    Under a derandomized profile (``ci``) Hypothesis drops the database, so it is put back, read-only."""
    profiles.register()
    current = settings.get_current_profile_name()
    if settings.default.derandomize:
        return campaign_database(read_only=True)
    database = campaign_database()
    if database is not None:
        settings.register_profile(f"{current}+campaign", settings(settings.default, database=database))
        settings.load_profile(f"{current}+campaign")
    return None


_CI_DATABASE = _install_database()
TRIALS = {"forward": forward_trial, "vjp": vjp_trial, "double_backward": double_backward_trial,
          "errors": errors_trial}


@lru_cache(maxsize=None)
def _session(engine_name: str | None) -> Session:
    return Session(engine=load_engine(engine_name))


def run_example(session: Session, spec, dtype: str, prop: str, data: st.DataObject) -> None:
    """One example of property ``prop``: the harness' trial and verdict; Divergence (with reproducer) on a
    mismatch, unless the spec declares that divergence as known."""
    trial = TRIALS[prop](session, spec, dtype, data)
    if trial is None:
        return
    tol = tolerances(spec)
    mismatches = compare_outcomes(trial.reference, trial.engine, tol)
    if mismatches and prop not in spec.known:
        record = make_record(session, spec.name, spec.family, prop, dtype, trial, mismatches, tol)
        failure = Divergence(record["details"])
        failure.add_note("Reproducer (standalone script):\n" + record["snippet"])
        raise failure


def make_target(prop: str, engine_name: str | None = None):
    """A ``@given`` test ``(spec, dtype, data)`` for ``prop`` against ``engine_name`` (default: the
    ``$CONFORMANCE_ENGINE`` engine)."""

    def target(spec, dtype, data):
        run_example(_session(engine_name), spec, dtype, prop, data)

    target.__name__ = f"test_{prop}"
    wrapped = given(data=st.data())(target)
    return settings(database=_CI_DATABASE)(wrapped) if _CI_DATABASE is not None else wrapped


test_forward = pytest.mark.parametrize(("spec", "dtype"), cases("forward"))(make_target("forward"))
test_vjp = pytest.mark.parametrize(("spec", "dtype"), cases("vjp"))(make_target("vjp"))
test_double_backward = pytest.mark.parametrize(("spec", "dtype"), cases("double_backward"))(
    make_target("double_backward"))
test_errors = pytest.mark.parametrize(("spec", "dtype"), cases("errors"))(make_target("errors"))


def make_graph_target(engine_name: str | None = None):
    """A ``@given`` test ``(dtype, data)`` running one graph-state program (up to the ``nightly`` profile's number
    of rules) against ``engine_name``; Divergence (with reproducer) at the first mismatching statement."""

    def target(dtype, data):
        session = _session(engine_name)
        run_program(session, dtype, Tracker(session), data, profiles.GRAPH_BUDGET["nightly"][1])

    target.__name__ = "test_graph_state"
    wrapped = given(data=st.data())(target)
    return settings(database=_CI_DATABASE)(wrapped) if _CI_DATABASE is not None else wrapped


test_graph_state = pytest.mark.parametrize("dtype", ["float64", "float32"])(make_graph_target())
