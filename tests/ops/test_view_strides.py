"""The strides torch 2.13 gives the dimensions of a view or reshape (its computeStride, refgrad/_strides.py
view_strides, applied in refgrad/ops/shape.py view_forward): the dimensions are walked from the last in chunks
contiguous among themselves, and each new dimension, size-1 ones included, gets its chunk's base stride times the
elements after it there. NumPy's reshape agrees except on size-1 dimensions, which it gives strides of their own
(``x[:, 1:2].view(2, 2, 1)``: torch (12, 6, 1), NumPy (12, 6, 6)); they are observable through stride(), later
views and mm's choice of gradient formula."""
from __future__ import annotations

import pytest

import refgrad as rg
from tests.ops.test_unsqueeze_strides import _outcome  # (one way to build, run and observe a case)

torch = pytest.importorskip("torch")

SOURCES = [
    "t.ones(6)", "t.ones(2, 3)", "t.ones(3, 2).t()", "t.ones(4, 6)[:, 1:2]", "t.ones(4, 6)[1:2, ::2]",
    "t.ones(4, 6)[1:2, 2:3]", "t.ones(2, 1, 3).movedim(1, 2)", "t.ones(6)[::2]", "t.ones(4, 6)[:, ::2]",
    "t.ones(2, 3, 4).permute(2, 0, 1)", "t.ones(1, 3).expand(4, 3)", "t.ones(())", "t.ones(1, 1, 3)[:, :, ::2]",
]
CODES = [
    "x.view(-1)", "x.view(1, -1)", "x.view(-1, 1)", "x.view(1, -1, 1)", "x.reshape(1, -1)", "x.reshape(-1, 1, 1)",
    "x.flatten()", "x.flatten().view(1, -1, 1)", "x.unflatten(0, (1, -1))", "x.unflatten(-1, (-1, 1))",
    "x.view(*x.shape, 1, 1)", "x.view(1, *x.shape)", "x.view(x.shape)", "x.reshape(x.shape)", "x.squeeze()",
    "x.view(*x.shape, 1).squeeze(-1)", "x.view_as(x)", "x.view(1, *x.shape).view(*x.shape, 1)",
]


# (unflatten of a 0-d tensor: torch 2.13 raises a RuntimeError "unflatten got an unexpected error" carrying its C++
# backtrace, refgrad an IndexError: an error of its own, not a stride)
PAIRS = [(s, c) for s in SOURCES for c in CODES if not (s == "t.ones(())" and "unflatten" in c)]


@pytest.mark.parametrize(("source", "code"), PAIRS)
def test_view_strides_match_torch(source, code):
    assert _outcome(rg, source, code) == _outcome(torch, source, code)


@pytest.mark.parametrize("library", [rg, torch], ids=["refgrad", "torch"])
def test_a_restrided_view_is_a_writable_view_with_a_gradient(library):
    t = library
    base = t.zeros(4, 6, dtype=t.float64, requires_grad=True)
    y = base.clone()[:, 1:2].view(2, 2, 1)
    assert y.stride() == (12, 6, 1)
    (y * t.arange(4.0, dtype=t.float64).view(2, 2, 1)).sum().backward()
    assert base.grad[:, 1].tolist() == [0.0, 1.0, 2.0, 3.0] and base.grad.sum().item() == 6.0
    x = t.zeros(4, 6, dtype=t.float64)
    x[:, 1:2].view(2, 2, 1).add_(1)
    assert x[:, 1].tolist() == [1.0] * 4 and x.sum().item() == 4.0
