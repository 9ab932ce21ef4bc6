"""Specs for the reductions, extrema/order statistics and scans (refgrad/ops/reductions.py, extrema.py, scan.py).
sum/sum.dim/mean/mean.dim/norm/all/all.dim are in tutorial.py.

Values come from small ranges with 0, ±1, ±2 mixed in, so ties (max, median, mode), zeros (prod, cumprod) and
zero vectors (norm) occur often; NaN/±inf arrive in about one array in eight.
"""
from hypothesis import strategies as st

from conformance.specs._spec import (
    BOOL,
    FLOAT,
    INT,
    SMALL,
    Domain,
    Kwargs,
    OpSpec,
    Shapes,
    dims,
    func,
    shapes,
    tensor,
    unary,
)

TIES = Domain(-3.0, 3.0, specials=(0.0, 1.0, -1.0, 2.0))  # few distinct values: ties are common
NUMERIC = FLOAT + INT
ANY = FLOAT + INT + BOOL


def _ndim(shape) -> int:
    return max(len(shape), 1)


def _one_dim(drawn, *, keepdim=True, required=True):
    """``dim`` (an int valid for the first input) and optionally ``keepdim``."""
    low, high = -_ndim(drawn[0]), _ndim(drawn[0]) - 1
    parts = {"dim": st.integers(low, high)}
    optional = {"keepdim": st.booleans()} if keepdim else {}
    return st.fixed_dictionaries(parts, optional=optional) if required else \
        st.fixed_dictionaries({}, optional={**parts, **optional})


def _bad_dim(drawn):
    return st.fixed_dictionaries({"dim": st.sampled_from([_ndim(drawn[0]), -_ndim(drawn[0]) - 1])})


def _dim_kwargs(**options) -> Kwargs:
    return Kwargs(lambda drawn: _one_dim(drawn, **options), _bad_dim)


def _nonempty_dim(drawn):
    """A dim whose size is > 0 (max/min/median along a dim of size 0 raise)."""
    shape = drawn[0]
    usable = [d for d in range(len(shape)) if shape[d] > 0] or [0]
    return st.fixed_dictionaries({"dim": st.sampled_from(usable)}, optional={"keepdim": st.booleans()})


def _variance_kwargs(drawn):
    ndim = _ndim(drawn[0])
    dim = st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                    st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple))
    return st.fixed_dictionaries({"dim": dim}, optional={"keepdim": st.booleans(),
                                                         "correction": st.sampled_from([0, 1, 2])})


def _kth_kwargs(drawn):
    shape = drawn[0]
    ndim = len(shape)
    dim = st.integers(-_ndim(shape), _ndim(shape) - 1)

    def with_k(d):
        size = shape[d % ndim] if ndim else 1
        return st.fixed_dictionaries({"dim": st.just(d), "k": st.integers(1, max(size, 1))},
                                     optional={"keepdim": st.booleans()})
    return dim.flatmap(with_k)


def _norm_kwargs(drawn):
    ndim = _ndim(drawn[0])
    orders = st.sampled_from([2, 1, 0, 3, 0.5, 1.5, float("inf"), float("-inf"), -1, "fro"])
    return st.fixed_dictionaries({"p": orders}, optional={"dim": st.integers(-ndim, ndim - 1),
                                                          "keepdim": st.booleans()})


def _softmax_kwargs(drawn):
    low, high = -_ndim(drawn[0]), _ndim(drawn[0]) - 1
    return st.fixed_dictionaries({"dim": st.integers(low, high)}, optional={"dtype": st.sampled_from([None])})


NONEMPTY = shapes(min_side=1).map(lambda s: (s,))
ANY_SHAPE = Shapes(shapes().map(lambda s: (s,)))

SPECS = [
    # --- sums and means --------------------------------------------------------------------------------
    OpSpec("sum.dtype", lambda t, x: t.sum(x, dtype=t.float64), dtypes=NUMERIC),
    OpSpec("nansum", lambda t, x, **kw: t.nansum(x, **kw), kwargs=dims(multiple=True), dtypes=ANY),
    unary("nansum.all", fn=lambda t, x: x.nansum(), dtypes=NUMERIC),
    OpSpec("nanmean", lambda t, x, **kw: t.nanmean(x, **kw), kwargs=dims(multiple=True)),
    unary("nanmean.all", fn=lambda t, x: x.nanmean()),
    unary("prod", TIES, dtypes=ANY),
    OpSpec("prod.dim", lambda t, x, **kw: t.prod(x, **kw), args=(tensor(TIES),), kwargs=_dim_kwargs(),
           dtypes=NUMERIC),
    # --- variance ----------------------------------------------------------------------------------------
    OpSpec("var", lambda t, x, **kw: t.var(x, **kw), kwargs=_variance_kwargs),
    OpSpec("std", lambda t, x, **kw: x.std(**kw), args=(tensor(TIES),), kwargs=_variance_kwargs),
    unary("std.all", TIES, fn=lambda t, x: x.std()),
    unary("var.unbiased", fn=lambda t, x: t.var(x, False)),
    OpSpec("var_mean", lambda t, x, **kw: t.var_mean(x, **kw), kwargs=_variance_kwargs),
    OpSpec("std_mean", lambda t, x, **kw: t.std_mean(x, **kw), args=(tensor(TIES),), kwargs=_variance_kwargs),
    # --- logsumexp and norms -----------------------------------------------------------------------------
    OpSpec("logsumexp", lambda t, x, **kw: t.logsumexp(x, **kw), kwargs=dims(multiple=True), dtypes=NUMERIC),
    OpSpec("norm.orders", lambda t, x, **kw: x.norm(**kw), args=(tensor(TIES),), kwargs=_norm_kwargs),
    # --- extrema -----------------------------------------------------------------------------------------
    OpSpec("max", lambda t, x: t.max(x), args=(tensor(TIES),), shapes=NONEMPTY, dtypes=NUMERIC),
    OpSpec("min", lambda t, x: x.min(), args=(tensor(TIES),), shapes=NONEMPTY, dtypes=NUMERIC),
    OpSpec("max.dim", lambda t, x, **kw: t.max(x, **kw), args=(tensor(TIES),), kwargs=_nonempty_dim,
           dtypes=NUMERIC),
    OpSpec("min.dim", lambda t, x, **kw: x.min(**kw), args=(tensor(TIES),), kwargs=_nonempty_dim, dtypes=NUMERIC),
    OpSpec("amax", lambda t, x, **kw: t.amax(x, **kw), args=(tensor(TIES),), shapes=NONEMPTY,
           kwargs=dims(multiple=True), dtypes=NUMERIC),
    OpSpec("amin", lambda t, x, **kw: x.amin(**kw), args=(tensor(TIES),), shapes=NONEMPTY,
           kwargs=dims(multiple=True), dtypes=NUMERIC),
    OpSpec("aminmax", lambda t, x, **kw: t.aminmax(x, **kw), args=(tensor(TIES),), shapes=NONEMPTY,
           kwargs=lambda drawn: _one_dim(drawn, required=False), dtypes=NUMERIC),
    OpSpec("argmax", lambda t, x, **kw: t.argmax(x, **kw), args=(tensor(TIES),), kwargs=_nonempty_dim,
           differentiable=False, dtypes=NUMERIC),
    OpSpec("argmin", lambda t, x, **kw: x.argmin(**kw), args=(tensor(TIES),), kwargs=_nonempty_dim,
           differentiable=False, dtypes=NUMERIC),
    OpSpec("argmax.all", lambda t, x: x.argmax(), args=(tensor(TIES),), shapes=NONEMPTY, differentiable=False,
           dtypes=NUMERIC),
    OpSpec("count_nonzero", lambda t, x, **kw: t.count_nonzero(x, **kw),
           kwargs=lambda drawn: st.fixed_dictionaries({}, optional={"dim": st.integers(0, _ndim(drawn[0]) - 1)}),
           differentiable=False, dtypes=ANY),
    OpSpec("any.dim", lambda t, x, **kw: x.any(**kw), kwargs=dims(), differentiable=False, dtypes=ANY),
    # --- order statistics --------------------------------------------------------------------------------
    OpSpec("median", lambda t, x: t.median(x), args=(tensor(TIES),), shapes=NONEMPTY, dtypes=NUMERIC),
    OpSpec("median.dim", lambda t, x, **kw: x.median(**kw), args=(tensor(TIES),), kwargs=_nonempty_dim,
           dtypes=NUMERIC),
    OpSpec("nanmedian", lambda t, x: t.nanmedian(x), args=(tensor(TIES),), shapes=NONEMPTY),
    OpSpec("nanmedian.dim", lambda t, x, **kw: t.nanmedian(x, **kw), args=(tensor(TIES),), kwargs=_nonempty_dim),
    OpSpec("kthvalue", lambda t, x, **kw: t.kthvalue(x, **kw), args=(tensor(TIES),), shapes=NONEMPTY,
           kwargs=_kth_kwargs, dtypes=NUMERIC),
    OpSpec("mode", lambda t, x, **kw: t.mode(x, **kw), args=(tensor(TIES),), shapes=NONEMPTY,
           kwargs=lambda drawn: _one_dim(drawn, required=False), dtypes=NUMERIC),
    # --- scans -------------------------------------------------------------------------------------------
    OpSpec("cumsum", lambda t, x, **kw: t.cumsum(x, **kw), kwargs=_dim_kwargs(keepdim=False), dtypes=ANY),
    OpSpec("cumprod", lambda t, x, **kw: x.cumprod(**kw), args=(tensor(TIES),), kwargs=_dim_kwargs(keepdim=False),
           dtypes=NUMERIC),
    # empty inputs excluded: torch returns the input itself as their gradient (requires_grad=True even without
    # create_graph), which refgrad's engine does not reproduce; pinned in tests/ops/test_reductions.py
    OpSpec("cummax", lambda t, x, **kw: t.cummax(x, **kw), args=(tensor(TIES),), shapes=NONEMPTY,
           kwargs=_dim_kwargs(keepdim=False), dtypes=NUMERIC),
    OpSpec("cummin", lambda t, x, **kw: x.cummin(**kw), args=(tensor(TIES),), shapes=NONEMPTY,
           kwargs=_dim_kwargs(keepdim=False), dtypes=NUMERIC),
    OpSpec("logcumsumexp", lambda t, x, **kw: t.logcumsumexp(x, **kw), kwargs=_dim_kwargs(keepdim=False),
           tol={"float32": (1.3e-6, 5e-5)},
           tol_reason="the second derivative cancels terms of size |cotangent|·|second cotangent| (about 40 here): "
                      "x = [[0, 1], [1, 1]], cotangent 8.75 at [1, 0], second cotangent 5 gives torch float32 "
                      "-1.34e-5 where the exact value is 0 (torch float64 -1.1e-14, refgrad 0)"),
    OpSpec("softmax", lambda t, x, **kw: t.softmax(x, **kw), kwargs=Kwargs(_softmax_kwargs, _bad_dim)),
    OpSpec("log_softmax", lambda t, x, **kw: x.log_softmax(**kw), kwargs=Kwargs(_softmax_kwargs, _bad_dim)),
    OpSpec("nn.functional.softmax", func("nn.functional.softmax"), kwargs=Kwargs(_softmax_kwargs, _bad_dim)),
    OpSpec("nn.functional.log_softmax", func("nn.functional.log_softmax"),
           kwargs=Kwargs(_softmax_kwargs, _bad_dim)),
    OpSpec("softmax.dtype", lambda t, x, **kw: t.softmax(x, kw["dim"], dtype=t.float64), args=(tensor(SMALL),),
           kwargs=_softmax_kwargs, dtypes=("float32",)),
]
