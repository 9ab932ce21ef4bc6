"""linalg_householder.py: householder_product and ormqr VJPs (real and complex, left/right, with and without Qᴴ)
to first and second order against central differences, and the products of trivial reflectors. No torch import."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

L = rg.linalg
rng = np.random.default_rng(12)

HA, HTAU = rng.standard_normal((4, 3)), rng.standard_normal(2)
CA, CTAU = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)), rng.standard_normal(3) * (1 - 0.5j)
OTHER, COTHER = rng.standard_normal((4, 2)), rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
HOUSEHOLDER = {
    "linalg.householder_product": (L.householder_product, (HA, HTAU)),
    "linalg.householder_product.complex": (L.householder_product, (CA, CTAU)),
    "linalg.householder_product.one_reflector": (L.householder_product, (rng.standard_normal((1, 1)),
                                                                         rng.standard_normal(1))),
    "ormqr": (lambda a, tau, c: rg.ormqr(a, tau, c), (HA, rng.standard_normal(3), OTHER)),
    "ormqr.transpose": (lambda a, tau, c: rg.ormqr(a, tau, c, transpose=True), (HA, rng.standard_normal(3), OTHER)),
    "ormqr.right_complex": (lambda a, tau, c: rg.ormqr(a, tau, c, left=False, transpose=True), (CA, CTAU, COTHER)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", HOUSEHOLDER)
def test_householder_vjp_matches_central_differences(name, order):
    fn, arrays = HOUSEHOLDER[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-5)


def test_householder_product_of_geqrf_data_is_orthogonal_and_reflects():
    a = rg.tensor(HA)
    tau = rg.tensor([2.0, 2.0], dtype=rg.float64)  # tau = 2/|v|² with |v| = 1 is a true reflector: v = e_i
    q = L.householder_product(a.triu(), tau).numpy()  # strictly lower part zero: v_i = e_i, H_i flips axis i
    np.testing.assert_allclose(q, np.diag([-1.0, -1.0, 1.0, 1.0])[:, :3], atol=1e-15)
    full = rg.ormqr(a.triu(), rg.tensor([2.0, 2.0, 0.0], dtype=rg.float64), rg.eye(4, dtype=rg.float64)).numpy()
    np.testing.assert_allclose(full @ full.T, np.eye(4), atol=1e-15)
