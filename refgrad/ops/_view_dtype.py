"""``Tensor.view(dtype)``: the same bytes read as another dtype (torch's view.dtype), with torch's checks."""
from __future__ import annotations

import numpy as np

from refgrad.tensor import _SCALAR_TYPE, Tensor

__all__ = ["view_dtype"]


def _storage_offset(data: np.ndarray) -> int:
    """The element offset of ``data`` in the array that owns its memory (torch's storage_offset())."""
    owner = data
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    return (data.__array_interface__["data"][0] - owner.__array_interface__["data"][0]) // data.itemsize


def view_dtype(self, dtype):
    """The same bytes read as ``dtype`` (torch's view.dtype): the last dimension scales by the ratio of the element
    sizes; outside the graph (no grad_fn, never requires grad), sharing storage and version counter; a ZeroTensor
    stays one."""
    data, old, new = self._data, self.dtype.itemsize, dtype.itemsize
    if dtype is not self.dtype:
        if self._is_conj or self._is_neg:
            raise RuntimeError(f"torch.Tensor.view is not supported for "
                               f"{'conjugate view tensors' if self._is_conj else 'tensors with negative bit set'} "
                               f"when converting to a different dtype.")
    if old != new:
        names = f"to view {_SCALAR_TYPE[self.dtype.name]} as {_SCALAR_TYPE[dtype.name]} (different element sizes)"
        if data.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {names}")
        strides = self.stride()  # (torch's: the contiguous ones for a new empty tensor)
        ratio = new // old
        if new > old and data.shape[-1] % ratio:
            raise RuntimeError(f"self.size(-1) must be divisible by {ratio} {names}, but got {data.shape[-1]}")
        if strides[-1] != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 {names}, but got {strides[-1]}")
        if new > old:
            offset = _storage_offset(data)
            if offset % ratio:
                raise RuntimeError(f"self.storage_offset() must be divisible by {ratio} {names}, but got {offset}")
            for dim, stride in enumerate(strides[:-1]):
                if stride % ratio:
                    raise RuntimeError(f"self.stride({dim}) must be divisible by {ratio} {names}, but got {stride}")
    if data.size == 0 and old != new:  # (NumPy refuses a zero-stride last axis; nothing to share)
        shape = data.shape[:-1] + (data.shape[-1] * old // new,)
        t = Tensor._make(np.empty(shape, dtype.numpy))
    else:
        t = Tensor._make(data.view(dtype.numpy))
    if not self._is_inference:
        t._version_counter = self._version_counter
    if dtype is self.dtype and (self._is_conj or self._is_neg):
        t._is_conj, t._is_neg = self._is_conj, self._is_neg
    if self._zerotensor:
        t._zerotensor = True
    return t
