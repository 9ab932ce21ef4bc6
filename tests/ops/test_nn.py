"""nn family: VJPs (first and second order) against central differences, and torch's conventions at special
points. No torch import: the pinned numbers were read off torch 2.13.0 (CPU, float64) and are written here."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad
import refgrad.nn.functional as F
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(1234)


def randn(*shape):
    return rng.standard_normal(shape)


def unit(*shape):  # probabilities away from 0 and 1
    return rng.random(shape) * 0.8 + 0.1


def positive(*shape):
    return rng.random(shape) + 0.5


def const(array, dtype=refgrad.float64):
    return refgrad.tensor(np.asarray(array), dtype=dtype)


TARGET = np.array([0, 2, 1, 2])
SIGNS = np.array([1.0, -1.0, 1.0, -1.0])
LONG = refgrad.int64
TARGET_2D = const(rng.integers(0, 3, (2, 2, 3)), LONG)
RUNNING_MEAN, RUNNING_VAR, BCE_WEIGHT = const(randn(3)), const(positive(3)), const(unit(3, 4))
POS_WEIGHT = const(positive(4) * 2)

# (id, fn over float64 tensors, input arrays, supports double backward)
CASES = [
    ("linear", lambda x, w, b: F.linear(x, w, b), (randn(3, 4), randn(5, 4), randn(5)), True),
    ("linear.3d_nobias", lambda x, w: F.linear(x, w), (randn(2, 3, 4), randn(5, 4)), True),
    ("bilinear", lambda a, b, w, c: F.bilinear(a, b, w, c), (randn(3, 2), randn(3, 4), randn(5, 2, 4), randn(5)),
     True),
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
     (randn(2, 4, 9), randn(6, 2, 3), randn(6)), True),
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=(1, 2)),
     (randn(2, 3, 5, 6), randn(4, 3, 3, 2), randn(4)), True),
    ("conv2d.strided", lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=(1, 0)),
     (randn(1, 2, 6, 5), randn(3, 2, 3, 3)), True),
    ("conv_transpose1d", lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
     (randn(2, 4, 5), randn(4, 3, 3), randn(6)), True),
    ("conv_transpose2d", lambda x, w: F.conv_transpose2d(x, w, stride=(2, 3), padding=(1, 0), dilation=(1, 2)),
     (randn(2, 3, 4, 3), randn(3, 2, 3, 2)), True),
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (randn(2, 3, 7, 6),), True),
    ("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, 1, dilation=1), (randn(2, 3, 9),), True),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (3, 4)), (randn(2, 3, 7, 6),), True),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     (randn(2, 3, 7, 6),), True),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, 1), (randn(2, 3, 9),), True),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (randn(2, 3, 7, 6),), True),
    ("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 4), (randn(2, 3, 7),), True),
    ("interpolate.nearest", lambda x: F.interpolate(x, scale_factor=1.7), (randn(1, 2, 5, 4),), True),
    ("interpolate.linear", lambda x: F.interpolate(x, size=8, mode="linear", align_corners=True), (randn(1, 2, 5),),
     True),
    ("interpolate.bilinear", lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"), (randn(1, 2, 5, 4),), True),
    ("pad.constant", lambda x: F.pad(x, (1, 2, -1, 3), value=2.5), (randn(2, 3, 5, 4),), True),
    ("pad.reflect", lambda x: F.pad(x, (1, 2, 0, 3), mode="reflect"), (randn(2, 3, 5, 4),), True),
    ("pad.replicate", lambda x: F.pad(x, (2, 1), mode="replicate"), (randn(2, 3, 5),), True),
    ("pad.circular", lambda x: F.pad(x, (1, 2, 2, 0), mode="circular"), (randn(2, 3, 5, 4),), True),
    ("interpolate.bilinear_one_dim_kept", lambda x: F.interpolate(x, size=(5, 7), mode="bilinear",
                                                                 align_corners=True), (randn(1, 2, 5, 4),), True),
    ("conv2d.same_even_kernel", lambda x, w: F.conv2d(x, w, padding="same"), (randn(1, 2, 4, 5), randn(3, 2, 2, 3)),
     True),
    # padding_idx rows get no gradient by convention (tested below), so the numeric check runs without it
    ("embedding", lambda w: F.embedding(const([[0, 2], [2, 3]], LONG), w), (randn(4, 3),), True),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), (randn(3, 4), randn(4), randn(4)), True),
    ("layer_norm.full_shape", lambda x, w, b: F.layer_norm(x, (2, 3), w, b), (randn(2, 3), randn(2, 3), randn(2, 3)),
     True),
    ("batch_norm.train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     (randn(4, 3, 2), randn(3), randn(3)), True),
    ("batch_norm.eval", lambda x, w, b: F.batch_norm(x, RUNNING_MEAN, RUNNING_VAR, w, b, training=False),
     (randn(4, 3, 2), randn(3), randn(3)), True),
    ("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), (randn(2, 4, 3), randn(4), randn(4)), True),
    ("instance_norm", lambda x: F.instance_norm(x), (randn(2, 3, 4),), True),
    ("normalize", lambda x: F.normalize(x, p=3.0, dim=1), (randn(3, 4),), True),
    ("cosine_similarity", lambda a, b: F.cosine_similarity(a, b), (randn(3, 4), randn(3, 4)), True),
    ("pairwise_distance", lambda a, b: F.pairwise_distance(a, b), (randn(3, 4), randn(3, 4)), True),
    ("pairwise_distance.p3_one_element", lambda a, b: F.pairwise_distance(a, b, p=3.0), (randn(3, 1), randn(3, 1)),
     True),
    ("cdist", lambda a, b: refgrad.cdist(a, b, p=3.0), (randn(2, 3, 4), randn(2, 2, 4)), False),
    ("pdist", lambda a: F.pdist(a, p=1.5), (randn(4, 3),), False),
    ("scaled_dot_product_attention", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
     (randn(2, 3, 4), randn(2, 3, 4), randn(2, 3, 5)), True),
    ("sdpa.float_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.3),
     (randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 2), randn(3, 5)), True),
    ("mse_loss", lambda x, y: F.mse_loss(x, y), (randn(3, 4), randn(3, 4)), True),
    ("l1_loss", lambda x, y: F.l1_loss(x, y, reduction="sum"), (randn(3, 4), randn(3, 4)), True),
    ("smooth_l1_loss", lambda x, y: F.smooth_l1_loss(x, y, beta=0.5, reduction="none"), (randn(3, 4), randn(3, 4)),
     True),
    ("huber_loss", lambda x, y: F.huber_loss(x, y, delta=0.5), (randn(3, 4), randn(3, 4)), True),
    ("binary_cross_entropy", lambda x, y: F.binary_cross_entropy(x, y, BCE_WEIGHT), (unit(3, 4), unit(3, 4)), True),
    ("binary_cross_entropy_with_logits", lambda x, y: F.binary_cross_entropy_with_logits(x, y),
     (randn(3, 4), unit(3, 4)), True),
    ("binary_cross_entropy_with_logits.pos_weight", lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, BCE_WEIGHT, pos_weight=POS_WEIGHT), (randn(3, 4), unit(3, 4)), True),
    ("nll_loss", lambda x: F.nll_loss(x, const(TARGET, LONG), weight=const([1.0, 2.0, 0.5]), ignore_index=1),
     (randn(4, 3),), True),
    ("nll_loss.2d", lambda x: F.nll_loss(x, TARGET_2D, reduction="none"),
     (randn(2, 3, 2, 3),), True),
    ("cross_entropy", lambda x: F.cross_entropy(x, const(TARGET, LONG), label_smoothing=0.2), (randn(4, 3),), True),
    ("cross_entropy.short_rows", lambda x: F.cross_entropy(x, const(np.arange(70) % 3, LONG), ignore_index=1),
     (randn(70, 3),), True),  # log_softmax's kernels along the transposed copy (scan._short_rows)
    ("cross_entropy.probs", lambda x, y: F.cross_entropy(x, y), (randn(4, 3), unit(4, 3)), True),
    ("kl_div", lambda x, y: F.kl_div(x, y, reduction="batchmean"), (randn(3, 4), unit(3, 4)), True),
    ("kl_div.log_target", lambda x, y: F.kl_div(x, y, log_target=True, reduction="sum"), (randn(3, 4), randn(3, 4)),
     True),
    ("soft_margin_loss", lambda x: F.soft_margin_loss(x, const(SIGNS)), (randn(4),), True),
    ("margin_ranking_loss", lambda a, b: F.margin_ranking_loss(a, b, const(SIGNS), margin=10.0), (randn(4), randn(4)),
     True),
    ("hinge_embedding_loss", lambda x: F.hinge_embedding_loss(x, const(SIGNS), margin=10.0), (randn(4),), True),
    ("cosine_embedding_loss", lambda a, b: F.cosine_embedding_loss(a, b, const(SIGNS), margin=-2.0),
     (randn(4, 3), randn(4, 3)), True),
    ("poisson_nll_loss", lambda x, y: F.poisson_nll_loss(x, y, full=True), (randn(5), positive(5) * 3), True),
    ("gaussian_nll_loss", lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True), (randn(5, 2), randn(5, 2),
                                                                                      positive(5)), True),
    ("multi_margin_loss", lambda x: F.multi_margin_loss(x, const(TARGET, LONG), p=2, margin=10.0,
                                                       weight=const([1.0, 2.0, 0.5])), (randn(4, 3),), False),
    ("triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=20.0),
     (randn(4, 3), randn(4, 3), randn(4, 3)), True),
]


@pytest.mark.parametrize("name,fn,arrays,gradgrad", CASES, ids=[c[0] for c in CASES])
def test_vjp_first_order(name, fn, arrays, gradgrad):
    check_vjp(fn, *arrays, order=1)


@pytest.mark.parametrize("name,fn,arrays,gradgrad", [c for c in CASES if c[3]], ids=[c[0] for c in CASES if c[3]])
def test_vjp_second_order(name, fn, arrays, gradgrad):
    check_vjp(fn, *arrays, order=2, rtol=1e-4, atol=1e-5)


# --- conventions at special points (numbers from torch 2.13.0, float64) -----------------------------------------

def _grad(fn, *arrays, create_graph=False):
    tensors = [refgrad.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    return tensors, out, refgrad.autograd.grad(out.sum(), tensors, create_graph=create_graph)


@pytest.mark.parametrize("loss", ["smooth_l1_loss", "huber_loss"])
def test_smooth_l1_and_huber_at_the_switch_point(loss):
    # torch 2.13: d/dx at |d| = beta is ±1 (both branches agree) and the second derivative there is 0 (mask |d| < beta)
    fn = (lambda x: F.smooth_l1_loss(x, refgrad.zeros(4, dtype=refgrad.float64), beta=1.0, reduction="sum")) \
        if loss == "smooth_l1_loss" else \
        (lambda x: F.huber_loss(x, refgrad.zeros(4, dtype=refgrad.float64), delta=1.0, reduction="sum"))
    (x,), _, (g,) = _grad(fn, [1.0, -1.0, 0.0, 2.0], create_graph=True)
    assert g.tolist() == [1.0, -1.0, 0.0, 1.0]
    (gg,) = refgrad.autograd.grad(g.sum(), [x])
    assert gg.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_l1_loss_at_zero_difference():
    # torch 2.13: F.l1_loss(zeros, zeros) -> gradient 0 (abs'(0) = sgn(0) = 0)
    _, _, (g,) = _grad(lambda x: F.l1_loss(x, refgrad.zeros(3, dtype=refgrad.float64)), [0.0, 0.0, 0.0])
    assert g.tolist() == [0.0, 0.0, 0.0]


def test_normalize_at_the_zero_vector():
    # torch 2.13: F.normalize(zeros(2, 3)) == 0 and its gradient is 1/eps = 1e12 everywhere (also in float32)
    _, out, (g,) = _grad(lambda x: F.normalize(x), np.zeros((2, 3)))
    assert out.tolist() == [[0.0] * 3] * 2
    assert g.tolist() == [[1e12] * 3] * 2
    x32 = refgrad.zeros(2, 3, requires_grad=True)
    (g32,) = refgrad.autograd.grad(F.normalize(x32).sum(), [x32])
    assert np.allclose(g32.numpy(), 1e12, rtol=1e-6)


def test_cosine_similarity_at_the_zero_vector():
    # torch 2.13: x1 = 0 row, x2 = [1, 2, 3]: value 0, grad_x1 = x2 / |x2| / eps = [26726124.1912, 53452248.3825,
    # 80178372.5737]; both zero -> all-zero gradients
    _, out, (g1, g2) = _grad(lambda a, b: F.cosine_similarity(a, b), np.zeros((2, 3)),
                             [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    assert out.tolist() == [0.0, 0.0]
    np.testing.assert_allclose(g1.numpy()[0], [26726124.1912, 53452248.3825, 80178372.5737], rtol=1e-11)
    assert g1.numpy()[1].tolist() == [0.0] * 3 and g2.numpy().tolist() == [[0.0] * 3] * 2


def test_max_pool_ties_go_to_the_first_maximum():
    # torch 2.13: max_pool2d over a constant 2x2 window sends the whole gradient to the first element; index 0
    x = refgrad.ones(1, 1, 2, 2, dtype=refgrad.float64, requires_grad=True)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    (g,) = refgrad.autograd.grad(out.sum(), [x])
    assert idx.tolist() == [[[[0]]]] and g.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]


def test_margin_ranking_gradient_flows_at_the_kink():
    # torch 2.13: clamp_min's gradient mask is x >= min, so at -y(x1-x2)+margin == 0 the gradient is -y / +y
    _, _, (g1, g2) = _grad(lambda a, b: F.margin_ranking_loss(a, b, const([1.0]), reduction="sum"), [1.0], [1.0])
    assert (g1.tolist(), g2.tolist()) == ([-1.0], [1.0])


def test_bce_clamps_the_log_at_minus_100():
    # torch 2.13: F.binary_cross_entropy(0, 1) = 100 and (1, 0) = 100 (log clamped at -100); grad_input
    # -1000000003995.8029 / +1000000003995.8029 (x(1-x) clamped at float32(1e-12)); grad_target uses the unclamped
    # logs: +inf / -inf
    _, out, (gx, gy) = _grad(lambda x, y: F.binary_cross_entropy(x, y, reduction="none"), [0.0, 1.0], [1.0, 0.0])
    assert out.tolist() == [100.0, 100.0]
    np.testing.assert_allclose(gx.numpy(), [-1000000003995.8029, 1000000003995.8029], rtol=1e-15)
    assert gy.tolist() == [np.inf, -np.inf]


def test_bce_double_backward_uses_torchs_formula():
    # torch 2.13 (scalar x, y, reduction mean): d2/dx2 at (0, 0) = 0, (0, 1) = 9.999999999979999e+23,
    # (0.5, 0.3) = 3.9999999999680007
    points = [((0.0, 0.0), 0.0), ((0.0, 1.0), 9.999999999979999e+23), ((0.5, 0.3), 3.9999999999680007)]
    for (xv, yv), expected in points:
        x = refgrad.tensor(xv, dtype=refgrad.float64, requires_grad=True)
        (g,) = refgrad.autograd.grad(F.binary_cross_entropy(x, const(yv)), [x], create_graph=True)
        (gg,) = refgrad.autograd.grad(g, [x])
        np.testing.assert_allclose(gg.item(), expected, rtol=1e-13)


def test_bce_double_backward_for_target_and_cotangent_near_zero():
    # torch 2.13 (float64, reduction none, cotangent 1): the input gradient's derivative w.r.t. the target clamps
    # x(1 - x) at a double 1e-12 and w.r.t. the cotangent divides by (x + 1e-12)(1 - x + 1e-12), so at
    # x = [1e-8, 1e-12, 0.3, 0, 1, 0], y = [0, 0, 0.1, 0.5, 0, 1]:
    x, y = _f64([1e-8, 1e-12, 0.3, 0.0, 1.0, 0.0]), _f64([0.0, 0.0, 0.1, 0.5, 0.0, 1.0])
    v = _f64([1.0] * 6)
    gx, _ = refgrad.autograd.grad(F.binary_cross_entropy(x, y, reduction="none"), [x, y], v, create_graph=True)
    _, d_y, d_v = refgrad.autograd.grad(gx, [x, y, v], refgrad.ones(6, dtype=refgrad.float64))
    np.testing.assert_allclose(d_y.numpy(), [-100000001.00000001, -1e12, -4.761904761904762, -1e12, -1e12, -1e12],
                               rtol=1e-15)
    np.testing.assert_allclose(d_v.numpy(), [0.9999000199970005, 0.5, 0.9523809523764173, -499999999999.5,
                                             999999999999.0, -999999999999.0], rtol=1e-15)


def test_nll_loss_mean_with_every_target_ignored():
    # torch 2.13: nll_loss(mean) with all targets ignored is nan, and the gradient is all zeros
    _, out, (g,) = _grad(lambda x: F.nll_loss(x, const([1, 1], LONG), ignore_index=1), randn(2, 3))
    assert np.isnan(out.item()) and g.tolist() == [[0.0] * 3] * 2


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_gradient_writes_only_the_counted_targets(reduction):
    # torch 2.13 (nll_loss of 3x4 float64, targets [0, 2, -100], weight [1, 0, 2, 3]): the gradient is zero but at
    # the counted targets, where it is -w * g (g / total weight for the mean): a NaN or -0.0 cotangent stays there
    x = refgrad.tensor(randn(3, 4), requires_grad=True)
    loss = F.nll_loss(x, const([0, 2, -100], LONG), weight=const([1.0, 0.0, 2.0, 3.0]), reduction=reduction)
    (g,) = refgrad.autograd.grad(loss, x, refgrad.full_like(loss, float("nan")), retain_graph=True)
    assert np.isnan(g.numpy()[[0, 1], [0, 2]]).all() and np.count_nonzero(g.numpy()) == 2
    (g,) = refgrad.autograd.grad(loss, x, refgrad.full_like(loss, 0.0), retain_graph=True)
    assert np.signbit(g.numpy()).tolist() == [[True, False, False, False], [False, False, True, False], [False] * 4]
    (g,) = refgrad.autograd.grad(loss, x, refgrad.full_like(loss, 3.0))
    expected = [-1.0, -2.0] if reduction == "mean" else [-3.0, -6.0]
    assert g.tolist() == [[expected[0], 0, 0, 0], [0, 0, expected[1], 0], [0, 0, 0, 0]]


@pytest.mark.parametrize("target", [[1, 1], [0, 1], [2, 0]])
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 1, 1)])
def test_nll_loss_double_backward_in_the_cotangent_is_the_loss_of_gg(target, shape):
    # torch 2.13: d<nll_backward(c), gg>/dc = nll_loss(gg), so a mean over no counted target is 0/0 = nan there
    # (found by `tox -e report`: refgrad gave 0); the gradient itself stays 0 at ignored targets
    x = refgrad.tensor(randn(*shape), requires_grad=True)
    target = const(target, LONG).reshape((2,) + shape[2:])
    c = refgrad.tensor(1.5, dtype=refgrad.float64, requires_grad=True)
    (g,) = refgrad.autograd.grad(F.nll_loss(x, target, ignore_index=1), x, c, create_graph=True)
    gg = refgrad.tensor(randn(*shape))
    (d_c,) = refgrad.autograd.grad((g * gg).sum(), c)
    expected = F.nll_loss(gg, target, ignore_index=1).item()
    assert np.isnan(expected) == (target.tolist() in ([1, 1], [[[1]], [[1]]]))
    np.testing.assert_allclose(d_c.item(), expected, rtol=1e-15)


def test_dropout_identities_and_statistics():
    x = refgrad.tensor(randn(4, 5), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x
    refgrad.manual_seed(0)
    y = F.dropout(refgrad.ones(200, 200, dtype=refgrad.float64), 0.25)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.01 and np.all(y.numpy()[kept] == 1 / 0.75)
    assert type(F.dropout(x, 0.3).grad_fn).__name__ == "MulBackward0"


def test_embedding_accumulates_duplicates_and_skips_padding():
    w = refgrad.tensor(randn(4, 2), requires_grad=True)
    (g,) = refgrad.autograd.grad(F.embedding(const([0, 0, 3, 1], LONG), w, padding_idx=3).sum(), [w])
    assert g.tolist() == [[2.0, 2.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]


def test_batch_norm_updates_running_stats_in_place_without_a_version_bump():
    # torch 2.13: running_mean/var change in place and their _version stays 0
    x = refgrad.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=refgrad.float64)
    mean, var = refgrad.zeros(2, dtype=refgrad.float64), refgrad.ones(2, dtype=refgrad.float64)
    F.batch_norm(x, mean, var, training=True, momentum=0.5)
    assert mean.tolist() == [1.0, 2.0] and var.tolist() == [1.5, 4.5]
    assert mean._version == 0 and var._version == 0


def test_non_differentiable_arguments_refuse_requires_grad():
    x = refgrad.tensor(unit(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        F.binary_cross_entropy(x, x.detach(), weight=refgrad.tensor(unit(3), requires_grad=True))
    with pytest.raises(RuntimeError, match="argument 'running_mean'"):
        F.batch_norm(x.reshape(3, 1), x.detach().mean(0, keepdim=True).requires_grad_(), None, training=True)


def test_multi_margin_loss_has_no_double_backward():
    # torch 2.13: RuntimeError "derivative for aten::multi_margin_loss_backward is not implemented"
    x = refgrad.tensor(randn(4, 3), requires_grad=True)
    (g,) = refgrad.autograd.grad(F.multi_margin_loss(x, const(TARGET, LONG)), [x], create_graph=True)
    with pytest.raises(RuntimeError, match="multi_margin_loss_backward is not implemented"):
        refgrad.autograd.grad(g.sum(), [x])


def test_cdist_and_pdist_at_equal_points_and_double_backward():
    # torch 2.13: the gradient at coinciding points is 0; the double backward raises
    # "the derivative for '_cdist_backward' is not implemented."
    a = refgrad.zeros(2, 3, dtype=refgrad.float64, requires_grad=True)
    assert refgrad.autograd.grad(refgrad.cdist(a, a).sum(), [a])[0].tolist() == [[0.0] * 3] * 2
    assert refgrad.autograd.grad(F.pdist(a).sum(), [a])[0].tolist() == [[0.0] * 3] * 2
    x = refgrad.tensor(randn(3, 2), requires_grad=True)
    (g,) = refgrad.autograd.grad(refgrad.cdist(x, x.detach() + 1).sum(), [x], create_graph=True)
    with pytest.raises(NotImplementedError, match="derivative for '_cdist_backward' is not implemented"):
        refgrad.autograd.grad(g.sum(), [x])


def test_one_hot():
    out = F.one_hot(const([0, 2], LONG))
    assert out.dtype is refgrad.int64 and out.tolist() == [[1, 0, 0], [0, 0, 1]]
    with pytest.raises(RuntimeError):
        F.one_hot(const([0, 3], LONG), 3)


@pytest.mark.parametrize("call,name", [
    (lambda x: F.linear(x, x), "MmBackward0"),
    (lambda x: F.conv2d(x.reshape(1, 1, 3, 3), x.reshape(1, 1, 3, 3)), "ConvolutionBackward0"),
    (lambda x: F.max_pool1d(x.reshape(1, 1, 9), 3), "SqueezeBackward1"),
    (lambda x: F.adaptive_avg_pool2d(x.reshape(1, 1, 3, 3), 1), "MeanBackward1"),
    (lambda x: F.pad(x, (1, 1), mode="circular"), "CopySlices"),
    (lambda x: F.l1_loss(x, x.detach(), reduction="none"), "AbsBackward0"),
    (lambda x: F.cross_entropy(x, x.detach().softmax(1), reduction="mean"), "DivBackward1"),
    (lambda x: F.layer_norm(x, (3,)), "NativeLayerNormBackward0"),
    (lambda x: F.group_norm(x.reshape(1, 3, 3), 3), "NativeGroupNormBackward0"),
    (lambda x: F.normalize(x), "DivBackward0"),
])
def test_node_names(call, name):
    x = refgrad.tensor(randn(3, 3), requires_grad=True)
    assert type(call(x).grad_fn).__name__ == name


# --- regressions from the conformance run (shrunk examples; expected values read off torch 2.13.0 CPU) ----------

NAN, INF = float("nan"), float("inf")


def _f64(data, requires_grad=True):
    return refgrad.tensor(data, dtype=refgrad.float64, requires_grad=requires_grad)


def _same(actual, expected):
    np.testing.assert_array_equal(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64))


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_pointwise_losses_raise_torchs_broadcast_error(loss):
    # torch: UserWarning about the target size, then RuntimeError (not ValueError) from broadcasting
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the "
                                                                      r"size of tensor b \(3\) at non-singleton "
                                                                      r"dimension 0"):
        getattr(F, loss)(_f64([0.0, 0.0]), _f64([0.0, 0.0, 0.0]))


def test_triplet_margin_loss_swap_splits_a_tie_like_torch_min():
    # torch: dist_neg = torch.min(dist_neg, dist_swap), whose gradient splits 0.5/0.5 at a tie
    a, p, n = _f64([[0.0]]), _f64([[0.0]]), _f64([[0.0]])
    F.triplet_margin_loss(a, p, n, swap=True).backward()
    assert a.grad.tolist() == [[0.5]] and p.grad.tolist() == [[-1.5]] and n.grad.tolist() == [[1.0]]


def test_pdist_and_cdist_at_nan_and_inf():
    # torch: p = 0 counts min(ceil(|d|), 1), so NaN propagates; p = inf: cdist's max skips NaN, pdist's does not;
    # the p = inf gradient's indicator 1 - min(1, ceil(| |d| - dist |)) is NaN at an infinite distance
    assert np.isnan(F.pdist(_f64([[NAN], [NAN]]), 0.0).item())
    assert refgrad.cdist(_f64([[NAN, 1.0]]), _f64([[0.0, 0.0]]), p=float("inf")).item() == 1.0
    assert np.isnan(F.pdist(_f64([[NAN, 1.0], [0.0, 0.0]]), float("inf")).item())
    x1, x2 = _f64([[0.0]]), _f64([[INF]])
    g1, g2 = refgrad.autograd.grad(refgrad.cdist(x1, x2, p=float("inf")), [x1, x2], _f64([[0.0]], False))
    assert np.isnan(g1.item()) and np.isnan(g2.item())


def test_max_pool_padding_never_wins_and_the_last_nan_does():
    # torch: a window of -inf picks its first real element (not the padding); among NaNs the last one wins
    x = _f64([[[-INF]]])
    out, idx = F.max_pool1d(x, 2, padding=1, return_indices=True)
    assert out.tolist() == [[[-INF]]] and idx.tolist() == [[[0]]]
    (g,) = refgrad.autograd.grad(out, [x], _f64([[[1.0]]], False))
    assert g.tolist() == [[[1.0]]]
    _, idx = F.max_pool1d(_f64([[[NAN, NAN, 1.0]]]), 3, return_indices=True)
    assert idx.tolist() == [[[1]]]


def test_norm_layers_do_not_save_the_bias():
    # torch saves the bias for layer_norm only: an in-place change to it after batch/group norm is not reported
    for call in (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                 lambda x, w, b: F.group_norm(x, 1, w, b)):
        x, w, b = _f64(randn(2, 3)), _f64(randn(3)), _f64(randn(3))
        out = call(x, w, b)
        with refgrad.no_grad():
            b.add_(1)
        out.sum().backward()
    x, w, b = _f64(randn(2, 3)), _f64(randn(3)), _f64(randn(3))
    out = F.layer_norm(x, (3,), w, b)
    with refgrad.no_grad():
        b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_instance_norm_copies_weight_and_bias():
    # torch: weight.repeat(N), so changing the weight in place after the call is not reported (also for N = 1)
    x, w = _f64(randn(1, 3, 2)), _f64(randn(3))
    out = F.instance_norm(x, weight=w)
    with refgrad.no_grad():
        w.add_(1)
    out.sum().backward()


def test_bilinear_saves_an_input_only_for_the_others_gradients():
    # torch's _trilinear saves i1 only when i2 or i3 requires grad
    x1, x2, w = _f64([[0.0]]), _f64([[0.0]], False), _f64([[[0.0]]], False)
    out = F.bilinear(x1, x2, w)
    with refgrad.no_grad():
        x1.add_(1)
    out.sum().backward()
    x2.requires_grad_()
    out = F.bilinear(x1, x2, w)
    with refgrad.no_grad():
        x1.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


@pytest.mark.parametrize("call", [
    lambda x, w: F.binary_cross_entropy_with_logits(x, x.detach(), w, pos_weight=w),
    lambda x, w: F.multi_margin_loss(x.reshape(1, 3), const([2], LONG), weight=w),
], ids=["bce_with_logits", "multi_margin_loss"])
def test_losses_save_their_weights(call):
    # torch saves weight (and pos_weight): an in-place change after the forward is reported at backward
    x, w = _f64([0.1, 0.2, 0.3]), _f64([1.0, 2.0, 3.0], False)
    out = call(x, w)
    w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        call(x, w.requires_grad_())


def test_cross_entropy_mean_with_zero_total_weight():
    # torch: the gradient is -w[t] * (g / total_weight): NaN for the kept targets when the weights are all 0
    x = _f64([[0.0, 0.0, 0.0]])
    F.cross_entropy(x, const([0], LONG), weight=_f64([0.0, 0.0, 0.0], False)).backward()
    assert np.isnan(x.grad.numpy()).all()
    x = _f64([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    F.nll_loss(x, const([0, 1], LONG), weight=_f64([0.0, 0.0, 1.0], False), ignore_index=1).backward()
    _same(x.grad, [[NAN, 0.0, 0.0], [0.0, 0.0, 0.0]])


def test_scaled_dot_product_attention_math_path():
    # torch's math path: a fully masked row gives 0 (_safe_softmax); query and key are scaled before the matmul,
    # so they are not saved (an in-place change to them is not reported)
    q, k, v = _f64([[[0.0]]]), _f64([[[0.0]]]), _f64([[[0.0]]])
    assert F.scaled_dot_product_attention(q, k, v, attn_mask=_f64([[-INF]], False)).tolist() == [[[0.0]]]
    q, k, v = _f64([[[1.0]]]), _f64([[[-INF]]]), _f64([[[0.0]]])
    gq, gk, gv = refgrad.autograd.grad(F.scaled_dot_product_attention(q, k, v), [q, k, v], _f64([[[0.0]]], False))
    assert np.isnan(gq.item()) and gk.item() == 0.0 and gv.item() == 0.0
    q, k, v = _f64([[[0.5]]]), _f64([[[0.5]]]), _f64([[[0.5]]])
    out = F.scaled_dot_product_attention(q, k, v)
    with refgrad.no_grad():
        q.add_(1)
        k.add_(1)
    out.sum().backward()


def test_loss_double_backward_special_points():
    # mse: target's gradient is its own product with g, so d/dg at d = inf with a 0 cotangent for self's is NaN
    x, y = _f64(0.0), _f64(INF)
    g = _f64(0.0)
    gx, gy = refgrad.autograd.grad(F.mse_loss(x, y), [x, y], g, create_graph=True)
    (gg,) = refgrad.autograd.grad([gx, gy], [g], [_f64(0.0, False), _f64(1.0, False)])
    assert np.isnan(gg.item())
    # bce: target's gradient is -logit(x) * g, whose x-derivative at x = -0.0 is -inf (torch's LogitBackward0)
    x, y = _f64(-0.0), _f64(0.0)
    g = _f64(1.0)
    gx, gy = refgrad.autograd.grad(F.binary_cross_entropy(x, y, _f64(1.0, False)), [x, y], g, create_graph=True)
    (gg,) = refgrad.autograd.grad([gx, gy], [x], [_f64(0.0, False), _f64(1.0, False)])
    assert gg.item() == -INF


def test_normalize_of_a_tiny_single_element_has_zero_second_derivative():
    # torch's vector norm of one element is |x| (no x * x underflow to a zero norm)
    x = _f64([[7.519347885153285e-259]])
    v = _f64([[0.0]])
    (g,) = refgrad.autograd.grad(F.normalize(x), [x], v, create_graph=True)
    assert refgrad.autograd.grad(g, [x], _f64([[0.0]], False))[0].tolist() == [[0.0]]


def test_nll_loss_saves_its_weight_and_flash_attention_its_output():
    # torch: NllLossBackward0 saves weight; ScaledDotProductFlashAttentionForCpuBackward0 saves the output
    x, w = _f64([[0.0, 0.0, 0.0]]), _f64([1.0, 2.0, 3.0], False)
    out = F.nll_loss(x, const([1], LONG), weight=w)
    w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()
    with pytest.raises(RuntimeError, match="'nll_loss_forward' is not differentiable with respect to argument"):
        F.cross_entropy(x, const([1], LONG), weight=w.requires_grad_())
    q = _f64(randn(1, 1, 2, 3))
    out = F.scaled_dot_product_attention(q, q, q)
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_nll_loss_ignored_targets_add_no_term():
    # torch 2.13: an ignored row adds nothing (not inf * 0 = NaN)
    x = const([[INF] * 3] * 2)
    assert F.nll_loss(x, const([0, 1], LONG), ignore_index=1).item() == -INF
    assert F.nll_loss(x, const([0, 1], LONG), ignore_index=1, reduction="none").tolist() == [-INF, 0.0]


# --- torch 2.13 behaviours at infinities, NaN and empty outputs (numbers read off torch 2.13.0, CPU) ------------

def test_batch_norm_infinite_weight_gives_the_infinite_limit_of_the_input_gradient():
    # the per-channel weight multiplies last: x = [[1], [0]] (and a constant x), weight inf, cotangent [[1], [0]]
    # -> torch [[inf], [-inf]] (not 0 * inf = NaN where the cotangent is 0)
    for data in ([[1.0], [0.0]], [[0.0], [0.0]]):
        x, w = _f64(data), _f64([INF])
        out = F.batch_norm(x, None, None, w, _f64([0.0]), training=True)
        (gx,) = refgrad.autograd.grad(out, [x], _f64([[1.0], [0.0]], False))
        _same(gx, [[INF], [-INF]])


def test_batch_norm_infinite_weight_times_an_exactly_zero_projection_is_nan():
    # torch 2.13: x = [[[1, 0]], [[0, 0]]], weight inf, cotangent ones: the projected cotangent is exactly 0
    # (sum(g (x - mean)) = 0.75 - 3 * 0.25), so every input gradient is 0 * inf = NaN, not +-inf from rounding
    x = _f64([[[1.0, 0.0]], [[0.0, 0.0]]])
    out = F.batch_norm(x, None, None, _f64([INF]), _f64([0.0]), training=True)
    (gx,) = refgrad.autograd.grad(out, [x], refgrad.ones_like(out))
    _same(gx, np.full((2, 1, 2), NAN))


def test_batch_norm_infinite_weight_double_backward_multiplies_the_weight_last():
    # torch 2.13 (float64): x = [[1], [0]], weight inf, cotangent v = [[1], [0]], second cotangent [[1], [2]] ->
    # d/dx [inf, -inf], d/dweight -3.999760012007546e-05, d/dv [-inf, inf]; the input gradient is one
    # NativeBatchNormBackwardBackward0 node, as in torch
    x, w, b, v = _f64([[1.0], [0.0]]), _f64([INF]), _f64([0.0]), _f64([[1.0], [0.0]])
    gx, gw, gb = refgrad.autograd.grad(F.batch_norm(x, None, None, w, b, training=True), [x, w, b], v,
                                       create_graph=True)
    assert type(gx.grad_fn).__name__ == "NativeBatchNormBackwardBackward0"
    ggx, ggw, ggv = refgrad.autograd.grad(gx, [x, w, v], _f64([[1.0], [2.0]], False))
    _same(ggx, [[INF], [-INF]])
    _same(ggv, [[-INF], [INF]])
    np.testing.assert_allclose(ggw.numpy(), [-3.999760012007546e-05], rtol=1e-12)


def test_bce_with_logits_pos_weight_target_gradient_at_infinite_logits():
    # torch 2.13, reduction sum, weight [0, 1, 1, 1]: d/dtarget = log sigmoid(-x) - pw log sigmoid(x), so x = -inf
    # gives +inf (the limit of -x) for any pos_weight, not inf + 0 * inf = NaN
    x, y = _f64([0.0, -INF, INF, 3.0]), _f64([0.0, 0.0, 0.3, 0.5])
    for pw, expected in ((1.0, [0.0, INF, -INF, -3.0]), (2.0, [0.0, INF, -INF, -2.951412648426258])):
        loss = F.binary_cross_entropy_with_logits(x, y, _f64([0.0, 1.0, 1.0, 1.0], False),
                                                  pos_weight=_f64([pw] * 4, False), reduction="sum")
        gx, gy = refgrad.autograd.grad(loss, [x, y])
        np.testing.assert_allclose(gy.numpy(), expected, rtol=1e-14)
        np.testing.assert_allclose(gx.numpy(), [0.0, 0.0, 0.7, 0.45257412682243336 if pw == 1 else
                                                0.4288611902336501], rtol=1e-14)


def test_bilinear_contracts_input1_with_the_weight_first():
    # torch 2.13: x1 = [[0, 1]], x2 = [[inf]], W = ones(1, 2, 1): (x1 W) x2 = 1 * inf = inf, not 0 * inf + inf = NaN
    out = F.bilinear(_f64([[0.0, 1.0]]), _f64([[INF]]), _f64([[[1.0], [1.0]]]), _f64([0.0]))
    _same(out, [[INF]])
    assert type(out.grad_fn).__name__ == "AddBackward0"
    assert type(out.grad_fn.next_functions[0][0].next_functions[0][0]).__name__ == "TrilinearBackward0"


def test_bilinear_gradients_contract_in_torchs_order():
    # torch 2.13 (float64): input1's gradient is (g x input2) . W, input2's (input1 . W) . g, recursively for the
    # second order, which decides between inf and NaN where zeros meet infinities
    x1, x2, w = _f64([[0.0, 1.0]]), _f64([[INF, 0.0]]), _f64([[[1.0, 2.0], [1.0, 0.0]]])
    g1, g2, gw = refgrad.autograd.grad(F.bilinear(x1, x2, w), [x1, x2, w], _f64([[1.0]], False))
    _same(g1, [[INF, INF]])
    _same(g2, [[1.0, 0.0]])
    _same(gw, [[[NAN, 0.0], [INF, 0.0]]])
    # x1 = 0, x2 = inf, W = [1, 1], cotangent v = 0: d/dv <[0, 1], d/dx1> = (0 * 1 + 1 * 1) * inf = inf (torch)
    x1, x2, b, v = _f64([[0.0, 0.0]]), _f64([[INF]]), _f64([0.0]), _f64([[0.0]])
    g = refgrad.autograd.grad(F.bilinear(x1, x2, _f64([[[1.0], [1.0]]], False), b), [x1, x2, b], v,
                              create_graph=True)
    _same(g[0], [[NAN, NAN]])
    assert type(g[0].grad_fn).__name__ == "ViewBackward0"
    (gv,) = refgrad.autograd.grad(g, [v], [_f64([[0.0, 1.0]], False), _f64([[0.0]], False), _f64([0.0], False)])
    _same(gv, [[INF]])


def test_bilinear_gradients_multiply_in_torchs_order_where_products_underflow():
    # torch 2.13 (float64, one element each): input1's gradient is (g * W) * x2, so an underflowing g * x2 does not
    # meet an infinite weight (default seed 2731: torch -inf, refgrad was NaN), and g * W = 0 meets an infinite x2
    for g, x2, w, expected in ((5e-324, 1e-30, INF, INF), (1e-200, INF, 1e-200, NAN), (INF, 1e-200, 1e-200, INF)):
        x1 = _f64([[1.0]])
        (g1,) = refgrad.autograd.grad(F.bilinear(x1, _f64([[x2]], False), _f64([[[w]]], False)), [x1],
                                      _f64([[g]], False))
        _same(g1, [[expected]])
    # the output features' sum comes last: g = [1, -1], W = [1e200, 1e200], x2 = 1e200 is inf - inf = NaN per
    # feature, as torch (summing the features first would give 0 * 1e200 = 0)
    x1 = _f64([[1.0]])
    (g1,) = refgrad.autograd.grad(F.bilinear(x1, _f64([[1e200]], False), _f64([[[1e200]], [[1e200]]], False)), [x1],
                                  _f64([[1.0, -1.0]], False))
    _same(g1, [[NAN]])


def test_conv_same_padding_with_an_odd_total_pads_a_copy_first():
    # torch 2.13: padding='same' with kernel (1, 2) pads one column on the right with a ConstantPadNd node and
    # warns; the convolution saves that copy, so an in-place change of the input afterwards is not reported
    x, w = _f64(np.arange(12.0).reshape(1, 1, 3, 4)), _f64([[[[1.0, 10.0]]]])
    with pytest.warns(UserWarning, match="zero-padded copy of the input"):
        out = F.conv2d(x, w, padding="same")
    assert type(out.grad_fn.next_functions[0][0]).__name__ == "ConstantPadNdBackward0"
    _same(out, [[[[10.0, 21.0, 32.0, 3.0], [54.0, 65.0, 76.0, 7.0], [98.0, 109.0, 120.0, 11.0]]]])
    with refgrad.no_grad():
        x.mul_(2)
    gx, gw = refgrad.autograd.grad(out.sum(), [x, w])
    _same(gx, [[[[1.0, 11.0, 11.0, 11.0]] * 3]])
    _same(gw, [[[[66.0, 54.0]]]])
    # an even total needs no copy: the convolution takes the input itself
    out = F.conv2d(x, _f64(np.ones((1, 1, 3, 3))), padding="same")
    assert type(out.grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"


def test_constant_pad_to_an_empty_output():
    # torch 2.13: cropping a dim to size 0 gives an empty (1, 2, 0, 3) output and a zero gradient
    x = _f64(np.ones((1, 2, 2, 3)))
    for pad, shape in (((0, 0, -1, -1), (1, 2, 0, 3)), ((-1, -2, 0, 0), (1, 2, 2, 0)), ((1, 1, -1, -1), (1, 2, 0, 5))):
        out = F.pad(x, pad, value=1.5)
        assert tuple(out.shape) == shape and type(out.grad_fn).__name__ == "ConstantPadNdBackward0"
        (g,) = refgrad.autograd.grad(out, [x], refgrad.ones(shape, dtype=refgrad.float64))
        _same(g, np.zeros((1, 2, 2, 3)))


def test_interpolate_pairs_each_element_with_itself_in_a_dim_kept_at_its_size():
    # torch 2.13: a dim whose output size equals its input size (whatever the scale) interpolates each element
    # with itself, weights (1, 0): a NaN does not leak into a neighbour, but x = inf gives inf + 0 * inf = NaN
    x = _f64([[[[0.0, 1.0], [NAN, 2.0]]]])
    _same(F.interpolate(x, size=(2, 3), mode="bilinear", align_corners=True), [[[[0.0, 0.5, 1.0], [NAN, NAN, 2.0]]]])
    _same(F.interpolate(x, size=(2, 2), mode="bilinear"), [[[[0.0, 1.0], [NAN, 2.0]]]])
    _same(F.interpolate(_f64([[[0.0, 3.0, 1.0, 2.0]]]), scale_factor=1.2, mode="linear"), [[[0.0, 3.0, 1.0, 2.0]]])
    _same(F.interpolate(_f64([[[1.0, INF, 2.0]]]), size=3, mode="linear"), [[[1.0, NAN, 2.0]]])
    _same(F.interpolate(_f64([[[INF]]]), size=1, mode="linear", align_corners=True), [[[NAN]]])
    # the source position is factor * (i + 0.5) - 0.5 rounded once (torch's fused multiply-add): float32 [inf]
    # resized to 3 gives [NaN, inf, inf] (middle weight 1.5e-8 on the clamped neighbour, not 0 * inf)
    _same(F.interpolate(refgrad.tensor([[[INF]]]), size=3, mode="linear"), [[[NAN, INF, INF]]])
    # float64 too: 1 -> 5 elements puts the middle source at fma(0.2, 2.5, -0.5) = 2.8e-17, not 0.5 - 0.5 = 0
    # (default seed 2802, trilinear at an infinite input: torch [NaN, NaN, inf, inf, inf])
    _same(F.interpolate(_f64([[[INF]]]), size=5, mode="linear"), [[[NAN, NAN, INF, INF, INF]]])
    # a resized dim still mixes its neighbours: 1 * 0 + 0 * NaN is NaN, as in torch
    _same(F.interpolate(_f64([[[0.0, NAN]]]), size=3, mode="linear", align_corners=True), [[[NAN, NAN, NAN]]])


def test_flash_attention_never_computes_the_causally_masked_scores():
    # torch 2.13 (4-D inputs, the fused CPU kernel), one query q = 1, v = [1, 2], cotangent 1:
    # k = [1, NaN] causal -> out 1, dk [0, 0], dv [1, 0] (dq NaN: the masked key still enters dS @ K)
    # k = [NaN, 1] causal -> out 0 (a row of NaN and masked scores counts as fully masked), dk [NaN, 0], dv [NaN, 0]
    # k = [NaN], no mask -> out 0
    def run(keys, causal):
        q = _f64(np.ones((1, 1, 1, 1)))
        k = _f64(np.array(keys).reshape(1, 1, -1, 1))
        v = _f64(np.arange(1.0, len(keys) + 1).reshape(1, 1, -1, 1))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        grads = refgrad.autograd.grad(out, [q, k, v], refgrad.ones_like(out))
        return [out.detach().numpy().ravel()] + [g.numpy().ravel() for g in grads]

    for got, expected in zip(run([1.0, NAN], True), ([1.0], [NAN], [0.0, 0.0], [1.0, 0.0])):
        _same(got, expected)
    for got, expected in zip(run([NAN, 1.0], True), ([0.0], [NAN], [NAN, 0.0], [NAN, 0.0])):
        _same(got, expected)
    for got, expected in zip(run([NAN], False), ([0.0], [NAN], [NAN], [NAN])):
        _same(got, expected)
    # without a NaN both paths agree with the math path
    for got, expected in zip(run([1.0, 2.0], True), ([1.0], [0.0], [0.0, 0.0], [1.0, 0.0])):
        _same(got, expected)


def test_flash_attention_backward_follows_torchs_fused_kernel():
    # torch 2.13, 4-D inputs with one head size, one query; (out, dq, dk, dv):
    def run(q, k, v, g, mask=None, causal=False):
        ts = [_f64(np.array(a).reshape(1, 1, -1, 1)) for a in (q, k, v)]
        out = F.scaled_dot_product_attention(*ts, attn_mask=None if mask is None else _f64([mask], False),
                                             is_causal=causal)
        grads = refgrad.autograd.grad(out, ts, _f64(np.array(g).reshape(1, 1, 1, 1), False))
        return [out.detach().numpy().ravel()] + [t.numpy().ravel() for t in grads]

    # scores [NaN, -inf] without a mask: the forward sees a fully masked row (out 0, log-sum-exp +inf), so the
    # backward's probabilities are [NaN, 0]
    for got, expected in zip(run([1.0], [NAN, -INF], [1.0, 2.0], [1.0]), ([0.0], [NAN], [NAN, 0.0], [NAN, 0.0])):
        _same(got, expected)
    # a causally masked score still gets dS = 0 * (dP - D), NaN when v is NaN
    for got, expected in zip(run([0.0], [0.0, 0.0], [NAN, NAN], [0.0], causal=True),
                             ([NAN], [NAN], [NAN, NAN], [0.0, 0.0])):
        _same(got, expected)
    # with an attn_mask a NaN score is not skipped: [0 + NaN] and [NaN - inf] give NaN everywhere
    for mask, k in (([NAN], [0.0]), ([-INF], [NAN])):
        for got in run([1.0], k, [1.0], [1.0], mask=mask):
            _same(got, [NAN])



def test_flash_attention_backward_is_exact_where_a_probability_is_one():
    # float32, 2 heads, 4 keys (default seed 2732, multi_head_attention_forward): query 1's scores are ~70 apart,
    # so its probability of key 1 is 1 and out = v[1]; dP - D must then be exactly 0 (torch's dq: 1.96e-22), not
    # the ulp of |dP| = 899 by which float32 sgemm and a row sum differ (refgrad was 6.9e-4)
    q = [[[-4.9622107, -4.9622107], [-3.8795457, -3.8795457]], [[-6.5712924, -2.8788342], [-5.4886274, -1.7961693]]]
    k = [[[0.3330202, -3.1946015], [-12.488528, -16.01615], [-1.8784169, -5.4060383], [-0.5, -0.67824835]],
         [[0.3330202, -2.1946015], [-12.488528, -15.0161495], [-1.8784169, -4.4060383], [-2.5960045, -0.5]]]
    v = [[[0.0, 0.010328], [8.673605, 8.683933], [4.0, 4.010328], [0.0, -2.0]],
         [[1.0, 1.0], [9.673605, 9.673605], [5.0, 5.0], [-0.078317955, -0.6815888]]]
    g = [[[10.209593, 29.130949], [-60.523846, -43.037273]], [[61.66632, -22.114943], [-12.969018, -37.13836]]]
    ts = [refgrad.tensor([a], requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ts, attn_mask=refgrad.tensor([[[[0.0, -INF, -INF, 0.0],
                                                                          [0.0, 0.0, -INF, 0.0]]]]))
    (dq,) = refgrad.autograd.grad(out, ts[:1], refgrad.tensor([g]))
    assert np.abs(dq.numpy()[0, :, 1]).max() < 1e-21


def test_flash_attention_backward_is_exact_where_every_value_row_is_alike():
    # float32, grouped keys (default seed 2804, sdpa.gqa): both value rows are -5.4712396, so dP - D is 0 in exact
    # arithmetic (float64: dk 2.5e-13); float32 rounding of the output (an ulp off v) made refgrad's dk 1.4e-4
    # (torch 0, or an ulp-sized error of its own for most such inputs)
    q = np.full((2, 3, 3, 3), 2.551492929458618)
    q[0, 1, 1, 0] = q[0, 1, 2, 2] = q[0, 2, 2, 0] = q[1, 1, 2, 0] = q[1, 2, 0, 0] = 0.0
    k = np.zeros((2, 1, 2, 3))
    k[0, 0, 0, :2] = (-4.961142539978027, -3.142817497253418)
    ts = [refgrad.tensor(a, dtype=refgrad.float32, requires_grad=True)
          for a in (q, k, np.full((2, 1, 2, 3), -5.4712395668029785))]
    out = F.scaled_dot_product_attention(*ts, scale=0.5, enable_gqa=True)
    dq, dk, _ = refgrad.autograd.grad(out, ts, refgrad.full(out.shape, 10.0))
    assert np.abs(dk.numpy()).max() < 1e-12 and np.abs(dq.numpy()).max() < 1e-12

def test_the_fused_attentions_create_graph_gradient_is_a_not_implemented_node():
    # torch 2.13 (4-D inputs, grouped or not): the fused CPU backward has no derivative, so under create_graph each
    # gradient's node is a NotImplemented node, and a second backward through it raises
    torch = pytest.importorskip("torch")
    arrays = [np.random.default_rng(3).standard_normal(shape) for shape in ((1, 4, 3, 5), (1, 2, 3, 5), (1, 2, 3, 5))]
    outcomes = []
    for t in (torch, refgrad):
        ts = [t.tensor(a, requires_grad=True) for a in arrays]
        out = t.nn.functional.scaled_dot_product_attention(*ts, enable_gqa=True)
        grads = t.autograd.grad(out.sum(), ts, create_graph=True)
        with pytest.raises(RuntimeError) as raised:
            t.autograd.grad(grads[0].sum(), ts)
        outcomes.append(([type(g.grad_fn).__name__ for g in grads], str(raised.value)))
    assert outcomes[0] == outcomes[1]


def test_pairwise_distance_of_one_element_is_its_absolute_value():
    # torch 2.13: the p-norm of one element is |x| exactly, so float32 x1 = x2 = 0 (diff = eps = 1e-6), p = 3 has
    # first derivatives +-1 and second derivatives exactly 0 (a rounded (|d|^3)^(1/3) leaves 2.625 there)
    x1, x2 = refgrad.zeros(1, requires_grad=True), refgrad.zeros(1, requires_grad=True)
    out = F.pairwise_distance(x1, x2, p=3.0)
    assert out.item() == np.float32(1e-6)
    g = refgrad.autograd.grad(out, [x1, x2], refgrad.tensor(1.0, requires_grad=True), create_graph=True)
    assert [t.item() for t in g] == [1.0, -1.0]
    gg = refgrad.autograd.grad(g, [x1, x2], [refgrad.zeros(1), refgrad.ones(1)])
    assert [t.item() for t in gg] == [0.0, 0.0]


def test_the_losses_xlogy_differentiates_x_at_zero():
    # the losses use refgrad's public xlogy: d/dx x log y = log y also at x = 0 (torch 2.13: log 2, log 3 at
    # x = 0, y = [2, 3]; 0 only where y <= 0). A private copy of xlogy returned 0 there.
    from refgrad.ops import losses
    x, y = _f64([0.0, 0.0, 0.0]), _f64([2.0, 3.0, 0.0])
    gx, gy = refgrad.autograd.grad(losses.xlogy(x, y).sum(), [x, y])
    np.testing.assert_allclose(gx.numpy(), [np.log(2.0), np.log(3.0), 0.0], rtol=1e-15)
    check_vjp(losses.xlogy, np.zeros(3), np.array([2.0, 3.0, 0.5]))
    check_vjp(losses.xlogy, np.zeros(3), np.array([2.0, 3.0, 0.5]), order=2, rtol=1e-4, atol=1e-5)


def test_norm_layers_keep_float32_second_derivatives_of_constant_groups_accurate():
    # a constant group has var = 0 and rstd = 1/sqrt(eps) = 316, which amplifies float32 rounding of the
    # recomputed statistics: torch 2.13 (float32 and float64) gives second derivatives 0 here and first
    # derivatives [52.70463, -895.97864, 685.16016, -263.52313, 52.70463, 368.9324]; float32 statistics gave -25.1
    # to 37.7 instead of 0
    v = np.array([[[[1.0, -2.0, 3.0], [0.0, 1.0, 2.0]]]])
    u = np.array([[[[2.0, 0.0, -1.0], [1.0, 1.0, -3.0]]]])
    x = refgrad.full((1, 1, 2, 3), -7.514334678649902, requires_grad=True)
    (gx,) = refgrad.autograd.grad(F.instance_norm(x), [x], refgrad.tensor(v, dtype=refgrad.float32,
                                                                         requires_grad=True), create_graph=True)
    assert gx.dtype is refgrad.float32
    np.testing.assert_allclose(gx.detach().numpy().ravel(), [52.70463, -895.97864, 685.16016, -263.52313, 52.70463,
                                                             368.9324], rtol=1e-6)
    (gg,) = refgrad.autograd.grad(gx, [x], refgrad.tensor(u, dtype=refgrad.float32))
    assert gg.dtype is refgrad.float32 and np.abs(gg.numpy()).max() < 1e-3


def test_mse_loss_mean_gradient_scales_before_the_cotangent():
    # torch's mse backward is (d * 2/n) * grad: a subnormal float32 cotangent does not underflow to 0 before it
    # meets an infinite difference (seed 1005 of the default campaign: torch -inf/inf, refgrad was NaN)
    x = refgrad.tensor([[0.0, 1.0]], requires_grad=True)
    y = refgrad.tensor([[0.5, float("inf")]], requires_grad=True)
    gx, gy = refgrad.autograd.grad(F.mse_loss(x, y), [x, y], refgrad.tensor(1.401298464324817e-45))
    assert gx.tolist() == [[0.0, -float("inf")]] and gy.tolist() == [[0.0, float("inf")]]
