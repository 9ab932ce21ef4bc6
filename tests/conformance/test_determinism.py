"""A derandomized (``ci``) run draws the same examples in every process.

Hypothesis 6.155 mixes literal constants of every *local* module imported so far into generated data, so what a
process had imported when an example ran changed the example: ``python -m conformance run`` in-process had loaded
the CLI and ``conformance.report.*``, an xdist worker had not (``--jobs 1`` and ``--jobs 2`` of one commit drew
different examples: linalg.det / vjp / float64 diverged at its 7th example in one, passed in the other), and two
fresh-clone CI runs of one commit failed on different cells, depending on which worker had first run a test that
imports ``benchmarks`` or makes torch.compile write and import generated modules. Derandomized runs now draw
without that pool (``conformance.profiles.pin_constant_pool``). Each run here is a fresh process with its own
PYTHONHASHSEED, as two CI runs are.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DRAWS = """
import importlib, json, sys
sys.path.insert(0, sys.argv.pop(1))  # where a generated module lives (as torch.compile's under /tmp)
for name in sys.argv[1:]:
    importlib.import_module(name)  # what another kind of process has loaded before its first example
from conformance.engines import load_engine
from conformance.harness import Session, check
from conformance.properties.test_vjp import vjp_trial
from conformance.specs import get_spec

seen = []
def trial(session, spec, dtype, data):
    outcome = vjp_trial(session, spec, dtype, data)
    seen.append(repr((outcome.inputs, outcome.extra)))
    return outcome

session = Session(engine=load_engine("torch"), max_examples=25, overrides={"derandomize": True, "database": None})
for name in ("add", "sum.dim"):
    check(session, get_spec(name), "float64", "vjp", trial, nodeid="determinism::" + name)
print(json.dumps(seen))
"""


def _python(args: list[str], hash_seed: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    env.pop("CONFORMANCE_DATABASE", None)  # a campaign database would be replayed first
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _draws(hash_seed: str, *preimported: str, path: Path = ROOT) -> list[str]:
    done = _python(["-c", DRAWS, str(path), *preimported], hash_seed)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_examples_do_not_depend_on_what_the_process_imported_first():
    plain = _draws("1")
    like_the_cli = _draws("2", "conformance.cli", "conformance.report.diff", "conformance.report.render")
    assert len(plain) == len(like_the_cli) == 50
    assert plain == like_the_cli


def test_examples_do_not_depend_on_constants_of_modules_imported_on_the_way(tmp_path):
    # a local module full of literals, like the code inductor generates and imports from /tmp, or benchmarks/
    literals = ", ".join(repr(v) for v in (0.1234567, 98765.4321, 3.3e-5, -7.77, 2.5e9, 1e-300, 0.999, 6.02e23))
    (tmp_path / "generated_kernel.py").write_text(
        f"FLOATS = [{literals}]\nINTS = [4242, 17, -3, 123456789, 65535, 7]\nNAMES = ['mean', 'sum', 'xyz']\n")
    plain = _draws("1")
    after_generated = _draws("3", "generated_kernel", path=tmp_path)
    assert len(plain) == len(after_generated) == 50
    assert plain == after_generated


def _records(out: Path) -> tuple[dict, dict]:
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    drop = ("run_id", "time")
    divergences, summaries = {}, {}
    for name, table in (("divergences.jsonl", divergences), ("summary.jsonl", summaries)):
        path = out / name
        for line in path.read_text().splitlines() if path.exists() else ():
            record = json.loads(line)
            if record["run_id"] == run_id:
                cell = (record["op"], record["property"], record["dtype"])
                table[cell] = {k: v for k, v in record.items() if k not in drop and k != "seconds"}
    return divergences, summaries


def test_cli_ci_profile_twice_gives_identical_records(tmp_path):
    """The same command twice: in-process, then in an xdist worker (``--jobs 2`` runs the one cell in one)."""
    command = ["-m", "conformance", "run", "--ops", "linalg.det,logaddexp", "--properties", "vjp", "--dtypes",
               "float64", "--profile", "ci", "--seed", "0"]
    first = _python([*command, "--out", str(tmp_path / "first")], "1")
    second = _python([*command, "--jobs", "2", "--out", str(tmp_path / "second")], "2")
    assert first.returncode in (0, 1) and second.returncode == first.returncode, first.stderr + second.stderr
    divergences, summaries = _records(tmp_path / "first")
    assert len(summaries) == 2
    assert _records(tmp_path / "second") == (divergences, summaries)


def test_registering_the_profiles_again_does_not_deepen_the_settings_chain():
    # Session.settings() registers the profiles once per cell; each registration used to derive from the active
    # profile, so a worker's ~1000th cell overflowed the recursion limit inside Hypothesis' settings lookup
    from hypothesis import settings

    from conformance import profiles

    def depth(s):
        count = 0
        while getattr(s, "_fallback", None) is not None:
            s, count = s._fallback, count + 1
        return count

    active = settings.get_current_profile_name()
    try:
        settings.load_profile("ci")
        profiles.register()
        before = depth(settings.default)
        for _ in range(50):
            profiles.register()
        assert depth(settings.default) == before
        assert settings.default.derandomize and settings.default.max_examples == profiles.PROFILES["ci"]
    finally:
        settings.load_profile(active)


CELL = "conformance/properties/test_vjp.py::test_vjp[add-float64]"


def _cell_fingerprints(tmp_path: Path, name: str, *before: str) -> tuple[list[str], subprocess.CompletedProcess]:
    """Digests of the inputs of every example the cell drew, in a ci-profile pytest run of ``before`` then the
    cell, in one process (determinism_helpers.ENGINE records them)."""
    out = tmp_path / f"{name}.txt"
    env = dict(os.environ, PYTHONHASHSEED="0", CONFORMANCE_FINGERPRINTS=str(out))
    env.pop("CONFORMANCE_DATABASE", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "--hypothesis-profile", "ci",
         "--engine", "tests.conformance.determinism_helpers:ENGINE", *before, CELL],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return (out.read_text().splitlines() if out.exists() else []), done


def test_a_cell_draws_the_same_examples_after_a_test_that_loaded_another_hypothesis_profile(tmp_path):
    """torch's test utilities register and load a Hypothesis profile "dev" when imported (tests/test_coverage_doc.py
    imports them with op_db); every later cell of that xdist worker then drew 5 random examples instead of ci's 10
    derandomized ones, so a ci run's examples depended on which worker had run that test. The plugin restores the
    session's profile around every test and flags the test that changed it (an error in this suite)."""
    alone, done = _cell_fingerprints(tmp_path, "alone")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    after, done = _cell_fingerprints(tmp_path, "after", "tests/conformance/determinism_helpers.py")
    assert "ProfileChangedWarning" in done.stdout and "test_imports_torch_testing_internals" in done.stdout, (
        done.stdout[-3000:])  # the perturbing test changed the profile, and was flagged (teardown error)
    assert "2 passed, 1 error" in done.stdout, done.stdout[-3000:]  # its call and the cell passed; its teardown not
    assert len(alone) >= 10  # ci's 10 examples, each through both VJP routes
    assert after == alone


def test_preserved_keeps_the_active_profile_and_ours_across_an_import_like_torchs():
    from hypothesis import settings

    from conformance import profiles

    before = profiles.active()
    ours = settings.get_profile("dev")
    with profiles.preserved():
        # what torch.testing._internal.common_utils does on import
        settings.register_profile("dev", settings(max_examples=10))
        settings.load_profile("dev")
        assert profiles.active() != before
    assert profiles.active() == before
    assert settings.get_profile("dev") is ours
