"""Graph-state divergences found by the nightly graph-state campaigns of the graph branch (seeds 7101-), pinned
with torch 2.13.0's behaviour (checked against torch in /work/venv; torch is not imported here)."""
from __future__ import annotations

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
