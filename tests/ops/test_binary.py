"""Binary, comparison and selection ops: VJPs against central differences, and torch 2.13.0's conventions at
ties, bounds, zeros and infinities pinned as numbers (each observed on torch 2.13.0+cpu, float64).

No torch import: these run with torch absent.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import refgrad
import refgrad.autograd.forward_ad as fwAD
from tests.ops.numerical import check_vjp

nan, inf = math.nan, math.inf

# Smooth points only: no ties, no zeros of divisors, no crossing of bounds within eps.
A = np.array([[0.7, -1.3, 2.1], [1.6, -0.4, 0.9]])
B = np.array([[1.9, 0.6, -1.2], [-0.8, 2.3, 0.35]])
POS = np.array([[0.7, 1.3, 2.1], [1.6, 0.4, 0.9]])
W = np.array([0.25, 0.6, 0.85])  # broadcasts against (2, 3)
LOW, HIGH = np.array([[0.0, -1.0, 1.5], [1.0, 0.0, -2.0]]), np.array([[1.0, 0.5, 3.0], [2.0, 1.0, 1.0]])

SMOOTH = {
    "add.alpha": (lambda x, y: refgrad.add(x, y, alpha=2.5), (A, B)),
    "sub.alpha": (lambda x, y: refgrad.sub(x, y, alpha=-1.5), (A, B)),
    "rsub": (lambda x, y: refgrad.rsub(x, y, alpha=2), (A, B)),
    "rsub.scalar": (lambda x: 2 - x, (A,)),
    "mul": (lambda x, y: x * y, (A, W)),
    "div": (lambda x, y: x / y, (A, B)),
    "rdiv": (lambda x: 2 / x, (A,)),
    "true_divide": (refgrad.true_divide, (A, B)),
    "pow": (refgrad.pow, (POS, B)),
    "pow.scalar": (lambda x: refgrad.pow(x, 2.5), (POS,)),
    "pow.scalar_special": (lambda x: x ** -0.5 + x ** 3 + x ** -2, (POS,)),
    "pow.rscalar": (lambda y: refgrad.pow(1.7, y), (B,)),
    "float_power": (refgrad.float_power, (POS, B)),
    "atan2": (refgrad.atan2, (A, B)),
    "arctan2": (refgrad.arctan2, (A, B)),
    "hypot": (refgrad.hypot, (A, B)),
    "maximum": (refgrad.maximum, (A, B)),
    "minimum": (refgrad.minimum, (A, B)),
    "fmax": (refgrad.fmax, (A, B)),
    "fmin": (refgrad.fmin, (A, B)),
    "fmod": (refgrad.fmod, (A * 3 + 0.13, B)),
    "fmod.scalar": (lambda x: refgrad.fmod(x, 0.75), (A,)),
    "remainder": (refgrad.remainder, (A * 3 + 0.13, B)),
    "remainder.scalar": (lambda x: refgrad.remainder(x, -0.75), (A,)),
    "copysign": (refgrad.copysign, (A, B)),
    "copysign.scalar": (lambda x: refgrad.copysign(x, -1.0), (A,)),
    "xlogy": (refgrad.xlogy, (A, POS)),
    "xlogy.scalar_other": (lambda x: refgrad.xlogy(x, 3.0), (A,)),
    "xlogy.scalar_self": (lambda y: refgrad.xlogy(2.0, y), (POS,)),
    "special.xlogy": (refgrad.special.xlogy, (A, POS)),
    "logaddexp": (refgrad.logaddexp, (A, B)),
    "logaddexp2": (refgrad.logaddexp2, (A, B)),
    "lerp.scalar": (lambda x, y: refgrad.lerp(x, y, 0.3), (A, B)),
    "lerp.scalar_high": (lambda x, y: refgrad.lerp(x, y, 0.8), (A, B)),
    "lerp.tensor": (refgrad.lerp, (A, B, np.broadcast_to(W, A.shape).copy())),
    "addcmul": (lambda x, y, z: refgrad.addcmul(x, y, z, value=-1.5), (A, B, W)),
    "addcdiv": (lambda x, y, z: refgrad.addcdiv(x, y, z, value=0.5), (A, B, W)),
    "where": (lambda x, y: refgrad.where(x > y, x * y, y), (A, B)),
    "where.scalar": (lambda x: refgrad.where(x > 0, x * x, 1.5), (A,)),
    "clamp.scalar": (lambda x: refgrad.clamp(x, -1.0, 1.0), (A,)),
    "clamp.tensor": (refgrad.clamp, (A, LOW, HIGH)),
    "clamp.tensor_min": (lambda x, lo: refgrad.clamp(x, min=lo), (A, LOW)),
    "clamp.tensor_max": (lambda x, hi: refgrad.clamp(x, max=hi), (A, HIGH)),
    "clip": (lambda x: refgrad.clip(x, min=-1.0), (A,)),
    "clamp_min": (lambda x, lo: refgrad.clamp_min(x, lo), (A, LOW)),
    "clamp_max": (lambda x: x.clamp_max(0.5), (A,)),
    "dist.2": (refgrad.dist, (A, B)),
    "dist.1": (lambda x, y: refgrad.dist(x, y, 1), (A, B)),
    "dist.3": (lambda x, y: refgrad.dist(x, y, 3), (A, B)),
    "dist.1_5": (lambda x, y: refgrad.dist(x, y, 1.5), (A, B)),
    "dist.-1": (lambda x, y: refgrad.dist(x, y, -1), (A, B)),
    "dist.inf": (lambda x, y: refgrad.dist(x, y, inf), (A, B)),
    "dist.-inf": (lambda x, y: refgrad.dist(x, y, -inf), (A, B)),
    "method.inplace": (lambda x, y: (x * 1).atan2_(y).lerp_(y, 0.25).clamp_(-1, 1).hypot_(y), (A, B)),
}
# Double backward: everything except the piecewise-constant ones whose second derivative torch does not define.
ORDER2 = [name for name in SMOOTH if not name.startswith(("dist.inf", "dist.-inf"))]


@pytest.mark.parametrize("name", list(SMOOTH))
def test_vjp_matches_central_differences(name):
    fn, arrays = SMOOTH[name]
    check_vjp(fn, *arrays)


@pytest.mark.parametrize("name", ORDER2)
def test_double_backward_matches_central_differences(name):
    fn, arrays = SMOOTH[name]
    check_vjp(fn, *arrays, order=2)


def grads(fn, *values, dtype=refgrad.float64):
    """(output, gradients of output.sum()) as nested lists."""
    tensors = [refgrad.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    out = fn(*tensors)
    gs = refgrad.autograd.grad(out.sum(), tensors, allow_unused=True)
    return out.tolist(), [None if g is None else g.tolist() for g in gs]


def same(actual, expected):
    np.testing.assert_array_equal(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float))


# --- conventions at special points (numbers from torch 2.13.0+cpu, float64) -----------------------------------

def test_maximum_minimum_tie_split_half_and_nan_gets_both():
    # torch: maximum([1,2],[1,3]) grads ([.5,0],[.5,1]); NaN in either input → gradient 1 to both
    same(grads(refgrad.maximum, [1.0, 2.0], [1.0, 3.0])[1], [[0.5, 0.0], [0.5, 1.0]])
    same(grads(refgrad.minimum, [1.0, 2.0], [1.0, 3.0])[1], [[0.5, 1.0], [0.5, 0.0]])
    same(grads(refgrad.maximum, [nan, 2.0, nan], [1.0, nan, nan])[1], [[1, 1, 1], [1, 1, 1]])


def test_maximum_minimum_mask_the_loser_instead_of_multiplying_by_zero():
    # torch 2.13 (where(x == y, g / 2, g).masked_fill_(loses, 0)): an infinite or NaN cotangent gives the losing
    # input 0, not NaN, and so does the second order through it (triplet_margin_loss with swap=True and an infinite
    # positive, default seed 2611: torch's gradient with respect to the cotangent 0, refgrad's was NaN)
    x = refgrad.tensor([1.0, 2.0, 3.0, nan], requires_grad=True)
    y = refgrad.tensor([2.0, 2.0, 1.0, 0.0], requires_grad=True)
    g = refgrad.tensor([inf, 4.0, nan, 1.0])
    same([t.tolist() for t in refgrad.autograd.grad(refgrad.minimum(x, y), [x, y], g)],
         [[inf, 2.0, 0.0, 1.0], [0.0, 2.0, nan, 1.0]])
    same([t.tolist() for t in refgrad.autograd.grad(refgrad.maximum(x, y), [x, y], g)],
         [[0.0, 2.0, nan, 1.0], [inf, 2.0, 0.0, 1.0]])
    v = refgrad.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    gx, = refgrad.autograd.grad(refgrad.minimum(x, y), [x], v, create_graph=True)
    gv, = refgrad.autograd.grad(gx, [v], refgrad.tensor([1.0, 1.0, nan, 1.0]))
    same(gv.tolist(), [1.0, 0.5, 0.0, 1.0])  # the NaN second cotangent sits where x loses


def test_fmax_fmin_tie_all_to_first_and_nan_ignored():
    # torch 2.13: fmax tie → (1, 0); fmax(nan, 1) → grad to other; fmax(nan, nan) → grad to input (2.14 splits)
    same(grads(refgrad.fmax, [1.0, 2.0], [1.0, 3.0])[1], [[1.0, 0.0], [0.0, 1.0]])
    same(grads(refgrad.fmin, [1.0, 2.0], [1.0, 3.0])[1], [[1.0, 1.0], [0.0, 0.0]])
    out, g = grads(refgrad.fmax, [nan, 2.0, nan], [1.0, nan, nan])
    same(out, [1.0, 2.0, nan])
    same(g, [[0, 1, 1], [1, 0, 0]])


def test_clamp_scalar_bounds_closed_interval():
    # torch 2.13: clamp(x, -1, 1) at x = ±1 → grad 1; outside → 0; NaN input → 0
    same(grads(lambda x: refgrad.clamp(x, -1, 1), [-1.0, 1.0, 0.0, 2.0, -2.0, nan])[1], [[1, 1, 1, 0, 0, 0]])
    same(grads(lambda x: refgrad.clamp_min(x, 0), [0.0, 1.0, -1.0])[1], [[1, 1, 0]])
    same(grads(lambda x: refgrad.clamp_max(x, 0), [0.0, 1.0, -1.0])[1], [[1, 0, 1]])


def test_clamp_min_greater_than_max_outputs_max_with_zero_grad():
    # torch: clamp(x, 2, 1) = 1 everywhere, grad_x 0
    out, g = grads(lambda x: refgrad.clamp(x, 2, 1), [0.0, 1.5, 3.0])
    same(out, [1, 1, 1])
    same(g, [[0, 0, 0]])


def test_clamp_tensor_bounds():
    # torch 2.13: at x == lo the gradient goes to x (1, 0); above max → max; crossed bounds → max;
    # lo == hi > x → no one gets it; NaN in x or a bound → 0 everywhere except crossed bounds
    x, lo, hi = [0.0, 1.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]
    same(grads(refgrad.clamp, x, lo, hi)[1], [[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]])
    out, g = grads(refgrad.clamp, [0.0, 1.5, 3.0], [2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    same(out, [1, 1, 1])
    same(g, [[0, 0, 0], [0, 0, 0], [1, 1, 1]])
    x, lo, hi = [0.0, 1.0, 2.0, 0.5, nan, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0, nan], [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    same(grads(refgrad.clamp, x, lo, hi)[1], [[0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 1, 1]])
    x, lo = [0.0, 1.0, 2.0, nan, 0.5, 0.5], [1.0, 1.0, 1.0, 1.0, nan, 0.0]
    same(grads(refgrad.clamp_min, x, lo)[1], [[0, 1, 1, 0, 0, 1], [1, 0, 0, 0, 0, 0]])
    same(grads(refgrad.clamp_max, x, lo)[1], [[1, 1, 0, 0, 0, 0], [0, 0, 1, 0, 0, 1]])


def test_pow_at_zero_and_negative_bases():
    # torch: pow(x, 0) at 0 → 0; pow(0, y) for y = 0, .5, 1, 2, -1 → dx (0, inf, 1, 0, -inf), dy (0, 0, 0, 0, -inf)
    same(grads(lambda x: refgrad.pow(x, 0), [0.0, 2.0])[1], [[0, 0]])
    out, g = grads(refgrad.pow, [0.0] * 5, [0.0, 0.5, 1.0, 2.0, -1.0])
    same(out, [1, 0, 0, 0, inf])
    same(g, [[0, inf, 1, 0, -inf], [0, 0, 0, 0, -inf]])
    same(grads(refgrad.pow, [-2.0, -2.0], [2.0, 0.5])[1], [[-4, nan], [nan, nan]])  # x < 0 → dy NaN
    same(grads(lambda y: refgrad.pow(0.0, y), [0.0, 1.0, -1.0, 0.5])[1], [[0, 0, -inf, 0]])
    same(grads(lambda x: refgrad.pow(x, 0.5), [0.0])[1], [[inf]])
    same(grads(lambda x: refgrad.pow(x, 0.5), [-0.0])[1], [[-inf]])  # torch uses rsqrt: rsqrt(-0) = -inf


def test_atan2_hypot_xlogy_at_zero():
    # torch: atan2(0, 0) grads (0, -0); hypot(0, 0) grads (NaN, NaN)
    same(grads(refgrad.atan2, [0.0], [0.0])[1], [[0.0], [-0.0]])
    same(grads(refgrad.hypot, [0.0], [0.0])[1], [[nan], [nan]])
    # torch: xlogy at (0,0), (0,1), (1,0), (0,2), (0,-1) → dx (0, 0, -inf, log 2, 0), dy (NaN, 0, inf, 0, -0)
    out, g = grads(refgrad.xlogy, [0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 2.0, -1.0])
    same(out, [0, 0, -inf, 0, 0])
    same(g, [[0, 0, -inf, math.log(2), 0], [nan, 0, inf, 0, -0.0]])
    same(grads(refgrad.xlogy, [0.0], [nan])[1], [[nan], [nan]])


def test_xlogy_input_gradient_is_a_masked_fill_node():
    # torch 2.13: d/dx xlogy = xlogy(g, y).masked_fill((x == 0) & (y <= 0), 0); with create_graph its node is
    # MaskedFillBackward0, and a zero cotangent gives 0 (not 0 * log(-1) = NaN)
    x = refgrad.tensor([0.0, -2.0], requires_grad=True)
    y = refgrad.tensor([-1.0, -1.0])
    v = refgrad.tensor([1.0, 0.0], requires_grad=True)
    (gx,) = refgrad.autograd.grad(refgrad.xlogy(x, y), x, v, create_graph=True)
    assert type(gx.grad_fn).__name__ == "MaskedFillBackward0"
    np.testing.assert_array_equal(gx.detach().numpy(), [0.0, 0.0])


def test_logaddexp_infinities_give_nan():
    # torch: logaddexp(-inf, -inf) = -inf with grads NaN; (inf, inf) too
    out, g = grads(refgrad.logaddexp, [-inf, inf], [-inf, inf])
    same(out, [-inf, inf])
    same(g, [[nan, nan], [nan, nan]])
    same(grads(refgrad.logaddexp2, [-inf], [-inf])[1], [[nan], [nan]])


def test_fmod_remainder_other_gradient_is_minus_rounded_quotient():
    # torch: fmod(±5.5, 2) dy = (-2, 2); remainder: (-2, 3); (1, 0.1): fmod dy -10 = -trunc(1/0.1),
    # remainder dy -9 = -floor_divide(1, 0.1); divisor 0 → dy -inf
    same(grads(refgrad.fmod, [5.5, -5.5, 1.0, 5.5], [2.0, 2.0, 0.1, 0.0])[1], [[1] * 4, [-2, 2, -10, -inf]])
    same(grads(refgrad.remainder, [5.5, -5.5, 1.0, 5.5], [2.0, 2.0, 0.1, 0.0])[1], [[1] * 4, [-2, 3, -9, -inf]])


def test_copysign_gradient():
    # torch: copysign grads ((-1, -1, 0, 0, 1), zeros); at x = inf the ratio result/x is NaN
    same(grads(refgrad.copysign, [1.0, -1.0, 0.0, -0.0, 2.0], [-1.0, 1.0, 1.0, -1.0, 0.0])[1],
         [[-1, -1, 0, 0, 1], [0, 0, 0, 0, 0]])
    same(grads(lambda x: refgrad.copysign(x, -1.0), [inf, -3.0])[1], [[nan, 1]])


def test_where_leaks_nan_from_unselected_branch():
    # torch: where(x > 0, sqrt(x), 0) at -1 → NaN (here with log: log's VJP g / x at 0 → 0 * inf)
    same(grads(lambda x: refgrad.where(x > 0, refgrad.log(x), 0.0), [0.0])[1], [[nan]])
    same(grads(lambda x: refgrad.where(x > 0, x ** 0.5, 0.0), [-1.0])[1], [[nan]])


def test_dist_conventions():
    # torch: dist at equal points → 0 grads; p=1 at a zero difference → 0; p=inf ties split with sign;
    # p=-inf picks the minimum (p=0: test_dist_p0_self_gradient_is_undefined)
    same(grads(refgrad.dist, [1.0, 2.0], [1.0, 2.0])[1], [[0, 0], [0, 0]])
    same(grads(lambda x, y: refgrad.dist(x, y, 1), [1.0, 2.0], [1.0, 3.0])[1], [[0, -1], [0, 1]])
    same(grads(lambda x, y: refgrad.dist(x, y, inf), [1.0, 2.0], [3.0, 0.0])[1], [[-0.5, 0.5], [0.5, -0.5]])
    same(grads(lambda x, y: refgrad.dist(x, y, 0.5), [1.0, 2.0], [1.0, 3.0])[1], [[0, -1], [0, 1]])
    same(grads(lambda x, y: refgrad.dist(x, y, 1), [0.0], [nan])[1], [[0], [0]])  # torch: sign(NaN) = 0


@pytest.mark.parametrize("p", [0, 0.0, -0.0])
def test_dist_p0_self_gradient_is_undefined(p):
    # torch 2.13: DistBackward0 at p=0 leaves self's gradient undefined (x.grad stays None; with
    # materialize_grads zeros) and other's, its negation, raises; the forward-mode tangent is 0
    x, y = refgrad.tensor([1.0, 2.0], requires_grad=True), refgrad.tensor([1.0, 3.0])
    out = refgrad.dist(x, y, p)
    out.backward()
    assert x.grad is None and out.item() == 1.0
    (g,) = refgrad.autograd.grad(refgrad.dist(x, y, p), x, materialize_grads=True)
    same(g, [0, 0])
    for x_grad in (False, True):
        x, y = refgrad.tensor([1.0, 2.0], requires_grad=x_grad), refgrad.tensor([1.0, 3.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="Expected a proper Tensor but got None .* argument #0 'self'"):
            refgrad.dist(x, y, p).backward()
    with fwAD.dual_level():
        dual = fwAD.make_dual(refgrad.tensor([1.0, 2.0]), refgrad.ones(2))
        same(fwAD.unpack_dual(refgrad.dist(dual, y.detach(), p)).tangent, 0)


def test_rounded_division_has_zero_gradient_and_floor_divide_none():
    # torch: div(1.5, 0.7, rounding_mode='floor'/'trunc') → DivBackward2, grads 0; floor_divide's backward raises
    for mode in ("floor", "trunc"):
        out, g = grads(lambda x, y, mode=mode: refgrad.div(x, y, rounding_mode=mode), [1.5], [0.7])
        same(out, [2.0])
        same(g, [[0], [0]])
    x = refgrad.tensor([1.5], requires_grad=True)
    out = refgrad.floor_divide(x, 0.7)
    assert type(out.grad_fn).__name__ == "NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        out.sum().backward()


def test_lerp_addcdiv_values():
    # torch: lerp([1,2],[3,0],[.3,.7]) grads ([.7,.3],[.3,.7],[2,-2]); addcdiv(1, 1, 0) grads (1, inf, -inf)
    np.testing.assert_allclose(grads(refgrad.lerp, [1.0, 2.0], [3.0, 0.0], [0.3, 0.7])[1],
                               [[0.7, 0.3], [0.3, 0.7], [2, -2]], rtol=1e-15)
    same(grads(refgrad.addcdiv, [1.0], [1.0], [0.0])[1], [[1], [inf], [-inf]])


# --- forward values, dtypes, grad_fn names, errors -------------------------------------------------------------

def test_grad_fn_names():
    x, y = refgrad.tensor([1.5, -2.0], requires_grad=True), refgrad.tensor([0.7, 3.0], requires_grad=True)
    w = refgrad.tensor([0.3, 0.6], requires_grad=True)
    expected = {
        "RsubBackward1": 2 - x, "RsubBackward0": refgrad.rsub(x, y), "MulBackward0": 2 / x,
        "DivBackward2": refgrad.div(x, y, rounding_mode="trunc"), "PowBackward0": refgrad.float_power(x, 2),
        "PowBackward2": refgrad.pow(2, x), "Atan2Backward0": refgrad.arctan2(x, y),
        "FmodBackward0": refgrad.fmod(x, 2), "FmodBackward1": refgrad.fmod(x, y),
        "RemainderBackward0": refgrad.remainder(x, 2), "RemainderBackward1": refgrad.remainder(x, y),
        "CopysignBackward0": refgrad.copysign(x, y), "CopysignBackward1": refgrad.copysign(x, -1),
        "XlogyBackward0": refgrad.special.xlogy(x, y), "XlogyBackward1": refgrad.xlogy(2.0, y),
        "XlogyBackward2": refgrad.xlogy(x, 2.0), "LerpBackward0": refgrad.lerp(x, y, 0.5),
        "LerpBackward1": refgrad.lerp(x, y, w), "ClampBackward1": refgrad.clip(x, -1, 1),
        "ClampBackward0": refgrad.clamp(x, min=y), "ClampMinBackward0": refgrad.clamp_min(x, 0),
        "ClampMinBackward1": refgrad.clamp_min(x, y), "ClampMaxBackward1": refgrad.clamp_max(x, y),
        "AddcmulBackward0": refgrad.addcmul(x, y, w), "DistBackward0": refgrad.dist(x, y),
        "WhereBackward0": refgrad.where(x > 0, x, 0.0), "Logaddexp2Backward0": refgrad.logaddexp2(x, y),
    }
    for name, out in expected.items():
        assert type(out.grad_fn).__name__ == name
    assert type(refgrad.remainder(2, x).grad_fn).__name__ == "NotImplemented"


def test_wrapped_scalar_is_saved_by_mul_so_second_backward_raises():
    # torch: x * 2 saves the wrapped 2 (second backward raises); x + 2 and 2 - x save nothing
    x = refgrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    z = (2 - x + 2).sum()
    z.backward()
    z.backward()
    same(x.grad.tolist(), [2 - 2, 2 - 2])


def test_division_forward_values():
    # torch: floor/trunc of ±7 / 2 on ints → (3, -4) / (3, -3); floats with 0 divisor → (inf, -inf, nan)
    sevens = refgrad.tensor([7, -7])
    assert refgrad.div(sevens, 2, rounding_mode="floor").tolist() == [3, -4]
    assert refgrad.div(sevens, 2, rounding_mode="trunc").tolist() == [3, -3]
    same(refgrad.div(refgrad.tensor([1.0, -1.0, 0.0]), 0.0, rounding_mode="floor").tolist(), [inf, -inf, nan])
    same(refgrad.floor_divide(refgrad.tensor([-1.0, 1.0]), inf).tolist(), [-1, 0])
    same(refgrad.remainder(refgrad.tensor([-5.0, 5.0, -4.0]), refgrad.tensor([inf, -2.0, 2.0])).tolist(),
         [inf, -1, -0.0])
    assert refgrad.remainder(refgrad.tensor([-7, 7]), refgrad.tensor([2, -2])).tolist() == [1, -1]
    assert refgrad.fmod(refgrad.tensor([-7, 7]), refgrad.tensor([2, -2])).tolist() == [-1, 1]
    assert refgrad.pow(refgrad.tensor([3, -1, 1]), refgrad.tensor([-1, -3, -2])).tolist() == [0, -1, 1]
    for fn in (lambda a, b: refgrad.div(a, b, rounding_mode="trunc"), refgrad.floor_divide, refgrad.remainder,
               refgrad.fmod):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            fn(refgrad.tensor([3, 1]), refgrad.tensor([0, 1]))


def test_dtypes_and_promotion():
    f32, i64, b = refgrad.tensor([1.5, -2.0]), refgrad.tensor([3, -2]), refgrad.tensor([True, False])
    assert refgrad.atan2(i64, i64).dtype is refgrad.float32
    assert refgrad.maximum(i64, b).dtype is refgrad.int64
    assert refgrad.float_power(f32, 2).dtype is refgrad.float64
    assert refgrad.clamp(i64, 0.5).dtype is refgrad.float32
    assert refgrad.clamp(b, 0, 1).dtype is refgrad.int64
    assert refgrad.where(b, 1.0, 2.0).dtype is refgrad.float32
    assert refgrad.where(b, i64, 1.5).dtype is refgrad.float32
    assert refgrad.xlogy(i64, i64).dtype is refgrad.float32
    assert refgrad.addcmul(i64, i64, i64, value=2.5).tolist() == [21, 6]  # value truncated for integers
    assert refgrad.atan2(f32, f32.double()).dtype is refgrad.float64
    x = refgrad.tensor([0.5, 1.5], requires_grad=True)
    g, = refgrad.autograd.grad(refgrad.hypot(x, x.double()).sum(), [x])
    assert g.dtype is refgrad.float32


def test_comparisons_and_predicates():
    a = refgrad.tensor([1.0, nan, inf, 1.0, -0.0])
    b = refgrad.tensor([1.0 + 1e-9, nan, inf, 1.1, 0.0])
    assert refgrad.isclose(a, b).tolist() == [True, False, True, False, True]
    assert refgrad.isclose(a, b, equal_nan=True).tolist() == [True, True, True, False, True]
    assert refgrad.isclose(refgrad.tensor([100]), refgrad.tensor([101]), rtol=0.01, atol=0).tolist() == [True]
    assert refgrad.allclose(a[:1], b[:1]) is True and a.allclose(b) is False
    assert refgrad.allclose(a, b, equal_nan=True, rtol=0.1) is True
    assert refgrad.allclose(refgrad.tensor([1.0, 1.0]), refgrad.tensor([1.0])) is True  # broadcasts, as torch
    with pytest.raises(RuntimeError, match="Float did not match Long"):
        refgrad.allclose(refgrad.tensor([1.0]), refgrad.tensor([1]))
    with pytest.raises(TypeError, match=r"allclose\(\): argument 'other' \(position 2\) must be Tensor, not float"):
        refgrad.allclose(a, 1.0)
    assert refgrad.signbit(refgrad.tensor([-0.0, 0.0, -1.0, nan])).tolist() == [True, False, True, False]
    assert refgrad.isfinite(refgrad.tensor([1, 2])).tolist() == [True, True]
    assert refgrad.isnan(a).tolist() == [False, True, False, False, False]
    assert refgrad.equal(refgrad.tensor([1.0, 2.0]), refgrad.tensor([1, 2])) is True
    assert refgrad.equal(refgrad.tensor([nan]), refgrad.tensor([nan])) is False
    assert refgrad.equal(refgrad.tensor([1.0]), refgrad.tensor([1.0, 1.0])) is False
    assert refgrad.logical_xor(refgrad.tensor([0.0, 2.0]), refgrad.tensor([1, 3])).tolist() == [True, False]
    i = refgrad.tensor([3, -2])
    assert refgrad.bitwise_left_shift(i, refgrad.tensor([70, -1])).tolist() == [0, 0]
    assert refgrad.bitwise_right_shift(i, refgrad.tensor([70, -1])).tolist() == [0, -1]
    assert refgrad.bitwise_and(2, i).tolist() == [2, 2]
    assert (~refgrad.tensor([True, False])).tolist() == [False, True]
    x = refgrad.tensor([1.0, 2.0], requires_grad=True)
    assert not (x > 1).requires_grad and (x > 1).grad_fn is None


@pytest.mark.parametrize("call, error, message", [
    (lambda: refgrad.atan2(2.0, refgrad.tensor([1.0])), TypeError, "must be Tensor"),
    (lambda: refgrad.hypot(refgrad.tensor([1]), refgrad.tensor([1])), NotImplementedError, "hypot_cpu"),
    (lambda: refgrad.logaddexp(refgrad.tensor([1]), refgrad.tensor([1])), NotImplementedError, "logaddexp_cpu"),
    (lambda: refgrad.bitwise_and(refgrad.tensor([1.0]), refgrad.tensor([1.0])), NotImplementedError, "'Float'"),
    (lambda: refgrad.tensor([1.0]) & refgrad.tensor([1.0]), NotImplementedError, "bitwise_and_cpu"),
    (lambda: ~refgrad.tensor([1.0]), TypeError, "operator.invert"),
    (lambda: refgrad.isclose(refgrad.tensor([1.0]), refgrad.tensor([1])), RuntimeError, "Float did not match Long"),
    (lambda: refgrad.isclose(refgrad.tensor([1.0]), refgrad.tensor([1.0]), rtol=-1), RuntimeError, "rtol"),
    (lambda: refgrad.dist(refgrad.tensor([1]), refgrad.tensor([1])), RuntimeError, "floating point"),
    (lambda: refgrad.sub(refgrad.tensor([1]), refgrad.tensor([True])), RuntimeError, "with a bool tensor"),
    (lambda: refgrad.div(refgrad.tensor([1.0]), 2, rounding_mode="round"), RuntimeError, "rounding_mode"),
    (lambda: refgrad.clamp(refgrad.tensor([1.0])), RuntimeError, "At least one of 'min' or 'max'"),
    (lambda: refgrad.clamp(refgrad.tensor([1.0]), refgrad.tensor([0.0]), 1.0), TypeError, "invalid combination"),
    (lambda: refgrad.clamp(refgrad.tensor([True]), True), NotImplementedError, "clamp_min_scalar_cpu"),
    (lambda: refgrad.where(refgrad.tensor([1.0]), 1.0, 2.0), RuntimeError, "boolean tensor"),
    (lambda: refgrad.where(refgrad.tensor([True, False]), refgrad.zeros(2), refgrad.zeros(3)), RuntimeError,
     "must match the size"),
    (lambda: refgrad.add(refgrad.zeros(2), refgrad.zeros(3)), RuntimeError, r"tensor a \(2\) must match"),
    (lambda: refgrad.lerp(refgrad.tensor([1.0]), refgrad.tensor([1.0], dtype=refgrad.float64), 0.5), RuntimeError,
     "expected dtype float for `end`"),
    (lambda: refgrad.lerp(refgrad.tensor([1]), refgrad.tensor([1]), 0.5), NotImplementedError,
     "lerp_kernel_scalar"),
    (lambda: refgrad.addcdiv(refgrad.tensor([1]), refgrad.tensor([1]), refgrad.tensor([1])), RuntimeError,
     "Integer division with addcdiv"),
    (lambda: refgrad.pow(refgrad.tensor([True]), refgrad.tensor([True])), NotImplementedError, "pow"),
    (lambda: refgrad.fmod(2, refgrad.tensor([1.0])), TypeError, "must be Tensor"),
    (lambda: refgrad.pow(refgrad.tensor([2]), -1), RuntimeError, "Integers to negative integer powers"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_where_uint8_condition_warns():
    with pytest.warns(UserWarning, match="uint8 condition"):
        out = refgrad.where(refgrad.tensor([1, 0], dtype=refgrad.uint8), 1.0, 2.0)
    assert out.tolist() == [1.0, 2.0]


# --- regressions found by the conformance run ----------------------------------------------------------------

def test_tensor_where_method_takes_self_as_the_selected_input():
    x = refgrad.tensor([1.0, 2.0])
    assert x.where(x > 1, 0.0).tolist() == [0.0, 2.0]


def test_extremum_ties_are_detected_after_promotion():
    # torch: maximum(0-d float64 5e-260, float32 [0.]) computes in float32, where 5e-260 == 0: a tie → 0.5
    x = refgrad.tensor(5.3661931e-260, dtype=refgrad.float64, requires_grad=True)
    y = refgrad.tensor([0.0], requires_grad=True)
    gx, gy = refgrad.autograd.grad(refgrad.maximum(x, y).sum(), [x, y])
    assert gx.item() == 0.5 and gy.tolist() == [0.5]


def test_clamp_tensor_bounds_broadcast_and_torch_inplace_mask_refusal():
    x = refgrad.tensor(0.0, requires_grad=True)
    lo = refgrad.zeros(0, requires_grad=True)
    gx, glo = refgrad.autograd.grad(refgrad.clamp_min(x, lo).sum(), [x, lo])
    assert gx.item() == 0.0 and glo.shape == (0,)
    # torch 2.13 combines masks in place: x and min 0-d with max of shape [0] fails in backward
    hi = refgrad.zeros(0, requires_grad=True)
    out = refgrad.clamp(x, refgrad.tensor(0.0, requires_grad=True), hi)
    with pytest.raises(RuntimeError, match=r"output with shape \[\] doesn't match the broadcast shape \[0\]"):
        out.sum().backward()


@pytest.mark.parametrize("fn, flags, raises", [
    # torch: which nodes refuse a second backward depends on what they saved for the inputs requiring grad
    (lambda x, y: refgrad.fmod(x, y), (True, False), False),
    (lambda x, y: refgrad.remainder(x, y), (True, True), True),
    (lambda x, y: refgrad.div(x, y, rounding_mode="floor"), (True, False), True),
    (lambda x, y: refgrad.copysign(x, y), (False, True), True),
    (lambda x, y: refgrad.addcdiv(x, y, y), (True, False), True),
    (lambda x, y: refgrad.addcmul(x, y, y), (True, False), False),
    (lambda x, y: refgrad.lerp(y, y, x), (True, False), True),
    (lambda x, y: refgrad.float_power(x, 0), (True, False), True),
])
def test_second_backward_refusal_matches_torch(fn, flags, raises):
    x = refgrad.tensor([1.5, 0.5], dtype=refgrad.float64, requires_grad=flags[0])
    y = refgrad.tensor([0.7, 2.0], dtype=refgrad.float64, requires_grad=flags[1])
    out = fn(x, y).sum()
    out.backward()
    if raises:
        with pytest.raises(RuntimeError, match="second time"):
            out.backward()
    else:
        out.backward()


@pytest.mark.parametrize("fn, flags, target, raises", [
    # torch 2.13 (conformance hypot, lerp.tensor / errors / inplace_input): hypot saves self only for self's
    # gradient and other only for other's; lerp saves start and end only for weight's gradient
    (lambda a, b, w: refgrad.hypot(a, b), (True, False, False), 1, False),
    (lambda a, b, w: refgrad.hypot(a, b), (True, False, False), 0, True),
    (lambda a, b, w: refgrad.hypot(a, b), (False, True, False), 0, False),
    (lambda a, b, w: refgrad.lerp(a, b, w), (True, True, False), 0, False),
    (lambda a, b, w: refgrad.lerp(a, b, w), (True, True, False), 1, False),
    (lambda a, b, w: refgrad.lerp(a, b, w), (True, True, False), 2, True),
    (lambda a, b, w: refgrad.lerp(a, b, w), (False, False, True), 0, True),
])
def test_inplace_change_of_an_input_after_the_op_matches_torch(fn, flags, target, raises):
    leaves = [refgrad.tensor([1.5, 0.5], requires_grad=flag) for flag in flags]
    args = [leaf.clone() for leaf in leaves]
    out = fn(*args)
    args[target].add_(1)
    if raises:
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
    else:
        out.sum().backward()


def test_dist_refuses_empty_inputs_without_identity():
    # torch: p < 0 or ±inf on an empty tensor raises; p = 2 gives 0
    assert refgrad.dist(refgrad.zeros(0), refgrad.zeros(0)).item() == 0.0
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        refgrad.dist(refgrad.zeros(0), refgrad.zeros(0), math.inf)


def test_dist_is_torchs_unscaled_vector_norm():
    # torch 2.13 (default seed 2807): dist(0, [2.1e-188] * 2) is 0 (the squares underflow), so its gradients are 0,
    # not the unit vector of the difference; [1e200, 1e200] overflows to inf; [3e-160, 4e-160] rounds through the
    # subnormal squares to 4.999972167879245e-160; p = 3 at [3e-160, 4e-160] is 0
    zero = refgrad.tensor(0.0, dtype=refgrad.float64, requires_grad=True)
    other = refgrad.tensor([2.146449451720541e-188] * 2, dtype=refgrad.float64, requires_grad=True)
    out = refgrad.dist(zero, other)
    out.backward()
    assert out.item() == 0.0 and zero.grad.item() == 0.0 and other.grad.tolist() == [0.0, 0.0]
    for values, p, expected in (([1e200, 1e200], 2, math.inf), ([3e-160, 4e-160], 2, 4.999972167879245e-160),
                                ([3e-160, 4e-160], 3, 0.0)):
        got = refgrad.dist(refgrad.tensor(0.0, dtype=refgrad.float64), refgrad.tensor(values, dtype=refgrad.float64),
                           p)
        assert got.item() == expected


def test_dist_of_one_element_is_its_absolute_difference_for_every_p():
    # torch 2.13: dist(0, [1e-310], -1) = 1e-310 (a single element skips the power sum, whose 1e310 overflows)
    for p in (-1.0, -2.5, 0.5, 3.0):
        assert refgrad.dist(refgrad.tensor(0.0, dtype=refgrad.float64),
                            refgrad.tensor([1e-310], dtype=refgrad.float64), p).item() == 1e-310


def test_pow_double_backward_at_zero_is_nan_like_torch():
    # torch 2.13: second derivatives of pow(x, y) at (0, 0) are NaN (0 * inf inside the masked branch)
    x = refgrad.tensor(0.0, dtype=refgrad.float64, requires_grad=True)
    y = refgrad.tensor(0.0, dtype=refgrad.float64, requires_grad=True)
    gx, gy = refgrad.autograd.grad(refgrad.pow(x, y), [x, y], create_graph=True)
    second = refgrad.autograd.grad([gx, gy], [x, y], allow_unused=True)
    assert all(math.isnan(s.item()) for s in second)


def test_pow_exponent_gradient_takes_the_log_of_the_base_in_the_result_dtype():
    # torch 2.13 (measured): pow(float64 0-d 5e-324, float32 [0.]) is float32 [1.]; the exponent's gradient is
    # -inf for cotangent 1 and NaN for 0: log of the base cast to float32 (0), while the x == 0 mask reads float64
    for cotangent, check in ((1.0, lambda v: v == -math.inf), (0.0, math.isnan)):
        x = refgrad.tensor(5e-324, dtype=refgrad.float64, requires_grad=True)
        y = refgrad.tensor([0.0], requires_grad=True)
        gx, gy = refgrad.autograd.grad(refgrad.pow(x, y), [x, y], refgrad.tensor([cotangent]))
        assert gx.item() == 0.0 and gy.dtype == refgrad.float32 and check(gy.item())


def test_inplace_comparison_records_zero_gradient_node():
    # torch: x.clone().eq_(y) → EqBackward1 (EqBackward0 for a number), gradients 0
    x = refgrad.tensor([1.5, -2.0], requires_grad=True)
    y = refgrad.tensor([1.5, 3.0], requires_grad=True)
    out = x.clone().eq_(y)
    assert type(out.grad_fn).__name__ == "EqBackward1" and out.tolist() == [1.0, 0.0]
    gx, gy = refgrad.autograd.grad(out.sum(), [x, y])
    assert gx.tolist() == [0.0, 0.0] and gy.tolist() == [0.0, 0.0]
    assert type(x.clone().gt_(0).grad_fn).__name__ == "GtBackward0"


def test_float_power_inplace_needs_float64():
    with pytest.raises(RuntimeError, match="float_power_ has dtype Float"):
        refgrad.tensor([1.5]).float_power_(2)
    assert refgrad.tensor([1.5], dtype=refgrad.float64).float_power_(2).tolist() == [2.25]


def test_logical_ops_take_truth_values_in_the_promoted_dtype():
    # torch 2.13 (conformance errors cells of logical_and/logical_xor, float32): a float64 0-d operand next to a
    # float32 tensor is cast to float32 first, so 1.2e-129 is 0 (False); 1e300 overflows to inf (True); an int64
    # 0-d 256 next to a uint8 tensor is uint8 0; a dimensioned float64 operand keeps float64 (True)
    tiny = refgrad.tensor(1.2220990663783315e-129, dtype=refgrad.float64)
    one, zero = refgrad.tensor([1.0]), refgrad.tensor([0.0])
    assert refgrad.logical_and(one, tiny).tolist() == [False]
    assert refgrad.logical_and(tiny, one).tolist() == [False]
    assert refgrad.logical_or(zero, tiny).tolist() == [False]
    assert refgrad.logical_xor(zero, tiny).tolist() == [False]
    assert refgrad.logical_xor(one, tiny).tolist() == [True]
    assert one.clone().logical_and_(tiny).tolist() == [0.0]
    assert refgrad.logical_and(one, refgrad.tensor(1e300, dtype=refgrad.float64)).tolist() == [True]
    assert refgrad.logical_and(one, refgrad.tensor([1.2220990663783315e-129], dtype=refgrad.float64)).tolist() == [True]
    assert refgrad.logical_and(refgrad.tensor([1], dtype=refgrad.uint8), refgrad.tensor(256)).tolist() == [False]
    assert refgrad.logical_and(refgrad.tensor([1]), refgrad.tensor(0.3)).tolist() == [True]


def test_atan2_gradient_is_zeroed_only_where_the_squares_sum_to_zero():
    # torch 2.13: the reciprocal of x² + y² is zeroed where that sum is exactly 0 (also when the squares underflow,
    # float64 (0, 1e-170): (0, -0)); a nonzero subnormal sum whose reciprocal overflows is not (float32
    # (0, 3.96e-21): (inf, NaN) for a cotangent of 1, (NaN, NaN) for 0)
    tiny = 3.961802546455467e-21
    same(grads(refgrad.atan2, 0.0, 1e-170)[1], [0.0, -0.0])
    same(grads(refgrad.atan2, 1e-200, 1e-170)[1], [0.0, -0.0])
    same(grads(refgrad.atan2, 0.0, tiny, dtype=refgrad.float32)[1], [inf, nan])
    same(grads(refgrad.atan2, tiny, 0.0, dtype=refgrad.float32)[1], [nan, -inf])
    x = refgrad.tensor(0.0, requires_grad=True)
    y = refgrad.tensor(tiny, requires_grad=True)
    v = refgrad.tensor(0.0, requires_grad=True)
    first = refgrad.autograd.grad(refgrad.atan2(x, y), [x, y], v, create_graph=True)
    same([g.item() for g in first], [nan, nan])
    assert refgrad.autograd.grad(first[0], v)[0].item() == inf  # torch: y · inf, the reciprocal not zeroed


def _inplace_before_backward_raises(make, target, requires_grad):
    leaves = [refgrad.full((2,), 0.3).requires_grad_(r) for r in requires_grad]
    args = [leaf.clone() for leaf in leaves]
    out = make(*args)
    args[target].add_(1)
    try:
        out.sum().backward()
    except RuntimeError as error:
        assert "modified by an inplace operation" in str(error)
        return True
    return False


def test_lerp_saves_weight_whenever_it_records_a_node():
    # torch 2.13 (LerpBackward1): weight is saved for every input's gradient, also when only weight requires grad;
    # start and end only for weight's gradient
    for requires_grad in [(False, False, True), (True, False, False), (False, True, False)]:
        raised = [_inplace_before_backward_raises(refgrad.lerp, target, requires_grad) for target in range(3)]
        assert raised == [requires_grad[2], requires_grad[2], True]


def test_addcdiv_value_over_tensor2_is_a_division_in_double_backward():
    # torch 2.13: value / tensor2 is DivBackward0 of the wrapped number, whose tensor2-gradient -value / tensor2²
    # is 0 for value = 0 although 1 / tensor2² overflows in float32 (value times a reciprocal gave NaN)
    a, b, c = (refgrad.tensor(v, requires_grad=True) for v in (0.0, 0.0, 3.110095162886512e-23))
    v = refgrad.tensor(0.0, requires_grad=True)
    grad_b = refgrad.autograd.grad(a.addcdiv(b, c, value=0), (a, b, c), v, create_graph=True)[1]
    assert grad_b.grad_fn.next_functions[1][0].name() == "DivBackward0"
    assert refgrad.autograd.grad(grad_b, c, refgrad.tensor(0.0))[0].item() == 0.0


def test_isclose_compares_complex_values_whole():
    a = refgrad.tensor([1 + 1j, 2 + 0j])
    b = refgrad.tensor([1 + 1j, 2 + 1j])
    assert refgrad.isclose(a, b).tolist() == [True, False]  # the imaginary parts were dropped before


def test_addcdiv_and_addcmul_of_complex_tensors_keep_a_fractional_value():
    # torch 2.13.0: complex operands divide (only integral pairs are refused) and value=0.5 is not truncated
    z = refgrad.tensor([1 + 2j])
    assert refgrad.addcdiv(z, z, z + 1, value=0.5).tolist() == [1.375 + 2.125j]
    assert refgrad.addcmul(z, z, z, value=0.5).tolist() == [-0.5 + 4j]


@pytest.mark.parametrize("dtype, op, args, expected", [
    # torch 2.13.0 (CPU); the product rounded before the addition gives the second value
    ("float32", "addcmul", (1.0, 3.0, -1 / 3), -2.9802322387695312e-08),  # unfused: 0
    ("float64", "addcmul", (1.0, 3.0, -1 / 3), 5.551115123125783e-17),  # unfused: 0
    ("float64", "addcmul", (1e308, -2.0, 1e308), -1e308),  # unfused: -inf (the product overflows)
    ("float32", "lerp", (2.04, -2.56, 0.42), 0.10800006240606308),  # unfused: 0.10800004005432129
    ("float64", "lerp", (-0.28, -0.67, -1.06), 0.13340000000000002),  # unfused: 0.13339999999999996
])
def test_addcmul_and_lerp_fuse_the_product_into_the_sum(dtype, op, args, expected):
    # torch's kernels compute input + (value * tensor1) * tensor2 and lerp's two sides as fused multiply-adds
    tensors = [refgrad.tensor([v], dtype=getattr(refgrad, dtype)) for v in args]
    assert getattr(refgrad, op)(*tensors).item() == expected


def test_float64_multiply_subtract_is_fused_where_it_cancels_and_within_2_ulp_elsewhere():
    # refgrad/ops/_round_once.py: float64 c - a*b is the correctly rounded (fused) value where |a*b| > 2|c - a*b|
    # (the product's rounding would be the largest error of the difference), else the plain expression, whose
    # product's rounding moves it by at most 1 ulp (torch's FMA kernels: bit-equal on ~85-96 % of random inputs).
    # The exact value is computed with fractions (600 inputs, ~10 ms).
    from fractions import Fraction

    from refgrad.ops._round_once import sub_mul_once
    rng = np.random.default_rng(15)
    a, b, c = rng.standard_normal((3, 600))
    c[:200] = a[:200] * b[:200] * rng.uniform(0.9, 1.1, 200)  # a third cancels
    a[200:300] = b[200:300]  # squares, as tanh's gradient 1 - y*y computes them
    exact = np.array([float(Fraction(z) - Fraction(x) * Fraction(y)) for x, y, z in zip(a, b, c)])
    got = sub_mul_once(c, a, b)
    cancels = np.abs(a * b) > 2 * np.abs(c - a * b)
    assert cancels.sum() >= 200
    np.testing.assert_array_equal(got[cancels], exact[cancels])
    assert np.all(np.abs(got - exact) <= 2 * np.spacing(np.abs(exact)))
    y = np.tanh(rng.uniform(-4, 4, 200))  # 1 - y*y with one array: the square's own path
    exact = np.array([float(1 - Fraction(v) ** 2) for v in y])
    got = sub_mul_once(np.ones(()), y, y)
    cancels = y * y > 2 * np.abs(1 - y * y)
    np.testing.assert_array_equal(got[cancels], exact[cancels])
    assert np.all(np.abs(got - exact) <= 2 * np.spacing(exact))
    # broadcast and 0-d operands (conformance, add.alpha and tanh double_backward): 1 + 0.5 * -2 cancels exactly
    x, y = refgrad.tensor([[[0.0]], [[1.0]], [[0.0]]]), refgrad.tensor(-2.0, dtype=refgrad.float64)
    assert refgrad.add(x, y, alpha=0.5).numpy().ravel().tolist() == [-1.0, 0.0, -1.0]
    assert refgrad.add(refgrad.tensor(1.0, dtype=refgrad.float64), y, alpha=0.5).item() == 0.0
    z = refgrad.tensor(3.0, dtype=refgrad.float64, requires_grad=True)
    (g,) = refgrad.autograd.grad(refgrad.tanh(z), z)
    assert g.item() == float(1 - Fraction(math.tanh(3.0)) ** 2)


def test_sub_mul_once_cancellation_test_is_exact_at_its_boundary():
    # sub_mul_once tests |p| <= 2|c - p| as |(c - p) / p| >= 1/2 (r = |c - p|, q = |p|): the exact comparison's
    # answer at q ~ 2r too (normal, subnormal, binade-edge and huge r), and "cancels" (the careful path) for an
    # infinite or NaN product or quotient (~1 ms)
    from fractions import Fraction
    rng = np.random.default_rng(16)
    r = np.concatenate([[1.0, 1.5, np.nextafter(2.0, 0), 3e-310, 5e-324, 1e-300, 1e300, np.finfo(float).max / 2,
                         np.finfo(float).max], rng.standard_normal(40) ** 2])
    with np.errstate(over="ignore"):  # (2 max and 4 max: infinities, left out of the exact comparison)
        twice = 2 * r
        q = np.concatenate([twice, np.nextafter(twice, np.inf), np.nextafter(twice, 0), r, 4 * r, r / 3])
    r = np.tile(r, 6)
    finite = np.isfinite(q)
    exact = [Fraction(x) <= 2 * Fraction(y) for x, y in zip(q[finite], r[finite])]
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal((np.abs(r / q) >= 0.5)[finite], exact)
        special = np.array([np.inf, np.nan, 1.0, np.inf, 0.0, 1.0])  # p
        other = np.array([np.inf, 1.0, np.nan, 1.0, 0.0, np.inf])  # c - p
        np.testing.assert_array_equal(np.abs(other / special) >= 0.5, [False, False, False, False, False, True])


def test_addcmul_infinite_input_absorbs_an_overflowing_product():
    # torch 2.13.0: addcmul(inf, 1e308, -1e308, value=0.7) is inf (fused: the product never overflows), not NaN
    x, a, b = (refgrad.tensor([v], dtype=refgrad.float64) for v in (math.inf, 1e308, -1e308))
    assert refgrad.addcmul(x, a, b, value=0.7).item() == math.inf


@pytest.mark.parametrize("dtype, expected", [("float32", -6.811958996877365e-09), ("float64", 4.123685520036296e-17)])
def test_add_with_alpha_is_one_fused_multiply_add(dtype, expected):
    # torch 2.13.0: add(1, -1/0.7, alpha=0.7) = fma(0.7, -1/0.7, 1) (the product rounded first gives 0)
    x, y = (refgrad.tensor([v], dtype=getattr(refgrad, dtype)) for v in (1.0, -1 / 0.7))
    assert refgrad.add(x, y, alpha=0.7).item() == expected
    assert refgrad.sub(x, -y, alpha=0.7).item() == expected


def test_pow_by_a_one_element_tensor_exponent_is_c_pow_at_minus_inf_and_minus_zero():
    # torch 2.13.0 (default seed 3103, graph_state): pow([0, 0, -inf], tensor([0.5])) = [0, 0, inf], and
    # pow([-0.], tensor([-0.5])) = inf; NumPy's one-element exponent 0.5 is a square root (NaN at -inf, -0 at -0)
    base = refgrad.tensor([0.0, -0.0, -math.inf], dtype=refgrad.float32)
    np.testing.assert_array_equal(refgrad.pow(base, refgrad.tensor([0.5])).numpy(), [0.0, 0.0, math.inf])
    assert not np.signbit(refgrad.pow(base, refgrad.tensor([0.5])).numpy()[1])
    np.testing.assert_array_equal(refgrad.pow(base, refgrad.tensor([-0.5])).numpy(), [math.inf, math.inf, 0.0])
    assert refgrad.pow(base, refgrad.tensor([0.5])).dtype is refgrad.float32


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("value", [1e300, -1e300, 3.4028236e38, 65519.0, 65520.0, 7e4, math.inf, math.nan])
def test_a_python_float_past_a_narrow_dtype_is_inf_without_warning(dtype, value):
    # torch 2.13 wraps the number in the tensor's dtype silently (inf); NumPy's cast warns "overflow encountered"
    import warnings
    torch = pytest.importorskip("torch")
    results = []
    for t in (torch, refgrad):
        x = t.tensor([1.0, -2.0], dtype=getattr(t, dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            results.append([(x * value).tolist(), (x + value).tolist(), (value - x).tolist(),
                            x.clone().mul_(value).tolist()])
            with t.no_grad():  # (refgrad's no_grad in-place shortcut wraps the number itself)
                y = x.clone()
                y.mul_(value)
                y -= value
                results[-1].append(y.tolist())
    assert str(results[1]) == str(results[0])
