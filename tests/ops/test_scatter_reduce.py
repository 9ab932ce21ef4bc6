"""scatter_reduce and index_reduce: VJPs to first and second order (scatter_reduce's JVPs too) against central
differences (distinct values, so no ties; prod also at a lone zero, where it stays smooth), and torch's conventions
at ties and repeated zeros, pinned from torch 2.13.0. No torch import."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp
from tests.ops.numerical_jvp import check_jvp, forward_tangents

rng = np.random.default_rng(5)
SELF = rng.standard_normal((3, 4))
SRC = rng.standard_normal((5, 4))
INDEX = rg.tensor(rng.integers(0, 3, (5, 4)))
ROWS = rg.tensor([2, 0, 2, 1, 2])
WITH_ZERO = SRC.copy()
WITH_ZERO[1, 2] = 0.0

CASES = {f"scatter_reduce.{reduce}.{include}": (
    (lambda r, i: lambda x, s: x.scatter_reduce(0, INDEX, s, r, include_self=i))(reduce, include == "self"),
    (SELF, SRC)) for reduce in ("sum", "prod", "mean", "amax", "amin") for include in ("self", "noself")}
CASES.update({f"index_reduce.{reduce}.{include}": (
    (lambda r, i: lambda x, s: x.index_reduce(0, ROWS, s, r, include_self=i))(reduce, include == "self"),
    (SELF, SRC)) for reduce in ("prod", "mean", "amax", "amin") for include in ("self", "noself")})
CASES["scatter_reduce.prod.lone_zero"] = (lambda x, s: x.scatter_reduce(1, INDEX[:3], s[:3], "prod"),
                                          (SELF, WITH_ZERO))
CASES["index_reduce.prod.lone_zero"] = (lambda x, s: x.index_reduce(0, ROWS, s, "prod"), (SELF, WITH_ZERO))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", [name for name in CASES if name.startswith("scatter_reduce")])
def test_jvp_matches_central_differences_and_the_vjp(name):
    fn, arrays = CASES[name]
    check_jvp(fn, *arrays)


@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_excluded_self_takes_no_share_of_the_tangent(reduce):
    # include_self=False: where src is scattered, self is not reduced at all, so its tie with src[0] at position 0
    # (both 1) is no tie: the output there is src[0] alone, and its tangent is src[0]'s (the VJP instead keeps
    # torch's backward convention, which counts self in the split); torch 2.13's forward mode gives the same
    x, src = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0] if reduce == "amax" else [1.0, 0.5])
    fn = lambda a, s: a.scatter_reduce(0, rg.tensor([0, 1]), s, reduce, include_self=False)  # noqa: E731
    v, w = np.array([1.0, 10.0, 100.0]), np.array([1000.0, 10000.0])
    tangent = forward_tangents(fn, [x, src], [v, w])[2][0]
    eps = 1e-6
    numeric = (fn(rg.tensor(x + eps * v), rg.tensor(src + eps * w)).numpy()
               - fn(rg.tensor(x - eps * v), rg.tensor(src - eps * w)).numpy()) / (2 * eps)
    np.testing.assert_allclose(tangent, numeric, rtol=1e-6)
    assert tangent.tolist() == [1000.0, 10000.0, 100.0]


def test_prod_tangent_through_two_zeros_at_one_position():
    # two zeros in one position: every partial product there still holds a zero, so the tangent is 0 (central
    # differences agree); the VJP's refusal of a double backward must not make forward mode raise (jvp dev seed 127)
    fn = lambda a, s: a.scatter_reduce(0, rg.tensor([0, 0, 0, 1]), s, "prod", include_self=False)  # noqa: E731
    x, src = np.array([0.0, 2.0]), np.array([-2.0, 0.0, 0.0, 0.5])
    v, w = np.array([0.5, 1.0]), np.array([1.0, 2.0, 3.0, 4.0])
    tangent = forward_tangents(fn, [x, src], [v, w], requires_grad=True)[2][0]
    assert tangent.tolist() == [0.0, 4.0]


def _grads(reduce, include_self, x, src, index):
    x = rg.tensor(x, dtype=rg.float64, requires_grad=True)
    src = rg.tensor(src, dtype=rg.float64, requires_grad=True)
    out = x.scatter_reduce(0, rg.tensor(index), src, reduce, include_self=include_self)
    grads = rg.autograd.grad(out, [x, src], rg.tensor([1.0, 10.0, 100.0, 1000.0], dtype=rg.float64))
    return out.tolist(), grads[0].tolist(), grads[1].tolist()


X, S, I = [1.0, 2.0, 3.0, 0.0], [2.0, 2.0, 5.0, 0.0, 0.0, 3.0], [0, 0, 1, 3, 3, 2]


def test_ties_share_the_gradient_and_self_counts_even_when_excluded():
    # torch 2.13: amax splits evenly among all elements equal to the result; with include_self=False self still
    # counts in the split (3 ways at position 3, 2 ways at position 2) but gets no share itself
    assert _grads("amax", True, X, S, I) == ([2.0, 5.0, 3.0, 0.0], [0.0, 0.0, 50.0, 1000 / 3],
                                              [0.5, 0.5, 10.0, 1000 / 3, 1000 / 3, 50.0])
    assert _grads("amax", False, X, S, I)[1:] == ([0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 10.0, 1000 / 3, 1000 / 3, 50.0])


def test_prod_through_zeros_and_its_double_backward_refusal():
    # torch 2.13: two zeros at one position give every factor a zero gradient; a second backward through src raises
    assert _grads("prod", True, X, S, I)[1:] == ([4.0, 50.0, 300.0, 0.0], [2.0, 2.0, 20.0, 0.0, 0.0, 300.0])
    x = rg.tensor(X, dtype=rg.float64, requires_grad=True)
    src = rg.tensor(S, dtype=rg.float64, requires_grad=True)
    out = x.scatter_reduce(0, rg.tensor(I), src, "prod")
    (g,) = rg.autograd.grad(out.sum(), [src], create_graph=True)
    with pytest.raises(RuntimeError, match="Double backward is unsupported for src"):
        g.sum().backward()


def test_mean_counts_self_once_and_names_follow_torch():
    out, grad_self, grad_src = _grads("mean", True, X, S, I)
    assert out[:2] == [5 / 3, 3.5] and grad_self[:2] == [1 / 3, 5.0] and grad_src[:3] == [1 / 3, 1 / 3, 5.0]
    x = rg.zeros(3, requires_grad=True)
    assert x.scatter_reduce(0, rg.tensor([0]), rg.ones(1), "sum").grad_fn.name() == "ScatterReduceBackward0"
    assert x.index_reduce(0, rg.tensor([0]), rg.ones(1), "amax").grad_fn.name() == "IndexReduceBackward0"
