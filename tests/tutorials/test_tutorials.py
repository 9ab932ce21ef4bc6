"""The user's seed tutorials run with refgrad in place of torch and print what torch prints.

Every code cell of every seed runs in order in one namespace (like a notebook), once with ``import torch`` giving
real torch and once giving refgrad. Random factories draw the same fixed values in both runs, so everything
printed must be identical, object addresses aside. Cells whose recorded output does not depend on random values
are also checked against the text the tutorial recorded (this part needs no torch).
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import io
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tests.tutorials.cells import CELLS

SEEDS = Path(__file__).parent / "seeds"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def _lines(seed: str) -> list[str]:
    return (SEEDS / seed).read_text(encoding="utf-8").splitlines()


def cell_code(seed: str, first: int, last: int) -> str:
    return "\n".join(_lines(seed)[first - 1:last])


class _FixedRandom(types.ModuleType):
    """The engine module, except that randn/rand draw from one seeded NumPy generator (same values for both)."""

    def __init__(self, engine) -> None:
        super().__init__(engine.__name__)
        self._engine = engine
        self._rng = np.random.default_rng(2024)

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def _draw(self, sample, size, requires_grad=False, dtype=None, **_):
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
        values = sample(shape).astype(np.float32)
        return self._engine.tensor(values, dtype=dtype or self._engine.float32, requires_grad=requires_grad)

    def randn(self, *size, **kwargs):
        return self._draw(self._rng.standard_normal, size, **kwargs)

    def rand(self, *size, **kwargs):
        return self._draw(self._rng.random, size, **kwargs)


def _run_cell(code: str, namespace: dict) -> str:
    """exec a cell; like a notebook, show the value of a trailing expression."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
            if value is not None:
                print(repr(value))
    return _ADDRESS.sub("0x…", out.getvalue())


def run_tutorial(engine_name: str, seed: str) -> list[str]:
    """The printed output of each cell of ``seed`` with ``import torch`` resolving to ``engine_name``."""
    proxy = _FixedRandom(importlib.import_module(engine_name))
    saved = sys.modules.get("torch")
    sys.modules["torch"] = proxy
    try:
        namespace = {"torch": proxy}  # the blog post's snippets use torch without importing it
        return [_run_cell(cell_code(seed, first, last), namespace) for first, last, _ in CELLS[seed]]
    finally:
        if saved is None:
            sys.modules.pop("torch", None)
        else:
            sys.modules["torch"] = saved


@pytest.mark.parametrize("seed", sorted(CELLS))
def test_tutorial_prints_what_torch_prints(seed: str) -> None:
    pytest.importorskip("torch", reason="the reference output comes from running the cells with torch")
    expected = run_tutorial("torch", seed)
    actual = run_tutorial("refgrad", seed)
    for (first, last, _), want, got in zip(CELLS[seed], expected, actual):
        assert got == want, f"{seed} lines {first}-{last}:\n{cell_code(seed, first, last)}"


_RECORDED = [(seed, index) for seed, cells in sorted(CELLS.items())
             for index, (_, _, recorded) in enumerate(cells) if recorded is not None]


@pytest.mark.parametrize("seed, index", _RECORDED, ids=[f"{s[:3]}-cell{i}" for s, i in _RECORDED])
def test_refgrad_prints_the_recorded_output(seed: str, index: int) -> None:
    first, last = CELLS[seed][index][2]
    recorded = _ADDRESS.sub("0x…", "\n".join(_lines(seed)[first - 1:last])).strip()
    printed = run_tutorial("refgrad", seed)[index].strip()
    assert printed == recorded


def test_every_code_cell_is_covered() -> None:
    """Each ``In [n]:`` marker in the notebooks starts exactly one listed cell (000's magic aside)."""
    for seed, cells in CELLS.items():
        lines = _lines(seed)
        markers = [i + 1 for i, line in enumerate(lines) if re.match(r"In \[\d*\]:", line)]
        starts = [first for first, _, _ in cells]
        for marker in markers:
            code_start = next(i for i in range(marker + 1, len(lines) + 1) if lines[i - 1].strip())
            assert code_start in starts or lines[code_start - 1].startswith("%"), (seed, marker)
