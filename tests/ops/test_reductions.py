"""Reductions, extrema, order statistics and scans: VJPs against central differences (first and second order),
and torch 2.13's conventions at ties, zeros, NaN and degenerate sizes pinned with the numbers torch gives.
No torch import: these run without torch."""
import warnings

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_vjp

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
POS = RNG.uniform(0.5, 2.0, (3, 4))

SMOOTH = {
    "sum.dim": (lambda x: x.sum((0, 1), keepdim=True), A),
    "nansum": (lambda x: refgrad.nansum(x, 1), A),
    "mean.dim": (lambda x: x.mean(-1), A),
    "nanmean": (lambda x: x.nanmean(0, keepdim=True), A),
    "prod": (lambda x: x.prod(), POS),
    "prod.dim": (lambda x: x.prod(1), A),
    "var": (lambda x: x.var(1), A),
    "var.correction": (lambda x: x.var(correction=0), A),
    "std": (lambda x: x.std(0, keepdim=True), A),
    "std_mean": (lambda x: refgrad.std_mean(x, 1), A),
    "var_mean": (lambda x: refgrad.var_mean(x), A),
    "logsumexp": (lambda x: x.logsumexp(1), A),
    "norm2": (lambda x: x.norm(), A),
    "norm1": (lambda x: x.norm(1, dim=1), A),
    "norm3": (lambda x: x.norm(3), A),
    "norm.5": (lambda x: x.norm(0.5), POS),
    "norminf": (lambda x: x.norm(float("inf"), dim=0), A),
    "amax": (lambda x: x.amax(1), A),
    "amin": (lambda x: x.amin((0, 1)), A),
    "max": (lambda x: x.max(), A),
    "max.dim": (lambda x: x.max(1).values, A),
    "min.dim": (lambda x: x.min(0, keepdim=True)[0], A),
    "aminmax": (lambda x: refgrad.aminmax(x, dim=1), A),
    "median": (lambda x: x.median(), A),
    "median.dim": (lambda x: x.median(1).values, A),
    "nanmedian.dim": (lambda x: x.nanmedian(0)[0], A),
    "kthvalue": (lambda x: x.kthvalue(2, 1)[0], A),
    "mode": (lambda x: x.mode(0)[0], A),
    "cumsum": (lambda x: x.cumsum(1), A),
    "cumprod": (lambda x: x.cumprod(1), A),
    "cummax": (lambda x: x.cummax(1)[0], A),
    "cummin": (lambda x: x.cummin(0)[0], A),
    "logcumsumexp": (lambda x: x.logcumsumexp(1), A),
    "softmax": (lambda x: x.softmax(1), A),
    "log_softmax": (lambda x: refgrad.log_softmax(x, 0), A),
    "log_softmax.short_rows": (lambda x: refgrad.log_softmax(x, 1), RNG.standard_normal((70, 5))),  # _short_rows
    "F.softmax": (lambda x: refgrad.nn.functional.softmax(x, dim=-1), A),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_vjp(name, order):
    fn, point = SMOOTH[name]
    check_vjp(fn, point, order=order)


def _grad(fn, values, cotangent=None):
    x = refgrad.tensor(values, dtype=refgrad.float64, requires_grad=True)
    out = fn(x)
    out = out[0] if isinstance(out, tuple) else out
    out.backward(refgrad.ones_like(out) if cotangent is None else refgrad.tensor(cotangent, dtype=refgrad.float64))
    return x.grad.numpy()


nan, inf = float("nan"), float("inf")


# Each row: torch 2.13.0 CPU gave exactly these gradients (probed with torch.tensor(..., float64), backward of ones;
# the same probe runs against torch in /tmp during development, numbers copied here).
CONVENTIONS = [
    ("amax tie split evenly", lambda x: x.amax(), [1.0, 3, 3], [0, 0.5, 0.5]),
    ("amax NaN slice: g/0*0", lambda x: x.amax(), [1.0, nan, 3], [nan, nan, nan]),
    ("full max tie split evenly", lambda x: x.max(), [1.0, 3, 3], [0, 0.5, 0.5]),
    ("full max NaNs share the gradient", lambda x: x.max(), [1.0, nan, nan, 3], [0, 0.5, 0.5, 0]),
    ("max(dim) first occurrence", lambda x: x.max(0), [1.0, 3, 3], [0, 1, 0]),
    ("max(dim) NaN index", lambda x: x.max(0), [1.0, nan, 3, nan], [0, 1, 0, 0]),
    ("min(dim) first occurrence", lambda x: x.min(0), [1.0, 1, 3], [1, 0, 0]),
    ("median() tie split", lambda x: x.median(), [1.0, 2, 2, 3], [0, 0.5, 0.5, 0]),
    ("median() NaN", lambda x: x.median(), [1.0, nan, 2, 3], [0, 1, 0, 0]),
    ("median(dim) stable-order rank", lambda x: x.median(0), [2.0, 1, 2, 3, 2], [0, 0, 1, 0, 0]),
    ("median(dim) all equal", lambda x: x.median(0), [2.0, 2, 2, 2], [0, 1, 0, 0]),
    ("nanmedian() tie split", lambda x: x.nanmedian(), [2.0, nan, 1, 2], [0.5, 0, 0, 0.5]),
    ("nanmedian(dim)", lambda x: x.nanmedian(0), [2.0, nan, 1, 2], [1, 0, 0, 0]),
    ("kthvalue quickselect tie", lambda x: x.kthvalue(2, 0), [2.0, 1, 2, 2], [1, 0, 0, 0]),
    ("kthvalue quickselect tie 2", lambda x: x.kthvalue(1, 0), [1.0, 1, 1], [0, 1, 0]),
    ("mode smallest most frequent, last", lambda x: x.mode(0), [2.0, 1, 2, 1, 3], [0, 0, 0, 1, 0]),
    ("mode NaN run", lambda x: x.mode(0), [nan, 1, nan], [1, 0, 0]),
    ("cummax ties move the index", lambda x: x.cummax(0), [1.0, 3, 3, 2, 3], [1, 1, 2, 0, 1]),
    ("cummin ties move the index", lambda x: x.cummin(0), [1.0, 0, 0, 2, 0], [1, 1, 2, 0, 1]),
    ("cummax NaN sticks", lambda x: x.cummax(0), [1.0, nan, 3, 2], [1, 3, 0, 0]),
    ("aminmax ties", lambda x: (lambda r: r.min + r.max * 10)(refgrad.aminmax(x)), [1.0, 1, 3, 3],
     [0.5, 0.5, 5, 5]),
    ("std of constants", lambda x: x.std(), [1.0, 1, 1], [0, 0, 0]),
    ("prod one zero", lambda x: x.prod(), [2.0, 0, 3], [0, 6, 0]),
    ("prod two zeros", lambda x: x.prod(), [2.0, 0, 0], [0, 0, 0]),
    # conformance prod/errors: torch's full prod answers two zeros with zeros outright (no grad mode), NaN or not;
    # along a dim (and under create_graph) the exclusive products give NaN beside the NaN: [0, nan, nan]
    ("prod two zeros beside NaN", lambda x: x.prod(), [nan, 0, 0], [0, 0, 0]),
    ("prod dim two zeros beside NaN", lambda x: x.prod(0), [nan, 0, 0], [0, nan, nan]),
    ("cumprod zeros exact", lambda x: x.cumprod(0), [2.0, 0, 3, 0, 5], [1, 8, 0, 0, 0]),
    ("logsumexp all -inf", lambda x: x.logsumexp(0), [-inf, -inf], [nan, nan]),
    ("logsumexp with +inf", lambda x: x.logsumexp(0), [inf, 1.0], [nan, 0]),
    ("logcumsumexp -inf prefix", lambda x: x.logcumsumexp(0), [-inf, -inf, 1.0], [nan, nan, 1]),
    ("softmax +inf", lambda x: x.softmax(0), [inf, 1.0], [nan, nan]),
    ("log_softmax -inf", lambda x: x.log_softmax(0), [-inf, 1.0], [1, -1]),
    ("norm p=2 at 0", lambda x: x.norm(), [0.0, 0], [0, 0]),
    ("norm p=1 at 0", lambda x: x.norm(1), [0.0, 0], [0, 0]),
    ("norm p=0.5 at 0", lambda x: x.norm(0.5), [0.0, 0], [0, 0]),
    ("norm p=3 at 0", lambda x: x.norm(3), [0.0, 0], [0, 0]),
    ("norm inf ties with sign", lambda x: x.norm(inf), [0.0, 2, -2], [0, 0.5, -0.5]),
    ("norm inf NaN: zeros", lambda x: x.norm(inf), [1.0, nan, -3, 3], [0, 0, 0, 0]),
]


@pytest.mark.parametrize("label,fn,values,expected", CONVENTIONS, ids=[c[0] for c in CONVENTIONS])
def test_convention(label, fn, values, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(_grad(fn, values), expected, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_cumprod_cotangent_weights_zeros():
    # torch 2.13: cumprod([0, 2, 0, 3]) with cotangent [1, 2, 3, 4] gives [5, 0, 0, 0]
    got = _grad(lambda x: x.cumprod(0), [0.0, 2, 0, 3], [1.0, 2, 3, 4])
    np.testing.assert_allclose(got, [5, 0, 0, 0])


def test_cumprod_double_backward_nan_after_zero_stays_out_of_other_slices():
    # torch 2.13 (conformance cumprod/double_backward, float32): x = [0, nan], v = [0, 0] (requires grad), u = [0, 0]:
    # first order [nan, 0]; second order wrt x [0, 0] and wrt v [0, nan]. torch builds slice k from prod(x[:k]) and
    # cumprod(x[k+1:]) only, so x[1]'s NaN never reaches slice 1 through a masked n x n table.
    x = refgrad.tensor([0.0, nan], requires_grad=True)
    v = refgrad.tensor([0.0, 0.0], requires_grad=True)
    (g,) = refgrad.autograd.grad(x.cumprod(0), x, v, create_graph=True)
    gx, gv = refgrad.autograd.grad(g, [x, v], refgrad.tensor([0.0, 0.0]))
    np.testing.assert_array_equal(g.detach().numpy(), [nan, 0])
    np.testing.assert_array_equal(gx.numpy(), [0, 0])
    np.testing.assert_array_equal(gv.numpy(), [0, nan])


def test_cumprod_first_order_at_the_first_zero_follows_torchs_masked_sum():
    # torch 2.13, no grad mode: at the first zero only the terms up to the second zero count (an inf cotangent past
    # it is dropped), but those past it are 0 * (last partial product), NaN when that product is infinite
    assert _grad(lambda x: x.cumprod(0), [0.0, 2, 0, 5], [1.0, 1, inf, 1]).tolist() == [3, 0, 0, 0]
    got = _grad(lambda x: x.cumprod(0), [0.0, 3, inf, -0.0, nan, inf], [1.0, inf, inf, 0, -0.5, nan])
    np.testing.assert_array_equal(got, [nan, 0, 0, 0, 0, 0])


def test_prod_double_backward_through_cumprod_of_zeros_and_inf():
    # torch 2.13 (conformance prod/double_backward, float32): x = [[inf, 1], [0, 0]], v = 1, u = ones
    x = refgrad.tensor([[inf, 1.0], [0.0, 0.0]], requires_grad=True)
    (g,) = refgrad.autograd.grad(x.prod(), x, refgrad.tensor(1.0, requires_grad=True), create_graph=True)
    (gg,) = refgrad.autograd.grad(g, x, refgrad.ones(2, 2))
    np.testing.assert_array_equal(gg.numpy(), [[nan, nan], [inf, inf]])


def test_log_softmax_cotangent():
    # torch 2.13: log_softmax([-inf, 1]) with cotangent [1, 2] gives [1, -1]
    np.testing.assert_allclose(_grad(lambda x: x.log_softmax(0), [-inf, 1.0], [1.0, 2]), [1, -1])


@pytest.mark.parametrize("dtype, x0, expected", [
    # torch 2.13: log_softmax([x0, 0]) with cotangent [7.1, 0]; the product rounded before the subtraction would
    # give 4.339218e-05 (1.4 % off; exact 4.3623640e-05) and 1.4634191636275773e-08 (3e-8 off)
    ("float32", 12.0, 4.4012068e-05), ("float64", 20.0, 1.4634191214391022e-08)])
def test_log_softmax_gradient_fuses_the_product_into_the_subtraction(dtype, x0, expected):
    # torch's kernel computes g - exp(y) * sum(g) as one fused multiply-subtract: at exp(y) ~ 1 that difference
    # cancels, and the rounding of the product alone would be off by more than float32's vjp tolerance
    x = refgrad.tensor([x0, 0.0], dtype=getattr(refgrad, dtype), requires_grad=True)
    x.log_softmax(0).backward(refgrad.tensor([7.1, 0.0], dtype=getattr(refgrad, dtype)))
    assert x.grad.numpy()[0] == np.dtype(dtype).type(expected)


def test_var_zero_degrees_of_freedom():
    # torch 2.13, x = [[1, 2, 1.5], [4, 4, 4]]:
    #   var(1, correction=3) -> [inf, nan]; backward([1, -2]) -> [[-inf, inf, nan], [nan, nan, nan]]
    #   var(1, correction=4) backward([1, -2]) -> [[1, -1, -0], [0, 0, 0]] (2 / dof with dof = -1)
    #   var(correction=6) backward(-1) -> all -inf (full form: inf where x != mean)
    x = [[1.0, 2, 1.5], [4, 4, 4]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _grad(lambda t: t.var(1, correction=3), x, [1.0, -2])
        np.testing.assert_array_equal(got, [[-inf, inf, nan], [nan, nan, nan]])
        got = _grad(lambda t: t.var(1, correction=4), x, [1.0, -2])
        np.testing.assert_array_equal(got, [[1, -1, 0], [0, 0, 0]])
        got = _grad(lambda t: t.var(correction=6), x, -1.0)
        np.testing.assert_array_equal(got, np.full((2, 3), -inf))


def test_std_single_element_warns_and_is_nan():
    # torch 2.13: std([3.]) -> nan with UserWarning "std(): degrees of freedom is <= 0...", gradient [nan]
    x = refgrad.tensor([3.0], dtype=refgrad.float64, requires_grad=True)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        s = x.std()
    s.backward()
    assert np.isnan(s.item()) and np.isnan(x.grad.numpy()).all()


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
def test_stat_mean_skips_the_unused_statistic(name):
    # torch 2.13: var_mean/std_mean's backward skips an output no gradient reached, so the mean alone gives 1/n
    # where the statistic's term is inf or NaN (no degrees of freedom, an infinite element); the warning names the
    # op ("var_mean(): degrees of freedom is <= 0...")
    for values, kwargs in (([1.0], {}), ([1.0, 2.0], {"correction": 2}), ([1.0, inf], {})):
        x = refgrad.tensor(values, dtype=refgrad.float64, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(refgrad, name)(x, **kwargs)[1].backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.full(len(values), 1 / len(values)))
        assert [str(w.message).split(":")[0] for w in caught] == ([f"{name}()"] if len(values) <= kwargs.get(
            "correction", 1) else [])


def test_norm_zero_order_has_no_gradient():
    # torch 2.13: autograd.grad(x.norm(0), x, allow_unused=True) -> (None,)
    x = refgrad.tensor([1.0, 0.0, 2.0], dtype=refgrad.float64, requires_grad=True)
    assert x.norm(0).item() == 2
    assert refgrad.autograd.grad(x.norm(0), x, allow_unused=True) == (None,)


def test_return_types_and_names():
    x = refgrad.tensor([[1.0, 3.0], [2.0, 0.0]], requires_grad=True)
    result = x.max(1)
    assert result.values.tolist() == [3.0, 2.0] and result.indices.tolist() == [1, 0]
    assert repr(result).startswith("torch.return_types.max(\nvalues=")
    assert result.indices.dtype is refgrad.int64 and not result.indices.requires_grad
    names = {
        "SumBackward0": x.sum(), "SumBackward1": x.sum(1), "NansumBackward0": x.nansum(),
        "MeanBackward0": x.mean(), "MeanBackward1": x.mean(0), "DivBackward0": x.nanmean(),
        "ProdBackward0": x.prod(), "ProdBackward1": x.prod(1), "AmaxBackward0": x.amax(),
        "MaxBackward1": x.max(), "MaxBackward0": x.max(0)[0], "MinBackward0": x.min(0)[0],
        "StdBackward0": x.std(), "VarBackward0": x.var(0), "StdMeanBackward0": refgrad.std_mean(x)[0],
        "LogsumexpBackward0": x.logsumexp(0), "MedianBackward0": x.median(), "MedianBackward1": x.median(0)[0],
        "NanmedianBackward1": x.nanmedian(0)[0], "KthvalueBackward0": x.kthvalue(1)[0],
        "ModeBackward0": x.mode()[0], "CumsumBackward0": x.cumsum(0), "CumprodBackward0": x.cumprod(0),
        "CummaxBackward0": x.cummax(0)[0], "LogcumsumexpBackward0": x.logcumsumexp(0),
        "SoftmaxBackward0": x.softmax(0), "LogSoftmaxBackward0": x.log_softmax(1),
        "LinalgVectorNormBackward0": x.norm(1), "AminmaxBackward0": refgrad.aminmax(x).max,
    }
    for name, out in names.items():
        assert type(out.grad_fn).__name__ == name


def test_non_differentiable_outputs():
    x = refgrad.tensor([[1.0, 3.0], [0.0, 0.0]], requires_grad=True)
    assert x.argmax().item() == 1 and x.argmin(1).tolist() == [0, 0]
    assert refgrad.count_nonzero(x).item() == 2 and refgrad.count_nonzero(x, 0).tolist() == [1, 1]
    assert x.argmax().dtype is refgrad.int64 and not x.argmax().requires_grad
    assert x.any().item() is True and x.all(1).tolist() == [True, False]


def test_second_backward_through_indices_raises():
    # torch saves the indices of max(dim): a second backward without retain_graph raises
    x = refgrad.tensor([1.0, 2.0], requires_grad=True)
    out = x.max(0)[0]
    out.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()


def test_float32_scans_accumulate_in_float64():
    # torch 2.13 CPU: cumsum([1e8, 1, -1e8]) in float32 gives [1e8, 1e8, 1]
    x = refgrad.tensor([1e8, 1.0, -1e8])
    assert x.cumsum(0).tolist() == [1e8, 1e8, 1.0]
    assert x.cumsum(0).dtype is refgrad.float32


def test_errors():
    x = refgrad.ones(2, 3)
    with pytest.raises(IndexError):
        x.sum(2)
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        refgrad.ones(2, dtype=refgrad.int64).mean()
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        refgrad.ones(0).norm(float("inf"))
    with pytest.raises(NotImplementedError, match="softmax_lastdim_kernel_impl"):
        refgrad.ones(2, dtype=refgrad.int64).softmax(0)
    with pytest.raises(TypeError):
        refgrad.softmax(x)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range"):
        x.kthvalue(4, 1)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        refgrad.nn.functional.softmax(x)


def test_float32_std_is_the_root_of_the_variance_accumulated_in_float64():
    """torch 2.13 accumulates float32 variances in float64 and rounds once: x = [2.7092149e-27, 0] float32 has
    var 0 (3.7e-54 underflows) but std 1.9157e-27, so std_mean's double backward sees a nonzero std (no 0/0)."""
    x = refgrad.tensor([2.7092148972332577e-27, 0.0], requires_grad=True)
    assert refgrad.var(x).item() == 0.0
    std, _ = refgrad.std_mean(x)
    assert std.item() == pytest.approx(1.9157e-27, rel=1e-4) and refgrad.std(x).item() == std.item()
    zero = refgrad.zeros((), requires_grad=True)
    (grad,) = refgrad.autograd.grad(std, x, zero, create_graph=True)
    (second,) = refgrad.autograd.grad(grad, zero, refgrad.zeros(2))
    assert second.item() == 0.0


@pytest.mark.parametrize("name, node", [("softmax", "SoftmaxBackwardDataBackward0"),
                                        ("log_softmax", "LogSoftmaxBackwardDataBackward0")])
def test_softmax_gradient_is_its_own_op_with_torchs_double_backward(name, node):
    """torch 2.13.0 (float64): the first gradient is _softmax_backward_data / _log_softmax_backward_data, with
    the second derivatives torch's formulas give, here at x = [[0, 1, 2]], g = [[1, -1, 0.5]], gg = [[2, 0, 1]]."""
    expected = {"softmax": ([[0.052845045254594, 0.155015208130884, -0.207860253385478]],
                            [[0.103958113585168, -0.206869491030153, 0.102911377444986]]),
                "log_softmax": ([[-0.051979056792584, 0.103434745515076, -0.051455688722493]],
                                [[1.154697897884417, -0.845302102115583, 0.154697897884417]])}[name]
    x = refgrad.tensor([[0.0, 1.0, 2.0]], dtype=refgrad.float64, requires_grad=True)
    g = refgrad.tensor([[1.0, -1.0, 0.5]], dtype=refgrad.float64, requires_grad=True)
    (grad,) = refgrad.autograd.grad(getattr(refgrad, name)(x, 1), x, g, create_graph=True)
    assert grad.grad_fn.name() == node
    dx, dg = refgrad.autograd.grad(grad, (x, g), refgrad.tensor([[2.0, 0.0, 1.0]], dtype=refgrad.float64))
    np.testing.assert_allclose(dx.numpy(), expected[0], rtol=1e-12)
    np.testing.assert_allclose(dg.numpy(), expected[1], rtol=1e-12)


def test_std_of_identical_elements_is_exactly_zero_with_a_zero_gradient():
    # torch 2.13.0 (default seed 3105, std_mean over 18 elements of 0.7172506271894248): std 0 and gradient 0;
    # sum / n is an ulp off that value, which made refgrad's std 1e-17 and its gradient -0.057
    x = refgrad.full((2, 3, 3), 0.7172506271894248, dtype=refgrad.float64, requires_grad=True)
    std, mean = refgrad.std_mean(x)
    assert std.item() == 0.0
    std.backward()
    assert not x.grad.numpy().any()
