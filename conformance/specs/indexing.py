"""Specs for the indexing family: ``x[...]``, ``x[...] = v``, gather/scatter, masks, sort/topk and searches.

Index tensors are drawn as kwargs (plain lists valid for the drawn shapes, duplicates and negative positions
included where torch accepts them) and turned into int64 tensors inside ``fn``. Slices travel as
``["s", start, stop, step]`` and ``"..."`` stands for Ellipsis, so every example stays a Python literal.
"""
from hypothesis import strategies as st

from conformance.specs._spec import BOOL, FLOAT, INT, Domain, Kwargs, OpSpec, scalar, shapes, tensor

VALUES = Domain(-10.0, 10.0)  # ties (±0, ±1, ±2...) are mixed in on purpose: sort/topk route through indices
FINITE = Domain(-10.0, 10.0, nonfinite=())

_KEY = ("lambda t, x, *, key: x[tuple(slice(k[1], k[2], k[3]) if isinstance(k, list) and k[:1] == ['s'] else "
        "(Ellipsis if k == '...' else k) for k in key)]")


def _fn(source: str):
    function = eval(source)  # noqa: S307 - literal source, kept for reproducers
    function.__conformance_source__ = source
    return function


def one(min_dims=1, max_dims=3, min_side=1, max_side=4):
    return shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side).map(lambda s: (s,))


def _positions(size: int, negative: bool = True):
    low = -size if negative else 0
    return st.integers(low, size - 1)


@st.composite
def _basic_key(draw, shape, advanced: bool):
    """A getitem key for ``shape``: ints, slices (with steps), None, one Ellipsis, and lists (advanced)."""
    key, dim, used_ellipsis = [], 0, False
    while dim < len(shape):
        kinds = ["int", "slice", "none", "full"] + (["list"] if advanced else []) + ([] if used_ellipsis else ["..."])
        kind = draw(st.sampled_from(kinds), label="index kind")
        size = shape[dim]
        if kind == "int":
            key.append(draw(_positions(size)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
            stop = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
            key.append(["s", start, stop, draw(st.sampled_from([None, 1, 2, 3]))])
        elif kind == "full":
            key.append(["s", None, None, None])
        elif kind == "none":
            key.append(None)
            continue
        elif kind == "list":
            key.append(draw(st.lists(_positions(size), min_size=1, max_size=4)))
        else:
            key.append("...")
            used_ellipsis = True
            break
        dim += 1
        if draw(st.booleans(), label="stop early"):
            break
    return key


def _getitem_kwargs(advanced: bool):
    return lambda drawn: st.fixed_dictionaries({"key": _basic_key(drawn[0], advanced)})


@st.composite
def _mask(draw, shape):
    return draw(st.lists(st.booleans(), min_size=_numel(shape), max_size=_numel(shape)).map(
        lambda flat: _nest(flat, shape)))


def _numel(shape):
    total = 1
    for n in shape:
        total *= n
    return total


def _nest(flat, shape):
    if not shape:
        return flat[0]
    step = _numel(shape[1:])
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


@st.composite
def _index_grid(draw, shape, bound):
    """A nested list of indices in [0, bound) with ``shape`` (gather/scatter index)."""
    flat = draw(st.lists(st.integers(0, max(bound - 1, 0)), min_size=_numel(shape), max_size=_numel(shape)))
    return _nest(flat, shape) if shape else flat[0]


@st.composite
def _gather_kwargs(draw, drawn, scatter=False):
    shape = drawn[0]
    dim = draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    d = dim % len(shape)
    index_shape = tuple(draw(st.integers(0, n if i != d or scatter else 4), label=f"index size {i}")
                        for i, n in enumerate(shape))
    if scatter:
        index_shape = tuple(min(n, m) for n, m in zip(index_shape, drawn[1]))
    return {"dim": dim, "index": draw(_index_grid(index_shape, shape[d]))}


def _dim_index_kwargs(source_dim_equals_index=False, negative=False):
    @st.composite
    def draw_kwargs(draw, drawn):
        shape = drawn[0]
        dim = draw(st.integers(-len(shape), len(shape) - 1), label="dim")
        size = shape[dim % len(shape)]
        count = drawn[1][dim % len(shape)] if source_dim_equals_index else draw(st.integers(0, 4))
        index = draw(st.lists(_positions(size, negative), min_size=count, max_size=count), label="index")
        return {"dim": dim, "index": index}
    return draw_kwargs


@st.composite
def _index_put_kwargs(draw, drawn):
    shape = drawn[0]
    count = draw(st.integers(1, len(shape)), label="indexed dims")
    length = draw(st.integers(0, 4), label="index length")
    indices = [draw(st.lists(_positions(shape[d]), min_size=length, max_size=length)) for d in range(count)]
    return {"indices": indices, "accumulate": draw(st.booleans())}


def _topk_kwargs(drawn):
    shape = drawn[0]
    if not shape:
        return st.fixed_dictionaries({"k": st.integers(0, 1), "largest": st.booleans(), "sorted": st.booleans()})
    return st.integers(-len(shape), len(shape) - 1).flatmap(lambda dim: st.fixed_dictionaries({
        "dim": st.just(dim), "k": st.integers(0, shape[dim]), "largest": st.booleans(), "sorted": st.booleans()}))


def _sort_kwargs(drawn):
    low, high = -max(len(drawn[0]), 1), max(len(drawn[0]), 1) - 1
    return st.fixed_dictionaries({"dim": st.integers(low, high), "descending": st.booleans()},
                                 optional={"stable": st.booleans()})


def _take_kwargs(drawn):
    n = _numel(drawn[0])
    if n == 0:
        return st.just({"index": []})
    return st.fixed_dictionaries({"index": st.lists(st.integers(-n, n - 1), max_size=5)})


def _mask_kwargs(drawn):
    return st.fixed_dictionaries({"mask": _mask(drawn[0])})


def _index_fill_value(drawn):
    return _dim_index_kwargs(negative=True)(drawn).flatmap(
        lambda kw: st.fixed_dictionaries({**{k: st.just(v) for k, v in kw.items()},
                                          "value": st.sampled_from([0.0, -1.5, 2, 3.25])}))


def _bad_dim(drawn):
    return st.fixed_dictionaries({"dim": st.sampled_from([len(drawn[0]), -len(drawn[0]) - 1]), "index": st.just([0])})


_SORTED_1D = Domain(-10.0, 10.0, nonfinite=())

SPECS = [
    OpSpec("getitem.basic", _fn(_KEY), shapes=one(), kwargs=_getitem_kwargs(False), dtypes=FLOAT + INT),
    OpSpec("getitem.advanced", _fn(_KEY), args=(tensor(VALUES),), shapes=one(),
           kwargs=_getitem_kwargs(True), dtypes=FLOAT + INT),
    OpSpec("getitem.mask", _fn("lambda t, x, *, mask: x[t.tensor(mask, dtype=t.bool)]"), args=(tensor(VALUES),),
           shapes=one(max_dims=2), kwargs=_mask_kwargs),
    OpSpec("setitem.basic", _fn("lambda t, x, v, *, key: (lambda y: (y.__setitem__(tuple(slice(k[1], k[2], k[3]) "
                                "if isinstance(k, list) and k[:1] == ['s'] else (Ellipsis if k == '...' else k) "
                                "for k in key), v), y)[1])(x.clone())"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], ())),
           kwargs=_getitem_kwargs(False)),
    OpSpec("setitem.advanced", _fn("lambda t, x, v, *, key: (lambda y: (y.__setitem__(tuple(slice(k[1], k[2], "
                                   "k[3]) if isinstance(k, list) and k[:1] == ['s'] else (Ellipsis if k == '...' "
                                   "else k) for k in key), v), y)[1])(x.clone())"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], ())),
           kwargs=_getitem_kwargs(True)),
    OpSpec("setitem.scalar", _fn("lambda t, x, s, *, key: (lambda y: (y.__setitem__(tuple(slice(k[1], k[2], "
                                 "k[3]) if isinstance(k, list) and k[:1] == ['s'] else (Ellipsis if k == '...' "
                                 "else k) for k in key), s), y)[1])(x.clone())"),
           args=(tensor(VALUES), scalar(("float",))), shapes=one(), kwargs=_getitem_kwargs(True)),
    OpSpec("index_select", _fn("lambda t, x, *, dim, index: t.index_select(x, dim, t.tensor(index, dtype=t.int64))"),
           args=(tensor(VALUES),), shapes=one(), kwargs=Kwargs(_dim_index_kwargs(), _bad_dim), dtypes=FLOAT + INT),
    OpSpec("gather", _fn("lambda t, x, *, dim, index: x.gather(dim, t.tensor(index, dtype=t.int64))"),
           args=(tensor(VALUES),), shapes=one(), kwargs=lambda drawn: _gather_kwargs(drawn), dtypes=FLOAT + INT),
    OpSpec("take_along_dim", _fn("lambda t, x, *, dim, index: t.take_along_dim(x, t.tensor(index, dtype=t.int64), "
                                 "dim)"),
           args=(tensor(VALUES),), shapes=one(), kwargs=lambda drawn: _gather_kwargs(drawn)),
    OpSpec("take", _fn("lambda t, x, *, index: t.take(x, t.tensor(index, dtype=t.int64))"), args=(tensor(VALUES),),
           shapes=shapes(max_dims=3, max_side=4).map(lambda s: (s,)), kwargs=_take_kwargs),
    OpSpec("masked_select", _fn("lambda t, x, *, mask: t.masked_select(x, t.tensor(mask, dtype=t.bool))"),
           args=(tensor(VALUES),), shapes=one(), kwargs=_mask_kwargs),
    OpSpec("scatter", _fn("lambda t, x, src, *, dim, index: x.scatter(dim, t.tensor(index, dtype=t.int64), src)"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], s[0])),
           kwargs=lambda drawn: _gather_kwargs(drawn, scatter=True)),
    OpSpec("scatter.value", _fn("lambda t, x, v, *, dim, index: x.scatter(dim, t.tensor(index, dtype=t.int64), v)"),
           args=(tensor(VALUES), scalar(("float",))), shapes=one().map(lambda s: (s[0], s[0])),
           kwargs=lambda drawn: _gather_kwargs(drawn, scatter=True)),
    OpSpec("scatter_add", _fn("lambda t, x, src, *, dim, index: x.scatter_add(dim, t.tensor(index, dtype=t.int64), "
                              "src)"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], s[0])),
           kwargs=lambda drawn: _gather_kwargs(drawn, scatter=True)),
    OpSpec("index_add", _fn("lambda t, x, src, *, dim, index: x.index_add(dim, t.tensor(index, dtype=t.int64), "
                            "src.transpose(0, dim)[:len(index)].transpose(0, dim), alpha=2)"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], s[0])),
           kwargs=lambda drawn: _dim_index_kwargs()(drawn).filter(
               lambda kw: len(kw["index"]) <= drawn[0][kw["dim"]])),
    OpSpec("index_copy", _fn("lambda t, x, src, *, dim, index: x.index_copy(dim, t.tensor(index, dtype=t.int64), "
                             "src.transpose(0, dim)[:len(index)].transpose(0, dim))"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], s[0])),
           kwargs=lambda drawn: _dim_index_kwargs()(drawn).filter(
               lambda kw: len(kw["index"]) <= drawn[0][kw["dim"]] and len(set(kw["index"])) == len(kw["index"]))),
    OpSpec("index_fill", _fn("lambda t, x, *, dim, index, value: x.index_fill(dim, t.tensor(index, dtype=t.int64), "
                             "value)"),
           args=(tensor(VALUES),), shapes=one(), kwargs=_index_fill_value),
    OpSpec("index_fill.tensor", _fn("lambda t, x, v, *, dim, index: x.index_fill(dim, t.tensor(index, "
                                    "dtype=t.int64), v)"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], ())),
           kwargs=_dim_index_kwargs(negative=True)),
    OpSpec("index_put", _fn("lambda t, x, v, *, indices, accumulate: x.index_put(tuple(t.tensor(i, dtype=t.int64) "
                            "for i in indices), v, accumulate=accumulate)"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], ())), kwargs=_index_put_kwargs),
    OpSpec("masked_fill", _fn("lambda t, x, s, *, mask: x.masked_fill(t.tensor(mask, dtype=t.bool), s)"),
           args=(tensor(VALUES), scalar(("float", "int"))), shapes=one(), kwargs=_mask_kwargs),
    OpSpec("masked_fill.tensor", _fn("lambda t, x, v, *, mask: x.masked_fill(t.tensor(mask, dtype=t.bool), v)"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], ())), kwargs=_mask_kwargs),
    OpSpec("masked_scatter", _fn("lambda t, x, src, *, mask: x.masked_scatter(t.tensor(mask, dtype=t.bool), src)"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], s[0])), kwargs=_mask_kwargs),
    OpSpec("put", _fn("lambda t, x, src, *, index, accumulate: x.put(t.tensor(index, dtype=t.int64), "
                      "src.reshape(-1)[:len(index)], accumulate=accumulate)"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], s[0])),
           kwargs=lambda drawn: _take_kwargs(drawn).flatmap(
               lambda kw: st.fixed_dictionaries({"index": st.just(kw["index"][:_numel(drawn[0])]),
                                                 "accumulate": st.booleans()}))),
    OpSpec("sort", _fn("lambda t, x, **kw: t.sort(x, **kw)"), args=(tensor(VALUES),), kwargs=_sort_kwargs,
           dtypes=FLOAT + INT),
    OpSpec("argsort", _fn("lambda t, x, **kw: t.argsort(x, **kw)"), args=(tensor(VALUES),), kwargs=_sort_kwargs,
           differentiable=False, dtypes=FLOAT + INT),
    OpSpec("msort", _fn("lambda t, x: t.msort(x)"), args=(tensor(VALUES),), shapes=one()),
    OpSpec("topk", _fn("lambda t, x, **kw: t.topk(x, **kw)"), args=(tensor(VALUES),), kwargs=_topk_kwargs,
           dtypes=FLOAT + INT),
    OpSpec("nonzero", _fn("lambda t, x: t.nonzero(x)"), args=(tensor(VALUES),), differentiable=False,
           dtypes=FLOAT + INT + BOOL),
    OpSpec("nonzero.as_tuple", _fn("lambda t, x: t.nonzero(x, as_tuple=True)"), args=(tensor(VALUES),),
           differentiable=False, dtypes=FLOAT + INT + BOOL),
    OpSpec("searchsorted", _fn("lambda t, s, v, **kw: t.searchsorted(t.sort(s).values, v, **kw)"),
           args=(tensor(_SORTED_1D), tensor(_SORTED_1D)),
           shapes=st.tuples(shapes(min_dims=1, max_dims=1).map(tuple), shapes(max_dims=2)),
           kwargs={"right": st.booleans(), "out_int32": st.booleans()}, differentiable=False),
    OpSpec("bucketize", _fn("lambda t, v, s, **kw: t.bucketize(v, t.sort(s).values, **kw)"),
           args=(tensor(_SORTED_1D), tensor(_SORTED_1D)),
           shapes=st.tuples(shapes(max_dims=2), shapes(min_dims=1, max_dims=1)),
           kwargs={"right": st.booleans()}, differentiable=False),
    OpSpec("unique", _fn("lambda t, x, **kw: t.unique(x, **kw)"), args=(tensor(FINITE, differentiable=False),),
           kwargs={"return_inverse": st.booleans(), "return_counts": st.booleans()}, differentiable=False,
           dtypes=FLOAT + INT),
]
