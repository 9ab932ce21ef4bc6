"""torch API spellings on existing ops: NumPy keyword names (``axis``/``keepdims``), advanced indexing placement,
``scatter(..., reduce=)``, negative padding, interpolate modes and ``enable_gqa``. Values and VJPs (first and
second order, central differences) without torch; the torch-facing facts (which ops take the NumPy names) are
checked against torch when it is installed."""
from __future__ import annotations

import types

import numpy as np
import pytest

import refgrad as rg
from refgrad.ops import OPS
from refgrad.ops._numpy_names import PYTHON_LEVEL, PYTHON_LEVEL_METHODS, PYTHON_LEVEL_NAMESPACES
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(12)
X = rng.standard_normal((2, 3, 4))


# --- NumPy keyword names -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "std", "var", "prod", "amax", "amin", "logsumexp", "nansum"])
def test_axis_keepdims_equal_dim_keepdim(name):
    x = rg.tensor(X)
    expected = getattr(rg, name)(x, dim=1, keepdim=True)
    np.testing.assert_array_equal(getattr(rg, name)(x, axis=1, keepdims=True).numpy(), expected.numpy())
    np.testing.assert_array_equal(getattr(x, name)(axis=1, keepdims=True).numpy(), expected.numpy())


def test_axis_on_tuple_returning_and_bool_ops():
    x = rg.tensor(X)
    values, indices = x.max(axis=2, keepdims=True)
    assert values.shape == (2, 3, 1) and indices.shape == (2, 3, 1)
    std, mean = rg.std_mean(x, axis=(0, 2), keepdims=True)
    assert std.shape == mean.shape == (1, 3, 1)
    assert rg.all(x > -10, axis=1).shape == (2, 4) and (x > 0).any(axis=0, keepdims=True).shape == (1, 3, 4)
    assert rg.argmax(x, axis=1).shape == (2, 4) and rg.cat([x, x], axis=1).shape == (2, 6, 4)


@pytest.mark.parametrize("call", [
    lambda x: x.sum(dim=1, axis=1), lambda x: x.sum(1, axis=1), lambda x: rg.sum(x, 1, True, keepdims=True),
    lambda x: rg.mean(x, axis=1, keepdim=True, keepdims=True)])
def test_both_spellings_raise_torchs_type_error(call):
    with pytest.raises(TypeError, match=r"^(sum|mean)\(\) got an unexpected keyword argument '(axis|keepdims)'$"):
        call(rg.tensor(X))


def test_python_level_torch_functions_reject_numpy_names():
    x = rg.tensor(X)
    for call in (lambda: rg.nn.functional.softmax(x, axis=1), lambda: x.norm(axis=1), lambda: rg.split(x, 1, axis=1)):
        with pytest.raises(TypeError, match="unexpected keyword argument 'axis'"):
            call()
    assert rg.softmax(x, axis=1).shape == x.shape and x.softmax(axis=1).shape == x.shape


def test_numpy_names_vjp():
    check_vjp(lambda x: x.var(axis=(0, 2), keepdims=True), X, order=2)
    check_vjp(lambda x: rg.amax(x, axis=-1), X, order=2)


def test_python_level_list_matches_torch():
    torch = pytest.importorskip("torch")
    modules = {"torch": torch, "torch.nn.functional": torch.nn.functional, "torch.linalg": torch.linalg,
               "torch.special": torch.special, "torch.masked": torch.masked, "torch.fft": torch.fft}
    native = (types.BuiltinFunctionType, types.MethodDescriptorType)
    for key, entry in OPS.items():
        fn = getattr(modules.get(entry.namespace), entry.name, None)
        if fn is not None:
            python_level = key in PYTHON_LEVEL or entry.namespace in PYTHON_LEVEL_NAMESPACES
            assert python_level == (not isinstance(fn, native)) or not _has_dim(entry.function), key
        method = getattr(torch.Tensor, entry.method, None) if entry.method else None
        if method is not None and _has_dim(entry.function):
            assert (entry.method in PYTHON_LEVEL_METHODS) == (not isinstance(method, native)), entry.method


def _has_dim(function) -> bool:
    import inspect
    function = getattr(function, "_numpy_names_of", function)
    try:
        return bool({"dim", "keepdim"} & set(inspect.signature(function).parameters))
    except (TypeError, ValueError):
        return False
