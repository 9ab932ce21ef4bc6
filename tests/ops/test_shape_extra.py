"""shape_extra.py, views_copy.py and join.py's split variants: VJPs to first and second order against central
differences, and torch 2.13.0's node names (read off torch 2.13.0+cpu). No torch import."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(7)
X = rng.standard_normal((3, 4))
Y = rng.standard_normal((2, 3, 4))
V = rng.standard_normal(4)
W = rng.standard_normal(3)
COUNTS = rg.tensor([1, 0, 2])

CASES = {
    "diff": (lambda x: rg.diff(x, n=2), (X,)),
    "diff.prepend": (lambda x, p: rg.diff(x, dim=0, prepend=p), (X, X[:1])),
    "rot90": (lambda x: rg.rot90(x, 3, (2, 0)), (Y,)),
    "block_diag": (lambda a, b, c: rg.block_diag(a, b, c), (X, V, np.array(0.5))),
    "meshgrid": (lambda a, b: rg.meshgrid(a, b, indexing="xy"), (V, W)),
    "cartesian_prod": (lambda a, b: rg.cartesian_prod(a, b), (V, W)),
    "combinations": (lambda a: rg.combinations(a, 3, with_replacement=True), (W,)),
    "hsplit": (lambda x: rg.hsplit(x, [1, 3]), (X,)),
    "vsplit": (lambda x: x.vsplit(3), (X,)),
    "dsplit": (lambda x: rg.dsplit(x, 2), (Y,)),
    "column_stack": (lambda a, b: rg.column_stack([a, b]), (W, X)),
    "diagflat": (lambda x: rg.diagflat(x, -1), (X,)),
    "repeat_interleave": (lambda x: rg.repeat_interleave(x, 2, dim=1), (X,)),
    "repeat_interleave.tensor": (lambda x: x.repeat_interleave(COUNTS, dim=0), (X,)),
    "unfold": (lambda x: x.unfold(2, 2, 1).unfold(0, 1, 1), (Y,)),
    "select_scatter": (lambda x, s: rg.select_scatter(x, s, 1, -1), (X, W)),
    "slice_scatter": (lambda x, s: rg.slice_scatter(x, s, 1, 1, None, 2), (X, X[:, :2])),
    "diagonal_scatter": (lambda x, s: rg.diagonal_scatter(x, s, -1, 0, 2), (Y, Y[0, :, :1])),
    "select": (lambda x: rg.select(x, 1, 2), (X,)),
    "split_with_sizes": (lambda x: x.split_with_sizes([1, 3], 1), (X,)),
    "unsafe_split": (lambda x: rg.unsafe_split(x, 2, 1), (X,)),
    "unsafe_chunk": (lambda x: rg.unsafe_chunk(x, 2), (X,)),
    "t_copy": (rg.t_copy, (X,)),
    "transpose_copy": (lambda x: rg.transpose_copy(x, 0, 2), (Y,)),
    "permute_copy": (lambda x: rg.permute_copy(x, (2, 0, 1)), (Y,)),
    "unsqueeze_copy": (lambda x: rg.unsqueeze_copy(x, 1), (X,)),
    "squeeze_copy": (lambda x: rg.squeeze_copy(x.unsqueeze(0), 0), (X,)),
    "view_copy": (lambda x: rg.view_copy(x, (6, 2)), (X,)),
    "expand_copy": (lambda x: rg.expand_copy(x, (2, 3, 4)), (X,)),
    "alias_copy": (rg.alias_copy, (X,)),
    "diagonal_copy": (lambda x: rg.diagonal_copy(x, 1, 2, 1), (Y,)),
    "narrow_copy": (lambda x: rg.narrow_copy(x, 1, 1, 2), (X,)),
    "unfold_copy": (lambda x: rg.unfold_copy(x, 1, 2, 2), (X,)),
    "unbind_copy": (lambda x: rg.unbind_copy(x, 1), (X,)),
    "split_with_sizes_copy": (lambda x: rg.split_with_sizes_copy(x, [2, 1]), (X,)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order)


def _name(out):
    out = out[0] if isinstance(out, tuple) else out
    return out.grad_fn.name()


def test_grad_fn_names_follow_torch():
    x = rg.tensor(X, requires_grad=True)
    v = rg.tensor(V, requires_grad=True)
    names = {fn: _name(fn()) for fn in (
        lambda: rg.rot90(x), lambda: rg.block_diag(x, v), lambda: rg.diff(x), lambda: rg.diff(x, n=0),
        lambda: x.unfold(1, 2, 1), lambda: rg.select_scatter(x, x[0], 0, 0),
        lambda: rg.slice_scatter(x, x[:1], 0, 0, 1), lambda: rg.diagonal_scatter(x, x[0, :3]),
        lambda: rg.repeat_interleave(x, 2), lambda: rg.repeat_interleave(x, COUNTS, dim=0),
        lambda: rg.cartesian_prod(v, v), lambda: rg.combinations(v), lambda: rg.meshgrid(v, v, indexing="ij"),
        lambda: rg.column_stack([v, v]), lambda: rg.diagflat(v), lambda: rg.hsplit(x, 2),
        lambda: rg.fill(x, 1.0), lambda: rg.unsafe_chunk(x, 2), lambda: rg.narrow_copy(x, 0, 0, 1),
        lambda: rg.t_copy(x), lambda: rg.unfold_copy(x, 0, 1, 1), lambda: rg.squeeze_copy(x[:1], 0))}
    assert list(names.values()) == [
        "Rot90Backward0", "BlockDiagBackward0", "SubBackward0", "torch::autograd::CopyBackwards", "UnfoldBackward0",
        "SelectScatterBackward0", "SliceScatterBackward0", "DiagonalScatterBackward0", "ViewBackward0",
        "IndexSelectBackward0", "StackBackward0", "StackBackward0", "ExpandBackward0", "CatBackward0",
        "DiagEmbedBackward0", "SliceBackward0", "FillBackward0", "UnsafeSplitBackward0", "NarrowCopyBackward0",
        "TBackward0_copy", "UnfoldBackward0_copy", "SqueezeBackward1_copy"]


def test_unfold_is_a_view_and_the_copies_are_not():
    x = rg.tensor(X)
    windows = x.unfold(1, 2, 1)
    windows[0, 0, 0] = 100.0
    assert x[0, 0].item() == 100.0 and x._version == 1
    copy = rg.unfold_copy(x, 1, 2, 1)
    copy[0, 0, 0] = -1.0
    assert x[0, 0].item() == 100.0


def test_repeat_interleave_of_counts_gives_indices():
    assert rg.repeat_interleave(rg.tensor([2, 0, 1])).tolist() == [0, 0, 2]
