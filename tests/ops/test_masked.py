"""torch.masked (refgrad/ops/masked.py): VJPs to first and second order against central differences, with a mask
that leaves one row fully masked, and the conventions there (identity values, zero gradients) pinned as torch
2.13.0 gives them. No torch import."""
from __future__ import annotations

import math

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

M = rg.masked
rng = np.random.default_rng(3)
X = rng.standard_normal((3, 4))
P = np.abs(X) + 0.5
MASK = rg.tensor([[True, False, True, True], [False, True, True, False], [True, True, True, True]])

CASES = {
    "masked.sum": (lambda x: M.sum(x, 1, mask=MASK), (X,)),
    "masked.sum.all": (lambda x: M.sum(x, mask=MASK), (X,)),
    "masked.prod": (lambda x: M.prod(x, (0, 1), keepdim=True, mask=MASK), (X,)),
    "masked.amax": (lambda x: M.amax(x, 1, mask=MASK), (X,)),
    "masked.amin": (lambda x: M.amin(x, 0, mask=MASK), (X,)),
    "masked.mean": (lambda x: M.mean(x, 1, keepdim=True, mask=MASK), (X,)),
    "masked.median": (lambda x: M.median(x, 1, mask=MASK), (X,)),
    "masked.norm": (lambda x: M.norm(x, 3.0, 1, mask=MASK), (X,)),
    "masked.var": (lambda x: M.var(x, 1, mask=MASK), (X,)),
    "masked.std": (lambda x: M.std(x, 0, correction=0, mask=MASK), (X,)),
    "masked.logsumexp": (lambda x: M.logsumexp(x, 1, mask=MASK), (X,)),
    "masked.cumsum": (lambda x: M.cumsum(x, 1, mask=MASK), (X,)),
    "masked.cumprod": (lambda x: M.cumprod(x, 1, mask=MASK), (X,)),
    "masked.softmax": (lambda x: M.softmax(x, 1, mask=MASK), (X,)),
    "masked.log_softmax": (lambda x: M.log_softmax(x, 1, mask=MASK).masked_fill(~MASK, 0.0), (X,)),  # -inf there
    "masked.softmin": (lambda x: M.softmin(x, 0, mask=MASK), (X,)),
    "masked.normalize": (lambda x: M.normalize(x, 2.0, 1, mask=MASK), (X,)),
}


def test_logaddexp_vjp_and_torchs_nan_double_backward():
    # first order against central differences; the second order is NaN at every position where one operand is
    # masked to -inf, as torch 2.13 gives it (0 · inf inside logaddexp's own double backward)
    fn = lambda x, y: M.logaddexp(x, y, input_mask=MASK, other_mask=~MASK)  # noqa: E731
    check_vjp(fn, X, P)
    x = rg.tensor([1.0, 2.0], dtype=rg.float64, requires_grad=True)
    y = rg.tensor([0.5, 0.3], dtype=rg.float64, requires_grad=True)
    out = M.logaddexp(x, y, input_mask=rg.tensor([True, False]), other_mask=rg.tensor([False, True]))
    gx, gy = rg.autograd.grad(out.sum(), (x, y), create_graph=True)
    assert gx.tolist() == [1.0, 0.0] and gy.tolist() == [0.0, 1.0]
    ggx, ggy = rg.autograd.grad(gx.sum() + gy.sum(), (x, y))
    assert np.isnan(ggx[0].item()) and ggx[1].item() == 0.0 and ggy[0].item() == 0.0 and np.isnan(ggy[1].item())


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-6)


def test_fully_masked_rows_give_the_identity_and_zero_gradients_as_torch():
    # torch 2.13: a fully masked row reduces to the identity (sum 0, amax -inf, mean and median NaN, softmax NaN)
    x = rg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=rg.float64, requires_grad=True)
    mask = rg.tensor([[True, True], [False, False]])
    assert M.sum(x, 1, mask=mask).tolist() == [3.0, 0.0]
    assert M.amax(x, 1, mask=mask).tolist() == [2.0, -math.inf]
    assert np.isnan(M.mean(x, 1, mask=mask)[1].item()) and np.isnan(M.median(x, 1, mask=mask)[1].item())
    assert np.isnan(M.softmax(x, 1, mask=mask)[1]).all()
    (g,) = rg.autograd.grad(M.sum(x, 1, mask=mask).sum(), x)
    assert g.tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_grad_fn_names_follow_torch():
    x = rg.tensor(X, requires_grad=True)
    outs = [M.sum(x, 1, mask=MASK), M.mean(x, 1, mask=MASK), M.amax(x, 1, mask=MASK), M.softmax(x, 1, mask=MASK),
            M.norm(x, 2.0, 1, mask=MASK), M.logsumexp(x, 1, mask=MASK), M.cumsum(x, 1, mask=MASK),
            M.prod(x, 1, mask=MASK), M.normalize(x, 2.0, 1, mask=MASK), M.median(x, 1, mask=MASK)]
    assert [o.grad_fn.name() for o in outs] == [
        "SumBackward1", "DivBackward0", "AmaxBackward0", "SoftmaxBackward0", "LinalgVectorNormBackward0",
        "LogsumexpBackward0", "CumsumBackward0", "ProdBackward1", "DivBackward0", "NanmedianBackward1"]
    assert outs[0].grad_fn.next_functions[0][0].name() == "WhereBackward0"
