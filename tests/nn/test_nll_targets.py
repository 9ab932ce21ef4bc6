"""nll_loss and cross_entropy: torch's target checks in torch's order (exception type and message), uint8 targets
where torch's kernels take them, and class probabilities told from class indices by the shapes alone."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

DTYPES = ("int64", "uint8", "int32", "float32", "float64", "bool")

# (input shape, target shape, number of class weights or None, target fill value)
NLL_CASES = [
    ((4, 3), (4,), None, 1), ((4, 3), (4, 1), None, 0), ((4, 3), (), None, 0), ((3,), (1,), None, 2),
    ((3,), (2,), None, 0), ((3,), (1, 1), None, 0), ((3,), (), None, 1), ((4, 3), (5,), None, 0),
    ((4, 3, 2), (4, 2, 1), None, 0), ((4, 3, 2), (4,), None, 0), ((4, 3, 2), (4, 2), None, 1),
    ((4, 3, 2, 2), (4, 2), None, 0), ((4, 3, 2, 2), (4, 2, 2, 1), None, 0), ((4, 3, 2, 2), (4, 2, 3), None, 0),
    ((4, 3, 2, 2), (4, 2, 2), None, 2), ((4, 3, 2, 2), (3, 2, 2), None, 0), ((4, 3, 2, 2, 2), (4, 2), None, 0),
    ((0, 3), (0,), None, 0), ((0, 0), (0,), None, 0), ((0, 3), (), None, 0), ((1, 3), (), None, 0), ((1,), (), None, 0),
    ((4, 3), (4,), 2, 0), ((4, 3, 2, 2), (4, 2, 2), 2, 0), ((4, 3, 2), (4, 2), 2, 0), ((4, 3, 2), (4, 3), 2, 0),
    ((4, 3, 2, 2), (4, 2, 3), 2, 0), ((4, 3), (4,), None, 7), ((3,), (), None, -3), ((4, 3, 2), (4, 2), None, 7),
    ((4, 3, 2, 2), (4, 2, 2), None, -7),
]


def _outcome(module, fn, *args, **kwargs):
    try:
        out = fn(module)(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the exception is the observation
        return type(error).__name__, str(error)
    return "ok", np.asarray(out.detach().numpy() if hasattr(out, "detach") else out).tolist()


def _both(fn, make_args, **kwargs):
    return [_outcome(module, fn, *make_args(module), **kwargs) for module in (torch, refgrad)]


def _assert_same(engine, reference):
    """The same exception and message, or values within float64 rounding of torch's."""
    assert engine[0] == reference[0]
    if engine[0] == "ok":
        np.testing.assert_allclose(engine[1], reference[1], rtol=1e-14, atol=0)
    else:
        assert engine[1] == reference[1]


def _nll_args(shape, target_shape, weights, fill, dtype):
    def make(t):
        x = t.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape))
        target = t.full(target_shape, fill, dtype=t.int64).to(getattr(t, dtype))
        return (x, target) if weights is None else (x, target, t.ones(weights, dtype=t.float64))
    return make


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "target_shape", "weights", "fill"), NLL_CASES)
def test_nll_loss_checks_as_torch(shape, target_shape, weights, fill, dtype):
    reference, engine = _both(lambda t: t.nn.functional.nll_loss, _nll_args(shape, target_shape, weights, fill, dtype),
                              reduction="none")
    _assert_same(engine, reference)


@pytest.mark.parametrize("value", [0, 7, 65, 127, 128, 200, 253])
@pytest.mark.parametrize("reduction", ["none", "sum"])
@pytest.mark.parametrize("unbatched", [False, True])
def test_byte_target_out_of_bounds(value, reduction, unbatched):
    """torch 2.13's batched kernel without reduction prints a byte target as a character (a NUL ends the
    message; a byte >= 128 is no UTF-8: UnicodeDecodeError)."""
    shape, target_shape = ((3,), ()) if unbatched else ((4, 3), (4,))
    reference, engine = _both(lambda t: t.nn.functional.nll_loss, _nll_args(shape, target_shape, None, value, "uint8"),
                              reduction=reduction)
    assert reference[0] != "ok" or value == 0
    _assert_same(engine, reference)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target_shape", [(4, 3), (4,), (5,), (4, 2)])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_tells_probabilities_by_shape(dtype, target_shape, label_smoothing):
    def make(t):
        x = t.tensor(np.linspace(-1, 1, 12).reshape(4, 3))
        return x, t.zeros(target_shape, dtype=getattr(t, dtype))
    reference, engine = _both(lambda t: t.nn.functional.cross_entropy, make, label_smoothing=label_smoothing)
    _assert_same(engine, reference)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("classes", [[0, 1, 2, 5], [5, 5], []])
def test_byte_targets_with_label_smoothing(reduction, weighted, classes):
    """torch 2.13 takes byte targets with label smoothing, but gathers the class weights of the mean by the
    counted ones: a RuntimeError then (not when every target is ignored)."""
    def make(t):
        x = t.tensor(np.linspace(-1, 1, 3 * len(classes)).reshape(len(classes), 3))
        return x, t.tensor(classes, dtype=t.uint8)
    def fn(t):
        weight = t.tensor([0.5, 1.0, 2.0], dtype=t.float64) if weighted else None
        return lambda x, y: t.nn.functional.cross_entropy(x, y, weight=weight, ignore_index=5, reduction=reduction,
                                                          label_smoothing=0.1)
    reference, engine = _both(fn, make)
    _assert_same(engine, reference)


@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("ignore_index", [-100, 2, 200])
@pytest.mark.parametrize("unbatched", [False, True])
def test_byte_targets_give_the_long_targets_loss_and_gradient(loss, ignore_index, unbatched):
    logits = np.random.default_rng(0).standard_normal((3,) if unbatched else (5, 3))
    classes = np.array(2) if unbatched else np.array([0, 2, 1, 2, 0])
    results = []
    for t in (torch, refgrad):
        for dtype in (t.uint8, t.int64):
            x = t.tensor(logits, requires_grad=True)
            out = getattr(t.nn.functional, loss)(x, t.tensor(classes).to(dtype), ignore_index=ignore_index)
            out.backward()
            results.append((out.item(), x.grad.numpy(), type(out.grad_fn).__name__))
    for value, grad, name in results[1:]:  # torch with long targets, refgrad with byte and long ones
        np.testing.assert_allclose(value, results[0][0], rtol=1e-15)  # (NaN: a mean over no counted target)
        np.testing.assert_allclose(grad, results[0][1], rtol=1e-15)
        assert name == results[0][2]


SAVED_TARGET_CASES = [  # (input shape, target shape, loss, keyword arguments)
    ((4, 3), (4,), "nll_loss", {}), ((4, 3), (4,), "nll_loss", {"weight": "ones"}), ((3,), (), "nll_loss", {}),
    ((4, 3, 2), (4, 2), "nll_loss", {}), ((4, 3, 2, 2), (4, 2, 2), "nll_loss", {}),
    ((4, 3, 2, 2, 2), (4, 2, 2, 2), "nll_loss", {"reduction": "none"}), ((4, 3), (4,), "cross_entropy", {}),
    ((4, 3), (4,), "cross_entropy", {"label_smoothing": 0.1}), ((4, 3), (4,), "nll_loss", {"target": "uint8"}),
]


@pytest.mark.parametrize("second_order", [False, True])
@pytest.mark.parametrize("modified", [False, True])
@pytest.mark.parametrize(("shape", "target_shape", "loss", "options"), SAVED_TARGET_CASES)
def test_the_target_is_saved_for_backward(shape, target_shape, loss, options, modified, second_order):
    """torch's nll nodes save the target: changing it in place before the backward (first or second order)
    raises torch's version error (the message pattern of autograd's own errors: compared whole here)."""
    def run(t):
        kwargs = dict(options)
        dtype = getattr(t, kwargs.pop("target", "int64"))
        if kwargs.get("weight") == "ones":
            kwargs["weight"] = t.ones(shape[1])
        x = t.zeros(shape, requires_grad=True)
        target = t.zeros(target_shape, dtype=dtype)
        out = getattr(t.nn.functional, loss)(x, target, **kwargs).sum()
        if second_order:
            (g,) = t.autograd.grad(out, x, create_graph=True)
            out = (g * x).sum()
        if modified:
            target.add_(0)
        out.backward()
        return x.grad
    reference, engine = _both(lambda t: lambda: run(t), lambda t: ())
    _assert_same(engine, reference)
    assert (reference[0] == "ok") is not modified


def test_an_inference_mode_target_cannot_be_saved():
    def make(t):
        with t.inference_mode():
            target = t.tensor([0, 1, 2, 1])
        return t.zeros(4, 3, requires_grad=True), target
    reference, engine = _both(lambda t: t.nn.functional.nll_loss, make)
    _assert_same(engine, reference)
    assert reference[0] == "RuntimeError"


@pytest.mark.parametrize("strided", [False, True])
def test_a_folded_target_is_saved_as_torch_folds_it(strided):
    """(N, C, d) inputs: torch saves the target as a (N, 1, d) view of it, or of its contiguous copy (a strided
    target changed in place then raises nothing)."""
    def run(t):
        x = t.zeros(4, 3, 2, requires_grad=True)
        target = t.zeros(2, 4, dtype=t.int64).t() if strided else t.zeros(4, 2, dtype=t.int64)
        out = t.nn.functional.nll_loss(x, target)
        target.add_(0)
        out.backward()
        return x.grad
    reference, engine = _both(lambda t: lambda: run(t), lambda t: ())
    _assert_same(engine, reference)
    assert (reference[0] == "ok") is strided
