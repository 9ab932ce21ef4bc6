"""finite_differences.py (torch.gradient): VJPs to first and second order against central differences (uniform
and coordinate spacing, both edge orders, into the coordinates too), and exactness on quadratics. No torch."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(14)
X = rng.standard_normal((3, 5))
COORDS = np.cumsum(rng.random(5) + 0.3)

CASES = {
    "gradient": (lambda x: rg.gradient(x), (X,)),
    "gradient.edge2": (lambda x: rg.gradient(x, spacing=[2.0, 0.5], edge_order=2), (X,)),
    "gradient.coordinates": (lambda x, c: rg.gradient(x, spacing=[c], dim=1), (X, COORDS)),
    "gradient.coordinates_edge2": (lambda x, c: rg.gradient(x, spacing=[c], dim=-1, edge_order=2), (X, COORDS)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-5)


def test_second_order_differences_are_exact_on_quadratics():
    c = rg.tensor(COORDS)
    f = 3 * c ** 2 - c + 1
    (estimate,) = rg.gradient(f, spacing=[c], edge_order=2)
    np.testing.assert_allclose(estimate.numpy(), 6 * COORDS - 1, rtol=1e-10)
    (uniform,) = rg.gradient(rg.arange(5, dtype=rg.float64) ** 2, spacing=1.0, edge_order=2)
    np.testing.assert_allclose(uniform.numpy(), 2 * np.arange(5.0), atol=1e-12)
    with pytest.raises(RuntimeError, match="at least edge_order\\+1"):
        rg.gradient(rg.ones(2, 3), edge_order=2)
