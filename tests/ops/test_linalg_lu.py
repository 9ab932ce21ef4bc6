"""linalg_lu.py: LU's VJPs (square, tall, wide; real and complex) to first and second order against central
differences, the factorization against its definition A = P L U, LAPACK's 1-based pivots and torch's node names;
forward mode (the generic JVP) of the new linear-algebra ops against central differences. No torch import."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp
from tests.ops.numerical_jvp import check_jvp

L = rg.linalg
rng = np.random.default_rng(11)
SQ = rng.standard_normal((3, 3))
TALL = rng.standard_normal((4, 2))
WIDE = rng.standard_normal((2, 4))
BATCH = rng.standard_normal((2, 3, 3))
CSQ = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
RHS = rng.standard_normal((3, 2))
CRHS = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))


def _factors(a):
    P, Lo, U = L.lu(a)
    return Lo, U


def _solve(left, adjoint):
    def fn(a, b):
        LU, piv = L.lu_factor(a)
        return L.lu_solve(LU, piv, b if left else b.mT, left=left, adjoint=adjoint)
    return fn


def _legacy_lu(a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rg.lu(a)[0]


def _legacy_lu_solve(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rg.lu_solve(b, *L.lu_factor(a))


CASES = {
    "linalg.lu": (_factors, (SQ,)),
    "linalg.lu.tall": (_factors, (TALL,)),
    "linalg.lu.wide": (_factors, (WIDE,)),
    "linalg.lu.complex": (_factors, (CSQ,)),
    "linalg.lu_factor": (lambda a: L.lu_factor(a).LU, (BATCH,)),
    "linalg.lu_factor.tall": (lambda a: L.lu_factor(a).LU, (TALL,)),
    "linalg.lu_factor.wide": (lambda a: L.lu_factor(a).LU, (WIDE,)),
    "linalg.lu_factor_ex": (lambda a: L.lu_factor_ex(a).LU, (CSQ,)),
    "linalg.lu_solve": (_solve(True, False), (SQ, RHS)),
    "linalg.lu_solve.adjoint": (_solve(True, True), (CSQ, CRHS)),
    "linalg.lu_solve.right": (_solve(False, False), (CSQ, CRHS)),
    "linalg.lu_solve.right_adjoint": (_solve(False, True), (SQ, RHS)),
    "lu": (_legacy_lu, (SQ,)),
    "lu_solve": (_legacy_lu_solve, (SQ, RHS)),
    "lu_unpack": (lambda a: tuple(rg.lu_unpack(*L.lu_factor(a)))[1:], (WIDE,)),
    "lu_unpack.tall": (lambda a: tuple(rg.lu_unpack(*L.lu_factor(a)))[1:], (TALL,)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("a", [SQ, TALL, WIDE, BATCH, CSQ], ids=["square", "tall", "wide", "batch", "complex"])
def test_factors_reconstruct_and_pivot_by_the_largest_entry(a):
    P, Lo, U = (t.numpy() for t in L.lu(rg.tensor(a)))
    np.testing.assert_allclose(P @ Lo @ U, a, atol=1e-12)
    assert np.all(np.abs(Lo) <= 1 + 1e-12) and np.allclose(np.diagonal(Lo, axis1=-2, axis2=-1), 1)
    LU, pivots = L.lu_factor(rg.tensor(a))
    assert pivots.dtype is rg.int32 and pivots.numpy().min() >= 1
    first = np.argmax(np.abs(a[..., :, 0].real) + np.abs(a[..., :, 0].imag), axis=-1) + 1
    np.testing.assert_array_equal(pivots.numpy()[..., 0], first)
    np.testing.assert_allclose(rg.lu_unpack(LU, pivots).P.numpy(), P)


def test_singular_info_and_errors():
    a = rg.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=rg.float64)
    assert L.lu_factor_ex(a).info.item() == 2
    with pytest.raises(RuntimeError, match=r"torch.linalg.lu_factor: U\[2,2\] is zero"):
        L.lu_factor(a)
    with pytest.raises(RuntimeError, match="LU without pivoting is not implemented on the CPU"):
        L.lu(a, pivot=False)
    with pytest.raises(RuntimeError, match="pivots should be a Tensor of scalar type torch.int32"):
        L.lu_solve(a, rg.tensor([1, 2]), a)


@pytest.mark.parametrize("dtype", [rg.float64, rg.float32])
def test_subnormal_pivot_divides_as_lapack(dtype):
    # default seed 2701 (linalg.lu_factor_ex.singular): [[d, d], [0, 0]], d = 2.2e-311. LAPACK divides by a real
    # pivot below the safe minimum instead of scaling by its reciprocal (which overflows): torch 2.13 gives
    # L[1, 0] = 0, U[1, 1] = 0 and info 2; scaling gave 0 * inf = NaN and info 0
    d = 2.0 ** -1040 if dtype is rg.float64 else 2.0 ** -140
    LU, pivots, info = L.lu_factor_ex(rg.tensor([[d, d], [0.0, 0.0]], dtype=dtype))
    np.testing.assert_array_equal(LU.numpy(), [[d, d], [0.0, 0.0]])
    assert pivots.tolist() == [1, 2] and info.item() == 2
    # a subnormal pivot over a subnormal entry: the multiplier is the quotient 1/4, not d/4 * inf
    LU = L.lu_factor(rg.tensor([[d, 1.0], [d / 4, 1.0]], dtype=dtype)).LU.numpy()
    np.testing.assert_array_equal(LU, [[d, 1.0], [0.25, 0.75]])


def test_subnormal_complex_pivot_scales_as_torch():
    # torch 2.13's complex LU scales by the reciprocal even at a subnormal pivot: NaN multipliers, info 0
    d = 2.0 ** -1040
    LU, _, info = L.lu_factor_ex(rg.tensor([[d, d], [0.0, 0.0]], dtype=rg.complex128))
    assert np.isnan(LU.numpy()[1]).all() and info.item() == 0


def test_grad_fn_names_follow_torch():
    a = rg.tensor(SQ, requires_grad=True)
    P, Lo, U = L.lu(a)
    LU, piv = L.lu_factor(a)
    unpacked = rg.lu_unpack(LU, piv)
    x = L.lu_solve(LU, piv, a)
    assert (P.grad_fn, Lo.grad_fn.name(), LU.grad_fn.name(), unpacked.P.grad_fn, unpacked.L.grad_fn.name(),
            x.grad_fn.name()) == (None, "LinalgLuBackward0", "LinalgLuFactorExBackward0", None, "LuUnpackBackward0",
                                  "LinalgLuSolveBackward0")



JVP_CASES = {
    "linalg.lu.tall": (lambda a: L.lu(a)[1:], (TALL,)),
    "linalg.lu_factor.wide": (lambda a: L.lu_factor(a).LU, (WIDE,)),
    "linalg.lu_solve": (_solve(True, False), (SQ, RHS)),
    "lu_unpack": (lambda a: tuple(rg.lu_unpack(*L.lu_factor(a)))[1:], (SQ,)),
    "linalg.lstsq": (lambda a, b: L.lstsq(a, b, driver="gelsd")[:2], (TALL, rng.standard_normal((4, 2)))),
    "linalg.householder_product": (lambda a, tau: L.householder_product(a, tau), (TALL, rng.standard_normal(2))),
}


@pytest.mark.parametrize("name", JVP_CASES)
def test_forward_mode_matches_central_differences(name):
    fn, arrays = JVP_CASES[name]
    check_jvp(fn, *arrays, rtol=1e-5, atol=1e-5)


def test_lu_solve_from_the_right_returns_a_conj_view_for_complex_as_torch():
    # torch solves the adjoint system and returns X with the conj bit set (default seed 2205: numpy() on it raises)
    A = rg.tensor([[1 + 1j, 2, 0], [0, 3, 1j], [1, 0, 2]], dtype=rg.complex128)
    B = rg.tensor([[1, 2j, 0], [0, 1, 1], [1j, 0, 2]], dtype=rg.complex128)
    LU, pivots = rg.linalg.lu_factor(A)
    for left, adjoint in ((True, True), (True, False), (False, True), (False, False)):
        assert rg.linalg.lu_solve(LU, pivots, B, left=left, adjoint=adjoint).is_conj() == (not left)
    X = rg.linalg.lu_solve(LU, pivots, B, left=False)
    assert rg.allclose(X.resolve_conj() @ A, B)
