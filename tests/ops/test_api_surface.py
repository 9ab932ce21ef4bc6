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


# --- scatter(..., reduce=) ------------------------------------------------------------------------------------
def test_scatter_reduce_values_and_no_derivative():
    x = rg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    index = rg.tensor([[0, 0, 1], [1, 0, 0]])
    src = rg.tensor([[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]])
    with pytest.warns(UserWarning, match="reduce argument of torch.scatter with Tensor src is deprecated") \
            if not __import__("refgrad.ops._scatter_modes", fromlist=["_warned"])._warned else _no_warning():
        added = rg.scatter(x, 0, index, src, reduce="add")
    np.testing.assert_array_equal(added.detach().numpy(), [[3.0, 11.0, 10.0], [9.0, 5.0, 10.0]])
    multiplied = x.scatter(0, index, src, reduce="multiply")
    np.testing.assert_array_equal(multiplied.detach().numpy(), [[2.0, 36.0, 21.0], [20.0, 5.0, 24.0]])
    np.testing.assert_array_equal(x.scatter(1, index[:, :1], 2.0, reduce="add").detach().numpy(),
                                  [[3.0, 2.0, 3.0], [4.0, 7.0, 6.0]])
    assert added.grad_fn.name() == "NotImplemented"
    with pytest.raises(RuntimeError, match=r"^derivative for aten::scatter is not implemented$"):
        added.sum().backward()
    with pytest.raises(RuntimeError, match=r"^reduce argument must be either add or multiply\.$"):
        rg.scatter(x, 0, index, src, reduce="mean")


def _no_warning():
    import contextlib
    return contextlib.nullcontext()


# --- advanced indexing: NumPy's placement, reading and writing ------------------------------------------------
KEYS = {
    "adjacent tensors": lambda: (slice(None), rg.tensor([[0], [2]]), rg.tensor([1, 3, 0])),
    "separated tensors go first": lambda: (rg.tensor([1, 0]), slice(None), rg.tensor([3, 2])),
    "list, None, Ellipsis": lambda: ([1, 0, 1], None, Ellipsis, rg.tensor([2])),
    "mask then tensor": lambda: (rg.tensor([True, False]), slice(0, 2), rg.tensor([[1, 2]])),
    "2-d mask": lambda: (rg.tensor([[True, False, True], [False, True, True]]), rg.tensor([0, 3, 1, 2])),
    "tensor after int": lambda: (1, slice(None, None, 2), rg.tensor([[0, 1], [3, 3]])),
}

_THROUGH_VIEW = {"list, None, Ellipsis", "mask then tensor", "tensor after int"}


def _numpy_key(key):
    return tuple(k.numpy() if isinstance(k, rg.Tensor) else k for k in key)


def _torch_read(array, np_key):
    """NumPy counts an int as an advanced index when arrays are present; torch (and refgrad) applies it first as
    a select, so the remaining advanced indices may become adjacent and stay in place."""
    ints = [i for i, k in enumerate(np_key) if isinstance(k, int)]
    if ints and any(isinstance(k, (np.ndarray, list)) for k in np_key):
        first = ints[0]
        rest = np_key[:first] + np_key[first + 1:]
        return _torch_read(array[(slice(None),) * first + (np_key[first],)], rest)
    return array[np_key]


@pytest.mark.parametrize("case", sorted(KEYS))
def test_advanced_index_read_write_and_vjp(case):
    key = KEYS[case]()
    np_key = _numpy_key(key)
    expected = _torch_read(X, np_key)
    result = rg.tensor(X, requires_grad=True)[key]
    np.testing.assert_array_equal(result.detach().numpy(), expected)
    assert result.grad_fn.name() == "IndexBackward0"
    check_vjp(lambda x: x[key], X, order=2)
    written = X.copy()
    written.flat[_torch_read(np.arange(X.size).reshape(X.shape), np_key)] = 7.0

    def write(x, v):
        y = x.clone()
        y[key] = v
        return y
    y = write(rg.tensor(X, requires_grad=True), rg.tensor(7.0, requires_grad=True))
    np.testing.assert_array_equal(y.detach().numpy(), written)
    # torch 2.13: a key with a basic part (int, None, a slice that is not ``:``) writes through a view
    assert type(y.grad_fn).__name__ == ("CopySlices" if case in _THROUGH_VIEW else "IndexPutBackward0")
    check_vjp(write, X, np.array(7.0), order=2)


# --- enable_gqa ---------------------------------------------------------------------------------------------
GQA = {  # query, key, value shapes: the fused path (one key/value head count and head size) and the math path
    "fused": ((1, 4, 3, 2), (1, 2, 2, 2), (1, 2, 2, 2)),
    "math, value heads differ": ((1, 4, 2, 2), (1, 2, 3, 2), (1, 4, 3, 2)),
    "math, 3-d": ((4, 2, 3), (2, 3, 3), (1, 3, 2)),
}


@pytest.mark.parametrize("case", sorted(GQA))
def test_gqa_equals_repeated_heads_and_vjp(case):
    q, k, v = (rng.standard_normal(shape) for shape in GQA[case])
    F = rg.nn.functional
    heads = q.shape[-3]
    out = F.scaled_dot_product_attention(rg.tensor(q), rg.tensor(k), rg.tensor(v), enable_gqa=True)
    repeated = F.scaled_dot_product_attention(
        rg.tensor(q), *(rg.tensor(np.repeat(a, heads // a.shape[-3], axis=-3)) for a in (k, v)))
    np.testing.assert_allclose(out.numpy(), repeated.numpy(), rtol=1e-12, atol=1e-12)
    order = 1 if case == "fused" else 2  # torch's fused node has no double backward
    check_vjp(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, enable_gqa=True, is_causal=True), q, k, v,
              order=order)


def test_gqa_errors():
    F = rg.nn.functional
    with pytest.raises(RuntimeError, match="^Number of heads in key and value must divide the number of heads in $"):
        F.scaled_dot_product_attention(*(rg.ones(1, h, 2, 2) for h in (3, 2, 2)), enable_gqa=True)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got -3"):
        F.scaled_dot_product_attention(*(rg.ones(2, 2) for _ in range(3)), enable_gqa=True)
    with pytest.raises(RuntimeError, match="size of tensor a \\(4\\) must match the size of tensor b \\(2\\) at "
                                           "non-singleton dimension 1"):
        F.scaled_dot_product_attention(*(rg.ones(1, h, 2, 2) for h in (4, 2, 2)))


# --- negative padding ---------------------------------------------------------------------------------------
def test_negative_padding_values():
    F = rg.nn.functional
    x = rg.arange(5.0).reshape(1, 1, 5)
    assert F.pad(x, (-1, 2), value=9.0).tolist() == [[[1.0, 2.0, 3.0, 4.0, 9.0, 9.0]]]
    assert F.pad(x, (-1, 3), mode="reflect").tolist() == [[[1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]]]
    assert F.pad(x, (-5, 2), mode="replicate").tolist() == [[[4.0, 4.0]]]
    # circular crops first, then wraps around what is left (torch 2.13)
    assert F.pad(x, (1, -2), mode="circular").tolist() == [[[2.0, 0.0, 1.0, 2.0]]]
    assert F.pad(x, (-3, 1), mode="circular").tolist() == [[[3.0, 4.0, 3.0]]]
    assert tuple(F.pad(rg.ones(1, 1, 3, 4), (-2, -2, 0, 0), mode="reflect").shape) == (1, 1, 3, 0)


@pytest.mark.parametrize("call, error", [
    (lambda F, x: F.pad(x, (-3, -3)), "^narrow\\(\\): length must be non-negative\\.$"),
    (lambda F, x: F.pad(x, (-3, -3), mode="reflect"), "^input \\(W: 5\\) is too small\\. Calculated output W: -1$"),
    (lambda F, x: F.pad(x, (-3, -3), mode="circular"), "^Negative padding value is resulting in an empty dimension$"),
    (lambda F, x: F.pad(x, (-2, 4), mode="circular"), "refer to a single memory location"),
    (lambda F, x: F.pad(x.expand(1, 2, 5), (-2, 4), mode="circular"), "refgrad refuses"),
])
def test_negative_padding_errors(call, error):
    with pytest.raises(RuntimeError, match=error):
        call(rg.nn.functional, rg.arange(5.0).reshape(1, 1, 5))


@pytest.mark.parametrize("mode, pad", [("constant", (-1, 2, 1, -2)), ("reflect", (-1, 2, 1, -2)),
                                       ("replicate", (2, -3, -1, 1)), ("circular", (1, -2, -1, 2))])
def test_negative_padding_vjp(mode, pad):
    check_vjp(lambda x: rg.nn.functional.pad(x, pad, mode=mode), rng.standard_normal((1, 2, 3, 4)), order=2)


# --- interpolate: nearest-exact, trilinear, 3 spatial dims ------------------------------------------------------
def test_nearest_exact_indices():
    x = rg.arange(5.0).reshape(1, 1, 5)
    # source floor((i + 0.5) * 5 / 3) = 0, 2, 4 (nearest: floor(i * 5 / 3) = 0, 1, 3)
    assert rg.nn.functional.interpolate(x, size=3, mode="nearest-exact").tolist() == [[[0.0, 2.0, 4.0]]]
    assert rg.nn.functional.interpolate(x, size=3, mode="nearest").tolist() == [[[0.0, 1.0, 3.0]]]


def test_trilinear_is_separable_linear():
    x = rng.standard_normal((1, 2, 2, 3, 4))
    F = rg.nn.functional
    out = F.interpolate(rg.tensor(x), size=(3, 5, 2), mode="trilinear", align_corners=True).numpy()
    step = rg.tensor(x)
    for axis, size in zip((2, 3, 4), (3, 5, 2)):  # linear along one axis at a time
        moved = step.movedim(axis, -1)
        shape = tuple(moved.shape)
        flat = F.interpolate(moved.reshape(1, -1, shape[-1]), size=size, mode="linear", align_corners=True)
        step = flat.reshape(*shape[:-1], size).movedim(-1, axis)
    np.testing.assert_allclose(out, step.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode, kwargs, name", [
    ("nearest-exact", {"scale_factor": 1.5}, "UpsampleNearestExact3DBackward0"),
    ("nearest", {"size": (3, 2, 5)}, "UpsampleNearest3DBackward0"),
    ("trilinear", {"scale_factor": (1.5, 0.7, 2.0)}, "UpsampleTrilinear3DBackward0"),
    ("trilinear", {"size": (3, 2, 5), "align_corners": True}, "UpsampleTrilinear3DBackward0"),
])
def test_interpolate_3d_vjp(mode, kwargs, name):
    x = rng.standard_normal((1, 2, 2, 3, 4))
    assert type(rg.nn.functional.interpolate(rg.tensor(x, requires_grad=True), mode=mode, **kwargs).grad_fn
                ).__name__ == name
    check_vjp(lambda a: rg.nn.functional.interpolate(a, mode=mode, **kwargs), x, order=2)


def test_interpolate_rank_errors():
    F = rg.nn.functional
    with pytest.raises(NotImplementedError, match=r"Only 3D, 4D and 5D input Tensors supported \(got 6D\) for the "
                                                  r"modes: nearest \|"):
        F.interpolate(rg.ones(1, 1, 1, 1, 2, 2), scale_factor=2)
    with pytest.raises(NotImplementedError, match="^Got 4D input, but trilinear mode needs 5D input$"):
        F.interpolate(rg.ones(1, 1, 2, 2), scale_factor=2, mode="trilinear")
    with pytest.raises(RuntimeError, match=r"got input \(D: 2, H: 2, W: 2\) output \(D: 0, H: 0, W: 0\)$"):
        F.interpolate(rg.ones(1, 1, 2, 2, 2), scale_factor=0.1, mode="nearest-exact")


# --- complex variance -----------------------------------------------------------------------------------------
Z = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))


@pytest.mark.parametrize("name, kwargs", [("var", {}), ("std", {"dim": 1}), ("var_mean", {"dim": 0, "correction": 0}),
                                          ("std_mean", {"dim": (0, 1), "keepdim": True})])
def test_complex_variance_values_and_vjp(name, kwargs):
    out = getattr(rg, name)(rg.tensor(Z), **kwargs)
    stat = out[0] if isinstance(out, tuple) else out
    assert stat.dtype == rg.float64
    dims = kwargs.get("dim")
    dims = tuple(range(Z.ndim)) if dims is None else dims
    ddof = kwargs.get("correction", 1)
    expected = np.var(Z, axis=dims, ddof=ddof, keepdims=kwargs.get("keepdim", False))  # E|z - mean|^2
    np.testing.assert_allclose(stat.numpy(), np.sqrt(expected) if name.startswith("std") else expected, rtol=1e-12)
    check_vjp(lambda z: getattr(rg, name)(z, **kwargs), Z, order=2)
