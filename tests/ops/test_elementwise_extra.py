"""elementwise_extra.py: VJPs to first and second order against central differences, and torch 2.13.0's values
at special points (observed on torch 2.13.0+cpu, float64). No torch import."""
from __future__ import annotations

import math

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(13)
X = rng.standard_normal((3, 4))
U, V = rng.standard_normal(3), rng.standard_normal(4)

CASES = {
    "frexp": (lambda x: rg.frexp(x).mantissa, (X,)),
    "ldexp": (lambda x, o: rg.ldexp(x, o), (X, X[::-1].copy())),
    "nextafter": (lambda x: rg.nextafter(x, rg.tensor(np.zeros((3, 4)))), (X,)),
    "mvlgamma": (lambda x: rg.mvlgamma(x.abs() + 2, 3), (X,)),
    "renorm": (lambda x: rg.renorm(x, 2, 0, 1.0), (X,)),
    "renorm.p3": (lambda x: x.renorm(3.0, 1, 0.8), (X,)),
    "addr": (lambda a, u, v: rg.addr(a, u, v, beta=0.5, alpha=2.0), (X, U, V)),
    "constant_pad_nd": (lambda x: rg.constant_pad_nd(x, (1, 0, 0, 2), 1.5), (X,)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-6)


def test_frexp_values_and_slopes_follow_torch():
    x = rg.tensor([0.5, -3.0, 0.0, math.inf, 1e-310], dtype=rg.float64, requires_grad=True)
    mantissa, exponent = rg.frexp(x)
    assert exponent.dtype is rg.int32 and exponent.tolist() == [0, 2, 0, 0, -1029]
    np.testing.assert_allclose(mantissa.detach().numpy(), [0.5, -0.75, 0.0, math.inf, 0.5753], rtol=1e-4)
    (g,) = rg.autograd.grad(mantissa.sum(), x)
    assert g.tolist() == [1.0, 0.25, 1.0, 1.0, math.inf]  # 2^1029 overflows float32's exp2, as in torch


def test_ldexp_slope_for_negative_integer_exponents_is_the_true_one():
    # torch 2.13 gives 0 here (pow(2, -4) computed in int64); refgrad gives 2^-4, the derivative of x·2^-4
    x = rg.tensor(np.ones(4), requires_grad=True)
    (g,) = rg.autograd.grad(rg.ldexp(x, rg.tensor([1, 2, 3, -4])).sum(), x)
    assert g.tolist() == [2.0, 4.0, 8.0, 0.0625]


def test_nextafter_slopes_follow_torch():
    # torch 2.13: slope 1 in self except where self == other (0), constant 0 in other
    x = rg.tensor([0.0, 1.0, 2.0], dtype=rg.float64, requires_grad=True)
    o = rg.tensor([0.0, 1.0, 3.0], dtype=rg.float64, requires_grad=True)
    gx, go = rg.autograd.grad(rg.nextafter(x, o).sum(), (x, o))
    assert gx.tolist() == [0.0, 0.0, 1.0] and go.tolist() == [0.0, 0.0, 0.0]


def test_grad_fn_names_follow_torch():
    x = rg.tensor(X, requires_grad=True)
    outs = [rg.frexp(x)[0], rg.ldexp(x, x), rg.nextafter(x, x), rg.mvlgamma(x.abs() + 2, 2), rg.renorm(x, 2, 0, 1.0),
            rg.addr(x, x[:, 0], x[0]), rg.constant_pad_nd(x, (1, 1))]
    assert [o.grad_fn.name() for o in outs] == [
        "FrexpBackward0", "LdexpBackward0", "NextafterBackward0", "MvlgammaBackward0", "RenormBackward0",
        "AddrBackward0", "ConstantPadNdBackward0"]


def test_mvlgamma_gradient_at_negative_zero_is_torchs():
    # torch 2.13.0 adds the offsets 0, -1/2, ... to x before digamma: -0.0 + 0.0 = +0.0, so the gradient (and the
    # tangent) of mvlgamma(x, 1) at x = -0.0 is digamma(+0) = -inf, not digamma(-0) = +inf
    x = rg.tensor([-0.0], dtype=rg.float64, requires_grad=True)
    assert rg.autograd.grad(rg.mvlgamma(x, 1).sum(), x)[0].tolist() == [float("-inf")]
