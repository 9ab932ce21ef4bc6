"""Specs for torch.fft (refgrad/ops/fft.py): every transform with drawn ``n``/``s``, ``dim`` and ``norm``, on
real, integer and complex inputs, plus the shifts and the frequency factories.

Values are finite (a NaN or infinite sample spreads over every bin, in an order that depends on the FFT
library). float32/complex64 tolerances are absolute over the transform's scale: a bin near zero is a sum of
terms as large as the largest sample, rounded in a library-specific order.
"""
from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, INT, Domain, Kwargs, OpSpec, func, scalar, shapes, tensor
from conformance.strategies import COMPLEX

_VALUES = Domain(-10.0, 10.0, nonfinite=())
_NORM = st.sampled_from([None, "backward", "ortho", "forward"])
_TOL = {"float32": (1e-5, 1e-4), "complex64": (1e-5, 1e-4)}
_TOL_REASON = "float32 FFTs round their sums in a library-specific order (pocketfft vs torch's)"
_ONE_D_SHAPES = shapes(min_dims=1, max_dims=3, min_side=1, max_side=5).map(lambda shape: (shape,))
_N_D_SHAPES = shapes(min_dims=2, max_dims=3, min_side=1, max_side=4).map(lambda shape: (shape,))


def _one_d_kwargs(drawn):
    ndim = len(drawn[0])
    return st.fixed_dictionaries({}, optional={"n": st.integers(1, 7), "dim": st.integers(-ndim, ndim - 1),
                                               "norm": _NORM})


def _one_d_invalid(drawn):
    ndim = len(drawn[0])
    return st.one_of(st.fixed_dictionaries({"n": st.sampled_from([0, -1])}),
                     st.fixed_dictionaries({"dim": st.sampled_from([ndim, -ndim - 1])}),
                     st.fixed_dictionaries({"norm": st.just("bad")}))


@st.composite
def _dims_and_sizes(draw, ndim: int, fixed: int | None):
    """Optional ``dim`` (distinct dims in either sign; ``fixed`` of them for the 2-D forms) and optional ``s``
    (sizes or -1; without ``dim`` it applies to the last dims), and ``norm``."""
    count = fixed or draw(st.integers(1, ndim))
    dims = draw(st.lists(st.integers(0, ndim - 1), min_size=count, max_size=count, unique=True))
    kwargs = {"norm": draw(_NORM)}
    if draw(st.booleans()):
        kwargs["dim"] = tuple(draw(st.sampled_from([d, d - ndim])) for d in dims)
    if draw(st.booleans()):
        kwargs["s"] = tuple(draw(st.one_of(st.integers(1, 6), st.just(-1))) for _ in range(count))
    return kwargs


def _n_d_kwargs(fixed: int | None):
    return lambda drawn: _dims_and_sizes(len(drawn[0]), fixed)


def _n_d_invalid(drawn):
    return st.one_of(st.fixed_dictionaries({"dim": st.just((0, 0))}),
                     st.fixed_dictionaries({"s": st.just((1, 2, 3, 4))}),
                     st.fixed_dictionaries({"s": st.just((0, 1)), "dim": st.just((0, 1))}),
                     st.fixed_dictionaries({"norm": st.just("bad")}))


def _transform(name: str, dtypes, kwargs, invalid, shape_strategy):
    return OpSpec(f"fft.{name}", func(f"fft.{name}"), args=(tensor(_VALUES),), shapes=shape_strategy,
                  kwargs=Kwargs(kwargs, invalid), dtypes=dtypes, tol=_TOL, tol_reason=_TOL_REASON)


_ANY = FLOAT + COMPLEX + INT
_REAL = FLOAT + INT

SPECS = [
    *[_transform(name, _ANY, _one_d_kwargs, _one_d_invalid, _ONE_D_SHAPES)
      for name in ("fft", "ifft", "irfft", "hfft")],
    *[_transform(name, _REAL, _one_d_kwargs, _one_d_invalid, _ONE_D_SHAPES) for name in ("rfft", "ihfft")],
    *[_transform(name, _ANY, _n_d_kwargs(2), _n_d_invalid, _N_D_SHAPES) for name in ("fft2", "ifft2", "irfft2",
                                                                                     "hfft2")],
    *[_transform(name, _REAL, _n_d_kwargs(2), _n_d_invalid, _N_D_SHAPES) for name in ("rfft2", "ihfft2")],
    *[_transform(name, _ANY, _n_d_kwargs(None), _n_d_invalid, _N_D_SHAPES) for name in ("fftn", "ifftn", "irfftn",
                                                                                        "hfftn")],
    *[_transform(name, _REAL, _n_d_kwargs(None), _n_d_invalid, _N_D_SHAPES) for name in ("rfftn", "ihfftn")],
    OpSpec("fft.rfft.complex_input", func("fft.rfft"), dtypes=COMPLEX, differentiable=False),
    OpSpec("fft.fftshift", lambda t, x, **kw: t.fft.fftshift(x, **kw), dtypes=FLOAT + COMPLEX + INT,
           kwargs=lambda drawn: st.fixed_dictionaries({}, optional={"dim": st.sampled_from(
               [d for d in range(-len(drawn[0]), len(drawn[0]))] or [None])})),
    OpSpec("fft.ifftshift", lambda t, x: t.fft.ifftshift(x), dtypes=FLOAT + COMPLEX),
    OpSpec("fft.fftfreq", lambda t, n, d: t.fft.fftfreq(n, d),
           args=(scalar(values=st.integers(1, 9)), scalar(values=st.sampled_from([1.0, 0.1, 0.3, 2.5]))),
           differentiable=False),
    OpSpec("fft.rfftfreq", lambda t, n, d: t.fft.rfftfreq(n, d, dtype=t.float64),
           args=(scalar(values=st.integers(1, 9)), scalar(values=st.sampled_from([1.0, 0.1, 0.3, 2.5]))),
           differentiable=False),
]
