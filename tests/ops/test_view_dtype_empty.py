"""``x.view(dtype)`` of empty tensors against live torch: torch checks an empty tensor's contiguous strides (a
size-0 dimension counted as 1), so e.g. a float32 (4, 0) tensor cannot be viewed as float64 (stride(0) is 1) while
a (0, 4) one can. NumPy 2 gives new empty arrays all-zero strides; refgrad/ops/_view_dtype.py uses torch's."""
from __future__ import annotations

import pytest
import torch

import refgrad

SHAPES = [(0,), (0, 4), (4, 0), (0, 3), (2, 0, 4), (0, 0), (0, 1), (1, 0), (0, 6), (0, 5)]
PAIRS = [("float32", "float64"), ("float32", "float16"), ("float32", "int8"), ("int8", "int64"), ("float64", "int32"),
         ("float16", "float32"), ("uint8", "float32"), ("float32", "int32"), ("bool", "uint8")]


def _outcome(T, shape, source, target):
    try:
        result = T.zeros(shape, dtype=getattr(T, source)).view(getattr(T, target))
    except Exception as e:  # noqa: BLE001 - the outcome compared
        return type(e), str(e)
    return tuple(result.shape), str(result.dtype).split(".")[-1]


@pytest.mark.parametrize("source,target", PAIRS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_view_dtype_of_an_empty_tensor_matches_torch(shape, source, target):
    assert _outcome(refgrad, shape, source, target) == _outcome(torch, shape, source, target)


def test_view_dtype_of_an_empty_tensor_shares_the_version_counter():
    x = refgrad.zeros(0, 4)
    y = x.view(refgrad.float64)
    x.add_(1)
    assert y._version == x._version == 1 and y.shape == (0, 2)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_stride_of_a_new_empty_tensor_is_torch_s(shape):
    """A new empty NumPy array has all-zero strides; torch's tensor the contiguous ones (Tensor.stride, which the
    view(dtype) checks read)."""
    assert refgrad.zeros(shape).stride() == torch.zeros(shape).stride()
