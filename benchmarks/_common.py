"""Shared pieces of the benchmarks: single-threaded BLAS, repeated timing with warm-up, machine facts, output."""
from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def measure(step: Callable[[], object], *, repeats: int = 15, min_time: float = 0.05, warmup: int = 3) -> dict:
    """Time ``step()`` like timeit: ``warmup`` calls, then calibrate ``number`` calls per repeat so one repeat
    lasts at least ``min_time`` s, then ``repeats`` repeats. Returns seconds per call: median, q1, q3, iqr.

    The garbage collector stays on: collecting refgrad's graph cycles is part of its real cost."""
    for _ in range(warmup):
        step()
    number = 1
    while True:
        started = time.perf_counter()
        for _ in range(number):
            step()
        elapsed = time.perf_counter() - started
        if elapsed >= min_time or number >= 1 << 20:
            break
        number = max(number * 2, int(number * min_time / max(elapsed, 1e-9)) + 1)
    per_call = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(number):
            step()
        per_call.append((time.perf_counter() - started) / number)
    q1, median, q3 = statistics.quantiles(per_call, n=4) if len(per_call) > 1 else (per_call[0],) * 3
    return {"median": median, "q1": q1, "q3": q3, "iqr": q3 - q1, "number": number, "repeats": repeats}


def version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    """Cores, CPU model, Python and library versions, thread settings: printed with every result."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    import numpy
    import torch
    return {"cores": os.cpu_count(), "cpu": model, "platform": platform.platform(),
            "python": platform.python_version(), "numpy": numpy.__version__, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "hypothesis": version("hypothesis"),
            "autograd": version("autograd"), "mygrad": version("mygrad"),
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "load_average": _load_average()}


def _load_average() -> str | None:
    """The 1/5/15-minute load averages when the measurement started: on a shared machine, what else was running."""
    try:
        return " / ".join(f"{load:.2f}" for load in os.getloadavg()) + " (1/5/15 min, at the start)"
    except OSError:
        return None


def machine_lines(info: dict) -> list[str]:
    """The machine facts as markdown bullet lines."""
    return [f"- {key}: {value}" for key, value in info.items() if value is not None]


def write(name: str, data: dict, markdown: str, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` into ``out_dir`` (default ``benchmarks/results``)."""
    out_dir = Path(out_dir or RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return json_path, md_path
