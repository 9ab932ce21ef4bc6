"""nll_loss's gradient under create_graph is one recorded node, as torch's: NllLossBackwardBackward0 (or
NllLoss2DBackwardBackward0) with edges to grad_output and self. Its VJP (nll_loss of the second cotangent in
grad_output, zeros in self) and that VJP's own VJP are checked against central differences; the node names and
what the node saves are compared with live torch 2.13."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_backward_node

torch = pytest.importorskip("torch")

rng = np.random.default_rng(20261207)

# (id, input shape, target, keyword arguments); the targets avoid no class so every branch writes something
CASES = [
    ("unbatched", (4,), 2, {}),
    ("unbatched_none", (4,), 1, {"reduction": "none"}),
    ("batch_mean", (3, 4), [0, 3, 1], {}),
    ("batch_sum_weight", (3, 4), [0, 3, 1], {"reduction": "sum", "weight": [0.5, 2.0, 1.0, 3.0]}),
    ("batch_none_ignored", (3, 4), [0, 2, 2], {"reduction": "none", "ignore_index": 2}),
    ("batch_mean_weight_ignored", (3, 4), [0, 2, 1], {"weight": [0.5, 2.0, 1.0, 3.0], "ignore_index": 1}),
    ("spatial_mean", (2, 3, 2, 2), [[[0, 2], [1, 1]], [[2, 0], [0, 1]]], {}),
    ("spatial_none_weight", (2, 3, 2, 2), [[[0, 2], [1, 1]], [[2, 0], [0, 1]]],
     {"reduction": "none", "weight": [0.5, 2.0, 3.0]}),
    ("folded_3d", (2, 3, 2), [[0, 2], [1, 1]], {}),
]


def _loss(lib, x, target, options):
    kwargs = dict(options)
    if "weight" in kwargs:
        kwargs["weight"] = lib.tensor(kwargs["weight"], dtype=lib.float64)
    return lib.nn.functional.nll_loss(x, lib.tensor(target), **kwargs)


@pytest.mark.parametrize(("shape", "target", "options"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_backward_node_against_central_differences(shape, target, options):
    # the node's VJP, in grad_output and in self (torch's zeros), then that VJP's own VJP (the node again)
    check_backward_node(lambda x: _loss(refgrad, x, target, options), rng.standard_normal(shape))


def _names(lib, shape, target, options, through_log_softmax):
    """The first-order gradient's grad_fn name and its next_functions' names (None for no edge)."""
    x = lib.tensor(rng.standard_normal(shape), requires_grad=True)
    loss = _loss(lib, x.log_softmax(1 if len(shape) > 1 else 0) if through_log_softmax else x, target, options)
    v = lib.ones_like(loss).requires_grad_()
    (grad,) = lib.autograd.grad(loss, x, v, create_graph=True)
    node = grad.grad_fn
    nested = [type(n).__name__ if n is not None else None for n, _ in node.next_functions]
    return type(node).__name__, nested


@pytest.mark.parametrize("through_log_softmax", [False, True])
@pytest.mark.parametrize(("shape", "target", "options"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_gradient_node_names_are_torchs(shape, target, options, through_log_softmax):
    # torch 2.13: NllLossBackwardBackward0 [grad_output's node, AccumulateGrad] (2D: NllLoss2D...; a folded 3-d
    # input: ViewBackward0 over it; through log_softmax: LogSoftmaxBackwardDataBackward0 over it)
    reference = _names(torch, shape, target, options, through_log_softmax)
    assert _names(refgrad, shape, target, options, through_log_softmax) == reference


@pytest.mark.parametrize("changed", ["weight", "target"])
def test_the_backward_node_saves_weight_and_target(changed):
    """torch's NllLossBackwardBackward0 saves the weight and the target: changing either in place between the
    first-order gradient and its backward raises torch's version error."""
    messages = []
    for lib in (torch, refgrad):
        x = lib.zeros(4, 3, dtype=lib.float64, requires_grad=True)
        weight, target = lib.ones(3, dtype=lib.float64), lib.tensor([0, 1, 2, 1])
        (grad,) = lib.autograd.grad(lib.nn.functional.nll_loss(x, target, weight=weight), x, create_graph=True)
        (weight if changed == "weight" else target).add_(1)
        with pytest.raises(RuntimeError) as error:
            (grad * x).sum().backward()
        messages.append(str(error.value))
    assert messages[1] == messages[0]


def test_the_second_order_gradients_are_torchs():
    """d/dv is nll_loss of the second cotangent (a weighted mean here), d/dx zeros that do not require grad."""
    x_data, v_data, u_data = rng.standard_normal((3, 4)), 1.5, rng.standard_normal((3, 4))
    results = []
    for lib in (torch, refgrad):
        x = lib.tensor(x_data, requires_grad=True)
        v = lib.tensor(v_data, dtype=lib.float64, requires_grad=True)
        weight = lib.tensor([0.5, 2.0, 1.0, 3.0], dtype=lib.float64)
        loss = lib.nn.functional.nll_loss(x, lib.tensor([0, 3, 1]), weight=weight)
        (grad,) = lib.autograd.grad(loss, x, v, create_graph=True)
        d_x, d_v = lib.autograd.grad(grad, (x, v), lib.tensor(u_data, requires_grad=True), create_graph=True)
        results.append((d_x.tolist(), d_x.requires_grad, d_v.item(), type(d_v.grad_fn).__name__))
    assert results[1][:2] == results[0][:2]
    np.testing.assert_allclose(results[1][2], results[0][2], rtol=1e-15)
    assert results[1][3] == results[0][3] == "NllLossBackward0"


def _laid_out(lib, values, layout):
    """A leaf of ``values`` transposed (Fortran order), channels-last, sliced (``buffer[..., ::2]``) or not."""
    if layout == "transposed":
        order = tuple(reversed(range(values.ndim)))
        x = lib.tensor(values.transpose(order).copy()).permute(order)
    elif layout == "channels_last":
        x = lib.tensor(values.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2)
    elif layout == "sliced":
        buffer = np.zeros(values.shape[:-1] + (2 * values.shape[-1],))
        buffer[..., ::2] = values
        x = lib.tensor(buffer)[..., ::2]
    else:
        x = lib.tensor(values)
    return x.detach().requires_grad_(True)


@pytest.mark.parametrize(("shape", "layout"), [
    (shape, layout) for shape in [(2, 3, 1, 2), (2, 3, 2, 2), (2, 3, 1, 1), (2, 3, 2)]
    for layout in ["transposed", "channels_last", "sliced"] if layout != "channels_last" or len(shape) == 4])
def test_spatial_backward_refuses_a_grad_input_that_is_not_contiguous(shape, layout):
    # torch 2.13's nll_loss2d_backward writes into zeros_like(self) and checks it is contiguous: a transposed or
    # channels-last 4-d input raises (not one whose non-unit dims are still in order: channels-last (2, 3, 1, 1)),
    # a sliced one (zeros_like of a non-dense tensor is contiguous) and a 3-d one (folded from a contiguous copy)
    # do not
    values = rng.standard_normal(shape)
    target = rng.integers(0, 3, (shape[0],) + shape[2:]).tolist()
    outcomes = []
    for lib in (torch, refgrad):
        x = _laid_out(lib, values, layout)
        loss = lib.nn.functional.nll_loss(x, lib.tensor(target), reduction="none")
        try:
            grad, = lib.autograd.grad(loss.sum(), x, create_graph=True)
            outcomes.append(("ok", grad.detach().numpy().tolist()))
        except RuntimeError as error:
            outcomes.append(("raised", str(error)))
    assert outcomes[1] == outcomes[0]
