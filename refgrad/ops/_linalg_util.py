"""Helpers the linear-algebra families share: result tuples, saved outputs, argument checks, and the small
differentiable pieces (diagonal, diag_embed, tril/triu, pad) their VJPs are written with."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from refgrad.ops._primitive import Primitive
from refgrad.ops._util import _scalar
from refgrad.tensor import Tensor

_Slogdet = namedtuple("slogdet", ["sign", "logabsdet"])
_QR = namedtuple("qr", ["Q", "R"])
_Eigh = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
_SVD = namedtuple("svd", ["U", "S", "Vh"])
_TriangularSolve = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])

def _save_outputs(results: tuple, names: tuple) -> tuple:
    """Save a multi-output node's outputs as torch does (they are what its VJP reads, and modifying one in place
    must fail the backward)."""
    from refgrad.autograd.graph import SavedTensor, save_extra
    node = next((r.grad_fn for r in results if r.grad_fn is not None), None)
    if node is not None:
        for name, result in zip(names, results):
            save_extra(node, name, SavedTensor(result, producer=node))
    return results


# --- small differentiable helpers ------------------------------------------------------------------------------


def _mT(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def _diag_embed_forward(v):
    out = np.zeros(v.shape + (v.shape[-1],), dtype=v.dtype)
    idx = np.arange(v.shape[-1])
    out[..., idx, idx] = v
    return out


_diag_embed = Primitive("DiagEmbedBackward0", _diag_embed_forward, lambda c, g: _diagonal(g))
_diagonal = Primitive("DiagonalBackward0", lambda a: np.diagonal(a, axis1=-2, axis2=-1).copy(),
                      lambda c, g: _pad_diag(g, c._input_meta[0][0]))


def _pad_diag(g: Tensor, shape: tuple) -> Tensor:
    embedded = _diag_embed(g)
    return embedded if embedded.shape == tuple(shape) else _pad(embedded, shape)


_pad = Primitive("ConstantPadNdBackward0",
                 lambda a, shape: np.pad(a, [(0, s - n) for s, n in zip(shape, a.shape)]),
                 lambda c, g: g[tuple(slice(0, n) for n in c._input_meta[0][0])])
_tril = Primitive("TrilBackward0", lambda a, k: np.tril(a, k), lambda c, g: _tril(g, k=c.k))
_triu = Primitive("TriuBackward0", lambda a, k: np.triu(a, k), lambda c, g: _triu(g, k=c.k))


def _eye(n: int, like: Tensor) -> Tensor:
    return Tensor._make(np.eye(n, dtype=like.dtype.numpy))


def _check_square(name: str, A: Tensor, arg: str = "A", complex_ok: bool = False) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    _check_float(name, A, complex_ok)


def _check_float(name: str, A: Tensor, complex_ok: bool = False) -> None:
    # complex_ok: the op's VJP is a holomorphic composition (solves, products, transposes), so the Primitive's
    # conj(vjp(conj(g))) is torch's complex gradient; other decompositions are real-only here
    if not (A.dtype.is_floating_point or (complex_ok and A.dtype.is_complex)):
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {_scalar(A.dtype)}")


