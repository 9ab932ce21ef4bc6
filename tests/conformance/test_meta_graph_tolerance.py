"""graph_state's float32 tolerance (assert_close's rtol 1.3e-6, atol 1e-5; 1e-4 relative before graph10) against a
small planted graph bug: ``refgrad_engines:accumulate_float32_bias`` scales every float32 gradient AccumulateGrad
stores or adds by 1 + 1e-5 (10x torch's own float32 rtol).

The ``ci``-profile search (derandomized, no shrinking; test_meta_graph_search.search) finds it at float32 after
21 programs (measured 2026-12-07). At the old tolerance the whole ci search (300 programs, 354 drawn) missed it;
here the program that flags it is replayed at the old tolerance, where it agrees with torch, and on refgrad, where
it agrees at the new one. Cost: ~1 s (the search stops at the divergence).
"""
from __future__ import annotations

from conformance import graph_machine
from conformance.engines import load_engine
from conformance.harness import Session
from tests.conformance.test_meta_graph_search import search

ENGINE = "tests.conformance.refgrad_engines:accumulate_float32_bias"
OLD = (1e-4, 1e-5)


def test_the_search_finds_a_small_float32_accumulation_bias(monkeypatch):
    record, summary = search(ENGINE, "float32")
    assert record is not None, "a ci run of the graph-state search did not flag a 1e-5 accumulation bias"
    print(f"\n{ENGINE}: found after {summary['examples']} programs: {record['kind']} at {record['key']}")
    assert record["kind"] == "value" and record["key"].endswith(".grad.value")
    program = eval(record["inputs"])  # noqa: S307 - a list literal written by the harness
    assert graph_machine.replay(Session(engine=load_engine("refgrad")), program) is None
    monkeypatch.setitem(graph_machine.TOLERANCE, "float32", OLD)
    assert graph_machine.replay(Session(engine=load_engine(ENGINE)), program) is None, \
        "the old tolerance flags the program too: the new one is not what finds the bias"
