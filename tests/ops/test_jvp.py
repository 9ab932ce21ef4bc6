"""Every JVP rule against float64 central differences and against the VJP (transpose identity), no torch.

The cases are the ones the VJP tests already use (each family's table of smooth points in tests/ops/test_*.py),
so an op that gains a VJP test gains a JVP test: first order (forward mode) and, where the family checks double
backward, forward-over-reverse (the JVP of the gradient, i.e. a Hessian-vector product).
"""
from __future__ import annotations

import pytest

from tests.ops import (
    test_activations,
    test_binary,
    test_indexing,
    test_linalg,
    test_nn,
    test_reductions,
    test_shape,
    test_unary,
)
from tests.ops.numerical_jvp import check_jvp


def _cases():
    """(id, fn, arrays, tolerances, second order too) for every smooth case of the families' VJP tests."""
    cases = []
    for name, (fn, point) in test_unary.SMOOTH.items():
        cases.append((f"unary.{name}", fn, (point,), {}, True))
    for name, (fn, points) in test_activations.SMOOTH.items():
        cases.append((f"activations.{name}", fn, tuple(points), {}, True))
    for name, (fn, arrays) in test_binary.SMOOTH.items():
        cases.append((f"binary.{name}", fn, tuple(arrays), {}, name in test_binary.ORDER2))
    for name, (fn, arrays) in test_indexing.CASES.items():
        cases.append((f"indexing.{name}", fn, tuple(arrays), {}, True))
    for name, (fn, arrays) in test_linalg.CASES.items():
        cases.append((f"linalg.{name}", fn, tuple(arrays), {"rtol": 1e-4, "atol": 1e-5}, True))
    for name, (fn, point) in test_reductions.SMOOTH.items():
        cases.append((f"reductions.{name}", fn, (point,), {}, True))
    for name, (fn, point) in test_shape.OPS.items():
        cases.append((f"shape.{name}", fn, (point,), {}, True))
    for name, fn, arrays, gradgrad in test_nn.CASES:
        cases.append((f"nn.{name}", fn, tuple(arrays), {"rtol": 1e-4, "atol": 1e-5}, gradgrad))
    return cases


CASES = _cases()
# ops torch 2.13 gives no forward derivative (checked on torch 2.13.0+cpu): refgrad raises torch's error
NO_FORWARD_RULE = {"nn.cdist": "_cdist_forward", "nn.pdist": "_pdist_forward",
                   "nn.multi_margin_loss": "multi_margin_loss", "activations.rrelu_": "rrelu_with_noise_"}


@pytest.mark.parametrize("name,fn,arrays,tol,second", CASES, ids=[c[0] for c in CASES])
def test_jvp_matches_central_differences_and_vjp(name, fn, arrays, tol, second):
    if name in NO_FORWARD_RULE:
        with pytest.raises(NotImplementedError, match=f"^Trying to use forward AD with {NO_FORWARD_RULE[name]} that "
                           "does not support it because it has not been implemented yet"):
            check_jvp(fn, *arrays, **tol)
        return
    check_jvp(fn, *arrays, **tol)


SECOND = [c for c in CASES if c[4] and c[0] not in NO_FORWARD_RULE]


@pytest.mark.parametrize("name,fn,arrays,tol,second", SECOND, ids=[c[0] for c in SECOND])
def test_forward_over_reverse_matches_central_differences(name, fn, arrays, tol, second):
    check_jvp(fn, *arrays, order=2, **{"rtol": 1e-4, "atol": 1e-5, **tol})
