"""Specs for the shape/movement ops and joins (refgrad/ops/shape.py, join.py). ``t`` is in tutorial.py.

Views are checked like every other op (values, grad_fn names, gradients); the in-place scenarios of the errors
property exercise their shared version counters.
"""
from hypothesis import strategies as st

from conformance.specs._spec import BOOL, FLOAT, INT, Kwargs, OpSpec, shapes, tensor

ANY = FLOAT + INT + BOOL


def _ndim(shape) -> int:
    return max(len(shape), 1)


def _dim(drawn, extra: int = 0):
    n = len(drawn[0]) + extra
    return st.integers(-max(n, 1), max(n, 1) - 1)


def _bad_dim(drawn):
    return st.fixed_dictionaries({"dim": st.sampled_from([_ndim(drawn[0]) + 1, -_ndim(drawn[0]) - 2])})


def _one(strategy):
    """Shapes strategy for a single tensor input."""
    return strategy.map(lambda s: (s,))


def _permutation(drawn):
    return st.permutations(range(len(drawn[0]))).map(lambda p: {"dims": tuple(p)})


def _movedim(drawn):
    n = len(drawn[0])
    if n == 0:
        return st.just({"source": 0, "destination": -1})
    return st.tuples(st.integers(0, n - 1), st.integers(-n, n - 1)).map(
        lambda sd: {"source": sd[0], "destination": sd[1]})


def _transpose(drawn):
    return st.fixed_dictionaries({"dim0": _dim(drawn), "dim1": _dim(drawn)})


def _reshape(drawn):
    shape = drawn[0]
    size = 1
    for n in shape:
        size *= n
    options = [(size,), (-1,), (1, size), (size, 1, -1) if size else (0, 1)]
    if len(shape) >= 2:
        options.append(tuple(reversed(shape)))
    return st.sampled_from(options).map(lambda s: {"shape": s})


def _flatten(drawn):
    n = len(drawn[0])
    if n == 0:
        return st.just({})
    return st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).map(
        lambda ab: {"start_dim": min(ab), "end_dim": max(ab)})


def _unflatten(drawn):
    shape = drawn[0]
    dims = [d for d, n in enumerate(shape) if n in (4, 2, 0)] or [0]
    dim = dims[0]
    size = shape[dim]
    return st.sampled_from([(2, -1), (-1, 2), (1, size, 1)] if size in (2, 4) else [(1, size)]).map(
        lambda sizes: {"dim": dim, "sizes": sizes})


def _squeeze(drawn):
    n = len(drawn[0])
    if n == 0:
        return st.sampled_from([{}, {"dim": 0}])
    return st.one_of(st.just({}), st.integers(-n, n - 1).map(lambda d: {"dim": d}),
                     st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True).map(
                         lambda ds: {"dim": tuple(ds)}))


def _expand(drawn):
    shape = drawn[0]
    target = tuple(3 if n == 1 else n for n in shape)
    return st.sampled_from([(2,) + target, target, (-1,) * len(shape)]).map(lambda s: {"size": s})


def _repeat(drawn):
    n = len(drawn[0])
    # no zero repeats: the empty result's first-order gradient is an engine-level difference (see report)
    return st.lists(st.integers(1, 3), min_size=n, max_size=n + 1).map(lambda r: {"sizes": tuple(r)})


def _flip(drawn):
    n = len(drawn[0])
    dims = st.lists(st.integers(-max(n, 1), max(n, 1) - 1), min_size=1, max_size=max(n, 1),
                    unique_by=lambda d: d % max(n, 1))
    return dims.map(lambda ds: {"dims": tuple(ds)})


def _roll(drawn):
    n = len(drawn[0])
    flat = st.integers(-5, 5).map(lambda s: {"shifts": s})
    if n == 0:
        return flat
    return st.one_of(flat, st.tuples(st.integers(-5, 5), st.integers(-n, n - 1)).map(
        lambda sd: {"shifts": sd[0], "dims": sd[1]}))


def _narrow(drawn):
    shape = drawn[0]
    dim = 0
    size = shape[dim]
    return st.integers(0, size - 1).flatmap(lambda start: st.integers(1, size - start).map(
        lambda length: {"dim": dim, "start": start, "length": length}))


def _split(drawn):
    size = drawn[0][0]
    sizes = st.lists(st.integers(1, size), min_size=1, max_size=3).filter(lambda s: sum(s) == size) if size <= 3 \
        else st.just([1, size - 1])
    return st.one_of(st.integers(1, 4).map(lambda k: {"split_size_or_sections": k}),
                     sizes.map(lambda s: {"split_size_or_sections": s}))


def _diagonal(drawn):
    n = len(drawn[0])
    return st.tuples(st.integers(-3, 3), st.permutations(range(n)).map(lambda p: p[:2])).map(
        lambda od: {"offset": od[0], "dim1": od[1][0], "dim2": od[1][1]})


def _offset(_drawn):
    return st.integers(-3, 3)


def _cat(drawn):
    return st.fixed_dictionaries({"dim": _dim(drawn)})


# Size-0 shapes are left out: refgrad does not mark empty results as views (Primitive checks shared memory) and
# its engine gives first-order gradients of empty joins requires_grad=True; both are shared-file issues.
ONE = _one(shapes(min_side=1))
AT_LEAST_1D = _one(shapes(min_dims=1, min_side=1))
AT_LEAST_2D = _one(shapes(min_dims=2, min_side=1))
MATRICES = _one(shapes(min_dims=2, max_dims=2, min_side=1))
SAME_PAIR = shapes(min_dims=1, min_side=1).map(lambda s: (s, s))
ANY_PAIR = shapes(min_side=1).map(lambda s: (s, s))
CAT_PAIR = shapes(min_dims=1, min_side=1).flatmap(lambda s: st.integers(1, 3).map(lambda k: (s, (k,) + s[1:])))

SPECS = [
    OpSpec("reshape", lambda t, x, **kw: t.reshape(x, kw["shape"]), shapes=ONE, kwargs=_reshape, dtypes=ANY),
    OpSpec("reshape.noncontiguous", lambda t, x, **kw: x.t().reshape(-1), shapes=MATRICES, dtypes=FLOAT),
    OpSpec("view", lambda t, x, **kw: x.view(kw["shape"]), shapes=ONE, kwargs=_reshape, dtypes=ANY),
    OpSpec("flatten", lambda t, x, **kw: t.flatten(x, **kw), shapes=ONE, kwargs=_flatten, dtypes=ANY),
    OpSpec("unflatten", lambda t, x, **kw: x.unflatten(kw["dim"], kw["sizes"]), shapes=AT_LEAST_1D,
           kwargs=_unflatten),
    OpSpec("ravel", lambda t, x: t.ravel(x.transpose(-2, -1)), shapes=AT_LEAST_2D, dtypes=FLOAT),
    OpSpec("squeeze", lambda t, x, **kw: t.squeeze(x, **kw), shapes=_one(shapes(min_side=1, max_side=2)),
           kwargs=_squeeze),
    OpSpec("unsqueeze", lambda t, x, **kw: x.unsqueeze(**kw),
           kwargs=Kwargs(lambda d: st.fixed_dictionaries({"dim": _dim(d, 1)}), _bad_dim)),
    OpSpec("permute", lambda t, x, **kw: t.permute(x, kw["dims"]), shapes=ONE, kwargs=_permutation),
    OpSpec("movedim", lambda t, x, **kw: t.movedim(x, **kw), shapes=ONE, kwargs=_movedim),
    OpSpec("moveaxis", lambda t, x, **kw: x.moveaxis(kw["source"], kw["destination"]), shapes=ONE, kwargs=_movedim),
    OpSpec("transpose", lambda t, x, **kw: t.transpose(x, **kw), shapes=ONE, kwargs=_transpose, dtypes=ANY),
    OpSpec("swapaxes", lambda t, x, **kw: x.swapaxes(kw["dim0"], kw["dim1"]), shapes=ONE, kwargs=_transpose),
    OpSpec("swapdims", lambda t, x, **kw: t.swapdims(x, kw["dim0"], kw["dim1"]), shapes=ONE, kwargs=_transpose),
    OpSpec("expand", lambda t, x, **kw: x.expand(kw["size"]), shapes=ONE, kwargs=_expand, dtypes=ANY),
    OpSpec("broadcast_to", lambda t, x, **kw: t.broadcast_to(x, kw["size"]), shapes=ONE, kwargs=_expand),
    OpSpec("broadcast_tensors", lambda t, a, b: t.broadcast_tensors(a, b), args=(tensor(), tensor()),
           shapes=shapes(max_dims=2, min_side=1).map(lambda s: (s, (2,) + tuple(1 for _ in s)))),
    OpSpec("repeat", lambda t, x, **kw: x.repeat(kw["sizes"]), shapes=ONE, kwargs=_repeat, dtypes=ANY),
    OpSpec("tile", lambda t, x, **kw: t.tile(x, kw["sizes"][1:] or (2,)), shapes=ONE, kwargs=_repeat),
    OpSpec("flip", lambda t, x, **kw: t.flip(x, kw["dims"]), shapes=ONE, kwargs=_flip, dtypes=ANY),
    OpSpec("fliplr", lambda t, x: t.fliplr(x), shapes=AT_LEAST_2D),
    OpSpec("flipud", lambda t, x: x.flipud(), shapes=AT_LEAST_1D),
    OpSpec("roll", lambda t, x, **kw: t.roll(x, **kw), shapes=ONE, kwargs=_roll, dtypes=ANY),
    OpSpec("narrow", lambda t, x, **kw: t.narrow(x, **kw), shapes=AT_LEAST_1D, kwargs=_narrow),
    OpSpec("cat", lambda t, a, b: t.cat([a, b]), args=(tensor(), tensor(dtypes=FLOAT + INT)), shapes=CAT_PAIR,
           dtypes=FLOAT + INT),
    OpSpec("cat.dim", lambda t, a, b, **kw: t.concat((a, b), **kw), args=(tensor(), tensor()), shapes=SAME_PAIR,
           kwargs=_cat),
    OpSpec("concatenate", lambda t, a, b: t.concatenate([a, b], -1), args=(tensor(), tensor()), shapes=SAME_PAIR),
    OpSpec("stack", lambda t, a, b, **kw: t.stack([a, b], **kw), args=(tensor(), tensor()),
           shapes=ANY_PAIR, kwargs=lambda d: st.fixed_dictionaries({"dim": _dim(d, 1)})),
    OpSpec("hstack", lambda t, a, b: t.hstack([a, b]), args=(tensor(), tensor()), shapes=SAME_PAIR),
    OpSpec("vstack", lambda t, a, b: t.vstack((a, b)), args=(tensor(), tensor()),
           shapes=ANY_PAIR),
    OpSpec("dstack", lambda t, a, b: t.dstack([a, b]), args=(tensor(), tensor()),
           shapes=ANY_PAIR),
    OpSpec("split", lambda t, x, **kw: t.split(x, kw["split_size_or_sections"]), shapes=AT_LEAST_1D,
           kwargs=_split),
    OpSpec("chunk", lambda t, x, **kw: x.chunk(kw["chunks"]), shapes=AT_LEAST_1D,
           kwargs={"chunks": st.integers(1, 5)}),
    OpSpec("tensor_split", lambda t, x, **kw: t.tensor_split(x, kw["sections"]), shapes=AT_LEAST_1D,
           kwargs={"sections": st.one_of(st.integers(1, 5), st.lists(st.integers(0, 5), max_size=3))}),
    OpSpec("unbind", lambda t, x, **kw: t.unbind(x, **kw), shapes=AT_LEAST_1D,
           kwargs=lambda d: st.fixed_dictionaries({"dim": _dim(d)})),
    OpSpec("diagonal", lambda t, x, **kw: t.diagonal(x, **kw), shapes=AT_LEAST_2D, kwargs=_diagonal),
    OpSpec("diag", lambda t, x, **kw: t.diag(x, **kw), shapes=_one(shapes(min_dims=1, max_dims=2, min_side=1)),
           kwargs={"diagonal": st.integers(-3, 3)}),
    OpSpec("diag_embed", lambda t, x, **kw: t.diag_embed(x, **kw), shapes=AT_LEAST_1D,
           kwargs={"offset": st.integers(-2, 2)}),
    OpSpec("tril", lambda t, x, **kw: t.tril(x, **kw), shapes=AT_LEAST_2D, kwargs={"diagonal": st.integers(-3, 3)},
           dtypes=ANY),
    OpSpec("triu", lambda t, x, **kw: x.triu(**kw), shapes=AT_LEAST_2D, kwargs={"diagonal": st.integers(-3, 3)}),
    OpSpec("atleast_1d", lambda t, x: t.atleast_1d(x), shapes=ONE),
    OpSpec("atleast_2d", lambda t, x: t.atleast_2d(x), shapes=ONE),
    OpSpec("atleast_3d", lambda t, x: t.atleast_3d(x), shapes=ONE),
    # in-place view ops: the tensor itself takes the view's metadata and a node of its own (TBackward1...)
    OpSpec("t.inplace", lambda t, x: (x * 1).t_(), shapes=_one(shapes(max_dims=2, min_side=1))),
    OpSpec("transpose.inplace", lambda t, x, **kw: (x * 1).transpose_(**kw), shapes=ONE, kwargs=_transpose),
    OpSpec("swapdims.inplace", lambda t, x, **kw: (x * 1).swapdims_(kw["dim0"], kw["dim1"]), shapes=ONE,
           kwargs=_transpose),
    OpSpec("swapaxes.inplace", lambda t, x, **kw: (x * 1).swapaxes_(kw["dim0"], kw["dim1"]), shapes=ONE,
           kwargs=_transpose),
    OpSpec("squeeze.inplace", lambda t, x, **kw: (x * 1).squeeze_(**kw), shapes=_one(shapes(min_side=1, max_side=2)),
           kwargs=_squeeze),
    OpSpec("unsqueeze.inplace", lambda t, x, **kw: (x * 1).unsqueeze_(**kw),
           kwargs=Kwargs(lambda d: st.fixed_dictionaries({"dim": _dim(d, 1)}), _bad_dim)),
    OpSpec("as_strided.inplace", lambda t, x: (x * 1).as_strided_((x.numel() - 1, 2), (1, 1)), shapes=ONE,
           known={"func": "torch.func.vmap has no batching rule for as_strided_ (it warns so): its fallback runs "
                          "the op per sample and keeps the batched tensor's metadata, so vmap's result has the "
                          "input's shape ([2, 3] -> [2, 3], where as_strided gives [2, 2, 2]); refgrad's vmap "
                          "gives as_strided's ([2, 2, 2]), measured 2026-12-07"}),
]
