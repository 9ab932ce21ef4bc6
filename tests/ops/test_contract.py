"""refgrad.ops._contract.contract: two-operand einsum by one batched matmul equals np.einsum."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refgrad.ops import _contract
from refgrad.ops._contract import contract

LETTERS = "abcdef"


@st.composite
def contractions(draw):
    """A random ``a,b->out`` spec over distinct letters per operand, with matching sizes."""
    sizes = {x: draw(st.integers(0, 3), label=f"size {x}") for x in LETTERS}
    ta = "".join(draw(st.permutations(LETTERS))[: draw(st.integers(0, 4))])
    tb = "".join(draw(st.permutations(LETTERS))[: draw(st.integers(0, 4))])
    present = sorted(set(ta) | set(tb))
    out = "".join(x for x in draw(st.permutations(present)) if draw(st.booleans()))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.standard_normal([sizes[x] for x in ta])
    b = rng.standard_normal([sizes[x] for x in tb])
    return f"{ta},{tb}->{out}", a, b


@settings(max_examples=300, deadline=None)
@given(contractions())
def test_contract_equals_numpy_einsum(case):
    spec, a, b = case
    np.testing.assert_allclose(contract(spec, a, b), np.einsum(spec, a, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec, shapes", [
    ("ngcok,gdck->ngdo", [(2, 1, 3, 5, 4), (1, 6, 3, 4)]),  # conv forward: g is a batch index
    ("ngdo,ngcok->gdck", [(2, 2, 3, 5), (2, 2, 4, 5, 6)]),  # conv weight gradient
    ("ij,jk->ik", [(3, 4), (4, 5)]),
])
def test_batched_contractions_take_the_matmul_path(spec, shapes):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    assert _contract._plan(spec, a.shape, b.shape) is not None
    result = contract(spec, a, b)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, np.einsum(spec, a, b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec, shapes", [
    ("ii,i->i", [(3, 3), (3,)]),  # a diagonal
    ("...i,i->...", [(2, 3), (3,)]),  # an ellipsis
    ("i,i->i", [(1,), (3,)]),  # sizes that differ: NumPy decides
    ("i->", [(3,)]),  # one operand
])
def test_other_specs_fall_back_to_numpy(spec, shapes):
    arrays = [np.arange(np.prod(s), dtype=np.float64).reshape(s) + 1 for s in shapes]
    if len(arrays) == 2:
        assert _contract._plan(spec, arrays[0].shape, arrays[1].shape) is None
    np.testing.assert_array_equal(contract(spec, *arrays), np.einsum(spec, *arrays))
