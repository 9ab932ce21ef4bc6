"""Activations: VJPs (first and second order) against central differences at smooth points, and torch 2.13.0's
gradients at the kinks, bounds and non-finite inputs pinned as numbers (each observed on torch 2.13.0+cpu,
float64, with a tensor of at most 9 elements and cotangent 1).

No torch import: these run with torch absent.

A caution the numbers below respect: for hardtanh/relu6, elu/selu/celu, hardswish, softshrink, hardshrink and
logit(eps), torch's gradient *at a NaN input* depends on whether the element falls in its vectorized CPU loop or
in the scalar tail (e.g. hardtanh: 1 at index 8 of 9 elements, 0 at index 3 of 8). refgrad follows the scalar
path, the one a small probe sees; the conformance specs keep NaN out of those ops' domains.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import refgrad
import refgrad.nn.functional as F
from tests.ops.numerical import check_vjp

nan, inf = math.nan, math.inf

X = np.array([[0.7, -1.3, 2.1], [1.6, -0.4, 0.9]])
WIDE = np.array([[4.2, -1.3, 2.1], [-3.6, -0.4, 0.9]])  # on both sides of the ±1 and ±3 kinks
EVEN = np.array([[0.7, -1.3, 2.1, 0.2], [1.6, -0.4, 0.9, -2.2]])
NCHW = np.array([[[0.7, -1.3], [2.1, -0.2]], [[-1.6, 0.4], [0.9, -2.2]], [[1.1, -0.6], [-0.3, 0.8]]]).reshape(
    1, 3, 2, 2)
CHANNEL_WEIGHT = np.array([0.25, -0.5, 1.5])

SMOOTH = {
    "relu": (refgrad.relu, (X,)),
    "F.relu": (F.relu, (X,)),
    "relu6": (F.relu6, (WIDE * 2,)),
    "hardtanh": (F.hardtanh, (WIDE,)),
    "hardtanh.bounds": (lambda x: F.hardtanh(x, -0.5, 2.0), (WIDE,)),
    "leaky_relu": (F.leaky_relu, (X,)),
    "leaky_relu.slope": (lambda x: F.leaky_relu(x, 0.2), (X,)),
    "elu": (F.elu, (X,)),
    "elu.alpha": (lambda x: F.elu(x, 0.3), (X,)),
    "selu": (refgrad.selu, (X,)),
    "celu": (lambda x: refgrad.celu(x, 2.0), (X,)),
    "gelu": (F.gelu, (X,)),
    "gelu.tanh": (lambda x: F.gelu(x, approximate="tanh"), (X,)),
    "silu": (F.silu, (X,)),
    "mish": (F.mish, (X,)),
    "softplus": (F.softplus, (X,)),
    "softplus.beta": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), (X,)),
    "softsign": (F.softsign, (X,)),
    "hardswish": (F.hardswish, (WIDE,)),
    "logsigmoid": (F.logsigmoid, (X,)),
    "tanhshrink": (F.tanhshrink, (X,)),
    "softshrink": (F.softshrink, (X,)),
    "hardshrink": (F.hardshrink, (X,)),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), (X,)),
    "glu": (F.glu, (EVEN,)),
    "glu.dim0": (lambda x: F.glu(x, 0), (EVEN,)),
    "prelu": (F.prelu, (X, np.array([0.25]))),
    "prelu.channels": (F.prelu, (NCHW, CHANNEL_WEIGHT)),
    "prelu.method": (lambda x, w: x.prelu(w), (X[0], np.array([-0.3]))),
    "rrelu": (F.rrelu, (X,)),
    "rrelu.bounds": (lambda x: refgrad.rrelu(x, 0.1, 0.5), (X,)),
    "F.tanh": (F.tanh, (X,)),
    "F.sigmoid": (F.sigmoid, (X,)),
    # in-place spellings on a non-leaf copy
    "relu_": (lambda x: refgrad.relu_(x * 1), (X,)),
    "elu_": (lambda x: F.elu_(x * 1, 0.7), (X,)),
    "selu_": (lambda x: refgrad.selu_(x * 1), (X,)),
    "celu_": (lambda x: refgrad.celu_(x * 1, 2.0), (X,)),
    "leaky_relu_": (lambda x: F.leaky_relu_(x * 1, 0.2), (X,)),
    "hardtanh_": (lambda x: F.hardtanh_(x * 1), (WIDE,)),
    "threshold_": (lambda x: refgrad.threshold_(x * 1, 0.5, 2.0), (X,)),
    "rrelu_": (lambda x: F.rrelu_(x * 1), (X,)),
    "silu.inplace": (lambda x: F.silu(x * 1, inplace=True), (X,)),
    "hardswish.inplace": (lambda x: F.hardswish(x * 1, inplace=True), (WIDE,)),
}

NO_DOUBLE_BACKWARD = {"hardsigmoid"}  # torch 2.13: "derivative for aten::hardsigmoid_backward is not implemented"


@pytest.mark.parametrize("name", sorted(SMOOTH) + ["hardsigmoid"])
def test_vjp(name):
    fn, points = SMOOTH.get(name, (F.hardsigmoid, (WIDE,)))
    check_vjp(fn, *points)


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_double_backward(name):
    fn, points = SMOOTH[name]
    check_vjp(fn, *points, order=2)


def test_hardsigmoid_has_no_double_backward():
    x = refgrad.tensor([0.5, -1.0], requires_grad=True)
    (grad,) = refgrad.autograd.grad(F.hardsigmoid(x).sum(), x, create_graph=True)
    assert grad.requires_grad and type(grad.grad_fn).__name__ == "NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::hardsigmoid_backward is not implemented"):
        refgrad.autograd.grad(grad.sum(), x)


def grads(fn, points, dtype=refgrad.float64):
    x = refgrad.tensor(points, dtype=dtype, requires_grad=True)
    y = fn(x)
    (grad,) = refgrad.autograd.grad(y.sum(), x, create_graph=True)
    (second,) = refgrad.autograd.grad(grad.sum(), x, allow_unused=True, materialize_grads=True)
    return y.detach().numpy().tolist(), grad.detach().numpy().tolist(), second.numpy().tolist()


def assert_same(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=1e-12,
                               atol=0, equal_nan=True)


P = [-inf, -3.0, -1.0, -0.0, 0.0, 1.0, 3.0, inf, nan]

# torch 2.13.0, float64: g = autograd.grad(op(x).sum(), x) at P
GRADIENTS = {
    "relu": (F.relu, [0, 0, 0, 0, 0, 1, 1, 1, 1]),  # mask result <= 0: 0 at 0, 1 at NaN
    "leaky_relu": (F.leaky_relu, [0.01, 0.01, 0.01, 0.01, 0.01, 1, 1, 1, 0.01]),  # slope at 0 and at NaN
    "hardtanh": (F.hardtanh, [0, 0, 0, 1, 1, 0, 0, 0, 1]),  # 0 at the bounds ±1
    "relu6": (F.relu6, [0, 0, 0, 0, 0, 1, 1, 0, 1]),
    "threshold": (lambda x: F.threshold(x, 1.0, 7.0), [0, 0, 0, 0, 0, 0, 1, 1, 1]),  # 0 at x == threshold
    "hardswish": (F.hardswish, [0, 0, 0.16666666666666669, 0.5, 0.5, 0.8333333333333333, 1, 1, 1]),  # 0 at -3, 1 at 3
    "hardsigmoid": (F.hardsigmoid, [0, 0] + [0.1666666716337204] * 4 + [0, 0, 0]),  # float32 1/6, 0 at ±3
    "elu": (F.elu, [0, 0.049787068367863944, 0.36787944117144233, 1, 1, 1, 1, 1, 1]),
    "selu": (F.selu, [0, 0.08753061208026487, 0.646768603034814, 1.7580993408473766, 1.7580993408473766,
                      1.0507009873554805, 1.0507009873554805, 1.0507009873554805, 1.0507009873554805]),
    "celu": (lambda x: F.celu(x, 2.0), [0, 0.22313016014842982, 0.6065306597126334, 1, 1, 1, 1, 1, 1]),
    "softshrink": (lambda x: F.softshrink(x, 1.0), [1, 1, 0, 0, 0, 0, 1, 1, 1]),  # 0 at ±lambda
    "hardshrink": (lambda x: F.hardshrink(x, 1.0), [1, 1, 0, 0, 0, 0, 1, 1, 1]),
    "softplus": (F.softplus, [0, 0.04742587317756679, 0.2689414213699951, 0.5, 0.5, 0.7310585786300049,
                              0.9525741268224333, 1, nan]),
    "softplus.negative_beta": (lambda x: F.softplus(x, beta=-2, threshold=1), [
        1, 1, 1, 0.5, 0.5, 0.11920292202211755, 0.0024726231566347748, 0, nan]),
    "logsigmoid": (F.logsigmoid, [1, 0.9525741268224333, 0.7310585786300049, 0.5, 0.5, 0.2689414213699951,
                                  0.04742587317756679, 0, nan]),
    "silu": (F.silu, [nan, -0.08810410601516962, 0.07232948812851325, 0.5, 0.5, 0.9276705118714869,
                      1.0881041060151693, nan, nan]),
    "mish": (F.mish, [nan, -0.09339311453232084, 0.059216755877395014, 0.6, 0.6, 1.0490362200997922,
                      1.0211069109294435, nan, nan]),
    "gelu": (F.gelu, [nan, -0.01194564720418392, -0.08331547058768635, 0.5, 0.5, 1.0833154705876864,
                      1.011945647204184, nan, nan]),
    "gelu.tanh": (lambda x: F.gelu(x, approximate="tanh"), [nan, -0.011584166630969648, -0.08296408384578252, 0.5,
                                                            0.5, 1.0829640838457826, 1.0115841666309695, nan, nan]),
    "softsign": (F.softsign, [nan, 0.0625, 0.25, 1, 1, 0.25, 0.0625, nan, nan]),
    "tanhshrink": (F.tanhshrink, [1, 0.9901339628345598, 0.5800256583859739, 0, 0, 0.5800256583859739,
                                  0.9901339628345598, 1, nan]),
    "rrelu": (F.rrelu, [0.22916666666666666] * 5 + [1, 1, 1, 0.22916666666666666]),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_torch_gradients_at_special_points(name):
    fn, expected = GRADIENTS[name]
    x = refgrad.tensor(P, dtype=refgrad.float64, requires_grad=True)
    (grad,) = refgrad.autograd.grad(fn(x).sum(), x)
    assert_same(grad.numpy().tolist(), expected)


# torch 2.13.0: forward values where non-finite inputs meet a product (inf * 0 = NaN) or a clamp
VALUES = {
    "hardswish": (F.hardswish, [nan, -0.0, -0.3333333333333333, -0.0, 0, 0.6666666666666666, 3, inf, nan]),
    "hardsigmoid": (F.hardsigmoid, [0, 0, 0.3333333333333333, 0.5, 0.5, 0.6666666666666666, 1, 1, nan]),
    "silu": (F.silu, [nan, -0.14227761953270035, -0.2689414213699951, -0.0, 0, 0.7310585786300049,
                      2.8577223804672998, inf, nan]),
    "mish": (F.mish, [nan, -0.1456474612756246, -0.30340146137410895, -0.0, 0, 0.8650983882673103,
                      2.9865350049679575, inf, nan]),
    "softsign": (F.softsign, [nan, -0.75, -0.5, -0.0, 0, 0.5, 0.75, nan, nan]),
    "selu": (F.selu, [-1.7580993408473766, -1.6705687287671118, -1.1113307378125625, -0.0, 0, 1.0507009873554805,
                      3.1521029620664414, inf, nan]),
    "threshold": (lambda x: F.threshold(x, 1.0, 7.0), [7, 7, 7, 7, 7, 7, 3, inf, nan]),
    "softshrink": (lambda x: F.softshrink(x, 1.0), [-inf, -2, 0, 0, 0, 0, 2, inf, nan]),
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_torch_values_at_special_points(name):
    fn, expected = VALUES[name]
    assert_same(fn(refgrad.tensor(P, dtype=refgrad.float64)).numpy().tolist(), expected)


# torch 2.13.0: second derivatives at [-inf, -1, -1e-300, -0.0, 0.0, 1e-300, 1, inf, nan], cotangents 2 then 3
Q = [-inf, -1.0, -1e-300, -0.0, 0.0, 1e-300, 1.0, inf, nan]
SECOND = {
    "elu": (F.elu, [0, 2.207276647028654, 6, 0, 0, 0, 0, 0, 0]),  # curvature only for x < 0: 0 at ±0
    "celu": (lambda x: F.celu(x, 2.0), [0, 1.8195919791379003, 3, 0, 0, 0, 0, 0, 0]),
    "elu_": (lambda x: F.elu_(x * 1), [0, 2.207276647028654, 6, 0, 0, 0, 0, 0, 0]),
    "hardswish": (F.hardswish, [0, 2, 2, 2, 2, 2, 2, 0, 0]),
    "softplus": (F.softplus, [0, 1.179671599448891, 1.5, 1.5, 1.5, 1.5, 1.179671599448891, 0, nan]),
    "logsigmoid": (F.logsigmoid, [-0.0, -1.179671599448891, -1.5, -1.5, -1.5, -1.5, -1.179671599448891, 0, nan]),
    "silu": (F.silu, [nan, 1.8141967128600918, 3, 3, 3, 3, 1.8141967128600918, nan, nan]),
    "gelu": (F.gelu, [nan, 1.4518243471148602] + [4.787307364817193] * 4 + [1.4518243471148602, nan, nan]),
    "relu": (F.relu, [0] * 9),
    "hardtanh": (F.hardtanh, [0] * 9),
    "leaky_relu": (F.leaky_relu, [0] * 9),
    "threshold": (lambda x: F.threshold(x, 0.0, 1.0), [0] * 9),
    "prelu": (lambda x: F.prelu(x, refgrad.tensor([0.25], dtype=refgrad.float64)), [0] * 9),
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_torch_second_derivatives(name):
    fn, expected = SECOND[name]
    x = refgrad.tensor(Q, dtype=refgrad.float64, requires_grad=True)
    y = fn(x)
    (grad,) = refgrad.autograd.grad(y, x, refgrad.ones_like(y) * 2, create_graph=True)
    assert grad.requires_grad  # torch: even piecewise-linear gradients stay in the graph (zero curvature)
    (second,) = refgrad.autograd.grad(grad, x, refgrad.ones_like(grad) * 3, materialize_grads=True)
    np.testing.assert_allclose(second.numpy(), expected, rtol=1e-12, equal_nan=True)


def test_glu_second_derivative_with_infinite_half():
    # torch 2.13.0 closed form: d2/db2 (a * sigmoid(b)) with a = -inf, b = 1 is +inf (autodiff of the parts: NaN)
    x = refgrad.tensor([-inf, 1.0], dtype=refgrad.float64, requires_grad=True)
    (grad,) = refgrad.autograd.grad(F.glu(x).sum(), x, create_graph=True)
    (second,) = refgrad.autograd.grad(grad.sum(), x)
    assert second.numpy()[1] == inf


def test_threshold_inplace_masks_by_the_input():
    # torch 2.13.0: threshold_(x, 0.5, 2.0) on [2.0, 0.3, 1.0, 0.5] has gradient [1, 0, 1, 0] (ThresholdBackward1
    # saves the input, so replaced slots get 0 even though their new value exceeds the threshold)
    x = refgrad.tensor([2.0, 0.3, 1.0, 0.5], dtype=refgrad.float64, requires_grad=True)
    y = F.threshold_(x * 1, 0.5, 2.0)
    assert type(y.grad_fn).__name__ == "ThresholdBackward1"
    (grad,) = refgrad.autograd.grad(y.sum(), x)
    assert grad.numpy().tolist() == [1.0, 0.0, 1.0, 0.0]


def test_prelu_weight_gradient_per_channel():
    x = refgrad.tensor(NCHW, requires_grad=True)
    w = refgrad.tensor(CHANNEL_WEIGHT, requires_grad=True)
    F.prelu(x, w).sum().backward()
    expected_w = np.where(NCHW > 0, 0, NCHW).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(w.grad.numpy(), expected_w)
    np.testing.assert_allclose(x.grad.numpy(), np.where(NCHW > 0, 1, CHANNEL_WEIGHT.reshape(1, 3, 1, 1)))


@pytest.mark.parametrize("call, grad_fn", [
    (lambda x: refgrad.relu(x), "ReluBackward0"), (lambda x: x.relu(), "ReluBackward0"),
    (lambda x: refgrad.relu_(x * 1), "ReluBackward0"), (lambda x: F.relu(x * 1, inplace=True), "ReluBackward0"),
    (lambda x: F.relu6(x), "HardtanhBackward0"), (lambda x: F.hardtanh_(x * 1), "HardtanhBackward0"),
    (lambda x: F.leaky_relu(x), "LeakyReluBackward0"), (lambda x: F.leaky_relu_(x * 1), "LeakyReluBackward1"),
    (lambda x: F.elu(x), "EluBackward0"), (lambda x: F.elu(x * 1, inplace=True), "EluBackward1"),
    (lambda x: F.selu(x), "EluBackward0"), (lambda x: refgrad.selu_(x * 1), "EluBackward1"),
    (lambda x: F.celu(x), "CeluBackward0"), (lambda x: F.celu_(x * 1), "CeluBackward1"),
    (lambda x: F.gelu(x, approximate="tanh"), "GeluBackward0"), (lambda x: F.silu(x), "SiluBackward0"),
    (lambda x: F.mish(x * 1, inplace=True), "MishBackward0"), (lambda x: F.softplus(x), "SoftplusBackward0"),
    (lambda x: F.softsign(x), "DivBackward0"), (lambda x: F.hardsigmoid(x), "HardsigmoidBackward0"),
    (lambda x: F.hardswish(x), "HardswishBackward0"), (lambda x: F.logsigmoid(x), "LogSigmoidBackward0"),
    (lambda x: F.tanhshrink(x), "SubBackward0"), (lambda x: F.softshrink(x), "SoftshrinkBackward0"),
    (lambda x: x.hardshrink(), "HardshrinkBackward0"), (lambda x: refgrad.threshold(x, 0.1, 2.0),
                                                        "ThresholdBackward0"),
    (lambda x: refgrad.threshold_(x * 1, 0.1, 2.0), "ThresholdBackward1"), (lambda x: F.glu(x), "GluBackward0"),
    (lambda x: x.prelu(refgrad.tensor([0.2])), "PreluKernelBackward0"), (lambda x: F.rrelu(x),
                                                                         "RreluWithNoiseBackward0"),
    (lambda x: refgrad.rrelu_(x * 1), "RreluWithNoiseBackward1"), (lambda x: F.tanh(x), "TanhBackward0"),
    (lambda x: F.sigmoid(x), "SigmoidBackward0"),
])
def test_grad_fn_names(call, grad_fn):
    x = refgrad.tensor([0.3, -0.6], requires_grad=True)
    assert type(call(x).grad_fn).__name__ == grad_fn


def test_dtypes_and_integer_inputs():
    ints = refgrad.tensor([15, -25, 34])
    assert F.relu(ints).dtype is refgrad.int64 and F.relu6(ints).dtype is refgrad.int64
    # torch 2.13.0: scalars convert to the tensor's integer type by truncation
    assert F.threshold(ints, 1, 2.5).numpy().tolist() == [15, 2, 34]
    assert F.hardtanh(ints, -1.5, 2.5).numpy().tolist() == [2, -1, 2]
    assert F.softsign(ints).dtype is refgrad.float32 and F.tanhshrink(ints).dtype is refgrad.float32
    x32 = refgrad.tensor([0.5, -1.5], dtype=refgrad.float32, requires_grad=True)
    for fn in (F.gelu, F.elu, F.softplus, F.mish, F.silu, F.logsigmoid, F.hardswish, F.glu, F.leaky_relu):
        y = fn(x32)
        (grad,) = refgrad.autograd.grad(y.sum(), x32)
        assert y.dtype is refgrad.float32 and grad.dtype is refgrad.float32, fn


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.relu(x.bool()), RuntimeError, "Boolean inputs not supported for relu"),
    (lambda x: F.hardtanh(x, 1.0, -1.0), ValueError, "min_val cannot be greater than max_val"),
    (lambda x: F.hardtanh(x.bool()), RuntimeError, "Bool inputs not supported for hardtanh"),
    (lambda x: F.leaky_relu(x.long()), NotImplementedError, "\"leaky_relu_cpu\" not implemented for 'Long'"),
    (lambda x: F.elu(x.long()), NotImplementedError, "\"elu_cpu\" not implemented for 'Long'"),
    (lambda x: F.celu(x, 0.0), RuntimeError, "ZeroDivisionError: alpha cannot be 0 for CELU"),
    (lambda x: F.gelu(x, approximate="foo"), RuntimeError, "approximate argument must be either none or tanh."),
    (lambda x: F.softshrink(x.double(), -1.0), RuntimeError,
     "lambda must be in range [0, 1.79769e+308] for input dtype Double, but found -1"),
    (lambda x: F.glu(x[:3]), RuntimeError, "Halving dimension must be even, but dimension 0 is size 3"),
    (lambda x: F.glu(x[0]), RuntimeError, "glu does not support scalars because halving size must be even"),
    (lambda x: F.glu(x, dim=3), IndexError, "Dimension out of range"),
    (lambda x: F.prelu(x.reshape(2, 2), refgrad.ones(3)), RuntimeError,
     "Mismatch of parameter numbers and input channel size. Found parameter numbers = 3 and channel size = 2."),
    (lambda x: F.prelu(x, refgrad.ones(1, dtype=refgrad.float64)), RuntimeError,
     "prelu: Type promoting not supported. Got Float and Double"),
    (lambda x: F.prelu(x, refgrad.ones(2, 1)), RuntimeError, "Expected `weight` to be a scalar or 1D tensor"),
    (lambda x: F.prelu(x, 0.25), TypeError, "prelu(): argument 'weight' (position 2) must be Tensor, not float"),
    (lambda x: F.rrelu(x, 0.5, 0.1), RuntimeError, "Lower bound should be less than or equal to the upper bound"),
    (lambda x: F.rrelu(x, training=True), NotImplementedError, "training=False"),
    (lambda x: F.tanhshrink(x.bool()), RuntimeError, "Subtraction, the `-` operator, with a bool tensor"),
])
def test_errors(call, error, message):
    x = refgrad.tensor([0.3, -0.4, 0.7, -1.2])
    with pytest.raises(error) as info:
        call(x)
    assert message in str(info.value)


def test_inplace_refusals():
    leaf = refgrad.tensor([0.3, -0.4], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        F.relu(leaf, inplace=True)
    # torch 2.13.0: a negative slope is accepted by leaky_relu_ but its backward refuses
    y = F.leaky_relu_(leaf * 1, -0.2)
    with pytest.raises(RuntimeError, match="In-place leakyReLu backward calculation is triggered with a negative"):
        y.sum().backward()


def test_prelu_double_backward_masks_zero_as_positive():
    # torch 2.13.0: prelu(x=0, w=[0]) with cotangent g (requiring grad): d<grad_x, 1>/dg = 1 at x == 0 (the double
    # backward masks with x >= 0, while the first-order gradient at 0 is the weight)
    x = refgrad.tensor(0.0, dtype=refgrad.float64, requires_grad=True)
    w = refgrad.tensor([0.0], dtype=refgrad.float64, requires_grad=True)
    g = refgrad.tensor(0.0, dtype=refgrad.float64, requires_grad=True)
    (grad_x,) = refgrad.autograd.grad(F.prelu(x, w), x, g, create_graph=True)
    (second,) = refgrad.autograd.grad(grad_x, g)
    assert second.item() == 1.0


def test_gelu_float32_at_inf_follows_torch_kernel():
    # torch 2.13.0 float32: gelu(+inf) = nan in a contiguous tensor of 2+ elements (vectorized kernel), +inf alone
    assert math.isnan(F.gelu(refgrad.tensor([0.5, inf])).numpy()[1])
    assert F.gelu(refgrad.tensor([inf])).item() == inf
    assert F.gelu(refgrad.tensor([0.5, inf], dtype=refgrad.float64)).numpy()[1] == inf


def test_softplus_curvature_is_zero_at_the_threshold():
    # torch 2.13.0: softplus(x, beta=2, threshold=1) at x = 0.5 (beta x == threshold): first derivative
    # 0.7311 (smooth branch, mask beta x > threshold) but second derivative 0 (mask beta x >= threshold)
    x = refgrad.tensor([0.5, 0.4999], dtype=refgrad.float64, requires_grad=True)
    (grad,) = refgrad.autograd.grad(F.softplus(x, 2.0, 1.0).sum(), x, create_graph=True)
    (second,) = refgrad.autograd.grad(grad.sum(), x)
    np.testing.assert_allclose(grad.detach().numpy(), [0.7310585786300049, 0.7310192544262487], rtol=1e-9)
    assert second.numpy()[0] == 0.0 and second.numpy()[1] == pytest.approx(0.3933, abs=1e-4)


def test_prelu_double_backward_skips_the_weight_term_when_its_cotangent_never_flowed():
    """torch 2.13 (float64): prelu(x = [NaN, 0], weight [0]), d(grad_x)/d(grad_output) is [0, 0] when the weight
    needs no gradient (its cotangent is undefined, no gg_w * x term), but [NaN, ...] once a cotangent reaches the
    weight's gradient (0 * NaN), here with x = [NaN, 0, -1], weight 0.5: [NaN, 1, 0.5]."""
    nan = float("nan")

    def second(x_values, weight_grad):
        x = refgrad.tensor(x_values, dtype=refgrad.float64, requires_grad=True)
        w = refgrad.tensor([0.0 if not weight_grad else 0.5], dtype=refgrad.float64, requires_grad=weight_grad)
        g = refgrad.ones(len(x_values), dtype=refgrad.float64, requires_grad=True)
        y = F.prelu(x, w)
        if not weight_grad:
            (gx,) = refgrad.autograd.grad(y, x, g, create_graph=True)
            return refgrad.autograd.grad(gx.sum(), g)[0].tolist()
        gx, gw = refgrad.autograd.grad(y, (x, w), g, create_graph=True)
        return refgrad.autograd.grad(gx.sum() + gw.sum() * 0, g)[0].tolist()

    assert second([nan, 0.0], weight_grad=False) == [0.0, 1.0]
    got = second([nan, 0.0, -1.0], weight_grad=True)
    assert np.isnan(got[0]) and got[1:] == [1.0, 0.5]


def test_prelu_double_backward_skips_the_input_term_when_its_cotangent_never_flowed():
    """torch 2.13 (float64): x = [-1, 0] needing no gradient, weight [NaN]: d(grad_weight)/d(grad_output) is
    [-0, 0] (the undefined gg_x * weight term is skipped), not NaN."""
    x = refgrad.tensor([-1.0, 0.0], dtype=refgrad.float64)
    w = refgrad.tensor([float("nan")], dtype=refgrad.float64, requires_grad=True)
    g = refgrad.ones(2, dtype=refgrad.float64, requires_grad=True)
    (gw,) = refgrad.autograd.grad(F.prelu(x, w), w, g, create_graph=True)
    (second,) = refgrad.autograd.grad(gw.sum(), g)
    assert second.tolist() == [-1.0, 0.0]


def test_gelu_tanh_second_derivative_in_torchs_float32_order():
    # torch 2.13.0 (default seed 3106): x = 3, v = 9.1054048538208, u = -5.9628071784973145, float32: 1.7247804403305054
    # (true value 1.72478607; differentiating the first-order formula instead gave 1.7248077392578125)
    x = refgrad.tensor([3.0], dtype=refgrad.float32, requires_grad=True)
    v = refgrad.tensor([9.1054048538208], dtype=refgrad.float32, requires_grad=True)
    (g,) = refgrad.autograd.grad(F.gelu(x, approximate="tanh"), [x], v, create_graph=True)
    (gg,) = refgrad.autograd.grad(g, [x], refgrad.tensor([-5.9628071784973145], dtype=refgrad.float32))
    assert gg.item() == 1.7247804403305054
