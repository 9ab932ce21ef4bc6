"""LU factorization with partial pivoting: linalg.lu, linalg.lu_factor(_ex), linalg.lu_solve, lu_unpack and the
deprecated torch.lu / torch.lu_solve.

The forward is LAPACK getrf's algorithm (the pivot of column j is the first entry of largest magnitude at or below
the diagonal, |re| + |im| for complex, as LAPACK's i?amax), so the pivots are LAPACK's: 1-based int32, row j
swapped with row pivots[j]. A zero pivot is skipped and recorded in ``info`` (the first zero U[i,i], 1-based).
The VJPs are torch's formulas written with refgrad ops (so double backward works) and conjugate transposes (so
they are torch's complex gradients directly: ``holomorphic=False``).
"""
from __future__ import annotations

import warnings

import numpy as np

from refgrad.dtypes import int32
from refgrad.ops._layout import column_major
from refgrad.ops._linalg_util import _pad, _save_outputs, _tril, _triu
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import _scalar
from refgrad.ops.extrema import return_type
from refgrad.ops.join import cat
from refgrad.ops.linalg import matmul
from refgrad.ops.linalg_triangular import _substitute, solve_triangular
from refgrad.tensor import Tensor

__all__ = ["lu", "lu_factor", "lu_factor_ex", "lu_solve", "lu_unpack", "lu_legacy", "lu_solve_legacy"]

_L = "torch.linalg"
_Lu = return_type("linalg_lu", ("P", "L", "U"))
_LuFactor = return_type("linalg_lu_factor", ("LU", "pivots"))
_LuFactorEx = return_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
_LuUnpack = return_type("lu_unpack", ("P", "L", "U"))


# --- the factorization (NumPy) ---------------------------------------------------------------------------------

def _getrf(a: np.ndarray):
    """(LU packed, pivots (1-based int32), info (int32)) of a batch of m x n matrices."""
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    w = a.reshape((-1, m, n)).copy()
    count = w.shape[0]
    pivots = np.zeros((count, k), dtype=np.int32)
    info = np.zeros(count, dtype=np.int32)
    rows = np.arange(count)
    for j in range(k):
        column = w[:, j:, j]
        magnitude = np.abs(column.real) + np.abs(column.imag) if w.dtype.kind == "c" else np.abs(column)
        p = np.argmax(magnitude, axis=1) + j
        pivots[:, j] = p + 1
        row_j = w[rows, j].copy()
        w[rows, j] = w[rows, p]
        w[rows, p] = row_j
        pivot = w[:, j, j]
        zero = pivot == 0
        info[zero & (info == 0)] = j + 1
        # LAPACK (getrf2) scales by the reciprocal (its rounding, not a division's), but a real pivot below the
        # safe minimum (a subnormal), whose reciprocal overflows, divides: 0 / 2e-311 is 0, 0 * (1 / 2e-311) NaN.
        # torch 2.13's complex LU scales even there (NaN), and so does refgrad.
        tiny = np.abs(pivot) < np.finfo(w.dtype).tiny if w.dtype.kind == "f" else np.zeros_like(zero)
        column = w[:, j + 1:, j]
        scaled = column * (1 / np.where(zero | tiny, 1, pivot))[:, None]
        divided = column / np.where(tiny, pivot, 1)[:, None]
        multipliers = np.where(zero[:, None], column, np.where(tiny[:, None], divided, scaled))
        w[:, j + 1:, j] = multipliers
        w[:, j + 1:, j + 1:] -= multipliers[:, :, None] * w[:, j, None, j + 1:]
    return w.reshape(a.shape), pivots.reshape(batch + (k,)), info.reshape(batch)


def _permutation(pivots: np.ndarray, m: int, dtype) -> np.ndarray:
    """P (m x m) with A = P L U, from LAPACK's row interchanges."""
    flat = pivots.reshape((-1, pivots.shape[-1])) - 1
    perm = np.tile(np.arange(m), (flat.shape[0], 1))
    rows = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        current = perm[:, j].copy()
        perm[:, j] = perm[rows, p]
        perm[rows, p] = current
    P = np.zeros((flat.shape[0], m, m), dtype=dtype)
    P[rows[:, None], perm, np.arange(m)] = 1
    return P.reshape(pivots.shape[:-1] + (m, m))


def _unpack(lu: np.ndarray):
    m, n = lu.shape[-2:]
    k = min(m, n)
    L = np.tril(lu[..., :, :k], -1)
    L[..., np.arange(k), np.arange(k)] = 1
    return L, np.triu(lu[..., :k, :])


# --- the VJP of A = P L U ----------------------------------------------------------------------------------------

def _lu_grad(P: Tensor, L: Tensor, U: Tensor, gL, gU) -> Tensor:
    """The gradient of A = P L U given those of L and U (conjugate-transpose formulas; m != n handled by
    splitting off the rectangular part: L2 = A2 U⁻¹ for tall A, U2 = L⁻¹ Pᵀ A2 for wide A)."""
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if gL is None:
        gL = Tensor._make(np.zeros(tuple(L.shape), dtype=L.dtype.numpy))
    if gU is None:
        gU = Tensor._make(np.zeros(tuple(U.shape), dtype=U.dtype.numpy))
    L1, U1 = L[..., :k, :k], U[..., :k, :k]
    phi = _tril(matmul(L1.mH, gL[..., :k, :]), k=-1) + _triu(matmul(gU[..., :, :k], U1.mH), k=0)
    if m < n:
        phi = phi - _tril(matmul(gU[..., :, k:], U[..., :, k:].mH), k=-1)
    elif m > n:
        phi = phi - _triu(matmul(L[..., k:, :].mH, gL[..., k:, :]), k=0)
    square = solve_triangular(L1.mH, phi, upper=True, unitriangular=True)
    square = solve_triangular(U1.mH, square, upper=False, left=False)
    if m < n:
        square = cat([square, solve_triangular(L1.mH, gU[..., :, k:], upper=True, unitriangular=True)], -1)
    elif m > n:
        square = cat([square, solve_triangular(U1.mH, gL[..., k:, :], upper=False, left=False)], -2)
    return matmul(P, square)


def _lu_vjp(c, gP, gL, gU):
    return _lu_grad(c.P, c.L, c.U, gL, gU)


def _lu_forward(a):
    lu_, pivots, _info = _getrf(a)
    L, U = _unpack(lu_)
    return _permutation(pivots, a.shape[-2], a.dtype), L, U


_lu = Primitive("LinalgLuBackward0", _lu_forward, _lu_vjp, differentiable=(1, 2), holomorphic=False,
                outputs=("P", "L", "U"))


def _lu_factor_forward(a):
    lu, *rest = _getrf(a)
    return (column_major(lu), *rest)  # (LAPACK's layout, as torch's)


def _lu_factor_vjp(c, gLU, g_pivots=None, g_info=None):
    LU = c.LU
    P, L, U = lu_unpack(LU, c.pivots)
    k = min(LU.shape[-2], LU.shape[-1])
    return _lu_grad(P, L, U, _tril(gLU, k=-1)[..., :, :k], _triu(gLU, k=0)[..., :k, :])


_lu_factor = Primitive("LinalgLuFactorExBackward0", _lu_factor_forward, _lu_factor_vjp, differentiable=(0,),
                       holomorphic=False, outputs=("LU", "pivots", "info"))


def _check_lu_input(name: str, A: Tensor, pivot: bool) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{name}: Expected tensor with 2 or more dimensions. Got size: "
                           f"[{', '.join(map(str, A.shape))}] instead")
    if not pivot:
        raise RuntimeError(f"{name.replace('torch.', 'linalg.').replace('linalg.linalg', 'linalg')}: LU without "
                           f"pivoting is not implemented on the CPU")
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise NotImplementedError(f'"lu_cpu" not implemented for \'{_scalar(A.dtype)}\'')


def _factor(name: str, A: Tensor, pivot: bool, check_errors: bool):
    _check_lu_input(name, A, pivot)
    LU, pivots, info = _lu_factor(A)
    if check_errors and info._data.size and info._data.max() > 0:
        flat = info._data.reshape(-1)
        index = int(np.argmax(flat > 0))
        where = f"(Batch element {index}): " if A.ndim > 2 else ""
        i = int(flat[index])
        raise RuntimeError(f"{name}: {where}U[{i},{i}] is zero and using it on lu_solve would result in a division "
                           f"by zero. If you still want to perform the factorization, consider calling "
                           f"linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    if LU.grad_fn is not None:  # torch saves LU and pivots (modifying LU in place fails the backward)
        _save_outputs((LU, pivots), ("LU", "pivots"))
    return LU, pivots, info


@register(namespace=_L)
def lu_factor_ex(A, *, pivot: bool = True, check_errors: bool = False, out=None):
    """(LU, pivots, info): L and U packed in one matrix, LAPACK's 1-based pivots (torch.linalg.lu_factor_ex)."""
    return _LuFactorEx(*_factor("torch.linalg.lu_factor_ex", A, pivot, check_errors))


@register(namespace=_L)
def lu_factor(A, *, pivot: bool = True, out=None):
    """(LU, pivots); raises for an exactly singular A (torch.linalg.lu_factor)."""
    LU, pivots, _info = _factor("torch.linalg.lu_factor", A, pivot, True)
    return _LuFactor(LU, pivots)


@register(namespace=_L)
def lu(A, *, pivot: bool = True, out=None):
    """(P, L, U) with A = P L U, P a permutation, L unit lower triangular (torch.linalg.lu)."""
    _check_lu_input("linalg.lu", A, pivot)
    return _Lu(*_save_outputs(_lu(A), ("P", "L", "U")))


@register("lu", method=True)
def lu_legacy(A, pivot: bool = True, get_infos: bool = False, out=None):
    """torch.lu (deprecated): (LU, pivots) or (LU, pivots, infos), a plain tuple."""
    warnings.warn("torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will "
                  "be removed in a future PyTorch release.", UserWarning, stacklevel=2)
    LU, pivots, info = _factor("torch.lu_factor", A, pivot, False)
    return (LU, pivots, info) if get_infos else (LU, pivots)


# --- lu_unpack -------------------------------------------------------------------------------------------------

def _lu_unpack_forward(lu_data, lu_pivots, unpack_data, unpack_pivots):
    m = lu_data.shape[-2]
    L, U = _unpack(lu_data) if unpack_data else (np.zeros(0, lu_data.dtype), np.zeros(0, lu_data.dtype))
    P = _permutation(lu_pivots, m, lu_data.dtype) if unpack_pivots else np.zeros(0, lu_data.dtype)
    return P, L, U


def _lu_unpack_vjp(c, gP, gL, gU):
    shape = tuple(c._input_meta[0][0])
    m, n = shape[-2:]
    k = min(m, n)
    grad = None
    if gL is not None and gL.numel():
        grad = _tril(gL, k=-1) if k == n else _pad(_tril(gL, k=-1), shape=shape)
    if gU is not None and gU.numel():
        part = _pad(_triu(gU, k=0), shape=shape) if k < m else _triu(gU, k=0)
        grad = part if grad is None else grad + part
    return grad, None


_lu_unpack = Primitive("LuUnpackBackward0", _lu_unpack_forward, _lu_unpack_vjp, inputs=("self", "pivots"),
                       differentiable=(1, 2), holomorphic=False)


@register()
def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True, *, out=None):
    """(P, L, U) from lu_factor's packed LU and pivots (torch.lu_unpack)."""
    if LU_data.ndim < 2:
        raise RuntimeError(f"torch.lu_unpack: Expected tensor with 2 or more dimensions. Got size: "
                           f"[{', '.join(map(str, LU_data.shape))}] instead")
    if LU_pivots.dtype.is_floating_point or LU_pivots.dtype.is_complex:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype. "
                           "Note: this function is intended to be used with the output produced by torch.linalg."
                           "lu_factor")
    P, L, U = _lu_unpack(LU_data, LU_pivots, unpack_data=unpack_data, unpack_pivots=unpack_pivots)
    for skipped, out in ((not unpack_pivots, P), (not unpack_data, L), (not unpack_data, U)):
        if skipped:  # torch 2.13's batch rule returns this empty (0,) tensor as if batched: vmap passes it through
            out._vmap_passthrough = True
    return _LuUnpack(P, L, U)


# --- lu_solve ----------------------------------------------------------------------------------------------------

def _getrs(lu_, pivots, b, trans):
    """Solve op(A) X = B from A's packed LU: trans 'N' (A), 'T' (Aᵀ) or 'C' (Aᴴ)."""
    batch = np.broadcast_shapes(lu_.shape[:-2], b.shape[:-2])
    lu_ = np.broadcast_to(lu_, batch + lu_.shape[-2:])
    P = np.broadcast_to(_permutation(pivots, lu_.shape[-1], lu_.dtype), batch + lu_.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    L, U = _unpack(lu_)
    if trans == "N":
        return _substitute(U, _substitute(L, np.swapaxes(P, -1, -2) @ b, False), True)
    if trans == "C":
        L, U = L.conj(), U.conj()
    return P @ _substitute(np.swapaxes(L, -1, -2), _substitute(np.swapaxes(U, -1, -2), b, False), True)


def _lu_solve_forward(lu_, pivots, b, left, adjoint):
    if left:  # LAPACK's column-major layout, as torch's (left=False: its transpose, C-contiguous as torch's)
        return column_major(_getrs(lu_, pivots, b, "C" if adjoint else "N"))
    bt = np.swapaxes(b, -1, -2)
    if adjoint:  # X A^H = B  <=>  conj(A) X^T = B^T
        return np.swapaxes(column_major(_getrs(lu_, pivots, bt.conj(), "N").conj()), -1, -2)
    return np.swapaxes(column_major(_getrs(lu_, pivots, bt, "T")), -1, -2)


def _lu_solve_vjp(c, g):
    LU, pivots = c.LU, c.pivots
    grad_B = _lu_solve(LU, pivots, g, left=c.left, adjoint=not c.adjoint)
    grad_LU = None
    if c.needs_input_grad(0):
        X = c.result
        if c.left:
            gA = -(matmul(X, grad_B.mH) if c.adjoint else matmul(grad_B, X.mH))
        else:
            gA = -(matmul(grad_B.mH, X) if c.adjoint else matmul(X.mH, grad_B))
        P, L, U = lu_unpack(LU, pivots)
        PgA = matmul(P.mT, gA)
        grad_LU = _tril(matmul(PgA, U.mH), k=-1) + _triu(matmul(L.mH, PgA), k=0)
    return grad_LU, None, grad_B if c.needs_input_grad(2) else None


_lu_solve = Primitive("LinalgLuSolveBackward0", _lu_solve_forward, _lu_solve_vjp, inputs=("LU", "pivots", "B"),
                      save=("LU", "pivots", "result"), holomorphic=False)


@register(namespace=_L)
def lu_solve(LU, pivots, B, *, left: bool = True, adjoint: bool = False, out=None):
    """Solve A X = B (left) or X A = B, or with Aᴴ (adjoint), from lu_factor's output (torch.linalg.lu_solve)."""
    if LU.ndim < 2 or LU.shape[-1] != LU.shape[-2]:
        raise RuntimeError(f"torch.linalg.lu_solve: A must be batches of square matrices, but they are "
                           f"{LU.shape[-2] if LU.ndim > 1 else 1} by {LU.shape[-1]} matrices")
    if B.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    if pivots.dtype is not int32:
        raise RuntimeError("linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32")
    if LU.dtype is not B.dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
                           f"{_scalar(LU.dtype)} and B of type {_scalar(B.dtype)} instead")
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    X = _lu_solve(LU, pivots, B, left=bool(left), adjoint=bool(adjoint))
    if not left and X.dtype.is_complex:  # torch solves the adjoint system and returns X as a conj view (conj bit set)
        X._is_conj = True
    return X


@register("lu_solve", method=True)
def lu_solve_legacy(b, LU_data, LU_pivots, *, out=None):
    """torch.lu_solve (deprecated): linalg.lu_solve(LU_data, LU_pivots, b)."""
    warnings.warn("torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a future "
                  "PyTorch release.", UserWarning, stacklevel=2)
    return lu_solve(LU_data, LU_pivots, b)
