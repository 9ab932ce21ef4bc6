"""Specs for refgrad/ops/statistics.py: the trapezoid rules (with dx, with sample points), cov (with weights),
corrcoef, and quantile/nanquantile over every interpolation mode (NaN inputs included: quantile propagates them,
nanquantile skips them)."""
from hypothesis import strategies as st

from conformance.specs._spec import Domain, OpSpec, shapes, tensor

_BOUNDED = Domain(-10.0, 10.0, nonfinite=())
ONE_PLUS = shapes(min_dims=1, max_dims=3, min_side=1).map(lambda s: (s,))
ROWS = shapes(min_dims=1, max_dims=2, min_side=2).map(lambda s: (s,))
_TOL = {"float32": (1e-4, 1e-5)}
_TOL_REASON = "float32 sums in a different order"


def _dim(drawn):
    n = len(drawn[0])
    return st.integers(-n, n - 1)


def _quantile_kwargs(drawn):
    return st.fixed_dictionaries(
        {"q": st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]),
         "interpolation": st.sampled_from(["linear", "lower", "higher", "midpoint", "nearest"])},
        optional={"dim": _dim(drawn), "keepdim": st.booleans()})


SPECS = [
    OpSpec("trapezoid", lambda t, y, **kw: t.trapezoid(y, **kw), shapes=ONE_PLUS,
           kwargs=lambda d: st.fixed_dictionaries({}, optional={"dim": _dim(d), "dx": st.sampled_from([0.5, 2.0])})),
    OpSpec("trapezoid.x", lambda t, y, x: t.trapezoid(y, x), args=(tensor(), tensor(_BOUNDED)),
           shapes=ONE_PLUS.map(lambda s: (s[0], s[0][-1:])), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("trapz", lambda t, y, **kw: t.trapz(y, **kw), shapes=ONE_PLUS,
           kwargs=lambda d: st.fixed_dictionaries({"dim": _dim(d)})),
    OpSpec("cumulative_trapezoid", lambda t, y, **kw: t.cumulative_trapezoid(y, **kw), shapes=ONE_PLUS,
           kwargs=lambda d: st.fixed_dictionaries({}, optional={"dim": _dim(d), "dx": st.sampled_from([0.5, 2.0])})),
    OpSpec("cumulative_trapezoid.x", lambda t, y, x: t.cumulative_trapezoid(y, x), args=(tensor(), tensor(_BOUNDED)),
           shapes=ONE_PLUS.map(lambda s: (s[0], s[0][-1:])), tol={"float32": (1e-4, 2e-4)},
           tol_reason="x's gradient sums cotangent x y terms of up to 1e3 over the batch, which cancel (ci: terms of "
                      "130 leaving 1.5e-4 vs 1.7e-4): over 3000 random float32 inputs of the spec's shapes the largest "
                      "|torch - refgrad| beyond rtol 1e-4 was 3.2e-5 (x of length 2, 12 rows: torch 0.10368729, "
                      "refgrad 0.10372925); atol 2e-4"),
    OpSpec("cov", lambda t, x, **kw: t.cov(x, **kw), args=(tensor(_BOUNDED),), shapes=ROWS,
           kwargs={"correction": st.sampled_from([0, 1, 2])}, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("cov.weights", lambda t, x, w: t.cov(x, aweights=w.abs() + 0.5, fweights=t.arange(w.shape[0]) % 3 + 1),
           args=(tensor(_BOUNDED), tensor(_BOUNDED, differentiable=False)),
           shapes=ROWS.map(lambda s: (s[0], s[0][-1:])), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("corrcoef", lambda t, x: t.corrcoef(x), args=(tensor(_BOUNDED),), shapes=ROWS, tol=_TOL,
           tol_reason=_TOL_REASON),
    # quantile's input gets a ramp of 0.0123 per element (row-major), so drawn values never tie: torch 2.13's
    # quantile sorts with an unstable sort, so which of several tied elements gets the gradient (and the tangent) is
    # unspecified (of 18 equal zeros, the first lands at sorted position 8 or 9). The step is not dyadic, so a ramp
    # difference never equals a difference of drawn values; NaN and inf stay. Inline: reproducers print the lambda.
    OpSpec("quantile", lambda t, x, **kw: t.quantile(
        x + t.arange(x.numel(), dtype=x.dtype).reshape(x.shape) * 0.0123, **kw),
           shapes=ONE_PLUS, kwargs=_quantile_kwargs),
    OpSpec("quantile.tensor_q", lambda t, x, **kw: t.quantile(
        x + t.arange(x.numel(), dtype=x.dtype).reshape(x.shape) * 0.0123,
        t.tensor([0.1, 0.5, 0.8], dtype=x.dtype), **kw),
           shapes=ONE_PLUS, kwargs=lambda d: st.fixed_dictionaries({}, optional={"dim": _dim(d),
                                                                                   "keepdim": st.booleans()}),
           tol={"float32": (1.3e-6, 1e-3)},
           tol_reason="torch forms a tensor q's rank q·(n - 1) in float32 (0.8·47 = 37.600002: weights 0.3999977 and "
                      "0.6000023 where refgrad has 0.3999994 and 0.6000006), so each interpolation weight is off by up "
                      "to ulp(n - 1) = 3.8e-6 for the spec's n <= 64: gradients by up to 3 quantiles x |cotangent| "
                      "<= 10 x 3.8e-6 = 1.1e-4 (seed 1001: torch -3.3749826, refgrad -3.3749971), values by "
                      "|hi - lo| <= 201 x 3.8e-6 = 7.7e-4; atol 1e-3"),
    OpSpec("nanquantile", lambda t, x, **kw: t.nanquantile(
        x + t.arange(x.numel(), dtype=x.dtype).reshape(x.shape) * 0.0123, **kw),
           shapes=ONE_PLUS, kwargs=_quantile_kwargs),
]
