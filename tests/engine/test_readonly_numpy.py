"""A tensor sharing a read-only NumPy array's memory (from_numpy, as_tensor): torch warns once per process and its
in-place ops write into that memory, seen by the array; refgrad does the same where NumPy allocated the memory."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import refgrad
from refgrad import factories

_TEXT = ("The given NumPy array is not writable, and PyTorch does not support non-writable tensors. This means "
         "writing to this tensor will result in undefined behavior. You may want to copy the array to protect its "
         "data or make it writable before converting it to a tensor. This type of warning will be suppressed for the "
         "rest of this program.")


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _convert(T, make, array):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tensor = make(T, array)
    return tensor, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


MAKERS = {"from_numpy": lambda T, a: T.from_numpy(a), "as_tensor": lambda T, a: T.as_tensor(a)}
ARRAYS = {
    "owned": lambda: _read_only(np.arange(6.)),
    "strided view": lambda: _read_only(np.arange(6.)[::2]),
    "of a writable array": lambda: np.broadcast_to(np.arange(3.), (3,)),  # read-only view of writable memory
    "transposed int": lambda: _read_only(np.arange(6).reshape(2, 3).T),
}


@pytest.mark.parametrize("array", list(ARRAYS))
@pytest.mark.parametrize("maker", list(MAKERS))
def test_in_place_write_reaches_the_read_only_array(maker, array):
    results = []
    for T in (torch, refgrad):
        factories._warned.clear()
        source = ARRAYS[array]()
        tensor, messages = _convert(T, MAKERS[maker], source)
        if T is refgrad:
            assert [m.split(" (Triggered")[0] for m in messages] == [_TEXT]
        elif messages:  # (torch warns once per process: only the first conversion in this process shows it)
            assert messages[0].split(" (Triggered")[0] == _TEXT
        tensor.mul_(2)
        tensor[0] += 1
        results.append((source.tolist(), tensor.tolist(), tensor.stride(), source.flags.writeable))
    assert results[1] == results[0]


def test_warned_once_per_process():
    factories._warned.clear()
    _, first = _convert(refgrad, MAKERS["from_numpy"], _read_only(np.arange(3.)))
    _, second = _convert(refgrad, MAKERS["as_tensor"], _read_only(np.arange(3.)))
    _, writable = _convert(refgrad, MAKERS["from_numpy"], np.arange(3.))
    assert (len(first), second, writable) == (1, [], [])


def test_memory_numpy_did_not_allocate_stays_read_only():
    """(torch would write into the bytes object, or crash on a read-only memory map: refgrad keeps NumPy's refusal)"""
    buffer = b"\x00" * 24
    tensor = refgrad.from_numpy(np.frombuffer(buffer, dtype=np.float64))
    with pytest.raises(ValueError, match="read-only"):
        tensor.add_(1)
    assert buffer == b"\x00" * 24


def test_aliases_of_one_array_overlap():
    source = _read_only(np.arange(6.))
    first, second = refgrad.from_numpy(source), refgrad.as_tensor(source)
    with pytest.raises(RuntimeError, match="^unsupported operation: some elements of the input tensor"):
        first[1:].add_(second[:-1])
