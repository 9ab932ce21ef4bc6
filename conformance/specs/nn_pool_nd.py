"""Specs for refgrad/ops/pool_nd.py: the 3-d pools, adaptive_max_pool1d, max_unpool1d/2d/3d and unfold (with fold
composed after it). Volumes stay small (sides up to 5) to keep the cells cheap."""
from hypothesis import strategies as st

from conformance.specs._spec import OpSpec, func
from conformance.specs.nn import _adaptive_kwargs, _pool_kwargs, _pool_shapes

F = "nn.functional."


@st.composite
def _volumes(draw):
    return ((draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(draw(st.integers(1, 5)) for _ in range(3)),)


@st.composite
def _even(draw, nd):
    """Sides that are multiples of the unpooling kernel 2, so max_pool's indices address the unpooled output."""
    return ((draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(2 * draw(st.integers(1, 3)) for _ in range(nd)),)


def _unpool(nd):
    source = (f"lambda t, x, **kw: t.nn.functional.max_unpool{nd}d("
              f"*t.nn.functional.max_pool{nd}d(x, 2, return_indices=True), 2, **kw)")
    fn = eval(source)  # noqa: S307 - a constant source, pasted into reproducers
    fn.__conformance_source__ = source
    return fn


def _unpool_kwargs(shapes):
    return st.fixed_dictionaries({"output_size": st.sampled_from([None, shapes[0][2:], shapes[0]])})


@st.composite
def _images(draw):
    return ((draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))),)


def _unfold_kwargs(shapes):
    spatial = shapes[0][2:]

    def ok(kw):
        k, d, p, s = kw["kernel_size"], kw["dilation"], kw["padding"], kw["stride"]
        return all(n + 2 * p - d * (k - 1) - 1 >= 0 for n in spatial) and s >= 1

    return st.fixed_dictionaries({"kernel_size": st.integers(1, 3), "dilation": st.sampled_from([1, 2]),
                                  "padding": st.integers(0, 1), "stride": st.sampled_from([1, 2])}).filter(ok)


_FOLD_SOURCE = ("lambda t, x, **kw: t.nn.functional.fold(t.nn.functional.unfold(x, **kw) * 2, x.shape[-2:], "
                "**kw)")
_fold = eval(_FOLD_SOURCE)  # noqa: S307 - a constant source, pasted into reproducers
_fold.__conformance_source__ = _FOLD_SOURCE

SPECS = [
    OpSpec(F + "max_pool3d", func(F + "max_pool3d"), shapes=_volumes(), kwargs=_pool_kwargs(3, True)),
    OpSpec(F + "avg_pool3d", func(F + "avg_pool3d"), shapes=_volumes(), kwargs=_pool_kwargs(3, False)),
    OpSpec(F + "adaptive_avg_pool3d", func(F + "adaptive_avg_pool3d"), shapes=_volumes(),
           kwargs={"output_size": st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.none(),
                                                                          st.integers(1, 3)))}),
    OpSpec(F + "adaptive_max_pool3d", func(F + "adaptive_max_pool3d"), shapes=_volumes(),
           kwargs={"output_size": st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.none(),
                                                                          st.integers(1, 3))),
                   "return_indices": st.booleans()}),
    OpSpec(F + "adaptive_max_pool1d", func(F + "adaptive_max_pool1d"), shapes=_pool_shapes(1),
           kwargs={**_adaptive_kwargs(1), "return_indices": st.booleans()}),
    OpSpec(F + "max_unpool1d", _unpool(1), shapes=_even(1), kwargs=_unpool_kwargs),
    OpSpec(F + "max_unpool2d", _unpool(2), shapes=_even(2), kwargs=_unpool_kwargs),
    OpSpec(F + "max_unpool3d", _unpool(3), shapes=_even(3), kwargs=_unpool_kwargs),
    OpSpec(F + "unfold", func(F + "unfold"), shapes=_images(), kwargs=_unfold_kwargs),
    OpSpec(F + "fold", _fold, shapes=_images(), kwargs=_unfold_kwargs),
]
