"""Specs for refgrad/ops/linalg_householder.py: products of Householder reflectors from bounded reflector data
(A, tau), real and complex; ormqr from the left and from the right, with and without Qᴴ.

tau is drawn with a negative real part (``TAU``): H_i = I - tau_i v_i v_iᴴ is singular when tau_i |v_i|² = 1, and
there torch 2.13's backward returns inf/NaN (householder_product with A = [[0], [0.5]], tau = [0.8] gives
grad tau = -inf) although the product is a polynomial in (A, tau) with a finite derivative, which refgrad returns
(its VJP is checked against central differences in tests/ops/test_linalg_householder.py). Away from singular
reflectors the formulas are the same algebra, so negative taus exercise them fully."""
from hypothesis import strategies as st

from conformance.specs._spec import Domain, OpSpec, tensor

BOUNDED = Domain(-2.0, 2.0, nonfinite=())
TAU = Domain(-2.0, -0.1, nonfinite=())
_TOL = {"float32": (1e-3, 1e-3), "complex64": (1e-3, 1e-3)}
_TOL_REASON = ("single precision: torch's backward divides each reflector out of the product, which loses accuracy "
               "(complex64 ormqr at integer inputs: refgrad's gradient is exactly 36+52j, torch's 35.99974+52.0001j)")
# double precision only: in single precision torch's own backward is the inaccurate side (see _TOL_REASON), and
# shrinking those cells cost a minute of CI
_DTYPES = ("float64", "complex128")


@st.composite
def _reflector_shapes(draw, other=None):
    """(A, tau[, other]): A is (batch, m, n) with m >= n >= k = len(tau) >= 2.

    At least two reflectors: Q is linear in each tau_i, so with a single reflector the second derivative in tau is
    identically zero, and torch returns zeros where refgrad's first gradient in tau does not depend on tau (no
    gradient): a graph-connectivity difference at a zero value, not a numerical one (the one-reflector case is in
    tests/ops/test_linalg_householder.py)."""
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=1), label="batch"))
    m = draw(st.integers(2, 4), label="m")
    n = draw(st.integers(2, m), label="n")
    if other is None:
        k = draw(st.integers(2, n), label="k")
        return (batch + (m, n), batch + (k,))
    p = draw(st.integers(1, 3), label="p")
    return (batch + (m, n), batch + (n,), batch + ((m, p) if other == "left" else (p, m)))


SPECS = [
    OpSpec("linalg.householder_product", lambda t, a, tau: t.linalg.householder_product(a, tau),
           args=(tensor(BOUNDED), tensor(TAU)), shapes=_reflector_shapes(), dtypes=_DTYPES, tol=_TOL,
           tol_reason=_TOL_REASON),
    OpSpec("ormqr", lambda t, a, tau, c, **kw: t.ormqr(a, tau, c, **kw),
           args=(tensor(BOUNDED), tensor(TAU), tensor(BOUNDED)), shapes=_reflector_shapes("left"),
           kwargs={"transpose": st.booleans()}, dtypes=_DTYPES, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("ormqr.right", lambda t, a, tau, c, **kw: t.ormqr(a, tau, c, left=False, **kw),
           args=(tensor(BOUNDED), tensor(TAU), tensor(BOUNDED)), shapes=_reflector_shapes("right"),
           kwargs={"transpose": st.booleans()}, dtypes=_DTYPES, tol=_TOL, tol_reason=_TOL_REASON),
]
