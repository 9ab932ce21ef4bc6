"""First-order gradients computed with create_graph are the node torch records, checked against central
differences in the input and the cotangent (the node's VJP and its VJP's VJP), and their names (and
next_functions') against live torch 2.13. About 1 s.

- value-selecting reductions (max/min/median/nanmedian/kthvalue/mode along a dim, cummax/cummin): torch's
  value_selecting_reduction_backward / cummaxmin_backward, the cotangent scattered into new zeros, a
  ScatterBackward0 (ScatterAddBackward0) node with no edge to the zeros, 0-d inputs included (refgrad returned the
  cotangent itself there);
- sort, msort, topk: torch's value_selecting_reduction_backward too (ScatterBackward0; refgrad had
  IndexPutBackward0);
- select and slice (select, narrow, basic indexing, split, unbind, diff...): SelectBackwardBackward0 and
  SliceBackwardBackward0 (refgrad had IndexPutBackward0)."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_backward_node

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
MATRIX = RNG.permutation(12).reshape(3, 4) / 4.0  # distinct values: no tie moves under a small step
SCALAR = np.array(0.75)

CASES = [  # (id, reduction of a tensor of the library t, input)
    ("max.dim", lambda t, x: t.max(x, 1).values, MATRIX),
    ("min.dim.keepdim", lambda t, x: t.min(x, 0, keepdim=True)[0], MATRIX),
    ("median.dim", lambda t, x: t.median(x, 1).values, MATRIX),
    ("nanmedian.dim", lambda t, x: t.nanmedian(x, 0)[0], MATRIX),
    ("kthvalue", lambda t, x: t.kthvalue(x, 2, 1)[0], MATRIX),
    ("mode", lambda t, x: t.mode(x, 0)[0], MATRIX),
    ("cummax", lambda t, x: t.cummax(x, 1)[0], MATRIX),
    ("cummin", lambda t, x: t.cummin(x, 0)[0], MATRIX),
    ("max.dim.0d", lambda t, x: t.max(x, 0).values, SCALAR),
    ("kthvalue.0d.keepdim", lambda t, x: t.kthvalue(x, 1, 0, keepdim=True)[0], SCALAR),
    ("cummin.0d", lambda t, x: t.cummin(x, 0)[0], SCALAR),
    ("sort", lambda t, x: t.sort(x, 1, descending=True).values, MATRIX),
    ("sort.stable.0d", lambda t, x: t.sort(x, stable=True, dim=0).values, SCALAR),
    ("msort", lambda t, x: t.msort(x), MATRIX),
    ("topk", lambda t, x: t.topk(x, 2, 0, largest=False).values, MATRIX),
    ("topk.0d", lambda t, x: t.topk(x, 1).values, SCALAR),
    ("select", lambda t, x: t.select(x, 1, -2), MATRIX),
    ("getitem.int", lambda t, x: x[1], MATRIX),
    ("getitem.slices", lambda t, x: x[::2, 1:3], MATRIX),
    ("narrow", lambda t, x: t.narrow(x, 1, 1, 2), MATRIX),
    ("split", lambda t, x: t.split(x, [1, 3], 1)[1], MATRIX),
    ("unbind", lambda t, x: t.unbind(x, 1)[2], MATRIX),
    ("diff", lambda t, x: t.diff(x, dim=1), MATRIX),
]


@pytest.mark.parametrize(("fn", "point"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_gradient_node_against_central_differences(fn, point):
    check_backward_node(lambda x: fn(refgrad, x), point)


def _names(t, fn, point):
    x = t.tensor(point, dtype=t.float64, requires_grad=True)
    out = fn(t, x)
    (grad,) = t.autograd.grad(out, x, t.ones_like(out).requires_grad_(), create_graph=True)
    node = grad.grad_fn
    return type(node).__name__, [None if n is None else type(n).__name__ for n, _ in node.next_functions]


@pytest.mark.parametrize(("fn", "point"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_gradient_node_names_are_torchs(fn, point):
    # torch 2.13: ScatterBackward0 [None, UnsqueezeBackward0] (keepdim or 0-d: [None, the cotangent's node]);
    # cummax/cummin: ScatterAddBackward0
    assert _names(refgrad, fn, point) == _names(torch, fn, point)
