"""linalg_lstsq.py: lstsq's VJP (tall, wide, vector right-hand side, complex) to first and second order against
central differences, the solution against the normal equations, and the per-driver outputs. No torch import."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

L = rg.linalg
rng = np.random.default_rng(13)
TALL, WIDE = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
CTALL = rng.standard_normal((4, 2)) + 1j * rng.standard_normal((4, 2))

CASES = {
    "linalg.lstsq": (lambda a, b: L.lstsq(a, b).solution, (TALL, rng.standard_normal((4, 2)))),
    "linalg.lstsq.wide": (lambda a, b: L.lstsq(a, b, driver="gelsd").solution, (WIDE, rng.standard_normal((2, 2)))),
    "linalg.lstsq.vector": (lambda a, b: L.lstsq(a, b, driver="gels").solution, (TALL, rng.standard_normal(4))),
    "linalg.lstsq.complex": (lambda a, b: L.lstsq(a, b).solution,
                             (CTALL, rng.standard_normal((4, 1)) + 1j * rng.standard_normal((4, 1)))),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-5)


def test_solution_and_outputs_per_driver():
    b = rng.standard_normal((4, 2))
    normal = np.linalg.solve(TALL.T @ TALL, TALL.T @ b)
    shapes = {}
    for driver in ("gels", "gelsy", "gelsd", "gelss"):
        result = L.lstsq(rg.tensor(TALL), rg.tensor(b), driver=driver)
        np.testing.assert_allclose(result.solution.numpy(), normal, atol=1e-12)
        shapes[driver] = tuple(tuple(t.shape) for t in result[1:])
        if driver != "gelsy":
            np.testing.assert_allclose(result.residuals.numpy(), ((TALL @ normal - b) ** 2).sum(0), atol=1e-12)
    assert shapes == {"gels": ((2,), (0,), (0,)), "gelsy": ((0,), (), (0,)), "gelsd": ((2,), (), (3,)),
                      "gelss": ((2,), (), (3,))}
    deficient = L.lstsq(rg.ones(4, 3, dtype=rg.float64), rg.tensor(b), driver="gelsd")
    assert deficient.rank.item() == 1 and deficient.residuals.shape == (0,)
    np.testing.assert_allclose(deficient.solution.numpy(), np.linalg.pinv(np.ones((4, 3))) @ b, atol=1e-12)
    # gels refuses an exactly zero diagonal of R: zero columns give one in any LAPACK (ones(4, 3)'s R[1, 1] is a
    # rounding residue, -9.6e-17 with one OpenBLAS build and 0 with another; torch's MKL then returns 1e33s)
    zero_columns = np.zeros((4, 3))
    zero_columns[:, 0] = 1.0
    with pytest.raises(L.LinAlgError, match=r"does not have full rank \(error code: 2\)"):
        L.lstsq(rg.tensor(zero_columns), rg.tensor(b), driver="gels")


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("driver", ["gels", "gelsd"])
def test_residuals_vjp_matches_central_differences(driver, order):
    check_vjp(lambda a, b: L.lstsq(a, b, driver=driver)[:2], TALL, rng.standard_normal((4, 2)), order=order,
              rtol=1e-5, atol=1e-5)
