"""A divergence found by a campaign (random exploration, shared example database) is replayed first by the next
derandomized CI run, once that run is given the same database. Fast: a deliberately broken engine, few examples.

Hypothesis drops the database under ``derandomize=True`` (the ``ci`` profile), and refuses
``settings(derandomize=True, database=...)``; a child of the ``ci`` profile may set ``database=`` though, and
its reuse phase then replays the saved example before generating anything.
"""
import unittest

import pytest
from hypothesis import Phase, errors, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase

from conformance import profiles
from conformance.engines import load_engine
from conformance.harness import Divergence, Session, check
from conformance.properties.test_vjp import vjp_trial
from conformance.specs import get_spec
from tests.campaign.fuzz_targets import campaign_database

BROKEN = "tests.conformance.broken_engines:exp_vjp_scaled"  # exp's gradient scaled by 1.01


@pytest.fixture
def profile():
    """Load a conformance profile for the duration of a test, then restore the previous one."""
    profiles.register()
    previous = settings.get_current_profile_name()
    yield settings.load_profile
    settings.load_profile(previous)


def run(max_examples: int, **overrides) -> tuple[Session, dict | None]:
    """Run the vjp property of exp against the broken engine; the session and its divergence record."""
    session = Session(engine=load_engine(BROKEN), max_examples=max_examples, overrides=overrides)
    try:
        check(session, get_spec("exp"), "float64", "vjp", vjp_trial, nodeid="campaign::vjp[exp-float64]")
    except Divergence:
        return session, session.recorder.divergences[-1]
    return session, None


def test_ci_profile_has_no_database_unless_given_one(profile, tmp_path):
    profile("ci")
    assert Session(engine=load_engine("torch")).settings().database is None
    with pytest.raises(errors.InvalidArgument):
        settings(derandomize=True, database=DirectoryBasedExampleDatabase(str(tmp_path)))
    database = ReadOnlyDatabase(DirectoryBasedExampleDatabase(str(tmp_path)))
    chosen = Session(engine=load_engine("torch"), overrides={"database": database}).settings()
    assert chosen.derandomize and chosen.database is database


def test_campaign_divergence_replays_first_in_ci(profile, tmp_path):
    campaign, empty = tmp_path / "campaign", tmp_path / "empty"
    profile("dev")
    _, found = run(50, database=DirectoryBasedExampleDatabase(str(campaign)))
    assert found is not None, "the campaign did not find the broken VJP"
    assert any(campaign.rglob("*")), "the campaign saved nothing to the shared database"

    profile("ci")
    replay, replayed = run(10, database=campaign_database(str(campaign), read_only=True))
    assert replayed is not None
    assert replay.recorder.summaries[-1]["examples"] == 1, "the saved example was not the first one run"
    assert replayed["inputs"] == found["inputs"] and replayed["extra"] == found["extra"]

    # The replay comes from the database: with generation off, only the database can supply the example.
    only_reuse = [Phase.explicit, Phase.reuse]
    assert run(10, database=campaign_database(str(campaign), read_only=True), phases=only_reuse)[1] is not None
    with pytest.raises(unittest.SkipTest):  # an empty database has nothing to replay: no example runs at all
        run(10, database=campaign_database(str(empty), read_only=True), phases=only_reuse)


def test_fuzz_targets_use_the_same_trials_and_verdict():
    from tests.campaign import fuzz_targets

    assert set(fuzz_targets.TRIALS) == {"forward", "vjp", "double_backward", "errors"}
    session = Session(engine=load_engine(BROKEN))
    with pytest.raises(Divergence):
        from hypothesis import given
        from hypothesis import strategies as st

        @settings(database=None, derandomize=True, max_examples=20)
        @given(st.data())
        def replay(data):
            fuzz_targets.run_example(session, get_spec("exp"), "float64", "vjp", data)

        replay()
