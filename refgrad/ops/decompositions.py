"""Matrix functions and decompositions: inv, det, slogdet, solve, cholesky, qr, eigh, svd, pinv and friends.

Forwards are LAPACK through NumPy (the same routines torch's CPU build calls, so signs of Q, eigenvectors and
singular vectors agree). VJPs are written with refgrad ops — the multi-output decompositions recompute their
factors from the saved input with the differentiable op itself — so double backward works everywhere.
Inputs may carry batch dimensions.
"""
from __future__ import annotations

import numpy as np

from refgrad.autograd._jvp import contraction, no_forward_rule
from refgrad.ops._layout import column_major
from refgrad.ops._linalg_util import (
    _QR,
    _SVD,
    _check_float,
    _check_square,
    _diag_embed,
    _diagonal,
    _Eigh,
    _eye,
    _mT,
    _save_outputs,
    _Slogdet,
    _tril,
)
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import _scalar, never_flowed
from refgrad.ops.linalg import matmul
from refgrad.ops.linalg_triangular import solve_triangular
from refgrad.tensor import Tensor


class LinAlgError(RuntimeError):
    """Raised when a factorization or inversion fails (torch.linalg.LinAlgError)."""


register("LinAlgError", namespace="torch.linalg")(LinAlgError)

# --- inverse, determinant, solve -------------------------------------------------------------------------------


def _inv_forward(a):
    try:
        return column_major(np.linalg.inv(a))  # (LAPACK's layout, as torch's)
    except np.linalg.LinAlgError:
        raise LinAlgError("linalg.inv: The diagonal element 1 is zero, the inversion could not be completed "
                          "because the input matrix is singular.") from None


_inv = Primitive("LinalgInvExBackward0", _inv_forward,
                 lambda c, g: -matmul(_mT(c.result), matmul(g, _mT(c.result))), save=("result",))


@register(namespace="torch.linalg", aliases=())
def inv(A, *, out=None):
    """Inverse of a square matrix (torch.linalg.inv); LinAlgError if singular."""
    _check_square("linalg.inv", A, complex_ok=True)
    return _inv(A)


register("inverse", method=True)(inv)


def _det_vjp(c, g):
    """torch 2.13's det backward: g·det·A^{-T} for nonsingular A. A 1x1 A gets g itself (no graph to A). Without
    grad mode, where det is exactly 0: zeros. Under create_graph torch switches to the cofactors from an SVD
    (differentiable, so its double backward is NaN at repeated singular values, as torch's) wherever
    |det| < 100·eps of the dtype (observed: diag(a, 1) switches at a = 2.2e-14 in float64, 1.2e-5 in float32;
    a·I3 at a³ = 2.2e-14): near-singular matrices, whose solve-based second derivative cancels catastrophically."""
    from refgrad.autograd.grad_mode import is_grad_enabled
    A, det = c.self, c.result
    n = A.shape[-1]
    if n == 1:
        return g.unsqueeze(-1).unsqueeze(-1).expand(A.shape)
    # exactly singular: det == 0, or (det computed from a slightly different LU) a solve that can't proceed, where
    # torch's LU would have given det == 0 too
    singular = (det._data == 0) | _unsolvable(A._data)
    if is_grad_enabled():
        singular = singular | (np.abs(det._data) < 100 * np.finfo(A._data.dtype).eps)
    scale = (g * det).unsqueeze(-1).unsqueeze(-1)
    if not singular.any():
        return solve(_mT(A), scale * _eye(n, A))
    if A.ndim == 2 and is_grad_enabled():
        return _det_cofactors(g, A)
    mask = Tensor._make(singular[..., None, None])
    safe = A.masked_fill(mask, 0.0) + _eye(n, A) * Tensor._make(singular[..., None, None].astype(A._data.dtype))
    grad = solve(_mT(safe), scale * _eye(n, A)).masked_fill(mask, 0.0)
    if not is_grad_enabled():
        return grad
    # batched, under create_graph: the singular matrices' gradients are the SVD cofactors, put in place
    from refgrad.ops.indexing import index_put
    flat = grad.reshape((-1, n, n))
    where = Tensor._make(np.flatnonzero(singular.reshape(-1)))
    picked = A.reshape((-1, n, n))[where]
    flat = index_put(flat, (where,), _det_cofactors(g.reshape(-1)[where], picked))
    return flat.reshape(A.shape)


def _unsolvable(a: np.ndarray) -> np.ndarray:
    """Per matrix of a batch: does LAPACK's LU of a^T hit an exactly zero pivot."""
    flat = a.reshape((-1,) + a.shape[-2:])
    bad = np.zeros(flat.shape[0], dtype=bool)
    for i, m in enumerate(flat):
        try:
            np.linalg.solve(m.T, np.eye(m.shape[-1], dtype=m.dtype))
        except np.linalg.LinAlgError:
            bad[i] = True
    return bad.reshape(a.shape[:-2])


def _det_cofactors(g: Tensor, A: Tensor) -> Tensor:
    """The gradient of det at any A, from A = U S Vh: U diag(g·det(U)det(Vh)·prod_{j != i} S_j) Vh."""
    U, S, Vh = svd(A)
    alpha = det(U) * det(Vh)
    return matmul(U * _products_but_one(alpha * g, S).unsqueeze(-2), Vh)


def _products_but_one(g: Tensor, S: Tensor) -> Tensor:
    """g · prod_{j != i} S_j along the last dim, without dividing (exact at zeros): exclusive prefix products times
    exclusive suffix products."""
    from refgrad.ops.join import cat
    from refgrad.ops.scan import cumprod
    ones = Tensor._make(np.ones(S.shape[:-1] + (1,), dtype=S._data.dtype))
    prefix = cumprod(cat([ones, S[..., :-1]], -1), -1)
    suffix = cumprod(cat([ones, S[..., 1:].flip(-1)], -1), -1).flip(-1)
    return g.unsqueeze(-1) * (prefix * suffix)


_det = Primitive("LinalgDetBackward0", lambda a: np.asarray(np.linalg.det(a), dtype=a.dtype), _det_vjp,
                 save=("self", "result"), jvp=contraction((-2, -1)))


@register(namespace="torch.linalg")
def det(A, *, out=None):
    """Determinant of square matrices (torch.linalg.det)."""
    _check_square("linalg.det", A)
    return _det(A)


register("det", method=True)(det)


def _slogdet_forward(a):
    sign, logabsdet = np.linalg.slogdet(a)
    return np.asarray(sign, dtype=a.dtype), np.asarray(logabsdet, dtype=a.dtype)


def _slogdet_vjp(c, g_sign, g_logabsdet):
    if never_flowed(g_logabsdet):  # torch: no gradient reached logabsdet, the sign's is ignored -> no gradient
        return None
    A = c.self
    return solve(_mT(A), g_logabsdet.unsqueeze(-1).unsqueeze(-1) * _eye(A.shape[-1], A))


def _slogdet_jvp(c, t):
    # torch's: trace(A⁻¹ dA) from the forward's LU factors, which carry no graph, so the tangent never requires grad
    A = c.self.detach()
    sign = Tensor._make(np.zeros_like(c.sign._data))
    return sign, (solve(_mT(A), _eye(A.shape[-1], A).expand(A.shape)) * t).sum((-2, -1))


_slogdet = Primitive("LinalgSlogdetBackward0", _slogdet_forward, _slogdet_vjp, save=("self",),
                     outputs=("sign", "logabsdet"), jvp=_slogdet_jvp)


@register(namespace="torch.linalg")
def slogdet(A, *, out=None):
    """Sign and log of the absolute value of the determinant (torch.linalg.slogdet)."""
    _check_square("linalg.slogdet", A)
    sign, logabsdet = _slogdet(A)
    if sign.grad_fn is not None:  # torch saves the sign output (modifying it in place fails the backward)
        _save_outputs((sign,), ("sign",))
    return _Slogdet(sign, logabsdet)


register("slogdet", method=True)(slogdet)


@register(method=True)
def logdet(input):
    """log(det(input)): NaN for a negative determinant (torch.logdet)."""
    from refgrad.ops.elementwise import where
    _check_square("linalg.slogdet", input)
    sign, logabsdet = _slogdet(input)
    return where(sign == -1, float("nan"), logabsdet)


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def _solve_forward(a, b, vector, left):
    if not left:
        return np.swapaxes(_solve_forward(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), False, True), -1, -2)
    try:
        if vector:  # batched: (last batch dim, n) column-major, as torch's
            return column_major(np.linalg.solve(a, b[..., None])[..., 0])
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        # LAPACK's column-major layout, as torch's (left=False transposes it back: C-contiguous, as torch's)
        return column_major(np.linalg.solve(np.broadcast_to(a, batch + a.shape[-2:]),
                                            np.broadcast_to(b, batch + b.shape[-2:])))
    except np.linalg.LinAlgError:
        raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.") from None


def _solve_vjp(c, g):
    A = c.A
    grad_B = solve(_mT(A), g, left=c.left)
    grad_A = None
    if c.needs_input_grad(0):
        X = c.result
        if not c.left:
            grad_A = -matmul(_mT(X), grad_B)
        else:
            grad_A = -(grad_B.unsqueeze(-1) * X.unsqueeze(-2) if c.vector else matmul(grad_B, _mT(X)))
    return grad_A, grad_B if c.needs_input_grad(1) else None


# torch saves A (with its LU) and the result whichever input needs the gradient: modifying either fails backward
_solve = Primitive("LinalgSolveExBackward0", _solve_forward, _solve_vjp, inputs=("A", "B"),
                   save={"A": ("A", "B"), "result": ("A", "B")})


@register(namespace="torch.linalg")
def solve(A, B, *, left: bool = True, out=None):
    """The solution X of A X = B (or X A = B when ``left=False``) (torch.linalg.solve)."""
    _check_square("linalg.solve", A, complex_ok=True)
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{_scalar(A.dtype)} and B of type {_scalar(B.dtype)} instead")
    vector = _is_vector_rhs(A, B)
    if not left:
        if vector or B.shape[-1] != A.shape[-1]:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation XA = B "
                               f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2] if B.ndim > 1 else 1}x{B.shape[-1]})")
        return _solve(A, B, vector=False, left=False)
    if B.shape[-1 if vector else -2] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2] if B.ndim > 1 else B.shape[-1]}x"
                           f"{B.shape[-1] if B.ndim > 1 else 1})")
    return _solve(A, B, vector=vector, left=True)


# --- cholesky, qr, eigh, svd -----------------------------------------------------------------------------------


def _failing_minor(matrix) -> int:
    """The order of the first leading minor whose factorization fails (LAPACK potrf's info), 0 if none."""
    for k in range(1, matrix.shape[-1] + 1):
        try:
            if np.isnan(np.linalg.cholesky(matrix[:k, :k])).any():
                return k
        except np.linalg.LinAlgError:
            return k
    return 0


def _cholesky_forward(a, upper, name="linalg.cholesky"):
    batch = a.reshape((-1,) + a.shape[-2:])
    for index, matrix in enumerate(batch):
        order = _failing_minor(matrix)
        if order:
            where = f"(Batch element {index}): " if a.ndim > 2 else ""
            raise LinAlgError(f"{name}: {where}The factorization could not be completed because the input is not "
                              f"positive-definite (the leading minor of order {order} is not positive-definite).")
    low = np.linalg.cholesky(a) if a.size else a.copy()
    return column_major(np.swapaxes(low, -1, -2) if upper else low)  # (LAPACK's layout, as torch's)


def _cholesky_vjp(c, g):
    """gA = sym(L^{-T} Φ(L^T gL) L^{-1}), Φ = lower triangle with the diagonal halved."""
    L = _mT(c.result) if c.upper else c.result
    gL = _mT(g) if c.upper else g
    phi = _tril(matmul(_mT(L), gL), k=-1) + _diag_embed(_diagonal(matmul(_mT(L), gL)) * 0.5)
    L_inv = inv(L)
    S = matmul(_mT(L_inv), matmul(phi, L_inv))
    return (S + _mT(S)) * 0.5


_cholesky = Primitive("LinalgCholeskyExBackward0", _cholesky_forward, _cholesky_vjp, save=("result",))
_cholesky_old = Primitive("CholeskyBackward0", _cholesky_forward, _cholesky_vjp, save=("result",),
                          jvp=no_forward_rule("cholesky"))  # torch 2.13: torch.cholesky has no forward rule


@register(namespace="torch.linalg")
def cholesky(A, *, upper: bool = False, out=None):
    """Cholesky factor of a symmetric positive-definite matrix (torch.linalg.cholesky)."""
    _check_square("linalg.cholesky", A)
    return _cholesky(A, upper=upper)


def _torch_cholesky(input, upper: bool = False):
    """torch.cholesky (deprecated spelling of linalg.cholesky)."""
    _check_square("cholesky", input)
    return _cholesky_old(input, upper=upper, name="cholesky")


register("cholesky", method=True)(_torch_cholesky)


def _qr_forward(a, mode):
    q, r = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
    if mode == "r":
        return np.zeros((0,), dtype=a.dtype), column_major(r)
    return column_major(q), column_major(r)  # (LAPACK's layout, as torch's)


def _qr_vjp(c, gQ, gR):
    """gA = (gQ + Q copyltu(M)) R^{-T}, M = R gR^T - gQ^T Q (m >= n)."""
    m, n = c._input_meta[0][0][-2:]
    if c.mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                           "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
    if m < n:
        raise NotImplementedError("refgrad: linalg.qr backward for wide matrices (m < n) is not implemented")
    if c.mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    Q, R = c.Q, c.R
    M = matmul(R, _mT(gR)) - matmul(_mT(gQ), Q)
    lower = _tril(M, k=-1)
    sym = lower + _mT(lower) + _diag_embed(_diagonal(M))
    rhs = gQ + matmul(Q, sym)
    return _mT(solve_triangular(R, _mT(rhs), upper=True))


_qr = Primitive("LinalgQrBackward0", _qr_forward, _qr_vjp, outputs=("Q", "R"))


@register(namespace="torch.linalg")
def qr(A, mode: str = "reduced", *, out=None):
    """QR decomposition, ``mode`` 'reduced', 'complete' or 'r' (torch.linalg.qr)."""
    if A.ndim < 2:
        raise RuntimeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
    _check_float("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           f"or 'complete'")
    return _QR(*_save_outputs(_qr(A, mode=mode), ("Q", "R")))


def _eigh_forward(a, UPLO):
    values, vectors = np.linalg.eigh(a, UPLO=UPLO)
    return values.astype(a.dtype), column_major(vectors.astype(a.dtype))  # (LAPACK's layout, as torch's)


def _eigh_vjp(c, gL, gV):
    """gA = V (diag(gL) + skew(V^T gV) / E) V^T, E_ij = L_j - L_i off the diagonal: symmetric, as torch's."""
    L, V = c.eigenvalues, c.eigenvectors
    inner = _diag_embed(gL)
    if not never_flowed(gV):
        gap = L.unsqueeze(-2) - L.unsqueeze(-1)
        off = Tensor._make(~np.eye(L.shape[-1], dtype=bool))
        gap = gap.masked_fill(~off, 1.0)
        VtgV = matmul(_mT(V), gV)
        inner = inner + ((VtgV - _mT(VtgV)) * 0.5 / gap).masked_fill(~off, 0.0)
    return matmul(V, matmul(inner, _mT(V)))


_eigh = Primitive("LinalgEighBackward0", _eigh_forward, _eigh_vjp, outputs=("eigenvalues", "eigenvectors"))


@register(namespace="torch.linalg")
def eigh(A, UPLO: str = "L", *, out=None):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (torch.linalg.eigh)."""
    _check_square("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _Eigh(*_save_outputs(_eigh(A, UPLO=UPLO), ("eigenvalues", "eigenvectors")))


@register(namespace="torch.linalg")
def eigvalsh(A, UPLO: str = "L", *, out=None):
    """Eigenvalues of a symmetric matrix, ascending (torch.linalg.eigvalsh)."""
    return eigh(A, UPLO).eigenvalues


def _svd_forward(a, full_matrices):
    # + 0.0 turns -0.0 entries into +0.0: torch's LAPACK treats them alike (svdvals' gradient at [[-0.]] is +1),
    # NumPy's picks the singular vectors' signs from the zero's sign
    u, s, vh = np.linalg.svd(a + 0.0, full_matrices=full_matrices)
    return column_major(u.astype(a.dtype)), s.astype(a.dtype), column_major(vh.astype(a.dtype))  # (as torch's)


def _svd_vjp(c, gU, gS, gVh):
    """torch's svd_backward for real inputs (distinct nonzero singular values assumed)."""
    m, n = c._input_meta[0][0][-2:]
    k = min(m, n)
    U, S, Vh = c.U[..., :, :k], c.S, c.Vh[..., :k, :]
    use_u, use_v = not never_flowed(gU), not never_flowed(gVh)
    if c.full_matrices:
        gU, gVh = gU[..., :, :k], gVh[..., :k, :]
    if not use_u and not use_v:
        return matmul(U * gS.unsqueeze(-2), Vh)
    S_row, S_col = S.unsqueeze(-2), S.unsqueeze(-1)
    off = Tensor._make(~np.eye(k, dtype=bool))
    E = (S_row * S_row - S_col * S_col).masked_fill(~off, 1.0)
    inner = None
    if use_u:
        UhgU = matmul(_mT(U), gU)
        inner = (UhgU - _mT(UhgU)) * S_row
    if use_v:
        VhgV = matmul(Vh, _mT(gVh))
        term = S_col * (VhgV - _mT(VhgV))
        inner = term if inner is None else inner + term
    inner = inner / E + _diag_embed(gS)
    if m > k and use_u:
        gUSinv = gU / S_row
        core = matmul(U, inner) + gUSinv - matmul(U, matmul(_mT(U), gUSinv))
        return matmul(core, Vh)
    if n > k and use_v:
        SinvgVh = gVh / S_col
        core = matmul(inner, Vh) + SinvgVh - matmul(matmul(SinvgVh, _mT(Vh)), Vh)
        return matmul(U, core)
    return matmul(U, matmul(inner, Vh))


_svd = Primitive("LinalgSvdBackward0", _svd_forward, _svd_vjp, outputs=("U", "S", "Vh"))


@register(namespace="torch.linalg")
def svd(A, full_matrices: bool = True, *, driver=None, out=None):
    """Singular value decomposition U, S, Vh (torch.linalg.svd)."""
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    _check_float("linalg.svd", A)
    return _SVD(*_save_outputs(_svd(A, full_matrices=full_matrices), ("U", "S", "Vh")))


@register(namespace="torch.linalg")
def svdvals(A, *, driver=None, out=None):
    """Singular values, descending (torch.linalg.svdvals)."""
    if A.ndim < 2:
        raise RuntimeError("linalg.svdvals: The input tensor A must have at least 2 dimensions.")
    _check_float("linalg.svdvals", A)
    return _save_outputs(_svd(A, full_matrices=False), ("U", "S", "Vh"))[1]


def _pinv_vjp(c, g):
    """gA = -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A) (constant rank)."""
    A, P = c.self, c.result
    m, n = A.shape[-2:]
    gT, PT = _mT(g), _mT(P)
    first = -matmul(PT, matmul(g, PT))
    second = matmul(_eye(m, A) - matmul(A, P), matmul(gT, matmul(P, PT)))
    third = matmul(matmul(PT, P), matmul(gT, _eye(n, A) - matmul(P, A)))
    return first + second + third


def _pinv_forward(a, hermitian, rtol=None):
    if rtol is None:
        return np.linalg.pinv(a, hermitian=hermitian).astype(a.dtype)
    return np.linalg.pinv(a, rcond=rtol, hermitian=hermitian).astype(a.dtype)  # rcond: NumPy's relative cutoff


_pinv = Primitive("LinalgPinvBackward0", _pinv_forward, _pinv_vjp, save=("self", "result"))


@register(namespace="torch.linalg")
def pinv(A, *, atol=None, rtol=None, hermitian: bool = False, out=None):
    """Moore-Penrose pseudo-inverse (torch.linalg.pinv; a relative tolerance ``rtol``, no ``atol``)."""
    if A.ndim < 2:
        raise RuntimeError(f"linalg.pinv(A): expected A to have at least 2 dimensions, but got {A.ndim}")
    _check_float("linalg.pinv", A)
    if atol is not None:
        raise NotImplementedError("refgrad: linalg.pinv with an explicit atol is not implemented")
    return _pinv(A, hermitian=hermitian, rtol=None if rtol is None else float(rtol))


# --- matrix powers -----------------------------------------------------------------------------------------------


_identity_like = Primitive("CopyBackwards",
                           lambda a: np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy(),
                           lambda c, g: Tensor._make(np.zeros(g.shape, dtype=g.dtype.numpy)),
                           # torch fills a copy of A's tangent with 0: it requires grad when that tangent does
                           jvp=lambda ctx, t: t.clone().fill_(0))


@register(namespace="torch.linalg")
def matrix_power(A, n: int, *, out=None):
    """A raised to the integer power ``n`` (torch.linalg.matrix_power); n < 0 inverts first."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError("linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.ndim > 1 else 1} by {A.shape[-1]} matrices")
    if n == 0:
        return _identity_like(A)
    if n < 0:
        A, n = inv(A), -n
        if n == 1:
            return A
    if n == 1:
        import refgrad
        return A.clone(memory_format=refgrad.contiguous_format)  # (as torch: contiguous)
    if n == 2:
        return matmul(A, A)
    if n == 3:
        return matmul(matmul(A, A), A)
    power, result = None, None
    while n > 0:
        bit, n = n % 2, n // 2
        power = A if power is None else matmul(power, power)
        if bit:
            result = power if result is None else matmul(result, power)
    return result


register("matrix_power", method=True)(matrix_power)
