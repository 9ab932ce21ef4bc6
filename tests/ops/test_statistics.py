"""statistics.py: VJPs to first and second order against central differences, quantile's NaN conventions and
torch's node names. No torch import."""
from __future__ import annotations

import math

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(9)
Y = rng.standard_normal((3, 5))
X = np.sort(rng.standard_normal(5))
W = rng.random(5) + 0.5
Q = rg.tensor([0.2, 0.5, 0.9], dtype=rg.float64)

CASES = {
    "trapezoid": (lambda y: rg.trapezoid(y, dx=0.5), (Y,)),
    "trapezoid.x": (lambda y, x: rg.trapezoid(y, x), (Y, X)),
    "trapz": (lambda y: rg.trapz(y, dim=0), (Y,)),
    "cumulative_trapezoid": (lambda y: rg.cumulative_trapezoid(y, dx=2.0), (Y,)),
    "cumulative_trapezoid.x": (lambda y, x: rg.cumulative_trapezoid(y, x), (Y, X)),
    "cov": (rg.cov, (Y,)),
    "cov.weights": (lambda y: rg.cov(y, correction=0, aweights=rg.tensor(W)), (Y,)),
    "corrcoef": (rg.corrcoef, (Y,)),
    "quantile": (lambda y: rg.quantile(y, 0.3, dim=1), (Y,)),
    "quantile.tensor_q": (lambda y: rg.quantile(y, Q, dim=0, keepdim=True), (Y,)),
    "quantile.midpoint": (lambda y: y.quantile(0.3, interpolation="midpoint"), (Y,)),
    "quantile.lower": (lambda y: rg.quantile(y, 0.7, 1, interpolation="lower"), (Y,)),
    "nanquantile": (lambda y: rg.nanquantile(y, Q), (Y,)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-6)


def test_quantile_nan_conventions_follow_torch():
    # torch 2.13: quantile is NaN where any value is; nanquantile skips NaN, NaN only where all are
    y = rg.tensor([[1.0, math.nan, 3.0], [math.nan] * 3, [4.0, 2.0, 0.0]], dtype=rg.float64)
    q = rg.quantile(y, 0.5, dim=1)
    assert np.isnan(q[0].item()) and np.isnan(q[1].item()) and q[2].item() == 2.0
    n = rg.nanquantile(y, 0.5, dim=1)
    assert n[0].item() == 2.0 and np.isnan(n[1].item()) and n[2].item() == 2.0


def test_grad_fn_names_follow_torch():
    y = rg.tensor(Y, requires_grad=True)
    outs = [rg.trapezoid(y), rg.trapezoid(y, rg.tensor(X)), rg.cumulative_trapezoid(y), rg.cov(y), rg.corrcoef(y),
            rg.quantile(y, 0.3), rg.quantile(y, Q, dim=1), rg.quantile(y, 0.3, 1, interpolation="lower")]
    assert [o.grad_fn.name() for o in outs] == [
        "MulBackward1", "DivBackward1", "CumsumBackward0", "SqueezeBackward0", "ClampBackward1", "SqueezeBackward4",
        "SqueezeBackward4", "SqueezeBackward4"]
    chain, node = [], outs[6].grad_fn
    for _ in range(4):
        chain.append(node.name())
        node = node.next_functions[0][0]
    assert chain == ["SqueezeBackward4", "TransposeBackward1", "UnsqueezeBackward1", "LerpBackward1"]
