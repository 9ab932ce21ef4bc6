"""Specs for refgrad/ops/linalg_extra.py. Matrices are made well conditioned inside ``fn`` (x/4 + 3·I is strictly
diagonally dominant for entries in [-2, 2] and n <= 3; x·xᵀ + I)
so the comparison is about the op, not about LAPACK's rounding near singularity."""
from hypothesis import strategies as st

from conformance.specs._spec import Domain, OpSpec, shapes, tensor

_BOUNDED = Domain(-2.0, 2.0, nonfinite=())
_SQUARE = st.tuples(st.lists(st.integers(1, 2), max_size=1), st.integers(1, 3)).map(
    lambda bn: tuple(bn[0]) + (bn[1], bn[1]))
SQUARE = _SQUARE.map(lambda s: (s,))
_TOL = {"float32": (1e-4, 1e-4)}
_TOL_REASON = "float32 linear algebra: LAPACK builds and summation orders differ"


def _b(**kw):
    return tensor(_BOUNDED, **kw)


def _chain():
    return st.lists(st.integers(1, 3), min_size=3, max_size=5).map(
        lambda d: tuple((d[i], d[i + 1]) for i in range(len(d) - 1)))


SPECS = [
    OpSpec("linalg.inv_ex", lambda t, x: t.linalg.inv_ex(x / 4 + 3 * t.eye(x.shape[-1], dtype=x.dtype)), args=(_b(),),
           shapes=SQUARE, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.cholesky_ex", lambda t, x, **kw: t.linalg.cholesky_ex(
        x @ x.mT + t.eye(x.shape[-1], dtype=x.dtype), **kw), args=(_b(),), shapes=SQUARE,
        kwargs={"upper": st.booleans()}, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.solve_ex", lambda t, a, b: t.linalg.solve_ex(a / 4 + 3 * t.eye(a.shape[-1], dtype=a.dtype), b),
           args=(_b(), _b()), shapes=_SQUARE.map(lambda s: (s, s[:-1] + (2,))), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.multi_dot", lambda t, *ms: t.linalg.multi_dot(list(ms)), args=(_b(), _b(), _b()),
           shapes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)).map(
               lambda d: ((d[0], d[1]), (d[1], d[2]), (d[2], d[3]))), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.multi_dot.vectors", lambda t, v, m, w: t.linalg.multi_dot([v, m, m.mT, w]),
           args=(_b(), _b(), _b()), shapes=st.tuples(st.integers(1, 3), st.integers(1, 3)).map(
               lambda d: ((d[0],), (d[0], d[1]), (d[0],))), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.vander", lambda t, x, **kw: t.linalg.vander(x, **kw), args=(_b(),),
           shapes=shapes(min_dims=1, max_dims=2, min_side=1).map(lambda s: (s,)),
           kwargs=st.fixed_dictionaries({}, optional={"N": st.integers(1, 4)})),
    OpSpec("matrix_exp", lambda t, x: t.matrix_exp(x), args=(_b(),), shapes=SQUARE, tol=_TOL,
           tol_reason="float32: torch's Padé approximant and refgrad's Taylor series round differently"),
    OpSpec("linalg.tensorinv", lambda t, x: t.linalg.tensorinv(
        (x / 4 + 3 * t.eye(x.shape[0], dtype=x.dtype)).reshape(x.shape[0], 1, x.shape[0]), ind=1), args=(_b(),),
        shapes=st.integers(1, 4).map(lambda n: ((n, n),)), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.tensorsolve", lambda t, a, b: t.linalg.tensorsolve(
        (a / 4 + 3 * t.eye(a.shape[0], dtype=a.dtype)).reshape(b.shape + (a.shape[0] // b.shape[0],)), b),
        args=(_b(), _b()), shapes=st.sampled_from([((2, 2), (2,)), ((4, 4), (2, 2)), ((6, 6), (3, 2))]),
        tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.cond", lambda t, x, **kw: t.linalg.cond(x / 4 + 3 * t.eye(x.shape[-1], dtype=x.dtype), **kw),
           args=(_b(),), shapes=SQUARE, kwargs=st.fixed_dictionaries({}, optional={"p": st.sampled_from([2, -2])}),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.cond.norms", lambda t, x, **kw: t.linalg.cond(x / 4 + 3 * t.eye(x.shape[-1], dtype=x.dtype), **kw),
           args=(_b(),), shapes=SQUARE, kwargs={"p": st.sampled_from(["fro", "nuc", 1, -1])},
           tol=_TOL, tol_reason=_TOL_REASON, known={
               "vjp": "torch 2.13's backward of cond with a norm order raises 'one of the variables needed for "
                      "gradient computation has been modified by an inplace operation' (its inverse is updated in "
                      "place); refgrad differentiates the composition norm(A)·norm(inv(A))",
               "double_backward": "as vjp: torch's first backward already fails",
               "errors": "as vjp: the error scenarios run torch's failing backward",
               "jvp": "as vjp: the property's transpose identity runs torch's failing backward",
               "func": "as vjp: jacrev and hessian run torch's failing backward"}),
    OpSpec("cholesky_inverse", lambda t, x, **kw: t.cholesky_inverse(
        t.linalg.cholesky(x @ x.mT + t.eye(x.shape[-1], dtype=x.dtype), upper=kw["upper"]), **kw), args=(_b(),),
        shapes=SQUARE, kwargs={"upper": st.booleans()}, tol=_TOL, tol_reason=_TOL_REASON, known={
            "jvp": "torch 2.13's cholesky_inverse forward formula is wrong: on a well-conditioned triangular L with a "
                   "triangular tangent its tangent is off by 0.05 (max abs) from float64 central differences, which "
                   "refgrad's tangent matches to 1e-10",
            "func": "as jvp: torch's jacfwd (and hessian) use that forward formula, so jacrev != jacfwd in torch"}),
    # raw x, so rank-deficient inputs (rcond's cutoff) are drawn; entries below 1e-3 become exact zeros: tiny
    # nonzero entries made condition numbers up to 1e15, where pinv's gradient is the two SVDs' rounding noise
    # (seed 2401: [[0, -1], [1.33e-10, 0]], cond 7.5e9, torch off the exact gradient by 3e-7, refgrad exact; over
    # 3000 random spec-like inputs 72 float64 mismatches up to 4 % of the largest entry, each with a nonzero entry
    # below 1e-4; none with the mask)
    OpSpec("pinverse", lambda t, x: t.pinverse(x * (x.abs() > 1e-3)), args=(_b(),),
           shapes=shapes(min_dims=2, max_dims=3, min_side=1, max_side=3).map(lambda s: (s,)),
           tol=_TOL, tol_reason=_TOL_REASON),
]
