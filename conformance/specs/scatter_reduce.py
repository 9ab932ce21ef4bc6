"""Specs for refgrad/ops/scatter_reduce.py: scatter_reduce and index_reduce with every reduction and include_self.
The source is narrowed to the index's shape (torch's backward rejects a smaller index); values are small integers
and their halves so ties, zeros and repeated zeros (prod's special cases) are common."""
from hypothesis import strategies as st

from conformance.specs._spec import Domain, OpSpec, shapes, tensor
from conformance.specs.indexing import _dim_index_kwargs, _fn, _index_grid

TIES = Domain(-3.0, 3.0)  # the common specials (±0, ±0.5, ±1, ±2) are mixed in: ties and zeros


@st.composite
def _scatter_kwargs(draw, drawn, reductions):
    shape = drawn[0]
    dim = draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    d = dim % len(shape)
    index_shape = tuple(draw(st.integers(1, 4)) if i == d else n for i, n in enumerate(shape))
    return {"dim": dim, "index": draw(_index_grid(index_shape, shape[d])),
            "reduce": draw(st.sampled_from(reductions)), "include_self": draw(st.booleans())}


def _index_kwargs(drawn):
    return _dim_index_kwargs()(drawn).filter(lambda kw: len(kw["index"]) <= drawn[0][kw["dim"]]).flatmap(
        lambda kw: st.fixed_dictionaries({**{k: st.just(v) for k, v in kw.items()},
                                          "reduce": st.sampled_from(["prod", "mean", "amax", "amin"]),
                                          "include_self": st.booleans()}))


_SHAPES = shapes(min_dims=1, max_dims=3, min_side=1, max_side=3).map(lambda s: (s, tuple(n + 3 for n in s)))

SPECS = [
    OpSpec("scatter_reduce", _fn(
        "lambda t, x, src, *, dim, index, reduce, include_self: x.scatter_reduce(dim, t.tensor(index, "
        "dtype=t.int64), src[tuple(slice(0, n) for n in t.tensor(index).shape)], reduce, include_self=include_self)"),
        args=(tensor(TIES), tensor(TIES)), shapes=_SHAPES,
        kwargs=lambda drawn: _scatter_kwargs(drawn, ["sum", "prod", "mean", "amax", "amin"])),
    OpSpec("index_reduce", _fn(
        "lambda t, x, src, *, dim, index, reduce, include_self: x.index_reduce(dim, t.tensor(index, "
        "dtype=t.int64), src[tuple(slice(0, len(index) if d == dim % x.ndim else n) for d, n in "
        "enumerate(x.shape))], reduce, include_self=include_self)"),
        args=(tensor(TIES), tensor(TIES)), shapes=_SHAPES, kwargs=_index_kwargs),
]
