"""Every loss module against torch (float64): value, input gradient, repr and state_dict (class weights are
buffers), for each reduction."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)
LOGITS = RNG.standard_normal((4, 3))
CLASSES = np.array([0, 2, 1, 2])
PROBS = 1 / (1 + np.exp(-RNG.standard_normal((4, 3))))
BINARY = RNG.integers(0, 2, (4, 3)).astype(float)
SIGNS = np.array([1.0, -1.0, 1.0, -1.0])
WEIGHT = "t.tensor([0.2, 1.0, 3.0], dtype=t.float64)"

# (loss expression over t and nn, input arrays; the first is the differentiated prediction)
CASES = {
    "mse": ("nn.MSELoss(reduction='{r}')", [LOGITS, PROBS]),
    "l1": ("nn.L1Loss(reduction='{r}')", [LOGITS, PROBS]),
    "cross_entropy": (f"nn.CrossEntropyLoss(weight={WEIGHT}, ignore_index=1, reduction='{{r}}')", [LOGITS, CLASSES]),
    "cross_entropy_smoothing": ("nn.CrossEntropyLoss(label_smoothing=0.2, reduction='{r}')", [LOGITS, CLASSES]),
    "cross_entropy_probabilities": ("nn.CrossEntropyLoss(reduction='{r}')",
                                    [LOGITS, PROBS / PROBS.sum(1, keepdims=True)]),
    "nll": (f"nn.NLLLoss(weight={WEIGHT}, reduction='{{r}}')", [np.log(PROBS), CLASSES]),
    "bce": (f"nn.BCELoss(weight={WEIGHT}, reduction='{{r}}')", [PROBS, BINARY]),
    "bce_logits": (f"nn.BCEWithLogitsLoss(pos_weight={WEIGHT}, reduction='{{r}}')", [LOGITS, BINARY]),
    "huber": ("nn.HuberLoss(reduction='{r}', delta=0.5)", [LOGITS, PROBS]),
    "smooth_l1": ("nn.SmoothL1Loss(reduction='{r}', beta=0.3)", [LOGITS, PROBS]),
    "kl_div": ("nn.KLDivLoss(reduction='{r}')", [np.log(PROBS), PROBS]),
    "kl_div_log_target": ("nn.KLDivLoss(reduction='{r}', log_target=True)", [np.log(PROBS), LOGITS]),
    "kl_div_batchmean": ("nn.KLDivLoss(reduction='batchmean')", [np.log(PROBS), PROBS]),
    "poisson_nll": ("nn.PoissonNLLLoss(full=True, reduction='{r}')", [LOGITS, PROBS * 3]),
    "gaussian_nll": ("nn.GaussianNLLLoss(reduction='{r}')", [LOGITS, PROBS, PROBS + 0.5]),
    "soft_margin": ("nn.SoftMarginLoss(reduction='{r}')", [LOGITS, np.sign(LOGITS[::-1]).copy()]),
    "hinge_embedding": ("nn.HingeEmbeddingLoss(margin=0.5, reduction='{r}')", [LOGITS, np.sign(LOGITS[::-1]).copy()]),
    "multi_margin": (f"nn.MultiMarginLoss(p=2, margin=0.5, weight={WEIGHT}, reduction='{{r}}')", [LOGITS, CLASSES]),
    "margin_ranking": ("nn.MarginRankingLoss(margin=0.1, reduction='{r}')", [LOGITS[:, 0], LOGITS[:, 1], SIGNS]),
    "cosine_embedding": ("nn.CosineEmbeddingLoss(margin=0.2, reduction='{r}')", [LOGITS, PROBS, SIGNS]),
    "triplet_margin": ("nn.TripletMarginLoss(margin=0.5, p=1.5, swap=True, reduction='{r}')", [LOGITS, PROBS, BINARY]),
}


def _run(t, expr, arrays):
    loss = eval(expr, {"nn": t.nn, "t": t})
    inputs = [t.tensor(a, requires_grad=i == 0) for i, a in enumerate(arrays)]
    value = loss(*inputs)
    value.sum().backward()
    return value.detach().numpy(), inputs[0].grad.numpy(), repr(loss), list(loss.state_dict())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_matches_torch(case, reduction):
    expr, arrays = CASES[case]
    expr = expr.format(r=reduction)
    value, grad, text, keys = _run(refgrad, expr, arrays)
    ref_value, ref_grad, ref_text, ref_keys = _run(torch, expr, arrays)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-14)
    assert (text, keys) == (ref_text, ref_keys)


def test_legacy_size_average_and_reduce_map_to_reduction():
    for t in (torch, refgrad):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            assert t.nn.MSELoss(size_average=False).reduction == "sum"
        with pytest.warns(UserWarning):
            assert t.nn.L1Loss(reduce=False).reduction == "none"


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_nll_loss_of_zero_log_probabilities_is_positive_zero(reduction):
    """torch accumulates 0 - x: an unweighted nll_loss over picked zeros is +0, not -0."""
    values = []
    for t in (refgrad, torch):
        loss = t.nn.functional.nll_loss(t.zeros((3, 4), dtype=t.float64), t.tensor([0, 3, 1]), reduction=reduction)
        values.append(np.copysign(1.0, float(loss)))
    assert values == [1.0, 1.0]
