"""Specs for refgrad/ops/linalg_householder.py: products of Householder reflectors from arbitrary bounded
reflector data (A, tau), real and complex; ormqr from the left and from the right, with and without Qᴴ."""
from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, Domain, OpSpec, tensor
from conformance.strategies import COMPLEX

BOUNDED = Domain(-2.0, 2.0, nonfinite=())
_TOL = {"float32": (1e-4, 1e-4), "complex64": (1e-4, 1e-4)}
_TOL_REASON = "single precision: a product of k reflectors and its VJP round in a different order than LAPACK's"
_DTYPES = FLOAT + COMPLEX


@st.composite
def _reflector_shapes(draw, other=None):
    """(A, tau[, other]): A is (batch, m, n) with m >= n >= k = len(tau)."""
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=1), label="batch"))
    m = draw(st.integers(1, 4), label="m")
    n = draw(st.integers(1, m), label="n")
    if other is None:
        k = draw(st.integers(1, n), label="k")
        return (batch + (m, n), batch + (k,))
    p = draw(st.integers(1, 3), label="p")
    return (batch + (m, n), batch + (n,), batch + ((m, p) if other == "left" else (p, m)))


SPECS = [
    OpSpec("linalg.householder_product", lambda t, a, tau: t.linalg.householder_product(a, tau),
           args=(tensor(BOUNDED), tensor(BOUNDED)), shapes=_reflector_shapes(), dtypes=_DTYPES, tol=_TOL,
           tol_reason=_TOL_REASON),
    OpSpec("ormqr", lambda t, a, tau, c, **kw: t.ormqr(a, tau, c, **kw),
           args=(tensor(BOUNDED), tensor(BOUNDED), tensor(BOUNDED)), shapes=_reflector_shapes("left"),
           kwargs={"transpose": st.booleans()}, dtypes=_DTYPES, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("ormqr.right", lambda t, a, tau, c, **kw: t.ormqr(a, tau, c, left=False, **kw),
           args=(tensor(BOUNDED), tensor(BOUNDED), tensor(BOUNDED)), shapes=_reflector_shapes("right"),
           kwargs={"transpose": st.booleans()}, dtypes=_DTYPES, tol=_TOL, tol_reason=_TOL_REASON),
]
