"""More of torch.linalg: the ``*_ex`` variants (inv_ex, cholesky_ex, solve_ex), multi_dot, vander, matrix_exp,
tensorinv, tensorsolve, cond, cholesky_inverse and pinverse.

``*_ex`` return the factor with an ``info`` tensor of zeros (they raise where the plain op raises: refgrad has no
LAPACK info codes to return instead). multi_dot, vander, tensorinv, tensorsolve and cond compose refgrad ops as
torch does in C++, so their VJPs come from those ops; matrix_exp and cholesky_inverse are Primitives.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from refgrad.ops._layout import column_major
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import _scalar
from refgrad.ops.decompositions import cholesky, inv, pinv, qr, solve, svd, svdvals
from refgrad.ops.join import cat
from refgrad.ops.linalg import matmul, mm
from refgrad.ops.linalg_norms import matrix_norm
from refgrad.ops.scan import cumprod
from refgrad.tensor import Tensor

__all__ = ["inv_ex", "cholesky_ex", "solve_ex", "multi_dot", "vander", "matrix_exp", "tensorinv", "tensorsolve",
           "cond", "cholesky_inverse", "pinverse"]

_L = "torch.linalg"
_InvEx = namedtuple("linalg_inv_ex", ["inverse", "info"])
_CholeskyEx = namedtuple("linalg_cholesky_ex", ["L", "info"])
_SolveEx = namedtuple("linalg_solve_ex", ["result", "info"])
_Qr = namedtuple("qr", ["Q", "R"])
_Svd = namedtuple("svd", ["U", "S", "V"])


def _info(A: Tensor) -> Tensor:
    return Tensor._make(np.zeros(A.shape[:-2], dtype=np.int32))


@register(namespace=_L)
def inv_ex(A, *, check_errors: bool = False, out=None):
    """(inverse, info) (torch.linalg.inv_ex); info is 0 (a singular A raises, as linalg.inv)."""
    return _InvEx(inv(A), _info(A))


@register(namespace=_L)
def cholesky_ex(A, *, upper: bool = False, check_errors: bool = False, out=None):
    """(L, info) (torch.linalg.cholesky_ex); info is 0 (a non-positive-definite A raises)."""
    return _CholeskyEx(cholesky(A, upper=upper), _info(A))


@register(namespace=_L)
def solve_ex(A, B, *, left: bool = True, check_errors: bool = False, out=None):
    """(result, info) (torch.linalg.solve_ex); info is 0 (a singular A raises)."""
    return _SolveEx(solve(A, B, left=left), _info(A))


# --- multi_dot ----------------------------------------------------------------------------------------------

def _chain_order(dims: list[int]) -> list[list[int]]:
    """The cheapest parenthesization of a matrix chain (dynamic programming): split[i][j] for the product i..j."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


@register(namespace=_L)
def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices in the cheapest order; the first and last may be vectors
    (torch.linalg.multi_dot)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first_vector, last_vector = tensors[0].ndim == 1, tensors[-1].ndim == 1
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            if i == 0:
                raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {t.ndim}D")
            if i == len(tensors) - 1:
                raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {t.ndim}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    if any(t.dtype is not tensors[0].dtype for t in tensors):
        raise RuntimeError("multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                           f"{_scalar(tensors[0].dtype)} and tensor {next(i for i, t in enumerate(tensors) if t.dtype is not tensors[0].dtype)} is "  # noqa: E501
                           f"{_scalar(next(t for t in tensors if t.dtype is not tensors[0].dtype).dtype)}")
    matrices = list(tensors)
    if first_vector:
        matrices[0] = matrices[0].unsqueeze(0)
    if last_vector:
        matrices[-1] = matrices[-1].unsqueeze(-1)
    for i in range(len(matrices) - 1):
        if matrices[i].shape[1] != matrices[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"[{', '.join(map(str, tensors[i].shape))}] and "
                               f"[{', '.join(map(str, tensors[i + 1].shape))}] cannot be multiplied")
    dims = [m.shape[0] for m in matrices] + [matrices[-1].shape[1]]
    if len(matrices) == 2:
        product = mm(matrices[0], matrices[1])
    elif len(matrices) == 3:  # torch compares the two costs directly; a tie goes to (AB)C
        a, b, c, d = dims
        product = mm(mm(matrices[0], matrices[1]), matrices[2]) if a * c * (b + d) <= b * d * (a + c) else \
            mm(matrices[0], mm(matrices[1], matrices[2]))
    else:
        split = _chain_order(dims)

        def product_of(i, j):
            if i == j:
                return matrices[i]
            k = split[i][j]
            return mm(product_of(i, k), product_of(k + 1, j))

        product = product_of(0, len(matrices) - 1)
    shape = ([] if first_vector else [dims[0]]) + ([] if last_vector else [dims[-1]])
    return product.view(shape)


# --- vander -------------------------------------------------------------------------------------------------

@register(namespace=_L)
def vander(x, *, N: int | None = None):
    """Powers x^0, x^1, ..., x^(N-1) along a new last dim (torch.linalg.vander)."""
    if x.ndim == 0:
        raise RuntimeError("linalg.vander: Expected x to have at least one dimension, but got a tensor of dims 0.")
    n = x.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    ones = Tensor._make(np.ones(tuple(x.shape) + (1,), dtype=x.dtype.numpy))
    powers = cumprod(x.unsqueeze(-1).expand(*x.shape, n - 1), -1)
    return cat([ones, powers], -1)


# --- matrix_exp ---------------------------------------------------------------------------------------------

def _expm(a: np.ndarray) -> np.ndarray:
    """exp(A) by scaling and squaring with a degree-18 Taylor polynomial (error far below float64 eps)."""
    if a.size == 0:
        return a.copy()
    work = a.astype(np.float64)
    norm = np.max(np.sum(np.abs(work), axis=-2), axis=-1) if work.ndim > 1 else np.abs(work)
    finite_norm = np.where(np.isfinite(norm), norm, 0.0)
    squarings = np.maximum(0, np.ceil(np.log2(np.maximum(finite_norm, 1e-300) / 0.5))).astype(int)
    s = int(squarings.max()) if squarings.size else 0
    scaled = work / (2.0 ** s)
    eye = np.broadcast_to(np.eye(work.shape[-1]), work.shape)
    result, term = eye.copy(), eye.copy()
    for k in range(1, 19):
        term = term @ scaled / k
        result = result + term
    for _ in range(s):
        result = result @ result
    return result.astype(a.dtype)


def _matrix_exp_vjp(c, g):
    """exp(A)'s adjoint: the top-right block of exp([[Aᵀ, G], [0, Aᵀ]])."""
    A = c.self
    n = A.shape[-1]
    At = A.transpose(-2, -1)
    zeros = Tensor._make(np.zeros(tuple(A.shape), dtype=g.dtype.numpy))
    block = cat([cat([At, g], -1), cat([zeros, At], -1)], -2)
    return _matrix_exp(block)[..., :n, n:]


_matrix_exp = Primitive("LinalgMatrixExpBackward0", _expm, _matrix_exp_vjp, save=("self",))


@register(namespace=_L)
def matrix_exp(A):
    """The matrix exponential (torch.linalg.matrix_exp, torch.matrix_exp)."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_exp: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.ndim > 1 else 1} by {A.shape[-1]} matrices")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.matrix_exp: Expected a floating point or complex tensor as input. Got "
                           f"{_scalar(A.dtype)}")
    return _matrix_exp(A)


register("matrix_exp", method=True)(matrix_exp)


# --- tensorinv, tensorsolve, cond ---------------------------------------------------------------------------

_reshape_alias = Primitive("ReshapeAliasBackward0", lambda a, shape: a.reshape(shape),
                           lambda c, g: g.reshape(c._input_meta[0][0]), view=True)


@register(namespace=_L)
def tensorinv(A, ind: int = 2, *, out=None):
    """The inverse of A seen as a linear map from its first ``ind`` dims to the rest (torch.linalg.tensorinv)."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    inverse = inv(A.reshape(rows, cols))
    shape = tuple(A.shape[ind:]) + tuple(A.shape[:ind])
    # torch's inverse is column-major, so (beyond 1 x 1) its reshape is a ReshapeAliasBackward0 view
    return inverse.view(shape) if rows == 1 else _reshape_alias(inverse, shape=shape)


@register(namespace=_L)
def tensorsolve(A, B, dims=None, *, out=None):
    """X with tensordot(A, X, X.ndim) == B (torch.linalg.tensorsolve)."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.permute([d for d in range(A.ndim) if d not in dims] + dims)
    result_shape = tuple(A.shape[B.ndim:])
    n = math.prod(result_shape)
    if B.numel() != n:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {n} != {B.numel()}")
    return solve(A.reshape(n, n), B.reshape(n)).view(result_shape)


@register(namespace=_L)
def cond(A, p=None, *, out=None):
    """The condition number in norm ``p`` (None/2/-2: ratio of extreme singular values) (torch.linalg.cond)."""
    if A.ndim < 2:
        raise RuntimeError(f"linalg.cond: The input tensor A must have at least 2 dimensions.")  # noqa: F541
    if p is None or p in (2, -2):
        s = svdvals(A)
        largest, smallest = s.narrow(-1, 0, 1), s.narrow(-1, s.shape[-1] - 1, 1)
        ratio = largest / smallest if p != -2 else smallest / largest
        return ratio.squeeze(-1)
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    result = matrix_norm(A, p) * matrix_norm(inv(A), p)
    # torch ends with nan_to_num_(inf) (a singular A has condition number inf), except for the nuclear norm
    return result if p == "nuc" else result.nan_to_num(math.inf, math.inf)


# --- cholesky_inverse, pinverse -----------------------------------------------------------------------------

def _cholesky_inverse_forward(factor, upper):
    product = np.swapaxes(factor, -1, -2) @ factor if upper else factor @ np.swapaxes(factor, -1, -2)
    return column_major(np.linalg.inv(product))  # (LAPACK's layout, as torch's)


def _cholesky_inverse_vjp(c, g):
    inverse = c.result
    grad_A = -matmul(inverse, matmul(g, inverse))
    sym = grad_A + grad_A.transpose(-2, -1)
    return matmul(c.self, sym) if c.upper else matmul(sym, c.self)


_cholesky_inverse = Primitive("CholeskyInverseBackward0", _cholesky_inverse_forward, _cholesky_inverse_vjp,
                              save=("self", "result"))


@register(method=True)
def cholesky_inverse(L, upper: bool = False, *, out=None):
    """(L Lᵀ)⁻¹ (or (Uᵀ U)⁻¹) from a Cholesky factor (torch.cholesky_inverse)."""
    if L.ndim < 2 or L.shape[-1] != L.shape[-2]:
        raise RuntimeError(f"cholesky_inverse: A must be batches of square matrices, but they are "
                           f"{L.shape[-2] if L.ndim > 1 else 1} by {L.shape[-1]} matrices")
    return _cholesky_inverse(L, upper=bool(upper))


@register(method=True)
def pinverse(input, rcond: float = 1e-15):
    """The pseudo-inverse, singular values below rcond·max cut (torch.pinverse)."""
    return pinv(input, rtol=rcond)


# --- the torch.* spellings of linalg ops: qr, svd (legacy), linalg.diagonal -------------------------------------

@register("qr", method=True)
def qr_legacy(input, some: bool = True, *, out=None):
    """torch.qr: linalg.qr in 'reduced' (some=True) or 'complete' mode."""
    return _Qr(*qr(input, "reduced" if some else "complete"))


@register("svd", method=True)
def svd_legacy(input, some: bool = True, compute_uv: bool = True, *, out=None):
    """torch.svd: (U, S, V) with V = Vh transposed; without compute_uv, U and V are zeros, as torch."""
    U, S, Vh = svd(input, full_matrices=not some)
    if not compute_uv:
        m, n = input.shape[-2:]
        zeros = np.zeros(tuple(input.shape[:-2]) + (m, m), dtype=input.dtype.numpy)
        return _Svd(Tensor._make(zeros), S.detach(), Tensor._make(np.zeros(tuple(input.shape[:-2]) + (n, n),
                                                                            dtype=input.dtype.numpy)))
    return _Svd(U, S, Vh.transpose(-2, -1))


@register("diagonal", namespace=_L)
def linalg_diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """torch.linalg.diagonal: torch.diagonal with matrix defaults (dims -2, -1)."""
    return A.diagonal(offset, dim1, dim2)
