"""Specs for torch options on existing ops (refgrad/ops/indexing.py, _scatter_modes.py, nn.py, attention.py):
``scatter(..., reduce=)``, advanced indexing with integer and boolean tensors in any position (NumPy's placement
rules: adjacent advanced indices stay in place, separated ones go first) for reading and writing, negative
padding, ``enable_gqa``, interpolate's nearest-exact/trilinear/3-D modes and complex var/std."""
from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, INT, SMALL, OpSpec, Shapes, scalar, tensor
from conformance.specs.indexing import VALUES, _fn, _gather_kwargs, one
from conformance.specs.reductions import _variance_kwargs
from conformance.strategies import COMPLEX

_SCATTER_REDUCE = ("lambda t, x, src, *, dim, index, reduce: x.scatter(dim, t.tensor(index, dtype=t.int64), src, "
                   "reduce=reduce)")


@st.composite
def _scatter_reduce_kwargs(draw, drawn):
    return {**draw(_gather_kwargs(drawn, scatter=True)), "reduce": draw(st.sampled_from(["add", "multiply"]))}


SPECS = [
    # torch has no derivative here: its backward raises, which the vjp property compares
    OpSpec("scatter.reduce", _fn(_SCATTER_REDUCE), args=(tensor(VALUES), tensor(VALUES)),
           shapes=one().map(lambda s: (s[0], s[0])), kwargs=lambda drawn: _scatter_reduce_kwargs(drawn),
           dtypes=FLOAT + INT),
    OpSpec("scatter.reduce_value", _fn("lambda t, x, v, *, dim, index, reduce: x.scatter(dim, t.tensor(index, "
                                       "dtype=t.int64), v, reduce=reduce)"),
           args=(tensor(VALUES), scalar(("float",))), shapes=one().map(lambda s: (s[0], s[0])),
           kwargs=lambda drawn: _scatter_reduce_kwargs(drawn)),
    OpSpec("scatter_.reduce", _fn("lambda t, x, src, *, dim, index, reduce: x.detach().clone().scatter_(dim, "
                                  "t.tensor(index, dtype=t.int64), src.detach(), reduce=reduce)"),
           args=(tensor(VALUES), tensor(VALUES)), shapes=one().map(lambda s: (s[0], s[0])),
           kwargs=lambda drawn: _scatter_reduce_kwargs(drawn), differentiable=False, dtypes=FLOAT + INT),
]

# --- advanced indexing --------------------------------------------------------------------------------------
# a key component: an int, ["s", start, stop, step], None, "...", a Python list, ["t", nested ints] (an int64
# tensor) or ["b", nested bools] (a bool tensor over as many dims as it has)
_DECODE = ("lambda t, k: slice(*k[1:]) if isinstance(k, list) and k[:1] == ['s'] else t.tensor(k[1], dtype=t.int64) "
           "if isinstance(k, list) and k[:1] == ['t'] else t.tensor(k[1], dtype=t.bool) if isinstance(k, list) and "
           "k[:1] == ['b'] else Ellipsis if k == '...' else k")
_READ = f"lambda t, x, *, key: x[tuple(({_DECODE})(t, k) for k in key)]"
_WRITE = (f"lambda t, x, v, *, key: (lambda y: (y.__setitem__(tuple(({_DECODE})(t, k) for k in key), v), y)[1])"
          "(x.clone())")


def _nest(flat, shape):
    if not shape:
        return flat[0]
    step = 1
    for n in shape[1:]:
        step *= n
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


@st.composite
def _tensor_key(draw, shape):
    """Components covering ``shape``: the advanced ones (int tensors, lists, bool masks) broadcast together."""
    ndim, dim, key, used_ellipsis = len(shape), 0, [], False
    broadcast = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2), label="index shape"))
    while dim < ndim:
        kinds = ["int", "slice", "none", "tensor", "tensor", "list", "mask"] + ([] if used_ellipsis else ["..."])
        kind = draw(st.sampled_from(kinds), label="index kind")
        size = shape[dim]
        if kind == "int":
            key.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            key.append(["s", draw(st.one_of(st.none(), st.integers(-size, size))),
                        draw(st.one_of(st.none(), st.integers(-size, size))), draw(st.sampled_from([None, 1, 2]))])
        elif kind == "none":
            key.append(None)
            continue
        elif kind == "tensor":  # a shape that broadcasts to ``broadcast``
            own = tuple(draw(st.sampled_from([n, 1])) for n in broadcast)[draw(st.integers(0, len(broadcast) - 1)):]
            count = 1
            for n in own:
                count *= n
            flat = draw(st.lists(st.integers(-size, size - 1), min_size=count, max_size=count))
            key.append(["t", _nest(flat, own)])
        elif kind == "list":
            key.append(draw(st.lists(st.integers(-size, size - 1), min_size=broadcast[-1], max_size=broadcast[-1])))
        elif kind == "mask":
            span = draw(st.integers(1, min(2, ndim - dim)))
            sub = shape[dim:dim + span]
            count = 1
            for n in sub:
                count *= n
            key.append(["b", _nest(draw(st.lists(st.booleans(), min_size=count, max_size=count)), sub)])
            dim += span
            continue
        else:
            key.append("...")
            used_ellipsis = True
            rest = draw(st.integers(0, ndim - dim))
            dim = ndim - rest
            continue
        dim += 1
    return key


def _tensor_key_kwargs(drawn):
    return st.fixed_dictionaries({"key": _tensor_key(drawn[0])})


SPECS += [
    OpSpec("getitem.tensors", _fn(_READ), args=(tensor(VALUES),), shapes=one(max_side=3), kwargs=_tensor_key_kwargs,
           dtypes=FLOAT + INT),
    OpSpec("setitem.tensors", _fn(_WRITE), args=(tensor(VALUES), tensor(VALUES)),
           shapes=one(max_side=3).map(lambda s: (s[0], ())), kwargs=_tensor_key_kwargs),
]


# --- grouped-query attention --------------------------------------------------------------------------------
@st.composite
def _gqa_shapes(draw):
    """q (B, Hk*g, L, E), k (B, Hk, S, E), v (B, Hv, S, Ev) with Hv dividing the query heads: one key/value
    head count and head size take torch's fused CPU kernel, others its math path."""
    batch = draw(st.integers(1, 2))
    key_heads, groups = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    heads = key_heads * groups
    value_heads = draw(st.sampled_from([key_heads, key_heads, heads, 1]))
    length, source, d = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dv = draw(st.sampled_from([d, d, d + 1]))
    return ((batch, heads, length, d), (batch, key_heads, source, d), (batch, value_heads, source, dv))


_BAD_GQA = st.sampled_from([((1, 3, 2, 2), (1, 2, 2, 2), (1, 2, 2, 2)), ((1, 2, 2, 2), (1, 4, 2, 2), (1, 4, 2, 2)),
                            ((2, 2), (2, 2), (2, 2)), ((1, 4, 2, 2), (1, 2, 2, 2), (1, 3, 2, 2))])

SPECS += [
    OpSpec("nn.functional.scaled_dot_product_attention.gqa",
           lambda t, q, k, v, **kw: t.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True, **kw),
           args=(tensor(SMALL), tensor(SMALL), tensor(SMALL)), shapes=Shapes(_gqa_shapes(), invalid=_BAD_GQA),
           kwargs=st.fixed_dictionaries({}, optional={"is_causal": st.booleans(), "scale": st.sampled_from([0.5])}),
           tol={"float32": (1e-5, 1e-4)}, tol_reason="float32 softmax of scores: summation order differs"),
]


# --- negative padding ---------------------------------------------------------------------------------------
@st.composite
def _negative_pad_case(draw):
    nd = draw(st.integers(1, 3), label="padded dims")
    return ((draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(draw(st.integers(1, 4)) for _ in range(nd)),)


def _defined(shape, pad, mode) -> bool:
    """Avoid what torch 2.13 leaves undefined: circular padding longer than the cropped dim (uninitialized memory,
    or a gradient that does not match the output; refgrad/ops/pooling.py, _check_circular_copies), and empty
    reflect/replicate outputs (their double backward returns uninitialized memory)."""
    sizes = list(reversed(shape[2:]))
    if mode == "circular":
        return all(max(lo, hi) <= n + min(lo, 0) + min(hi, 0) for n, lo, hi in zip(sizes, pad[0::2], pad[1::2]))
    if mode in ("reflect", "replicate"):
        return all(n + lo + hi != 0 for n, lo, hi in zip(sizes, pad[0::2], pad[1::2]))
    return True


def _negative_pad_kwargs(drawn):
    shape = drawn[0]

    def for_mode(mode):
        amounts = []
        for size in reversed(shape[2:]):
            high = size - 1 if mode == "reflect" else size
            amounts += [st.integers(-size - 1, high), st.integers(-size - 1, high)]
        pads = st.tuples(*amounts)
        pads = pads.filter(lambda pad: _defined(shape, pad, mode))
        extra = {"value": st.sampled_from([None, 1.5])} if mode == "constant" else {}
        return st.fixed_dictionaries({"pad": pads, "mode": st.just(mode), **extra})
    return st.sampled_from(["constant", "reflect", "replicate", "circular"]).flatmap(for_mode)


SPECS += [
    OpSpec("nn.functional.pad.negative", lambda t, x, **kw: t.nn.functional.pad(x, **kw), args=(tensor(VALUES),),
           shapes=_negative_pad_case(), kwargs=_negative_pad_kwargs),
]


# --- interpolate: nearest-exact, trilinear, 3 spatial dims ------------------------------------------------------
@st.composite
def _interp_shapes(draw, dims):
    nd = draw(st.sampled_from(dims))
    return ((draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(draw(st.integers(1, 5)) for _ in range(nd)),)


def _interp_kwargs(mode):
    def kwargs(drawn):
        spatial = drawn[0][2:]
        nd = len(spatial)
        scale = st.sampled_from([0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.0])
        how = st.one_of(st.fixed_dictionaries({"size": st.tuples(*(st.integers(1, 6) for _ in range(nd)))}),
                        st.fixed_dictionaries({"scale_factor": st.one_of(scale, st.tuples(*(scale,) * nd))},
                                              optional={"recompute_scale_factor": st.booleans()}))
        extra = {"align_corners": st.sampled_from([None, True, False])} if mode == "trilinear" else {}

        def nonempty(kw):
            factors = kw.get("scale_factor", 1.0)
            factors = factors if isinstance(factors, tuple) else (factors,) * nd
            return all(int(n * f) >= 1 for n, f in zip(spatial, factors))
        return st.tuples(how, st.fixed_dictionaries({"mode": st.just(mode), **extra})).map(
            lambda pair: {**pair[0], **pair[1]}).filter(nonempty)
    return kwargs


SPECS += [
    OpSpec("nn.functional.interpolate.nearest_exact", lambda t, x, **kw: t.nn.functional.interpolate(x, **kw),
           shapes=_interp_shapes((1, 2, 3)), kwargs=_interp_kwargs("nearest-exact")),
    OpSpec("nn.functional.interpolate.nearest3d", lambda t, x, **kw: t.nn.functional.interpolate(x, **kw),
           shapes=_interp_shapes((3,)), kwargs=_interp_kwargs("nearest")),
    OpSpec("nn.functional.interpolate.trilinear", lambda t, x, **kw: t.nn.functional.interpolate(x, **kw),
           shapes=_interp_shapes((3,)), kwargs=_interp_kwargs("trilinear"), tol={"float32": (1.3e-6, 1e-4)},
           tol_reason="float32 trilinear sums of 8 weighted inputs round differently (as bilinear's)"),
]


# --- complex variance -----------------------------------------------------------------------------------------
def _positive_dof(drawn):
    """Variance kwargs with more elements than ``correction``: at zero or fewer degrees of freedom torch's complex
    gradient is NaN/inf in a pattern refgrad does not reproduce yet (x = [1j, 0], correction 2: torch nan + 0j
    for both, refgrad inf + 0j; 0-d x = 1j: both nan + 0j)."""
    shape = drawn[0]

    def enough(kw):
        dims = kw["dim"]
        dims = range(len(shape)) if dims is None else (dims,) if isinstance(dims, int) else dims
        count = 1
        for d in dims:
            count *= shape[d] if shape else 1
        return count > kw.get("correction", 1)
    return _variance_kwargs(drawn).filter(enough)


_COMPLEX_VAR = dict(kwargs=_positive_dof, dtypes=COMPLEX, tol={"complex64": (1e-5, 1e-4), "float32": (1e-5, 1e-4)},
                    tol_reason="complex64 means round differently: of a constant row (0 + 32.06j) * 3 torch's "
                               "second derivative is -1.1e-5 where the exact value (refgrad's) is 0; the float32 "
                               "gradient of var's real cotangent sums the same x - mean (default seed 3113: 23 "
                               "entries 33.5 and one 1.0, second cotangent 2: torch -1.06e-5, refgrad 5.3e-6, "
                               "exact 0)")
SPECS += [
    OpSpec("var.complex", lambda t, x, **kw: t.var(x, **kw), **_COMPLEX_VAR),
    OpSpec("std.complex", lambda t, x, **kw: x.std(**kw), **_COMPLEX_VAR),
    OpSpec("var_mean.complex", lambda t, x, **kw: t.var_mean(x, **kw), **_COMPLEX_VAR),
    OpSpec("std_mean.complex", lambda t, x, **kw: t.std_mean(x, **kw), **_COMPLEX_VAR),
]
