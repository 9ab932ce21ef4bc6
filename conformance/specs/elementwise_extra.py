"""Specs for refgrad/ops/elementwise_extra.py: frexp, ldexp, nextafter, mvlgamma, renorm, addr, constant_pad_nd.

ldexp's integer exponents are drawn non-negative: torch 2.13 computes the input's gradient as pow(2, other) in the
integer dtype, so a negative integer exponent gives gradient 0 (2^-4 -> 0) where the value is 0.0625·g; refgrad
gives the true slope (tests/ops/test_elementwise_extra.py pins both)."""
from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, Domain, OpSpec, shapes, tensor

ONE = shapes(min_side=1).map(lambda s: (s,))
PAIR = shapes(min_side=1).map(lambda s: (s, s))
_EXPONENTS = Domain(-6.0, 6.0, nonfinite=())
_NONNEG_INT = Domain(0.0, 8.0, nonfinite=())
_GAMMA = Domain(1.6, 20.0, specials=(2.0, 2.5), nonfinite=())


def _dim(drawn):
    n = len(drawn[0])
    return st.integers(-n, n - 1)


SPECS = [
    OpSpec("frexp", lambda t, x: t.frexp(x), shapes=ONE),
    OpSpec("ldexp", lambda t, x, o: t.ldexp(x, o), args=(tensor(), tensor(_EXPONENTS)), shapes=PAIR),
    OpSpec("ldexp.int", lambda t, x, o: x.ldexp(o), args=(tensor(), tensor(_NONNEG_INT, dtypes=("int64",))),
           shapes=PAIR),
    OpSpec("nextafter", lambda t, x, o: t.nextafter(x, o), args=(tensor(), tensor()), shapes=PAIR),
    OpSpec("mvlgamma", lambda t, x, **kw: t.mvlgamma(x, **kw), args=(tensor(_GAMMA),), shapes=ONE,
           kwargs={"p": st.integers(1, 3)}, tol={"float32": (1e-5, 1e-5)},
           tol_reason="float32 digamma sums: torch's kernel and refgrad's series round differently"),
    OpSpec("renorm", lambda t, x, **kw: t.renorm(x, **kw),
           # no exact zeros: at a zero slice torch's double backward is NaN (0/0 in its formula), refgrad's is 0
           args=(tensor(Domain(-3.0, 3.0, nonfinite=(), nonzero=True)),),
           shapes=shapes(min_dims=2, max_dims=3, min_side=1).map(lambda s: (s,)),
           kwargs=lambda d: st.fixed_dictionaries(
                   {"p": st.sampled_from([1.0, 2.0, 3.0]), "dim": _dim(d),
                    "maxnorm": st.sampled_from([0.5, 1.0, 5.0])}),
           tol={"float32": (1e-4, 1e-5)}, tol_reason="float32 norms sum in a different order"),
    OpSpec("addr", lambda t, a, u, v, **kw: t.addr(a, u, v, **kw), args=(tensor(), tensor(), tensor()),
           shapes=st.tuples(st.integers(1, 4), st.integers(1, 4)).map(lambda mn: (mn, mn[:1], mn[1:])),
           kwargs=st.fixed_dictionaries({}, optional={"beta": st.sampled_from([0, 0.5, 1]),
                                                      "alpha": st.sampled_from([1, 2.0])}), dtypes=FLOAT),
    OpSpec("constant_pad_nd", lambda t, x, **kw: t.constant_pad_nd(x, **kw), shapes=shapes(min_dims=1, min_side=1).map(
        lambda s: (s,)), kwargs={"pad": st.sampled_from([(1, 2), (0, 1, 2, 0), (2, 2)]), "value": st.sampled_from(
            [0.0, 1.5])}),
]
