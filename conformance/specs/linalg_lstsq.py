"""Specs for refgrad/ops/linalg_lstsq.py: least squares on well-conditioned tall, square and wide matrices
(x + (k+1)·I, k = min(m, n): singular values well above rcond, so every driver's rank is min(m, n)), with a matrix
or a vector right-hand side, every CPU driver, real and complex."""
from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, Domain, OpSpec, tensor
from conformance.specs.linalg import _fn
from conformance.strategies import COMPLEX

ENTRY = Domain(-1.0, 1.0, nonfinite=())
FINITE = Domain(-10.0, 10.0, nonfinite=())
WELL = "(x + (min(x.shape[-2:]) + 1) * t.eye(x.shape[-2], x.shape[-1], dtype=x.dtype))"
_TOL = {"float32": (1e-4, 1e-4), "complex64": (1e-4, 1e-4)}
_TOL_REASON = "single precision: SVD-based and LAPACK's QR-based solutions round differently"


@st.composite
def _system(draw):
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=1), label="batch"))
    m, n = draw(st.integers(1, 4), label="m"), draw(st.integers(1, 4), label="n")
    vector = draw(st.booleans(), label="vector rhs")
    return (batch + (m, n), batch + ((m,) if vector else (m, draw(st.integers(1, 3), label="k"))))


SPECS = [
    OpSpec("linalg.lstsq", _fn(f"lambda t, x, b, **kw: t.linalg.lstsq({WELL}, b, **kw)"),
           args=(tensor(ENTRY), tensor(FINITE)), shapes=_system(),
           kwargs=st.fixed_dictionaries({}, optional={"driver": st.sampled_from(["gels", "gelsy", "gelsd",
                                                                                   "gelss"])}),
           dtypes=FLOAT + COMPLEX, tol=_TOL, tol_reason=_TOL_REASON),
]
