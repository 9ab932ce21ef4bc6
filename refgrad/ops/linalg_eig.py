"""The general (non-symmetric) eigendecomposition: torch.linalg.eig and torch.linalg.eigvals.

Both return complex tensors (real inputs too) from one node, LinalgEigBackward0, as torch's do. The VJP is the
conjugate Wirtinger form of torch's: with E_ij = conj(L_j) - conj(L_i) off the diagonal,
``gA = V^{-H} (diag(gL) + P(V^H gV) / E) V^H``, where P removes the part of V^H gV along the phase of each
eigenvector (the loss must not depend on the phases: torch refuses it when it does, and so does refgrad).
Eigenvectors have unit norm, but their phases come from LAPACK: NumPy's and torch's builds may pick different
ones (eigenvalues, and every phase-invariant function, agree).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from refgrad import dtypes
from refgrad.autograd.graph import SavedTensor, save_extra
from refgrad.ops._binary_common import type_name
from refgrad.ops._layout import column_major
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import never_flowed
from refgrad.tensor import Tensor

__all__ = ["eig", "eigvals"]

_Eig = namedtuple("linalg_eig", ["eigenvalues", "eigenvectors"])


def _eig_forward(a):
    kind = (dtypes.complex64 if a.dtype in (np.float32, np.complex64) else dtypes.complex128).numpy
    values, vectors = np.linalg.eig(a)
    return values.astype(kind), column_major(vectors.astype(kind))  # (LAPACK's layout, as torch's)


def _eig_vjp(c, gL, gV):
    from refgrad.ops.complex import imag, real
    from refgrad.ops.linalg import matmul
    L, V = c.eigenvalues, c.eigenvectors
    Vh = V.mH
    n = L.shape[-1]
    off = Tensor._make(~np.eye(n, dtype=bool))
    inner = None
    if not never_flowed(gV):
        VhgV = matmul(Vh, gV)
        phase = imag(VhgV.diagonal(0, -2, -1))
        if not np.allclose(phase._data, 0, rtol=1e-2, atol=1e-2):
            raise RuntimeError("linalg_eig_backward: The eigenvectors in the complex case are specified up to "
                               "multiplication by e^{i phi}. The specified loss function depends on this quantity, "
                               "so it is ill-defined.")
        VhgV = VhgV - matmul(Vh, V * real(VhgV.diagonal(0, -2, -1)).unsqueeze(-2))
        gap = (L.conj().unsqueeze(-2) - L.conj().unsqueeze(-1)).masked_fill(~off, 1.0)
        inner = VhgV / gap
    if not never_flowed(gL):
        diagonal = gL.diag_embed()
        inner = diagonal if inner is None else inner + diagonal
    if inner is None:
        return Tensor._make(np.zeros(V._data.shape, V._data.dtype))
    from refgrad.linalg import solve
    return solve(Vh, matmul(inner, Vh))


def _eig_jvp(c, dA):
    # A V = V diag(L): with dP = V^{-1} dA V, dL = diag(dP) and V^{-1} dV = dP / (L_j - L_i) off the diagonal, plus
    # the diagonal that keeps each column at unit norm (Re v_i^H dv_i = 0) with no phase change, as torch
    from refgrad.linalg import solve
    from refgrad.ops.complex import real
    from refgrad.ops.linalg import matmul
    L, V = c.eigenvalues, c.eigenvectors
    dP = solve(V, matmul(dA.to(V.dtype), V))
    eye = Tensor._make(np.eye(L.shape[-1], dtype=bool))
    gap = (L.unsqueeze(-2) - L.unsqueeze(-1)).masked_fill(eye, 1.0)
    dX = (dP / gap).masked_fill(eye, 0.0)
    dV = matmul(V, dX - real(matmul(matmul(V.mH, V), dX).diagonal(0, -2, -1)).to(V.dtype).diag_embed())
    return dP.diagonal(0, -2, -1), dV


_eig_jvp.complex = True  # written for its complex outputs (see refgrad.autograd._jvp)
_eig = Primitive("LinalgEigBackward0", _eig_forward, _eig_vjp, holomorphic=False, jvp=_eig_jvp,
                 outputs=("eigenvalues", "eigenvectors"))


def _check(A: Tensor) -> None:
    if A.ndim < 2:
        raise RuntimeError("linalg.eig: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.eig: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    if not (A.dtype.is_floating_point or A.dtype.is_complex) or A.dtype is dtypes.float16:
        raise RuntimeError(f"Unknown Complex ScalarType for {type_name(A.dtype)}")


def _decompose(A: Tensor) -> tuple:
    values, vectors = _eig(A)
    node = values.grad_fn
    if node is not None:  # torch saves both outputs: the VJP reads them, and changing one in place fails backward
        save_extra(node, "eigenvalues", SavedTensor(values, producer=node))
        save_extra(node, "eigenvectors", SavedTensor(vectors, producer=node))
    return values, vectors


@register(namespace="torch.linalg")
def eig(A, *, out=None):
    """Eigenvalues and unit-norm eigenvectors of a square matrix, complex (torch.linalg.eig)."""
    _check(A)
    return _Eig(*_decompose(A))


@register(namespace="torch.linalg")
def eigvals(A, *, out=None):
    """The eigenvalues of a square matrix, complex, in LAPACK's order (torch.linalg.eigvals)."""
    _check(A)
    return _decompose(A)[0]
