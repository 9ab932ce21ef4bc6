"""torch.special's scaled and normal-distribution functions (refgrad/ops/special_extra.py): VJPs to first and
second order against central differences, and torch 2.13.0's values and slopes at 0, ±inf and NaN pinned as
numbers (observed on torch 2.13.0+cpu, float64, cotangent 1). No torch import."""
from __future__ import annotations

import math

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_vjp

S = refgrad.special
nan, inf = math.nan, math.inf
X = np.array([[0.7, -1.3, 2.1], [1.6, -0.4, 0.9]])
POS = np.abs(X) + 0.2
PROB = np.array([[0.3, 0.45, 0.8], [0.7, 0.15, 0.55]])

CASES = {
    "entr": (S.entr, (POS,)),
    "erfcx": (S.erfcx, (X,)),
    "erfcx.tail": (S.erfcx, (X * 20 + 30,)),
    "i0e": (S.i0e, (X,)),
    "i1e": (S.i1e, (X,)),
    "i0e.large": (S.i0e, (X * 30 + 80,)),
    "ndtr": (S.ndtr, (X,)),
    "ndtri": (S.ndtri, (PROB,)),
    "log_ndtr": (S.log_ndtr, (X,)),
    "log_ndtr.tail": (S.log_ndtr, (X * 5 - 20,)),
    "log_ndtr.far_tail": (S.log_ndtr, (X * 10 - 60,)),  # the Mills-ratio series below -30
    "xlog1py": (S.xlog1py, (X, POS)),
    "xlog1py.scalar_self": (lambda y: S.xlog1py(2.5, y), (POS,)),
    "xlog1py.scalar_other": (lambda x: S.xlog1py(x, 0.5), (X,)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-6)


POINTS = [-inf, -40.0, -5.0, -1e-300, -0.0, 0.0, 1e-300, 0.5, 1.0, 5.0, 30.0, 800.0, inf, nan]
# (function, values, gradients) at POINTS, read off torch 2.13.0; except erfcx's slope at 800, where torch's float64
# 2x·erfcx(x) - 2/√π cancels (torch -8.815441581155881e-07, 7e-11 relative error): the true value (mpmath, 50 digits)
PINNED = {
    "entr": (S.entr, [-inf, -inf, -inf, -inf, 0.0, 0.0, 6.907755278982137e-298, 0.34657359027997264, -0.0,
                      -8.047189562170502, -102.03592144986466, -5347.689382134342, -inf, nan],
             [nan, nan, nan, nan, inf, inf, 689.7755278982137, -0.3068528194400547, -1.0, -2.6094379124341005,
              -4.401197381662156, -7.684611727667927, -inf, nan]),
    "erfcx": (S.erfcx, [inf, inf, 144009798674.66104, 1.0, 1.0, 1.0, 1.0, 0.6156903441929258, 0.427583576155807,
                        0.11070463773306861, 0.018795888861416754, 0.0007052364284695965, 0.0, nan],
              [-inf, -inf, -1440097986747.7388, -1.1283791670955126, -1.1283791670955126, -1.1283791670955126,
               -1.1283791670955126, -0.5126888229025868, -0.27321201478389856, -0.021332789764826332,
               -0.0006258354105073138, -8.815441581774767e-07, nan, nan]),
    "i0e": (S.i0e, [0.0, 0.06327827987523532, 0.18354081260932834, 1.0, 1.0, 1.0, 1.0, 0.6450352704491501,
                    0.46575960759364043, 0.18354081260932834, 0.0731459464822373, 0.014106945005869183, 0.0, nan],
            [0.0, 0.0007960508007932646, 0.019568545664785997, 1.0, 0.0, 0.0, -1.0, -0.4886144672642784,
             -0.25784919224393194, -0.019568545664785997, -0.0012296158835897464, -8.819599342187179e-06, 0.0, nan]),
    "i1e": (S.i1e, [-0.0, -0.06248222907444206, -0.16397226694454234, -5.000000000000001e-301, 0.0, 0.0,
                    5.000000000000001e-301, 0.15642080318487173, 0.2079104153497085, 0.16397226694454234,
                    0.07191633059864755, 0.014098125406526996, 0.0, nan],
            [0.0, -0.0007660049260677787, -0.013225907724122465, 0.5, 0.5, 0.5, 0.5, 0.17577286089453492,
             0.049938776894223436, -0.013225907724122465, -0.0011675951363651765, -8.803057415971219e-06, 0.0, 0.5]),
    "log_ndtr": (S.log_ndtr, [-inf, -804.6084420137539, -15.064998393988727, -0.6931471805599453,
                              -0.6931471805599453, -0.6931471805599453, -0.6931471805599453, -0.36894641528865635,
                              -0.17275377902344985, -2.866516129637633e-07, -4.906713927148024e-198, -0.0, -0.0, nan],
                 [nan, 40.024968847212364, 5.18650396712585, 0.7978845608028654, 0.7978845608028654,
                  0.7978845608028654, 0.7978845608028654, 0.5091604338370335, 0.2875999709391784,
                  1.4867199409049054e-06, 1.4736461348785476e-196, 0.0, 0.0, nan]),
}
PROBABILITIES = [-0.5, 0.0, 1e-300, 1e-20, 0.3, 0.5, 1 - 1e-16, 1.0, 1.5, inf, nan]
NDTRI = ([nan, -inf, -37.0470962993612, -9.262340089798409, -0.5244005127080409, 0.0, 8.209536151601387, inf, nan,
          nan, nan],
         [nan, inf, 2.6973044650428873e+298, 1.0674725333014075e+19, 2.876103659264292, 2.5066282746310002,
          1081559575103681.8, inf, nan, nan, nan])


def _value_and_grad(fn, points):
    x = refgrad.tensor(points, dtype=refgrad.float64, requires_grad=True)
    y = fn(x)
    (g,) = refgrad.autograd.grad(y.sum(), x)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("name", PINNED)
def test_values_and_slopes_at_special_points_follow_torch(name):
    fn, values, grads = PINNED[name]
    y, g = _value_and_grad(fn, POINTS)
    np.testing.assert_allclose(y, values, rtol=1e-12)
    np.testing.assert_allclose(g, grads, rtol=1e-12)
    zeros = np.asarray(values) == 0
    assert list(np.signbit(y[zeros])) == list(np.signbit(np.asarray(values)[zeros]))  # -0.0 where torch has -0.0


def test_ndtri_at_the_ends_of_its_domain_follows_torch():
    y, g = _value_and_grad(S.ndtri, PROBABILITIES)
    np.testing.assert_allclose(y, NDTRI[0], rtol=1e-12)
    np.testing.assert_allclose(g, NDTRI[1], rtol=1e-12)


def test_xlog1py_zero_times_pole_follows_torch():
    # torch 2.13: x == 0 gives 0 (also at y = -1 and y = -2) unless y is NaN; grad_x is 0 there, grad_y is x / (1 + y)
    x = refgrad.tensor([0.0, 0.0, 0.0, 1.0, 0.0, -1.0], dtype=refgrad.float64, requires_grad=True)
    y = refgrad.tensor([-1.0, -2.0, 0.0, -1.0, nan, inf], dtype=refgrad.float64, requires_grad=True)
    out = S.xlog1py(x, y)
    gx, gy = refgrad.autograd.grad(out.sum(), (x, y))
    np.testing.assert_array_equal(out.detach().numpy(), [0.0, 0.0, 0.0, -inf, nan, -inf])
    np.testing.assert_array_equal(gx.numpy(), [0.0, 0.0, 0.0, -inf, nan, inf])
    np.testing.assert_array_equal(gy.numpy(), [nan, -0.0, 0.0, inf, nan, -0.0])


def test_grad_fn_names_follow_torch():
    x = refgrad.tensor([0.5], dtype=refgrad.float64, requires_grad=True)
    names = [S.entr(x), S.erfcx(x), S.i0e(x), S.i1e(x), S.ndtri(x), S.log_ndtr(x), S.xlog1py(x, x),
             S.xlog1py(1.0, x), S.xlog1py(x, 1.0)]
    assert [t.grad_fn.name() for t in names] == [
        "SpecialEntrBackward0", "SpecialErfcxBackward0", "SpecialI0EBackward0", "SpecialI1EBackward0",
        "SpecialNdtriBackward0", "SpecialLogNdtrBackward0", "SpecialXlog1PyBackward0", "SpecialXlog1PyBackward1",
        "SpecialXlog1PyBackward2"]
    chain, node = [], S.ndtr(x).grad_fn  # torch: (1 + erf(x * sqrt(1/2))) * 0.5 from its C++ decomposition
    while node is not None and node.next_functions:
        chain.append(node.name())
        node = node.next_functions[0][0]
    assert chain == ["MulBackward1", "AddBackward1", "ErfBackward0", "MulBackward1"]


# float32 second derivatives where torch's formulas cancel in float32 (torch 2.13: erfcx''(45.8457) = -8.7e-6,
# log_ndtr''(-19.9454) 1.5 % off): refgrad's is the rounded true value (mpmath, 40 digits)
FLOAT32_SECOND = [(S.erfcx, 45.8457, 1.1693379256809175e-05), (S.erfcx, 50.0, 9.016217115157223e-06),
                  (S.log_ndtr, -19.9454, -0.9975234321633062), (S.log_ndtr, -15.5, -0.9959381614474258)]


@pytest.mark.parametrize("fn, x, exact", FLOAT32_SECOND)
def test_float32_second_derivative_is_the_rounded_true_value(fn, x, exact):
    t = refgrad.tensor([x], dtype=refgrad.float32, requires_grad=True)
    (g,) = refgrad.autograd.grad(fn(t).sum(), t, create_graph=True)
    (gg,) = refgrad.autograd.grad(g.sum(), t)
    assert gg.dtype is refgrad.float32
    np.testing.assert_allclose(gg.numpy(), [exact], rtol=1e-6)


def test_erfcx_zero_cotangent_where_the_second_derivative_overflows():
    # torch 2.13 at x = -26.5 (float64): erfcx and erfcx' are finite, erfcx'' overflows; with a zero cotangent its
    # second derivative is 0 · (finite factors) = 0, not 0 · inf
    x = refgrad.tensor([-26.5], dtype=refgrad.float64, requires_grad=True)
    v = refgrad.zeros(1, dtype=refgrad.float64, requires_grad=True)
    (g,) = refgrad.autograd.grad(S.erfcx(x), x, v, create_graph=True)
    (gg,) = refgrad.autograd.grad(g, x, refgrad.ones(1, dtype=refgrad.float64))
    assert gg.tolist() == [0.0]


@pytest.mark.parametrize("first, second", [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)])
def test_log_ndtr_second_derivative_at_plus_inf_is_torchs_nan(first, second):
    # torch differentiates exp(-x²/2 - log_ndtr(x))/√(2π): at x = +inf its factor -x - R is -inf, so the second
    # order is NaN even under zero cotangents (default ci run, 2026-12-06); below it, a zero cotangent gives 0
    x = refgrad.tensor(float("inf"), dtype=refgrad.float64, requires_grad=True)
    (g,) = refgrad.autograd.grad(refgrad.special.log_ndtr(x), x, refgrad.tensor(first, dtype=refgrad.float64,
                                                                               requires_grad=True), create_graph=True)
    (gg,) = refgrad.autograd.grad(g, x, refgrad.tensor(second, dtype=refgrad.float64))
    assert float(g) == 0.0 and np.isnan(float(gg))
