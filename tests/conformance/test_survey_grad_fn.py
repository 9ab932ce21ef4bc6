"""conformance.survey_grad_fn: one example per spec on both sides, and the summary's grouping. About 2 s."""
from __future__ import annotations

import pytest

from conformance.survey_grad_fn import summarize, survey

pytest.importorskip("torch")


def test_the_survey_reads_both_sides_names():
    rows = {row["op"]: row for row in survey({"nn.functional.nll_loss", "max.dim"}, attempts=5)}
    nll = rows["nn.functional.nll_loss"]
    assert nll["status"] == "ok" and nll["engine_error"] is None
    assert nll["torch"]["grad[0]"] == nll["engine"]["grad[0]"] == "NllLossBackwardBackward0"
    assert rows["max.dim"]["torch"]["grad[0]"] == rows["max.dim"]["engine"]["grad[0]"] == "ScatterBackward0"


def test_the_summary_groups_mismatches_by_name_pair():
    def row(op, engine, torch, engine_next=None, torch_next=None):
        return {"op": op, "status": "ok", "engine_error": None,
                "engine": {"grad[0]": engine, "grad[0].next": engine_next},
                "torch": {"grad[0]": torch, "grad[0].next": torch_next}}
    rows = [row("a", "AddBackward0", "XBackwardBackward0"), row("b", "AddBackward0", "XBackwardBackward0"),
            row("c", "MulBackward0", "MulBackward0", ["AccumulateGrad"], [None]),
            row("d", "MulBackward0", "MulBackward0"), {"op": "e", "status": "no example"}]
    text = summarize(rows)
    assert "names match: 2; next_functions match too: 1" in text
    assert "2  AddBackward0 vs XBackwardBackward0 :: a, b" in text
    assert "1  ['AccumulateGrad'] vs [None] :: c" in text and "no example: ['e']" in text
