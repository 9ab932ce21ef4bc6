"""Graph-state divergences found by the nightly graph-state campaigns of the graph branch (seeds 7101-), pinned
with torch 2.13.0's behaviour (checked against torch in /work/venv; torch is not imported here)."""
from __future__ import annotations

import pytest

import refgrad as torch


def test_a_non_overlapping_part_of_an_expanded_view_is_written_under_no_grad():
    # nightly graph-state seed 7102 (the mode_view rule): refgrad's no_grad fast path wrote numpy's read-only array
    a = torch.tensor([0.5, 1.5], dtype=torch.float64)
    with torch.no_grad():
        a.expand(2, 2)[0].mul_(2)
        torch.tensor(3.0, dtype=torch.float64).expand(4)[1:2].mul_(2)  # one element of a stride-0 view
    assert a.tolist() == [1.0, 3.0]


def test_with_inputs_a_node_computes_only_the_gradients_that_are_needed():
    # nightly graph-state seed 7104: a Node post hook saw gradients for edges that lead to no input
    calls = []

    def hook(grad_inputs, grad_outputs):
        calls.append([None if g is None else tuple(g.shape) for g in grad_inputs])
    x = torch.ones(2, dtype=torch.float64, requires_grad=True)
    y = torch.ones(2, dtype=torch.float64, requires_grad=True)
    z = x * y
    z.grad_fn.register_hook(hook)
    z.sum().backward(inputs=[y])
    m = x.mean()
    m.grad_fn.register_hook(hook)
    (m + x.sum()).backward(inputs=[m])  # m's node runs (an input's), its edge to x's leaf is not needed
    p = m * x.sum()
    p.grad_fn.register_hook(hook)
    torch.autograd.grad(p, [m])
    assert calls == [[None, (2,)], [None], [(), None]] and x.grad is None


def inference_tensor():
    with torch.inference_mode():
        return torch.tensor([1.0, 2.0], dtype=torch.float64)


def test_detach_or_data_of_an_inference_tensor_outside_inference_mode_may_be_written():
    # the graph-state search (the mode_view rule): torch gives such an alias a version counter of its own
    a = inference_tensor()
    with pytest.raises(RuntimeError, match="^Inference tensors do not track version counter.$"):
        a._version  # noqa: B018
    for alias in (a.detach(), a.data, a.detach().detach()):
        assert alias.is_inference()
        alias.add_(1)
        assert alias._version == 1
        with pytest.raises(RuntimeError, match="^Setting requires_grad=True on inference tensor outside"):
            alias.requires_grad_()
        with pytest.raises(RuntimeError, match="^Inplace update to inference tensor outside InferenceMode"):
            alias.view(-1).add_(1)  # a view of it made outside inference mode is a plain inference tensor
    assert a.tolist() == [7.0, 8.0]  # the refused writes happened too (torch writes, then raises)
    alias = a.detach()
    with torch.inference_mode():
        alias.add_(1)  # not counted there
        inner = a.detach()  # made in inference mode: a plain inference tensor
    assert alias._version == 0
    with pytest.raises(RuntimeError, match="^Inplace update to inference tensor outside InferenceMode"):
        inner.add_(1)
    w = torch.ones(2, dtype=torch.float64, requires_grad=True)
    alias.mul_(w)  # recorded
    assert type(alias.grad_fn).__name__ == "MulBackward0" and alias.is_inference()
    with pytest.raises(RuntimeError, match="^Setting requires_grad=True on inference tensor outside"):
        alias.requires_grad_()  # checked before its being a non-leaf
    with pytest.raises(RuntimeError, match="^Inference tensors cannot be saved for backward"):
        a.detach() * w


def test_the_requires_grad_setter_refuses_every_non_leaf():
    y = torch.ones(2, dtype=torch.float64, requires_grad=True) * 2
    y.requires_grad_(True)  # the method lets True through
    with pytest.raises(RuntimeError, match=r"^you can only change requires_grad flags of leaf variables\.$"):
        y.requires_grad = True
    with pytest.raises(RuntimeError, match=r"^you can only change requires_grad flags of leaf variables\. If you"):
        y.requires_grad = False
    n = torch.ones(2, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="^only Tensors of floating point and complex dtype can require gradients$"):
        n.requires_grad = True
    with pytest.raises(RuntimeError, match="^only Tensors of floating point dtype can require gradients$"):
        n.requires_grad_()
