"""rms_norm's composite ends with contiguous() in torch: a non-contiguous input's result is a C-contiguous clone
(CloneBackward0 over the product), a contiguous one's the product itself (default run seed 3126, a transposed
[2, 2, 1] input)."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

X3 = np.random.default_rng(1).standard_normal((1, 2, 2))
X2 = np.random.default_rng(2).standard_normal((3, 4))
CASES = {
    "permuted": lambda t: (t.tensor(X3).permute(2, 1, 0).requires_grad_(), [1], None),
    "permuted.weight": lambda t: (t.tensor(X3).permute(2, 1, 0).requires_grad_(), [1], t.ones(1, dtype=t.float64)),
    "transposed": lambda t: (t.tensor(X2).t().requires_grad_(), [3], None),
    "contiguous": lambda t: (t.tensor(X3).requires_grad_(), [2], None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rms_norm_result_is_torchs(case):
    outs = []
    for t in (refgrad, torch):
        x, shape, weight = CASES[case](t)
        y = t.nn.functional.rms_norm(x, shape, weight)
        outs.append((type(y.grad_fn).__name__, tuple(y.stride()), y.is_contiguous(), y.detach().numpy().copy()))
    assert outs[0][:3] == outs[1][:3]
    np.testing.assert_allclose(outs[0][3], outs[1][3], rtol=1e-12)
