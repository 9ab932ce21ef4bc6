"""The float64 replay of graph-state programs (conformance.graph_machine.Widened with conformance.arbitrate's rule).

The point: a float32 dot product that cancels, [1000.1, -1000.1] . [1000.1, 1000.0]. Its float64 value (from the
same float32 numbers) is 99.985581; torch's float32 kernel gives 99.9375, 0.048 off (4.8e-4 relative, beyond
graph state's float32 tolerance of 1.3e-6 relative + 1e-5), so an engine that rounds the float64 value once
(99.98558) mismatches torch there. The replay runs the program on torch with every ``t.float32`` widened and
settles that mismatch; an engine 2e-3 relative off (4x torch's error) still diverges. Cost: ~0.1 s in all.
"""
import pytest

from conformance import graph_machine
from conformance.arbitrate import widen_statement
from conformance.engines import load_engine
from conformance.harness import Divergence, Session, tracked

BROKEN = "tests.conformance.broken_engines"
LEAVES = ["v1 = t.tensor([1000.1, -1000.1], dtype=t.float32, requires_grad=True)",
          "v2 = t.tensor([1000.1, 1000.0], dtype=t.float32, requires_grad=True)"]
PROGRAM = LEAVES + ["v3 = op_matmul(t, v1, v2)", "v4 = v3 * 2", "v4.backward()"]


def _session(engine: str, **kwargs) -> Session:
    return Session(engine=load_engine(f"{BROKEN}:{engine}"), **kwargs)


def test_widen_statement_names_double_precision_dtypes_only():
    assert widen_statement(LEAVES[0]) == LEAVES[0].replace("t.float32", "t.float64")
    assert widen_statement("v2.grad = t.ones_like(v2, dtype=t.complex64); x = t.int64") == \
        "v2.grad = t.ones_like(v2, dtype=t.complex128); x = t.int64"
    assert widen_statement("v1 = at.float32x") == "v1 = at.float32x"


def test_a_rounding_mismatch_is_settled_and_later_steps_compare_against_the_caught_up_replay():
    assert graph_machine.replay(_session("matmul_rounded_once"), PROGRAM) is None


def test_the_same_program_diverges_without_the_replay():
    index, mismatches = graph_machine.replay(_session("matmul_rounded_once", float64_replay=False), PROGRAM)
    assert index == 2 and [m["key"] for m in mismatches] == ["v3.value"]


def test_an_engine_four_times_as_far_off_as_torch_still_diverges():
    index, mismatches = graph_machine.replay(_session("matmul_float32_bias"), PROGRAM)
    assert index == 2 and mismatches[0]["kind"] == "value"


def test_a_replay_that_took_another_path_settles_nothing():
    # a float64 .grad for a float32 leaf: torch raises; widened, the leaf is float64 and the assignment succeeds
    program = LEAVES + ["v1.grad = t.ones_like(v1, dtype=t.float64)", "v3 = op_matmul(t, v1, v2)"]
    assert graph_machine.replay(_session("matmul_rounded_once"), program)[0] == 3


def _search_path(engine: str, **kwargs) -> dict:
    """Run PROGRAM through GraphProgram.step (what the Hypothesis search runs); return the summary record."""
    session = _session(engine, **kwargs)
    with tracked(session, "graph_state", "graph", "graph_state", "float32", "meta::graph-replay") as tracker:
        program = graph_machine.GraphProgram(session, "float32", tracker)
        try:
            for statement in PROGRAM:
                program.step(statement, *statement.split(" = ")[:-1])
        finally:
            program.close()
    return session.recorder.summaries[-1]


def test_the_search_path_settles_and_counts_the_program_once():
    summary = _search_path("matmul_rounded_once")  # v3 and v4 both mismatch torch's: one settled program
    assert summary["status"] == "pass" and summary["noise"] == 1
    assert "v3.value: torch float32 99.9375 | engine float32 99.98558" in summary["noise_example"]


def test_the_search_path_without_the_replay_diverges():
    with pytest.raises(Divergence):
        _search_path("matmul_rounded_once", float64_replay=False)


def test_a_statement_that_raises_on_both_sides_still_settles():
    # the second backward of a freed graph raises on torch, the engine and the replay alike; the values it leaves
    # (v3, v4 again) are compared and settled as at their own statements (graph10: a nightly-sized program had a
    # settled value compared again at a refused backward, and the replay's error had kept it)
    program = PROGRAM + ["v4.backward()"]
    assert graph_machine.replay(_session("matmul_rounded_once"), program) is None
    index, _ = graph_machine.replay(_session("matmul_rounded_once", float64_replay=False), program)
    assert index == 2
