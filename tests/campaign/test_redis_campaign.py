"""A campaign across processes through a real Redis server: two fuzzing workers share one example database, and
the next derandomized (``ci``) run replays the divergence they found. See docs/campaign.md, "Several machines".

The test starts ``redis-server`` on 127.0.0.1 (a free port, no persistence) and two worker processes. Each
worker is a separate Python process running the conformance harness (random exploration, ``dev`` profile, its own
seed) against ``tests.conformance.broken_engines:exp_vjp_scaled`` (exp's gradient scaled by 1.01: the planted
divergence), with ``RedisExampleDatabase`` as its example database:

1. worker A fuzzes ``vjp|exp|float64`` and worker B fuzzes ``vjp|exp|float32`` (two database keys), at the same
   time, each bounded by an example budget; each saves its shrunk divergence to Redis;
2. then each replays the *other* worker's target with generation switched off (``phases=[explicit, reuse]``): only
   an example from the database can make it diverge, so a divergence there is an example the other process shared;
3. the test process, under the ``ci`` profile (derandomized) with the Redis database read-only, replays each
   divergence as its first example, with the inputs the workers recorded.

Skipped, with the reason, only where no ``redis-server`` binary or ``redis`` package exists outside CI; under
``CI=true`` (where ``.ci/run`` installs Debian's redis-server) a missing server is an error. Cost: ~10 s wall
(the two workers run in parallel; most of it is importing torch in each worker).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from conformance import profiles
from conformance.engines import load_engine
from conformance.harness import Divergence, Session, check
from conformance.properties.test_vjp import vjp_trial
from conformance.specs import get_spec

BROKEN = "tests.conformance.broken_engines:exp_vjp_scaled"
ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"A": "float64", "B": "float32"}  # worker -> the dtype of the exp vjp target it fuzzes
NO_GENERATION = [Phase.explicit, Phase.reuse]


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if _ci():
            pytest.fail(f"{reason}; .ci/run installs it (apt-get install redis-server, pip extra 'conformance')")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_exp_vjp(database, dtype: str, *, max_examples: int, seed: int | None = None, **overrides):
    """The exp vjp property against the broken engine with ``database``: (examples run, divergence record)."""
    session = Session(engine=load_engine(BROKEN), max_examples=max_examples, seed=seed,
                      overrides={"database": database, **overrides})
    try:
        check(session, get_spec("exp"), dtype, "vjp", vjp_trial, nodeid=f"campaign::vjp[exp-{dtype}]")
    except Divergence:
        return session.recorder.summaries[-1]["examples"], session.recorder.divergences[-1]
    except BaseException as stop:  # noqa: BLE001 - unittest.SkipTest when a reuse-only run has nothing to replay
        if isinstance(stop, KeyboardInterrupt):
            raise
    return session.recorder.summaries[-1]["examples"] if session.recorder.summaries else 0, None


def worker(name: str, port: int) -> None:
    """One fuzzing worker (run in its own process): fuzz its target, then replay the other worker's from Redis."""
    import redis
    from hypothesis.extra.redis import RedisExampleDatabase

    client = redis.Redis(host="127.0.0.1", port=port)
    database = RedisExampleDatabase(client)
    profiles.register()
    settings.load_profile("dev")  # random exploration, as a campaign
    mine, other = TARGETS[name], TARGETS["B" if name == "A" else "A"]
    examples, found = run_exp_vjp(database, mine, max_examples=200, seed=1000 + ord(name))
    client.set(f"refgrad-test:done:{name}", 1)
    deadline = time.monotonic() + 60
    while not client.exists(f"refgrad-test:done:{'B' if name == 'A' else 'A'}") and time.monotonic() < deadline:
        time.sleep(0.05)
    replay_examples, replayed = run_exp_vjp(database, other, max_examples=10, phases=NO_GENERATION)
    print(json.dumps({"worker": name, "fuzzed": mine, "examples": examples,
                      "found": None if found is None else found["inputs"],
                      "replayed": other, "replay_examples": replay_examples,
                      "replay_found": None if replayed is None else replayed["inputs"]}))


@pytest.fixture
def redis_port(tmp_path):
    """A private redis-server on 127.0.0.1 (random free port, no persistence), stopped after the test."""
    server = shutil.which("redis-server")
    _require(server is not None, "no redis-server binary on PATH (Debian: apt-get install redis-server)")
    try:
        import redis
    except ImportError:
        redis = None
    _require(redis is not None, "the 'redis' Python package is not installed (pip extra 'conformance')")
    port = _free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def profile():
    profiles.register()
    previous = settings.get_current_profile_name()
    yield settings.load_profile
    settings.load_profile(previous)


def test_two_workers_share_examples_and_ci_replays_them(redis_port, profile):
    import redis
    from hypothesis.database import ReadOnlyDatabase
    from hypothesis.extra.redis import RedisExampleDatabase

    env = dict(os.environ, PYTHONHASHSEED="0")
    workers = [subprocess.Popen([sys.executable, "-c", "import sys; from tests.campaign.test_redis_campaign "
                                 f"import worker; worker({name!r}, {redis_port})"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name in TARGETS]
    reports = {}
    for process in workers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-3000:]
        report = json.loads(out.strip().splitlines()[-1])
        reports[report["worker"]] = report

    client = redis.Redis(host="127.0.0.1", port=redis_port)
    assert len(client.keys("hypothesis-example:*")) >= 2, "the workers saved nothing to Redis"
    for name, report in reports.items():
        assert report["found"] is not None, f"worker {name} did not find the planted divergence"
    # each worker, with generation off, diverged on the other worker's target: the example came from Redis
    for name, other in (("A", "B"), ("B", "A")):
        assert reports[name]["replay_found"] == reports[other]["found"], (name, reports)

    # the next derandomized CI run, given the campaign's database read-only, replays the divergence first
    profile("ci")
    database = ReadOnlyDatabase(RedisExampleDatabase(client))
    for name, dtype in TARGETS.items():
        examples, record = run_exp_vjp(database, dtype, max_examples=10)
        assert record is not None and examples == 1, (name, examples)
        assert record["inputs"] == reports[name]["found"]
