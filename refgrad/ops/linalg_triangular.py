"""Triangular systems: solve_triangular, triangular_solve, cholesky_solve.

Forwards substitute as BLAS trsm does (no singularity check); VJPs are written with refgrad ops, so double
backward works.
"""
from __future__ import annotations

import numpy as np

from refgrad.ops._layout import column_major
from refgrad.ops._linalg_util import (
    _check_square,
    _mT,
    _TriangularSolve,
    _tril,
    _triu,
)
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import _scalar
from refgrad.ops.linalg import matmul
from refgrad.tensor import Tensor

# --- triangular systems ----------------------------------------------------------------------------------------


def _triangle(a, upper, unitriangular):
    t = np.triu(a) if upper else np.tril(a)
    if unitriangular:
        idx = np.arange(a.shape[-1])
        t = t.copy()
        t[..., idx, idx] = 1
    return t


def _substitute(t, b, upper):
    """Solve t x = b by substitution, as BLAS trsm does: no singularity check, so a zero pivot gives IEEE infs
    and NaNs (torch's solve_triangular returns them; it never raises)."""
    batch = np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
    t = np.broadcast_to(t, batch + t.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    n = t.shape[-1]
    x = np.zeros(b.shape, dtype=np.result_type(t, b))
    for i in (range(n - 1, -1, -1) if upper else range(n)):
        done = slice(i + 1, n) if upper else slice(0, i)
        partial = (t[..., i:i + 1, done] @ x[..., done, :])[..., 0, :]
        x[..., i, :] = (b[..., i, :] - partial) / t[..., i, i, None]
    return x


def _tri_solve_forward(a, b, upper, left, unitriangular):
    t = _triangle(a, upper, unitriangular)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if left:  # column-major either way, as torch's
            return column_major(_substitute(t, b, upper))
        return column_major(np.swapaxes(_substitute(np.swapaxes(t, -1, -2), np.swapaxes(b, -1, -2), not upper),
                                        -1, -2))


def _project(gA: Tensor, upper: bool, unitriangular: bool) -> Tensor:
    return (_triu(gA, k=1 if unitriangular else 0) if upper else _tril(gA, k=-1 if unitriangular else 0))


def _tri_solve_vjp(c, g):
    A = c.self
    grad_B = solve_triangular(_mT(A), g, upper=not c.upper, left=c.left, unitriangular=c.unitriangular)
    grad_A = None
    if c.needs_input_grad(0):
        X = c.result
        grad_A = -(matmul(grad_B, _mT(X)) if c.left else matmul(_mT(X), grad_B))
        grad_A = _project(grad_A, c.upper, c.unitriangular)
    return grad_A, grad_B if c.needs_input_grad(1) else None


# torch saves A and the result whichever input needs the gradient (modifying the output in place fails the backward
# even when only B requires grad); B itself is not saved
_tri_solve = Primitive("LinalgSolveTriangularBackward0", _tri_solve_forward, _tri_solve_vjp, inputs=("self", "B"),
                       save={"self": ("self", "B"), "result": ("self", "B")})


@register(namespace="torch.linalg")
def solve_triangular(A, B, *, upper: bool, left: bool = True, unitriangular: bool = False, out=None):
    """Solve A X = B (or X A = B) for triangular A (torch.linalg.solve_triangular)."""
    _check_square("linalg.solve_triangular", A, complex_ok=True)
    if B.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve_triangular: Expected A and B to have the same dtype, but found A of type "
                           f"{_scalar(A.dtype)} and B of type {_scalar(B.dtype)} instead")
    if (B.shape[-2] if left else B.shape[-1]) != A.shape[-1]:
        raise RuntimeError("linalg.solve_triangular: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x"
                           f"{B.shape[-1]})")
    return _tri_solve(A, B, upper=upper, left=left, unitriangular=unitriangular)


def _legacy_tri_forward(b, a, upper, transpose, unitriangular):
    t = _triangle(a, upper, unitriangular)
    solution = _tri_solve_forward(np.swapaxes(t, -1, -2) if transpose else t, b, upper != transpose, True, False)
    return column_major(solution), column_major(np.broadcast_to(a, solution.shape[:-2] + a.shape[-2:]))


def _legacy_tri_vjp(c, g_solution, g_coefficient):
    c.self  # noqa: B018 - torch saves b as well (version check)
    A = c.A
    T = _mT(A) if c.transpose else A
    upper = c.upper != c.transpose
    grad_b = solve_triangular(_mT(T), g_solution, upper=not upper, unitriangular=c.unitriangular)
    grad_A = None
    if c.needs_input_grad(1):
        grad_T = _project(-matmul(grad_b, _mT(c.result)), upper, c.unitriangular)
        grad_A = (_mT(grad_T) if c.transpose else grad_T) + g_coefficient
    return grad_b if c.needs_input_grad(0) else None, grad_A


_legacy_tri = Primitive("TriangularSolveBackward0", _legacy_tri_forward, _legacy_tri_vjp, inputs=("self", "A"),
                        save={"self": ("self", "A"), "A": ("self", "A"), "result": ("self", "A")})


@register(method=True)
def triangular_solve(b, A, upper: bool = True, transpose: bool = False, unitriangular: bool = False):
    """Solve A X = b for triangular A; returns (solution, cloned A) (torch.triangular_solve, deprecated)."""
    _check_square("triangular_solve", A)
    return _TriangularSolve(*_legacy_tri(b, A, upper=upper, transpose=transpose, unitriangular=unitriangular))


def _cholesky_solve_forward(b, u, upper):
    low = np.swapaxes(u, -1, -2) if upper else u
    a = low @ np.swapaxes(low, -1, -2)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return column_major(np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]),
                                        np.broadcast_to(b, batch + b.shape[-2:])))  # (as torch's)


def _cholesky_solve_vjp(c, g):
    c.self  # noqa: B018 - torch saves B as well: version check
    X, L = c.result, c.input2
    grad_b = cholesky_solve(g, L, upper=c.upper)
    grad_L = None
    if c.needs_input_grad(1):
        common = matmul(grad_b, _mT(X))
        common = common + _mT(common)
        grad_L = -matmul(L, common) if c.upper else -matmul(common, L)
    return grad_b if c.needs_input_grad(0) else None, grad_L


_cholesky_solve = Primitive("CholeskySolveBackward0", _cholesky_solve_forward, _cholesky_solve_vjp,
                            inputs=("self", "input2"), save=("self", "input2", "result"))


@register(method=True)
def cholesky_solve(B, L, upper: bool = False, *, out=None):
    """Solve A X = B given the Cholesky factor L of A (torch.cholesky_solve)."""
    if B.ndim < 2 or L.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.ndim} dimensions instead")
    return _cholesky_solve(B, L, upper=upper)
