"""Specs for refgrad/ops/shape_extra.py and views_copy.py (diff, rot90, block_diag, meshgrid, cartesian_prod,
combinations, h/v/dsplit, column_stack, diagflat, repeat_interleave, Tensor.unfold, the *_scatter ops, select,
fill, split_with_sizes, unsafe_split/chunk and the *_copy variants)."""
import math

from hypothesis import strategies as st

from conformance.specs._spec import BOOL, FLOAT, INT, OpSpec, shapes, tensor

ANY = FLOAT + INT + BOOL
ONE = shapes(min_side=1).map(lambda s: (s,))
AT_LEAST_1D = shapes(min_dims=1, min_side=1).map(lambda s: (s,))
AT_LEAST_2D = shapes(min_dims=2, min_side=1).map(lambda s: (s,))
AT_LEAST_3D = shapes(min_dims=3, min_side=1).map(lambda s: (s,))
AT_LEAST_2_ROWS = shapes(min_dims=1, min_side=2).map(lambda s: (s,))
VECTOR = shapes(min_dims=1, max_dims=1, min_side=1).map(lambda s: (s,))
VECTORS = st.tuples(st.integers(1, 4), st.integers(1, 4)).map(lambda ab: ((ab[0],), (ab[1],)))


def _dim(drawn):
    n = max(len(drawn[0]), 1)
    return st.integers(-n, n - 1)


def _two_dims(drawn):
    n = len(drawn[0])
    return st.permutations(range(n)).map(lambda p: (p[0], p[1]))


def _diff(drawn):
    return st.fixed_dictionaries({"n": st.integers(0, 3), "dim": _dim(drawn)})


def _rot90(drawn):
    return st.fixed_dictionaries({"k": st.integers(-5, 5), "dims": _two_dims(drawn)})


def _unfold(drawn):
    shape = drawn[0]
    return _dim(drawn).flatmap(lambda d: st.fixed_dictionaries({
        "dimension": st.just(d), "size": st.integers(0, shape[d]), "step": st.integers(1, 3)}))


def _select(drawn):
    shape = drawn[0]
    return _dim(drawn).flatmap(lambda d: st.fixed_dictionaries({
        "dim": st.just(d), "index": st.integers(-shape[d], shape[d] - 1)}))


def _sections(drawn):
    return st.fixed_dictionaries({"sections": st.one_of(st.just(1), st.lists(st.integers(0, 4), max_size=3))})


def _repeat_interleave(drawn):
    return st.fixed_dictionaries({"repeats": st.integers(0, 3)}, optional={"dim": _dim(drawn)})


def _with_src(view):
    """Shapes (input, src) where src is ``view`` of the input (input drawn first)."""
    return shapes(min_dims=2, max_dims=3, min_side=1).map(lambda s: (s, view(s)))


SPECS = [
    OpSpec("diff", lambda t, x, **kw: t.diff(x, **kw), shapes=AT_LEAST_1D, kwargs=_diff, dtypes=ANY),
    OpSpec("diff.prepend", lambda t, x, p, a: t.diff(x, dim=0, prepend=p, append=a),
           args=(tensor(), tensor(), tensor()), shapes=AT_LEAST_1D.map(lambda s: (s[0], s[0], s[0]))),
    OpSpec("rot90", lambda t, x, **kw: t.rot90(x, **kw), shapes=AT_LEAST_2D, kwargs=_rot90, dtypes=ANY),
    OpSpec("block_diag", lambda t, a, b, c: t.block_diag(a, b, c), args=(tensor(), tensor(), tensor()),
           shapes=st.tuples(*[shapes(max_dims=2, min_side=1)] * 3)),
    OpSpec("meshgrid", lambda t, a, b: t.meshgrid(a, b, indexing="ij"), args=(tensor(), tensor()), shapes=VECTORS),
    OpSpec("meshgrid.xy", lambda t, a, b, c: t.meshgrid([a, b, c], indexing="xy"),
           args=(tensor(), tensor(), tensor()), shapes=VECTORS.map(lambda p: (p[0], p[1], p[0]))),
    OpSpec("cartesian_prod", lambda t, a, b: t.cartesian_prod(a, b), args=(tensor(), tensor()), shapes=VECTORS),
    OpSpec("combinations", lambda t, x, **kw: t.combinations(x, **kw), shapes=VECTOR,
           kwargs={"r": st.integers(0, 3), "with_replacement": st.booleans()}),
    OpSpec("hsplit", lambda t, x, **kw: t.hsplit(x, kw["sections"]), shapes=AT_LEAST_1D, kwargs=_sections),
    OpSpec("vsplit", lambda t, x, **kw: t.vsplit(x, kw["sections"]), shapes=AT_LEAST_2D, kwargs=_sections),
    OpSpec("dsplit", lambda t, x, **kw: x.dsplit(kw["sections"]), shapes=AT_LEAST_3D, kwargs=_sections),
    OpSpec("column_stack", lambda t, a, b: t.column_stack([a, b]), args=(tensor(), tensor()),
           shapes=st.integers(1, 4).flatmap(lambda n: st.sampled_from([((n,), (n, 2)), ((n,), (n,)), ((), ())]))),
    OpSpec("diagflat", lambda t, x, **kw: t.diagflat(x, **kw), shapes=ONE, kwargs={"offset": st.integers(-2, 2)}),
    OpSpec("repeat_interleave", lambda t, x, **kw: t.repeat_interleave(x, **kw), shapes=ONE,
           kwargs=_repeat_interleave),
    OpSpec("repeat_interleave.tensor", lambda t, x: x.repeat_interleave(
        t.arange(x.shape[0]).remainder(3), dim=0), shapes=AT_LEAST_1D),
    OpSpec("unfold", lambda t, x, **kw: x.unfold(**kw), shapes=AT_LEAST_1D, kwargs=_unfold),
    OpSpec("select_scatter", lambda t, x, s, **kw: t.select_scatter(x, s, **kw), args=(tensor(), tensor()),
           shapes=shapes(min_dims=1, min_side=2).map(lambda s: (s, s[1:])), kwargs={"dim": st.just(0),
                                                                                     "index": st.integers(-2, 1)}),
    OpSpec("slice_scatter", lambda t, x, s: t.slice_scatter(x, s, 1, 0, None, 2), args=(tensor(), tensor()),
           shapes=_with_src(lambda s: (s[0], (s[1] + 1) // 2) + s[2:])),
    OpSpec("diagonal_scatter", lambda t, x, s: t.diagonal_scatter(x, s, 0, -2, -1), args=(tensor(), tensor()),
           shapes=_with_src(lambda s: s[:-2] + (min(s[-2:]),))),
    OpSpec("select", lambda t, x, **kw: t.select(x, **kw), shapes=AT_LEAST_1D, kwargs=_select, dtypes=ANY),
    OpSpec("fill", lambda t, x: t.fill(x, 2.5), shapes=ONE),
    # chunks are never empty: refgrad leaves the double-backward gradient of an empty chunk absent, torch gives an
    # empty tensor (the engine-level size-0 issue noted in specs/shape.py)
    OpSpec("split_with_sizes", lambda t, x: x.split_with_sizes([1, x.shape[0] - 1]), shapes=AT_LEAST_2_ROWS),
    OpSpec("unsafe_split", lambda t, x, **kw: t.unsafe_split(x, **kw), shapes=AT_LEAST_1D,
           kwargs={"split_size": st.integers(1, 3)}),
    OpSpec("unsafe_chunk", lambda t, x, **kw: x.unsafe_chunk(**kw), shapes=AT_LEAST_1D,
           kwargs={"chunks": st.integers(1, 4)}),
    # the *_copy variants
    OpSpec("t_copy", lambda t, x: t.t_copy(x), shapes=shapes(max_dims=2).map(lambda s: (s,))),
    OpSpec("transpose_copy", lambda t, x: t.transpose_copy(x, 0, -1), shapes=AT_LEAST_1D),
    OpSpec("permute_copy", lambda t, x: t.permute_copy(x, tuple(range(x.ndim))[::-1]), shapes=ONE),
    OpSpec("unsqueeze_copy", lambda t, x: t.unsqueeze_copy(x, -1), shapes=ONE),
    OpSpec("squeeze_copy", lambda t, x: t.squeeze_copy(x), shapes=shapes(max_side=2).map(lambda s: (s,))),
    OpSpec("view_copy", lambda t, x: t.view_copy(x, (-1,)), shapes=ONE),
    OpSpec("expand_copy", lambda t, x: t.expand_copy(x, (2,) + tuple(x.shape)), shapes=ONE),
    OpSpec("alias_copy", lambda t, x: t.alias_copy(x), shapes=ONE),
    OpSpec("diagonal_copy", lambda t, x: t.diagonal_copy(x, 1, 0, -1), shapes=AT_LEAST_2D),
    OpSpec("narrow_copy", lambda t, x: t.narrow_copy(x, 0, 0, 1), shapes=AT_LEAST_1D),
    OpSpec("unfold_copy", lambda t, x: t.unfold_copy(x, 0, 1, 2), shapes=AT_LEAST_1D),
    OpSpec("unbind_copy", lambda t, x: t.unbind_copy(x, -1), shapes=AT_LEAST_1D),
    # as_strided's geometry in elements of the input's storage (a fresh tensor's: its numel): overlapping windows
    OpSpec("as_strided", lambda t, x: t.as_strided(x, (x.numel() - 1, 2), (1, 1)), shapes=ONE),
    OpSpec("as_strided_copy", lambda t, x: t.as_strided_copy(x, (x.numel() - 1, 2), (1, 1)), shapes=ONE),
    OpSpec("as_strided_scatter", lambda t, x, s: t.as_strided_scatter(x.contiguous(), s, s.shape, (2,)),
           args=(tensor(), tensor()), shapes=_with_src(lambda s: ((math.prod(s) + 1) // 2,))),
    OpSpec("split_with_sizes_copy", lambda t, x: t.split_with_sizes_copy(x, [x.shape[0] - 1, 1]),
           shapes=AT_LEAST_2_ROWS),
]
