"""Reductions over all elements or over ``dim`` (an int or a tuple), with ``keepdim``."""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import normalize_dims
from refgrad.tensor import Tensor


def _restore(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Bring a reduced cotangent back to ``shape``: re-insert reduced dims, then broadcast."""
    if not keepdim:
        for d in dims:
            g = g.unsqueeze(d)
    return g.expand(shape)


def _sum_forward(a, dims, keepdim, dtype):
    return np.sum(a, axis=dims, keepdims=keepdim, dtype=dtype.numpy)


_sum_all = Primitive("SumBackward0", lambda a, dtype: np.sum(a, dtype=dtype.numpy),
                     lambda c, g: g.expand(c._input_meta[0][0]))
_sum_dim = Primitive("SumBackward1", _sum_forward,
                     lambda c, g: _restore(g, c._input_meta[0][0], c.dims, c.keepdim))
_mean_all = Primitive("MeanBackward0", lambda a, count: np.mean(a, dtype=a.dtype).astype(a.dtype),
                      lambda c, g: g.expand(c._input_meta[0][0]) / c.count)
_mean_dim = Primitive("MeanBackward1",
                      lambda a, dims, keepdim: np.mean(a, axis=dims, keepdims=keepdim, dtype=a.dtype)
                      .astype(a.dtype),
                      lambda c, g: _restore(g, c._input_meta[0][0], c.dims, c.keepdim) / c.count)


def _sum_dtype(input: Tensor, dtype):
    if dtype is not None:
        return dtype
    return dtypes.int64 if input.dtype.category < 2 else input.dtype


@register(method=True)
def sum(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A001 - torch.sum
    """Sum of all elements, or over ``dim`` (torch.sum); bool and integer inputs sum in int64."""
    out_dtype = _sum_dtype(input, dtype)
    if dim is None:
        return _sum_all(input, dtype=out_dtype)
    dims = normalize_dims(dim, input.ndim)
    return _sum_dim(input, dims=dims, keepdim=keepdim, dtype=out_dtype)


@register(method=True)
def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Arithmetic mean (torch.mean); integer inputs raise as in torch."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. "
            f"Got: {_scalar_name(input.dtype)}")
    if dim is None:
        return _mean_all(input, count=input.numel())
    dims = normalize_dims(dim, input.ndim)
    count = int(np.prod([input.shape[d] for d in dims])) if dims else 1
    return _mean_dim(input, dims=dims, keepdim=keepdim, count=count)


def sum_to_size(self, *size):
    """Sum broadcast dimensions away so the result has ``size`` (torch.Tensor.sum_to_size)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    leading = self.ndim - len(shape)
    dims = tuple(range(leading)) + tuple(leading + i for i, n in enumerate(shape)
                                         if n == 1 and self.shape[leading + i] != 1)
    if not dims:
        return self
    result = sum(self, dim=dims, keepdim=True)
    return result.view(shape) if leading else result


def _bool_reduce(np_fn, name):
    def reduce(input, dim=None, keepdim: bool = False, *, out=None):
        out_dtype = dtypes.uint8 if input.dtype is dtypes.uint8 else dtypes.bool
        if dim is None:
            return Tensor._make(np.asarray(np_fn(input._data)).astype(out_dtype.numpy))
        dims = normalize_dims(dim, input.ndim)
        return Tensor._make(np.asarray(np_fn(input._data, axis=dims, keepdims=keepdim)).astype(out_dtype.numpy))
    reduce.__name__ = name
    reduce.__doc__ = f"torch.{name}: logical reduction (no gradient)."
    return reduce


all = register("all", method=True)(_bool_reduce(np.all, "all"))  # noqa: A001
any = register("any", method=True)(_bool_reduce(np.any, "any"))  # noqa: A001


def _norm_vjp(c, g):
    x, norm = c.self, c.result
    # the p=2 subgradient at 0 is 0, as in torch: divide by the norm only where it is nonzero
    scale = _restore(g / norm.masked_fill(norm == 0, 1.0), c._input_meta[0][0], c.dims, c.keepdim)
    grad = x * scale
    return grad.masked_fill(_restore(norm == 0, c._input_meta[0][0], c.dims, c.keepdim), 0.0)


_norm2 = Primitive("LinalgVectorNormBackward0",
                   lambda a, dims, keepdim: np.sqrt(np.sum(a * a, axis=dims, keepdims=keepdim)).astype(a.dtype),
                   _norm_vjp, save=("self", "result"))


@register(method=True)
def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """torch.norm for p=2 / "fro" (other orders live in torch.linalg.vector_norm)."""
    if p not in ("fro", 2, 2.0):
        from refgrad.ops import linalg
        return linalg.vector_norm(input, p, dim, keepdim, dtype=dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_scalar_name(input.dtype)}")
    dims = normalize_dims(dim, input.ndim)
    return _norm2(input, dims=dims, keepdim=keepdim)


def _scalar_name(dtype) -> str:
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]

