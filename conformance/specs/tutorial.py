"""Specs for the ops the torch.autograd tutorials use (the seeds in /work/shared/seeds)."""
from hypothesis import strategies as st

from conformance.specs._spec import (
    BOOL,
    FLOAT,
    INT,
    POSITIVE,
    PROBABILITY,
    SMALL,
    Kwargs,
    OpSpec,
    Shapes,
    bad_matmul_shapes,
    binary,
    broadcastable_shapes,
    dims,
    func,
    matmul_shapes,
    mismatched_shapes,
    same_shapes,
    scalar,
    shapes,
    tensor,
    unary,
)

_EXPONENTS = st.sampled_from([2, 0, 1, 3, -1, -2, 0.5, 1.5, -0.5, 2.5, 0.0, 2.0])
_BASES = st.sampled_from([2, 2.0, 0.5, 0, 0.0, 1, -1.0, 1.5, 3])


def _norm_kwargs(drawn):
    low, high = -max(len(drawn[0]), 1), max(len(drawn[0]), 1) - 1
    return st.fixed_dictionaries({"p": st.sampled_from([2, 1, 3, float("inf"), "fro"])},
                                 optional={"dim": st.integers(low, high), "keepdim": st.booleans()})


def _bce_kwargs(_drawn):
    return st.fixed_dictionaries({}, optional={"reduction": st.sampled_from(["mean", "sum", "none"])})


SPECS = [
    binary("add", "+"),
    binary("sub", "-"),
    binary("mul", "*"),
    binary("div", "/"),
    OpSpec("div.rounding", lambda t, a, b, **kw: t.div(a, b, **kw), args=(tensor(), tensor(dtypes=INT)),
           shapes=Shapes(broadcastable_shapes(2), invalid=mismatched_shapes(2)),
           kwargs={"rounding_mode": st.sampled_from(["trunc", "floor", None])}, dtypes=FLOAT + INT),
    unary("neg", dtypes=FLOAT + INT + BOOL),
    OpSpec("pow", func("pow"), args=(tensor(), tensor(SMALL, dtypes=FLOAT + INT)),
           shapes=Shapes(broadcastable_shapes(2), invalid=mismatched_shapes(2)), dtypes=FLOAT + INT),
    OpSpec("pow.scalar", lambda t, x, s: x.pow(s), args=(tensor(), scalar(values=_EXPONENTS)),
           dtypes=FLOAT + INT),
    OpSpec("pow.rscalar", lambda t, s, x: s ** x, args=(scalar(values=_BASES), tensor(SMALL)), dtypes=FLOAT + INT),
    OpSpec("matmul", func("matmul"), args=(tensor(SMALL), tensor(SMALL, dtypes=FLOAT)),
           shapes=Shapes(matmul_shapes(), invalid=bad_matmul_shapes()), dtypes=FLOAT + INT),
    unary("sum", dtypes=FLOAT + INT + BOOL),
    OpSpec("sum.dim", lambda t, x, **kw: t.sum(x, **kw), kwargs=dims(keepdim=True, multiple=True),
           dtypes=FLOAT + INT + BOOL),
    unary("mean", dtypes=FLOAT + INT),
    OpSpec("mean.dim", lambda t, x, **kw: x.mean(**kw), kwargs=dims(keepdim=True, multiple=True)),
    OpSpec("t", func("t"), shapes=Shapes(same_shapes(1, max_dims=2), invalid=shapes(min_dims=3).map(lambda s: (s,))),
           dtypes=FLOAT + INT),
    OpSpec("norm", lambda t, x, **kw: t.norm(x, **kw), kwargs=_norm_kwargs),
    unary("exp", dtypes=FLOAT + INT),
    unary("log", POSITIVE, dtypes=FLOAT + INT),
    binary("eq", "==", differentiable=False),
    unary("all", differentiable=False, dtypes=BOOL + FLOAT + INT),
    OpSpec("all.dim", lambda t, x, **kw: x.all(**kw), kwargs=dims(keepdim=True), differentiable=False,
           dtypes=BOOL + FLOAT + INT),
    OpSpec("nn.functional.binary_cross_entropy_with_logits",
           func("nn.functional.binary_cross_entropy_with_logits"), args=(tensor(SMALL), tensor(PROBABILITY)),
           shapes=Shapes(same_shapes(2), invalid=mismatched_shapes(2)), kwargs=Kwargs(_bce_kwargs)),
]
