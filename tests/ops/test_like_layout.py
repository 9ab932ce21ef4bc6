"""The ``*_like`` factories lay their output out as torch 2.13's (refgrad/factories.py): preserve_format keeps a
non-overlapping and dense input's strides (an empty input's own), lays any other input out densely in the order of
its strides (an expanded, stride-0 dimension keeps its place), and contiguous_format / channels_last as named."""
from __future__ import annotations

import pytest

import refgrad as rg

torch = pytest.importorskip("torch")

INPUTS = [
    "t.ones(3, 4).t()", "t.ones(2, 3, 4).permute(2, 0, 1)", "t.ones(3, 4)[:, ::2]", "t.ones(4, 3).t()[:, ::2]",
    "t.ones(3, 1).expand(3, 4)", "t.ones(1, 3).t().expand(3, 4).t()", "t.ones(3, 4)[1:]",
    "t.ones(2, 3, 4).permute(2, 0, 1)[::2]", "t.ones(3, 1, 4).permute(1, 2, 0)", "t.ones(0, 3).t()",
    "t.ones(3, 0, 2).permute(2, 0, 1)", "t.ones(0, 3)[:, ::2]", "t.tensor(1.)",
    "t.ones(4, 5, 6).permute(1, 2, 0)[:, ::2]",
    "t.ones(3, 1, 4).permute(1, 0, 2)", "t.ones(1, 1).expand(3, 1)", "t.ones(4, 1, 3).permute(2, 1, 0)",
    "t.ones(3, 4).t()[:, None]", "t.ones(2, 3).unsqueeze(1).expand(2, 5, 3)", "t.ones(2, 3, 4, 5).permute(0, 2, 3, 1)",
    "t.ones(2, 3, 4, 5).permute(0, 2, 3, 1)[:, ::2]", "t.ones(6)[::3]",
]
FACTORIES = ["t.zeros_like(x{})", "t.ones_like(x{})", "t.empty_like(x{})", "t.full_like(x, 2{})", "t.rand_like(x{})",
             "t.randn_like(x{})"]
FORMATS = ["", ", memory_format=t.preserve_format", ", memory_format=t.contiguous_format",
           ", memory_format=t.channels_last"]


def _outcome(t, source, code):
    try:
        out = eval(code, {"t": t, "x": eval(source, {"t": t})})
    except Exception as e:  # noqa: BLE001 (the error is the outcome compared)
        return type(e).__name__, str(e)
    return tuple(out.shape), out.stride(), str(out.dtype).split(".")[-1], out.is_contiguous()


@pytest.mark.parametrize("memory_format", FORMATS)
@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("source", INPUTS)
def test_like_layout_matches_torch(source, factory, memory_format):
    code = factory.format(memory_format)
    assert _outcome(rg, source, code) == _outcome(torch, source, code)


@pytest.mark.parametrize("code", ["t.zeros_like(x, memory_format='x')", "t.empty_like(x, memory_format=1)",
                                  "t.full_like(x, 3, dtype=t.int64).sum()"])
def test_like_errors_and_values_match_torch(code):
    def outcome(t):
        try:
            return eval(code, {"t": t, "x": t.ones(3, 4).t()}).tolist()
        except Exception as e:  # noqa: BLE001
            return type(e).__name__, str(e)
    assert outcome(rg) == outcome(torch)
