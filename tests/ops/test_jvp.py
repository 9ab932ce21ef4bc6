"""Every JVP rule against float64 central differences and against the VJP (transpose identity), no torch.

The cases are the ones the VJP tests already use (each family's table of smooth points in tests/ops/test_*.py),
so an op that gains a VJP test gains a JVP test: first order (forward mode) and, where the family checks double
backward, forward-over-reverse (the JVP of the gradient, i.e. a Hessian-vector product).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import refgrad
from refgrad.autograd import forward_ad as fwAD
from tests.ops import (
    test_activations,
    test_binary,
    test_elementwise_extra,
    test_indexing,
    test_linalg,
    test_linalg_extra,
    test_masked,
    test_nn,
    test_nn_extra,
    test_reductions,
    test_shape,
    test_shape_extra,
    test_special_extra,
    test_statistics,
    test_unary,
)
from tests.ops.numerical_jvp import check_jvp


def _cases():
    """(id, fn, arrays, tolerances, second order too) for every smooth case of the families' VJP tests."""
    cases = []
    for name, (fn, point) in test_unary.SMOOTH.items():
        cases.append((f"unary.{name}", fn, (point,), {}, True))
    for name, (fn, points) in test_activations.SMOOTH.items():
        cases.append((f"activations.{name}", fn, tuple(points), {}, True))
    for name, (fn, arrays) in test_binary.SMOOTH.items():
        cases.append((f"binary.{name}", fn, tuple(arrays), {}, name in test_binary.ORDER2))
    for name, (fn, arrays) in test_indexing.CASES.items():
        cases.append((f"indexing.{name}", fn, tuple(arrays), {}, True))
    for name, (fn, arrays) in test_linalg.CASES.items():
        cases.append((f"linalg.{name}", fn, tuple(arrays), {"rtol": 1e-4, "atol": 1e-5}, True))
    for name, (fn, point) in test_reductions.SMOOTH.items():
        cases.append((f"reductions.{name}", fn, (point,), {}, True))
    for name, (fn, point) in test_shape.OPS.items():
        cases.append((f"shape.{name}", fn, (point,), {}, True))
    for name, fn, arrays, gradgrad in test_nn.CASES:
        cases.append((f"nn.{name}", fn, tuple(arrays), {"rtol": 1e-4, "atol": 1e-5}, gradgrad))
    for family, module, tol in [("elementwise_extra", test_elementwise_extra, {}),
                                ("linalg_extra", test_linalg_extra, {"rtol": 1e-4, "atol": 1e-5}),
                                ("masked", test_masked, {}), ("nn_extra", test_nn_extra, {"rtol": 1e-4, "atol": 1e-5}),
                                ("shape_extra", test_shape_extra, {}), ("special_extra", test_special_extra, {}),
                                ("statistics", test_statistics, {})]:
        for name, (fn, arrays) in module.CASES.items():
            cases.append((f"{family}.{name}", fn, tuple(arrays), tol, True))
    return cases


CASES = _cases()
# ops torch 2.13 gives no forward derivative (checked on torch 2.13.0+cpu): refgrad raises torch's error
NO_FORWARD_RULE = {"nn.cdist": "_cdist_forward", "nn.pdist": "_pdist_forward",
                   "nn.multi_margin_loss": "multi_margin_loss", "activations.rrelu_": "rrelu_with_noise_"}


@pytest.mark.parametrize("name,fn,arrays,tol,second", CASES, ids=[c[0] for c in CASES])
def test_jvp_matches_central_differences_and_vjp(name, fn, arrays, tol, second):
    if name in NO_FORWARD_RULE:
        with pytest.raises(NotImplementedError, match=f"^Trying to use forward AD with {NO_FORWARD_RULE[name]} that "
                           "does not support it because it has not been implemented yet"):
            check_jvp(fn, *arrays, **tol)
        return
    check_jvp(fn, *arrays, **tol)


SECOND = [c for c in CASES if c[4] and c[0] not in NO_FORWARD_RULE]


@pytest.mark.parametrize("name,fn,arrays,tol,second", SECOND, ids=[c[0] for c in SECOND])
def test_forward_over_reverse_matches_central_differences(name, fn, arrays, tol, second):
    check_jvp(fn, *arrays, order=2, **{"rtol": 1e-4, "atol": 1e-5, **tol})


def _tangent(fn, *pairs):
    with fwAD.dual_level():
        out = fn(*(fwAD.make_dual(refgrad.tensor(p, dtype=refgrad.float64), refgrad.tensor(t, dtype=refgrad.float64))
                   for p, t in pairs))
        tangent = fwAD.unpack_dual(out).tangent
        return None if tangent is None else tangent.tolist()


def test_cumprod_tangent_is_torchs_forward_formula():
    # torch 2.13.0: cumprod's tangent with tangent [1, 2, ...]: result·cumsum(t/x) before the first zero, the cumprod
    # with that zero replaced by its tangent from there on; so NaN at a NaN or infinite input
    cumprod = lambda x: x.cumprod(0)  # noqa: E731
    assert _tangent(cumprod, ([2.0, 0, 3, 0, 4], [1.0, 2, 3, 4, 5])) == [1.0, 4, 12, 0, 0]
    got = _tangent(cumprod, ([math.inf, 2.0], [1.0, 2]))
    assert math.isnan(got[0]) and got[1] == math.inf
    assert _tangent(cumprod, (0.0, 1.0)) == 1.0


def test_cumprod_hessian_at_zeros():
    # d²(x0·x1) = [[0, 1], [1, 0]] at x = 0: forward tangents take cumprod's differentiable VJP form
    h = refgrad.func.hessian(lambda x: x.cumprod(0)[1])(refgrad.zeros(2, dtype=refgrad.float64))
    assert h.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_nextafter_tangent_comes_from_self_only():
    # torch 2.13.0: slope 1 in self (0 where self == other); other's tangent alone gives no tangent
    assert _tangent(lambda x, o: refgrad.nextafter(x, o), ([1.0, 2], [1.0, 1]), ([0.0, 2], [1.0, 1])) == [1.0, 0]
    x = refgrad.tensor([1.0, 2], dtype=refgrad.float64)
    assert _tangent(lambda o: refgrad.nextafter(x, o), ([0.0, 2], [1.0, 1])) is None


def test_frexp_mantissa_tangent():
    assert _tangent(lambda x: refgrad.frexp(x).mantissa, ([3.0, 0.5], [1.0, 1])) == [0.25, 1.0]


def test_forward_rule_errors_follow_torch():
    with pytest.raises(NotImplementedError, match="^Trying to use forward AD with cholesky that does not support"):
        _tangent(lambda x: refgrad.cholesky(x), ([[2.0, 0], [0, 2]], [[1.0, 0], [0, 1]]))
    with pytest.raises(IndexError, match=r"^max\(\): Expected reduction dim 0 to have non-zero size\.$"):
        _tangent(lambda x: x.logcumsumexp(0), (np.zeros(0), np.zeros(0)))


# complex forward mode: the tangent is the derivative along a complex direction, f(z + h·v) - f(z - h·v) / 2h, and
# torch's VJP is its adjoint in the real inner product Re<a, b> = Re sum(conj(a)·b)
Z = np.array([1 + 2j, 3 - 1j, -0.5 + 0.25j])
COMPLEX = {
    "abs": (lambda z: z.abs(), Z), "mul": (lambda z: z * z, Z), "conj": (lambda z: z.conj() * 2, Z),
    "real_imag": (lambda z: z.real * z.imag, Z), "angle": (lambda z: z.angle(), Z), "exp": (lambda z: z.exp(), Z),
    "normalize": (lambda z: z / z.abs(), Z), "fft": (lambda z: refgrad.fft.fft(z), Z),
    "irfft": (lambda z: refgrad.fft.irfft(z), Z), "view_as_real": (lambda z: refgrad.view_as_real(z) * 3, Z),
    "sgn": (lambda z: refgrad.sgn(z), Z), "prod": (lambda z: z.prod(), Z),
    "vdot": (lambda z: refgrad.vdot(z, z * z), Z),
    "sqrt": (lambda z: z.sqrt(), Z), "cumprod": (lambda z: z.cumprod(0), Z),
    # real statistics of a complex input: the contraction rule in Re<grad, tangent>
    "std": (lambda z: z.std(), Z), "var": (lambda z: z.var(correction=0), Z),
    "std_mean": (lambda z: refgrad.std_mean(z)[0], Z), "var_mean.var": (lambda z: refgrad.var_mean(z)[0], Z),
    "var_mean.mean": (lambda z: refgrad.var_mean(z)[1], Z),
    "div": (lambda z: z / (z * z + 1), Z), "addcdiv": (lambda z: refgrad.addcdiv(z, z * 2, z * z + 1, value=0.5), Z),
    # polar at r > 0: for r < 0 torch's VJP writes e^{iθ} as sgn(z) (its transpose identity fails there), while its
    # forward formula, which refgrad follows, is the true derivative (pinned below)
    "complex_of_real": (lambda x: refgrad.complex(x, x * x).abs(), Z.real),
    "rfft_of_real": (lambda x: refgrad.fft.rfft(x), Z.real), "polar": (lambda x: refgrad.polar(x, x), np.abs(Z.real)),
}


@pytest.mark.parametrize("name", list(COMPLEX))
def test_complex_jvp_matches_central_differences_and_vjp(name):
    fn, point = COMPLEX[name]
    rng = np.random.default_rng(0)
    v = rng.standard_normal(point.shape) + (1j * rng.standard_normal(point.shape) if point.dtype.kind == "c" else 0)
    dtype = refgrad.complex128 if point.dtype.kind == "c" else refgrad.float64
    with fwAD.dual_level():
        out = fn(fwAD.make_dual(refgrad.tensor(point, dtype=dtype), refgrad.tensor(v, dtype=dtype)))
        tangent = fwAD.unpack_dual(out).tangent.detach().resolve_conj().numpy(force=True)
    eps = 1e-6
    numeric = (fn(refgrad.tensor(point + eps * v, dtype=dtype)).detach().resolve_conj().numpy()
               - fn(refgrad.tensor(point - eps * v, dtype=dtype)).detach().resolve_conj().numpy()) / (2 * eps)
    assert tangent.dtype.kind == numeric.dtype.kind
    np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-7)
    x = refgrad.tensor(point, dtype=dtype, requires_grad=True)
    y = fn(x)
    w = rng.standard_normal(tuple(y.shape)) + (1j * rng.standard_normal(tuple(y.shape)) if y.is_complex() else 0)
    (g,) = refgrad.autograd.grad(y, x, refgrad.tensor(w, dtype=y.dtype))
    assert np.isclose(np.real(np.vdot(w, tangent)), np.real(np.vdot(g.detach().resolve_conj().numpy(force=True), v)))


def test_std_tangent_of_complex_zeros_is_zero():
    # torch 2.13.0: std and std_mean of complex zeros (0-d with correction=0, or 1-d) have tangent 0, as for real
    # zeros (the VJP's masked_fill at std = 0), not the 0 · inf = NaN of differentiating through it
    for shape, correction in (((), 0), ((3,), 1)):
        zeros = np.zeros(shape, np.complex128)
        with fwAD.dual_level():
            z = fwAD.make_dual(refgrad.tensor(zeros), refgrad.tensor(zeros + (1 + 2j)))
            assert fwAD.unpack_dual(refgrad.std_mean(z, correction=correction)[0]).tangent.item() == 0.0
            assert fwAD.unpack_dual(refgrad.std(z, correction=correction)).tangent.item() == 0.0


def test_polar_tangent_at_negative_abs_is_the_derivative():
    # torch 2.13.0: polar(x, x) at x = -0.5 along 1 has tangent e^{ix} + i x e^{ix} = 0.6379 - 0.9182i (central
    # differences agree)
    with fwAD.dual_level():
        x = fwAD.make_dual(refgrad.tensor([-0.5], dtype=refgrad.float64),
                           refgrad.tensor([1.0], dtype=refgrad.float64))
        got = complex(fwAD.unpack_dual(refgrad.polar(x, x)).tangent.detach().numpy()[0])
    assert abs(got - (0.6378698 - 0.9182168j)) < 1e-6


def test_eig_and_angle_tangents_follow_torch():
    # torch 2.13.0's forward formulas (values printed by torch): eigenvalue tangents diag(V^-1 dA V); angle and sgn
    # have tangent 0 at z = 0
    a = refgrad.tensor([[2.0, 1.0], [0.0, 3.0]], dtype=refgrad.float64)
    with fwAD.dual_level():
        dual = fwAD.make_dual(a, refgrad.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=refgrad.float64))
        values, vectors = refgrad.linalg.eig(dual)
        assert np.allclose(fwAD.unpack_dual(values).tangent.numpy(), [0.0, 1.0])
        # unit-norm columns stay unit norm: Re(v_i^H dv_i) = 0
        v, dv = vectors.detach().numpy(), fwAD.unpack_dual(vectors).tangent.numpy()
        assert np.allclose(np.real(np.sum(np.conj(v) * dv, axis=0)), 0)
        z = fwAD.make_dual(refgrad.tensor([0j, 1 + 1j]), refgrad.tensor([1 + 1j, 2 - 1j]))
        assert np.allclose(fwAD.unpack_dual(refgrad.angle(z)).tangent.numpy(), [0.0, -1.5])
        assert fwAD.unpack_dual(refgrad.sgn(z)).tangent.numpy()[0] == 0


def test_product_tangent_keeps_torchs_zero_tangent_term():
    # torch 2.13.0 materializes the zero tangent of an operand without one: A_t @ B + A @ 0 is NaN in the rows of A
    # holding NaN or inf (values printed by torch: [[nan, nan], [inf, 3.0]])
    a = [[1.0, math.nan], [2.0, 3.0]]
    b = refgrad.tensor([[1.0, 2.0], [math.inf, 1.0]], dtype=refgrad.float64)
    got = _tangent(lambda x: x @ b, (a, [[1.0, 1.0], [1.0, 1.0]]))
    assert math.isnan(got[0][0]) and math.isnan(got[0][1]) and got[1] == [math.inf, 3.0]


def test_embedding_tangent_includes_the_padding_row_and_det_tangent_reads_the_primal():
    # torch 2.13.0: embedding's tangent is weight_t[indices] (padding_idx only stops the gradient); det's tangent of
    # a 1x1 matrix that requires grad requires grad
    with fwAD.dual_level():
        w = refgrad.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=refgrad.float64)
        out = refgrad.nn.functional.embedding(refgrad.tensor([1, 0]), fwAD.make_dual(w, refgrad.ones(2, 2)),
                                              padding_idx=1)
        assert fwAD.unpack_dual(out).tangent.tolist() == [[1.0, 1.0], [1.0, 1.0]]
        a = refgrad.tensor([[3.0]], dtype=refgrad.float64, requires_grad=True)
        tangent = fwAD.unpack_dual(refgrad.linalg.det(fwAD.make_dual(a, refgrad.ones(1, 1)))).tangent
        assert tangent.item() == 1.0 and tangent.requires_grad


def test_full_max_tangent_is_nan_at_a_nan_result():
    # torch 2.13.0 (evenly_read_jvp): the mean tangent over the elements equal to the result: [3, 3, 1] along
    # [1, 2, 4] gives 1.5; with a NaN no element equals the result, so NaN
    assert _tangent(lambda x: x.max(), ([3.0, 3.0, 1.0], [1.0, 2.0, 4.0])) == 1.5
    assert math.isnan(_tangent(lambda x: x.min(), ([1.0, math.nan, 3.0], [1.0, 2.0, 4.0])))
    # median and nanmedian too (torch: NaN, and 8 for nanmedian's 2 of [1, nan, 3, 2] along [1, 2, 4, 8])
    assert math.isnan(_tangent(lambda x: x.median(), ([1.0, math.nan, 3.0, 2.0], [1.0, 2.0, 4.0, 8.0])))
    assert _tangent(lambda x: x.nanmedian(), ([1.0, math.nan, 3.0, 2.0], [1.0, 2.0, 4.0, 8.0])) == 8.0


def test_dist_tangent_over_no_elements_is_zero():
    # torch 2.13.0: dist(empty, 0-d, p=3) has tangent 0 (norm_jvp), not the 0/0 of differentiating the VJP
    x = refgrad.zeros(0, dtype=refgrad.float64)
    assert _tangent(lambda y: refgrad.dist(x, y, p=3), (0.0, 1.0)) == 0.0


def _tangent_requires_grad(fn, *primals):
    """requires_grad of fn's output tangent; each primal is (tensor, tangent or None)."""
    with fwAD.dual_level():
        args = [x if t is None else fwAD.make_dual(x, t) for x, t in primals]
        return fwAD.unpack_dual(fn(*args)).tangent.requires_grad


def test_matrix_power_0_tangent_requires_grad_as_the_input_tangent():
    # torch 2.13.0: A^0's tangent is A's tangent filled with 0, so it requires grad exactly when that one does
    # ((a / 2)'s tangent reads the primal a; (a + 1)'s does not)
    def check(scale, expected):
        a = refgrad.zeros(2, 2, dtype=refgrad.float64, requires_grad=True)
        got = _tangent_requires_grad(lambda x: refgrad.linalg.matrix_power(scale(x), 0), (a, refgrad.ones(2, 2)))
        assert got is expected
    check(lambda x: x / 2, True)
    check(lambda x: x + 1, False)


def test_bce_with_logits_target_tangent_does_not_read_the_target():
    # torch 2.13.0: with a tangent on the target only, the tangent reads input, weight and pos_weight (not the
    # target): False here, True when the input requires grad
    w, pw = refgrad.full((2,), 0.5), refgrad.full((2,), 2.0)
    for input_requires_grad in (False, True):
        x = refgrad.full((2,), 0.3, requires_grad=input_requires_grad)
        y = refgrad.full((2,), 0.4, requires_grad=True)
        got = _tangent_requires_grad(
            lambda t, x=x: refgrad.nn.functional.binary_cross_entropy_with_logits(x, t, w, pos_weight=pw),
            (y, refgrad.ones(2)))
        assert got is input_requires_grad


def test_lstsq_empty_residuals_tangent_requires_grad_when_an_input_does():
    # torch 2.13.0 (gelsy, and gelsd for a square A: residuals empty): the residuals' tangent is an empty tensor
    # that requires grad when A or B does (for real and complex A), and not when only the tangents do
    for dtype in (refgrad.float64, refgrad.complex128):
        for a_requires_grad in (False, True):
            a = refgrad.eye(2, dtype=dtype, requires_grad=a_requires_grad)
            b = refgrad.ones(2, 1, dtype=dtype)
            with fwAD.dual_level():
                out = refgrad.linalg.lstsq(a, fwAD.make_dual(b, refgrad.ones(2, 1, dtype=dtype)))
                tangent = fwAD.unpack_dual(out.residuals).tangent
            assert tangent.shape == (0,) and tangent.requires_grad is a_requires_grad


def test_vmap_passes_lu_unpacks_empty_outputs_through():
    # torch 2.13.0: under vmap, lu_unpack's skipped outputs stay the one empty (0,) tensor (its batch rule returns
    # them as batched); out_dims=1 raises torch's IndexError for that 1-d tensor
    x = refgrad.eye(3, dtype=refgrad.float64).expand(2, 3, 3) + 1

    def unpack(a, pivots=False, data=True):
        return refgrad.lu_unpack(*refgrad.linalg.lu_factor(a), unpack_data=data, unpack_pivots=pivots)

    assert [tuple(o.shape) for o in refgrad.func.vmap(unpack)(x)] == [(0,), (2, 3, 3), (2, 3, 3)]
    shapes = [tuple(o.shape) for o in refgrad.func.vmap(lambda a: unpack(a, True, False))(x)]
    assert shapes == [(2, 3, 3), (0,), (0,)]
    with pytest.raises(IndexError, match=r"^Dimension out of range \(expected to be in range of \[-1, 0\], but got 1"):
        refgrad.func.vmap(unpack, out_dims=1)(x)


def test_native_group_norm_statistics_get_tangents_only_from_the_input():
    # torch 2.13.0: with tangents on weight and bias only, mean and rstd have no tangent (None); with one on the input
    # they have one
    x, w, b = (refgrad.rand(*shape, dtype=refgrad.float64) for shape in ((2, 4, 3), (4,), (4,)))
    with fwAD.dual_level():
        out = refgrad.native_group_norm(x, fwAD.make_dual(w, refgrad.ones(4)), fwAD.make_dual(b, refgrad.ones(4)),
                                        2, 4, 3, 2, 1e-5)
        assert [fwAD.unpack_dual(o).tangent is None for o in out] == [False, True, True]
        out = refgrad.native_group_norm(fwAD.make_dual(x, refgrad.ones(2, 4, 3)), w, b, 2, 4, 3, 2, 1e-5)
        assert [tuple(fwAD.unpack_dual(o).tangent.shape) for o in out] == [(2, 4, 3), (2, 2), (2, 2)]


def test_group_norm_tangents_require_grad_when_only_the_bias_does():
    # torch 2.13.0 (jvp dev seed 120): the formula reads the primals, so with only the bias requiring grad the
    # output's and rstd's tangents require grad; the mean's comes from the input's tangent alone
    x, w = refgrad.rand(2, 4, dtype=refgrad.float64), refgrad.rand(4, dtype=refgrad.float64)
    b = refgrad.rand(4, dtype=refgrad.float64, requires_grad=True)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, refgrad.ones(2, 4, dtype=refgrad.float64))
        out = refgrad.nn.functional.group_norm(dual, 2, w, b)
        assert fwAD.unpack_dual(out).tangent.requires_grad
        out = refgrad.native_group_norm(dual, w, b, 2, 4, 1, 2, 1e-5)
        assert [fwAD.unpack_dual(o).tangent.requires_grad for o in out] == [True, False, True]
        with refgrad.no_grad():
            assert not fwAD.unpack_dual(refgrad.nn.functional.group_norm(dual, 2, w, b)).tangent.requires_grad


def test_addmm_family_and_bilinear_tangents_keep_torchs_zero_tangent_terms():
    # torch 2.13.0 materializes the zero tangent of a product operand without one: with an inf in the weight, a
    # tangent on the bias alone is NaN in every row (linear = addmm(bias, x, w.T); values printed by torch); bilinear
    # (_trilinear) likewise is NaN, not +-inf, where the weight's zero tangent meets an infinite input
    x = refgrad.tensor([[0.5, 0.5, 0.5], [0.5, 0.5, -1.0]], dtype=refgrad.float64)
    w = refgrad.tensor([[1e-100, math.inf, 1e-100]], dtype=refgrad.float64)
    got = _tangent(lambda b: refgrad.nn.functional.linear(x, w, b), ([-1.0], [6.7]))
    assert np.isnan(got).all()
    finite = refgrad.ones(1, 3, dtype=refgrad.float64)
    assert _tangent(lambda b: refgrad.nn.functional.linear(x, finite, b), ([-1.0], [6.7])) == [[6.7], [6.7]]
    x1 = refgrad.tensor([[-1.0, math.inf]], dtype=refgrad.float64)
    weight = refgrad.ones(2, 2, 1, dtype=refgrad.float64)
    got = _tangent(lambda x2: refgrad.nn.functional.bilinear(x1, x2, weight), ([[2.0]], [[1.0]]))
    assert np.isnan(got).all()


def test_div_and_addcdiv_tangents_follow_torchs_forward_formulas():
    # torch 2.13.0 (values printed by torch): div's tangent is (x_t - y_t · result) / y, so at y = -0 it is inf, not
    # the inf - inf of x_t / y - y_t · x / y²; addcdiv forms tensor1 / tensor2 before dividing again, so tensor2 =
    # 1e-300 does not overflow through tensor2² (3e299 where the VJP's formula gives -inf)
    got = _tangent(lambda x, y: x / y, ([1.0, 1e-300], [0.5, 1.0]), ([-0.0, 1e-300], [-1.2, 0.7]))
    assert got[0] == math.inf and math.isclose(got[1], 3e299)
    got = _tangent(lambda x, y: refgrad.addcdiv(x, x, y), ([1e-300], [1.0]), ([1e-300], [0.7]))
    assert math.isclose(got[0], 3e299)


def test_lerp_and_mse_tangents_run_every_term_on_zero_tangents():
    # torch 2.13.0 (values printed by torch): lerp(start, end, weight)'s tangent is lerp(start_t, end_t, weight) +
    # weight_t (end - start), the lerp on zeros where a tangent is missing: NaN at weight = inf with only the weight's
    # tangent; mse_loss runs the target's term on a zero tangent: NaN at input - target = inf
    ones = refgrad.ones(2, dtype=refgrad.float64)
    start = refgrad.zeros(2, dtype=refgrad.float64)
    got = _tangent(lambda w: refgrad.lerp(start, ones, w), ([math.inf, 0.5], [1.0, 1.0]))
    assert math.isnan(got[0]) and got[1] == 1.0
    target = refgrad.tensor([math.inf, 1.0], dtype=refgrad.float64)
    got = _tangent(lambda x: refgrad.nn.functional.mse_loss(x, target, reduction="none"), ([0.0, 3.0], [1.0, 1.0]))
    assert math.isnan(got[0]) and got[1] == 4.0


@pytest.mark.parametrize("x", [[[0.0, 800.0, -3.0], [1.0, -2.0, 40.0]], 0.7, np.linspace(-5, 5, 1100)],
                         ids=["spread", "0-d", "long-generic"])
def test_logcumsumexp_tangent_matches_central_differences_and_vjp(x):
    check_jvp(lambda a: a.logcumsumexp(-1 if np.ndim(x) else 0), np.asarray(x), order=1)
    if np.size(x) < 10:
        check_jvp(lambda a: a.logcumsumexp(-1 if np.ndim(x) else 0), np.asarray(x), order=2, rtol=1e-4, atol=1e-5)


def test_logcumsumexp_tangent_is_exact_at_wide_spreads_and_follows_torch_at_infinities():
    # out_0 = x_0, so its tangent is t_0 whatever follows (the generic rule lost log t_0 against |x_0| = 1e300 and gave
    # 1.0; torch 2.13's formula, shifted by the slice max, gives 0 at [0, 800]); torch's conventions: -inf entries
    # weigh 0, an all -inf (or NaN) slice is NaN, NaN from a +inf on
    lcse = lambda x: x.logcumsumexp(0)  # noqa: E731
    assert _tangent(lcse, ([-1e300, 0.0], [0.5, 1.5])) == [0.5, 1.5]
    assert _tangent(lcse, ([0.0, 800.0], [0.5, 1.5])) == [0.5, 1.5]
    assert _tangent(lcse, ([-math.inf, -math.inf, 1.0], [0.5, 1.5, 2.5])) == [0.0, 0.0, 2.5]
    assert all(math.isnan(v) for v in _tangent(lcse, ([-math.inf, -math.inf], [0.5, 1.5])))
    got = _tangent(lcse, ([1.0, math.inf], [0.5, 1.5]))
    assert got[0] == 0.5 and math.isnan(got[1])


def test_angle_tangent_at_a_tiny_complex64_input_is_finite():
    # Im(t / z) at z = 4.7e-27 (complex64), t = 7.23 + 6.15j: 6.15 / 4.7e-27 = 1.3086e27, finite in float32; torch
    # 2.13's formula divides by |z|², which underflows to 0, and returns NaN (a known torch-wrong divergence)
    with fwAD.dual_level():
        z = fwAD.make_dual(refgrad.tensor([4.699833361778561e-27 + 0j], dtype=refgrad.complex64),
                           refgrad.tensor([7.23 + 6.15j], dtype=refgrad.complex64))
        got = fwAD.unpack_dual(refgrad.angle(z)).tangent.item()
    assert abs(got / 1.3086e27 - 1) < 1e-3


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 2.0, 3.0, -1.0, -0.5, math.inf])
def test_vector_norm_tangent_matches_central_differences_and_vjp(p):
    x = np.array([[0.7, -1.3, 2.1], [-0.4, 1.9, 0.8]])
    check_jvp(lambda a: refgrad.linalg.vector_norm(a, p, 0), x)
    check_jvp(lambda a: refgrad.linalg.vector_norm(a, p), x, order=2, rtol=1e-4, atol=1e-5)


def test_vector_norm_tangent_at_an_infinite_element_contracts_first():
    # torch 2.13.0 (norm_jvp): Σ sgn(x)|x|^(p-1) t first, then times norm^(1-p): an inf element adds 0 and the inf
    # scale gives ±inf (values printed by torch: [inf, -inf]), where scaling each element first gives inf · 0 = NaN
    got = _tangent(lambda a: refgrad.linalg.vector_norm(a, 0.5, 0), ([[math.inf, 1.0], [2.0, -math.inf]],
                                                                      [[1.0, -1.0], [1.0, 1.0]]))
    assert got == [math.inf, -math.inf]


def test_renorm_tangent_follows_torchs_formula():
    # torch 2.13.0 (renorm_jvp): a slice whose norm is NaN or under maxnorm passes its tangent (refgrad's generic
    # rule gave NaN in the NaN slice); one over maxnorm is scaled (central differences and the VJP agree)
    got = _tangent(lambda a: a.renorm(2, 0, 1.0), ([[math.nan, 2.0], [0.3, 0.4]], [[1.0, 2.0], [3.0, 4.0]]))
    assert got[0] == [1.0, 2.0] and got[1] == [3.0, 4.0]
    check_jvp(lambda a: a.renorm(1.5, 1, 0.8), np.array([[0.7, -1.3, 0.1], [-0.4, 1.9, 0.2]]), order=2,
              rtol=1e-4, atol=1e-5)
    check_jvp(lambda a: a.renorm(0.5, 0, 0.8), np.array([[0.7, -1.3, 0.1], [-0.4, 1.9, 0.2]]))


def test_complex_div_and_angle_tangents_at_zero_and_infinite_inputs_follow_torch():
    # torch 2.13.0 (values printed by torch): dividing by a complex 0 with a divisor tangent gives NaN + NaNj (torch's
    # complex division of the NaN-carrying numerator), angle's tangent at an infinite z is NaN
    with fwAD.dual_level():
        x = fwAD.make_dual(refgrad.tensor([2 + 1j]), refgrad.tensor([1 + 0.5j]))
        y = fwAD.make_dual(refgrad.tensor([0j]), refgrad.tensor([1 + 1j]))
        got = fwAD.unpack_dual(x / y).tangent.item()
        assert math.isnan(got.real) and math.isnan(got.imag)
        z = fwAD.make_dual(refgrad.tensor([complex(0, math.inf)]), refgrad.tensor([0j]))
        assert math.isnan(fwAD.unpack_dual(refgrad.angle(z)).tangent.item())


def test_norm_tangent_of_a_slice_with_nan_statistics_is_nan():
    # torch 2.13.0 (values printed by torch): layer/batch/instance norm with a tangent on the bias only give NaN
    # tangents in a slice holding a NaN (its statistics are NaN, and torch's formula multiplies them by the input's
    # zero tangent), the bias tangent elsewhere
    x = refgrad.tensor([[1.0, 2.0, math.nan], [1.0, 2.0, 4.0]], dtype=refgrad.float64)
    got = _tangent(lambda b: refgrad.nn.functional.layer_norm(x, (3,), None, b), ([0.5, 0.5, 0.5], [1.0, 1.0, 1.0]))
    assert all(math.isnan(v) for v in got[0]) and got[1] == [1.0, 1.0, 1.0]
