"""nn.init: torch's gains and fan computations exactly, torch's distributions statistically (refgrad's random
stream is its own), and reproducibility under refgrad.manual_seed."""
import math

import numpy as np
import pytest

import refgrad
from refgrad.nn import init

torch = pytest.importorskip("torch")

SHAPES = [(5, 3), (4, 2, 3), (6, 4, 3, 2), (2, 3, 1, 1, 4)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape):
    want = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(refgrad.empty(*shape)) == want


@pytest.mark.parametrize(("name", "param"), [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                             ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                             ("leaky_relu", 3), ("selu", None)])
def test_gains_match_torch(name, param):
    assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


def _error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    return "no error"


@pytest.mark.parametrize("case", ["gain_name", "gain_param", "fan_1d", "mode", "eye_3d"])
def test_errors_match_torch(case):
    def call(t, module):
        return {"gain_name": lambda: module.calculate_gain("swish"),
                "gain_param": lambda: module.calculate_gain("leaky_relu", True),
                "fan_1d": lambda: module.xavier_uniform_(t.zeros(3)),
                "mode": lambda: module.kaiming_uniform_(t.zeros(3, 3), mode="fan_avg"),
                "eye_3d": lambda: module.eye_(t.zeros(2, 2, 2))}[case]
    assert _error(call(refgrad, init)) == _error(call(torch, torch.nn.init))


@pytest.mark.parametrize("fn", ["eye_", "dirac_", "zeros_", "ones_"])
def test_deterministic_initialisers_equal_torch(fn):
    shape = (4, 4) if fn == "eye_" else (4, 2, 3, 3)
    ref = getattr(torch.nn.init, fn)(torch.empty(shape))
    got = getattr(init, fn)(refgrad.empty(*shape))
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


def _sample(fn, shape, **kwargs):
    refgrad.manual_seed(0)
    return getattr(init, fn)(refgrad.empty(*shape), **kwargs).numpy()


# (function, kwargs, shape, the standard deviation torch's formula gives, bound or None)
FAN_IN, FAN_OUT = 200 * 9, 100 * 9
DISTRIBUTIONS = [
    ("kaiming_uniform_", {"a": math.sqrt(5)}, (100, 200, 3, 3), math.sqrt(2 / 6) / math.sqrt(FAN_IN),
     math.sqrt(3) * math.sqrt(2 / 6) / math.sqrt(FAN_IN)),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, (100, 200, 3, 3),
     math.sqrt(2) / math.sqrt(FAN_OUT), math.sqrt(6) / math.sqrt(FAN_OUT)),
    ("kaiming_normal_", {"nonlinearity": "tanh"}, (100, 200, 3, 3), 5 / 3 / math.sqrt(FAN_IN), None),
    ("xavier_uniform_", {"gain": 2.0}, (300, 500), 2 * math.sqrt(2 / 800), 2 * math.sqrt(6 / 800)),
    ("xavier_normal_", {}, (300, 500), math.sqrt(2 / 800), None),
    ("normal_", {"mean": 1.0, "std": 0.5}, (300, 500), 0.5, None),
    ("uniform_", {"a": -2.0, "b": 1.0}, (300, 500), 3 / math.sqrt(12), None),
]


@pytest.mark.parametrize(("fn", "kwargs", "shape", "std", "bound"), DISTRIBUTIONS,
                         ids=[f"{d[0]}-{i}" for i, d in enumerate(DISTRIBUTIONS)])
def test_distribution_statistics_match_torch_formulas(fn, kwargs, shape, std, bound):
    values = _sample(fn, shape, **kwargs)
    torch.manual_seed(0)
    reference = getattr(torch.nn.init, fn)(torch.empty(shape), **kwargs).numpy()
    assert values.std() == pytest.approx(std, rel=0.02)
    assert values.std() == pytest.approx(reference.std(), rel=0.03)
    assert values.mean() == pytest.approx(reference.mean(), abs=0.02 * std + 1e-3)
    if bound is not None:
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.99 * bound


def test_trunc_normal_and_orthogonal():
    values = _sample("trunc_normal_", (200, 300), mean=0.5, std=1.0, a=-0.5, b=1.0)
    assert values.min() >= -0.5 and values.max() <= 1.0
    torch.manual_seed(0)
    reference = torch.nn.init.trunc_normal_(torch.empty(200, 300), mean=0.5, std=1.0, a=-0.5, b=1.0).numpy()
    assert values.mean() == pytest.approx(reference.mean(), abs=0.01)
    assert values.std() == pytest.approx(reference.std(), rel=0.02)
    for shape in [(3, 5), (5, 3), (4, 2, 2)]:
        weight = _sample("orthogonal_", shape, gain=2.0).reshape(shape[0], -1)
        small = min(weight.shape)
        gram = weight @ weight.T if weight.shape[0] == small else weight.T @ weight
        np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-5)


def test_manual_seed_makes_module_init_reproducible():
    refgrad.manual_seed(123)
    first = refgrad.nn.Linear(4, 3).state_dict()
    refgrad.manual_seed(123)
    second = refgrad.nn.Linear(4, 3).state_dict()
    third = refgrad.nn.Linear(4, 3).state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key].numpy(), second[key].numpy())
        assert not np.array_equal(second[key].numpy(), third[key].numpy())
    generator = refgrad.Generator().manual_seed(7)
    a = init.normal_(refgrad.empty(5), generator=generator).numpy().copy()
    b = init.normal_(refgrad.empty(5), generator=refgrad.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(a, b)


def test_init_is_in_place_outside_the_graph_and_bumps_the_version():
    weight = refgrad.nn.Parameter(refgrad.zeros(3, 2))
    version = weight._version
    assert init.uniform_(weight) is weight
    assert weight.grad_fn is None and weight.requires_grad and weight._version > version
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(refgrad.empty(0, 3))
    float32 = init.normal_(refgrad.empty(2, dtype=refgrad.float32))
    assert float32.dtype is refgrad.float32
