"""Products of Householder reflectors: linalg.householder_product (torch.orgqr) and torch.ormqr.

Column i of ``A`` below the diagonal and ``tau[i]`` define H_i = I - tau_i v_i v_iᴴ with v_i = (0, ..., 0, 1,
A[i+1:, i]) (LAPACK's geqrf storage). householder_product returns the first n columns of H_1 ⋯ H_k; ormqr
multiplies ``other`` by the full m x m product (or its conjugate transpose) from the left or the right.

The VJP of the product is, for each reflector, the inner product of the cotangent with the derivative of H_i
between the product of the reflectors before it and after it: with K_i = (H_1⋯H_{i-1})ᴴ G (H_{i+1}⋯H_k)ᴴ,
grad tau_i = -v_iᴴ K_i v_i and grad v_i = -conj(tau_i) K_i v_i - tau_i K_iᴴ v_i (torch's complex convention;
written with refgrad ops, so double backward works).
"""
from __future__ import annotations

import numpy as np

from refgrad.autograd._jvp import no_forward_rule
from refgrad.ops._layout import column_major
from refgrad.ops._linalg_util import _tril
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import _scalar
from refgrad.ops.join import cat, stack
from refgrad.ops.linalg import matmul
from refgrad.tensor import Tensor

__all__ = ["householder_product", "ormqr"]


def _reflector_vectors(a: np.ndarray, k: int) -> list[np.ndarray]:
    m = a.shape[-2]
    vectors = []
    for i in range(k):
        v = np.zeros(a.shape[:-2] + (m,), dtype=a.dtype)
        v[..., i] = 1
        v[..., i + 1:] = a[..., i + 1:, i]
        vectors.append(v)
    return vectors


def _full_product(a: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """H_1 ⋯ H_k (m x m), batched."""
    m, k = a.shape[-2], tau.shape[-1]
    q = np.broadcast_to(np.eye(m, dtype=a.dtype), a.shape[:-2] + (m, m)).copy()
    for i, v in enumerate(_reflector_vectors(a, k)):
        # q <- q (I - tau v vᴴ)
        qv = q @ v[..., :, None]
        q = q - (tau[..., i, None, None] * qv) @ v[..., None, :].conj()
    return q


def _reflectors(A: Tensor, tau: Tensor) -> list[tuple[Tensor, Tensor]]:
    """(v_i, H_i) as refgrad tensors (differentiable in A and tau): v_i = e_i + column i of A's strict lower part."""
    m, k = A.shape[-2], tau.shape[-1]
    eye = np.eye(m, dtype=A.dtype.numpy)
    lower = _tril(A, k=-1)
    out = []
    for i in range(k):
        v = lower[..., :, i] + Tensor._make(eye[i])
        H = Tensor._make(eye) - tau[..., i, None, None] * (v.unsqueeze(-1) * v.conj().unsqueeze(-2))
        out.append((v, H))
    return out


def _product_vjp(A: Tensor, tau: Tensor, G: Tensor):
    """Gradients (A, tau) of Re<G, H_1 ⋯ H_k> for a full m x m cotangent G."""
    pairs = _reflectors(A, tau)
    k = len(pairs)
    suffixes = [None] * (k + 1)  # suffixes[i] = H_{i} ⋯ H_{k-1} (0-based), None for the identity
    for i in range(k - 1, -1, -1):
        suffixes[i] = pairs[i][1] if suffixes[i + 1] is None else matmul(pairs[i][1], suffixes[i + 1])
    prefix = None
    grad_v, grad_tau = [], []
    for i, (v, H) in enumerate(pairs):
        K = G if prefix is None else matmul(prefix.mH, G)
        if suffixes[i + 1] is not None:
            K = matmul(K, suffixes[i + 1].mH)
        Kv = matmul(K, v.unsqueeze(-1)).squeeze(-1)
        KHv = matmul(K.mH, v.unsqueeze(-1)).squeeze(-1)
        t = tau[..., i, None]
        grad_tau.append(-(v.conj() * Kv).sum(-1, keepdim=True))
        grad_v.append(-(t.conj() * Kv) - t * KHv)
        prefix = H if prefix is None else matmul(prefix, H)
    n = A.shape[-1]
    grad_A = _tril(stack(grad_v, -1), k=-1)  # only the strict lower part of A enters the reflectors
    if n > k:
        grad_A = cat([grad_A, Tensor._make(np.zeros(tuple(grad_A.shape[:-1]) + (n - k,), dtype=grad_A.dtype.numpy))],
                     -1)
    return grad_A, cat(grad_tau, -1)


# --- householder_product ---------------------------------------------------------------------------------------

def _householder_forward(a, tau):
    return column_major(_full_product(a, tau)[..., :, :a.shape[-1]])  # (LAPACK's layout, as torch's)


def _householder_vjp(c, g):
    A, tau = c.self, c.tau
    m, n = A.shape[-2], A.shape[-1]
    G = g if m == n else cat([g, Tensor._make(np.zeros(tuple(g.shape[:-1]) + (m - n,), dtype=g.dtype.numpy))], -1)
    return _product_vjp(A, tau, G)


_householder = Primitive("LinalgHouseholderProductBackward0", _householder_forward, _householder_vjp,
                         inputs=("self", "tau"), save=("self", "tau", "result"), holomorphic=False)


@register(namespace="torch.linalg", aliases=())
def householder_product(A, tau, *, out=None):
    """The first n columns of the product of Householder reflectors stored as geqrf does
    (torch.linalg.householder_product)."""
    name = "torch.linalg.householder_product"
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(f"{name}: input.dim() must be greater than or equal to tau.dim() and they must differ by 1")
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if A.shape[-1] < tau.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if A.dtype is not tau.dtype:
        raise RuntimeError(f"{name}: tau dtype {_scalar(tau.dtype)} does not match input dtype {_scalar(A.dtype)}")
    return _householder(A, tau)


register("orgqr", method=True)(householder_product)


# --- ormqr --------------------------------------------------------------------------------------------------------

def _ormqr_forward(a, tau, other, left, transpose):
    q = _full_product(a, tau)
    if transpose:
        q = np.swapaxes(q, -1, -2).conj()
    return column_major(q @ other if left else other @ q)  # (LAPACK's layout, as torch's)


def _ormqr_vjp(c, g):
    A, tau, C = c.self, c.tau, c.other
    pairs_q = _householder_full(A, tau)
    opQ = pairs_q.mH if c.transpose else pairs_q
    grad_C = matmul(opQ.mH, g) if c.left else matmul(g, opQ.mH)
    grad_A = grad_tau = None
    if c.needs_input_grad(0) or c.needs_input_grad(1):
        grad_opQ = matmul(g, C.mH) if c.left else matmul(C.mH, g)
        grad_Q = grad_opQ.mH if c.transpose else grad_opQ
        grad_A, grad_tau = _product_vjp(A, tau, grad_Q)
    return grad_A, grad_tau, grad_C if c.needs_input_grad(2) else None


def _householder_full(A: Tensor, tau: Tensor) -> Tensor:
    Q = None
    for _v, H in _reflectors(A, tau):
        Q = H if Q is None else matmul(Q, H)
    if Q is None:
        return Tensor._make(np.broadcast_to(np.eye(A.shape[-2], dtype=A.dtype.numpy),
                                            tuple(A.shape[:-2]) + (A.shape[-2],) * 2).copy())
    return Q


_ormqr = Primitive("OrmqrBackward0", _ormqr_forward, _ormqr_vjp, inputs=("self", "tau", "other"),
                   save=("self", "tau", "other", "result"), holomorphic=False,
                   jvp=no_forward_rule("ormqr"))  # torch 2.13 has no forward-mode formula for ormqr


@register(method=True)
def ormqr(input, tau, other, left: bool = True, transpose: bool = False, *, out=None):
    """other multiplied by Q (or Qᴴ), Q the m x m product of the Householder reflectors in (input, tau)
    (torch.ormqr)."""
    if input.ndim < 2:
        raise RuntimeError("torch.ormqr: input must have at least 2 dimensions.")
    if other.ndim < 2:
        raise RuntimeError("torch.ormqr: other must have at least 2 dimensions.")
    m = other.shape[-2] if left else other.shape[-1]
    if tau.shape[-1] > input.shape[-1] or tau.shape[-1] != min(m, input.shape[-1]):
        raise RuntimeError("torch.ormqr: tau.shape[-1] must be equal to min(other.shape[-2], input.shape[-1])")
    if input.shape[-2] != m:
        raise RuntimeError(f"torch.ormqr: other.shape[{-2 if left else -1}] must be equal to input.shape[-2]")
    if input.dtype is not other.dtype or input.dtype is not tau.dtype:
        raise RuntimeError(f"torch.ormqr: other dtype {_scalar(other.dtype)} does not match input dtype "
                           f"{_scalar(input.dtype)}")
    return _ormqr(input, tau, other, left=bool(left), transpose=bool(transpose))
