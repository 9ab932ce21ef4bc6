"""grid_sample / grid_sampler_2d / grid_sampler_3d: VJPs (input and grid) to first and second order against central
differences at generic points, and torch's conventions at the bounds, pinned from torch 2.13.0. No torch import."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import refgrad as rg
import refgrad.nn.functional as F
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(11)
IMAGE, GRID2 = rng.standard_normal((2, 2, 4, 5)), rng.uniform(-1.4, 1.4, (2, 3, 2, 2))
VOLUME, GRID3 = rng.standard_normal((1, 2, 3, 4, 3)), rng.uniform(-1.4, 1.4, (1, 2, 2, 2, 3))

CASES = {f"nn.functional.grid_sample.{mode}.{pad}.{align}": (
    (lambda m, p, a: lambda x, g: F.grid_sample(x, g, mode=m, padding_mode=p, align_corners=a))(mode, pad, align),
    (IMAGE, GRID2)) for mode, pad, align in itertools.product(("bilinear", "nearest", "bicubic"),
                                                              ("zeros", "border", "reflection"), (False, True))}
CASES.update({f"grid_sampler_3d.{mode}.{pad}": (
    (lambda m, p: lambda x, g: rg.grid_sampler_3d(x, g, m, p, False))(mode, pad), (VOLUME, GRID3))
    for mode, pad in itertools.product((0, 1), (0, 1, 2))})
CASES["grid_sampler_2d"] = (lambda x, g: rg.grid_sampler_2d(x, g, 0, 2, True), (IMAGE, GRID2))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-6)


def test_clipped_points_get_no_grid_gradient_and_the_bound_counts_as_clipped():
    # torch 2.13: with padding 'border', a point at or past the edge (x = 1 with align_corners) is clipped and
    # its grid gradient is 0; inside, it is the image slope times (size - 1) / 2
    x = rg.tensor([[[[0.0, 1.0, 3.0]]]], dtype=rg.float64)
    grid = rg.tensor([[[[1.0, 0.0], [1.3, 0.0], [0.5, 0.0]]]], dtype=rg.float64, requires_grad=True)
    out = F.grid_sample(x, grid, padding_mode="border", align_corners=True)
    assert out.tolist() == [[[[3.0, 3.0, 2.0]]]]
    (g,) = rg.autograd.grad(out.sum(), [grid])
    assert g[0, 0, :, 0].tolist() == [0.0, 0.0, 2.0]


def test_nearest_rounds_half_to_even_and_names_follow_torch():
    x = rg.tensor([[[[10.0, 20.0, 30.0, 40.0]]]], dtype=rg.float64, requires_grad=True)
    # align_corners=True: x = -1/3 -> source 1.0 exactly; x = 0 -> 1.5 -> 2 (even); x = -2/3 -> 0.5 -> 0
    grid = rg.tensor([[[[0.0, 0.0], [-2 / 3, 0.0]]]], dtype=rg.float64)
    out = F.grid_sample(x, grid, mode="nearest", align_corners=True)
    assert out.tolist() == [[[[30.0, 10.0]]]]
    assert out.grad_fn.name() == "GridSampler2DBackward0"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.grid_sample(x, grid)
    assert "align_corners=False" in str(caught[0].message)
    assert rg.grid_sampler_3d(rg.zeros(1, 1, 2, 2, 2, requires_grad=True), rg.zeros(1, 1, 1, 1, 3), 0, 0,
                              False).grad_fn.name() == "GridSampler3DBackward0"
