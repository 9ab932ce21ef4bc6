"""Specs for torch.masked (refgrad/ops/masked.py): each reduction with a random boolean mask drawn alongside the
input (fully masked rows included, where the identity shows: 0, -inf, NaN...), over one dim, all dims, or none
masked. Masks are built inside ``fn`` from a second tensor's sign, so they shrink with the inputs."""
from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, SMALL, Domain, OpSpec, shapes, tensor

_SIGNS = Domain(-1.0, 1.0, specials=(-1.0, 1.0), nonfinite=())
PAIR = shapes(min_dims=1, max_dims=3, min_side=1).map(lambda s: (s, s))
ARGS = (tensor(), tensor(_SIGNS, differentiable=False))


def _dim(drawn):
    n = len(drawn[0])
    return st.integers(-n, n - 1)


def _reduction_kwargs(drawn):
    return st.fixed_dictionaries({}, optional={"dim": _dim(drawn), "keepdim": st.booleans()})


def _dim_kwargs(drawn):
    return st.fixed_dictionaries({"dim": _dim(drawn)})


def _reduction(name: str, **options) -> OpSpec:
    fn = eval(f"lambda t, x, m, **kw: t.masked.{name}(x, mask=m > 0, **kw)")  # noqa: S307 - a fixed name
    fn.__conformance_source__ = f"lambda t, x, m, **kw: t.masked.{name}(x, mask=m > 0, **kw)"
    return OpSpec(f"masked.{name}", fn, **{"args": ARGS, "shapes": PAIR, "kwargs": _reduction_kwargs, **options})


def _along(name: str, **options) -> OpSpec:
    fn = eval(f"lambda t, x, m, **kw: t.masked.{name}(x, kw['dim'], mask=m > 0)")  # noqa: S307 - a fixed name
    fn.__conformance_source__ = f"lambda t, x, m, **kw: t.masked.{name}(x, kw['dim'], mask=m > 0)"
    return OpSpec(f"masked.{name}", fn, **{"args": ARGS, "shapes": PAIR, "kwargs": _dim_kwargs, **options})


SPECS = [
    _reduction("sum"), _reduction("mean"), _reduction("amax"), _reduction("amin"), _reduction("logsumexp"),
    _reduction("var"), _reduction("std"),
    _reduction("prod", args=(tensor(SMALL), tensor(_SIGNS, differentiable=False))),
    OpSpec("masked.norm", lambda t, x, m, **kw: t.masked.norm(x, kw["ord"], kw.get("dim"), mask=m > 0),
           args=ARGS, shapes=PAIR, kwargs=lambda d: st.fixed_dictionaries(
               {"ord": st.sampled_from([2.0, 1.0, 3.0, float("inf")])}, optional={"dim": _dim(d)})),
    _along("cumsum"), _along("cumprod", args=(tensor(SMALL), tensor(_SIGNS, differentiable=False))),
    _along("softmax"), _along("log_softmax"), _along("softmin"), _along("median"),
    OpSpec("masked.normalize", lambda t, x, m, **kw: t.masked.normalize(x, kw["ord"], kw["dim"], mask=m > 0),
           args=ARGS, shapes=PAIR, kwargs=lambda d: st.fixed_dictionaries(
               {"ord": st.sampled_from([2.0, 1.0]), "dim": _dim(d)})),
    OpSpec("masked.logaddexp", lambda t, x, y, m: t.masked.logaddexp(x, y, input_mask=m > 0, other_mask=m < 0.5),
           args=(tensor(), tensor(), tensor(_SIGNS, differentiable=False)),
           shapes=PAIR.map(lambda p: (p[0], p[0], p[0])), dtypes=FLOAT),
]
