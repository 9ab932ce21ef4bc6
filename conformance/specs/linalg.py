"""Specs for the linear-algebra family: products, contractions, norms and decompositions.

Square-matrix functions get well-conditioned inputs: entries in [-1, 1] plus ``n·I`` built inside ``fn``
(``WELL`` below), symmetric positive-definite ones ``x xᵀ + n·I``. Decompositions whose factors are defined only
up to sign (svd, eigh) are checked through sign-invariant functions of the factors, since LAPACK builds may
pick different signs. ``linalg.det.singular`` pins torch's all-zero gradient at rank n−1.
"""
from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, INT, Domain, Kwargs, OpSpec, Shapes, func, shapes, tensor

ENTRY = Domain(-1.0, 1.0, nonfinite=())  # matrix entries; n·I is added to make the matrix well conditioned
VALUES = Domain(-10.0, 10.0)
FINITE = Domain(-10.0, 10.0, nonfinite=())
_TOL = {"float32": (1e-4, 1e-4)}
_TOL_REASON = "float32 LAPACK factorizations and their VJPs accumulate rounding across O(n^3) operations"


def _fn(source: str):
    function = eval(source)  # noqa: S307 - literal source, kept for reproducers
    function.__conformance_source__ = source
    return function


WELL = "(x + (x.shape[-1] + 1) * t.eye(x.shape[-1], dtype=x.dtype))"  # strictly diagonally dominant
SPD = "(x @ x.transpose(-2, -1) + x.shape[-1] * t.eye(x.shape[-1], dtype=x.dtype))"
# entries in [-1, 1] (spectral norm <= 4 for sides <= 4) plus 10, 20, 30... on the diagonal: by Weyl's inequality
# the singular values are distinct (gaps >= 2) and >= 6, so the SVD's factors are unique up to sign
DISTINCT = ("(x + t.eye(x.shape[-2], x.shape[-1], dtype=x.dtype) * (10 * t.arange(1, x.shape[-1] + 1, "
            "dtype=x.dtype)))")


@st.composite
def _square(draw, min_n=1, max_n=4, batch=True):
    n = draw(st.integers(min_n, max_n), label="n")
    lead = draw(st.lists(st.integers(1, 3), max_size=1 if batch else 0), label="batch")
    return (tuple(lead) + (n, n),)


@st.composite
def _square_rhs(draw, vector=False):
    (a,) = draw(_square())
    n = a[-1]
    if vector:
        return (a, a[:-1])
    return (a, a[:-2] + (n, draw(st.integers(1, 3), label="rhs columns")))


@st.composite
def _matrix(draw, batch=True, min_side=1):
    m = draw(st.integers(min_side, 4), label="rows")
    n = draw(st.integers(min_side, 4), label="cols")
    lead = draw(st.lists(st.integers(1, 3), max_size=1 if batch else 0), label="batch")
    return (tuple(lead) + (m, n),)


@st.composite
def _mm_shapes(draw):
    n, k, m = (draw(st.integers(0, 4), label=label) for label in "nkm")
    return ((n, k), (k, m))


@st.composite
def _bmm_shapes(draw):
    b, n, k, m = (draw(st.integers(0, 3), label=label) for label in "bnkm")
    return ((b, n, k), (b, k, m))


@st.composite
def _vectors(draw, count=2):
    n = draw(st.integers(0, 5), label="n")
    return ((n,),) * count


@st.composite
def _addmm_shapes(draw):
    n, k, m = (draw(st.integers(0, 4), label=label) for label in "nkm")
    bias = draw(st.sampled_from([(n, m), (m,), (1, m), (), (n, 1)]), label="input shape")
    return (bias, (n, k), (k, m))


@st.composite
def _addmv_shapes(draw):
    n, k = draw(st.integers(0, 4), label="n"), draw(st.integers(0, 4), label="k")
    return (draw(st.sampled_from([(n,), (), (1,)]), label="input shape"), (n, k), (k,))


@st.composite
def _baddbmm_shapes(draw, reduce_batch=False):
    b, n, k, m = (draw(st.integers(0, 3), label=label) for label in "bnkm")
    bias = (n, m) if reduce_batch else draw(st.sampled_from([(b, n, m), (n, m), (m,)]), label="input shape")
    return (bias, (b, n, k), (b, k, m))


def _scaling(_drawn):
    return st.fixed_dictionaries({}, optional={"beta": st.sampled_from([1, 0.5, 0, 2.0]),
                                               "alpha": st.sampled_from([1, -1.5, 0.5, 2])})


@st.composite
def _cross_shapes(draw):
    lead = draw(st.lists(st.integers(1, 3), max_size=2), label="lead")
    other = [n if draw(st.booleans(), label=f"broadcast {i}") else 1 for i, n in enumerate(lead)]
    return (tuple(lead) + (3,), tuple(other) + (3,))


@st.composite
def _tensordot_case(draw):
    a = draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), label="a shape")
    count = draw(st.integers(0, len(a)), label="contracted dims")
    tail = a[len(a) - count:]
    b = tail + draw(shapes(max_dims=2, min_side=1, max_side=3), label="b free dims")
    return (a, b)


_EINSUM = st.sampled_from([
    ("ij,jk->ik", ((2, 3), (3, 4))), ("ii->i", ((3, 3),)), ("ii", ((3, 3),)), ("i,i->", ((4,), (4,))),
    ("...j,j->...", ((2, 3), (3,))), ("bij,bjk->bik", ((2, 3, 2), (2, 2, 4))), ("ij->ji", ((2, 3),)),
    ("i,j->ij", ((2,), (3,))), ("iij->j", ((2, 2, 3),)), ("...ii->...i", ((2, 3, 3),)), ("ij,ij->", ((2, 3), (2, 3))),
    ("ab,bc,cd->ad", ((2, 3), (3, 2), (2, 2))), ("ij,kj->ik", ((2, 3), (1, 3))), ("i...->...", ((2, 3, 2),)),
])


@st.composite
def _einsum_two(draw):
    equation, operand_shapes = draw(_EINSUM)
    return operand_shapes + ((),) * (3 - len(operand_shapes))


def _tensordot_dims(drawn):
    a, b = drawn
    valid = [k for k in range(min(len(a), len(b)) + 1) if tuple(a[len(a) - k:]) == tuple(b[:k])]
    return st.fixed_dictionaries({"dims": st.sampled_from(valid)})


def _vector_norm_kwargs(drawn):
    ndim = max(len(drawn[0]), 1)
    return st.fixed_dictionaries(
        {"ord": st.sampled_from([2, 1, 0, float("inf"), -float("inf"), 3, 0.5, -1, 1.5])},
        optional={"dim": st.one_of(st.integers(-ndim, ndim - 1), st.just(None)), "keepdim": st.booleans()})


def _matrix_norm_kwargs(drawn):
    return st.fixed_dictionaries({"ord": st.sampled_from(["fro", "nuc", 1, -1, float("inf"), -float("inf"), 2, -2])},
                                 optional={"keepdim": st.booleans()})


def _bad_matrix_norm(drawn):
    return st.fixed_dictionaries({"ord": st.sampled_from([3, "abc", 0])})


def _svd_invariant() -> str:
    # U·diag(w)·Vh and U·Uᵀ do not depend on the signs LAPACK picks for the singular vectors
    return ("lambda t, x, **kw: (lambda usv: (usv[1], (usv[0][..., :usv[1].shape[-1]] * (usv[1] * t.arange(1, "
            "usv[1].shape[-1] + 1, dtype=x.dtype)).unsqueeze(-2)) @ usv[2][..., :usv[1].shape[-1], :], "
            "usv[0][..., :usv[1].shape[-1]] @ usv[0][..., :usv[1].shape[-1]].transpose(-2, -1)))"
            "(t.linalg.svd(x, **kw))")


def _eigh_invariant() -> str:
    return ("lambda t, x, **kw: (lambda lv: (lv[0], (lv[1] * t.arange(1, lv[0].shape[-1] + 1, dtype=x.dtype)) @ "
            "lv[1].transpose(-2, -1)))(t.linalg.eigh(x + x.transpose(-2, -1) + 4 * x.shape[-1] * t.eye(x.shape[-1], "
            "dtype=x.dtype) * t.arange(x.shape[-1], dtype=x.dtype), **kw))")


SPECS = [
    OpSpec("mm", func("mm"), args=(tensor(FINITE), tensor(FINITE)),
           shapes=Shapes(_mm_shapes(), invalid=st.sampled_from([((2, 3), (2, 3)), ((3,), (3, 2)),
                                                                 ((2, 2, 2), (2, 2))]))),
    OpSpec("mv", func("mv"), args=(tensor(FINITE), tensor(FINITE)),
           shapes=Shapes(_mm_shapes().map(lambda s: (s[0], (s[0][1],))),
                         invalid=st.sampled_from([((2, 3), (2,)), ((3,), (3,)), ((2, 3), (3, 1))]))),
    OpSpec("dot", func("dot"), args=(tensor(FINITE), tensor(FINITE)),
           shapes=Shapes(_vectors(), invalid=st.sampled_from([((2,), (3,)), ((2, 2), (2, 2))])), dtypes=FLOAT + INT),
    OpSpec("vdot", func("vdot"), args=(tensor(FINITE), tensor(FINITE)),
           shapes=Shapes(_vectors(), invalid=st.sampled_from([((2,), (3,)), ((2, 2), (2, 2))]))),
    OpSpec("bmm", func("bmm"), args=(tensor(FINITE), tensor(FINITE)),
           shapes=Shapes(_bmm_shapes(), invalid=st.sampled_from([((2, 2, 3), (2, 2, 3)), ((2, 3), (3, 2)),
                                                                  ((2, 2, 3), (3, 3, 2))]))),
    OpSpec("linalg.matmul", func("linalg.matmul"), args=(tensor(FINITE), tensor(FINITE)),
           shapes=Shapes(_mm_shapes(), invalid=st.sampled_from([((2, 3), (2, 3))]))),
    OpSpec("addmm", func("addmm"), args=(tensor(FINITE), tensor(FINITE), tensor(FINITE)), shapes=_addmm_shapes(),
           kwargs=_scaling),
    OpSpec("addmv", func("addmv"), args=(tensor(FINITE), tensor(FINITE), tensor(FINITE)), shapes=_addmv_shapes(),
           kwargs=_scaling),
    OpSpec("baddbmm", func("baddbmm"), args=(tensor(FINITE), tensor(FINITE), tensor(FINITE)),
           shapes=_baddbmm_shapes(), kwargs=_scaling),
    OpSpec("addbmm", func("addbmm"), args=(tensor(FINITE), tensor(FINITE), tensor(FINITE)),
           shapes=_baddbmm_shapes(reduce_batch=True), kwargs=_scaling),
    OpSpec("outer", func("outer"), args=(tensor(VALUES), tensor(VALUES)),
           shapes=st.tuples(shapes(min_dims=1, max_dims=1), shapes(min_dims=1, max_dims=1))),
    OpSpec("ger", func("ger"), args=(tensor(VALUES), tensor(VALUES)),
           shapes=st.tuples(shapes(min_dims=1, max_dims=1), shapes(min_dims=1, max_dims=1))),
    OpSpec("inner", func("inner"), args=(tensor(FINITE), tensor(FINITE)),
           shapes=st.tuples(shapes(min_dims=1, max_dims=2, min_side=1, max_side=3),
                            shapes(min_dims=1, max_dims=2, min_side=1, max_side=3)).map(
               lambda ab: (ab[0], ab[1][:-1] + ab[0][-1:]))),
    OpSpec("tensordot", _fn("lambda t, a, b, *, dims: t.tensordot(a, b, dims=dims)"),
           args=(tensor(FINITE), tensor(FINITE)), shapes=_tensordot_case(), kwargs=_tensordot_dims),
    OpSpec("kron", func("kron"), args=(tensor(VALUES), tensor(VALUES)),
           shapes=st.tuples(shapes(max_dims=2, max_side=3), shapes(max_dims=2, max_side=3))),
    OpSpec("einsum", _fn("lambda t, *ops: t.einsum({(2, 3, 3, 4): 'ij,jk->ik', (3, 3): 'ii->i', (4, 4): 'i,i->', "
                         "(2, 3, 3): '...j,j->...', (2, 3, 2, 2, 2, 4): 'bij,bjk->bik', (2, 3): 'ij->ji', "
                         "(2, 3, 3, 2, 2, 2): 'ab,bc,cd->ad', (2, 3, 1, 3): 'ij,kj->ik', (2, 2, 3): 'iij->j', "
                         "(2, 3, 2): 'i...->...'}.get(sum([tuple(o.shape) for o in ops if o.ndim], ()), 'ii'), "
                         "*[o for o in ops if o.ndim])"),
           args=(tensor(FINITE), tensor(FINITE), tensor(FINITE)), shapes=_einsum_two(),
           tol={"float32": (1.3e-6, 4e-3)},
           tol_reason="float32 'ab,bc,cd->ad' second order: A v1 C + A B v2 cancels terms up to 1.2e4 (three factors "
                      "of up to 10, six products each), and both engines land a few ulps of those terms off float64 "
                      "(seed 3101: torch -2.0480652, refgrad -2.04805, float64 -2.0480641; 300 random draws: max "
                      "|torch - refgrad| 4.9e-4, errors vs float64 torch 2.1e-4, refgrad 3.4e-4, each side the worse "
                      "one about half the time): atol 4 ulps of 1.2e4"),
    OpSpec("trace", func("trace"), args=(tensor(VALUES),),
           shapes=Shapes(shapes(min_dims=2, max_dims=2).map(lambda s: (s,)),
                         invalid=st.sampled_from([((3,),), ((2, 2, 2),)])), dtypes=FLOAT + INT),
    OpSpec("linalg.cross", func("linalg.cross"), args=(tensor(VALUES), tensor(VALUES)), shapes=_cross_shapes()),
    OpSpec("cross", _fn("lambda t, a, b: t.cross(a, b, dim=-1)"), args=(tensor(VALUES), tensor(VALUES)),
           shapes=_cross_shapes()),
    OpSpec("linalg.vector_norm", _fn("lambda t, x, **kw: t.linalg.vector_norm(x, **kw)"), args=(tensor(VALUES),),
           shapes=shapes(max_dims=3, min_side=1).map(lambda s: (s,)), kwargs=_vector_norm_kwargs),
    OpSpec("linalg.matrix_norm", _fn("lambda t, x, **kw: t.linalg.matrix_norm(x, **kw)"), args=(tensor(FINITE),),
           shapes=_matrix(), kwargs=Kwargs(_matrix_norm_kwargs, _bad_matrix_norm), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.matrix_norm.distinct", _fn(f"lambda t, x, **kw: t.linalg.matrix_norm({DISTINCT}, **kw)"),
           args=(tensor(ENTRY),), shapes=_matrix(), kwargs=Kwargs(_matrix_norm_kwargs, _bad_matrix_norm), tol=_TOL,
           tol_reason=_TOL_REASON),
    OpSpec("linalg.norm", _fn("lambda t, x, **kw: t.linalg.norm(x, **kw)"), args=(tensor(FINITE),),
           shapes=shapes(min_dims=1, max_dims=2, min_side=1).map(lambda s: (s,)),
           kwargs=lambda drawn: st.fixed_dictionaries({}, optional={"ord": st.sampled_from(
               [2, 1, float("inf")] + (["fro", "nuc", -1] if len(drawn[0]) == 2 else [0, 3, -1]))}),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("norm.p", _fn("lambda t, x, **kw: t.norm(x, **kw)"), args=(tensor(VALUES),),
           shapes=shapes(max_dims=3, min_side=1).map(lambda s: (s,)),
           kwargs=lambda drawn: st.fixed_dictionaries({"p": st.sampled_from([1, 3, 0.5, 0, float("inf")])},
                                                      optional={"dim": st.integers(-max(len(drawn[0]), 1),
                                                                                   max(len(drawn[0]), 1) - 1),
                                                                "keepdim": st.booleans()})),
    OpSpec("linalg.inv", _fn(f"lambda t, x: t.linalg.inv({WELL})"), args=(tensor(ENTRY),), shapes=_square(),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("inverse", _fn(f"lambda t, x: t.inverse({WELL})"), args=(tensor(ENTRY),), shapes=_square(),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.inv.singular", _fn("lambda t, x: t.linalg.inv(x - x)"), args=(tensor(ENTRY),),
           shapes=_square(batch=False)),
    OpSpec("linalg.det", _fn("lambda t, x: t.linalg.det(x)"), args=(tensor(ENTRY),), shapes=_square(),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("det", _fn(f"lambda t, x: t.det({WELL})"), args=(tensor(ENTRY),), shapes=_square(),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.det.singular",
           _fn("lambda t, x: t.linalg.det(x[[*range(x.shape[-2]), 0]])"), args=(tensor(ENTRY),),
           # no double backward: at an exactly singular matrix both engines take the SVD-cofactor second
           # derivative, which divides by S_i² - S_j²; whether LAPACK returns equal zero singular values (NaN) is
           # implementation-dependent (ci run: x = [[1.18e-38, 0, 1], [0, 0, 0]] float32, torch 0, refgrad NaN)
           shapes=st.integers(1, 3).map(lambda n: ((n, n + 1),)), gradgrad=False),
    OpSpec("linalg.slogdet", _fn(f"lambda t, x: t.linalg.slogdet({WELL})"), args=(tensor(ENTRY),), shapes=_square(),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("logdet", _fn(f"lambda t, x: t.logdet({SPD})"), args=(tensor(ENTRY),), shapes=_square(),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.solve", _fn(f"lambda t, x, b, **kw: t.linalg.solve({WELL}, b, **kw)"),
           args=(tensor(ENTRY), tensor(FINITE)), shapes=st.one_of(_square_rhs(), _square_rhs(vector=True)),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.solve.right", _fn(f"lambda t, x, b: t.linalg.solve({WELL}, b.transpose(-2, -1), left=False)"),
           args=(tensor(ENTRY), tensor(FINITE)), shapes=_square_rhs(), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.cholesky", _fn(f"lambda t, x, **kw: t.linalg.cholesky({SPD}, **kw)"), args=(tensor(ENTRY),),
           shapes=_square(), kwargs={"upper": st.booleans()}, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.cholesky.not_pd", _fn("lambda t, x: t.linalg.cholesky(-x @ x.transpose(-2, -1) - t.eye("
                                         "x.shape[-1], dtype=x.dtype))"),
           args=(tensor(ENTRY),), shapes=_square()),
    # (n + 1)·I on the top n x n block makes it strictly diagonally dominant, so A has full column rank: QR's
    # gradient divides by R's diagonal, and at a rank-deficient A (n·I - ones at the entries' edge -1) both engines
    # return rounding noise (inf or NaN depending on the last bit of a 2-term dot product)
    OpSpec("linalg.qr", _fn("lambda t, x: t.linalg.qr(x + (x.shape[-1] + 1) * t.eye(x.shape[-2], x.shape[-1], "
                            "dtype=x.dtype))"), args=(tensor(ENTRY),),
           shapes=_matrix().map(lambda s: (s[0][:-2] + (max(s[0][-2:]), min(s[0][-2:])),)),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.eigh", _fn(_eigh_invariant()), args=(tensor(ENTRY),), shapes=_square(),
           kwargs={"UPLO": st.sampled_from(["L", "U"])}, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.eigvalsh", _fn("lambda t, x: t.linalg.eigvalsh(x)"), args=(tensor(ENTRY),), shapes=_square(),
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.svd", _fn(_svd_invariant()), args=(tensor(ENTRY),), shapes=_matrix(),
           kwargs={"full_matrices": st.booleans()}, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.svdvals", _fn("lambda t, x: t.linalg.svdvals(x)"), args=(tensor(ENTRY),), shapes=_matrix(),
           tol=_TOL, tol_reason=_TOL_REASON),
    # the same at distinct, nonzero singular values: the accepted rank-deficient entries of linalg.svd, svdvals
    # and matrix_norm (reports/known_divergences.toml) do not apply to these
    OpSpec("linalg.svd.distinct", _fn(_svd_invariant().replace("t.linalg.svd(x, **kw)",
                                                               f"t.linalg.svd({DISTINCT}, **kw)")),
           args=(tensor(ENTRY),), shapes=_matrix(), kwargs={"full_matrices": st.booleans()}, tol=_TOL,
           tol_reason=_TOL_REASON),
    OpSpec("linalg.svdvals.distinct", _fn(f"lambda t, x: t.linalg.svdvals({DISTINCT})"), args=(tensor(ENTRY),),
           shapes=_matrix(), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.pinv", _fn("lambda t, x: t.linalg.pinv(x + 2 * t.eye(x.shape[-2], x.shape[-1], dtype=x.dtype))"),
           args=(tensor(ENTRY),), shapes=_matrix(), tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("cholesky_solve", _fn(f"lambda t, b, x, **kw: t.cholesky_solve(b, t.linalg.cholesky({SPD}, **kw), **kw)"),
           args=(tensor(FINITE), tensor(ENTRY)), shapes=_square_rhs().map(lambda ab: (ab[1], ab[0])),
           kwargs={"upper": st.booleans()}, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.matrix_power", _fn(f"lambda t, x, n: t.linalg.matrix_power({WELL} / x.shape[-1], n)"),
           args=(tensor(ENTRY), ), shapes=_square(),
           kwargs={"n": st.sampled_from([0, 1, 2, 3, 4, 5, 6, -1, -2, -3])}, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("linalg.solve_triangular",
           _fn(f"lambda t, x, b, **kw: t.linalg.solve_triangular({WELL}, b if kw.get('left', True) else "
               "b.transpose(-2, -1), **kw)"),
           args=(tensor(ENTRY), tensor(FINITE)), shapes=_square_rhs(),
           kwargs={"upper": st.booleans(), "left": st.booleans(), "unitriangular": st.booleans()},
           tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("triangular_solve", _fn(f"lambda t, b, x, **kw: t.triangular_solve(b, {WELL}, **kw)"),
           args=(tensor(FINITE), tensor(ENTRY)), shapes=_square_rhs().map(lambda ab: (ab[1], ab[0])),
           kwargs={"upper": st.booleans(), "transpose": st.booleans(), "unitriangular": st.booleans()},
           tol=_TOL, tol_reason=_TOL_REASON),
]
