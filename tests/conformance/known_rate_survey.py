"""How often the examples of a known-divergences entry's cells meet it (not collected: not a test_*.py name).

Runs every cell the entry names (op x property x dtype, as the run's ``cases``; graph_state for its own
entries) for ``--examples`` examples each, generation only, and counts the examples whose divergence the entry
matches. A divergence does not stop the cell here: the example is rejected (``hypothesis.reject``) and the search
goes on, so every example counts. The share is what an entry's ``rate`` field states
(:mod:`conformance.report.known`); with no hit, the 95 % upper bound 3 / examples is printed instead.

    python -m tests.conformance.known_rate_survey --entry 67 --examples 200 --seed 1
"""
from __future__ import annotations

import argparse
import json
import time

import hypothesis.core
from hypothesis import Phase
from hypothesis.errors import UnsatisfiedAssumption

from conformance import graph_machine
from conformance.engines import load_engine
from conformance.harness import Session, Tracker, check
from conformance.properties import cases
from conformance.report.known import load_known, pattern_matches

__all__ = ["survey"]

TRIALS = {"forward": ("test_forward", "forward_trial"), "vjp": ("test_vjp", "vjp_trial"),
          "double_backward": ("test_double_backward", "double_backward_trial"),
          "errors": ("test_errors", "errors_trial"), "jvp": ("test_jvp", "jvp_trial"),
          "func": ("test_func", "func_trial")}


def _trial(prop: str):
    module, name = TRIALS[prop]
    return getattr(__import__(f"conformance.properties.{module}", fromlist=[name]), name)


def survey(known_file: str, index: int, examples: int, seed: int, engine: str = "refgrad") -> dict:
    """Examples run and hits of entry ``index`` (1-based) of ``known_file`` in its cells, on ``engine``."""
    entry = load_known(known_file)[index - 1]
    counts = {"examples": 0, "hits": 0, "other": 0, "cells": 0}

    def divergence(self, record):
        counts["hits" if entry.matches(record) else "other"] += 1
        return UnsatisfiedAssumption()  # rejected: the search goes on

    def example(self):
        counts["examples"] += 1

    saved = Tracker.divergence, Tracker.example
    Tracker.divergence, Tracker.example = divergence, example
    hypothesis.core.global_force_seed = seed
    started = time.process_time()
    try:
        session = Session(engine=load_engine(engine), max_examples=examples, shrink_seconds=0,
                          overrides={"database": None, "phases": [Phase.generate]})
        for prop in TRIALS if entry.field("op") != "graph_state" else ["graph_state"]:
            if not pattern_matches(prop, entry.field("property")):
                continue
            if prop == "graph_state":
                for dtype in ("float64", "float32"):
                    if pattern_matches(dtype, entry.field("dtype")):
                        counts["cells"] += 1
                        graph_machine.check(session, dtype, programs_=examples)
                continue
            for param in cases(prop):
                spec, dtype = param.values
                if pattern_matches(spec.name, entry.field("op")) and pattern_matches(dtype, entry.field("dtype")):
                    counts["cells"] += 1
                    check(session, spec, dtype, prop, _trial(prop))
    finally:
        Tracker.divergence, Tracker.example = saved
        hypothesis.core.global_force_seed = None
    rate = counts["hits"] / counts["examples"] if counts["hits"] else None
    return {"entry": index, "seed": seed, **counts, "rate": rate,
            "rate_upper_95": round(3 / counts["examples"], 8) if counts["examples"] and not counts["hits"] else None,
            "cpu_seconds": round(time.process_time() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--known", default="reports/known_divergences.toml")
    parser.add_argument("--entry", type=int, required=True, help="1-based index of the entry in the file")
    parser.add_argument("--examples", type=int, default=200, help="examples per cell")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="refgrad")
    args = parser.parse_args()
    print(json.dumps(survey(args.known, args.entry, args.examples, args.seed, args.engine)))


if __name__ == "__main__":
    main()
