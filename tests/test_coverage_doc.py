"""docs/coverage.md (refgrad's coverage of torch's differentiable OpInfo names) matches the code: the registry,
the conformance specs and tests/ops. Cost: one import of torch's op_db, about 5 s."""
from __future__ import annotations

from conformance import coverage


def test_coverage_doc_is_current() -> None:
    table = coverage.rows()
    assert len(table) > 400  # the op_db filter still finds torch's differentiable names
    assert coverage.DOC.read_text(encoding="utf-8") == coverage.render(table), (
        "docs/coverage.md is stale: run `python -m conformance.coverage`")


def test_every_missing_name_has_a_reason() -> None:
    table = coverage.rows(["exp", "fft.no_such_transform", "bfloat16", "no_such_op"])
    assert [(r.implemented, r.reason) for r in table] == [
        (True, ""), (False, coverage.REASONS["fft."]), (False, coverage.REASONS["bfloat16"]),
        (False, "not implemented yet")]
