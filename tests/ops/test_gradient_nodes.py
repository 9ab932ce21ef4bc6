"""First-order gradients computed with create_graph are the node torch records, checked against central
differences in the input and the cotangent (the node's VJP and its VJP's VJP), and their names (and
next_functions') against live torch 2.13. About 1 s.

- value-selecting reductions (max/min/median/nanmedian/kthvalue/mode along a dim, cummax/cummin): torch's
  value_selecting_reduction_backward / cummaxmin_backward, the cotangent scattered into new zeros, a
  ScatterBackward0 (ScatterAddBackward0) node with no edge to the zeros, 0-d inputs included (refgrad returned the
  cotangent itself there);
- full max/min/median/nanmedian: torch's evenly_distribute_backward, new zeros masked_fill-ed with g / count
  (MaskedFillBackward1; refgrad had MulBackward0);
- sort, msort, topk: torch's value_selecting_reduction_backward too (ScatterBackward0; refgrad had
  IndexPutBackward0);
- select and slice (select, narrow, basic indexing, split, unbind, diff...): SelectBackwardBackward0 and
  SliceBackwardBackward0 (refgrad had IndexPutBackward0);
- pooling, reflection/replication padding and upsampling: torch's <kernel>BackwardBackward0, with an edge to the
  kernel's input where torch's backward kernel takes it (refgrad had AddBackward0 over ZerosLikeBackward0, or
  SparseMapAdjointBackward0), and torch's forward-mode tangent of that gradient."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_backward_node

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
MATRIX = RNG.permutation(12).reshape(3, 4) / 4.0  # distinct values: no tie moves under a small step
SCALAR = np.array(0.75)
IMAGE = RNG.permutation(2 * 2 * 4 * 4).reshape(2, 2, 4, 4) / 8.0  # (N, C, H, W), distinct values
SIGNAL = RNG.permutation(2 * 2 * 6).reshape(2, 2, 6) / 8.0
VOLUME = RNG.permutation(2 * 4 * 4 * 2).reshape(1, 2, 4, 4, 2) / 8.0

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
    ("max_pool2d", lambda t, x: t.nn.functional.max_pool2d(x, 2, 1), IMAGE),
    ("max_pool1d", lambda t, x: t.nn.functional.max_pool1d(x, 3, 2, 1), SIGNAL),
    ("max_pool3d", lambda t, x: t.nn.functional.max_pool3d(x, 2), VOLUME),
    ("avg_pool2d", lambda t, x: t.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False), IMAGE),
    ("adaptive_avg_pool1d", lambda t, x: t.nn.functional.adaptive_avg_pool1d(x, 4), SIGNAL),
    ("adaptive_max_pool2d", lambda t, x: t.nn.functional.adaptive_max_pool2d(x, (3, 2)), IMAGE),
    ("pad.reflect", lambda t, x: t.nn.functional.pad(x, (1, 2, 2, 1), mode="reflect"), IMAGE),
    ("pad.replicate", lambda t, x: t.nn.functional.pad(x, (2, 1), mode="replicate"), SIGNAL),
    ("pad.constant", lambda t, x: t.nn.functional.pad(x, (1, -1, 0, 2), value=1.5), IMAGE),
    ("interpolate.nearest", lambda t, x: t.nn.functional.interpolate(x, scale_factor=1.5), SIGNAL),
    ("interpolate.bilinear", lambda t, x: t.nn.functional.interpolate(x, size=(5, 3), mode="bilinear"), IMAGE),
    ("interpolate.trilinear", lambda t, x: t.nn.functional.interpolate(x, size=(3, 5, 3), mode="trilinear",
                                                                       align_corners=True), VOLUME),
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


EVENLY = [  # (id, full reduction, input with ties)
    ("max", lambda t, x: x.max(), MATRIX),
    ("min.ties", lambda t, x: x.min(), np.array([[1.0, 0.5], [0.5, 2.0]])),
    ("median.nan", lambda t, x: x.median(), np.array([[1.0, np.nan], [0.5, 2.0]])),
    ("nanmedian.ties", lambda t, x: x.nanmedian(), np.array([[1.0, np.nan, 1.0], [0.5, 2.0, 1.0]])),
]


@pytest.mark.parametrize(("fn", "point"), [c[1:] for c in EVENLY[:1]], ids=[c[0] for c in EVENLY[:1]])
def test_the_evenly_distributed_gradient_against_central_differences(fn, point):
    check_backward_node(lambda x: fn(refgrad, x), point)  # (no tie within a step: MATRIX's values are distinct)


@pytest.mark.parametrize(("fn", "point"), [c[1:] for c in EVENLY], ids=[c[0] for c in EVENLY])
def test_the_evenly_distributed_gradient_is_torchs(fn, point):
    # torch 2.13: MaskedFillBackward1 over DivBackward0; next_functions are not compared: refgrad's masked_fill
    # also records an edge (None) for its mask, torch's does not (a survey finding of its own)
    results = []
    for t in (torch, refgrad):
        x = t.tensor(point, dtype=t.float64, requires_grad=True)
        out = fn(t, x)
        (grad,) = t.autograd.grad(out, x, t.ones_like(out).requires_grad_(), create_graph=True)
        feeding = [type(n).__name__ for n, _ in grad.grad_fn.next_functions if n is not None]
        results.append((type(grad.grad_fn).__name__, feeding, np.nan_to_num(grad.detach().numpy(), nan=7.0).tolist()))
    assert results[1] == results[0]


TANGENT_CASES = [  # (id, function of the library t, input): what torch's forward rule gives each gradient node
    ("max_pool2d", lambda t, x: t.nn.functional.max_pool2d(x, 2), IMAGE),
    ("adaptive_max_pool2d", lambda t, x: t.nn.functional.adaptive_max_pool2d(x, 3), IMAGE),
    ("avg_pool2d", lambda t, x: t.nn.functional.avg_pool2d(x, 2), IMAGE),
    ("pad.reflect", lambda t, x: t.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), IMAGE),
    ("interpolate.nearest", lambda t, x: t.nn.functional.interpolate(x, scale_factor=2), SIGNAL),
    ("nll_loss", lambda t, x: t.nn.functional.nll_loss(x, t.tensor([[0, 1], [1, 0]])), SIGNAL[:, :, :2]),
]


def _gradient_tangent(t, fn, point, dual):
    """The tangent of a create_graph gradient when the input (``dual == "input"``) or the cotangent carries one:
    None, or its sum and requires_grad."""
    forward_ad = t.autograd.forward_ad
    x = t.tensor(point, dtype=t.float64, requires_grad=True)
    with forward_ad.dual_level():
        primal = forward_ad.make_dual(x, t.ones_like(x)) if dual == "input" else x
        out = fn(t, primal)
        v = t.ones_like(out) * 0.5
        if dual == "cotangent":
            v = forward_ad.make_dual(v, t.full_like(out, 2.0))
        (grad,) = t.autograd.grad(out, primal, v, create_graph=True)
        tangent = forward_ad.unpack_dual(grad).tangent
        return type(grad.grad_fn).__name__, None if tangent is None else (tangent.sum().item(), tangent.requires_grad)


@pytest.mark.parametrize("dual", ["input", "cotangent"])
@pytest.mark.parametrize(("fn", "point"), [c[1:] for c in TANGENT_CASES], ids=[c[0] for c in TANGENT_CASES])
def test_the_gradient_nodes_forward_rule_is_torchs(fn, point, dual):
    # torch 2.13: the backward kernels' tangent is the kernel of grad_output's tangent, none without one; the max
    # poolings' (read by indices) is zeros then, and never requires grad through the input
    assert _gradient_tangent(refgrad, fn, point, dual) == _gradient_tangent(torch, fn, point, dual)
