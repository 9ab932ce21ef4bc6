"""log_softmax and cross_entropy on matrices of many short rows (refgrad/ops/scan.py ``_short_rows``: the forward
works along a transposed copy and sums its columns with BLAS), against torch: values and gradients, with
infinities and NaN in some rows. The conformance specs draw small shapes, which never take that path."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")


def _logits(rows: int, classes: int, dtype: str, special) -> np.ndarray:
    x = np.random.default_rng(rows * classes).standard_normal((rows, classes)).astype(dtype)
    if special is not None:
        x[3, 1] = special  # one element of a row
        x[5] = special  # a whole row
        x[7, :2] = (special, -special if special == special else 0)  # two in a row (inf and -inf: NaN)
    return x


def _both(x: np.ndarray, target: np.ndarray, fn):
    out = []
    for module in (refgrad, torch):
        logits = module.tensor(x, requires_grad=True)
        loss = fn(module, logits, module.tensor(target))
        loss.backward(torch.ones(loss.shape, dtype=loss.dtype) if module is torch else refgrad.ones(loss.shape,
                                                                                                     dtype=loss.dtype))
        out.append((loss.detach().numpy(), logits.grad.numpy()))
    return out


FNS = {
    "log_softmax": lambda m, x, t: m.log_softmax(x, 1),
    "cross_entropy": lambda m, x, t: m.nn.functional.cross_entropy(x, t),
    "cross_entropy_none": lambda m, x, t: m.nn.functional.cross_entropy(x, t, reduction="none"),
}


@pytest.mark.parametrize("special", [None, np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(64, 2), (128, 10), (200, 16)])
@pytest.mark.parametrize("name", sorted(FNS))
def test_short_rows_match_torch(name, shape, dtype, special):
    x = _logits(*shape, dtype, special)
    target = np.arange(shape[0]) % shape[1]
    (ours, our_grad), (theirs, their_grad) = _both(x, target, FNS[name])
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
    np.testing.assert_allclose(our_grad, their_grad, rtol=tol, atol=tol)
