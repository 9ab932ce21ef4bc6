"""as_strided, as_strided_copy, as_strided_scatter and Tensor.storage_offset (refgrad/ops/strided.py): VJPs to first
and second order against central differences, and the forward, metadata and errors against live torch 2.13."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(11)
X = rng.standard_normal(6)
M = rng.standard_normal((3, 4))
S = rng.standard_normal((2, 2))

CASES = {
    "as_strided": (lambda x: x.as_strided((2, 2), (1, 2), 1), (X,)),
    "as_strided.overlapping": (lambda x: x.as_strided((3, 2), (1, 1), 1), (X,)),
    # (not x[1:].as_strided(..., 0): it reads x[0], outside x[1:], whose gradient torch drops: against torch below)
    "as_strided.of_a_transpose": (lambda m: m.t().as_strided((3, 3), (4, 1), 1), (M,)),
    "as_strided.of_an_expand": (lambda x: x.expand(2, 6).as_strided((4,), (1,), 1), (X,)),
    "as_strided.zero_stride": (lambda x: rg.as_strided(x, (2, 3), (0, 2)), (X,)),
    "as_strided_copy": (lambda x: rg.as_strided_copy(x, (3, 2), (1, 1), 1), (X,)),
    "as_strided_scatter": (lambda x, s: rg.as_strided_scatter(x, s, (2, 2), (1, 2), 1), (X, S)),
    "as_strided_scatter.of_a_slice": (lambda x, s: rg.as_strided_scatter(x[1:], s, (2, 2), (1, 2), 1), (X, S)),
    "as_strided_scatter.2d": (lambda m, s: m.as_strided_scatter(s, (2, 2), (4, 2), 1), (M, S)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order)


def _outcome(t, code):
    """What ``code`` gives with module ``t``: a result's values and metadata, or the error's type and message."""
    try:
        result = eval(code, {"t": t})
    except (RuntimeError, TypeError) as error:
        return f"{type(error).__name__}: {error}"
    if not hasattr(result, "stride"):
        return result
    return (result.tolist(), tuple(result.shape), result.stride(), result.storage_offset(),
            result.grad_fn.name() if result.grad_fn else None, result._base is not None)


#: expressions of a module ``t`` whose outcome is torch's (measured against torch 2.13.0)
FORWARD = [
    "t.arange(6.).as_strided((2, 2), (1, 2), 1)",
    "t.arange(6.)[1:].as_strided((2, 2), (1, 2))",
    "t.arange(6.)[1:].as_strided((2, 2), (1, 2), 0)",
    "t.arange(6.)[3:].as_strided((2,), (1,), 0)",
    "t.arange(6.).view(2, 3).t().as_strided((3,), (2,))",
    "t.arange(6.).view(2, 3).t()[1].storage_offset()",
    "t.arange(6.).view(2, 3)[:, 1:].as_strided((2, 2), (3, 1))",
    "t.arange(6.).view(2, 3)[:, 1:].storage_offset()",
    "t.arange(6.).as_strided((2, 2), (-1, 2), 1)",
    "t.arange(6.).as_strided((2, 2), (1, 2), -1)",
    "t.arange(6.).as_strided((2, -2), (-1, 3), -1)",
    "t.arange(6.).as_strided((2, 2), (1,), 1)",
    "t.arange(6.).as_strided((2, 2), (1, 3), 3)",
    "t.arange(6.).as_strided((2, -2), (1, 3), 0)",
    "t.arange(6.).as_strided((0, 2), (100, 100), 100)",
    "t.arange(6.).as_strided((), (), 5)",
    "t.arange(6.)[2:].as_strided((7,), (1,))",
    "t.arange(6., dtype=t.float64).as_strided((2, 7), (1, 0), 100)",
    "t.as_strided_copy(t.arange(6.), (2, 2), (1, 2), 1)",
    "t.as_strided(t.arange(6.), size=(2,), stride=(1,), storage_offset=2)",
    "t.arange(6.).as_strided(2, 1)",
    "t.arange(6.).as_strided((2,), 1)",
    "t.arange(6.).as_strided((True,), (1,))",
    "t.arange(6.).as_strided((2, 2), (1, 2), 1.0)",
    "t.as_strided_scatter(t.arange(6.), t.ones(2, 2), (2, 2), (1, 2), 1)",
    "t.as_strided_scatter(t.arange(6.), t.ones(2, 3), (2, 2), (1, 2), 1)",
    "t.as_strided_scatter(t.arange(6.).view(2, 3).t(), t.ones(2, 2), (2, 2), (1, 2), 1)",
    "t.as_strided_scatter(t.arange(6.).requires_grad_().view(2, 3).t(), t.ones(2, 2), (2, 2), (1, 2), 1)",
    "t.as_strided_scatter(t.arange(6.), t.ones(2, 2, dtype=t.float64), (2, 2), (1, 1))",
    "t.arange(6.).as_strided_scatter(t.ones(2, 2), (2, 2), (-1, 1))",
    "t.zeros(0, 2).t().as_strided((2, 0), (1, 2))",
    "t.arange(6.).expand(2, 6).as_strided((4,), (1,), 1)",
    "t.arange(6.).requires_grad_().as_strided((3, 2), (1, 1), 1)",
    # as_strided_scatter clones the input's whole storage: its output keeps the input's strides and offset, and an
    # input with internal overlap (expanded) is a plain contiguous clone
    "t.as_strided_scatter(t.arange(3.).expand(2, 3), t.ones(2), (2,), (1,), 0)",
    "t.as_strided_scatter(t.arange(3.).expand(2, 3), t.ones(2), (2,), (1,), 3)",
    "t.as_strided_scatter(t.arange(6.).view(2, 3).t(), t.ones(2, 2), (2, 2), (3, 1), 0)",
    "t.as_strided_scatter(t.arange(6.)[2:], t.ones(3), (3,), (1,), 1)",
    "t.as_strided_scatter(t.arange(6.)[::2], t.ones(3), (3,), (1,), 0)",
    "t.as_strided_scatter(t.arange(6.).view(2, 3)[:, 1:], t.ones(2, 2), (2, 2), (3, 1))",
    "t.as_strided_scatter(t.arange(6.)[2:], t.ones(3), (3,), (1,), 1).as_strided((6,), (1,), 0)",
    "t.as_strided_scatter(t.arange(6.), t.arange(10., 14.).view(2, 2), (2, 2), (1, 1), 0)",
    "t.as_strided_scatter(t.arange(4.), t.tensor(7.), (), (), 2)",
]


@pytest.mark.parametrize("code", FORWARD)
def test_the_outcome_is_torchs(code):
    torch = pytest.importorskip("torch")
    assert _outcome(rg, code) == _outcome(torch, code)


#: as_strided's gradients against torch's (AsStridedBackward0: overlapping outputs add up, an expanded input's
#: shared positions divide, positions outside the input drop)
GRADIENTS = [
    "lambda x: x.as_strided((3, 2), (1, 1), 1)", "lambda x: x[1:].as_strided((2, 2), (1, 2), 0)",
    "lambda x: x.expand(2, 6).as_strided((4,), (1,), 1)", "lambda x: x[:4].view(2, 2).t().as_strided((2, 2), (2, 1))",
    "lambda x: t.as_strided_copy(x, (2, 3), (0, 2), 1)",
]


@pytest.mark.parametrize("code", GRADIENTS)
def test_as_strided_gradients_are_torchs(code):
    torch = pytest.importorskip("torch")
    grads = []
    for t in (torch, rg):
        x = t.tensor(X, requires_grad=True)
        y = eval(code, {"t": t})(x)
        cotangent = t.tensor(np.arange(1.0, 1.0 + y.numel()).reshape(tuple(y.shape)))
        grads.append(t.autograd.grad(y, x, cotangent)[0].tolist())
    assert grads[0] == grads[1]


def test_an_as_strided_view_shares_storage_and_version():
    x = rg.arange(6.0)
    view = x[3:].as_strided((2,), (1,), 0)  # (no element of x[3:]: still a view of x's storage, as torch)
    assert view._base is x
    view.mul_(10)
    assert x.tolist() == [0.0, 10.0, 2.0, 3.0, 4.0, 5.0] and x._version == 1


def test_a_view_regenerated_after_its_base_changes_reads_the_whole_base():
    # torch 2.13 regenerates the view's node as the base's as_strided: before x.mul_(2) the gradient of x[0]
    # (outside x[1:]) is dropped, after it x[0] gets its share
    torch = pytest.importorskip("torch")
    grads = []
    for t in (torch, rg):
        leaf = t.arange(6.0, requires_grad=True)
        x = leaf.clone()
        view = x[1:].as_strided((2, 2), (1, 2), 0)
        weights = t.tensor([[1.0, 2.0], [3.0, 4.0]])
        before = t.autograd.grad((view * weights).sum(), leaf, retain_graph=True)[0].tolist()
        x.mul_(2)
        grads.append((before, t.autograd.grad((view * weights).sum(), leaf)[0].tolist(), view.tolist()))
    assert grads[0] == grads[1]


def test_as_strided_scatters_tangent_is_placed_as_its_forward():
    # torch 2.13's forward-mode values (src's later element over an earlier one at a shared position, as copy_)
    fa = rg.autograd.forward_ad
    with fa.dual_level():
        x = fa.make_dual(rg.arange(6.0, dtype=rg.float64), rg.arange(10.0, 16.0, dtype=rg.float64))
        s = fa.make_dual(rg.ones(2, 2, dtype=rg.float64), rg.arange(20.0, 24.0, dtype=rg.float64).view(2, 2))
        tangents = [fa.unpack_dual(out).tangent.tolist() for out in (
            rg.as_strided_scatter(x, s, (2, 2), (1, 2), 1), rg.as_strided_scatter(x[2:], s, (2, 2), (1, 1), 2),
            rg.as_strided_scatter(x[2:], rg.ones(2, 2, dtype=rg.float64), (2, 2), (1, 1), 2))]
    assert tangents == [[10.0, 20.0, 22.0, 21.0, 23.0, 15.0], [20.0, 22.0, 23.0, 15.0], [0.0, 0.0, 0.0, 15.0]]
