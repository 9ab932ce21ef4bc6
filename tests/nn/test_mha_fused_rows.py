"""multi_head_attention_forward with need_weights=False takes torch's fused attention node even for a head size of
one (torch views whole rows of the in-projection: last-dimension stride 1), whose second order torch refuses; NumPy's
reshape gave refgrad's size-1 head dimension another stride, so it took the math path and differentiated twice
(default run seed 3121)."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
ARRAYS = [RNG.standard_normal(s) for s in ((2, 2, 2), (6, 2), (6,), (2, 2), (2,))]


def _second_order(t):
    x, w, b, ow, ob = (t.tensor(a, requires_grad=True) for a in ARRAYS)
    out, _ = t.nn.functional.multi_head_attention_forward(x, x, x, 2, 2, w, b, None, None, False, 0.0, ow, ob,
                                                          training=False, need_weights=False)
    (g,) = t.autograd.grad(out.sum(), x, create_graph=True)
    try:
        t.autograd.grad(g.sum(), w)
    except RuntimeError as error:
        return str(error)
    return None


def test_head_size_one_takes_the_fused_node_as_torch():
    expected = _second_order(torch)
    assert expected is not None and "not implemented" in expected
    assert _second_order(refgrad) == expected
