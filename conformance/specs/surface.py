"""Specs for torch spellings refgrad already had without a spec of their own: Tensor properties and conversions
(T, H, mT, mH, contiguous, to, double, float, half, expand_as, reshape_as, view_as, sum_to_size, zero_), clone,
torch.cholesky, linalg.vecdot, conv3d/conv_transpose3d, and the functional/special aliases (celu, threshold,
special.polygamma)."""
import math

from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, INT, SMALL, Domain, OpSpec, shapes, tensor

ONE = shapes(min_side=1).map(lambda s: (s,))
UP_TO_2D = shapes(max_dims=2, min_side=1).map(lambda s: (s,))
AT_LEAST_2D = shapes(min_dims=2, min_side=1).map(lambda s: (s,))
PAIR = shapes(min_side=1).map(lambda s: (s, s))
SQUARE = st.tuples(st.lists(st.integers(1, 2), max_size=1), st.integers(1, 3)).map(
    lambda bn: (tuple(bn[0]) + (bn[1], bn[1]),))
_BOUNDED = Domain(-2.0, 2.0, nonfinite=())
_POSITIVE_GAMMA = Domain(0.1, 10.0, specials=(0.5, 1.0, 2.0))


def _numel(shape) -> int:
    return math.prod(shape)


def _conv3d_shapes():
    return st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2)).map(
        lambda nck: ((nck[0], nck[1], 3, 3, 3), (nck[2], nck[1], 2, 2, 2)))


SPECS = [
    OpSpec("T", lambda t, x: x.T, shapes=UP_TO_2D),
    OpSpec("H", lambda t, x: x.H, shapes=UP_TO_2D),
    OpSpec("mT", lambda t, x: x.mT, shapes=AT_LEAST_2D),
    OpSpec("mH", lambda t, x: x.mH, shapes=AT_LEAST_2D),
    OpSpec("contiguous", lambda t, x: x.transpose(0, -1).contiguous(), shapes=AT_LEAST_2D),
    OpSpec("to", lambda t, x: x.to(t.float64 if x.dtype == t.float32 else t.float32), shapes=ONE),
    OpSpec("double", lambda t, x: x.double(), shapes=ONE),
    OpSpec("float", lambda t, x: x.float(), shapes=ONE, dtypes=FLOAT + INT),
    OpSpec("half", lambda t, x: x.half(), args=(tensor(SMALL),), shapes=ONE),
    OpSpec("expand_as", lambda t, x, y: x.expand_as(y), args=(tensor(), tensor()),
           shapes=shapes(min_side=1).map(lambda s: ((1,) * len(s), (2,) + s))),
    OpSpec("reshape_as", lambda t, x, y: x.reshape_as(y), args=(tensor(), tensor()),
           shapes=shapes(min_side=1).map(lambda s: (s, (_numel(s),)))),
    OpSpec("view_as", lambda t, x, y: x.view_as(y), args=(tensor(), tensor()),
           shapes=shapes(min_side=1).map(lambda s: (s, (_numel(s), 1)))),
    OpSpec("sum_to_size", lambda t, x: x.sum_to_size((1,) * x.ndim), shapes=ONE),
    OpSpec("zero_", lambda t, x: (x * 1).zero_(), shapes=ONE),
    OpSpec("clone", lambda t, x: t.clone(x), shapes=ONE),
    # finite, well-conditioned inputs: at inf, NumPy's LAPACK returns inf factors where torch's reports a failing
    # minor (not-positive-definite inputs are linalg.cholesky.not_pd's spec)
    OpSpec("cholesky", lambda t, x, **kw: t.cholesky(x @ x.mT + 2 * t.eye(x.shape[-1], dtype=x.dtype), **kw),
           args=(tensor(_BOUNDED),), shapes=SQUARE, kwargs={"upper": st.booleans()}, tol={"float32": (1e-4, 1e-4)},
           tol_reason="float32 Cholesky of a product: the two LAPACK builds round differently"),
    OpSpec("linalg.vecdot", lambda t, x, y, **kw: t.linalg.vecdot(x, y, **kw), args=(tensor(), tensor()),
           shapes=shapes(min_dims=1, min_side=1).map(lambda s: (s, s)), kwargs={"dim": st.just(-1)}),
    # finite inputs: where inf meets 0 the NaN pattern depends on each library's summation order
    OpSpec("nn.functional.conv3d", lambda t, x, w: t.nn.functional.conv3d(x, w, padding=1),
           args=(tensor(_BOUNDED), tensor(_BOUNDED)), shapes=_conv3d_shapes(), tol={"float32": (1e-4, 1e-5)},
           tol_reason="float32 convolutions sum in a different order"),
    OpSpec("nn.functional.conv_transpose3d", lambda t, x, w: t.nn.functional.conv_transpose3d(x, w, stride=2),
           args=(tensor(_BOUNDED), tensor(_BOUNDED)),
           shapes=_conv3d_shapes().map(lambda p: (p[0], (p[0][1], 2, 2, 2, 2))),
           tol={"float32": (1e-4, 1e-5)}, tol_reason="float32 convolutions sum in a different order"),
    OpSpec("nn.functional.celu", lambda t, x, **kw: t.nn.functional.celu(x, **kw), shapes=ONE,
           kwargs={"alpha": st.sampled_from([1.0, 0.5, 2.0])}),
    OpSpec("nn.functional.threshold", lambda t, x, **kw: t.nn.functional.threshold(x, **kw), shapes=ONE,
           kwargs={"threshold": st.sampled_from([0.0, 0.5, -1.0]), "value": st.sampled_from([0.0, 2.0])}),
    OpSpec("special.polygamma", lambda t, x, **kw: t.special.polygamma(kw["n"], x), args=(tensor(_POSITIVE_GAMMA),),
           shapes=ONE, kwargs={"n": st.integers(0, 2)}, dtypes=("float64",)),
]
