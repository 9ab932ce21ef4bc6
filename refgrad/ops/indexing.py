"""Indexing: ``x[...]`` and ``x[...] = v`` with torch's node names, plus masked_fill.

Basic indices apply one view op per component, left to right, as torch does (``x[0, 1:]`` is a select then a
slice), so the recorded chain reads the same. Advanced (tensor/list) indices gather a copy; their gradient
scatters back with accumulation, so duplicate indices add up.
"""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.tensor import Tensor


def _select_vjp(c, g):
    return _index_backward(g, c.self_sym_sizes, (slice(None),) * c.dim + (c.index,))


def _slice_vjp(c, g):
    return _index_backward(g, c.self_sym_sizes, (slice(None),) * c.dim + (slice(c.start, c.end, c.step),))


_zeros_put = Primitive("IndexBackward0", lambda g, shape, key: _scatter(g, shape, key),
                       lambda c, gg: gg[c.key])


def _scatter(g: np.ndarray, shape: tuple, key) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, key, g)
    return out


def _index_backward(g: Tensor, shape, key):
    """Zeros of ``shape`` with ``g`` added at ``key`` — differentiable, so double backward works."""
    return _zeros_put(g, shape=tuple(shape), key=key)


_select = Primitive("SelectBackward0", lambda a, dim, index, self_sym_sizes: a[(slice(None),) * dim + (index,)],
                    _select_vjp, view=True)
_slice = Primitive("SliceBackward0",
                   lambda a, dim, start, end, step, self_sym_sizes: a[(slice(None),) * dim + (slice(start, end, step),)],
                   _slice_vjp, view=True)
_index = Primitive("IndexBackward0", lambda a, key: a[key],
                   lambda c, g: _index_backward(g, c._input_meta[0][0], c.key))


def _normalize_index(index) -> tuple:
    if not isinstance(index, tuple):
        index = (index,)
    return tuple(i._data if isinstance(i, Tensor) else i for i in index)


def getitem(self: Tensor, index):
    """``self[index]`` (torch.Tensor.__getitem__)."""
    from refgrad.ops.shape import _alias, unsqueeze
    key = _normalize_index(index)
    advanced = [k for k in key if isinstance(k, (list, np.ndarray)) and not (isinstance(k, np.ndarray) and k.ndim == 0)]
    if advanced:
        for k in advanced:
            arr = np.asarray(k)
            if arr.dtype.kind not in "biu":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        np_key = tuple(np.asarray(k) if isinstance(k, list) else k for k in key)
        try:
            self._data[np_key]
        except IndexError as e:
            raise IndexError(str(e)) from None
        return _index(self, key=np_key)
    if key == (Ellipsis,):
        return _alias(self)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > self.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
    if Ellipsis in key:
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (self.ndim - n_real) + key[at + 1:]
    result, dim = self, 0
    for k in key:
        if k is None:
            result = unsqueeze(result, dim)
            dim += 1
        elif isinstance(k, slice):
            size = result.shape[dim]
            start, stop, step = k.indices(size)
            if step <= 0:
                raise ValueError("step must be greater than zero")
            if not (k == slice(None) and len(key) > 1):
                result = _slice(result, dim=dim, start=start, end=max(stop, start), step=step,
                                self_sym_sizes=tuple(result.shape))
            dim += 1
        else:
            size = result.shape[dim]
            i = int(k)
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {size}")
            result = _select(result, dim=dim, index=i % size, self_sym_sizes=tuple(result.shape))
    if result is self:
        return _alias(self)
    return result


def setitem(self: Tensor, index, value) -> None:
    """``self[index] = value``: a copy_ into the view (basic index) or index_put_ (advanced index)."""
    from refgrad.ops.elementwise import copy_
    if not isinstance(value, Tensor):
        value = Tensor._make(np.asarray(value, dtype=self.dtype.numpy))
    key = _normalize_index(index)
    if any(isinstance(k, (list, np.ndarray)) for k in key):
        from refgrad.ops._inplace import apply_inplace
        np_key = tuple(np.asarray(k) if isinstance(k, list) else k for k in key)
        apply_inplace(self, lambda old, v: _index_put(old, v.to(old.dtype) if v.dtype is not old.dtype else v,
                                                      key=np_key), value)
        return
    copy_(getitem(self, index), value)


def _index_put_forward(a, v, key):
    out = a.copy()
    out[key] = v
    return out


def _index_put_vjp(c, g):
    grad_self = g.clone()
    grad_self._data[c.key] = 0
    return grad_self, g[c.key] if c.needs_input_grad(1) else None


_index_put = Primitive("IndexPutBackward0", _index_put_forward, _index_put_vjp, inputs=("self", "values"))


_masked_fill = Primitive("MaskedFillBackward0", lambda a, mask, value: np.where(mask, np.asarray(value, a.dtype), a),
                         lambda c, g: (g.masked_fill(c.mask, 0), None), inputs=("self", "mask"), save=("mask",))


@register(method=True, inplace=True)
def masked_fill(input, mask, value):
    """Replace elements where ``mask`` is True by ``value`` (torch.masked_fill)."""
    if mask.dtype is not dtypes.bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_scalar_name(mask.dtype)}")
    if isinstance(value, Tensor):
        value = value.item()
    return _masked_fill(input, mask, value=value)


def _scalar_name(dtype) -> str:
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]

