"""Meta-tests of the graph-state *search*: a ``ci``-profile run of the graph-state property, with no
hand-written program, must flag every broken engine below, and must stay clean on torch and on a pass-through
proxy of torch. The program that flags a broken engine is replayed on the engine it was made from (refgrad or
torch), which must agree with torch: the divergence is the breakage, not something else. Shrinking is skipped
(``phases=[generate]``) and the run stops at the first divergence, so each broken engine costs only the programs
it takes to find it (printed with ``-s``)."""
from __future__ import annotations

import pytest
from hypothesis import Phase

from conformance import graph_machine, profiles
from conformance.engines import load_engine
from conformance.harness import Divergence, Session

REFGRAD = "tests.conformance.refgrad_engines"
PROXY = "tests.conformance.broken_engines"

#: broken engine -> the unbroken engine it was made from (the program that flags it must agree there)
CASES = {f"{REFGRAD}:{name}": "refgrad" for name in (
    "accumulate_overwrites", "retain_graph_not_enforced", "backward_twice_value_error", "mul_drops_requires_grad",
    "no_grad_ignored", "detach_keeps_graph", "hooks_never_called", "gradient_ignored",
    "inplace_skips_version_counter", "accumulate_skips_leaf_check", "zerotensor_ordinary", "zerotensor_flag_lost",
    "version_error_names_saved_node")}
CASES.update({f"{PROXY}:{name}": "torch" for name in ("backward_overwrites", "no_grad_ignored",
                                                      "backward_twice_message")})


def search(engine: str, dtype: str = "float64"):
    """(divergence record or None, summary record) of a graph-state run with the ``ci`` profile's settings
    (derandomized, its budget), without shrinking."""
    overrides = {"derandomize": True, "database": None, "phases": [Phase.generate]}
    session = Session(engine=load_engine(engine), overrides=overrides)
    count, steps = profiles.GRAPH_BUDGET["ci"]
    try:
        graph_machine.check(session, dtype, f"meta::graph[{engine}]", programs_=count, max_steps=steps)
    except Divergence:
        return session.recorder.divergences[-1], session.recorder.summaries[-1]
    return None, session.recorder.summaries[-1]


@pytest.mark.parametrize("engine", list(CASES), ids=[name.rsplit(".", 1)[-1] for name in CASES])
def test_the_search_finds_the_broken_engine(engine):
    record, summary = search(engine)
    assert record is not None, f"a ci run of the graph-state search did not flag {engine}"
    print(f"\n{engine}: found after {summary['examples']} programs ({len(eval(record['inputs']))} statements in the "
          f"diverging one), {summary['seconds']} s: {record['kind']} at {record['key']}")
    program = eval(record["inputs"])  # noqa: S307 - a list literal written by the harness
    control = graph_machine.replay(Session(engine=load_engine(CASES[engine])), program)
    assert control is None, f"the program flagging {engine} also flags {CASES[engine]}: {control}"
    assert record["snippet"] and record["inputs"].startswith("[")


@pytest.mark.parametrize("engine", ["torch", f"{PROXY}:passthrough", f"{PROXY}:passthrough_wrapper"])
def test_the_search_stays_clean_on_torch(engine):
    record, summary = search(engine)
    assert record is None, record["details"]
    print(f"\n{engine}: {summary['examples']} programs clean in {summary['seconds']} s")
