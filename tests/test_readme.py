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
