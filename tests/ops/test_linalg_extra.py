"""linalg_extra.py: VJPs to first and second order against central differences (matrices kept well conditioned),
plus matrix_exp's values against its defining series and torch's node names. No torch import."""
from __future__ import annotations

import math

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

L = rg.linalg
rng = np.random.default_rng(5)
A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
B = rng.standard_normal((3, 2))
M = rng.standard_normal((2, 3, 3)) * 0.7
X, Y, Z, V = (rng.standard_normal(s) for s in ((4, 3), (3, 5), (5, 2), (4,)))
T = rng.standard_normal((6, 6)) + 4 * np.eye(6)
EYE = rg.eye(3, dtype=rg.float64)

CASES = {
    "linalg.inv_ex": (lambda a: L.inv_ex(a).inverse, (A,)),
    "linalg.cholesky_ex": (lambda a: L.cholesky_ex(a @ a.mT + EYE).L, (A,)),
    "linalg.solve_ex": (lambda a, b: L.solve_ex(a, b).result, (A, B)),
    "linalg.multi_dot": (lambda a, b, c: L.multi_dot([a, b, c]), (X, Y, Z)),
    "linalg.multi_dot.vectors": (lambda v, a, b, c: L.multi_dot([v, a, b, c]), (V, X, Y, Z)),
    "linalg.vander": (lambda x: L.vander(x, N=4), (X,)),
    "matrix_exp": (rg.matrix_exp, (M,)),
    "matrix_exp.scaled": (L.matrix_exp, (A,)),
    "linalg.tensorinv": (lambda t: L.tensorinv(t.reshape(2, 3, 6), ind=2), (T,)),
    "linalg.tensorsolve": (lambda t, b: L.tensorsolve(t.reshape(3, 2, 6), b), (T, B.T.copy())),
    "linalg.cond": (L.cond, (A,)),
    "linalg.cond.-2": (lambda x: L.cond(x, -2), (X,)),
    "linalg.cond.fro": (lambda a: L.cond(a, "fro"), (A,)),
    "cholesky_inverse": (lambda a: rg.cholesky_inverse(L.cholesky(a @ a.mT + EYE)), (A,)),
    "cholesky_inverse.upper": (lambda a: rg.cholesky_inverse(L.cholesky(a @ a.mT + EYE, upper=True), upper=True),
                               (A,)),
    "pinverse": (rg.pinverse, (X,)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-5)


def test_matrix_exp_matches_its_series_and_the_scalar_exponential():
    a = rng.standard_normal((4, 4)) * 2
    series, term = np.eye(4), np.eye(4)
    for k in range(1, 60):
        term = term @ a / k
        series = series + term
    np.testing.assert_allclose(rg.matrix_exp(rg.tensor(a)).numpy(), series, rtol=1e-12, atol=1e-12)
    assert rg.matrix_exp(rg.tensor([[2.0]], dtype=rg.float64)).item() == pytest.approx(math.exp(2.0), rel=1e-15)


def test_grad_fn_names_follow_torch():
    a = rg.tensor(A, requires_grad=True)
    x = rg.tensor(X, requires_grad=True)
    names = [L.matrix_exp(a), rg.cholesky_inverse(a), L.tensorinv(a.reshape(3, 1, 3), ind=1), L.cond(a),
             L.cond(a, 1), L.vander(x[0]), L.multi_dot([x, x.mT, x]), L.inv_ex(a).inverse, rg.pinverse(x)]
    assert [t.grad_fn.name() for t in names] == [
        "LinalgMatrixExpBackward0", "CholeskyInverseBackward0", "ReshapeAliasBackward0", "SqueezeBackward1",
        "NanToNumBackward0", "CatBackward0", "ViewBackward0", "LinalgInvExBackward0", "LinalgPinvBackward0"]
    assert L.inv_ex(a).info.dtype is rg.int32


def test_multi_dot_of_three_breaks_a_cost_tie_as_torch():
    # torch 2.13: (AB)C unless it costs strictly more than A(BC); the order decides which inputs mm saves
    def order(node):
        kids = [order(f) if f.name() == "MmBackward0" else "x" for f, _ in node.next_functions if f is not None]
        return "(" + "".join(kids) + ")"
    for shapes in [((3, 2), (2, 2), (2, 3)), ((2, 0), (0, 0), (0, 2)), ((1, 1), (1, 2), (2, 2))]:
        tensors = [rg.ones(s, requires_grad=True) for s in shapes]
        assert order(L.multi_dot(tensors).grad_fn) == "(((xx)x))"  # torch too: a ViewBackward0 on top
