"""Survey of graph state's float32 tolerance (not collected: the name is not test_*.py).

Runs ``--programs`` random graph-state programs (the property's own :func:`graph_machine.run_program`, one
Hypothesis run with ``--seed``, generation only) on an engine with graph_machine's float32 tolerance set to
``--rtol``/``--atol``, each program in its own tracker, and counts per program:

- ``old``: a statement mismatched torch at the tolerance in force before (``OLD``, without the replay);
- ``before``: a statement mismatched torch at the surveyed tolerance (before the float64 replay);
- ``after``: a mismatch the float64 replay did not settle (the program's divergence; it stops there), also
  counted by kind (``kinds``: value, zerotensor...).

``old`` counts only statements that the program reached, so it is a lower bound once ``after`` stopped one.
The programs drawn do not depend on the tolerance (every draw reads torch's side only), so runs with the same
seed and another tolerance run the same programs up to their first divergence.

    python -m tests.conformance.graph_tolerance_survey --seed 1 --programs 1000 --dtype float32 --rtol 1.3e-6
"""
from __future__ import annotations

import argparse
import json
import time

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conformance import graph_machine
from conformance.engines import load_engine
from conformance.harness import Divergence, Session, Tracker
from conformance.verdict import compare_outcomes

__all__ = ["OLD", "survey"]

#: graph state's float32 tolerance before this survey (rtol, atol)
OLD = (1e-4, 1e-5)


def survey(engine: str, dtype: str, programs: int, seed_: int, rtol: float, atol: float,
           max_steps: int = 20) -> dict:
    """The counts above, and the first few unsettled divergences (their last statement, key and details)."""
    graph_machine.TOLERANCE["float32"] = (rtol, atol)
    session = Session(engine=load_engine(engine))
    counts = {"programs": 0, "old": 0, "before": 0, "after": 0, "settled": 0, "statements": 0}
    examples: list[dict] = []
    kinds: dict[str, int] = {}  # the divergences' kinds (value, zerotensor...)
    flags: dict[str, bool] = {}
    settle = graph_machine.GraphProgram.settle

    def counting_settle(self, mismatches, reference, candidate, names):
        flags["before"] = True
        old = dict(graph_machine.TOLERANCE, float32=OLD)
        if compare_outcomes(reference, candidate, old):
            flags["old"] = True
        kept = settle(self, mismatches, reference, candidate, names)
        flags["settled"] = flags.get("settled", False) or len(kept) < len(mismatches)
        return kept

    graph_machine.GraphProgram.settle = counting_settle

    @seed(seed_)
    @settings(max_examples=programs, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        flags.clear()
        tracker = Tracker(session)
        try:
            counts["statements"] += graph_machine.run_program(session, dtype, tracker, data, max_steps)
        except Divergence:
            counts["after"] += 1
            kinds[tracker.last["kind"]] = kinds.get(tracker.last["kind"], 0) + 1
            if len(examples) < 5:
                record = tracker.last
                examples.append({"statement": record["scenario"], "key": record["key"], "kind": record["kind"],
                                 "details": record["details"][:400], "program": record["inputs"]})
        counts["programs"] += 1
        for flag in ("old", "before", "settled"):
            counts[flag] += flags.get(flag, False)

    started = time.process_time()
    try:
        run()
    finally:
        graph_machine.GraphProgram.settle = settle
    return {"engine": engine, "dtype": dtype, "seed": seed_, "rtol": rtol, "atol": atol, **counts,
            "kinds": kinds, "cpu_seconds": round(time.process_time() - started, 1), "divergences": examples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="refgrad")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rtol", type=float, default=OLD[0])
    parser.add_argument("--atol", type=float, default=OLD[1])
    parser.add_argument("--max-steps", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(survey(args.engine, args.dtype, args.programs, args.seed, args.rtol, args.atol,
                            args.max_steps)))


if __name__ == "__main__":
    main()
