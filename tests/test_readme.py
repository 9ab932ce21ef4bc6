"""The README's generated blocks (op count, headline figures) match the code and the committed report."""
from __future__ import annotations

from pathlib import Path

from conformance.report.readme import BLOCK, blocks

ROOT = Path(__file__).resolve().parent.parent


def test_readme_generated_blocks_are_current() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = {m.group("name"): m.group(0).split("\n", 1)[1].rsplit("\n", 1)[0] for m in BLOCK.finditer(text)}
    assert set(found) == {"ops", "headline"}
    assert found == blocks(ROOT / "reports" / "latest" / "report"), (
        "README is stale: run `python -m conformance.report.readme`")


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = "python -m pip install tox && tox -e tests"
    assert command in readme and command in ci


def test_report_env_writes_only_untracked_files_and_refresh_report_updates_the_committed_one() -> None:
    import configparser
    import subprocess

    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini", encoding="utf-8")
    report = tox["testenv:report"]["commands_pre"] + tox["testenv:report"]["commands"]
    assert "reports/latest" not in report and "conformance-results/report" in report
    ignored = subprocess.run(["git", "check-ignore", "-q", "conformance-results/report/summary.md"], cwd=ROOT)
    assert ignored.returncode == 0, "conformance-results/ must be ignored by git"
    refresh = tox["testenv:refresh-report"]["commands"]
    assert "--out reports/latest/records" in refresh and "conformance.report.readme" in refresh
