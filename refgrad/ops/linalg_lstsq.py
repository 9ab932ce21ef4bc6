"""torch.linalg.lstsq: the minimum-norm least-squares solution of A X = B, with torch's per-driver extra outputs.

The solution is computed from the SVD (singular values below rcond·s_max dropped; rcond defaults to
eps·max(m, n), as torch passes to LAPACK); it is LAPACK's solution for every driver up to rounding. What the
drivers change is the rest of the result, as torch 2.13 returns it on the CPU:

- ``residuals`` (squared column norms of A X - B): for gels, gelsd and gelss when m > n and every matrix in the
  batch has full rank; empty for gelsy (the default) and otherwise;
- ``rank``: for gelsy, gelsd and gelss (from the singular values; gelsy estimates it from a pivoted QR, which
  agrees away from rcond); empty for gels;
- ``singular_values``: for gelsd and gelss; empty otherwise.

gels (QR, no rank revealing) raises for a matrix whose R has an exactly zero diagonal entry. The solution and the
residuals carry gradient: the solution's by torch's formula through pinv(A) (gB = pinv(A)ᴴ gX, gA the
pseudo-inverse's VJP at the cotangent gX Bᴴ), the residuals' as squared norms at the optimum (torch's formula).
"""
from __future__ import annotations

import numpy as np

from refgrad.ops._linalg_util import _eye, _mT
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import _scalar
from refgrad.ops.decompositions import LinAlgError, pinv, solve
from refgrad.ops.extrema import return_type
from refgrad.ops.linalg import matmul
from refgrad.tensor import Tensor

__all__ = ["lstsq"]

_Lstsq = return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))
_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _lstsq_forward(a, b, rcond, driver, vector):
    if vector:
        x, residuals, rank, singular = _lstsq_forward(a, b[..., None], rcond, driver, False)
        return x[..., 0], residuals, rank, singular
    m, n = a.shape[-2:]
    real = np.finfo(a.dtype).dtype
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    s_max = s[..., :1] if s.shape[-1] else s
    keep = s > rcond * s_max
    rank = keep.sum(-1).astype(np.int64)
    inv_s = np.where(keep, 1 / np.where(keep, s, 1), 0).astype(a.dtype)
    x = np.swapaxes(vh, -1, -2).conj() @ (inv_s[..., None] * (np.swapaxes(u, -1, -2).conj() @ b))
    batch = x.shape[:-2]
    if driver != "gelsy" and m > n and bool(np.all(rank == n)):
        residuals = (np.abs(b - a @ x) ** 2).sum(-2).astype(real)
    else:
        residuals = np.zeros(0, dtype=real)
    rank_out = np.broadcast_to(rank, batch).copy() if driver != "gels" else np.zeros(0, dtype=np.int64)
    singular = np.broadcast_to(s.astype(real), batch + s.shape[-1:]).copy() if driver in ("gelsd", "gelss") \
        else np.zeros(0, dtype=real)
    # torch's solution: the first n rows of LAPACK's max(m, n) x k column-major buffer (its strides show it)
    buffer = np.zeros(batch + (x.shape[-1], max(m, n)), x.dtype)
    solution = np.swapaxes(buffer, -1, -2)[..., :n, :]
    solution[...] = x
    return solution, residuals, rank_out, singular


def _pseudo_inverse(A: Tensor) -> Tensor:
    """pinv(A), differentiable: refgrad's pinv for real A; for complex A (full rank) the normal-equation forms."""
    if not A.dtype.is_complex:
        return pinv(A)
    m, n = A.shape[-2:]
    if m >= n:
        return solve(matmul(A.mH, A), A.mH)
    return _mT(solve(_mT(matmul(A, A.mH)), _mT(A.mH)))  # Aᴴ (A Aᴴ)⁻¹ as a left solve of the transposes


def _lstsq_vjp(c, g_solution, g_residuals=None, g_rank=None, g_singular=None):
    A, B = c.self, c.b
    if c.vector:  # a vector right-hand side: the column case, the gradient of B squeezed back
        B = B.unsqueeze(-1)
        g_solution = None if g_solution is None else g_solution.unsqueeze(-1)
    grad_A = grad_B = None
    if g_solution is not None:
        P = _pseudo_inverse(A)
        if c.needs_input_grad(1):
            grad_B = matmul(P.mH, g_solution)
        if c.needs_input_grad(0):
            gP = matmul(g_solution, B.mH)
            m, n = A.shape[-2:]
            PH = P.mH
            grad_A = (-matmul(PH, matmul(gP, PH))
                      + matmul(_eye(m, A) - matmul(A, P), matmul(gP.mH, matmul(P, PH)))
                      + matmul(matmul(PH, P), matmul(gP.mH, _eye(n, A) - matmul(P, A))))
    if g_residuals is not None and g_residuals.numel():
        # r_j = ‖A x_j - b_j‖² at the optimum, where Aᴴ(A x_j - b_j) = 0: dr_j = 2 Re<A x_j - b_j, dA x_j - db_j>
        X = c.result.unsqueeze(-1) if c.vector else c.result
        weighted = 2 * (matmul(A, X) - B) * g_residuals.unsqueeze(-2)
        from_residuals_A, from_residuals_B = matmul(weighted, X.mH), -weighted
        grad_A = from_residuals_A if grad_A is None else grad_A + from_residuals_A
        grad_B = from_residuals_B if grad_B is None else grad_B + from_residuals_B
    if c.vector and grad_B is not None:
        grad_B = grad_B.squeeze(-1)
    return grad_A, grad_B


_lstsq = Primitive("LinalgLstsqBackward0", _lstsq_forward, _lstsq_vjp, inputs=("self", "b"),
                   save=("self", "b", "result"), differentiable=(0, 1), holomorphic=False,
                   # torch 2.13: even empty residuals get a tangent requiring grad when A or B does
                   jvp="transpose_reading_primals")


@register(namespace="torch.linalg")
def lstsq(A, B, rcond=None, *, driver=None):
    """(solution, residuals, rank, singular_values) of min ‖A X - B‖ (torch.linalg.lstsq, CPU drivers)."""
    name = "torch.linalg.lstsq"
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if B.ndim < 1:
        raise RuntimeError(f"{name}: other must have at least 1 dimension.")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{name}: Expected input and other to have the same dtype, but got input's dtype "
                           f"{_scalar(A.dtype)} and other's dtype {_scalar(B.dtype)}")
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError(f"{name}: Expected input and other to have the same dtype, but got input's dtype "
                           f"{_scalar(A.dtype)} and other's dtype {_scalar(B.dtype)}")
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError(f"{name}: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    vector = B.ndim == A.ndim - 1
    if (B.shape[-1] if vector else B.shape[-2]) != A.shape[-2]:
        raise RuntimeError(f"{name}: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2:]
    if rcond is None:
        rcond = float(np.finfo(A.dtype.numpy).eps) * max(m, n)
    if driver == "gels":
        _check_full_rank(A._data)
    solution, residuals, rank, singular = _lstsq(A, B, rcond=float(rcond), driver=driver, vector=vector)
    return _Lstsq(solution, residuals, rank, singular)


def _check_full_rank(a: np.ndarray) -> None:
    """gels factors A = QR (tall) or LQ (wide) and fails on an exactly zero diagonal entry of the triangle."""
    m, n = a.shape[-2:]
    r = np.linalg.qr(a if m >= n else np.swapaxes(a, -1, -2).conj(), mode="r")
    diagonal = np.diagonal(r, axis1=-2, axis2=-1).reshape(-1, min(m, n))
    zero = diagonal == 0
    if zero.any():
        index = int(np.argmax(zero.any(0) if zero.ndim > 1 else zero)) + 1
        raise LinAlgError(f"torch.linalg.lstsq: The least squares solution could not be computed because the input "
                          f"matrix does not have full rank (error code: {index}).")
