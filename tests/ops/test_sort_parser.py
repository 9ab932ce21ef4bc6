"""sort and argsort through torch's argument parser (refgrad/ops/indexing_sort.py): ``stable`` is keyword-only in
its own overload, so a positional dim or descending beside it is refused with torch's TypeError; compared with live
torch 2.13."""
from __future__ import annotations

import pytest

import refgrad

CALLS = [
    "t.sort(x, 0, stable=True)",
    "t.sort(x, 0, stable=None)",
    "t.sort(x, stable=None)",
    "t.sort(x, 0, True, stable=False)",
    "x.sort(0, stable=True)",
    "x.sort(0, True, stable=True)",
    "t.argsort(x, 0, stable=True)",
    "x.argsort(0, stable=True)",
    "t.sort(x, True, stable=True)",
    "t.sort(x, 0, descending=True, stable=True)",
    "t.sort(input=x, dim=0, stable=True)",
    "t.sort(x, 0.5, stable=True)",
    "t.sort(x, 0, False, True)",
    "t.argsort(x, 0, False, True)",
    "x.sort(0, False, True)",
    "x.argsort(0, False, True)",
    "t.argsort(x, stable=True, dim=0)",
    "t.argsort(x, 0, True)",
    "t.argsort(x, stable=None)",
    "x.argsort(stable=None)",
    "t.sort(x, dim=0, stable=True)",
    "x.sort(0, True)",
    "x.sort(stable=True, descending=True)",
    "x.argsort(0, True)",
    "x.argsort(descending=True, stable=False)",
    "t.sort(x)",
    "t.argsort(x, dim=-1, descending=True, stable=True)",
    "t.msort(x)",
    "x.msort()",
    "x.argsort(0, stable=None)",
    "x.sort(axis=0)",
    "t.sort(x, axis=0, descending=True)",
    "t.argsort(x, axis=0, stable=True)",
    "x.argsort(axis=-1, descending=True)",
]


def _outcome(t, call):
    x = t.tensor([3.0, 1.0, 2.0, 1.0])
    try:
        result = eval(call, {"t": t, "x": x})
    except TypeError as error:
        return str(error)
    return [v.tolist() for v in result] if isinstance(result, tuple) else result.tolist()


@pytest.mark.parametrize("call", CALLS)
def test_the_parsers_outcome_is_torchs(call):
    torch = pytest.importorskip("torch")
    assert _outcome(refgrad, call) == _outcome(torch, call)
