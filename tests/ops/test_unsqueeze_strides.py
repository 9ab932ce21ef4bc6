"""The stride torch 2.13 gives a size-1 dimension that unsqueeze or indexing with None inserts (refgrad/ops/shape.py):
1 as the last dimension, else the extent (size times stride) of the dimension after it; the input's own size-1
dimensions keep their strides (NumPy's reshape gives both strides of its own)."""
from __future__ import annotations

import pytest

import refgrad as rg

torch = pytest.importorskip("torch")

SOURCES = [
    "t.ones(2, 3)", "t.ones(2, 3).t()", "t.ones(2, 3)[:, ::2]", "t.ones(3, 1, 4).permute(1, 0, 2)",
    "t.ones(2, 3, 4).permute(2, 0, 1)", "t.ones(3, 1).expand(3, 4)", "t.ones(4, 5)[::2, 1:]", "t.ones(6)[::3]",
    "t.ones(())", "t.ones(2, 1)", "t.ones(1, 2).t()", "t.ones(4, 6)[:, ::2].t()", "t.ones(0, 3).t()",
    "t.ones(2, 3)[:, 1]", "t.ones(5, 2)[::2].t()[:, :1]",
]
CODES = ["x.unsqueeze({})".format(d) for d in range(-3, 3)] + [
    "x[None]", "x[:, None]", "x[..., None]", "x[None, None]", "x[:, None, None]", "x[None, ..., None]",
    "x[..., None, :]"]


def _outcome(t, source, code):
    x = eval(source, {"t": t})
    try:
        y = eval(code, {"x": x})
    except Exception as e:  # noqa: BLE001 (the error is the outcome compared)
        return type(e).__name__
    return tuple(y.shape), y.stride(), y.is_contiguous(), y._is_view()


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("source", SOURCES)
def test_unsqueeze_strides_match_torch(source, code):
    assert _outcome(rg, source, code) == _outcome(torch, source, code)


@pytest.mark.parametrize("library", [rg, torch], ids=["refgrad", "torch"])
def test_a_restrided_unsqueeze_is_a_writable_view_with_a_gradient(library):
    t = library
    base = t.arange(6.).reshape(2, 3)
    view = base.t()[..., None]
    view.mul_(2)
    assert base.tolist() == [[0., 2., 4.], [6., 8., 10.]] and view.stride() == (1, 3, 1)
    x = t.arange(6., requires_grad=True)
    (x.reshape(2, 3).t()[..., None] * t.arange(6.).reshape(3, 2, 1)).sum().backward()
    assert x.grad.tolist() == [0., 2., 4., 1., 3., 5.]
