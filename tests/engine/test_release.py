"""A backward without retain_graph leaves no reference cycle behind: the graph is freed by reference counting
(a node that saved its own output used to keep itself, and the graph behind it, alive until the cyclic garbage
collector ran, which cost the elementwise benchmark a quarter of its time)."""
import gc
import weakref

import numpy as np
import pytest

import refgrad as torch


def _freed_without_gc(make) -> bool:
    x = torch.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    enabled = gc.isenabled()
    gc.disable()
    try:
        y = make(x)
        node, out = weakref.ref(y.grad_fn), weakref.ref(y)
        y.sum().backward()
        del y
        return node() is None and out() is None
    finally:
        if enabled:
            gc.enable()


def test_a_node_that_saved_its_output_is_freed_after_backward():
    assert _freed_without_gc(lambda x: torch.tanh(torch.tanh(x)))  # TanhBackward0 saves result
    assert _freed_without_gc(lambda x: torch.sigmoid(x).exp())



def _dropped_without_gc(run) -> bool:
    """``run(y)`` with y = exp(tanh(x)) * 1.1 (both nodes save their output), then y is dropped: freed by reference
    counting alone, as in torch (a saved output holds its array, not the tensor whose grad_fn is the node)."""
    x = torch.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    enabled = gc.isenabled()
    gc.disable()
    try:
        y = torch.exp(torch.tanh(x)) * 1.1
        refs = [weakref.ref(y), weakref.ref(y.grad_fn), weakref.ref(y.grad_fn.next_functions[0][0])]
        run(y)
        del y
        return all(r() is None for r in refs)
    finally:
        if enabled:
            gc.enable()


def test_a_graph_dropped_without_backward_or_kept_by_retain_graph_is_freed_without_gc():
    assert _dropped_without_gc(lambda y: None)
    assert _dropped_without_gc(lambda y: y.sum().backward(retain_graph=True))
    assert _dropped_without_gc(lambda y: torch.autograd.grad(y.sum(), y, create_graph=True))


def test_an_unpacked_saved_output_is_a_new_tensor_with_the_nodes_grad_fn():
    x = torch.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    y = torch.tanh(x)
    saved = y.grad_fn._saved_result
    assert saved is not y and saved.grad_fn is y.grad_fn and saved.requires_grad  # as torch
    assert torch.equal(saved, y) and saved._version == y._version
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)  # double backward reads result's graph
    (gg,) = torch.autograd.grad(g.sum(), x)
    t = np.tanh(np.linspace(-1, 1, 5))
    np.testing.assert_allclose(gg.numpy(), -2 * t * (1 - t * t))
    z = torch.tanh(x)
    node = z.grad_fn
    z.add_(1)  # the saved output shares the version counter created when it was saved
    with pytest.raises(RuntimeError, match="which is output 0 of Tanh, is at version 1; expected version 0"):
        _ = node._saved_result
