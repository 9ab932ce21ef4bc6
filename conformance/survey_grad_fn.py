"""Survey: the grad_fn names of first-order gradients computed with create_graph=True, engine against torch.

For each double_backward spec (float64 when it has it), the first derandomized example whose first-order
gradient torch computes runs on both sides as the double_backward property's first step (a cotangent that
requires grad); the names of each gradient's grad_fn and of its next_functions are compared, and the mismatches
grouped by (engine name, torch name). The double_backward property compares values only: this measures how far
the recorded graphs of the gradients are from torch's.

    python -m conformance.survey_grad_fn [--ops a,b] [--attempts 25] [--out rows.jsonl]

About 10 minutes for every spec on one core (stft.complex alone takes minutes).
"""
from __future__ import annotations

import argparse
import collections
import sys
import warnings

from conformance import programs
from conformance._survey import collect, first_finding
from conformance.engines import load_engine
from conformance.examples import draw_cotangents, draw_inputs
from conformance.harness import Session, run_one
from conformance.properties import cases

__all__ = ["survey", "summarize"]

_NO_GRADIENT = "<no gradient>"


def _name(node):
    return None if node is None else type(node).__name__


def program_grad_fn(t, fn, inputs, kwargs, extra, obs):
    """The double_backward property's first order, observing each gradient's node and its next_functions."""
    args = [programs.make_input(t, item) for item in inputs]
    outs = programs.flatten_outputs(t, fn(t, *args, **kwargs))
    selected, cotangents = programs.differentiable_outputs(t, outs, extra["cotangents"])
    wrt = [a for a in args if isinstance(a, t.Tensor) and a.requires_grad]
    grads = t.autograd.grad(selected, wrt, grad_outputs=cotangents, create_graph=True, allow_unused=True)
    for index, grad in enumerate(grads):
        key = f"grad[{index}]"
        if grad is None:
            obs[key] = _NO_GRADIENT
            continue
        obs[key] = _name(grad.grad_fn)
        obs[key + ".next"] = None if grad.grad_fn is None else [_name(n) for n, _ in grad.grad_fn.next_functions]


def _survey_one(session: Session, spec, dtype: str, attempts: int) -> dict:
    found: dict = {}

    def body(data) -> bool:
        inputs, kwargs = draw_inputs(data, spec, dtype)
        forward = run_one(session, session.reference.module, programs.program_forward, spec.fn, inputs, kwargs, {})
        if forward["error"]:
            return False
        first = [None if item is None else dict(item, requires_grad=True)
                 for item in draw_cotangents(data, forward["obs"])]
        if not any(first):
            return False
        extra = {"cotangents": first}
        reference = run_one(session, session.reference.module, program_grad_fn, spec.fn, inputs, kwargs, extra)
        if reference["error"] or all(v == _NO_GRADIENT for k, v in reference["obs"].items() if k.endswith("]")):
            return False
        engine = run_one(session, session.engine.module, program_grad_fn, session.engine.wrap(spec.fn), inputs,
                         kwargs, extra)
        found.update(torch=reference["obs"], engine=engine["obs"], engine_error=engine["error"], kwargs=repr(kwargs),
                     shapes=[item.get("shape") for item in inputs])
        return True

    first_finding(attempts, body)
    return found


def survey(ops: set | None = None, attempts: int = 25, engine: str = "refgrad"):
    """Yield one row per double_backward spec (``ops``: those only): its names on both sides, or no example."""
    session = Session(engine=load_engine(engine))
    chosen: dict = {}
    for param in cases("double_backward"):
        spec, dtype = param.values
        if ops is None or spec.name in ops:
            if spec.name not in chosen or dtype == "float64":
                chosen[spec.name] = (spec, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (spec, dtype) in chosen.items():
            found = _survey_one(session, spec, dtype, attempts)
            yield {"op": name, "family": spec.family, "dtype": dtype, "status": "ok" if found else "no example",
                   **found}


def summarize(rows: list[dict]) -> str:
    """Counts, then the mismatching specs grouped by their (engine, torch) name pairs."""
    ok = [r for r in rows if r["status"] == "ok" and not r.get("engine_error")]
    failed = [r["op"] for r in rows if r["status"] == "ok" and r.get("engine_error")]
    top, nested = collections.defaultdict(list), collections.defaultdict(list)
    for row in ok:
        ref, got = row["torch"], row["engine"]
        keys = sorted(k for k in ref if not k.endswith(".next"))
        pairs = sorted({f"{got.get(k)} vs {ref.get(k)}" for k in keys if got.get(k) != ref.get(k)})
        if pairs:
            top[" | ".join(pairs)].append(row["op"])
            continue
        pairs = sorted({f"{got.get(k + '.next')} vs {ref.get(k + '.next')}" for k in keys
                        if got.get(k + ".next") != ref.get(k + ".next")})
        if pairs:
            nested[" | ".join(pairs)].append(row["op"])
    lines = [f"specs: {len(rows)}; with an example: {len(ok) + len(failed)}; engine errors: {len(failed)} "
             f"{failed}; names match: {len(ok) - sum(map(len, top.values()))}; next_functions match too: "
             f"{len(ok) - sum(map(len, top.values())) - sum(map(len, nested.values()))}",
             f"no example: {[r['op'] for r in rows if r['status'] != 'ok']}",
             f"grad_fn mismatches (engine vs torch): {sum(map(len, top.values()))} specs"]
    for title, groups in (("", top), ("next_functions only: ", nested)):
        if title:
            lines.append(f"next_functions-only mismatches: {sum(map(len, groups.values()))} specs")
        for pairs, names in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines.append(f"  {len(names):3d}  {pairs} :: {', '.join(names)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.survey_grad_fn", description=__doc__.split("\n")[0])
    parser.add_argument("--ops", help="comma-separated spec names (default: every double_backward spec)")
    parser.add_argument("--attempts", type=int, default=25, help="examples tried per spec (default 25)")
    parser.add_argument("--engine", default="refgrad")
    parser.add_argument("--out", help="also write the rows as JSON lines here")
    args = parser.parse_args(argv)
    rows = collect(survey(set(args.ops.split(",")) if args.ops else None, args.attempts, args.engine), args.out)
    print(summarize(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
