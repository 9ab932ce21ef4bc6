"""torch's in-place view ops (refgrad/ops/views_inplace.py): t_, transpose_, swapdims_, swapaxes_, squeeze_,
unsqueeze_ and as_strided_ compared with live torch 2.13: the tensor itself with the view's shape and strides,
the version bump, the node (TBackward1, SqueezeBackward3...) and its edge, gradients through it, views staying
views, and the refusals of leaves, views of leaves, no_grad views, stale saved tensors and inference tensors."""
from __future__ import annotations

import pytest

import refgrad as rg

torch = pytest.importorskip("torch")

OPS = {
    "t_": (lambda x: x.t_(), lambda x: x),
    "transpose_": (lambda x: x.transpose_(0, 1), lambda x: x),
    "swapdims_": (lambda x: x.swapdims_(0, -1), lambda x: x),
    "swapaxes_": (lambda x: x.swapaxes_(1, 0), lambda x: x),
    "squeeze_": (lambda x: x.squeeze_(), lambda x: x.reshape(2, 1, 3)),
    "squeeze_ dim": (lambda x: x.squeeze_(1), lambda x: x.reshape(2, 1, 3)),
    "squeeze_ dims": (lambda x: x.squeeze_((0, 1)), lambda x: x.reshape(2, 1, 3)),
    "unsqueeze_": (lambda x: x.unsqueeze_(1), lambda x: x),
    "as_strided_": (lambda x: x.as_strided_((3, 2), (1, 3)), lambda x: x),
    "as_strided_ offset": (lambda x: x.as_strided_((2,), (2,), 1), lambda x: x),
}


def _name(x):
    return None if x.grad_fn is None else type(x.grad_fn).__name__.replace("torch::autograd::", "")


def _attempt(f):
    try:
        return f()
    except Exception as e:  # noqa: BLE001 (the error is the outcome compared)
        return type(e).__name__, str(e).split("\n")[0]


def _data(t):
    return t.tensor([[0.0, 1, 2], [3, 4, 5]])


def _scenarios(t, op, make):
    def plain():
        x = make(_data(t))
        before = x._version
        return op(x) is x, tuple(x.shape), x.stride(), x._version - before, x.is_contiguous(), x._is_view()

    def leaf():
        op(make(_data(t)).requires_grad_())

    def recorded():
        a = _data(t).requires_grad_()
        x = make(a * 2)
        y = op(x)
        (y * t.arange(float(y.numel())).reshape(y.shape)).sum().backward()
        return y is x, _name(x), [_name(f) if hasattr(f, "next_functions") else None for f in
                                  [e[0] for e in x.grad_fn.next_functions]], a.grad.tolist(), x.is_leaf

    def of_view():
        a = _data(t).requires_grad_()
        b = a * 2
        x = make(b[:])
        before = b._version
        op(x)
        (x * t.arange(float(x.numel())).reshape(x.shape)).sum().backward()
        return _name(x), tuple(x.shape), x.stride(), b._version - before, x._base is b, _name(b), a.grad.tolist()

    def no_grad_leaf():
        a = _data(t).requires_grad_()
        with t.no_grad():
            op(a)
        (a * a).sum().backward()
        return tuple(a.shape), a.stride(), _name(a), a.is_leaf, a._version, tuple(a.grad.shape)

    def no_grad_view():
        a = _data(t).requires_grad_()
        v2 = make(a * 1)
        with t.no_grad():
            w = v2[:]
        op(w)

    def stale():
        a = _data(t).requires_grad_()
        x = make(a * 2)
        z = x * x
        op(x)
        z.sum().backward()

    def inference():
        with t.inference_mode():
            x = make(_data(t))
        try:
            op(x)
        finally:
            shape = tuple(x.shape)
        return shape

    def inference_after():
        with t.inference_mode():
            x = make(_data(t))
        _attempt(lambda: op(x))
        return tuple(x.shape), x.stride()

    outcomes = {name: _attempt(f) for name, f in [
        ("plain", plain), ("leaf", leaf), ("recorded", recorded), ("of_view", of_view),
        ("no_grad_leaf", no_grad_leaf), ("no_grad_view", no_grad_view), ("stale", stale), ("inference", inference),
        ("inference_after", inference_after)]}
    # (the stale saved tensor's message names its producer: torch the tensor's node now, "T1", "Squeeze3"...,
    # refgrad's saved tensor the node when it was saved, "Mul", as for any in-place op: graph.py's SavedTensor)
    outcomes["stale"] = outcomes["stale"][0]
    return outcomes


@pytest.mark.parametrize("op", OPS)
def test_inplace_view_matches_torch(op):
    assert _scenarios(rg, *OPS[op]) == _scenarios(torch, *OPS[op])


@pytest.mark.parametrize("code", [
    "t.zeros(2, 2, 2).t_()", "t.zeros(2, 2).transpose_(0, 5)", "t.zeros(2, 2).unsqueeze_(5)",
    "t.zeros(2, 2).squeeze_(5)", "t.zeros(2, 2).as_strided_((3, 3), (3, 1))", "t.zeros(3).t_().shape",
    "t.zeros(()).t_().shape", "t.zeros(2, 1).squeeze_(0).shape", "t.zeros(2, 3)[:, ::2].unsqueeze_(0).stride()",
    "t.zeros(2, 3).t_().t_().stride()",
])
def test_inplace_view_edge_cases_match_torch(code):
    def run(t):
        return _attempt(lambda: eval(code, {"t": t}))
    assert run(rg) == run(torch)


@pytest.mark.parametrize("library", [rg, torch], ids=["refgrad", "torch"])
def test_a_view_replays_its_inplace_view_when_regenerated(library):
    t = library
    a = _data(t).requires_grad_()
    b = a * 1
    x = b[:]
    x.t_()
    b.mul_(2)  # the base changes: x's node is regenerated by replaying b[:] and t_ on b
    assert type(x.grad_fn).__name__ == "AsStridedBackward0" and tuple(x.shape) == (3, 2)
    (x * t.arange(6.0).reshape(3, 2)).sum().backward()
    assert a.grad.tolist() == [[0.0, 4.0, 8.0], [2.0, 6.0, 10.0]]


def test_as_strided_reads_a_tangent_laid_out_like_its_primal():
    import numpy as np
    """torch gives an op's result's tangent the result's strides (a copy when they differ): ``x * 1`` of a
    transposed ``x`` is Fortran-ordered, so its tangent is too, and ``as_strided_`` reads both in that order
    (found by the jvp property in CI with non-contiguous inputs: refgrad's tangent was C-ordered)."""
    torch = pytest.importorskip("torch")

    def tangent(t, requires_grad):  # (requiring grad: the tangent is in a graph, and copied by a recorded op)
        values = np.array([[[-1.0, -41.2, -0.5, -58.9], [76.4, -2.0, 28.2, 0.0]]])
        x = t.tensor(values.transpose(2, 1, 0).tolist()).permute(2, 1, 0).detach().requires_grad_(requires_grad)
        with t.autograd.forward_ad.dual_level():
            dual = t.autograd.forward_ad.make_dual(x, t.tensor([[[0.5, -0.78, -0.5, 2.0], [0.5, 9.0, -2.0, 0.5]]]))
            out = (dual * 1).as_strided_((7, 2), (1, 1))
            return t.autograd.forward_ad.unpack_dual(out).tangent.tolist()
    assert tangent(rg, False) == tangent(torch, False)
    assert tangent(rg, True) == tangent(torch, True)
