"""Vector and matrix norms (torch.linalg.vector_norm / matrix_norm / norm), with torch's gradients at 0 and at
ties: 0 at a zero norm, ±inf orders and amax/amin split evenly among tied entries (with sign)."""
from __future__ import annotations

import numpy as np

from refgrad.autograd import zerotensor as _zerotensor
from refgrad.autograd._jvp import contract_over, reduction_contraction
from refgrad.ops._layout import contiguous_result
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import _scalar, normalize_dims, wrap_dim
from refgrad.ops.unary import _abs  # |x| with torch's AbsBackward0 (gradient sgn(x))
from refgrad.tensor import Tensor


def _sign(x: Tensor) -> Tensor:
    """torch's sgn for the norm gradients: 0 at 0 and at NaN; a graph node (SgnBackward0, zero gradient) as in
    torch, so a double backward returns zeros for ``x``, not None."""
    from refgrad.ops.unary import sgn
    return sgn(x)




def _extreme_vjp(c, g):
    """amax/amin: the gradient is split evenly among the tied extrema (torch's convention)."""
    shape = c._input_meta[0][0]
    result = c.result if c.keepdim else _unsqueeze_all(c.result, c.dims)
    hit = Tensor._make((c.self._data == result._data).astype(c.self._data.dtype))
    count = hit.sum(c.dims, keepdim=True)
    grad = g if c.keepdim else _unsqueeze_all(g, c.dims)
    return grad.expand(shape) * hit / count


def _unsqueeze_all(t: Tensor, dims: tuple) -> Tensor:
    for d in dims:
        t = t.unsqueeze(d)
    return t


_amax = Primitive("AmaxBackward0", lambda a, dims, keepdim: np.amax(a, axis=dims, keepdims=keepdim), _extreme_vjp,
                  save=("self", "result"))
_amin = Primitive("AminBackward0", lambda a, dims, keepdim: np.amin(a, axis=dims, keepdims=keepdim), _extreme_vjp,
                  save=("self", "result"))


def _vector_norm_forward(a, ord, dims, keepdim, scalar_dim=False):
    x = np.abs(a)
    if ord != 0 and not scalar_dim and (a.ndim == 0 or int(np.prod([a.shape[d] for d in dims])) == 1):
        # one element per norm: torch returns |x| itself (no x**p underflow or overflow), except for a 0-d input
        # given an explicit dim (0 or -1: ``scalar_dim``), which it reduces with the general formula
        return np.asarray(np.sum(x, axis=dims, keepdims=keepdim) if a.ndim else x, dtype=a.dtype)
    if ord == 0:
        out = np.sum(x != 0, axis=dims, keepdims=keepdim)
    elif ord == np.inf:
        out = np.amax(x, axis=dims, keepdims=keepdim)
    elif ord == -np.inf:
        out = np.amin(x, axis=dims, keepdims=keepdim)
    elif ord == 1:
        out = _sum(x, dims, keepdim)
    elif ord == 2:
        out = np.sqrt(_sum(x * x, dims, keepdim))
    else:
        with np.errstate(divide="ignore"):
            out = _sum(x ** ord, dims, keepdim) ** (1.0 / ord)
    return np.asarray(out, dtype=a.dtype)


def _sum(terms, dims, keepdim):
    """The sum of the powers |x|^p (computed, overflowing and underflowing in the input's dtype, as torch's) added
    up in float64 and rounded once to the dtype: a float32 sum then differs from torch's own float32 accumulation
    by about an ulp (0.5·ones(4, 4, 4), ord 0.5: float32 pairwise 2047.9996, torch 2048.0024, exact 2048)."""
    with np.errstate(over="ignore"):
        return np.asarray(np.sum(terms, axis=dims, keepdims=keepdim, dtype=np.float64)).astype(terms.dtype)


def _vector_norm_vjp(c, g):
    """torch 2.13's norm backward, term for term, so first and second derivatives see the same zeros and NaNs:
    no gradient for ord 0; sgn(x)·g for 1; x / norm masked to 0 where the norm is 0 for 2; ties (and NaNs) of the
    inf-norms share the gradient with sign; otherwise x|x|^(p-2) (sgn(x)|x|^(p-1) for p < 2, masked at x = 0 for
    p < 1) times g / norm^(p-1) masked to 0 where the norm is 0 (times g·norm^(1-p) for p < 1). The masks make the
    derivative of the masked term 0, and its quotient's backward divides that 0 by the zero norm: NaN, as torch."""
    x, norm, p = c.self, c.result, c.ord
    if p == 0:
        return None
    if not c.keepdim:
        norm, g = _unsqueeze_all(norm, c.dims), _unsqueeze_all(g, c.dims)
    sign = _sign(x)
    if p == 1:
        return sign * g
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p == 2:
            return g * (x / norm).masked_fill(Tensor._make(norm._data == 0), 0.0)
        if p in (np.inf, -np.inf):
            magnitude = np.abs(x._data)
            hit = (magnitude == norm._data) | np.isnan(magnitude)
            count = Tensor._make(np.sum(hit, axis=c.dims, keepdims=True).astype(x._data.dtype))
            return sign * ((g / count) * Tensor._make(hit))
        if p < 1:
            scaled = sign * (_abs(x) ** (p - 1)).masked_fill(Tensor._make(x._data == 0), 0.0)
            return scaled * g * norm ** (1 - p)
        scaled = sign * _abs(x) ** (p - 1) if p < 2 else x * _abs(x) ** (p - 2)
        scale = g / norm ** (p - 1)
        if scale._zerotensor:  # torch masks it in place: a ZeroTensor gradient (sgn's) refuses (zerotensor.py)
            _zerotensor.refuse_write()
        return scaled * scale.masked_fill(Tensor._make(norm._data == 0), 0.0)


def _vector_norm_jvp(c, t):
    """torch's norm_jvp: each element's factor (sgn(x)|x|^(p-1), masked at x = 0 for p < 1; x|x|^(p-2) for p >= 2)
    contracted with the tangent first, then scaled by norm^(1-p) (masked to 0 where the norm is 0 for p > 1), so an
    infinite element adds 0 · t and the scale carries the inf (the VJP scales each element first: inf · 0 = NaN).
    ord 0 and ±inf: the contraction of the VJP at 1 (:func:`reduction_contraction`)."""
    if c.ord in (0, np.inf, -np.inf):
        return reduction_contraction(c, t)
    return norm_tangent(c.self, t, c.result, c.ord, c.dims, c.keepdim)


def norm_tangent(x, t, norm, p: float, dims, keepdim: bool):
    """The tangent of the p-norm of ``x`` over ``dims`` along ``t`` (``norm`` its value), for 0 < |p| < inf."""
    sign = _sign(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p == 1:
            factor = sign
        elif p < 1:
            factor = sign * (_abs(x) ** (p - 1)).masked_fill(Tensor._make(x._data == 0), 0.0)
        else:
            factor = sign * _abs(x) ** (p - 1) if p < 2 else x * _abs(x) ** (p - 2)
        total = contract_over(factor, t, dims, keepdim)
        if p == 1:
            return total
        if p < 1:
            return total * norm ** (1 - p)
        return (total / norm ** (p - 1)).masked_fill(Tensor._make(norm._data == 0), 0.0)


_vector_norm = Primitive("LinalgVectorNormBackward0", contiguous_result(_vector_norm_forward), _vector_norm_vjp,
                         save=("self", "result"), jvp=_vector_norm_jvp)


def _norm_dtype(name: str, input: Tensor, dtype) -> Tensor:
    if dtype is not None:
        if not dtype.is_floating_point:
            raise RuntimeError(f"{name}: dtype should be floating point or complex, but got {_scalar(dtype)}")
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_scalar(input.dtype)}")
    return input


@register(namespace="torch.linalg")
def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None, out=None):  # noqa: A002 - torch's name
    """The ``ord``-norm of ``x`` over ``dim`` (all dims by default) (torch.linalg.vector_norm)."""
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not {type(ord).__name__}")
    x = _norm_dtype("linalg.vector_norm", x, dtype)
    _check_identity(x, float(ord), dim)  # before the dims are wrapped: torch checks them one by one
    dims = normalize_dims(dim, x.ndim)
    scalar_dim = x.ndim == 0 and dim is not None and not (isinstance(dim, (tuple, list)) and len(dim) == 0)
    return _vector_norm(x, ord=float(ord), dims=dims, keepdim=keepdim, scalar_dim=scalar_dim)


def _check_identity(x: Tensor, ord: float, dim) -> None:
    """Negative and +inf orders have no identity: torch rejects an empty reduction (the whole empty tensor when no
    dim is given, else any reduced dim of size 0)."""
    if not (ord < 0 or ord == np.inf):
        return
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        if x.numel() == 0:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty tensor because the "
                               f"operation does not have an identity")
        return
    given = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    for d, wrapped in zip(given, (wrap_dim(int(d), x.ndim) for d in given) if x.ndim else ()):
        if x.shape[wrapped] == 0:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on the dimension {d}because this "
                               f"dimension is empty and the operation does not have an identity")


def _matrix_dims(A: Tensor, dim) -> tuple[int, int]:
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    d0, d1 = (wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


@register(namespace="torch.linalg")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None, out=None):  # noqa: A002
    """Frobenius, nuclear, 1, -1, inf, -inf, 2 or -2 matrix norm over ``dim`` (torch.linalg.matrix_norm)."""
    from refgrad.ops.decompositions import svdvals
    A = _norm_dtype("linalg.matrix_norm", A, dtype)
    d0, d1 = _matrix_dims(A, dim)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or ord in (2, -2):
        order = [d for d in range(A.ndim) if d not in (d0, d1)] + [d0, d1]
        values = svdvals(A.permute(order))
        if ord == "nuc":
            result = values.sum(-1, keepdim=keepdim)
        else:
            result = (_amax if ord == 2 else _amin)(values, dims=(values.ndim - 1,), keepdim=keepdim)
        if keepdim:  # torch reduces with keepdim, then restores the other dim with an unsqueeze and a permute (the
            # reduction's node saves its [..., 1] result: the version error names that shape)
            result = result.unsqueeze(-1).permute(tuple(int(i) for i in np.argsort(order)))
        return result
    if ord not in (1, -1, np.inf, -np.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    sum_dim, max_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
    sums = _abs(A).sum(sum_dim, keepdim=keepdim)
    if not keepdim and sum_dim < max_dim:
        max_dim -= 1
    return (_amax if ord > 0 else _amin)(sums, dims=(max_dim,), keepdim=keepdim)


def _squeeze_dims(t: Tensor, dims) -> Tensor:
    for d in sorted(dims, reverse=True):
        t = t.squeeze(d)
    return t


@register(namespace="torch.linalg")
def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None, out=None):  # noqa: A002
    """Vector or matrix norm, chosen from ``ord`` and ``dim`` (torch.linalg.norm)."""
    if dim is not None and not isinstance(dim, (int, np.integer)):
        dim = tuple(dim)
        if len(dim) == 1:
            dim = dim[0]
    if ord is None:
        if dim is None or isinstance(dim, (int, np.integer)) or len(dim) == 1:
            return vector_norm(A, 2, dim, keepdim, dtype=dtype)
        return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A.ndim}D.")
        dim = (0, 1) if A.ndim == 2 else 0
    if isinstance(dim, (int, np.integer)):
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord}")
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, ord, dim, keepdim, dtype=dtype)


