"""LAPACK results laid out as torch's: each matrix column by column (``stride(-2) == 1``), so ``.view(-1)`` raises
and ``.mT`` is contiguous, as in torch (refgrad's NumPy results were C-contiguous). A right-hand solve
(``left=False``) transposes a column-major solution back: C-contiguous, as in torch; lstsq's solution is the first
rows of a max(m, n)-row buffer."""
import warnings

import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _spd(*batch, n=3):
    a = RNG.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


M = {2: _spd(), 3: _spd(2)}
TALL = {2: RNG.standard_normal((3, 2)), 3: RNG.standard_normal((2, 3, 2))}
WIDE = {2: RNG.standard_normal((2, 4)), 3: RNG.standard_normal((2, 2, 4))}
RHS = {2: RNG.standard_normal((3, 4)), 3: RNG.standard_normal((2, 3, 4))}
LOW = {k: np.linalg.cholesky(v) for k, v in M.items()}

CASES = {
    "inv": lambda t, T, k: t.linalg.inv(T(M[k])),
    "inv_ex": lambda t, T, k: t.linalg.inv_ex(T(M[k]))[0],
    "solve": lambda t, T, k: t.linalg.solve(T(M[k]), T(RHS[k])),
    "solve.vector": lambda t, T, k: t.linalg.solve(T(M[k]), T(RHS[k][..., 0])),
    "solve.vector.broadcast": lambda t, T, k: t.linalg.solve(T(M[3]), T(RHS[2][:, 0])),
    "solve.right": lambda t, T, k: t.linalg.solve(T(M[k]), T(np.swapaxes(RHS[k], -1, -2)), left=False),
    "cholesky": lambda t, T, k: t.linalg.cholesky(T(M[k])),
    "cholesky.upper": lambda t, T, k: t.linalg.cholesky(T(M[k]), upper=True),
    "qr.Q": lambda t, T, k: t.linalg.qr(T(TALL[k]))[0],
    "qr.R": lambda t, T, k: t.linalg.qr(T(TALL[k]))[1],
    "qr.wide.R": lambda t, T, k: t.linalg.qr(T(WIDE[k]))[1],
    "qr.complete.Q": lambda t, T, k: t.linalg.qr(T(TALL[k]), mode="complete")[0],
    "svd.U": lambda t, T, k: t.linalg.svd(T(TALL[k]), full_matrices=False)[0],
    "svd.Vh": lambda t, T, k: t.linalg.svd(T(TALL[k]))[2],
    "torch.svd.V": lambda t, T, k: t.svd(T(TALL[k]))[2],
    "eigh.vectors": lambda t, T, k: t.linalg.eigh(T(M[k]))[1],
    "eig.vectors": lambda t, T, k: t.linalg.eig(T(M[k]))[1],
    "lu_factor.LU": lambda t, T, k: t.linalg.lu_factor(T(M[k]))[0],
    "lu_solve": lambda t, T, k: t.linalg.lu_solve(*t.linalg.lu_factor(T(M[k])), T(RHS[k])),
    "lu_solve.right": lambda t, T, k: t.linalg.lu_solve(*t.linalg.lu_factor(T(M[k])),
                                                        T(np.swapaxes(RHS[k], -1, -2)), left=False),
    "lstsq": lambda t, T, k: t.linalg.lstsq(T(TALL[k]), T(RHS[k][..., :3, :])).solution,
    "lstsq.wide": lambda t, T, k: t.linalg.lstsq(T(WIDE[k]), T(RHS[k][..., :2, :])).solution,
    "cholesky_inverse": lambda t, T, k: t.cholesky_inverse(T(LOW[k])),
    "cholesky_solve": lambda t, T, k: t.cholesky_solve(T(RHS[k]), T(LOW[k])),
    "triangular_solve": lambda t, T, k: t.triangular_solve(T(RHS[k]), T(LOW[k]), upper=False)[0],
    "triangular_solve.copy": lambda t, T, k: t.triangular_solve(T(RHS[k]), T(LOW[k]), upper=False)[1],
    "solve_triangular": lambda t, T, k: t.linalg.solve_triangular(T(LOW[k]), T(RHS[k]), upper=False),
    "solve_triangular.right": lambda t, T, k: t.linalg.solve_triangular(
        T(LOW[k]), T(np.swapaxes(RHS[k], -1, -2)), upper=False, left=False),
    "householder_product": lambda t, T, k: t.linalg.householder_product(T(TALL[k]), T(TALL[k][..., 0, :])),
    "ormqr": lambda t, T, k: t.ormqr(T(TALL[k]), T(TALL[k][..., 0, :]), T(RHS[k])),
    "tensorinv": lambda t, T, k: t.linalg.tensorinv(T(M[2]), ind=1),
}


def _layout(module, case, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = CASES[case](module, module.tensor, k)
    try:
        out.view(-1)
        viewable = True
    except RuntimeError:
        viewable = False
    return tuple(out.stride()), out.is_contiguous(), out.dim() < 2 or out.mT.is_contiguous(), viewable


@pytest.mark.parametrize("k", [2, 3], ids=["matrix", "batch"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_lapack_results_are_laid_out_as_torchs(case, k):
    assert _layout(refgrad, case, k) == _layout(torch, case, k)
