"""A cell's verdict (expected or unexpected) must not depend on how long shrinking had.

The cell below diverges for every drawn n >= 1000 (an engine whose ``add`` of a float32 and an int64 tensor
returns float64), and its example input is NaN for n > 1000 but the finite 1000.0 at n = 1000, the minimum a full
shrink reaches.
So the first failing example (n drawn at random, above 1000) falls under a known entry with
``inputs = "nonfinite"`` and the fully shrunk one would not. Run with shrink budget 0 and with a large one, the
verdict of the harness (xfail / Divergence: the plugin's and ``conformance run``'s exit status), the record's
``expected`` flag and the report's ``known`` column must agree. ~1 s.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st

from conformance import programs
from conformance.engines import load_engine
from conformance.examples import tensor_item
from conformance.harness import Divergence, Session, check, run_both
from conformance.records import Recorder
from conformance.report.known import apply_known, input_class, load_known
from conformance.specs import get_spec

ENGINE = "tests.conformance.broken_engines:add_promotes_to_double"
BOUNDARY = 1000


def _trial(session, spec, dtype, data):
    """No divergence below BOUNDARY; at BOUNDARY a finite input, above it a NaN (both diverge on dtype)."""
    n = data.draw(st.integers(0, 10**6), label="n")
    if n < BOUNDARY:
        return None
    value = float("nan") if n > BOUNDARY else float(n)
    inputs = [tensor_item(np.array([value], dtype=np.float32), "float32", False),
              tensor_item(np.array([1], dtype=np.int64), "int64", False)]
    return run_both(session, programs.program_forward, spec.fn, inputs, {}, {})


def _verdict(tmp_path, shrink_seconds: float) -> tuple[str, dict, bool]:
    """(harness outcome, divergence record, report's known flag) of one derandomized run of the cell."""
    known_file = tmp_path / "known.toml"
    known_file.write_text('[[divergence]]\nop = "add"\nproperty = "forward"\ninputs = "nonfinite"\n'
                          'reason = "test: NaN inputs only"\n', encoding="utf-8")
    entries = load_known(known_file)
    session = Session(engine=load_engine(ENGINE), recorder=Recorder(), known=tuple(entries), max_examples=50,
                      shrink_seconds=shrink_seconds, overrides={"derandomize": True, "database": None})
    try:
        check(session, get_spec("add"), "float32", "forward", _trial)
        outcome = "pass"
    except Divergence:
        outcome = "unexpected"
    except pytest.xfail.Exception:
        outcome = "expected"
    (record,) = session.recorder.divergences
    # the report re-matches the file's entries (a record the run did not flag is matched on its shrunk fields)
    report_known = bool(apply_known(pd.DataFrame([record]), entries)["known"].iloc[0])
    return outcome, record, report_known


def test_the_verdict_of_a_cell_does_not_depend_on_the_shrink_budget(tmp_path):
    no_shrink = _verdict(tmp_path, 0.0)
    full_shrink = _verdict(tmp_path, 30.0)
    assert input_class(no_shrink[1]["inputs"]) == "nonfinite"  # the first failing example, unshrunk
    assert no_shrink[0] == full_shrink[0] == "expected"
    assert no_shrink[1]["expected"] and full_shrink[1]["expected"]
    assert no_shrink[2] and full_shrink[2]
    # the reproducer shown is still shrunk, within the first example's class: a NaN input
    assert input_class(full_shrink[1]["inputs"]) == "nonfinite"
    assert full_shrink[1]["input_shapes"] == [[1], [1]]


def test_a_report_matching_with_another_known_file_than_the_run_says_so(tmp_path):
    import json

    from conformance.report import make_report
    from conformance.report.known import known_digest
    from tests.report.records import error_divergence, summary, write_run

    out = tmp_path / "records"
    write_run(out, [summary("add", "vjp", "float64", 5, "diverged")], [error_divergence("add", "vjp", "float64")])
    known = tmp_path / "known.toml"
    known.write_text('[[divergence]]\nop = "add"\nproperty = "vjp"\nreason = "test"\n', encoding="utf-8")
    info = json.loads((out / "run.json").read_text())
    notes = {}
    for had in (None, known):
        info.update(known_file=had and str(had), known_sha1=known_digest(had))
        (out / "run.json").write_text(json.dumps(info), encoding="utf-8")
        notes[had] = make_report(out, known, verdicts=False).notes
    assert any("the run had no known-divergences file" in note for note in notes[None])
    assert notes[known] == []
    known.write_text(known.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert any("has changed since the run: 1 divergence(s)" in note
               for note in make_report(out, known, verdicts=False).notes)
