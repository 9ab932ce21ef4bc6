"""Specs for refgrad/ops/nn_extra.py and the torch.* spellings in linalg_extra.py (qr, svd, linalg.diagonal).
Dropouts are compared in evaluation mode only (training mode draws from torch's random stream)."""
from hypothesis import strategies as st

from conformance.specs._spec import Domain, OpSpec, shapes, tensor

ONE = shapes(min_dims=1, min_side=1).map(lambda s: (s,))
_BOUNDED = Domain(-3.0, 3.0, nonfinite=())
_ENTRY = Domain(-1.0, 1.0, nonfinite=())  # matrix entries under a diagonal shift
_LABELS = Domain(0.0, 1.0, specials=(0.0, 1.0), nonfinite=())
IMAGES = st.tuples(st.integers(1, 2), st.sampled_from([4, 8]), st.integers(1, 2), st.integers(1, 2)).map(
    lambda s: ((s[0], s[1], 2 * s[2], 2 * s[3]),))
_TOL = {"float32": (1e-4, 1e-5)}
_TOL_REASON = "float32 sums in a different order"


def _dim(drawn):
    n = len(drawn[0])
    return st.integers(-n, n - 1)


SPECS = [
    OpSpec("nn.functional.softmin", lambda t, x, **kw: t.nn.functional.softmin(x, **kw), shapes=ONE,
           kwargs=lambda d: st.fixed_dictionaries({"dim": _dim(d)})),
    OpSpec("nn.functional.rms_norm", lambda t, x, w: t.nn.functional.rms_norm(x, x.shape[-1:], w),
           args=(tensor(_BOUNDED), tensor()), shapes=ONE.map(lambda s: (s[0], s[0][-1:])), tol=_TOL,
           tol_reason=_TOL_REASON),
    OpSpec("nn.functional.pixel_shuffle", lambda t, x: t.nn.functional.pixel_shuffle(x, 2), shapes=IMAGES),
    OpSpec("nn.functional.pixel_unshuffle", lambda t, x: t.nn.functional.pixel_unshuffle(x, 2), shapes=IMAGES),
    OpSpec("nn.functional.channel_shuffle", lambda t, x, **kw: t.nn.functional.channel_shuffle(x, **kw),
           shapes=IMAGES, kwargs={"groups": st.sampled_from([1, 2, 4])}),
    OpSpec("nn.functional.upsample_nearest", lambda t, x: t.nn.functional.upsample_nearest(x, scale_factor=2),
           shapes=IMAGES),
    OpSpec("nn.functional.upsample_bilinear", lambda t, x: t.nn.functional.upsample_bilinear(x, size=(3, 5)),
           shapes=IMAGES, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("nn.functional.dropout2d", lambda t, x: t.nn.functional.dropout2d(x, 0.3, training=False) * 2,
           shapes=IMAGES),
    OpSpec("nn.functional.dropout3d", lambda t, x: t.nn.functional.dropout3d(x, 0.3, training=False) * 2,
           shapes=IMAGES),
    OpSpec("nn.functional.alpha_dropout", lambda t, x: t.nn.functional.alpha_dropout(x, 0.3) * 2, shapes=ONE),
    OpSpec("nn.functional.feature_alpha_dropout",
           lambda t, x: t.nn.functional.feature_alpha_dropout(x, 0.3, training=False) * 2, shapes=IMAGES),
    OpSpec("nn.functional.multilabel_soft_margin_loss",
           lambda t, x, y, **kw: t.nn.functional.multilabel_soft_margin_loss(x, y, **kw),
           args=(tensor(), tensor(_LABELS, differentiable=False)),
           shapes=shapes(min_dims=1, max_dims=2, min_side=1).map(lambda s: (s, s)),
           kwargs={"reduction": st.sampled_from(["mean", "sum", "none"])}, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("nn.functional.triplet_margin_with_distance_loss",
           lambda t, a, p, n, **kw: t.nn.functional.triplet_margin_with_distance_loss(a, p, n, **kw),
           args=(tensor(_BOUNDED), tensor(_BOUNDED), tensor(_BOUNDED)),
           shapes=shapes(min_dims=2, max_dims=2, min_side=1).map(lambda s: (s, s, s)),
           kwargs={"swap": st.booleans(), "margin": st.sampled_from([0.5, 1.0]),
                   "reduction": st.sampled_from(["mean", "none"])}, tol=_TOL, tol_reason=_TOL_REASON),
    # full column rank, as linalg.qr's spec: entries in [-1, 1] plus (n + 1)·I make the top n x n block strictly
    # diagonally dominant (|R_kk| >= 1); near rank deficiency the gradient divides by a tiny R_kk and shows each
    # LAPACK build's rounding
    OpSpec("qr", lambda t, x, **kw: t.qr(x + (x.shape[-1] + 1) * t.eye(x.shape[-2], x.shape[-1], dtype=x.dtype),
                                         **kw),
           args=(tensor(_ENTRY),),
           shapes=st.tuples(st.integers(2, 4), st.integers(1, 2)).map(lambda mn: (mn,)),
           kwargs={"some": st.booleans()}, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("svd", lambda t, x: t.svd(x + t.diag_embed(t.arange(1, min(x.shape) + 1, dtype=x.dtype) * 3,
                                                      0, -2, -1)[..., :x.shape[-2], :x.shape[-1]]),
           args=(tensor(Domain(-0.5, 0.5, nonfinite=())),),
           shapes=st.tuples(st.integers(1, 3), st.integers(1, 3)).map(lambda mn: (mn,)), tol=_TOL,
           tol_reason=_TOL_REASON),
    OpSpec("linalg.diagonal", lambda t, x, **kw: t.linalg.diagonal(x, **kw),
           shapes=shapes(min_dims=2, min_side=1).map(lambda s: (s,)), kwargs={"offset": st.integers(-2, 2)}),
]
