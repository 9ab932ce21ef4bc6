"""Shape/movement ops and joins: VJPs against central differences (first and second order), view semantics
(shared memory and version counter exactly where torch returns a view) and torch 2.13's node names.
No torch import: these run without torch."""
import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_vjp

RNG = np.random.default_rng(1)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((2, 3, 4))
V = RNG.standard_normal(5)

OPS = {
    "reshape": (lambda x: x.reshape(4, 3), A), "reshape.copy": (lambda x: x.t().reshape(12), A),
    "view": (lambda x: x.view(-1, 2), A), "flatten": (lambda x: refgrad.flatten(x, 1), B),
    "unflatten": (lambda x: x.unflatten(1, (2, -1)), A), "ravel": (lambda x: x.t().ravel(), A),
    "squeeze.dims": (lambda x: x.unsqueeze(0).unsqueeze(2).squeeze((0, 2)), A),
    "permute": (lambda x: x.permute(2, 0, 1), B), "movedim": (lambda x: x.movedim((0, 1), (2, 0)), B),
    "transpose": (lambda x: x.swapaxes(0, 2), B), "expand": (lambda x: x.expand(2, 5), V),
    "broadcast_to": (lambda x: x.broadcast_to((3, 5)), V), "repeat": (lambda x: x.repeat(2, 1, 3), A),
    "tile": (lambda x: x.tile((2,)), A), "flip": (lambda x: x.flip(0, 2), B), "fliplr": (lambda x: x.fliplr(), A),
    "roll": (lambda x: x.roll((1, -1), (0, 1)), A), "roll.flat": (lambda x: x.roll(5), A),
    "narrow": (lambda x: x.narrow(1, -3, 2), A), "cat": (lambda x: refgrad.cat([x, x * 2], 1), A),
    "stack": (lambda x: refgrad.stack([x, x * 2], 1), A), "hstack": (lambda x: refgrad.hstack([x, x]), V),
    "vstack": (lambda x: refgrad.vstack([x, x]), V), "dstack": (lambda x: refgrad.dstack([x, x]), A),
    "split": (lambda x: x.split(3, 1), A), "split.sizes": (lambda x: x.split([1, 3], 1), A),
    "chunk": (lambda x: x.chunk(3, 1), A), "tensor_split": (lambda x: x.tensor_split([1, 3], 1), A),
    "unbind": (lambda x: x.unbind(1), A), "diagonal": (lambda x: x.diagonal(1, 2, 0), B),
    "diag.2d": (lambda x: x.diag(-1), A), "diag.1d": (lambda x: x.diag(2), V),
    "diag_embed": (lambda x: x.diag_embed(1, 0, 2), A), "tril": (lambda x: x.tril(-1), A),
    "triu": (lambda x: x.triu(1), B), "atleast_3d": (lambda x: refgrad.atleast_3d(x), V),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(OPS))
def test_vjp(name, order):
    fn, point = OPS[name]
    check_vjp(fn, point, order=order)


NAMES = [
    ("ViewBackward0", lambda x: x.reshape(4, 3)), ("UnsafeViewBackward0", lambda x: x.t().reshape(12)),
    ("ViewBackward0", lambda x: x.unflatten(1, (2, 2))), ("SqueezeBackward2", lambda x: x.squeeze((0,))),
    ("PermuteBackward0", lambda x: x.movedim(0, 1)), ("TransposeBackward0", lambda x: x.swapdims(0, 1)),
    ("RepeatBackward0", lambda x: x.tile(2)), ("FlipBackward0", lambda x: x.flipud()),
    ("RollBackward0", lambda x: x.roll(1)), ("SliceBackward0", lambda x: x.narrow(1, 1, 2)),
    ("CatBackward0", lambda x: refgrad.concatenate([x, x])), ("StackBackward0", lambda x: refgrad.stack([x, x])),
    ("SplitBackward0", lambda x: x.chunk(2, 1)[1]), ("SplitWithSizesBackward0", lambda x: x.split([1, 3], 1)[0]),
    ("SliceBackward0", lambda x: x.tensor_split(3, 1)[0]), ("UnbindBackward0", lambda x: x.unbind(0)[2]),
    ("DiagonalBackward0", lambda x: x.diagonal()), ("DiagonalBackward0_copy", lambda x: x.diag()),
    ("DiagEmbedBackward0", lambda x: x[0].diag()), ("TrilBackward0", lambda x: x.tril()),
    ("TriuBackward0", lambda x: x.triu()), ("ExpandBackward0", lambda x: x.broadcast_to((2, 3, 4))),
    ("ViewBackward0", lambda x: x.ravel()), ("ViewBackward0", lambda x: x.t().ravel()),
    ("AliasBackward0", lambda x: x.sum().movedim(0, 0)),
]


@pytest.mark.parametrize("name,fn", NAMES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(NAMES)])
def test_node_names(name, fn):
    # names read from type(out.grad_fn).__name__ under torch 2.13.0 for the same calls
    x = refgrad.tensor(A, requires_grad=True)
    assert type(fn(x).grad_fn).__name__ == name


VIEWS = [
    (True, lambda x: x.narrow(1, 1, 2)), (True, lambda x: x.diagonal()), (True, lambda x: x.movedim(0, 1)),
    (True, lambda x: x.unflatten(1, (2, 2))), (True, lambda x: x.split(2, 1)[1]), (True, lambda x: x.unbind(1)[3]),
    (True, lambda x: x.broadcast_to((2, 3, 4))), (True, lambda x: x.ravel()), (True, lambda x: x.squeeze((0,))),
    (False, lambda x: x.flip(0)), (False, lambda x: x.roll(1)), (False, lambda x: x.repeat(1, 1)),
    (False, lambda x: refgrad.cat([x])), (False, lambda x: x.diag()), (False, lambda x: x.tril()),
]


@pytest.mark.parametrize("is_view,fn", VIEWS)
def test_views_share_memory_exactly_where_torch_does(is_view, fn):
    x = refgrad.tensor(A)
    out = fn(x)
    assert out._is_view() is is_view
    assert np.may_share_memory(out._data, x._data) is is_view


def test_inplace_through_views_reaches_the_base():
    x = refgrad.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x.clone()
    y.diagonal(1).mul_(3)
    y.t().narrow(0, 1, 2).add_(1)
    y.movedim(0, 1).unflatten(0, (2, 2)).mul_(2)
    (y * refgrad.arange(12.0).reshape(3, 4)).sum().backward()
    assert type(y.grad_fn).__name__ == "CopySlices"
    expected_y = np.arange(12.0).reshape(3, 4)
    expected_y[[0, 1, 2], [1, 2, 3]] *= 3
    expected_y[:, 1:3] += 1
    expected_y *= 2
    np.testing.assert_allclose(y.detach().numpy(), expected_y)
    scale = np.full((3, 4), 2.0)
    scale[[0, 1, 2], [1, 2, 3]] *= 3
    np.testing.assert_allclose(x.grad.numpy(), scale * np.arange(12.0).reshape(3, 4))


def test_broadcast_tensors_returns_same_shape_input_itself():
    # torch 2.13: an input that already has the broadcast shape is returned as is (a leaf stays a leaf)
    a, b = refgrad.ones(3, requires_grad=True), refgrad.ones(2, 3, requires_grad=True)
    out = refgrad.broadcast_tensors(a, b)
    assert out[1] is b and type(out[0].grad_fn).__name__ == "ExpandBackward0"


def test_cat_promotes_and_skips_legacy_empty():
    x = refgrad.ones(2, 2, dtype=refgrad.float64)
    assert refgrad.cat([x, refgrad.ones(1, 2, dtype=refgrad.int64)]).dtype is refgrad.float64
    assert refgrad.cat([x, refgrad.ones(0)]).shape == (2, 2)


def test_errors():
    x = refgrad.ones(3, 4)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0"):
        refgrad.cat([x, refgrad.ones(3, 5)])
    with pytest.raises(ValueError, match="expected a non-empty list of Tensors"):
        refgrad.cat([])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        refgrad.stack([x, refgrad.ones(3, 5)])
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 4"):
        x.split([1, 2], 1)
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0"):
        x.chunk(0)
    with pytest.raises(RuntimeError, match="start \\(3\\) \\+ length \\(2\\) exceeds dimension size \\(4\\)"):
        x.narrow(1, 3, 2)
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        x.roll((1, 2), 0)
    with pytest.raises(RuntimeError, match="diag\\(\\): Supports 1D or 2D tensors. Got 3D"):
        refgrad.ones(2, 3, 4).diag()
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        refgrad.ones(3).tril()
    with pytest.raises(RuntimeError, match="unflatten: Provided sizes \\[3, 3\\] don't multiply up"):
        x.unflatten(1, (3, 3))
    with pytest.raises(RuntimeError, match="movedim: Invalid source or destination dims"):
        x.movedim((0, 1), (1,))
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        x.squeeze((0, 0))


def test_view_dtype_reinterprets_the_bytes():
    # torch 2.13: view(dtype) reads the same bytes as another dtype (the last dimension scales by the ratio of the
    # element sizes), outside the graph (no grad_fn, requires_grad False even for the same dtype), sharing storage
    # and version counter
    x = refgrad.tensor([1.0, -2.0], requires_grad=True)
    for dtype, values in ((refgrad.int32, [1065353216, -1073741824]), (refgrad.float16, [0.0, 1.875, 0.0, -2.0]),
                          (refgrad.float64, [-2.000000473111868]), (refgrad.complex64, [1 - 2j]),
                          (refgrad.bool, [False, False, True, True, False, False, False, True]),
                          (refgrad.float32, [1.0, -2.0])):
        out = x.view(dtype)
        assert out.dtype is dtype and out.tolist() == values
        assert not out.requires_grad and out.grad_fn is None and out.is_leaf
    assert refgrad.ones(2, 3).t().view(dtype=refgrad.int32).stride() == (1, 3)
    assert refgrad.ones(3, 5, 4)[:, 1:, 2:].view(refgrad.float64).stride() == (10, 2, 1)
    w = refgrad.tensor([1.0, 2.0])
    v = w.view(refgrad.int32)
    v.add_(1)  # one ulp up, through the alias
    assert w._version == v._version == 1 and w.tolist() == [1.0000001192092896, 2.000000238418579]


@pytest.mark.parametrize("make, dtype, message", [
    (lambda: refgrad.tensor(1.0, dtype=refgrad.float64), "float32", "self.dim() cannot be 0 to view Double as Float"),
    (lambda: refgrad.ones(4)[1:4], "float64", "self.size(-1) must be divisible by 2 to view Float as Double "
                                              "(different element sizes), but got 3"),
    (lambda: refgrad.ones(8)[::2], "float64", "self.stride(-1) must be 1 to view Float as Double (different element "
                                              "sizes), but got 2"),
    (lambda: refgrad.ones(2, 3).t(), "float16", "self.stride(-1) must be 1 to view Float as Half"),
    (lambda: refgrad.ones(4, 3)[:, 1:3], "float64", "self.storage_offset() must be divisible by 2 to view Float as "
                                                    "Double (different element sizes), but got 1"),
    (lambda: refgrad.ones(4, 3)[1:, 1:], "float64", "self.stride(0) must be divisible by 2 to view Float as Double "
                                                    "(different element sizes), but got 3"),
    (lambda: refgrad.ones(9, dtype=refgrad.uint8)[1:5], "float32", "storage_offset.. must be divisible by 4 to view "
                                                                   "Byte as Float"),
    (lambda: refgrad.tensor([1 + 1j]).conj(), "float64", "not supported for conjugate view tensors when converting"),
])
def test_view_dtype_errors(make, dtype, message):
    # torch 2.13's checks, in its order (size before stride(-1), storage offset before the other strides)
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make().view(getattr(refgrad, dtype))
