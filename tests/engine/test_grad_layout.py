"""torch's gradient layout contract for a leaf's first ``.grad``: AccumulateGrad stores the incoming gradient itself
when nothing else refers to it and it has the leaf's strides (where the leaf is dense; else C-contiguous); otherwise
a copy in that layout (an empty tensor of the leaf's strides, then copy_: CopyBackwards under create_graph, version
1; or a C-contiguous clone for a leaf that is not dense). Checked against torch 2.13: strides, version, grad_fn,
the ZeroTensor flag and values."""
import warnings

import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

LEAVES = {"contiguous": lambda b: b, "transposed": lambda b: b.t(), "sliced": lambda b: b[:, :2]}
FUNCTIONS = {
    "mul": lambda x, m: x * 2, "abs": lambda x, m: x.abs(), "sgn": lambda x, m: x.sgn(),  # (sgn: a ZeroTensor)
    "expand": lambda x, m: x.sum() * m.ones(x.shape), "transposed_twice": lambda x, m: (x.t() * 3).t(),
}


def _first_grad(module, leaf: str, function: str, create_graph: bool):
    base = module.tensor(np.arange(12.0).reshape(3, 4) / 7)
    x = LEAVES[leaf](base).detach().requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backward(create_graph=True)'s reference-cycle warning
        FUNCTIONS[function](x, module).sum().backward(create_graph=create_graph)
    g = x.grad
    zero = bool(g._is_zerotensor())
    return g.stride(), g._version, type(g.grad_fn).__name__, zero, None if zero else g.tolist()


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_first_grad_obeys_torch_s_layout_contract(leaf, function, create_graph):
    if leaf == "transposed" and function == "transposed_twice" and not create_graph:
        # torch stores the incoming view itself (version 0); refgrad never stores a view of another array (a
        # later in-place accumulation would write into it): a copy with the same strides and values (version 1)
        ours, theirs = _first_grad(refgrad, leaf, function, False), _first_grad(torch, leaf, function, False)
        assert ours[1] == 1 and theirs[1] == 0 and ours[:1] + ours[2:] == theirs[:1] + theirs[2:]
        return
    assert _first_grad(refgrad, leaf, function, create_graph) == _first_grad(torch, leaf, function, create_graph)
