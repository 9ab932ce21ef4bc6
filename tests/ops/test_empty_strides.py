"""torch's strides for empty tensors, carried through views (refgrad/_strides.py): NumPy 2 gives a new empty array
all-zero strides, torch a new empty tensor the contiguous ones (a size-0 dimension counted as 1), which its views
then permute, step and broadcast as for any tensor."""
from __future__ import annotations

import pytest

import refgrad

#: expressions of a module ``t``; each was measured against torch 2.13.0 (stride(), is_contiguous())
CASES = [
    "t.zeros((0, 2))", "t.zeros((0, 2)).t()", "t.zeros((2, 0, 3)).permute(2, 0, 1)",
    "t.zeros((0, 2)).transpose(0, 1)[1:]", "t.zeros((3, 0)).t()[:, 1]", "t.zeros((0, 3))[:, ::2]",
    "t.zeros((0, 3)).t()[::2]", "t.zeros((1, 0)).expand(3, 0)", "t.zeros((0, 2)).t().reshape(0, 2)",
    "t.zeros((0, 2)).t().view(2, 0)", "t.zeros((0, 2)).t().squeeze()", "t.zeros((2, 1, 0)).squeeze(1)",
    "t.zeros((2, 0)).mT", "t.zeros((4, 0)).t().flatten()", "t.zeros((2, 0, 3)).movedim(0, 2)",
    "t.zeros((2, 0, 3)).select(2, 1)", "t.zeros((2, 0, 3)).narrow(2, 1, 2)", "t.zeros((2, 0, 3)).diagonal()",
    "t.zeros((0, 2)).t().unflatten(0, (1, 2))", "t.zeros((0, 6)).unfold(1, 2, 2)", "t.zeros((0, 2, 3)).transpose(0, 2)",
    "t.zeros((2, 0)).t().contiguous()", "t.zeros((2, 0)).t().clone()", "t.zeros((0, 2)).t().clone()",
    "t.zeros((0, 2)).t().clone(memory_format=t.contiguous_format)", "t.zeros((1, 0)).expand(3, 0).clone()",
    "t.ones((3, 2))[:0].t()", "t.zeros((0, 2)).t().split(1)[0]", "t.zeros((0, 2)).t().unbind(0)[0]",
    "t.zeros((0, 2)).t().chunk(2)[1]", "t.zeros((0, 2)).t().expand(3, 2, 0)",
    "t.zeros((0, 2)).t().view_as(t.zeros((2, 0)))", "t.zeros((0, 2)).t().detach()", "t.zeros((0, 2)).t().data",
    "t.zeros((0, 2), dtype=t.complex64).t().real", "t.zeros((0, 2), dtype=t.complex64).t().view(t.float32)",
    "t.zeros((0, 2)).t().view(t.int32)", "t.zeros((0, 2)).t()[1]", "t.zeros((0, 2, 2)).diagonal(0, 1, 2)",
    "t.zeros((0, 2)).t().broadcast_to((3, 2, 0))", "t.zeros((0, 2), requires_grad=True).t()",
]


def _layout(t, expression):
    try:
        tensor = eval(expression, {"t": t})
    except RuntimeError as error:  # (a complex view as real needs a unit last stride: torch's strides decide)
        return str(error)
    return tuple(tensor.stride()), tensor.is_contiguous()


@pytest.mark.parametrize("expression", CASES)
def test_an_empty_views_strides_are_torchs(expression):
    torch = pytest.importorskip("torch")
    assert _layout(refgrad, expression) == _layout(torch, expression)
