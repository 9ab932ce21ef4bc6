"""Where refgrad's per-op time goes: cProfile over the 100-op elementwise chain (workload ``chain``).

    python -m benchmarks.profile_ops [--steps N] [--top K] [--sort tottime|cumtime]

Prints the top functions by own time, with µs per elementwise op (time / (steps x 100)), so the cost of node
creation, saved tensors, dtype handling and the backward walk can be read off directly. cProfile roughly doubles
the cost of each Python call; the ``scaled`` column rescales own time to the unprofiled total.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

from benchmarks._common import measure
from benchmarks.engines import CHAIN_CYCLES, torch_api_steps, workload_data

OPS_PER_STEP = 4 * CHAIN_CYCLES


def profile_chain(steps: int = 200) -> pstats.Stats:
    """Run refgrad's chain step ``steps`` times under cProfile (after a warm-up) and return the stats."""
    import refgrad

    chain = torch_api_steps(refgrad, workload_data())["chain"]
    chain()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        chain()
    profiler.disable()
    return pstats.Stats(profiler)


def top_functions(stats: pstats.Stats, steps: int, top: int = 25, sort: str = "tottime") -> list[dict]:
    """The ``top`` functions by ``sort``, each with calls per op and µs per op (own and cumulative)."""
    rows = []
    ops = steps * OPS_PER_STEP
    for (filename, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():
        short = filename
        for marker in ("/refgrad/", "/numpy/", "/torch/"):
            if marker in filename:
                short = marker.strip("/") + "/" + filename.split(marker, 1)[1]
                break
        rows.append({"function": f"{short}:{line}({name})", "calls_per_op": calls / ops,
                     "tottime_us_per_op": tottime * 1e6 / ops, "cumtime_us_per_op": cumtime * 1e6 / ops})
    key = "tottime_us_per_op" if sort == "tottime" else "cumtime_us_per_op"
    return sorted(rows, key=lambda row: row[key], reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_ops", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="chain steps to profile (100 ops each)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", choices=("tottime", "cumtime"), default="tottime")
    parser.add_argument("--dump", default=None, help="also write the raw profile here (for snakeviz etc.)")
    args = parser.parse_args(argv)
    import refgrad

    plain = measure(torch_api_steps(refgrad, workload_data())["chain"], repeats=7, min_time=0.1)
    print(f"refgrad chain without profiler: {plain['median'] * 1e6 / OPS_PER_STEP:.1f} µs per op "
          f"(forward+backward, {OPS_PER_STEP} ops per step)")
    stats = profile_chain(args.steps)
    if args.dump:
        stats.dump_stats(Path(args.dump))
    profiled = stats.total_tt * 1e6 / (args.steps * OPS_PER_STEP)
    scale = plain["median"] * 1e6 / OPS_PER_STEP / profiled
    print(f"under cProfile: {profiled:.1f} µs per op; scaled = own x {scale:.2f}")
    print(f"{'µs/op own':>10} {'scaled':>7} {'µs/op cum':>10} {'calls/op':>9}  function")
    for row in top_functions(stats, args.steps, args.top, args.sort):
        print(f"{row['tottime_us_per_op']:10.2f} {row['tottime_us_per_op'] * scale:7.2f} "
              f"{row['cumtime_us_per_op']:10.2f} {row['calls_per_op']:9.2f}  {row['function']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
