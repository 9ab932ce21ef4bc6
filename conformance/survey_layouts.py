"""Survey: the memory layouts of forward outputs on non-contiguous inputs, engine against torch.

For each forward spec (and each of its dtypes with ``--all-dtypes``, else float64 when it has it), derandomized
examples are drawn with every tensor input of two or more elements transposed or sliced (see
:func:`conformance.programs.make_input`) and run forward on both sides; the outputs' :func:`programs.layout` are
compared wherever both sides succeed and agree on the shapes. The first mismatching example of each spec is kept,
and the mismatches grouped by the layouts seen. What the forward property compares one draw in eight.

    python -m conformance.survey_layouts [--ops a,b] [--attempts 20] [--all-dtypes] [--out rows.jsonl]
"""
from __future__ import annotations

import argparse
import collections
import sys
import warnings

from hypothesis import strategies as st

from conformance import examples, programs
from conformance._survey import collect, first_finding
from conformance.engines import load_engine
from conformance.examples import draw_inputs
from conformance.harness import Session, run_one
from conformance.properties import cases

__all__ = ["survey", "summarize"]


def program_layouts(t, fn, inputs, kwargs, extra, obs):
    """Forward, observing every output's layout (whatever the inputs' layouts)."""
    args = [programs.make_input(t, item) for item in inputs]
    outs = programs.flatten_outputs(t, fn(t, *args, **kwargs))
    for index, out in enumerate(outs):
        if isinstance(out, t.Tensor):
            obs[f"out[{index}]"] = (tuple(out.shape), programs.layout(out))


def _survey_one(session: Session, spec, dtype: str, attempts: int) -> dict:
    found: dict = {"tried": 0}

    def body(data) -> bool:
        inputs, kwargs = draw_inputs(data, spec, dtype)
        if all(item.get("layout", "contiguous") == "contiguous" for item in inputs if item["kind"] == "tensor"):
            return False
        reference = run_one(session, session.reference.module, program_layouts, spec.fn, inputs, kwargs, {})
        if reference["error"]:
            return False
        engine = run_one(session, session.engine.module, program_layouts, session.engine.wrap(spec.fn), inputs,
                         kwargs, {})
        if engine["error"]:
            return False
        found["tried"] += 1
        ref, got = reference["obs"], engine["obs"]
        differ = {k: (got.get(k), ref[k]) for k in ref if got.get(k, ref[k])[0] == ref[k][0] and got.get(k) != ref[k]}
        if differ:
            found.update(differ={k: f"{g[1]} vs {r[1]}" for k, (g, r) in differ.items()}, kwargs=repr(kwargs),
                         inputs=[(item.get("shape"), item.get("dtype"), item.get("layout", "contiguous"))
                                 for item in inputs if item["kind"] == "tensor"])
        return bool(differ)

    first_finding(attempts, body)
    return found


def survey(ops: set | None = None, attempts: int = 20, all_dtypes: bool = False, engine: str = "refgrad"):
    """Yield one row per (forward spec, dtype) (``ops``: those specs only): its first layout mismatch, if any."""
    session = Session(engine=load_engine(engine))
    chosen: dict = {}
    for param in cases("forward"):
        spec, dtype = param.values
        if ops is not None and spec.name not in ops:
            continue
        if all_dtypes:
            chosen[(spec.name, dtype)] = (spec, dtype)
        elif spec.name not in chosen or dtype == "float64":
            chosen[spec.name] = (spec, dtype)
    saved = examples.DRAW_LAYOUTS, examples._LAYOUT
    examples.DRAW_LAYOUTS, examples._LAYOUT = True, st.sampled_from(["transposed", "sliced", "contiguous"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for spec, dtype in chosen.values():
                found = _survey_one(session, spec, dtype, attempts)
                yield {"op": spec.name, "family": spec.family, "dtype": dtype,
                       "status": "differ" if "differ" in found else "same" if found["tried"] else "no example",
                       **found}
    finally:
        examples.DRAW_LAYOUTS, examples._LAYOUT = saved


def summarize(rows: list[dict]) -> str:
    """Counts, then the mismatching specs grouped by family."""
    status = collections.Counter(r["status"] for r in rows)
    lines = [f"specs: {len(rows)}; {dict(status)}",
             f"no example: {[r['op'] for r in rows if r['status'] == 'no example']}"]
    by_family = collections.defaultdict(list)
    for row in rows:
        if row["status"] == "differ":
            by_family[row["family"]].append(row)
    for family, group in sorted(by_family.items()):
        lines.append(f"{family}:")
        for row in group:
            lines.append(f"  {row['op']} {row['dtype']} {row['inputs']} {row['kwargs']}: "
                         + "; ".join(f"{k} engine {v}" for k, v in row["differ"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.survey_layouts", description=__doc__.split("\n")[0])
    parser.add_argument("--ops", help="comma-separated spec names (default: every forward spec)")
    parser.add_argument("--attempts", type=int, default=20, help="examples drawn per spec (default 20)")
    parser.add_argument("--all-dtypes", action="store_true", help="every dtype of each spec, not one")
    parser.add_argument("--engine", default="refgrad")
    parser.add_argument("--out", help="also write the rows as JSON lines here")
    args = parser.parse_args(argv)
    rows = collect(survey(set(args.ops.split(",")) if args.ops else None, args.attempts, args.all_dtypes,
                          args.engine), args.out)
    print(summarize(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
