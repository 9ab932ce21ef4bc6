"""Tensor properties, conversions and aliases refgrad already had (T, H, mT, mH, contiguous, to, double, float,
half, expand_as, reshape_as, view_as, sum_to_size, zero_, clone, torch.cholesky, linalg.vecdot, conv3d,
conv_transpose3d, celu, threshold, special.polygamma): VJPs to first and second order against central differences.
No torch import."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import refgrad as rg
import refgrad.nn.functional as F
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(11)
X = rng.standard_normal((3, 4))
Y = rng.standard_normal((2, 3, 4))
A = rng.standard_normal((3, 3))
VOL = rng.standard_normal((1, 2, 3, 3, 3))
KERNEL = rng.standard_normal((2, 2, 2, 2, 2))

CASES = {
    "T": (lambda x: x.T, (X,)),
    "H": (lambda x: x.H, (X,)),
    "mT": (lambda x: x.mT, (Y,)),
    "mH": (lambda x: x.mH, (Y,)),
    "contiguous": (lambda x: x.transpose(0, 1).contiguous(), (X,)),
    "expand_as": (lambda x, y: x.expand_as(y), (X[:1], X)),
    "reshape_as": (lambda x, y: x.reshape_as(y), (X, X.reshape(2, 6))),
    "view_as": (lambda x, y: x.view_as(y), (X, X.reshape(12))),
    "sum_to_size": (lambda x: x.sum_to_size(1, 4), (X,)),
    "zero_": (lambda x: (x * 1).zero_() + x, (X,)),
    "clone": (lambda x: x.clone(), (X,)),
    "atleast_1d": (lambda x: rg.atleast_1d(x[0, 0]), (X,)),
    "atleast_2d": (lambda x: rg.atleast_2d(x[0]), (X,)),
    "cholesky": (lambda x: rg.cholesky(x @ x.mT + 3 * rg.eye(3, dtype=rg.float64), upper=True), (A,)),
    "linalg.vecdot": (lambda x, y: rg.linalg.vecdot(x, y), (Y, Y[::-1].copy())),
    "nn.functional.conv3d": (lambda x, w: F.conv3d(x, w, padding=1, stride=(1, 2, 1)), (VOL, KERNEL)),
    "nn.functional.conv_transpose3d": (lambda x, w: F.conv_transpose3d(x, w, stride=2), (VOL, KERNEL)),
    "nn.functional.celu": (lambda x: F.celu(x, alpha=0.5), (X,)),
    "nn.functional.threshold": (lambda x: F.threshold(x, 0.1, 2.0), (X,)),
    "special.polygamma": (lambda x: rg.special.polygamma(2, x), (np.abs(X) + 0.5,)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("convert, dtype", [(lambda x: x.half(), rg.float16), (lambda x: x.float(), rg.float32),
                                            (lambda x: x.to(rg.float32), rg.float32),
                                            (lambda x: x.float().double(), rg.float64)])
def test_conversions_pass_the_cotangent_back_in_the_input_dtype(convert, dtype):
    # (central differences cannot see through a rounding to a narrower dtype: the cotangent is checked directly)
    x = rg.tensor(X, requires_grad=True)
    y = convert(x)
    assert y.dtype is dtype and y.grad_fn.name() == "ToCopyBackward0"
    v = rg.tensor((np.arange(12.0).reshape(3, 4) - 6) / 4, dtype=dtype)  # exact in float16
    (g,) = rg.autograd.grad(y, x, v, create_graph=True)
    assert g.dtype is rg.float64 and np.array_equal(g.detach().numpy(), v.double().numpy())


def test_zero_dim_h_and_sum_to_size_follow_torch():
    # torch 2.13: x.H of a 0-d tensor is x itself (with a deprecation warning); sum_to_size(()) is a full sum
    x = rg.tensor(2.0, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert x.H is x
    assert "Tensor.H is deprecated on 0-D tensors" in str(caught[0].message)
    assert x.sum_to_size(()).grad_fn.name() == "SumBackward0"
    assert rg.ones(2, 3, requires_grad=True).sum_to_size(()).grad_fn.name() == "SumBackward0"


@pytest.mark.parametrize("matrix, message", [
    ([[1.0, 2.0], [2.0, 1.0]], "cholesky: The factorization could not be completed because the input is not "
     "positive-definite (the leading minor of order 2 is not positive-definite)."),
    ([[float("nan"), 0.0], [0.0, 1.0]], "cholesky: The factorization could not be completed because the input is "
     "not positive-definite (the leading minor of order 1 is not positive-definite)."),
    ([[[1.0, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]], "cholesky: (Batch element 1): The factorization could "
     "not be completed because the input is not positive-definite (the leading minor of order 1 is not "
     "positive-definite)."),
])
def test_cholesky_failures_name_the_minor_as_torch(matrix, message):
    with pytest.raises(rg.linalg.LinAlgError) as raised:
        rg.cholesky(rg.tensor(matrix))
    assert str(raised.value) == message
    with pytest.raises(rg.linalg.LinAlgError, match="^linalg.cholesky: "):
        rg.linalg.cholesky(rg.tensor(matrix))
