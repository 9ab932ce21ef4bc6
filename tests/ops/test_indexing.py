"""Indexing ops: VJPs (first and second order) against central differences, and torch 2.13.0's conventions pinned
as numbers — duplicate indices, scatter writes that lose, topk ties, grad_fn names and chains — each observed on
torch 2.13.0+cpu (float64, cotangent of ones unless stated).

No torch import: these run with torch absent.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(7)
X = rng.standard_normal((4, 5))
S = rng.standard_normal((4, 5))
X3 = rng.standard_normal((2, 3, 4))


def index(values):
    return refgrad.tensor(values, dtype=refgrad.int64)


GATHER = index([[0, 0], [1, 4], [2, 2], [3, 3]])
DISTINCT = index([[0, 1], [1, 4], [2, 0], [3, 2]])  # a non-accumulating write with duplicates has no derivative
MASK = refgrad.tensor(X > 0)

CASES = {
    "getitem.int": (lambda x: x[1], [X]),
    "getitem.slice_step": (lambda x: x[1:4:2, ::3], [X]),
    "getitem.none_ellipsis": (lambda x: x[None, ..., 1:], [X]),
    "getitem.list_dup": (lambda x: x[[0, 0, 2]], [X]),
    "getitem.mixed": (lambda x: x[0, :, [0, 1, 1]], [X3]),
    "getitem.two_lists": (lambda x: x[[0, 1], :, [3, 0]], [X3]),
    "getitem.mask": (lambda x: x[MASK], [X]),
    "getitem.mask_row": (lambda x: x[:, refgrad.tensor([True, False, True, True, False])], [X]),
    "setitem.basic": (lambda x, v: _set(x, (1, slice(0, 3)), v), [X, S[0, :3]]),
    "setitem.advanced": (lambda x, v: _set(x, ([0, 2],), v), [X, S[:2]]),
    "setitem.mixed": (lambda x, v: _set(x, (0, [0, 1]), v), [X, S[0, :2]]),
    "setitem.fill": (lambda x, v: _set(x, ..., v), [X, np.array(1.5)]),
    "index_select": (lambda x: refgrad.index_select(x, 1, index([0, 0, 3])), [X]),
    "gather": (lambda x: x.gather(1, GATHER), [X]),
    "take_along_dim": (lambda x: refgrad.take_along_dim(x, index([[0, 1]]), 1), [X]),
    "take": (lambda x: x.take(index([[0, 19], [-1, 0]])), [X]),
    "masked_select": (lambda x: x.masked_select(MASK), [X]),
    "scatter": (lambda x, s: x.scatter(1, DISTINCT, s[:, :2]), [X, S]),
    "scatter.value": (lambda x: x.scatter(1, GATHER, 2.5), [X]),
    "scatter_add": (lambda x, s: x.scatter_add(1, GATHER, s[:, :2]), [X, S]),
    "index_add": (lambda x, s: x.index_add(0, index([0, 0]), s[:2], alpha=2), [X, S]),
    "index_copy": (lambda x, s: x.index_copy(1, index([3, 1]), s[:, :2]), [X, S]),
    "index_fill": (lambda x: x.index_fill(1, index([3, 1]), -1.0), [X]),
    "index_fill.tensor": (lambda x, v: x.index_fill(1, index([3, 1]), v), [X, np.array(2.0)]),
    "index_put": (lambda x, v: x.index_put((index([0, 2]), index([1, 1])), v), [X, S[0, :2]]),
    "index_put.accumulate": (lambda x, v: x.index_put((index([0, 0]), index([1, 1])), v, accumulate=True),
                             [X, S[0, :2]]),
    "masked_fill": (lambda x: x.masked_fill(MASK, 1.0), [X]),
    "masked_fill.tensor": (lambda x, v: x.masked_fill(MASK, v), [X, np.array(2.0)]),
    "masked_scatter": (lambda x, s: x.masked_scatter(MASK, s), [X, S]),
    "put": (lambda x, s: x.put(index([0, 7, 3]), s[0, :3]), [X, S]),
    "put.accumulate": (lambda x, s: x.put(index([0, 0, 7]), s[0, :3], accumulate=True), [X, S]),
    "sort": (lambda x: refgrad.sort(x, dim=0, descending=True).values, [X]),
    "msort": (lambda x: refgrad.msort(x), [X]),
    "topk": (lambda x: x.topk(2, dim=1).values, [X]),
    "topk.smallest": (lambda x: x.topk(3, dim=0, largest=False).values, [X]),
}


def _set(x, key, value):
    y = x.clone()
    y[key] = value
    return y


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("order", [1, 2])
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order)


def _grads(fn, *arrays):
    tensors = [refgrad.tensor(a, dtype=refgrad.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.sum().backward()
    return out, [t.grad for t in tensors]


def test_duplicate_indices_accumulate():
    # torch 2.13: x[[0, 0, 2]].sum() and x.gather(0, [[0], [0]]).sum() -> grad 2 at row/element 0
    _, (grad,) = _grads(lambda x: x[[0, 0, 2]], np.arange(3.0))
    assert grad.tolist() == [2.0, 0.0, 1.0]
    _, (grad,) = _grads(lambda x: x.gather(0, index([0, 0])), np.arange(3.0))
    assert grad.tolist() == [2.0, 0.0, 0.0]


def test_scatter_duplicates_every_source_gets_gradient():
    # torch 2.13: zeros(3).scatter(0, [1, 1], src) -> src.grad [1., 1.] though only one write survives;
    # self.grad is 0 at the written position
    out, (grad_self, grad_src) = _grads(lambda x, s: x.scatter(0, index([1, 1]), s), np.zeros(3), np.array([5.0, 7.0]))
    assert out.tolist()[1] in (5.0, 7.0)
    assert grad_src.tolist() == [1.0, 1.0]
    assert grad_self.tolist() == [1.0, 0.0, 1.0]


def test_index_put_no_accumulate_duplicates():
    # torch 2.13: x.index_put(([0, 0],), v) -> v.grad [1., 1.], x.grad [0., 1.]
    _, (grad_self, grad_values) = _grads(lambda x, v: x.index_put((index([0, 0]),), v), np.zeros(2),
                                         np.array([3.0, 4.0]))
    assert grad_values.tolist() == [1.0, 1.0]
    assert grad_self.tolist() == [0.0, 1.0]


def test_topk_ties_follow_torch_cpu():
    # torch 2.13 CPU: tensor([2., 1., 2., 2.]).topk(2).indices -> [2, 3];
    # tensor([5., 1., 2., 3., 4.]).topk(3, sorted=False) -> values [4., 5., 3.], indices [4, 0, 3];
    # tensor([3., 1., 2., 3., 3.]).topk(2, sorted=False).indices -> [0, 3]
    assert refgrad.tensor([2.0, 1.0, 2.0, 2.0]).topk(2).indices.tolist() == [2, 3]
    values, indices = refgrad.tensor([5.0, 1.0, 2.0, 3.0, 4.0]).topk(3, sorted=False)
    assert values.tolist() == [4.0, 5.0, 3.0] and indices.tolist() == [4, 0, 3]
    assert refgrad.tensor([3.0, 1.0, 2.0, 3.0, 3.0]).topk(2, sorted=False).indices.tolist() == [0, 3]
    _, (grad,) = _grads(lambda x: x.topk(2).values, np.array([2.0, 1.0, 2.0, 2.0]))
    assert grad.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_sort_ties_and_nan():
    # torch 2.13: sort([2,1,2,2], descending) -> [0, 2, 3, 1]; ascending -> [1, 0, 2, 3];
    # [1, nan, 0, nan] descending -> values [nan, nan, 1, 0], indices [1, 3, 0, 2]
    x = refgrad.tensor([2.0, 1.0, 2.0, 2.0])
    assert refgrad.sort(x, descending=True).indices.tolist() == [0, 2, 3, 1]
    assert refgrad.sort(x).indices.tolist() == [1, 0, 2, 3]
    values, indices = refgrad.sort(refgrad.tensor([1.0, math.nan, 0.0, math.nan]), descending=True)
    assert indices.tolist() == [1, 3, 0, 2]
    assert np.isnan(values.numpy()[:2]).all() and values.tolist()[2:] == [1.0, 0.0]


GRAD_FNS = [
    # (expression, torch 2.13 type(out.grad_fn).__name__)
    (lambda x: x[0], "SelectBackward0"), (lambda x: x[:, 1], "SelectBackward0"),
    (lambda x: x[None], "UnsqueezeBackward0"), (lambda x: x[...], "AliasBackward0"),
    (lambda x: x[:, :], "AliasBackward0"), (lambda x: x[(slice(None),)], "AliasBackward0"),
    (lambda x: x[:], "SliceBackward0"), (lambda x: x[1:3:2], "SliceBackward0"),
    (lambda x: x[0, [0, 1]], "IndexBackward0"), (lambda x: x[x > 0], "IndexBackward0"),
    (lambda x: x[True], "IndexBackward0"), (lambda x: x[refgrad.tensor(1)], "SelectBackward0"),
    (lambda x: x.index_select(1, index([0])), "IndexSelectBackward0"),
    (lambda x: x.gather(1, index([[0]])), "GatherBackward0"),
    (lambda x: refgrad.take_along_dim(x, index([0, 3])), "GatherBackward0"),
    (lambda x: x.take(index([0])), "TakeBackward0"), (lambda x: x.masked_select(x > 0), "MaskedSelectBackward0"),
    (lambda x: x.scatter(1, index([[0]]), 2.0), "ScatterBackward1"),
    (lambda x: x.index_fill(0, index([0]), 2.0), "IndexFillBackward0"),
    (lambda x: x.masked_fill(x > 0, 1.0), "MaskedFillBackward0"),
    (lambda x: x.masked_fill(x > 0, refgrad.tensor(1.0)), "MaskedFillBackward1"),
    (lambda x: refgrad.sort(x).values, "SortBackward0"),
    (lambda x: refgrad.sort(x, stable=True).values, "SortBackward1"),
    (lambda x: refgrad.msort(x), "SortBackward0"), (lambda x: x.topk(1).values, "TopkBackward0"),
    (lambda x: _set(x, 0, 1.0), "CopySlices"), (lambda x: _set(x, [0, 1], 1.0), "IndexPutBackward0"),
    (lambda x: _set(x, (0, [0, 1]), 1.0), "CopySlices"), (lambda x: _set(x, x > 0, 0.0), "IndexPutBackward0"),
    (lambda x: _set(x, ..., 1.0), "FillBackward3"), (lambda x: _set(x, slice(None), 1.0), "FillBackward3"),
    (lambda x: _set(x, (slice(None), [0, 1]), 1.0), "IndexPutBackward0"),
    (lambda x: _set(x, ..., refgrad.tensor(2.0)), "FillBackward3"),
    # a slice is skipped only when its written bounds cover the dim: start 0/None, stop None or >= size, step 1/None
    (lambda x: x[(slice(0, 9),)], "AliasBackward0"), (lambda x: x[(slice(-4, None),)], "SliceBackward0"),
    (lambda x: x[(slice(None, -1),)], "SliceBackward0"), (lambda x: x[..., slice(-5, 5)], "SliceBackward0"),
    (lambda x: x[(slice(-9, None), slice(None))], "SliceBackward0"),
    (lambda x: _set(x, (slice(-4, None),), refgrad.tensor(2.0)), "CopySlices"),
    (lambda x: _set(x, slice(-4, None), 2.0), "CopySlices"), (lambda x: _set(x, (slice(0, 4),), 2.0), "FillBackward3"),
    (lambda x: refgrad.unique(x), "Unique2Backward0"),
]


@pytest.mark.parametrize("case", range(len(GRAD_FNS)))
def test_grad_fn_names(case):
    expression, expected = GRAD_FNS[case]
    out = expression(refgrad.tensor(X, requires_grad=True))
    assert type(out.grad_fn).__name__ == expected


def test_torch_and_numpy_advanced_indexing_differ():
    # torch 2.13: zeros(2, 3, 4)[0, :, [0, 1]].shape == (3, 2); NumPy would give (2, 3)
    assert refgrad.zeros(2, 3, 4)[0, :, [0, 1]].shape == (3, 2)


def test_second_backward_through_index_nodes_raises():
    # torch 2.13: y = x[[0]]; y.sum().backward(); y.sum().backward() -> "backward through the graph a second time"
    x = refgrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.gather(0, index([0]))
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()
    x.grad = None
    y = x[0]  # SelectBackward0 saves nothing: a second backward accumulates
    y.backward()
    y.backward()
    assert x.grad.tolist() == [2.0, 0.0]


def test_scatter_smaller_index_fails_in_backward_like_torch():
    # torch 2.13: x.scatter(0, [1], src of 2 elements) backward -> "Function ScatterBackward0 returned an invalid
    # gradient at index 1 - got [1] but expected shape compatible with [2]"
    x = refgrad.zeros(3, dtype=refgrad.float64, requires_grad=True)
    src = refgrad.ones(2, dtype=refgrad.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="ScatterBackward0 returned an invalid gradient at index 1"):
        x.scatter(0, index([1]), src).sum().backward()


def test_unique_backward_not_implemented():
    # torch 2.13: torch.unique(x).sum().backward() -> NotImplementedError "the derivative for '_unique2' ..."
    out = refgrad.unique(refgrad.tensor([3.0, 1.0, 3.0], requires_grad=True))
    with pytest.raises(NotImplementedError, match="_unique2"):
        out.sum().backward()


@pytest.mark.parametrize(("call", "error"), [
    (lambda x: x.index_select(1, index([9])), RuntimeError),  # "INDICES element is out of DATA bounds"
    (lambda x: x.gather(1, index([[-1]])), RuntimeError),
    (lambda x: x.index_copy(1, index([5]), refgrad.ones(4, 1, dtype=refgrad.float64)), IndexError),
    (lambda x: x.index_add(1, index([5]), refgrad.ones(4, 1, dtype=refgrad.float64)), RuntimeError),
    (lambda x: x.index_fill(1, index([[0]]), 1.0), RuntimeError),
    (lambda x: x[5], IndexError), (lambda x: x[[5]], IndexError), (lambda x: x[refgrad.tensor([1.0])], IndexError),
    (lambda x: x.take(index([20])), IndexError), (lambda x: x.topk(9), RuntimeError),
])
def test_error_types(call, error):
    with pytest.raises(error):
        call(refgrad.tensor(X))


def test_searches():
    # torch 2.13: searchsorted([1,2,3], [[0.5, 2], [3, 4]]) -> [[0, 1], [2, 3]]; right=True -> [[0, 2], [3, 3]]
    seq = refgrad.tensor([1.0, 2.0, 3.0])
    values = refgrad.tensor([[0.5, 2.0], [3.0, 4.0]])
    assert refgrad.searchsorted(seq, values).tolist() == [[0, 1], [2, 3]]
    assert refgrad.searchsorted(seq, values, right=True).tolist() == [[0, 2], [3, 3]]
    assert refgrad.bucketize(values, seq).tolist() == [[0, 1], [2, 3]]
    assert refgrad.nonzero(refgrad.tensor([[0.0, 1.0], [2.0, 0.0]])).tolist() == [[0, 1], [1, 0]]
    assert refgrad.nonzero(refgrad.tensor(5.0)).shape == (1, 0)


# --- divergence fixes (shrunk examples of the conformance ci run), values observed on torch 2.13.0+cpu -----------


def test_index_fill_tensor_value_gradient_rejects_negative_index_along_last_dim():
    # the value's gradient is an index_select: along dim 1 it raises RuntimeError, along every other dim IndexError
    x = refgrad.zeros((1, 1, 1), dtype=refgrad.float64, requires_grad=True)
    v = refgrad.tensor(0.0, dtype=refgrad.float64, requires_grad=True)
    out = x.index_fill(-1, index([-1]), v)
    with pytest.raises(IndexError, match="index out of range in self"):
        refgrad.autograd.grad(out, [x, v], refgrad.zeros((1, 1, 1), dtype=refgrad.float64))
    with pytest.raises(RuntimeError, match="INDICES element is out of DATA bounds, id=-1 axis_dim=1"):
        refgrad.zeros((3, 1)).index_select(1, index([-1]))
    with pytest.raises(IndexError, match="index out of range in self"):
        refgrad.zeros((1, 1, 3)).index_select(2, index([5]))


@pytest.mark.parametrize("name", ["index_add", "index_copy"])
@pytest.mark.parametrize("idx", [[], [0]])
def test_index_add_copy_save_their_source(name, idx):
    # torch saves the source when it needs a gradient: changing it in place fails the backward
    x = refgrad.zeros(2, dtype=refgrad.float64, requires_grad=True).clone()
    src = refgrad.zeros(1, dtype=refgrad.float64, requires_grad=True).clone()
    out = getattr(x, name)(0, index(idx), src[:len(idx)])
    src.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    y = refgrad.zeros(2, dtype=refgrad.float64, requires_grad=True).clone()
    plain = refgrad.zeros(1, dtype=refgrad.float64)
    out = getattr(y, name)(0, index([0]), plain)
    plain.add_(1)
    out.sum().backward()  # a source without gradient is not saved


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("name", ["index_put", "put"])
def test_index_put_and_put_always_save_their_index(name, accumulate):
    # torch 2.13: x.index_put((i,), v, accumulate=True) with only x requiring grad still refuses a second backward
    # ("Trying to backward through the graph a second time"); so does x.put(i, v, accumulate=True)
    x = refgrad.zeros(3, dtype=refgrad.float64, requires_grad=True)
    v = refgrad.ones(2, dtype=refgrad.float64)
    out = x.index_put((index([0, 0]),), v, accumulate=accumulate) if name == "index_put" else \
        x.put(index([0, 1]), v, accumulate=accumulate)
    out.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()


@pytest.mark.parametrize("accumulate", [False, True])
def test_put_saves_its_source_only_when_it_needs_a_gradient(accumulate):
    # torch 2.13: x.put(i, src) with only x requiring grad, then src.add_(1): the backward succeeds
    # (x.grad = [0, 0, 1], or ones when accumulating); with src requiring grad it fails the version check
    x = refgrad.zeros(3, dtype=refgrad.float64, requires_grad=True)
    src = refgrad.ones(3, dtype=refgrad.float64)
    out = x.put(index([0, 1]), src[:2], accumulate=accumulate)
    src.add_(1)
    out.sum().backward()
    assert x.grad.tolist() == ([1.0, 1.0, 1.0] if accumulate else [0.0, 0.0, 1.0])
    leaf = refgrad.ones(3, dtype=refgrad.float64, requires_grad=True)
    src = leaf.clone()
    out = refgrad.zeros(3, dtype=refgrad.float64).put(index([0, 1]), src[:2], accumulate=accumulate)
    src.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


@pytest.mark.parametrize("flag", [True, False])
def test_masked_select_of_a_0d_input_and_mask(flag):
    # torch 2.13: a 1-D result of one or no element, gradient 1 or 0 (refgrad raised NumPy's ValueError; the double
    # backward of a full max/min/median reaches it through masked_fill's value gradient)
    x = refgrad.tensor(2.0, dtype=refgrad.float64, requires_grad=True)
    out = refgrad.masked_select(x, refgrad.tensor(flag))
    assert out.shape == ((1,) if flag else (0,)) and out.tolist() == ([2.0] if flag else [])
    out.sum().backward()
    assert x.grad.item() == (1.0 if flag else 0.0)
