"""scatter_reduce and index_reduce (torch.Tensor.scatter_reduce / index_reduce): reduce source elements into the
positions of ``self`` that an index names, with torch's gradient conventions.

Both ops are one forward over a target key (an advanced index into ``self``, one entry per source element) and one
VJP written in refgrad ops, so double backward works. torch's conventions, measured on 2.13:

- ``include_self=False``: ``self``'s gradient is zero wherever an element was scattered;
- ``mean`` divides by the count (plus one when ``self`` is included; a position nothing reaches keeps ``self``);
- ``prod`` differentiates through zeros: a lone zero factor gets the product of the others, two or more zeros
  give a zero gradient to every factor;
- ``amax``/``amin`` share the gradient evenly among every element equal to the result, ``self`` counted even when
  ``include_self=False`` (its own share is then dropped), exactly as torch does. Their forward mode is not the
  transpose of that VJP: torch's tangent (and the derivative) is the mean of the tangents of the elements that
  take part and equal the result, so an excluded ``self`` is not counted (see :func:`_reduce_jvp`).
"""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.autograd._jvp import _transpose, no_forward_rule
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import wrap_dim
from refgrad.ops.indexing import _check_bounds, _check_index, _check_index_dim, _grid_key, _source_key
from refgrad.tensor import Tensor

__all__ = ["scatter_reduce", "index_reduce"]

_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _identity(reduce: str, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if np.issubdtype(dtype, np.floating):
        return -np.inf if reduce == "amax" else np.inf
    if dtype == np.bool_:
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _counts(shape, key, include_self: bool) -> np.ndarray:
    count = np.full(shape, 1 if include_self else 0, dtype=np.int64)
    np.add.at(count, key, 1)
    return np.maximum(count, 1)


def _reduce_forward(a, s, key, src_key, reduce, include_self):
    block = s[src_key]
    out = a.copy()
    if not include_self:
        out[key] = _identity(reduce, a.dtype)
    _UFUNC[reduce].at(out, key, block)
    if reduce == "mean":
        count = _counts(a.shape, key, include_self)
        if np.issubdtype(a.dtype, np.floating):
            out = (out / count).astype(a.dtype)
        else:
            out = np.floor_divide(out, count).astype(a.dtype)
    return out


def _take_vjp(c, g):
    return _put(g, key=c.key, shape=c._input_meta[0][0])


def _put_forward(s, key, shape):
    out = np.zeros(shape, s.dtype)
    np.add.at(out, key, s)
    return out


_take = Primitive("IndexBackward0", lambda a, key: a[key], _take_vjp)
_put = Primitive("IndexPutBackward0", _put_forward, lambda c, g: _take(g, key=c.key))


def _const(array, like: Tensor) -> Tensor:
    return Tensor._make(np.asarray(array, like._data.dtype))


def _reduce_vjp(c, g):
    key, src_key, reduce, include_self = c.key, c.src_key, c.reduce, c.include_self
    self_, src = c.self, c.src
    shape = tuple(self_.shape)
    block = src if all(sl == slice(0, n) for sl, n in zip(src_key, src.shape)) else src[src_key]
    if c.needs_input_grad(1) and tuple(block.shape) != tuple(src.shape):
        raise RuntimeError(f"Function {c.name()} returned an invalid gradient at index 1 - got "
                           f"{list(block.shape)} but expected shape compatible with {list(src.shape)}")
    if reduce == "sum":
        grad_self, grad_src = g, _take(g, key=key)
    elif reduce == "mean":
        scaled = g / _const(_counts(shape, key, include_self), g)
        grad_self, grad_src = scaled, _take(scaled, key=key)
    elif reduce == "prod":
        self_zero = self_._data == 0
        masked_self = self_.masked_fill(Tensor._make(self_zero), 1) if self_zero.any() else self_
        grad_self = g * _prim(c)(masked_self, src, **_params(c)) / masked_self
        src_zero = block._data == 0
        zeros = np.zeros(shape, np.int64)
        np.add.at(zeros, key, src_zero.astype(np.int64))
        single = src_zero & (zeros[key] == 1)
        direct = _take(g * c.result, key=key) / (block.masked_fill(Tensor._make(src_zero), 1) if src_zero.any()
                                                 else block)
        if single.any():
            padded = np.zeros(tuple(src.shape), bool)
            padded[src_key] = single
            others = _prim(c)(self_, src.masked_fill(Tensor._make(padded), 1), **_params(c))
            grad_src = _where(single, _take(g * others, key=key), direct)
        else:
            grad_src = direct
        if (zeros > 1).any():  # torch: such a gradient refuses a further backward
            op = "scatter_reduce" if c.name() == "ScatterReduceBackward0" else "index_reduce"
            grad_src = _delayed_error(grad_src, message=f"{op}(): Double backward is unsupported for src when >1 "
                                      "zeros in src are scattered to the same position in self")
    else:  # amax, amin: the gradient split evenly among the elements equal to the result
        result = c.result._data
        self_is = self_._data == result
        src_is = block._data == result[key]
        share = self_is.astype(np.float64)
        np.add.at(share, key, src_is)
        distributed = g / _const(share, g)
        grad_self = distributed * _const(self_is, g)
        grad_src = _take(distributed, key=key) * _const(src_is, g)
    if not include_self:
        scattered = np.zeros(shape, bool)
        scattered[key] = True
        grad_self = grad_self.masked_fill(Tensor._make(scattered), 0)
    return grad_self, grad_src


def _reduce_jvp(c, self_t, src_t):
    """scatter_reduce's tangent. sum, mean: the transpose of the VJP. prod: each element's partial product times its
    tangent, summed into its position (torch 2.13 gives prod no tangent at all, a torch bug listed in
    reports/known_divergences.toml; two zeros at one position give 0, the derivative). amax, amin: the mean of
    the tangents of the elements reduced into a position that equal its result; with ``include_self=False`` self is
    no such element where anything is scattered (the VJP's torch convention counts it: [1, 2] scattered into
    [1, 0] at [0, 1] without self gives the tangent of src[0] at position 0, not half of it)."""
    if c.reduce in ("sum", "mean"):
        tensors, results, outs = c._jvp_call
        return _transpose(c, tensors, (self_t, src_t), results, outs)
    if c.reduce == "prod":  # the VJP's partial products at a cotangent of ones, weighting the tangents: not the
        # VJP differentiated, whose refusal node (two zeros at one position) would raise
        grad_self, grad_src = _reduce_vjp(c, Tensor._make(np.ones_like(c.result._data)))
        total = None if self_t is None else grad_self * self_t
        if src_t is not None:
            term = _put(grad_src * src_t[c.src_key], key=c.key, shape=tuple(c.self.shape))
            total = term if total is None else total + term
        return total
    key, shape, result = c.key, tuple(c.self.shape), c.result._data
    self_is = c.self._data == result
    if not c.include_self:
        self_is[key] = False
    src_is = c.src._data[c.src_key] == result[key]
    count = self_is.astype(np.int64)
    np.add.at(count, key, src_is)
    total = None
    if self_t is not None:
        total = self_t * _const(self_is, self_t)
    if src_t is not None:
        term = _put(src_t[c.src_key] * _const(src_is, src_t), key=key, shape=shape)
        total = term if total is None else total + term
    return total / _const(count, total)


def _refuse(c, g):
    raise RuntimeError(c.message)


_delayed_error = Primitive("DelayedError", lambda a, message: a.copy(), _refuse)


def _where(condition: np.ndarray, a: Tensor, b: Tensor) -> Tensor:
    from refgrad.ops.selection import where
    return where(Tensor._make(condition), a, b)


def _params(c) -> dict:
    return {"key": c.key, "src_key": c.src_key, "reduce": c.reduce, "include_self": c.include_self}


def _prim(c) -> Primitive:
    return _PRIMS[c.name()]


_PRIMS = {name: Primitive(name, _reduce_forward, _reduce_vjp, inputs=("self", "src"),
                          save={"self": ("self", "src"), "src": ("self", "src"), "result": ("self", "src")},
                          jvp=no_forward_rule("index_reduce") if name.startswith("Index") else _reduce_jvp)
          for name in ("ScatterReduceBackward0", "IndexReduceBackward0")}  # torch: no forward AD for index_reduce


def _check_dtype(input: Tensor, src: Tensor, message: str) -> None:
    if not isinstance(src, Tensor):
        raise TypeError(f"argument 'src' must be Tensor, not {type(src).__name__}")
    if input.dtype is not src.dtype:
        raise RuntimeError(message)


@register(method=True, inplace=True)
def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self: bool = True):
    """Reduce ``src`` into ``input`` along ``dim`` at ``index`` with sum, prod, mean, amax or amin
    (torch.scatter_reduce)."""
    if reduce not in _UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    _check_dtype(input, src, "scatter_reduce(): Expected self.dtype to be equal to src.dtype")
    _check_index("scatter_reduce", index, allow_int32=True)
    dim = wrap_dim(dim, input.ndim)
    if index.numel() == 0:
        return input.clone()
    if index.ndim != input.ndim and max(index.ndim, input.ndim) > 1:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if src.ndim != index.ndim and max(index.ndim, src.ndim) > 1:
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    for d in range(index.ndim):
        if d != dim and index.shape[d] > (input.shape[d] if input.ndim else 1) or \
                index.shape[d] > (src.shape[d] if src.ndim else 1):
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} "
                               f"apart from dimension {dim} and to be no larger size than src {list(src.shape)}")
    idx = index._data.astype(np.int64)
    _check_bounds(idx, input.shape[dim] if input.ndim else 1, dim)
    x, s = (input.reshape(1) if input.ndim == 0 else input), (src.reshape(1) if src.ndim == 0 else src)
    idx = idx.reshape(-1) if idx.ndim == 0 else idx
    key = _grid_key(idx, dim, x.ndim)
    out = _PRIMS["ScatterReduceBackward0"](x, s, key=key, src_key=_source_key(Tensor._make(idx), s), reduce=reduce,
                                           include_self=bool(include_self))
    return out.reshape(()) if input.ndim == 0 else out


@register(method=True, inplace=True)
def index_reduce(input, dim: int, index, source, reduce: str, *, include_self: bool = True):
    """Reduce the slices of ``source`` into ``input``'s slices ``index`` along ``dim`` with prod, mean, amax or amin
    (torch.index_reduce)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    if not isinstance(source, Tensor):
        raise TypeError(f"argument 'source' must be Tensor, not {type(source).__name__}")
    if input.dtype is not source.dtype:
        raise RuntimeError(f"index_reduce_(): self ({_name(input.dtype)}) and source ({_name(source.dtype)}) must "
                           "have the same scalar type")
    dim, _ = _check_index_dim("index_reduce", input, dim, index, source)
    x, s = (input.reshape(1) if input.ndim == 0 else input), (source.reshape(1) if source.ndim == 0 else source)
    idx = index._data.reshape(-1).astype(np.int64)
    grid = list(np.indices(s.shape, sparse=True))
    grid[dim] = idx.reshape((1,) * dim + (-1,) + (1,) * (s.ndim - dim - 1))
    key = tuple(np.broadcast_to(k, s.shape) for k in grid)
    out = _PRIMS["IndexReduceBackward0"](x, s, key=key, src_key=tuple(slice(0, n) for n in s.shape), reduce=reduce,
                                         include_self=bool(include_self))
    return out.reshape(()) if input.ndim == 0 else out


def _name(dtype) -> str:
    return {dtypes.float64: "Double", dtypes.float32: "Float"}.get(dtype, str(dtype).removeprefix("torch."))
