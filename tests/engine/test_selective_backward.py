"""A backward with ``inputs`` (autograd.grad, backward(inputs=...)) computes only the gradients whose edge leads to
a node that runs or is captured (torch's should_compute_output): a gradient that is not needed is not computed, so
the error computing it would raise is not raised. Checked against torch 2.13 on dist(p=0), whose gradient for
``other`` raises and for ``self`` is undefined."""
import pytest

import refgrad

torch = pytest.importorskip("torch")


def _outcome(module, steps):
    a = module.tensor([1.0, 2.0], requires_grad=True)
    b = module.tensor([0.0, 3.0], requires_grad=True)
    y = module.dist(a, b, 0)
    seen = []
    for step in steps:
        try:
            if step == "grad_a":
                out = module.autograd.grad(y, a, retain_graph=True)
            elif step == "grad_a_unused":
                out = module.autograd.grad(y, a, retain_graph=True, allow_unused=True)
            elif step == "grad_b":
                out = module.autograd.grad(y, b, retain_graph=True)
            elif step == "backward_inputs_a":
                out = y.backward(inputs=[a], retain_graph=True)
            else:  # a full backward through the retained graph: both edges needed again
                out = y.backward(retain_graph=True)
            seen.append(("ok", None if out is None else [None if g is None else g.tolist() for g in out],
                         None if a.grad is None else a.grad.tolist()))
        except RuntimeError as error:
            seen.append(("RuntimeError", str(error)))
    return seen


@pytest.mark.parametrize("steps", [
    ("grad_a",), ("grad_a_unused",), ("grad_b",), ("backward_inputs_a",), ("backward",),
    ("grad_a_unused", "backward"), ("backward_inputs_a", "grad_b", "grad_a_unused"),
], ids="-".join)
def test_only_the_needed_gradients_are_computed(steps):
    assert _outcome(refgrad, steps) == _outcome(torch, steps)


def _after_a_failed_selective_backward(module):
    a = module.tensor([1.0, 2.0], requires_grad=True)
    b = module.tensor([3.0, 5.0], requires_grad=True)
    y = module.dist(a, b, 2)
    fired = []

    def hook(grad_inputs, grad_outputs):
        if not fired:
            fired.append(True)
            raise ValueError("once")

    y.grad_fn.register_hook(hook)
    with pytest.raises(ValueError, match="once"):
        module.autograd.grad(y, b, retain_graph=True)  # a's gradient is not needed here, and the hook raises
    y.backward()  # through the retained graph: both gradients needed again
    return a.grad.tolist(), b.grad.tolist()


def test_a_failed_selective_backward_leaves_no_mask_behind():
    assert _after_a_failed_selective_backward(refgrad) == _after_a_failed_selective_backward(torch)
