"""Same workloads, one process: refgrad, torch (CPU, one thread), HIPS autograd, MyGrad, and hand-written NumPy.

The ``numpy`` column is the same forward and backward written out by hand (no autograd, no checks): the compute
floor, so ``refgrad/numpy`` is the cost of refgrad's bookkeeping.

    python -m benchmarks.engines [--quick] [--engines refgrad,torch,...] [--clock cpu|wall] [--rounds N]
                                 [--out DIR]

Engines are interleaved (every round times each engine once per workload, in rotating order) and timed in
process CPU time by default (``--clock wall`` for wall-clock), so load from other processes on a shared machine
disturbs all engines alike. Prints the minimum and the median time per step over the rounds, the ratios
refgrad/other per workload, and writes ``engines.json`` and ``engines.md`` to ``benchmarks/results/``.
An engine that is not installed is skipped with one line; a workload
an engine cannot express is ``n/a``. Every step returns a float (the loss), so the engines can be cross-checked.
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np

from benchmarks._common import machine, machine_lines, write

WORKLOADS = {
    "mlp": "MLP training step: 64x32 -> tanh 64 -> 10, MSE, SGD update",
    "chain": "100 elementwise ops (tanh, *1.1, +c, sin) on 16 elements, forward+backward",
    "cross_entropy": "cross-entropy of 128x10 logits, forward+backward",
    "conv2d": "conv2d 8x3x16x16 * 8x3x3x3 (valid), sum, forward+backward",
    "double_backward": "grad of sum(grad of sum(tanh(x) * x)), 16 elements",
}
CHAIN_CYCLES = 25  # 4 ops per cycle: 100 ops
Step = Callable[[], float]


def workload_data(seed: int = 0) -> SimpleNamespace:
    """The NumPy inputs every engine starts from (float64)."""
    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        X=rng.standard_normal((64, 32)), Y=np.eye(10)[rng.integers(0, 10, 64)],
        W1=rng.standard_normal((32, 64)) * 0.2, b1=np.zeros(64), W2=rng.standard_normal((64, 10)) * 0.2,
        b2=np.zeros(10), chain=rng.uniform(-1, 1, 16), shift=rng.uniform(-0.1, 0.1, 16),
        logits=rng.standard_normal((128, 10)), target=rng.integers(0, 10, 128),
        image=rng.standard_normal((8, 3, 16, 16)), kernel=rng.standard_normal((8, 3, 3, 3)) * 0.3,
        small=rng.uniform(-1, 1, 16))


def torch_api_steps(t, d: SimpleNamespace) -> dict[str, Step | None]:
    """The workloads written once against torch's API: run on torch and on refgrad alike."""
    F = t.nn.functional

    def leaf(array):
        return t.tensor(array, requires_grad=True)

    X, Y, shift, target = t.tensor(d.X), t.tensor(d.Y), t.tensor(d.shift), t.tensor(d.target)
    params = [leaf(a) for a in (d.W1, d.b1, d.W2, d.b2)]
    chain_x, logits, image, kernel, small = (leaf(a) for a in (d.chain, d.logits, d.image, d.kernel, d.small))

    def mlp():
        W1, b1, W2, b2 = params
        loss = ((t.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2).mean()
        loss.backward()
        with t.no_grad():
            for p in params:
                p -= 0.01 * p.grad
                p.grad = None
        return float(loss)

    def chain():
        y = chain_x
        for _ in range(CHAIN_CYCLES):
            y = t.sin(t.tanh(y) * 1.1 + shift)
        loss = y.sum()
        loss.backward()
        chain_x.grad = None
        return float(loss)

    def cross_entropy():
        loss = F.cross_entropy(logits, target)
        loss.backward()
        logits.grad = None
        return float(loss)

    def conv2d():
        loss = F.conv2d(image, kernel).sum()
        loss.backward()
        image.grad = kernel.grad = None
        return float(loss)

    def double_backward():
        (first,) = t.autograd.grad((t.tanh(small) * small).sum(), small, create_graph=True)
        (second,) = t.autograd.grad(first.sum(), small)
        return float(second.sum())

    return {"mlp": mlp, "chain": chain, "cross_entropy": cross_entropy, "conv2d": conv2d,
            "double_backward": double_backward}


def autograd_steps(d: SimpleNamespace) -> dict[str, Step | None]:
    """HIPS autograd: functional gradients of NumPy code; conv2d via autograd.scipy.signal.convolve."""
    import autograd.numpy as anp
    from autograd import grad, value_and_grad
    from autograd.scipy.special import logsumexp

    params = [d.W1.copy(), d.b1.copy(), d.W2.copy(), d.b2.copy()]
    rows = np.arange(len(d.target))

    def mlp_loss(p):
        return anp.mean((anp.dot(anp.tanh(anp.dot(d.X, p[0]) + p[1]), p[2]) + p[3] - d.Y) ** 2)

    def chain_loss(y):
        for _ in range(CHAIN_CYCLES):
            y = anp.sin(anp.tanh(y) * 1.1 + d.shift)
        return anp.sum(y)

    def ce_loss(z):
        return anp.mean(logsumexp(z, axis=1) - z[rows, d.target])

    mlp_vg, chain_vg, ce_vg = value_and_grad(mlp_loss), value_and_grad(chain_loss), value_and_grad(ce_loss)
    first = grad(lambda x: anp.sum(anp.tanh(x) * x))
    second = grad(lambda x: anp.sum(first(x)))

    def mlp():
        loss, grads = mlp_vg(params)
        for p, g in zip(params, grads):
            p -= 0.01 * g
        return float(loss)

    steps: dict[str, Step | None] = {
        "mlp": mlp, "chain": lambda: float(chain_vg(d.chain)[0]), "cross_entropy": lambda: float(ce_vg(d.logits)[0]),
        "double_backward": lambda: float(np.sum(second(d.small))), "conv2d": None}
    try:
        from autograd.scipy.signal import convolve  # needs scipy

        def conv_loss(image, kernel):  # a true convolution (flipped kernel): same cost as torch's correlation
            return anp.sum(convolve(image, kernel, axes=([2, 3], [2, 3]), dot_axes=([1], [1]), mode="valid"))

        conv_vg = value_and_grad(conv_loss, argnum=(0, 1))
        steps["conv2d"] = lambda: float(conv_vg(d.image, d.kernel)[0])
    except ImportError:
        pass
    return steps


def mygrad_steps(d: SimpleNamespace) -> dict[str, Step | None]:
    """MyGrad: tensors with .backward(); no higher-order derivatives, so no double backward."""
    import mygrad as mg
    from mygrad.nnet import conv_nd, softmax_crossentropy

    params = [mg.tensor(a.copy()) for a in (d.W1, d.b1, d.W2, d.b2)]
    chain_x, logits, image, kernel = (mg.tensor(a) for a in (d.chain, d.logits, d.image, d.kernel))

    def mlp():
        W1, b1, W2, b2 = params
        loss = mg.mean((mg.matmul(mg.tanh(mg.matmul(d.X, W1) + b1), W2) + b2 - d.Y) ** 2)
        loss.backward()
        for p in params:
            p.data -= 0.01 * p.grad
        return float(loss)

    def chain():
        y = chain_x
        for _ in range(CHAIN_CYCLES):
            y = mg.sin(mg.tanh(y) * 1.1 + d.shift)
        loss = mg.sum(y)
        loss.backward()
        return float(loss)

    def cross_entropy():
        loss = softmax_crossentropy(logits, d.target)
        loss.backward()
        return float(loss)

    def conv2d():
        loss = mg.sum(conv_nd(image, kernel, stride=1))
        loss.backward()
        return float(loss)

    return {"mlp": mlp, "chain": chain, "cross_entropy": cross_entropy, "conv2d": conv2d, "double_backward": None}


def numpy_steps(d: SimpleNamespace, grads: dict | None = None) -> dict[str, Step | None]:
    """Hand-written NumPy forward and backward, no autograd: the compute floor every engine pays on top of.

    ``grads``: a dict that receives each step's gradients (what tests compare with torch's)."""
    grads = {} if grads is None else grads
    from numpy.lib.stride_tricks import sliding_window_view

    from refgrad.ops._contract import contract

    params = [d.W1.copy(), d.b1.copy(), d.W2.copy(), d.b2.copy()]
    rows = np.arange(len(d.target))

    def mlp():
        W1, b1, W2, b2 = params
        h = np.tanh(d.X @ W1 + b1)
        r = h @ W2 + b2 - d.Y
        loss = (r * r).mean()
        go = 2 * r / r.size
        gz = (go @ W2.T) * (1 - h * h)
        grads["mlp"] = (d.X.T @ gz, gz.sum(0), h.T @ go, go.sum(0))
        for p, g in zip(params, grads["mlp"]):
            p -= 0.01 * g
        return float(loss)

    def chain():
        y, saved = d.chain, []
        for _ in range(CHAIN_CYCLES):
            t = np.tanh(y)
            z = t * 1.1 + d.shift
            saved.append((t, z))
            y = np.sin(z)
        g = np.ones_like(y)
        for t, z in reversed(saved):
            g = g * np.cos(z) * 1.1 * (1 - t * t)
        grads["chain"] = (g,)
        return float(y.sum())

    def cross_entropy():
        z = d.logits - d.logits.max(1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
        loss = -log_p[rows, d.target].mean()
        grad = np.exp(log_p)
        grad[rows, d.target] -= 1
        grad /= len(rows)
        grads["cross_entropy"] = (grad,)
        return float(loss)

    def conv2d():
        windows = sliding_window_view(d.image, d.kernel.shape[2:], axis=(2, 3))  # n c h w i j
        out = contract("nchwij,ocij->nohw", windows, d.kernel)
        g = np.ones_like(out)
        grad_kernel = contract("nohw,nchwij->ocij", g, windows)
        cols = contract("nohw,ocij->nchwij", g, d.kernel)  # the image's gradient: col2im, one slice per tap
        grad_image = np.zeros_like(d.image)
        h, w = out.shape[2:]
        for i in range(d.kernel.shape[2]):
            for j in range(d.kernel.shape[3]):
                grad_image[:, :, i:i + h, j:j + w] += cols[..., i, j]
        grads["conv2d"] = (grad_image, grad_kernel)
        return float(out.sum())

    def double_backward():
        x = d.small
        t = np.tanh(x)
        slope = 1 - t * t
        second = slope * (2 - 2 * t * x)  # d/dx of d/dx sum(tanh(x) * x) = slope * x + t
        return float(second.sum())

    return {"mlp": mlp, "chain": chain, "cross_entropy": cross_entropy, "conv2d": conv2d,
            "double_backward": double_backward}


def engine_steps(name: str, d: SimpleNamespace) -> dict[str, Step | None]:
    """The workload steps of engine ``name``; ImportError when it is not installed."""
    if name in ("refgrad", "torch"):
        module = importlib.import_module(name)
        if name == "torch":
            module.set_num_threads(1)
        return torch_api_steps(module, d)
    if name == "autograd":
        return autograd_steps(d)
    if name == "mygrad":
        return mygrad_steps(d)
    if name == "numpy":
        return numpy_steps(d)
    raise ValueError(f"unknown engine {name!r}")


ENGINES = ("refgrad", "torch", "autograd", "mygrad", "numpy")  # numpy: hand-written gradients, the floor
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
FULL = {"rounds": 9, "min_time": 0.05, "warmup": 3}
QUICK = {"rounds": 3, "min_time": 0.005, "warmup": 1}


def _calibrate(step: Step, clock, min_time: float, warmup: int) -> int:
    """Calls per timed batch so that one batch lasts at least ``min_time`` s (after ``warmup`` calls)."""
    for _ in range(warmup):
        step()
    number = 1
    while True:
        started = clock()
        for _ in range(number):
            step()
        elapsed = clock() - started
        if elapsed >= min_time or number >= 1 << 20:
            return number
        number = max(number * 2, int(number * min_time / max(elapsed, 1e-9)) + 1)


def _stats(per_call: list[float], number: int) -> dict:
    q1, median, q3 = statistics.quantiles(per_call, n=4) if len(per_call) > 1 else (per_call[0],) * 3
    return {"min": min(per_call), "median": median, "q1": q1, "q3": q3, "iqr": q3 - q1, "number": number,
            "rounds": len(per_call)}


def run(engines=ENGINES, workloads=tuple(WORKLOADS), *, quick: bool = False, clock: str = "cpu",
        rounds: int | None = None, log=print) -> dict:
    """Time every workload on every installed engine, interleaved: each round times one batch of every
    (workload, engine) pair, the engines in a rotating order, so a burst of load on a shared machine hits all
    engines alike. Per pair: the min and the median over rounds of the time per step (seconds)."""
    timing = dict(QUICK if quick else FULL, clock=clock)
    if rounds is not None:
        timing["rounds"] = rounds
    tick = CLOCKS[clock]
    results: dict = {"machine": machine(), "timing": timing, "workloads": {w: WORKLOADS[w] for w in workloads},
                     "skipped": {}, "times": {}, "values": {}}
    steps: dict[str, dict] = {}
    for name in engines:
        try:
            steps[name] = engine_steps(name, workload_data())
        except ImportError as error:
            log(f"skipping {name}: not installed ({error})")
            results["skipped"][name] = str(error)
    pairs = [(w, name) for w in workloads for name in steps if steps[name].get(w) is not None]
    for workload in workloads:
        for name in steps:
            if steps[name].get(workload) is None:
                log(f"{name:9s} {workload:16s} n/a")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about float() of a tensor that requires grad
        number = {}
        for workload, name in pairs:
            step = steps[name][workload]
            results["values"].setdefault(workload, {})[name] = step()
            number[(workload, name)] = _calibrate(step, tick, timing["min_time"], timing["warmup"])
        samples: dict[tuple, list[float]] = {pair: [] for pair in pairs}
        for round_index in range(timing["rounds"]):
            for workload in workloads:
                names = [name for name in steps if (workload, name) in samples]
                shift = round_index % max(len(names), 1)
                for name in names[shift:] + names[:shift]:  # rotate who goes first
                    step, n = steps[name][workload], number[(workload, name)]
                    started = tick()
                    for _ in range(n):
                        step()
                    samples[(workload, name)].append((tick() - started) / n)
    for workload, name in pairs:
        stats = _stats(samples[(workload, name)], number[(workload, name)])
        results["times"].setdefault(workload, {})[name] = stats
        log(f"{name:9s} {workload:16s} {stats['min'] * 1e6:10.1f} us min  {stats['median'] * 1e6:10.1f} us median "
            f"(IQR {stats['iqr'] * 1e6:.1f})")
    return results


def ratios(results: dict) -> dict:
    """refgrad / other engine per workload, from the min over rounds (the least disturbed) and from medians."""
    out: dict = {}
    for workload, times in results["times"].items():
        mine = times.get("refgrad")
        if mine is None:
            continue
        for other, stats in times.items():
            if other != "refgrad":
                out.setdefault(workload, {})[other] = {"min": mine["min"] / stats["min"],
                                                       "median": mine["median"] / stats["median"]}
    return out


def _cell(stats: dict | None) -> str:
    if stats is None:
        return "n/a"
    return f"{stats['min'] * 1e6:,.0f} ({stats['median'] * 1e6:,.0f})"


def markdown(results: dict) -> str:
    """The results as a markdown table: µs per step (min, median in brackets) and refgrad/other ratios."""
    others = [e for e in ENGINES if e != "refgrad" and e not in results["skipped"]
              and any(e in times for times in results["times"].values())]
    table = ratios(results)
    header = ["workload", "refgrad µs"] + [f"{e} µs" for e in others] + [f"refgrad/{e}" for e in others]
    clock = results["timing"].get("clock", "wall")
    lines = ["# refgrad vs other engines", "",
             f"Time per step in µs ({'process CPU' if clock == 'cpu' else 'wall-clock'} time): the minimum over "
             f"{results['timing']['rounds']} interleaved rounds, the median in brackets. Ratio (from the minima) > 1: "
             "refgrad is slower; the ratio of the medians in brackets. `numpy` is hand-written NumPy gradients, no "
             "autograd: the compute floor. Produced by `python -m benchmarks.engines`.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for workload, times in results["times"].items():
        cells = [_cell(times.get(e)) for e in ["refgrad"] + others]
        mine = table.get(workload, {})
        cells += [f"{mine[e]['min']:.2f} ({mine[e]['median']:.2f})" if e in mine else "n/a" for e in others]
        lines.append("| " + " | ".join([workload] + cells) + " |")
    chain = results["times"].get("chain", {}).get("refgrad")
    if chain:
        lines += ["", f"refgrad per elementwise op (chain / 100, forward+backward): "
                      f"{chain['min'] * 1e6 / (4 * CHAIN_CYCLES):.1f} µs"]
    lines += ["", "Workloads:"] + [f"- `{w}`: {text}" for w, text in results["workloads"].items()]
    lines += [f"- skipped: {name} ({why})" for name, why in results["skipped"].items()]
    lines += ["", "Machine:"] + machine_lines(results["machine"]) + [f"- timing: {results['timing']}", ""]
    return "\n".join(lines)


def ratio_lines(results: dict) -> list[str]:
    """One line per workload: refgrad / each other engine (min-based), and whether refgrad is ahead."""
    lines = []
    for workload, by_engine in ratios(results).items():
        parts = [f"{other} {r['min']:.2f}" for other, r in by_engine.items()]
        ahead = all(r["min"] < 1 for other, r in by_engine.items() if other in ("autograd", "mygrad"))
        lines.append(f"refgrad/ {workload:16s} " + "  ".join(parts)
                     + ("" if not {"autograd", "mygrad"} & by_engine.keys() else
                        ("   ahead of autograd and mygrad" if ahead else "   NOT ahead of autograd and mygrad")))
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engines", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke run, noisy numbers)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ",".join(ENGINES))
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="cpu",
                        help="cpu: process CPU time, robust on a shared machine (default); wall: wall-clock time")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 9, --quick 3)")
    parser.add_argument("--out", default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args(argv)
    results = run(args.engines.split(","), args.workloads.split(","), quick=args.quick, clock=args.clock,
                  rounds=args.rounds)
    text = markdown(results)
    print(text)
    print("\n".join(ratio_lines(results)))
    for path in write("engines", results, text, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
