"""The nodes of first-order gradients computed with create_graph are torch's (grad_fn names and next_functions,
live torch 2.13), one case list per pattern the survey (``python -m conformance.survey_grad_fn``) found, each
checked against central differences too. Under a second.

- complex holomorphic ops: torch's formulas conjugate the saved values (``grad * other.conj()``), so the gradient's
  node is the formula's (MulBackward0 over ConjBackward0); refgrad computed conj(vjp(conj(g))) and recorded
  ConjPhysicalBackward0 on top;
- masks: torch's formulas zero a gradient's entries with masked_fill (maximum/minimum, fmax/fmin, atan2, copysign,
  dist, complex sgn): MaskedFillBackward0 where refgrad had WhereBackward0; and the forward nodes of where and
  masked_fill have edges for the differentiable inputs only (refgrad had one, None, for the condition or mask);
- indexing: the gradient of a gather (index, gather, index_select, take, masked_select) is torch's write into new
  zeros (IndexPutImplBackward0, ScatterAddBackward0, IndexAddBackward0, PutBackward0, MaskedScatterBackward0 with
  next_functions [None, g]), a write's gradient in its input torch's zeroing (ScatterBackward1, IndexFillBackward0,
  MaskedFillBackward0, PutBackward0 [g, None]...) and in its values torch's gather (GatherBackward0,
  TakeBackward0, IndexSelectBackward0 under ExpandBackward0); refgrad had IndexPutBackward0 and IndexBackward0;
- Scalar overloads: where torch's formula multiplies or adds a Scalar, its node is MulBackward1/AddBackward1
  (refgrad wrapped the number: MulBackward0 with a None edge);
- alpha and beta factors (add/sub/rsub, addmm/addmv/baddbmm/addbmm): MulBackward1 too;
- squeeze and its copies: torch's unsqueeze_to (UnsqueezeBackward0 per squeezed dimension, or the cotangent);
- repeat and tile: torch's repeat_backward (SumBackward1 over ViewBackward0, or the cotangent itself);
- fused backward kernels: gelu's and logsigmoid's gradients are one node, as torch's (GeluBackwardBackward0,
  LogSigmoidBackwardBackward0; refgrad composed them of MulBackward0...)."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_backward_node

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)


def _complex(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape) + 0.5


Z, W = _complex(2, 3), _complex(2, 3)
A, B = _complex(3, 3) + 3 * np.eye(3), _complex(3, 2)


def _names(node):
    if node is None:  # the cotangent itself (add's gradient)
        return None
    return type(node).__name__, [None if n is None else type(n).__name__ for n, _ in node.next_functions]


def _gradient_nodes(t, fn, points):
    inputs = [t.tensor(p, requires_grad=True) for p in points]
    out = fn(t, *inputs)
    v = t.ones_like(out).requires_grad_()
    grads = t.autograd.grad(out, inputs, v, create_graph=True)
    return [_names(g.grad_fn) for g in grads]


COMPLEX = [  # (id, fn of the library t and its inputs, points): name and next_functions as torch's
    ("mul", lambda t, x, y: x * y, (Z, W)),
    ("mul.scalar", lambda t, x: x * (2 - 1j), (Z,)),
    ("exp", lambda t, x: x.exp(), (Z,)),
    ("log", lambda t, x: x.log(), (Z,)),
    ("add", lambda t, x, y: x + y, (Z, W)),
    ("transpose", lambda t, x: x.t() * 1j, (Z,)),
    ("linalg.inv", lambda t, x: t.linalg.inv(x), (A,)),
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in COMPLEX], ids=[c[0] for c in COMPLEX])
def test_complex_gradient_nodes_are_torchs(fn, points):
    # torch 2.13: e.g. mul: MulBackward0 [AccumulateGrad (the cotangent), ConjBackward0 (other.conj())]
    assert _gradient_nodes(refgrad, fn, points) == _gradient_nodes(torch, fn, points)


def _top(t, fn, points):
    return [n[0] for n in _gradient_nodes(t, fn, points)]


COMPLEX_NAMES = [  # the top node only: torch's next_functions differ by an order of conj and a view
    ("sin", lambda t, x: x.sin(), (Z,)),
    ("matmul", lambda t, x, y: x @ y, (A, B)),  # torch: MmBackward0 [.., ConjBackward0]; refgrad: [.., TBackward0]
    ("tanh", lambda t, x: x.tanh(), (Z,)),
    ("div", lambda t, x, y: x / y, (Z, W)),
    ("reciprocal", lambda t, x: x.reciprocal(), (Z,)),
    ("pow", lambda t, x, y: x ** y, (Z, W)),
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in COMPLEX_NAMES], ids=[c[0] for c in COMPLEX_NAMES])
def test_complex_gradient_node_names_are_torchs(fn, points):
    # torch 2.13: sin: MulBackward0 [AccumulateGrad, ConjBackward0 (of cos)]; refgrad: [AccumulateGrad, CosBackward0
    # (cos of the conjugated input)], the same values
    assert _top(refgrad, fn, points) == _top(torch, fn, points)


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in COMPLEX + COMPLEX_NAMES],
                         ids=[c[0] for c in COMPLEX + COMPLEX_NAMES])
def test_complex_gradient_nodes_against_central_differences(fn, points):
    check_backward_node(lambda *xs: fn(refgrad, *xs), *points)


X = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]])
Y = np.array([[0.75, 1.0, -2.0], [1.5, -3.0, 0.75]])  # no tie with X: central differences hold
MASK = np.array([[True, False, True], [False, False, True]])

MASKED = [  # torch 2.13's formulas mask with masked_fill (MaskedFillBackward0), refgrad used where (WhereBackward0)
    ("maximum", lambda t, x, y: t.maximum(x, y), (X, Y)),
    ("minimum", lambda t, x, y: t.minimum(x, y), (X, Y)),
    ("fmax", lambda t, x, y: t.fmax(x, y), (X, Y)),
    ("fmin", lambda t, x, y: t.fmin(x, y), (X, Y)),
    ("atan2", lambda t, x, y: t.atan2(x, y), (X, Y)),
    ("copysign", lambda t, x, y: t.copysign(x, y), (X + 0.125, Y)),
    ("dist", lambda t, x, y: t.dist(x, y), (X, Y)),
    ("sgn.complex", lambda t, x: x.sgn(), (Z,)),
    # the forward nodes of where and masked_fill have no edge for the condition or mask (refgrad had a None one)
    ("where", lambda t, x, y: t.where(t.tensor(MASK), x, y), (X, Y)),
    ("where.scalar", lambda t, x: t.where(t.tensor(MASK), x, 2.0), (X,)),
    ("clamp", lambda t, x: x.clamp(-0.5, 1.0), (X + 0.125,)),
    ("masked_fill", lambda t, x: x.masked_fill(t.tensor(MASK), 2.0), (X,)),
    ("masked_fill.tensor", lambda t, x, v: x.masked_fill(t.tensor(MASK), v), (X, np.array(1.5))),
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in MASKED], ids=[c[0] for c in MASKED])
def test_masked_gradient_nodes_are_torchs(fn, points):
    assert _gradient_nodes(refgrad, fn, points) == _gradient_nodes(torch, fn, points)


@pytest.mark.parametrize("fn", [lambda t, x, y: t.where(t.tensor(MASK), x, y),
                                lambda t, x, y: t.where(t.tensor(MASK), x, 2.0),
                                lambda t, x, y: x.masked_fill(t.tensor(MASK), 2.0),
                                lambda t, x, y: x.masked_fill(t.tensor(MASK), y.sum())],
                         ids=["where", "where.scalar", "masked_fill", "masked_fill.tensor"])
def test_where_and_masked_fill_record_no_edge_for_the_mask(fn):
    # torch 2.13: WhereBackward0 [self, other], MaskedFillBackward0 [self], MaskedFillBackward1 [self, value]
    def forward(t):
        return _names(fn(t, t.tensor(X, requires_grad=True), t.tensor(Y, requires_grad=True)).grad_fn)
    assert forward(refgrad) == forward(torch)


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in MASKED], ids=[c[0] for c in MASKED])
def test_masked_gradient_nodes_against_central_differences(fn, points):
    check_backward_node(lambda *xs: fn(refgrad, *xs), *points)


GRID = np.arange(12.0).reshape(3, 4) / 4.0
INDEX = np.array([[0, 2], [1, 0], [2, 2]])
GRID_MASK = GRID > 1.25

INDEXED = [  # torch 2.13: a gather's gradient writes the cotangent into new zeros (next_functions [None, g]); a
    # write's gradient in its input zeroes the written positions, in its values gathers them (refgrad had
    # IndexPutBackward0 and IndexBackward0 throughout)
    ("gather", lambda t, x: t.gather(x, 1, t.tensor(INDEX)), (GRID,)),  # ScatterAddBackward0
    ("take_along_dim", lambda t, x: t.take_along_dim(x, t.tensor(INDEX), 1), (GRID,)),
    ("index_select", lambda t, x: t.index_select(x, 0, t.tensor([2, 0, 2])), (GRID,)),  # IndexAddBackward0
    ("take", lambda t, x: t.take(x, t.tensor([1, 5, 5])), (GRID,)),  # PutBackward0
    ("masked_select", lambda t, x: t.masked_select(x, t.tensor(GRID_MASK)), (GRID,)),  # MaskedScatterBackward0
    ("getitem.tensors", lambda t, x: x[t.tensor([0, 2, 2])], (GRID,)),  # IndexPutImplBackward0
    ("getitem.mask", lambda t, x: x[t.tensor(GRID_MASK)], (GRID,)),
    ("getitem.mixed", lambda t, x: x[1:, t.tensor([0, 3])], (GRID,)),
    ("scatter", lambda t, x, s: x.scatter(1, t.tensor([[0, 2], [1, 3], [3, 2]]), s), (GRID, GRID[:, :2])),
    ("scatter.value", lambda t, x: x.scatter(1, t.tensor(INDEX), 2.0), (GRID,)),  # ScatterBackward1
    ("scatter_add", lambda t, x, s: x.scatter_add(1, t.tensor(INDEX), s), (GRID, GRID[:, :2])),  # GatherBackward0
    ("index_copy", lambda t, x, s: x.index_copy(0, t.tensor([2, 0]), s), (GRID, GRID[:2])),  # IndexFillBackward0
    ("index_fill", lambda t, x: x.index_fill(0, t.tensor([2, 0]), 1.5), (GRID,)),
    ("index_add", lambda t, x, s: x.index_add(0, t.tensor([2, 0]), s), (GRID, GRID[:2])),  # Expand over IndexSelect
    ("put", lambda t, x, s: x.put(t.tensor([1, 5]), s), (GRID, np.array([1.0, 2.0]))),  # PutBackward0 [g, None]
    ("put.accumulate", lambda t, x, s: x.put(t.tensor([1, 5]), s, accumulate=True), (GRID, np.array([1.0, 2.0]))),
    ("index_put", lambda t, x, s: x.index_put((t.tensor([1, 2]),), s), (GRID, GRID[:2])),
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in INDEXED], ids=[c[0] for c in INDEXED])
def test_indexing_gradient_nodes_are_torchs(fn, points):
    assert _gradient_nodes(refgrad, fn, points) == _gradient_nodes(torch, fn, points)


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in INDEXED], ids=[c[0] for c in INDEXED])
def test_indexing_gradient_nodes_against_central_differences(fn, points):
    check_backward_node(lambda *xs: fn(refgrad, *xs), *points)


U, V = np.array([0.5, 1.5, -2.0]), np.array([1.0, 2.5, -1.0])
QKV = np.arange(6.0).reshape(1, 2, 3) / 5.0

SCALARS = [  # torch 2.13's formulas multiply or add a Scalar (mul.Scalar: MulBackward1, add.Scalar: AddBackward1)
    # where refgrad wrapped the number in a tensor (MulBackward0 with an edge None for it)
    ("lerp.scalar", lambda t, x, y: t.lerp(x, y, 0.3), (U, V)),  # grad * weight, grad * (1 - weight)
    ("ldexp", lambda t, x, y: t.ldexp(x, y), (U, V)),  # grad * result * ln 2
    ("nextafter", lambda t, x, y: t.nextafter(x, y), (U, V)),  # where(self != other, grad, 0)
    ("logaddexp", lambda t, x, y: t.logaddexp(x, y), (U, V)),  # grad / (1 + exp(..))
    ("logaddexp2", lambda t, x, y: t.logaddexp2(x, y), (U, V)),
    ("addcmul", lambda t, x, y, z: t.addcmul(x, y, z, value=0.5), (U, V, U)),  # grad * (tensor2 * value)
    ("silu", lambda t, x: t.nn.functional.silu(x), (U,)),  # ... * (1 + self * (1 - sigmoid))
    ("pow.scalar", lambda t, x: x ** 2.5, (np.abs(U),)),  # grad * (exponent * self.pow(exponent - 1))
    ("xlogy.scalar_self", lambda t, y: t.xlogy(2.0, y), (np.abs(V),)),  # grad * self / other
    ("exp2", lambda t, x: t.exp2(x), (U,)),  # grad * result * ln 2
    ("deg2rad", lambda t, x: t.deg2rad(x), (U,)),  # grad * (pi / 180)
    ("rad2deg", lambda t, x: t.rad2deg(x), (U,)),
    ("scaled_dot_product_attention", lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v),
     (QKV, np.ascontiguousarray(QKV[:, ::-1]), QKV * 2)),  # the math path scales q and k by the Scalar sqrt(scale)
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in SCALARS], ids=[c[0] for c in SCALARS])
def test_scalar_gradient_nodes_are_torchs(fn, points):
    assert _gradient_nodes(refgrad, fn, points) == _gradient_nodes(torch, fn, points)


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in SCALARS], ids=[c[0] for c in SCALARS])
def test_scalar_gradient_nodes_against_central_differences(fn, points):
    check_backward_node(lambda *xs: fn(refgrad, *xs), *points)


FUSED = [  # torch 2.13's backward kernels, one node each under create_graph (refgrad had MulBackward0)
    ("gelu", lambda t, x: t.nn.functional.gelu(x), (U,)),  # GeluBackwardBackward0
    ("logsigmoid", lambda t, x: t.nn.functional.logsigmoid(x), (U,)),  # LogSigmoidBackwardBackward0
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in FUSED], ids=[c[0] for c in FUSED])
def test_fused_gradient_nodes_are_torchs(fn, points):
    assert _gradient_nodes(refgrad, fn, points) == _gradient_nodes(torch, fn, points)


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in FUSED], ids=[c[0] for c in FUSED])
def test_fused_gradient_nodes_against_central_differences(fn, points):
    check_backward_node(lambda *xs: fn(refgrad, *xs), *points)


MAT, MAT2, BIAS = np.arange(6.0).reshape(2, 3) / 3, np.arange(12.0).reshape(3, 4) / 5, np.ones((2, 4)) / 2
SCALED = [  # torch's maybe_multiply(grad, alpha/beta): MulBackward1 (refgrad had MulBackward0 with a None edge)
    ("addmm", lambda t, c, a, b: t.addmm(c, a, b, beta=0.5, alpha=2.0), (BIAS, MAT, MAT2)),
    ("addmv", lambda t, c, a, b: t.addmv(c, a, b, beta=0.5, alpha=2.0), (BIAS[0, :2], MAT, MAT2[:, 0])),
    ("baddbmm", lambda t, c, a, b: t.baddbmm(c, a, b, beta=0.5, alpha=2.0), (BIAS[None], MAT[None], MAT2[None])),
    ("addbmm", lambda t, c, a, b: t.addbmm(c, a, b, beta=0.5, alpha=2.0), (BIAS, MAT[None], MAT2[None])),
    ("rsub", lambda t, x, y: t.rsub(x, y, alpha=2.0), (MAT, MAT + 1)),  # MulBackward1 over NegBackward0
    ("sub", lambda t, x, y: t.sub(x, y, alpha=2.0), (MAT, MAT + 1)),
    ("add", lambda t, x, y: t.add(x, y, alpha=2.0), (MAT, MAT + 1)),
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in SCALED], ids=[c[0] for c in SCALED])
def test_alpha_beta_gradient_nodes_are_torchs(fn, points):
    assert _gradient_nodes(refgrad, fn, points) == _gradient_nodes(torch, fn, points)


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in SCALED], ids=[c[0] for c in SCALED])
def test_alpha_beta_gradient_nodes_against_central_differences(fn, points):
    check_backward_node(lambda *xs: fn(refgrad, *xs), *points)


SQUEEZES = [  # torch's unsqueeze_to: one UnsqueezeBackward0 per squeezed dimension, the cotangent itself when none
    # was (refgrad reshaped: ViewBackward0); unsqueeze_copy's is squeeze (SqueezeBackward1)
    ("squeeze", lambda t, x: x.squeeze(), (np.ones((2, 1, 2)),)),
    ("squeeze.nothing", lambda t, x: x.squeeze(), (np.ones((2, 3)),)),
    ("squeeze.dim.noop", lambda t, x: x.squeeze(0), (np.ones((2, 1, 2)),)),
    ("squeeze.dims", lambda t, x: x.squeeze((0, 1)), (np.ones((1, 1, 2)),)),
    ("squeeze.0d", lambda t, x: x.squeeze(), (np.array(1.5),)),
    ("squeeze_copy", lambda t, x: t.squeeze_copy(x, 2), (np.ones((1, 2, 1)),)),
    ("unsqueeze_copy", lambda t, x: t.unsqueeze_copy(x, -1), (np.ones((2, 3)),)),
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in SQUEEZES], ids=[c[0] for c in SQUEEZES])
def test_squeeze_gradient_nodes_are_torchs(fn, points):
    assert _gradient_nodes(refgrad, fn, points) == _gradient_nodes(torch, fn, points)


CUBE = np.arange(18.0).reshape(3, 2, 3) / 7.0
REPEATS = [  # torch's repeat_backward: leading new dimensions summed one by one, repeated ones split off and summed
    # (SumBackward1 over ViewBackward0), the cotangent itself when nothing repeats (refgrad: ViewBackward0 on top)
    ("repeat", lambda t, x: x.repeat(2, 1, 1), (CUBE,)),
    ("repeat.ones", lambda t, x: x.repeat(1, 1, 1), (CUBE,)),
    ("repeat.new_dims", lambda t, x: x.repeat(2, 1, 1, 3), (CUBE,)),
    ("repeat.0d", lambda t, x: x.repeat(2, 3), (np.array(1.5),)),
    ("tile", lambda t, x: x.tile((2,)), (CUBE,)),
    ("tile.nothing", lambda t, x: x.tile(()), (CUBE,)),
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in REPEATS], ids=[c[0] for c in REPEATS])
def test_repeat_gradient_nodes_are_torchs(fn, points):
    assert _gradient_nodes(refgrad, fn, points) == _gradient_nodes(torch, fn, points)


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in REPEATS], ids=[c[0] for c in REPEATS])
def test_repeat_gradient_nodes_against_central_differences(fn, points):
    check_backward_node(lambda *xs: fn(refgrad, *xs), *points)


DEGENERATE_VARIANCES = [  # dof <= 0 of a full reduction: torch multiplies by a where of two double scalars (the
    # default dtype, float32) and casts back: ToCopyBackward0 of a float64 [0] or [1] input, MulBackward0 of a 0-d one
    ("std.empty", lambda t, x: x.std(), (np.zeros(0),)),
    ("std.one", lambda t, x: x.std(), (np.ones(1),)),
    ("var.biased_empty", lambda t, x: t.var(x, False), (np.zeros(0),)),
    ("std.0d", lambda t, x: x.std(), (np.array(1.5),)),
    ("std.float32_one", lambda t, x: x.std(), (np.ones(1, np.float32),)),
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in DEGENERATE_VARIANCES],
                         ids=[c[0] for c in DEGENERATE_VARIANCES])
def test_degenerate_variance_gradient_nodes_are_torchs(fn, points):
    # no central differences: the gradient is empty or NaN (the values are compared in tests/ops for var and std)
    assert _gradient_nodes(refgrad, fn, points) == _gradient_nodes(torch, fn, points)


SQUARE = np.arange(4.0).reshape(2, 2) / 3.0
LINEARS = [  # torch flattens into addmm only a contiguous input with a contiguous 1-d bias (a 1-d input's gradient:
    # ViewBackward0); a sliced, expanded or 0-d bias takes matmul then add (SqueezeBackward1)
    ("linear.bias", lambda t, x, w, b: t.nn.functional.linear(x, w, b), (np.array([0.5, -1.0]), SQUARE,
                                                                         np.array([1.0, 2.0]))),
    ("linear.sliced_bias", lambda t, x, w, b: t.nn.functional.linear(x, w, b[::2]),
     (np.array([0.5, -1.0]), SQUARE, np.array([1.0, 0.0, 2.0, 0.0]))),
    ("linear.0d_bias", lambda t, x, w, b: t.nn.functional.linear(x, w, b), (np.array([0.5, -1.0]), SQUARE,
                                                                           np.array(1.5))),
    ("linear.3d_sliced_bias", lambda t, x, w, b: t.nn.functional.linear(x, w, b[::2]),
     (CUBE[..., :2], SQUARE, np.array([1.0, 0.0, 2.0, 0.0]))),
]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in LINEARS], ids=[c[0] for c in LINEARS])
def test_linear_gradient_and_output_nodes_are_torchs(fn, points):
    # the top node of each gradient (the weight's next_functions differ: torch's mm gradient picks the transposed
    # product by strides, conformance/gradient_nodes.py TRANSPOSED) and the output's node with its inputs
    assert _top(refgrad, fn, points) == _top(torch, fn, points)
    outs = [fn(t, *[t.tensor(p, requires_grad=True) for p in points]).grad_fn for t in (refgrad, torch)]
    assert type(outs[0]).__name__ == outs[1].name()
    assert [type(n[0]).__name__ for n in outs[0].next_functions] == [
        n[0].name().replace("torch::autograd::", "") for n in outs[1].next_functions]


@pytest.mark.parametrize(("fn", "points"), [c[1:] for c in LINEARS], ids=[c[0] for c in LINEARS])
def test_linear_gradient_nodes_against_central_differences(fn, points):
    check_backward_node(lambda *xs: fn(refgrad, *xs), *points)
