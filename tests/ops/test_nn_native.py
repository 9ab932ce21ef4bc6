"""nn_native.py and embedding_bag.py: VJPs against central differences (second order where torch has one; where
it has none, the refusal), and torch's conventions, pinned from torch 2.13.0. No torch import."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as rg
import refgrad.nn.functional as F
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(23)
X = rng.standard_normal((2, 3, 4))
W, B = rng.standard_normal(3), rng.standard_normal(3)
SCORES = rng.standard_normal((3, 5))
TARGET = rg.tensor([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 0, 1, 2, 3]])
TABLE = rng.standard_normal((5, 3))
BAG_INDEX, OFFSETS = rg.tensor([0, 2, 1, 2, 4, 0, 1]), rg.tensor([0, 2, 2, 5])

TWICE = {
    "native_batch_norm": (lambda x, w, b: rg.native_batch_norm(x, w, b, None, None, True, 0.1, 1e-5)[0], (X, W, B)),
    "native_batch_norm.eval": (lambda x, w: rg.native_batch_norm(x, w, None, rg.zeros(3, dtype=rg.float64),
                                                                 rg.ones(3, dtype=rg.float64), False, 0.1, 1e-5)[0],
                               (X, W)),
    "native_layer_norm": (lambda x, w: rg.native_layer_norm(x, (3, 4), w, None, 1e-5)[0],
                          (X, rng.standard_normal((3, 4)))),
    # all three outputs carry gradient (the statistics too)
    "native_group_norm": (lambda x, w, b: rg.native_group_norm(x, w, b, 2, 3, 4, 3, 1e-5), (X, W, B)),
    "native_group_norm.stats": (lambda x: rg.native_group_norm(x, None, None, 2, 3, 4, 1, 1e-5)[1:], (X,)),
    "nn.functional.local_response_norm": (lambda x: F.local_response_norm(x, 3, alpha=0.5, beta=0.7, k=2.0), (X,)),
    "nn.functional.linear_cross_entropy": (
        lambda x, w, b: F.linear_cross_entropy(x, w, rg.tensor([0, 2]), linear_bias=b, label_smoothing=0.2),
        (X[0, :2], rng.standard_normal((3, 4)), B)),
    # both outputs (attention output and averaged weights), bias_k/bias_v, a zero-attention column and a mask
    "nn.functional.multi_head_attention_forward": (
        lambda q, k, w, b, ow, ob, bk: F.multi_head_attention_forward(
            q, k, k, 4, 2, w, b, bk, bk * 0.5, True, 0.0, ow, ob, training=False,
            attn_mask=rg.ones(2, 3, dtype=rg.bool).triu(1)),
        (rng.standard_normal((2, 2, 4)), rng.standard_normal((3, 2, 4)), rng.standard_normal((12, 4)),
         rng.standard_normal(12), rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal((1, 1, 4)))),
    "nn.functional.local_response_norm.4d": (lambda x: F.local_response_norm(x.reshape(1, 3, 2, 4), 2, alpha=0.5),
                                             (X,)),
}
ONCE = {
    "nn.functional.multilabel_margin_loss": (lambda x: F.multilabel_margin_loss(x, TARGET), (SCORES,)),
    "nn.functional.multilabel_margin_loss.none": (lambda x: F.multilabel_margin_loss(x, TARGET, reduction="none"),
                                                  (SCORES,)),
    # through log_softmax: torch's CTC gradient is the one for the logits of a log_softmax (its intended use)
    "nn.functional.ctc_loss": (lambda x: F.ctc_loss(x.log_softmax(-1), rg.tensor([[1, 2, 2], [3, 1, 0]]),
                                                   rg.tensor([5, 4]), rg.tensor([3, 1])),
                               (rng.standard_normal((5, 2, 4)),)),
    "nn.functional.ctc_loss.concatenated": (
        lambda x: F.ctc_loss(x.log_softmax(-1), rg.tensor([2, 2, 1]), rg.tensor([5, 3]), rg.tensor([2, 1]), blank=3,
                             reduction="none"), (rng.standard_normal((5, 2, 4)),)),
    "nn.functional.embedding_bag.mean": (lambda w: F.embedding_bag(BAG_INDEX, w, OFFSETS, padding_idx=2), (TABLE,)),
    "nn.functional.embedding_bag.max": (lambda w: F.embedding_bag(BAG_INDEX, w, OFFSETS, mode="max"), (TABLE,)),
    "nn.functional.embedding_bag.per_sample_weights": (
        lambda w, p: F.embedding_bag(BAG_INDEX, w, OFFSETS, mode="sum", per_sample_weights=p), (TABLE, rng.random(7))),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", TWICE)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = TWICE[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ONCE)
def test_first_order_matches_central_differences_and_second_order_is_refused(name):
    fn, arrays = ONCE[name]
    check_vjp(fn, *arrays, order=1, rtol=1e-5, atol=1e-6)
    tensors = [rg.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    v = rg.ones_like(out, requires_grad=True)
    grads = rg.autograd.grad(out, tensors, v, create_graph=True)
    with pytest.raises((RuntimeError, NotImplementedError), match="derivative for"):
        rg.autograd.grad(sum(g.sum() for g in grads), tensors + [v], allow_unused=True)


def test_native_outputs_and_their_differentiability_follow_torch():
    x = rg.tensor(X, requires_grad=True)
    out, mean, invstd = rg.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)
    assert out.grad_fn.name() == "NativeBatchNormBackward0" and mean.shape == (3,) and not mean.requires_grad
    assert np.allclose(invstd.numpy(), 1 / np.sqrt(X.var(axis=(0, 2)) + 1e-5))
    _, empty, _ = rg.native_batch_norm(x, None, None, rg.zeros(3, dtype=rg.float64), rg.ones(3, dtype=rg.float64),
                                       False, 0.1, 1e-5)
    assert empty.shape == (0,)
    out, mean, rstd = rg.native_layer_norm(x, (4,), None, None, 1e-5)
    assert out.grad_fn.name() == "NativeLayerNormBackward0" and mean.shape == (2, 3, 1) and not rstd.requires_grad
    out, mean, rstd = rg.native_group_norm(x, None, None, 2, 3, 4, 3, 1e-5)
    assert [t.grad_fn.name() for t in (out, mean, rstd)] == ["NativeGroupNormBackward0"] * 3 and mean.shape == (2, 3)


def test_multilabel_margin_loss_reads_targets_up_to_the_first_minus_one():
    # torch 2.13: target [1, -1, 2, 3] means class 1 only; a repeated class counts twice
    x = rg.tensor([0.1, 0.2, 0.4, 0.8], dtype=rg.float64)
    once = F.multilabel_margin_loss(x, rg.tensor([1, -1, 2, 3])).item()
    assert once == pytest.approx((0.9 + 1.2 + 1.6) / 4)
    assert F.multilabel_margin_loss(x, rg.tensor([1, 1, -1, 0])).item() == pytest.approx(2 * once)
    with pytest.raises(RuntimeError, match="out of range"):
        F.multilabel_margin_loss(x, rg.tensor([4, -1, 0, 0]))


def test_ctc_loss_of_an_impossible_alignment_and_zero_infinity():
    # torch 2.13: one step cannot emit two labels: the loss is inf, or 0 with zero_infinity (gradient 0 then)
    x = rg.zeros(1, 1, 3, dtype=rg.float64, requires_grad=True)
    args = (x.log_softmax(-1), rg.tensor([[1, 2]]), rg.tensor([1]), rg.tensor([2]))
    assert F.ctc_loss(*args, reduction="none").tolist() == [float("inf")]
    zeroed = F.ctc_loss(*args, zero_infinity=True)
    assert zeroed.item() == 0.0 and rg.autograd.grad(zeroed, [x])[0].tolist() == [[[0.0, 0.0, 0.0]]]
    assert F.ctc_loss(*args, reduction="none").grad_fn.name() == "CtcLossBackward0"


def test_embedding_bag_max_keeps_the_first_maximum_and_skips_padding():
    w = rg.tensor([[1.0, 5.0], [1.0, 2.0], [0.0, 7.0]], dtype=rg.float64, requires_grad=True)
    out = F.embedding_bag(rg.tensor([0, 1, 2, 1, 0]), w, rg.tensor([0, 2, 2]), mode="max", padding_idx=2)
    assert out.tolist() == [[1.0, 5.0], [0.0, 0.0], [1.0, 5.0]]
    (g,) = rg.autograd.grad(out, [w], rg.tensor([[1.0, 10.0], [100.0, 1000.0], [1e4, 1e5]], dtype=rg.float64))
    assert g.tolist() == [[1.0, 100010.0], [10000.0, 0.0], [0.0, 0.0]]
    assert out.grad_fn.name() == "EmbeddingBagBackward0"


def test_multilabel_margin_is_one_minus_target_plus_other_in_that_order():
    # torch computes (1 - x[target]) + x[i]: at x = [1, 5e-78] the margin is 5e-78 > 0, not 1 - (1 - 5e-78) = 0
    x = rg.tensor([1.0, 4.993748949053888e-78], dtype=rg.float64, requires_grad=True)
    loss = rg.nn.functional.multilabel_margin_loss(x, rg.tensor([0, -1]))
    grad, = rg.autograd.grad(loss, x)
    assert grad.tolist() == [-0.5, 0.5]


@pytest.mark.parametrize("layout", ["transposed", "sliced", "nlc", "channels_last", "one_row_transposed",
                                    "fortran_1x4x1x2", "fortran_1x4x1x1x2"])
def test_native_group_norm_refuses_inputs_not_dense_in_their_suggested_format(layout):
    # torch (CPU): TORCH_CHECK(X.is_contiguous(X.suggest_memory_format())); channels_last and a transposed [1, 4]
    # (contiguous: size-1 dims' strides do not count) pass; torch.nn.functional.group_norm makes x contiguous
    import torch
    base = np.arange(24.0).reshape(2, 4, 3)
    make = {"transposed": lambda t: t.tensor(base[:, :, 0].T.copy()).t(),
            "sliced": lambda t: t.tensor(np.repeat(base[:, :, 0], 2, 1))[:, ::2],
            "nlc": lambda t: t.tensor(base.transpose(0, 2, 1).copy()).permute(0, 2, 1),
            "channels_last": lambda t: t.tensor(base.reshape(2, 4, 3, 1)).contiguous(memory_format=t.channels_last),
            "one_row_transposed": lambda t: t.tensor(base[:1, :, 0].T.copy()).t(),
            # channels innermost but not channels-last to torch's suggest_memory_format (a size-1 dim between the
            # spatial ones breaks its order of strides): these raise (the conformance ci profile, 2026-12-07)
            "fortran_1x4x1x2": lambda t: t.tensor(base[:1, :, :2].reshape(1, 4, 1, 2).transpose(3, 2, 1, 0).copy())
            .permute(3, 2, 1, 0),
            "fortran_1x4x1x1x2": lambda t: t.tensor(base[:1, :, :2].reshape(1, 4, 1, 1, 2).transpose(0, 2, 4, 3, 1)
                                                    .copy()).permute(0, 4, 1, 3, 2)}[layout]
    outcomes = []
    for t in (torch, rg):
        x = make(t)
        try:
            out = t.native_group_norm(x, None, None, x.shape[0], x.shape[1], x[0, 0].numel(), 2, 1e-5)[0]
            outcomes.append(np.asarray(out.detach().numpy()))
        except RuntimeError as error:
            outcomes.append(str(error))
    if isinstance(outcomes[0], str):
        assert outcomes[1] == outcomes[0]
    else:
        np.testing.assert_allclose(outcomes[1], outcomes[0], rtol=1e-6, atol=1e-6)
