"""Specs for the binary maths, comparison, logical/bitwise and selection ops (refgrad/ops/binary.py,
comparison.py, selection.py, elementwise.py). add/sub/mul/div/pow/eq/neg/exp/log are in tutorial.py.

Values come with the strategies' special points (±0, ±1, ties between operands through small integer values,
NaN/±inf), which is where torch's conventions (ties, bounds, 0/0) are exercised.
"""
from hypothesis import strategies as st

from conformance.specs._spec import (
    BOOL,
    FLOAT,
    INT,
    NONZERO,
    POSITIVE,
    SMALL,
    Domain,
    Kwargs,
    OpSpec,
    Shapes,
    binary,
    broadcastable_shapes,
    func,
    mismatched_shapes,
    same_shapes,
    scalar,
    tensor,
    unary,
)

FLOATS_ONLY = ("float64", "float32")
NUMERIC = ("float64", "float32", "int64")
TIES = Domain(-3.0, 3.0, specials=(0.0, 1.0, -1.0, 2.0))  # small range: operands often tie
BOUNDS = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2, -2, 0])
DIVISORS = st.sampled_from([2, -3, 1, 0.75, -1.5, 2.5, 0.1, -0.25, 7])


def _broadcast(n: int) -> Shapes:
    return Shapes(broadcastable_shapes(n), invalid=mismatched_shapes(n))


def _clamp_kwargs(_drawn):
    bound = st.one_of(st.none(), BOUNDS)
    return st.fixed_dictionaries({"min": bound, "max": bound}).filter(
        lambda kw: kw["min"] is not None or kw["max"] is not None)


def _dist_kwargs(_drawn):
    return st.fixed_dictionaries({}, optional={"p": st.sampled_from([2, 1, 3, 1.5, 0.5, 0, -1, float("inf"),
                                                                    float("-inf")])})


def _alpha_kwargs(_drawn):
    return st.fixed_dictionaries({}, optional={"alpha": st.sampled_from([1, 2, -1, 0.5])})


def _rounding_kwargs(_drawn):
    return st.fixed_dictionaries({"rounding_mode": st.sampled_from(["trunc", "floor"])})


def _isclose_kwargs(_drawn):
    return st.fixed_dictionaries({}, optional={"rtol": st.sampled_from([1e-5, 0.1, 0.0]),
                                               "atol": st.sampled_from([1e-8, 0.5, 0.0]),
                                               "equal_nan": st.booleans()})


def _value_kwargs(_drawn):
    return st.fixed_dictionaries({}, optional={"value": st.sampled_from([1, 2, -0.5, 0])})


SPECS = [
    # --- arithmetic forms not in tutorial.py -----------------------------------------------------------
    OpSpec("add.alpha", lambda t, a, b, **kw: t.add(a, b, **kw), args=(tensor(), tensor(dtypes=FLOAT)),
           shapes=_broadcast(2), kwargs=_alpha_kwargs),
    OpSpec("sub.alpha", lambda t, a, b, **kw: a.sub(b, **kw), args=(tensor(), tensor(dtypes=FLOAT)),
           shapes=_broadcast(2), kwargs=_alpha_kwargs),
    OpSpec("rsub", lambda t, a, b, **kw: t.rsub(a, b, **kw), args=(tensor(), tensor(dtypes=NUMERIC)),
           shapes=_broadcast(2), kwargs=_alpha_kwargs, dtypes=NUMERIC),
    OpSpec("rsub.scalar", lambda t, a, s: t.rsub(a, s), args=(tensor(), scalar()), dtypes=NUMERIC),
    binary("true_divide", domains=(SMALL, NONZERO)),
    OpSpec("div.rounding_scalar", lambda t, a, s, **kw: t.div(a, s, **kw),
           args=(tensor(), scalar(domain=Domain(-5.0, 5.0, nonzero=True))), kwargs=_rounding_kwargs,
           dtypes=NUMERIC),
    binary("floor_divide", domains=(SMALL, NONZERO), promote=("float64", "float32", "int64"), dtypes=NUMERIC),
    OpSpec("float_power", func("float_power"), args=(tensor(POSITIVE), tensor(SMALL, dtypes=NUMERIC)),
           shapes=_broadcast(2), dtypes=NUMERIC),
    OpSpec("float_power.scalar", lambda t, x, s: t.float_power(x, s), args=(tensor(), scalar(
        values=st.sampled_from([2, 0, 0.5, -1, 3, 1.5]))), dtypes=NUMERIC),
    OpSpec("float_power.rscalar", lambda t, s, x: t.float_power(s, x), args=(scalar(
        values=st.sampled_from([2, 0.5, 0, 3.0])), tensor(SMALL)), dtypes=NUMERIC),
    # --- binary maths -----------------------------------------------------------------------------------
    binary("atan2", domains=(TIES, TIES), promote=("float64", "float32", "int64"), dtypes=NUMERIC),
    binary("arctan2", dtypes=FLOATS_ONLY, promote=FLOATS_ONLY),
    binary("hypot", domains=(TIES, TIES), promote=FLOATS_ONLY, dtypes=FLOATS_ONLY),
    binary("maximum", domains=(TIES, TIES)),
    binary("minimum", domains=(TIES, TIES)),
    binary("fmax", domains=(TIES, TIES)),
    binary("fmin", domains=(TIES, TIES)),
    binary("fmod", domains=(SMALL, NONZERO), promote=("float64", "float32", "int64"), dtypes=NUMERIC),
    OpSpec("fmod.scalar", lambda t, x, s: t.fmod(x, s), args=(tensor(), scalar(values=DIVISORS)), dtypes=NUMERIC),
    binary("remainder", domains=(SMALL, NONZERO), promote=("float64", "float32", "int64"), dtypes=NUMERIC),
    # Divisors are drawn from a set: torch's vectorized CPU kernel (tensors of 8+ elements) computes
    # x - y * floor(x / y), so a subnormal divisor gives NaN there and fmod's value elsewhere (size-dependent).
    OpSpec("remainder.scalar", lambda t, x, s: x.remainder(s), args=(tensor(), scalar(values=DIVISORS)),
           dtypes=NUMERIC),
    binary("copysign", domains=(TIES, TIES), dtypes=NUMERIC),
    OpSpec("copysign.scalar", lambda t, x, s: t.copysign(x, s), args=(tensor(), scalar()), dtypes=NUMERIC),
    binary("xlogy", domains=(TIES, Domain(0.0, 5.0, specials=(0.0, 1.0))), dtypes=NUMERIC),
    OpSpec("xlogy.scalar_other", lambda t, x, s: t.xlogy(x, s), args=(tensor(TIES), scalar(
        values=st.sampled_from([0.0, 1.0, 2.5, 0.5]))), dtypes=NUMERIC),
    OpSpec("xlogy.scalar_self", lambda t, s, y: t.xlogy(s, y), args=(scalar(
        values=st.sampled_from([0.0, 1.0, 2.5, -1.5])), tensor(Domain(0.0, 5.0, specials=(0.0,)))),
        dtypes=NUMERIC),
    binary("special.xlogy", domains=(TIES, Domain(0.0, 5.0, specials=(0.0,))), dtypes=FLOATS_ONLY,
           promote=FLOATS_ONLY),
    binary("logaddexp", domains=(TIES, TIES), promote=FLOATS_ONLY, dtypes=FLOATS_ONLY),
    binary("logaddexp2", domains=(TIES, TIES), promote=FLOATS_ONLY, dtypes=FLOATS_ONLY),
    OpSpec("lerp.scalar", lambda t, a, b, w: t.lerp(a, b, w), args=(tensor(), tensor(), scalar(
        values=st.sampled_from([0.0, 0.3, 0.5, 0.75, 1.0, -0.5, 2.0]))), shapes=_broadcast(2),
        dtypes=FLOATS_ONLY),
    OpSpec("lerp.tensor", func("lerp"), args=(tensor(), tensor(), tensor(Domain(-1.0, 2.0, specials=(0.5,)))),
           shapes=_broadcast(3), dtypes=FLOATS_ONLY),
    OpSpec("addcmul", lambda t, a, b, c, **kw: t.addcmul(a, b, c, **kw),
           args=(tensor(), tensor(SMALL), tensor(SMALL, dtypes=FLOAT)), shapes=_broadcast(3),
           kwargs=_value_kwargs, dtypes=NUMERIC),
    OpSpec("addcdiv", lambda t, a, b, c, **kw: a.addcdiv(b, c, **kw),
           args=(tensor(), tensor(SMALL), tensor(NONZERO)), shapes=_broadcast(3), kwargs=_value_kwargs,
           dtypes=FLOATS_ONLY),
    OpSpec("dist", lambda t, a, b, **kw: t.dist(a, b, **kw), args=(tensor(TIES), tensor(TIES, dtypes=FLOAT)),
           shapes=_broadcast(2), kwargs=_dist_kwargs, dtypes=FLOATS_ONLY),
    # --- selection --------------------------------------------------------------------------------------
    OpSpec("where", lambda t, c, a, b: t.where(c > 0, a, b),
           args=(tensor(differentiable=False), tensor(), tensor(dtypes=("float64", "float32", "int64"))),
           shapes=_broadcast(3), dtypes=NUMERIC),
    OpSpec("where.scalar", lambda t, a, s: t.where(a > 0, a, s), args=(tensor(), scalar()), dtypes=NUMERIC),
    OpSpec("where.rscalar", lambda t, s, a: a.where(a < 1, s), args=(scalar(), tensor()), dtypes=NUMERIC),
    OpSpec("clamp", lambda t, x, **kw: t.clamp(x, **kw), args=(tensor(TIES),), kwargs=Kwargs(_clamp_kwargs),
           dtypes=NUMERIC),
    OpSpec("clamp.tensor", lambda t, x, lo, hi: t.clamp(x, lo, hi), args=(tensor(TIES), tensor(TIES),
                                                                           tensor(TIES)),
           shapes=_broadcast(3), dtypes=NUMERIC),
    OpSpec("clamp.tensor_min", lambda t, x, lo: t.clamp(x, min=lo), args=(tensor(TIES), tensor(TIES)),
           shapes=_broadcast(2), dtypes=NUMERIC),
    OpSpec("clip", lambda t, x: x.clip(-1, 1), args=(tensor(TIES),), dtypes=NUMERIC),
    OpSpec("clamp_min", lambda t, x, lo: t.clamp_min(x, lo), args=(tensor(TIES), tensor(TIES)),
           shapes=_broadcast(2), dtypes=NUMERIC),
    OpSpec("clamp_min.scalar", lambda t, x, s: x.clamp_min(s), args=(tensor(TIES), scalar(values=BOUNDS)),
           dtypes=NUMERIC),
    OpSpec("clamp_max", lambda t, x, hi: t.clamp_max(x, hi), args=(tensor(TIES), tensor(TIES)),
           shapes=_broadcast(2), dtypes=NUMERIC),
    OpSpec("clamp_max.scalar", lambda t, x, s: t.clamp_max(x, s), args=(tensor(TIES), scalar(values=BOUNDS)),
           dtypes=NUMERIC),
    # --- comparisons, predicates ------------------------------------------------------------------------
    binary("ne", "!=", domains=(TIES, TIES), differentiable=False),
    binary("lt", "<", domains=(TIES, TIES), differentiable=False),
    binary("le", "<=", domains=(TIES, TIES), differentiable=False),
    binary("gt", ">", domains=(TIES, TIES), differentiable=False),
    binary("ge", ">=", domains=(TIES, TIES), differentiable=False),
    OpSpec("isclose", lambda t, a, b, **kw: t.isclose(a, b, **kw), args=(tensor(TIES), tensor(TIES)),
           shapes=_broadcast(2), kwargs=_isclose_kwargs, differentiable=False, dtypes=FLOAT + INT + BOOL),
    OpSpec("equal", lambda t, a, b: t.tensor(t.equal(a, b)), args=(tensor(TIES), tensor(TIES, dtypes=NUMERIC)),
           shapes=st.one_of(same_shapes(2), broadcastable_shapes(2)), differentiable=False,
           dtypes=FLOAT + INT + BOOL),
    unary("isnan", differentiable=False, dtypes=FLOAT + INT + BOOL),
    unary("isinf", differentiable=False, dtypes=FLOAT + INT + BOOL),
    unary("isfinite", differentiable=False, dtypes=FLOAT + INT + BOOL),
    unary("signbit", differentiable=False, dtypes=FLOAT + INT + BOOL),
    # --- logical and bitwise ----------------------------------------------------------------------------
    binary("logical_and", differentiable=False, promote=("float64", "int64", "bool")),
    binary("logical_or", differentiable=False, promote=("float64", "int64", "bool")),
    binary("logical_xor", differentiable=False, promote=("float64", "int64", "bool")),
    unary("logical_not", differentiable=False, dtypes=FLOAT + INT + BOOL),
    binary("bitwise_and", differentiable=False, promote=("int64", "bool"), dtypes=INT + BOOL),
    OpSpec("bitwise_and.scalar", lambda t, x, s: x & s, args=(tensor(), scalar(("int", "bool"))),
           differentiable=False, dtypes=INT + BOOL),
    OpSpec("bitwise_and.rscalar", lambda t, s, x: t.bitwise_and(s, x), args=(scalar(("int", "bool")), tensor()),
           differentiable=False, dtypes=INT + BOOL),
    binary("bitwise_or", differentiable=False, promote=("int64", "bool"), dtypes=INT + BOOL),
    OpSpec("bitwise_or.scalar", lambda t, x, s: x | s, args=(tensor(), scalar(("int", "bool"))),
           differentiable=False, dtypes=INT + BOOL),
    OpSpec("bitwise_or.rscalar", lambda t, s, x: t.bitwise_or(s, x), args=(scalar(("int", "bool")), tensor()),
           differentiable=False, dtypes=INT + BOOL),
    binary("bitwise_xor", differentiable=False, promote=("int64", "bool"), dtypes=INT + BOOL),
    OpSpec("bitwise_xor.scalar", lambda t, x, s: x ^ s, args=(tensor(), scalar(("int", "bool"))),
           differentiable=False, dtypes=INT + BOOL),
    OpSpec("bitwise_xor.rscalar", lambda t, s, x: t.bitwise_xor(s, x), args=(scalar(("int", "bool")), tensor()),
           differentiable=False, dtypes=INT + BOOL),
    unary("bitwise_not", differentiable=False, dtypes=INT + BOOL),
    OpSpec("bitwise_left_shift", func("bitwise_left_shift"),
           args=(tensor(), tensor(Domain(-2.0, 70.0), dtypes=INT)), shapes=_broadcast(2), dtypes=INT,
           differentiable=False),
    OpSpec("bitwise_right_shift", func("bitwise_right_shift"),
           args=(tensor(), tensor(Domain(-2.0, 70.0), dtypes=INT)), shapes=_broadcast(2), dtypes=INT,
           differentiable=False),
]
