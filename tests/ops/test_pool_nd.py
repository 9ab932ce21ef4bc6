"""pool_nd.py (3-d pools, adaptive_max_pool1d, max_unpool, unfold/fold): VJPs to first and second order against
central differences, torch's node names and conventions. No torch import: pinned facts read off torch 2.13.0."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as rg
import refgrad.nn.functional as F
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(31)
V = rng.standard_normal((1, 2, 4, 3, 5))
S = rng.standard_normal((2, 3, 7))
I4 = rng.standard_normal((2, 2, 4, 6))


def _unpool(nd, x, **kw):
    pool = getattr(F, f"max_pool{nd}d")
    return getattr(F, f"max_unpool{nd}d")(*pool(x, 2, return_indices=True), 2, **kw)


CASES = {
    "nn.functional.max_pool3d": (lambda x: F.max_pool3d(x, (2, 3, 2), (1, 2, 2), 1, ceil_mode=True), (V,)),
    "nn.functional.avg_pool3d": (lambda x: F.avg_pool3d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (V,)),
    "nn.functional.avg_pool3d.divisor": (lambda x: F.avg_pool3d(x, 2, 1, divisor_override=3), (V,)),
    "nn.functional.adaptive_avg_pool3d": (lambda x: F.adaptive_avg_pool3d(x, (3, None, 2)), (V,)),
    "nn.functional.adaptive_max_pool3d": (lambda x: F.adaptive_max_pool3d(x, (3, 2, 4)), (V,)),
    "nn.functional.adaptive_max_pool1d": (lambda x: F.adaptive_max_pool1d(x, 4), (S,)),
    "nn.functional.max_unpool1d": (lambda x: _unpool(1, x, output_size=(7,)), (S,)),
    "nn.functional.max_unpool2d": (lambda x: _unpool(2, x), (I4,)),
    "nn.functional.max_unpool3d": (lambda x: _unpool(3, x, output_size=(4, 3, 5)), (V,)),
    "nn.functional.unfold": (lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), (I4,)),
    "nn.functional.fold": (lambda x: F.fold(x, (4, 5), (2, 3), padding=(1, 0)), (rng.standard_normal((2, 12, 15)),)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-6)


def test_grad_fn_names_follow_torch():
    v, s, i = (rg.tensor(a, requires_grad=True) for a in (V, S, I4))
    outs = [F.max_pool3d(v, 2), F.avg_pool3d(v, 2), F.adaptive_avg_pool3d(v, 2), F.adaptive_avg_pool3d(v, 1),
            F.adaptive_max_pool3d(v, 2), F.adaptive_max_pool1d(s, 2), _unpool(1, s, output_size=(7,)),
            _unpool(2, i), F.unfold(i, 2), F.unfold(i[0], 2), F.fold(F.unfold(i, 2), (4, 6), 2)]
    assert [o.grad_fn.name() for o in outs] == [
        "MaxPool3DWithIndicesBackward0", "AvgPool3DBackward0", "AdaptiveAvgPool3DBackward0", "MeanBackward1",
        "AdaptiveMaxPool3DBackward0", "SqueezeBackward1", "SqueezeBackward1", "MaxUnpool2DBackward0",
        "Im2ColBackward0", "Im2ColBackward0", "Col2ImBackward0"]


def test_unpool_places_values_at_the_pooling_indices_and_checks_them():
    x = rg.tensor([[[1.0, 5.0, 2.0, 2.0]]])
    out, idx = F.max_pool1d(x, 2, return_indices=True)
    assert idx.tolist() == [[[1, 2]]]  # a tie goes to the first maximum
    assert F.max_unpool1d(out, idx, 2).tolist() == [[[0.0, 5.0, 2.0, 0.0]]]
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool1d(out, idx + 3, 2)
    with pytest.raises(ValueError, match="invalid output_size"):
        F.max_unpool1d(out, idx, 2, output_size=(6,))


def test_avg_pool3d_needs_the_kernel_inside_the_input_as_torch_cpu():
    # torch 2.13: avg_pool3d of a (3, 4, 2) volume with kernel 3, padding 1 raises (avg_pool2d does not)
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        F.avg_pool3d(rg.zeros(1, 1, 3, 4, 2), 3, 1, 1)


def test_fold_of_unfold_counts_each_pixel_once_per_window():
    ones = rg.ones(1, 1, 3, 3, dtype=rg.float64)
    counts = F.fold(F.unfold(ones, 2), (3, 3), 2)
    assert counts.tolist() == [[[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]]
