"""refgrad.printing against torch's own repr: hand-picked tricky tensors, tutorial output, print options, and
Hypothesis-drawn arrays. Every comparison builds the same tensor in torch and asks for identical text."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from refgrad import dtypes
from refgrad.printing import format_tensor, get_printoptions, set_printoptions

torch = pytest.importorskip("torch", reason="printing is checked against torch's own repr")

FLOATS = ("float16", "float32", "float64")
INTS = ("int8", "int16", "int32", "int64", "uint8")
ALL_DTYPES = FLOATS + INTS + ("bool",)
MAX_EXAMPLES = int(os.environ.get("REFGRAD_PRINTING_EXAMPLES", "120"))  # raise locally for a deeper search
nan, inf = math.nan, math.inf


@pytest.fixture(autouse=True)
def restore_printoptions():
    """Leave both libraries' print options and default dtypes as the test found them."""
    ours, theirs = get_printoptions(), torch._tensor_str.get_printoptions()
    our_default, their_default = dtypes.get_default_dtype(), torch.get_default_dtype()
    yield
    set_printoptions(**ours)
    torch.set_printoptions(**theirs)
    dtypes.set_default_dtype(our_default)
    torch.set_default_dtype(their_default)


def both_set_printoptions(**options) -> None:
    set_printoptions(**options)
    torch.set_printoptions(**options)


def as_array(values, name: str) -> np.ndarray:
    """``values`` stored as dtype ``name`` (out-of-range floats become inf, as a cast in torch would)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(values, dtype=np.float64 if name in FLOATS else None).astype(getattr(dtypes, name).numpy)


def as_whole(values, name: str) -> np.ndarray:
    """Float test values squeezed (same shape) into what an integer or bool dtype holds."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=7.0, neginf=-7.0)
    if name == "bool":
        return values != 0
    values = np.clip(values, -100, 100).astype(np.int64)
    return np.abs(values) if name == "uint8" else values


def assert_same_repr(values, name: str, requires_grad: bool = False, grad_fn: bool = False) -> None:
    """format_tensor matches torch's repr and str, optionally with the requires_grad/grad_fn suffix."""
    array = as_array(values, name)
    tensor = torch.from_numpy(array.copy()).requires_grad_(requires_grad or grad_fn)
    suffixes = ["requires_grad=True"] if requires_grad else []
    if grad_fn:
        tensor = tensor * 1
        suffixes = [f"grad_fn=<{type(tensor.grad_fn).__name__}>"]
    ours = format_tensor(array, getattr(dtypes, name), suffixes)
    assert ours == repr(tensor) == str(tensor)


TRICKY = {
    "scalar-int-valued": 27.0,
    "scalar-fraction": 0.0592,
    "scalar-small": 1e-5,
    "scalar-negative-zero": -0.0,
    "scalar-nan": nan,
    "scalar-neg-inf": -inf,
    "integers": [1.0, 2.0, 3.0],
    "fixed": [[0.0592, 0.0555, 0.3308], [0.1921, 0.4116, 0.1102]],
    "sci-from-ratio": [5.12e1, 5.12e2, 5.12e-2],
    "sci-integers-ratio": [1001.0, 1.0],
    "no-sci-ratio-1000": [1000.0, 1.0],
    "sci-above-1e8": [1e10, 1.0],
    "int-at-1e8": [1e8],
    "sci-below-1e-4": [1e-4, 0.5],
    "padding": [-22.9231, -136.9092, -1220.6875],
    "nan-not-counted-in-width": [1.0, nan],
    "nan-padded-to-width": [100.0, nan],
    "infs": [1.0, 100.0, -inf, inf],
    "nan-fixed": [0.5, nan],
    "nan-sci": [1e-5, nan],
    "only-nonfinite": [nan, inf, -inf],
    "zeros": [0.0, 0.0],
    "negative-zero-int-style": [-0.0, 1.0],
    "negative-zero-fixed": [-0.0, 0.5],
    "negative-zero-sci": [-0.0, 1e-5],
    "huge-and-tiny": [1e300, 1e-300, -1e-300],
    "rounds-up": [9.99996, 1.5],
    "rounding-to-one": [0.99999, 1.0],
    "nearly-1e8": [99999999.5],
    "float16-extremes": [65504.0, 6e-8, 0.1],
    "mixed-bag": [[0.0, -0.0, nan], [inf, -1e-7, 12345.678]],
    "3d-blank-lines": np.arange(30.0).reshape(2, 3, 5),
    "4d-blank-lines": np.arange(16.0).reshape(2, 2, 2, 2) - 8,
    "long-row-wraps": np.arange(100.0) * 1.5,
    "zeros-wrap-at-width-1": np.zeros(40),
    "nan-wrap-at-width-1": np.full(40, nan),
    "wide-rows-wrap": np.ones((2, 20)) * 2,
    "summarized-1d": np.arange(10_000.0),
    "summarized-3d": np.arange(7 * 11 * 13.0).reshape(7, 11, 13),
    "summarized-tall": np.arange(2000.0).reshape(1000, 2, 1),
    "summary-picks-style": np.concatenate([np.full(600, 0.5), np.full(600, 1e-6), np.full(600, 2.0)]),
    "just-over-threshold": np.arange(1001.0),
    "at-threshold": np.arange(1000.0),
    "empty": [],
    "empty-2d": np.zeros((0, 3)),
    "empty-inner": np.zeros((2, 0)),
    "empty-3d": np.zeros((1, 0, 2)),
}


@pytest.mark.parametrize("name", ALL_DTYPES)
@pytest.mark.parametrize("values", TRICKY.values(), ids=TRICKY.keys())
def test_tricky_values(values, name):
    assert_same_repr(values if name in FLOATS else as_whole(values, name), name)


@pytest.mark.parametrize("values, name", [
    ([True, False, True], "bool"), (True, "bool"), ([[True], [False]], "bool"),
    ([-128, 127, 0], "int8"), ([255, 0, 7], "uint8"), ([-(2**31), 2**31 - 1], "int32"),
    ([-(2**63), 2**63 - 1], "int64"), (np.arange(-30000, 30000, 7), "int16"), (5, "int32"),
])
def test_integers_and_bools(values, name):
    assert_same_repr(values, name)


TUTORIAL = [
    (np.full((4, 5), 2.0) + 2 * np.eye(4, 5), [],
     ("tensor([[4., 2., 2., 2., 2.],\n        [2., 4., 2., 2., 2.],\n"
      "        [2., 2., 4., 2., 2.],\n        [2., 2., 2., 4., 2.]])")),
    ([[0.0592, 0.0555, 0.3308], [0.1921, 0.4116, 0.1102]], [],
     "tensor([[0.0592, 0.0555, 0.3308],\n        [0.1921, 0.4116, 0.1102]])"),
    ([5.12e1, 5.12e2, 5.12e-2], [], "tensor([5.1200e+01, 5.1200e+02, 5.1200e-02])"),
    ([-22.9231, -136.9092, -1220.6875], ["grad_fn=<MulBackward0>"],
     "tensor([  -22.9231,  -136.9092, -1220.6875], grad_fn=<MulBackward0>)"),
    (27.0, ["grad_fn=<MeanBackward0>"], "tensor(27., grad_fn=<MeanBackward0>)"),
    (np.ones((2, 2)), ["requires_grad=True"], "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"),
]


@pytest.mark.parametrize("values, suffixes, expected", TUTORIAL)
def test_tutorial_output(values, suffixes, expected):
    assert format_tensor(as_array(values, "float32"), dtypes.float32, suffixes) == expected


def test_tutorial_bools():
    assert format_tensor(np.array([True, False, True]), dtypes.bool) == "tensor([ True, False,  True])"


@pytest.mark.parametrize("name", ["float32", "float64"])
@pytest.mark.parametrize("values", [
    27.0, [1.0], np.arange(8.0), np.arange(10.0), np.arange(11.0), np.arange(30.0), np.ones((2, 2)),
    np.ones((2, 20)), [12345678.5] * 2, [[1.0], [2.0]], np.zeros(0), np.zeros((0, 20)), np.arange(2000.0),
], ids=lambda v: f"shape{np.shape(v)}")
@pytest.mark.parametrize("grad", ["requires_grad", "grad_fn"])
def test_suffix_placement_and_wrapping(values, name, grad):
    assert_same_repr(values, name, requires_grad=grad == "requires_grad", grad_fn=grad == "grad_fn")


@pytest.mark.parametrize("linewidth", [10, 24, 33, 34, 45, 46, 50, 58, 60, 65])
def test_suffix_wrapping_follows_linewidth(linewidth):
    both_set_printoptions(linewidth=linewidth)
    for values in ([1.0], [12345678.5] * 2, [[1.0], [2.0]], 5.0, np.zeros((0, 3)), np.zeros((0, 300, 4000))):
        assert_same_repr(values, "float64", requires_grad=True)
        assert_same_repr(values, "float64", grad_fn=True)
        assert_same_repr(values, "int32")


OPTION_SETS = [
    {"precision": 2}, {"precision": 0}, {"precision": 10}, {"threshold": 5}, {"threshold": 0},
    {"threshold": 5, "edgeitems": 1}, {"edgeitems": 20, "threshold": 100},
    {"edgeitems": 0}, {"edgeitems": 0, "threshold": 5},
    {"linewidth": 40}, {"linewidth": 10}, {"linewidth": 200}, {"sci_mode": True}, {"sci_mode": False},
    {"profile": "short"}, {"profile": "full"}, {"profile": "default"}, {"profile": "short", "precision": 6},
    {"profile": "no-such-profile"},
]
OPTION_VALUES = [
    27.0, 0.0, [0.1, 2.5, nan], [1e-20, 1e20], [1.0, 2.0], [0.0, nan], [0.5, -inf], [0.5] * 40, [-0.0, 0.5],
    np.arange(7.0), np.arange(14.0).reshape(2, 7), np.arange(140.0).reshape(2, 7, 10), np.arange(1500.0),
    np.zeros((0, 2)), [], np.linspace(-3, 3, 60).reshape(3, 20),
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=str)
def test_printoptions_affect_later_calls(options):
    both_set_printoptions(**options)
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    for values in OPTION_VALUES:
        for name in ("float32", "float64", "int32", "bool"):
            assert_same_repr(values if name in FLOATS else as_whole(values, name), name)


def test_printoptions_leave_unnamed_options_and_reset_sci_mode():
    both_set_printoptions(sci_mode=True, edgeitems=5)
    both_set_printoptions(precision=3)
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    assert get_printoptions() == {"precision": 3, "threshold": 1000, "edgeitems": 5, "linewidth": 80, "sci_mode": None}


@pytest.mark.parametrize("default", ["float64", "float16"])
def test_dtype_suffix_follows_default_dtype(default):
    dtypes.set_default_dtype(getattr(dtypes, default))
    torch.set_default_dtype(getattr(torch, default))
    for name in ALL_DTYPES:
        assert_same_repr([1.0, 2.0] if name != "bool" else [True], name)
        assert_same_repr(np.zeros(0), name)
        assert_same_repr(np.zeros((0, 2)), name)


# ---- Hypothesis: arrays of every supported dtype, shape and magnitude -------------------------------------

def _float_values():
    """Whole numbers, fractions across 80 decades, and the special values that change the printed style."""
    return st.one_of(
        st.sampled_from([0.0, -0.0, nan, inf, -inf, 1.0, 0.5]),
        st.integers(-2000, 2000).map(float),
        st.floats(-1e4, 1e4),
        st.builds(lambda mantissa, exponent: mantissa * 10.0**exponent, st.floats(-10, 10), st.integers(-40, 40)),
    )


@st.composite
def arrays(draw, max_side: int = 6):
    """(values, dtype name) with up to 3 dimensions, size-0 dimensions included."""
    name = draw(st.sampled_from(ALL_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=max_side))
    count = math.prod(shape)
    if name in FLOATS:
        elements = _float_values()
    elif name == "bool":
        elements = st.booleans()
    else:
        info = np.iinfo(getattr(dtypes, name).numpy)
        elements = st.one_of(st.integers(-10, 10), st.integers(int(info.min), int(info.max)))
        elements = elements.filter(lambda v: info.min <= v <= info.max)
    values = draw(st.lists(elements, min_size=count, max_size=count))
    return np.array(values, dtype=np.float64 if name in FLOATS else None).reshape(shape), name


@settings(max_examples=MAX_EXAMPLES, deadline=None)
@given(arrays(), st.sampled_from(["none", "requires_grad", "grad_fn"]))
def test_random_arrays_match_torch(case, grad):
    values, name = case
    grad = grad if name in FLOATS else "none"
    assert_same_repr(values, name, requires_grad=grad == "requires_grad", grad_fn=grad == "grad_fn")


@settings(max_examples=MAX_EXAMPLES, deadline=None)
@given(arrays(max_side=9), st.fixed_dictionaries({
    "precision": st.integers(0, 8), "threshold": st.sampled_from([0, 4, 30, 1000]),
    "edgeitems": st.integers(0, 4), "linewidth": st.integers(10, 120), "sci_mode": st.sampled_from([None, True, False]),
}))
def test_random_arrays_under_random_printoptions(case, options):
    both_set_printoptions(**options)
    values, name = case
    assert_same_repr(values, name, requires_grad=name in FLOATS)


@st.composite
def complex_arrays(draw, max_side: int = 6):
    """(values, complex dtype name): real and imaginary parts each drawn like a float tensor's values."""
    name = draw(st.sampled_from(("complex64", "complex128")))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=max_side))
    count = math.prod(shape)
    real = draw(st.lists(_float_values(), min_size=count, max_size=count))
    imag = draw(st.lists(_float_values(), min_size=count, max_size=count))
    with np.errstate(over="ignore", invalid="ignore"):
        values = (np.array(real, dtype=np.float64) + 1j * np.array(imag, dtype=np.float64)).reshape(shape)
        return values.astype(getattr(dtypes, name).numpy), name


@settings(max_examples=MAX_EXAMPLES, deadline=None)
@given(complex_arrays(max_side=9), st.fixed_dictionaries({
    "precision": st.integers(0, 8), "threshold": st.sampled_from([4, 30, 1000]),
    "edgeitems": st.integers(1, 4), "linewidth": st.integers(10, 120), "sci_mode": st.sampled_from([None, True, False]),
}), st.booleans())
def test_complex_arrays_match_torch(case, options, requires_grad):
    """Complex tensors: one formatter per part, ``a+bj``/``a-bj``, complex64 implied, under random options."""
    both_set_printoptions(**options)
    values, name = case
    tensor = torch.from_numpy(values.copy()).requires_grad_(requires_grad)
    suffixes = ["requires_grad=True"] if requires_grad else []
    assert format_tensor(values, getattr(dtypes, name), suffixes) == repr(tensor)


@pytest.mark.parametrize("values", [[1 + 2j, 3 - 4j], 1j, [1.5j, 2], [1e10 + 1j], [complex(nan, 1), complex(nan, inf)],
                                    [complex(-0.0, -0.0), 1 - 1j], [1.123456 + 0.1j, 1e-5 + 1j]])
@pytest.mark.parametrize("name", ["complex64", "complex128"])
def test_complex_tricky_values(values, name):
    array = np.asarray(values, dtype=getattr(dtypes, name).numpy)
    assert format_tensor(array, getattr(dtypes, name)) == repr(torch.from_numpy(array.copy()))
