"""nn_extra.py and the torch.* linalg spellings (qr, svd, linalg.diagonal): VJPs to first and second order against
central differences, and torch's node names. No torch import."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as rg
import refgrad.nn.functional as F
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(17)
X = rng.standard_normal((2, 8, 2, 2))
A = rng.standard_normal((3, 4))
T = rg.tensor((rng.random((3, 4)) > 0.5).astype(float))
B, C, D = (rng.standard_normal((3, 5)) for _ in range(3))
TALL = rng.standard_normal((4, 3)) + np.eye(4, 3) * 3

CASES = {
    "nn.functional.softmin": (lambda x: F.softmin(x, 1), (A,)),
    "nn.functional.rms_norm": (lambda x, w: F.rms_norm(x, (4,), w), (A, A[0])),
    "nn.functional.pixel_shuffle": (lambda x: F.pixel_shuffle(x, 2), (X,)),
    "nn.functional.pixel_unshuffle": (lambda x: F.pixel_unshuffle(x, 2), (X,)),
    "nn.functional.channel_shuffle": (lambda x: F.channel_shuffle(x, 4), (X,)),
    "nn.functional.upsample_nearest": (lambda x: F.upsample_nearest(x, scale_factor=2), (X,)),
    "nn.functional.upsample_bilinear": (lambda x: F.upsample_bilinear(x, size=(3, 5)), (X,)),
    "nn.functional.dropout2d": (lambda x: F.dropout2d(x, training=False) * 2, (X,)),
    "nn.functional.dropout3d": (lambda x: F.dropout3d(x, training=False) * 2, (X,)),
    "nn.functional.alpha_dropout": (lambda x: F.alpha_dropout(x, 0.3) * 2, (X,)),
    "nn.functional.feature_alpha_dropout": (lambda x: F.feature_alpha_dropout(x, 0.3) * 2, (X,)),
    "nn.functional.multilabel_soft_margin_loss": (lambda x: F.multilabel_soft_margin_loss(x, T), (A,)),
    "nn.functional.triplet_margin_with_distance_loss": (
        lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=True, margin=3.0), (B, C, D)),
    "qr": (lambda x: rg.qr(x), (TALL,)),
    "svd": (lambda x: rg.svd(x).S, (TALL,)),
    "linalg.diagonal": (lambda x: rg.linalg.diagonal(x, offset=1), (X,)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    with pytest.warns(UserWarning) if "upsample" in name else _nothing():
        check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-6)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_training_mode_dropouts_keep_or_zero_whole_channels():
    x = rg.ones(4, 6, 3, 3, dtype=rg.float64)
    out = F.dropout2d(x, 0.5).numpy()
    per_channel = out.reshape(4, 6, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))


def test_grad_fn_names_follow_torch():
    x = rg.tensor(X, requires_grad=True)
    a = rg.tensor(A, requires_grad=True)
    outs = [F.pixel_shuffle(x, 2), F.pixel_unshuffle(x, 2), F.channel_shuffle(x, 2), F.softmin(a, 1),
            F.rms_norm(a, (4,)), rg.qr(a.mT)[0], rg.svd(a).V, rg.linalg.diagonal(a)]
    assert [o.grad_fn.name() for o in outs] == [
        "PixelShuffleBackward0", "PixelUnshuffleBackward0", "ChannelShuffleBackward0", "SoftmaxBackward0",
        "MulBackward0", "LinalgQrBackward0", "TransposeBackward0", "DiagonalBackward0"]
    assert F.dropout2d(x, training=False) is x


def test_flash_attention_saves_a_float_mask():
    # torch 2.13: the fused CPU node saves attn_mask (_saved_attn_mask): changing it in place before backward is
    # the version-counter error; a bool mask is first converted to a fresh float mask
    q = rg.ones((1, 1, 2, 2), requires_grad=True)
    mask = rg.zeros((2, 2))
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
    assert out.grad_fn.name() == "ScaledDotProductFlashAttentionForCpuBackward0"
    mask.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    boolean = rg.ones((2, 2), dtype=rg.bool)
    F.scaled_dot_product_attention(q, q, q, attn_mask=boolean).sum().backward()


def test_rms_norm_squares_with_pow_as_torch():
    # torch 2.13 builds x * rsqrt(mean(x.pow(2)) + eps) * w: at x = [0.5], w = [inf], v = [0], u = ([5e-324], [0])
    # the second-order gradient w.r.t. v is NaN (default seed 3101); squaring by x * x instead gave inf
    x = rg.tensor([0.5], dtype=rg.float64, requires_grad=True)
    w = rg.tensor([float("inf")], dtype=rg.float64, requires_grad=True)
    v = rg.tensor([0.0], dtype=rg.float64, requires_grad=True)
    gx, gw = rg.autograd.grad(F.rms_norm(x, (1,), w), [x, w], v, create_graph=True)
    gg = rg.autograd.grad([gx, gw], [x, w, v], [rg.tensor([5e-324], dtype=rg.float64), rg.zeros(1, dtype=rg.float64)])
    assert np.isnan(gg[0].item()) and gg[1].item() == 0 and np.isnan(gg[2].item())
