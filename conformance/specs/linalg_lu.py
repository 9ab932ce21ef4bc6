"""Specs for refgrad/ops/linalg_lu.py (LU with partial pivoting). Matrices are strictly diagonally dominant with
their rows reversed (``PERMUTED``), so the pivots are well separated (no near-ties for rounding to flip) and the
factorization does swap rows; the same inputs run real and complex."""
from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, Domain, OpSpec, tensor
from conformance.specs.linalg import _fn, _matrix, _square
from conformance.strategies import COMPLEX

ENTRY = Domain(-1.0, 1.0, nonfinite=())
FINITE = Domain(-10.0, 10.0, nonfinite=())
# x + (k+1)·I (k = min(m, n)) with its rows reversed: column j's pivot is the reversed row's big diagonal entry
PERMUTED = "(x + (min(x.shape[-2:]) + 1) * t.eye(x.shape[-2], x.shape[-1], dtype=x.dtype)).flip(-2)"
_TOL = {"float32": (1e-4, 1e-4), "complex64": (1e-4, 1e-4)}
_TOL_REASON = "single-precision LU and its VJP accumulate rounding across O(n^3) operations"
_DTYPES = FLOAT + COMPLEX
_DOUBLE = ("float64", "complex128")  # variants sharing linalg.lu's code path: double precision only (CI cost)
_SOLVE_KWARGS = {"left": st.booleans(), "adjoint": st.booleans()}


def _square_pair():
    return _square().map(lambda s: (s[0], s[0]))


SPECS = [
    OpSpec("linalg.lu", _fn(f"lambda t, x: t.linalg.lu({PERMUTED})"), args=(tensor(ENTRY),), shapes=_matrix(),
           dtypes=_DTYPES, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.lu_factor", _fn(f"lambda t, x: t.linalg.lu_factor({PERMUTED})"), args=(tensor(ENTRY),),
           shapes=_matrix(), dtypes=_DOUBLE, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.lu_factor_ex", _fn(f"lambda t, x: t.linalg.lu_factor_ex({PERMUTED})"), args=(tensor(ENTRY),),
           shapes=_matrix(), dtypes=("float64",), tol=_TOL, tol_reason=_TOL_REASON),
    # forward only: with a zero last row U's last diagonal entry is exactly zero (info = n), the VJP divides by it
    OpSpec("linalg.lu_factor_ex.singular",
           _fn("lambda t, x: t.linalg.lu_factor_ex(t.cat([x[..., :-1, :], 0 * x[..., -1:, :]], -2))"),
           args=(tensor(ENTRY),), shapes=_square(min_n=2), differentiable=False, dtypes=("float64",)),
    OpSpec("linalg.lu_solve", _fn(f"lambda t, x, b, **kw: t.linalg.lu_solve(*t.linalg.lu_factor({PERMUTED}), b, "
                                  f"**kw)"), args=(tensor(ENTRY), tensor(FINITE)), shapes=_square_pair(),
           kwargs=_SOLVE_KWARGS, dtypes=_DTYPES, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("lu", _fn(f"lambda t, x, **kw: t.lu({PERMUTED}, **kw)"), args=(tensor(ENTRY),), shapes=_matrix(),
           kwargs={"get_infos": st.booleans()}, dtypes=("float64",)),
    OpSpec("lu_solve", _fn(f"lambda t, x, b: t.lu_solve(b, *t.linalg.lu_factor({PERMUTED}))"),
           args=(tensor(ENTRY), tensor(FINITE)), shapes=_square_pair(), dtypes=("float64",)),
    # unpack_data=False is not fuzzed: its L and U are empty, and torch 2.13's LuUnpackBackward0 then raises "triu:
    # input tensor must have at least 2 dimensions" (refgrad's VJP returns no gradient)
    OpSpec("lu_unpack", _fn(f"lambda t, x, **kw: t.lu_unpack(*t.linalg.lu_factor({PERMUTED}), **kw)"),
           args=(tensor(ENTRY),), shapes=_matrix(), kwargs={"unpack_pivots": st.booleans()},
           dtypes=_DOUBLE, tol=_TOL, tol_reason=_TOL_REASON),
]
