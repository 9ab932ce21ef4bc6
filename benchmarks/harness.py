"""Harness throughput: examples per second per core, the real conformance trial next to a plain Hypothesis loop.

    python -m benchmarks.harness [--ops a,b] [--properties vjp,forward] [--dtypes float64] [--seconds S]
                                 [--engine refgrad] [--full-run] [--out DIR]
    python -m benchmarks.harness --by-property [--ops a,b] [--dtypes float64] [--seconds S] [--programs N]

``--by-property`` measures examples per second of every property (forward, vjp, double_backward, errors) over a
few cheap ops, and the graph-state machine in programs and steps (statements) per second, and writes
``harness_properties.{json,md}``.

For each op spec x property x dtype, in one process (one core):

- **harness**: ``conformance.harness.check`` with the property's trial (``forward_trial``/``vjp_trial``): programs,
  observables, verdict, records, time limit, all of it;
- **plain**: a bare ``@given`` loop drawing the same inputs (``conformance.examples``' strategies) and doing the
  same tensor work on torch and the engine (the vjp loop: forward on torch for the output shapes, then
  ``autograd.grad`` and a fresh ``backward(gradient=)`` on both sides), compared with ``np.allclose``.

Both run under the same Hypothesis settings (derandomized, no database, no shrinking) for the same number of
examples, chosen so the harness side lasts about ``S`` seconds. The ratio harness/plain (examples per second) is
the harness' efficiency; the target is >= 0.8. ``--full-run`` also times ``python -m conformance run --profile
dev --jobs 2`` (all ops, minutes). Results go to ``benchmarks/results/harness.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from benchmarks._common import machine, machine_lines, write
from conformance.engines import load_engine
from conformance.examples import draw_cotangents, draw_inputs
from conformance.harness import Divergence, Session, check
from conformance.properties import cases
from conformance.properties.test_double_backward import double_backward_trial
from conformance.properties.test_errors import errors_trial
from conformance.properties.test_forward import forward_trial
from conformance.properties.test_vjp import vjp_trial
from conformance.specs import get_spec

TRIALS = {"forward": forward_trial, "vjp": vjp_trial, "double_backward": double_backward_trial,
          "errors": errors_trial}
#: ops of the per-property table: cheap tutorial ops (one unary, binaries with and without a number, a
#: reduction, matmul), so the figure is the harness' per-example overhead rather than one expensive op
PROPERTY_OPS = ("exp", "tanh", "add", "mul.scalar", "sum.dim", "matmul")
HYPOTHESIS = {"derandomize": True, "database": None, "phases": [Phase.explicit, Phase.generate], "deadline": None}


def harness_rate(engine, spec, dtype: str, prop: str, examples: int) -> tuple[int, float, bool]:
    """(examples run, seconds, diverged) for the real property over ``spec`` at ``dtype``."""
    session = Session(engine=engine, max_examples=examples, overrides=dict(HYPOTHESIS))
    started = time.perf_counter()
    try:
        check(session, spec, dtype, prop, TRIALS[prop])
    except (Divergence, BaseException) as stop:  # a divergence, or pytest.xfail for a known one
        if isinstance(stop, KeyboardInterrupt):
            raise
    seconds = time.perf_counter() - started
    summary = session.recorder.summaries[-1]
    return summary["examples"], seconds, bool(summary["diverged"])


def graph_state_rate(engine, dtype: str, programs: int) -> dict:
    """Programs and steps per second of the graph-state property (``conformance.graph_machine.check``,
    derandomized, ``programs`` programs of the profile's step budget): each program is a random sequence of
    statements run on torch and the engine, compared after every statement."""
    from conformance import graph_machine

    session = Session(engine=engine, overrides=dict(HYPOTHESIS))
    counted = [0]
    step = graph_machine.GraphProgram.step

    def counting_step(self, *args, **kwargs):  # every statement run on both sides and compared
        counted[0] += 1
        return step(self, *args, **kwargs)

    started, cpu_started = time.perf_counter(), time.process_time()
    graph_machine.GraphProgram.step = counting_step
    try:
        graph_machine.check(session, dtype, "benchmark", programs_=programs)
    except (Divergence, BaseException) as stop:  # a divergence ends the run early: the rate still counts
        if isinstance(stop, KeyboardInterrupt):
            raise
    finally:
        graph_machine.GraphProgram.step = step
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    summary = session.recorder.summaries[-1]
    steps = counted[0]
    return {"property": "graph_state", "dtype": dtype, "programs": summary["examples"], "steps": steps,
            "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "programs_per_s": round(summary["examples"] / seconds, 2),
            "programs_per_cpu_s": round(summary["examples"] / cpu, 2), "steps_per_s": round(steps / seconds, 1),
            "steps_per_cpu_s": round(steps / cpu, 1), "diverged": bool(summary["diverged"])}


def property_rates(engine, ops, dtype: str, seconds: float) -> list[dict]:
    """Harness examples per second for each property over ``ops`` at ``dtype`` (total examples / total time)."""
    rows = []
    for prop in TRIALS:
        examples = spent = cpu = 0.0
        used = []
        for spec, case_dtype, _ in selected_cases(list(ops), [prop], [dtype]):
            harness_rate(engine, spec, case_dtype, prop, 2)  # warm-up
            done, took, _ = harness_rate(engine, spec, case_dtype, prop, 5)
            budget = int(min(2000, max(5, seconds * done / max(took, 1e-6))))
            cpu_started = time.process_time()
            done, took, _ = harness_rate(engine, spec, case_dtype, prop, budget)
            cpu += time.process_time() - cpu_started
            examples, spent = examples + done, spent + took
            used.append(spec.name)
        if used:
            rows.append({"property": prop, "dtype": dtype, "ops": sorted(set(used)), "examples": int(examples),
                         "seconds": round(spent, 3), "cpu_seconds": round(cpu, 3),
                         "examples_per_s": round(examples / spent, 1), "examples_per_cpu_s": round(examples / cpu, 1)})
    return rows


def _build(t, item):
    if item["kind"] == "scalar":
        return item["value"]
    dtype = getattr(t, item["dtype"])
    if 0 in item["shape"]:
        return t.zeros(tuple(item["shape"]), dtype=dtype, requires_grad=item["requires_grad"])
    return t.tensor(item["data"], dtype=dtype, requires_grad=item["requires_grad"])


def _outputs(result) -> list:
    if isinstance(result, (tuple, list)):
        return [leaf for part in result for leaf in _outputs(part)]
    return [result]


def _side(t, spec, inputs, kwargs, cotangent_items):
    """Forward (and, given cotangents, both VJP routes) on module ``t``: a list of arrays, or the error type."""
    with warnings.catch_warnings():  # as the harness: warnings are not compared, and printing them is slow
        warnings.simplefilter("ignore")
        return _side_loud(t, spec, inputs, kwargs, cotangent_items)


def _side_loud(t, spec, inputs, kwargs, cotangent_items):
    try:
        args = [_build(t, item) for item in inputs]
        outs = _outputs(spec.fn(t, *args, **kwargs))
        values = [o.detach().numpy() if isinstance(o, t.Tensor) else np.asarray(o) for o in outs]
        if cotangent_items is None:
            return values
        pairs = [(o, _build(t, c)) for o, c in zip(outs, cotangent_items) if c is not None]
        wrt = [a for a in args if isinstance(a, t.Tensor) and a.requires_grad]
        grads = t.autograd.grad([o for o, _ in pairs], wrt, grad_outputs=[c for _, c in pairs], allow_unused=True)
        args = [_build(t, item) for item in inputs]
        outs = _outputs(spec.fn(t, *args, **kwargs))
        pairs = [(o, _build(t, c)) for o, c in zip(outs, cotangent_items) if c is not None]
        t.autograd.backward([o for o, _ in pairs], grad_tensors=[c for _, c in pairs])
        accumulated = [a.grad for a in args if isinstance(a, t.Tensor) and a.requires_grad]
        return values + [g.numpy() for g in list(grads) + accumulated if g is not None]
    except Exception as error:
        return type(error).__name__


def _agree(reference, engine, rtol: float, atol: float) -> bool:
    if isinstance(reference, str) or isinstance(engine, str):
        return isinstance(reference, str) and isinstance(engine, str)
    return len(reference) == len(engine) and all(
        a.shape == b.shape and np.allclose(b.astype(float), a.astype(float), rtol=rtol, atol=atol, equal_nan=True)
        for a, b in zip(reference, engine))


def plain_rate(engine, spec, dtype: str, prop: str, examples: int) -> tuple[int, float, int]:
    """(examples run, seconds, disagreements) for a bare Hypothesis loop doing the same tensor work."""
    import torch

    rtol, atol = spec.tolerance(dtype)
    counts = {"examples": 0, "disagree": 0}

    @settings(max_examples=examples, suppress_health_check=list(settings.default.suppress_health_check), **HYPOTHESIS)
    @given(st.data())
    def loop(data):
        counts["examples"] += 1
        inputs, kwargs = draw_inputs(data, spec, dtype)
        cotangent_items = None
        if prop == "vjp":
            shapes = _side(torch, spec, inputs, kwargs, None)  # torch's outputs decide the cotangents' shapes
            if not isinstance(shapes, str):
                outs = _outputs(spec.fn(torch, *[_build(torch, i) for i in inputs], **kwargs))
                obs = {"outputs": len(outs)}
                for index, out in enumerate(outs):
                    obs.update({f"out[{index}].dtype": str(out.dtype), f"out[{index}].shape": tuple(out.shape),
                                f"out[{index}].requires_grad": out.requires_grad})
                cotangent_items = draw_cotangents(data, obs)
                if not any(cotangent_items):
                    cotangent_items = None
        reference = _side(torch, spec, inputs, kwargs, cotangent_items)
        got = _side(engine.module, spec, inputs, kwargs, cotangent_items)
        counts["disagree"] += not _agree(reference, got, rtol, atol)

    started = time.perf_counter()
    loop()
    return counts["examples"], time.perf_counter() - started, counts["disagree"]


def measure_case(engine, spec, dtype: str, prop: str, seconds: float) -> dict:
    """Calibrate the example count on the harness, then time both sides for that many examples."""
    harness_rate(engine, spec, dtype, prop, 2)  # warm-up: first calls of an op import and cache things
    done, spent, _ = harness_rate(engine, spec, dtype, prop, 5)
    examples = int(min(2000, max(5, seconds * done / max(spent, 1e-6))))
    harness_examples, harness_seconds, diverged = harness_rate(engine, spec, dtype, prop, examples)
    plain_examples, plain_seconds, disagree = plain_rate(engine, spec, dtype, prop, examples)
    harness_eps, plain_eps = harness_examples / harness_seconds, plain_examples / plain_seconds
    return {"op": spec.name, "property": prop, "dtype": dtype, "max_examples": examples,
            "harness_examples": harness_examples, "harness_seconds": round(harness_seconds, 4),
            "plain_examples": plain_examples, "plain_seconds": round(plain_seconds, 4),
            "diverged": diverged, "plain_disagreements": disagree, "harness_eps": round(harness_eps, 2),
            "plain_eps": round(plain_eps, 2),
            "ratio": round(harness_eps / plain_eps, 3)}


def full_run(jobs: int = 2) -> dict:
    """Wall time of ``python -m conformance run --profile dev --jobs N`` (all ops, all properties)."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "conformance", "run", "--profile", "dev", "--jobs", str(jobs), "--out", out]
        started = time.perf_counter()
        status = subprocess.run(command, capture_output=True, text=True).returncode
        return {"command": " ".join(command[1:]), "seconds": round(time.perf_counter() - started, 1),
                "exit_status": status}


def selected_cases(ops: list[str] | None, props: list[str], dtypes: list[str]) -> list[tuple]:
    """(spec, dtype, property) for every case the properties run, filtered by op names and dtypes."""
    chosen = []
    for prop in props:
        for param in cases(prop):
            spec, dtype = param.values
            if (ops is None or spec.name in ops) and dtype in dtypes:
                chosen.append((spec, dtype, prop))
    return chosen


def overall(rows: list[dict]) -> dict:
    """Total examples / total time on each side, their ratio, and the median per-case ratio."""
    if not rows:
        return {"cases": 0, "harness_eps": 0.0, "plain_eps": 0.0, "ratio": float("nan"), "median_ratio": float("nan")}
    harness_eps = sum(r["harness_examples"] for r in rows) / sum(r["harness_seconds"] for r in rows)
    plain_eps = sum(r["plain_examples"] for r in rows) / sum(r["plain_seconds"] for r in rows)
    return {"cases": len(rows), "harness_eps": harness_eps, "plain_eps": plain_eps, "ratio": harness_eps / plain_eps,
            "median_ratio": statistics.median(r["ratio"] for r in rows)}


def markdown(results: dict) -> str:
    """Per-case table plus the overall figures."""
    lines = ["# Harness throughput", "", "Examples per second on one core: the conformance property (`check` + "
             "trial) vs a plain Hypothesis loop doing the same tensor work. Produced by `python -m benchmarks."
             "harness`.", "",
             "| op | property | dtype | examples | diverged | harness ex/s | plain ex/s | harness/plain |",
             "|---|---|---|---|---|---|---|---|"]
    for row in results["cases"]:
        lines.append(f"| {row['op']} | {row['property']} | {row['dtype']} | {row['harness_examples']} | "
                     f"{'yes' if row['diverged'] else ''} | {row['harness_eps']:.0f} | {row['plain_eps']:.0f} | "
                     f"{row['ratio']:.2f} |")
    lines.append("")
    if not results["cases"]:
        lines = lines[:2] + ["Produced by `python -m benchmarks.harness --by-property`."]
    for label, key in (("all cases", "overall"), ("cases without a divergence", "overall_without_divergences")):
        if not results["cases"]:
            break
        total = results[key]
        lines.append(f"- Overall, {label} ({total['cases']}): harness {total['harness_eps']:.0f} ex/s, plain "
                     f"{total['plain_eps']:.0f} ex/s, ratio {total['ratio']:.2f} (total examples / total time); "
                     f"median per-case ratio {total['median_ratio']:.2f}. Target >= 0.8.")
    if results["cases"]:
        lines.append("- A diverging case pays for the divergence record (reproducer source, replay of the failing "
                     "example): that cost is per divergence, not per example.")
    if results.get("by_property"):
        lines += ["", "## Per property (harness only)", "",
                  f"Examples per second of each property over the ops {', '.join(results['property_ops'])}, "
                  "one core, derandomized; the graph-state machine in programs and statements (steps) per second. "
                  "Per wall-clock second, and per CPU second of the process (what an idle core would give; the "
                  "machine may be shared).", "",
                  "| property | dtype | examples | wall s | CPU s | examples/s | examples/CPU s | steps/s "
                  "| steps/CPU s |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in results["by_property"]:
            if row["property"] == "graph_state":
                lines.append(f"| graph_state (programs) | {row['dtype']} | {row['programs']} | {row['seconds']} | "
                             f"{row['cpu_seconds']} | {row['programs_per_s']:.1f} | {row['programs_per_cpu_s']:.1f} | "
                             f"{row['steps_per_s']:.0f} | {row['steps_per_cpu_s']:.0f} |")
            else:
                lines.append(f"| {row['property']} | {row['dtype']} | {row['examples']} | {row['seconds']} | "
                             f"{row['cpu_seconds']} | {row['examples_per_s']:.0f} | {row['examples_per_cpu_s']:.0f} "
                             "| | |")
    if results.get("full_run"):
        run = results["full_run"]
        lines += ["", f"Full default run: `{run['command']}` took {run['seconds']} s (exit {run['exit_status']})."]
    lines += ["", "Machine:"] + machine_lines(results["machine"]) + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.harness", description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default=None, help="comma-separated spec names (default: all)")
    parser.add_argument("--properties", default="vjp", help="comma-separated, from forward,vjp (default vjp)")
    parser.add_argument("--dtypes", default="float64", help="comma-separated example dtypes (default float64)")
    parser.add_argument("--seconds", type=float, default=0.5, help="target seconds per case on the harness side")
    parser.add_argument("--engine", default="refgrad")
    parser.add_argument("--full-run", action="store_true", help="also time the whole default conformance run")
    parser.add_argument("--by-property", action="store_true",
                        help="only the per-property table (forward, vjp, double_backward, errors over a few cheap "
                             "ops, and the graph-state machine): no harness-vs-plain cases")
    parser.add_argument("--programs", type=int, default=20, help="graph-state programs to run (--by-property)")
    parser.add_argument("--out", default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    engine = load_engine(args.engine)
    if args.by_property:
        ops = args.ops.split(",") if args.ops else list(PROPERTY_OPS)
        rows = []
        for dtype in args.dtypes.split(","):
            rows += property_rates(engine, ops, dtype, args.seconds)
            rows.append(graph_state_rate(engine, dtype, args.programs))
            for row in rows[-len(TRIALS) - 1:]:
                print(json.dumps(row), flush=True)
        results = {"machine": machine(), "engine": args.engine, "seconds_per_case": args.seconds, "cases": [],
                   "overall": overall([]), "overall_without_divergences": overall([]), "by_property": rows,
                   "property_ops": ops}
        text = markdown(results)
        print(text)
        for path in write("harness_properties", results, text, args.out):
            print(f"wrote {path}")
        return 0
    chosen = selected_cases(args.ops.split(",") if args.ops else None, args.properties.split(","),
                            args.dtypes.split(","))
    if not chosen:
        print("no matching cases (see python -m conformance list)", file=sys.stderr)
        return 2
    rows = []
    for spec, dtype, prop in chosen:
        rows.append(measure_case(engine, get_spec(spec.name), dtype, prop, args.seconds))
        row = rows[-1]
        print(f"{row['op']:40s} {prop:8s} {dtype:8s} harness {row['harness_eps']:8.1f} ex/s  plain "
              f"{row['plain_eps']:8.1f} ex/s  ratio {row['ratio']:.2f}", flush=True)
    results = {"machine": machine(), "engine": args.engine, "seconds_per_case": args.seconds, "cases": rows,
               "overall": overall(rows), "overall_without_divergences": overall([r for r in rows if not r["diverged"]])}
    if args.full_run:
        results["full_run"] = full_run()
    text = markdown(results)
    print(text)
    for path in write("harness", results, text, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
