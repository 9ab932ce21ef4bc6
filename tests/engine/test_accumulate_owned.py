"""AccumulateGrad stores a gradient nobody else holds without copying it (as torch does); every other gradient
is copied, so ``.grad`` never aliases a tensor the user, a hook or another leaf can see."""
import numpy as np

import refgrad as t
from refgrad.autograd import engine


def _sole_flags(monkeypatch):
    """The engine's verdicts on first gradients (the spy holds one more reference: the threshold follows)."""
    flags = []
    sole = engine._sole

    def spy(grad, variable):
        flags.append(sole(grad, variable))
        return flags[-1]

    monkeypatch.setattr(engine, "_sole", spy)
    monkeypatch.setattr(engine, "_SOLE_REFS", engine._SOLE_REFS + 1)
    return flags


def test_a_gradient_only_the_engine_holds_is_stored_without_a_copy(monkeypatch):
    flags = _sole_flags(monkeypatch)
    x = t.ones(3, requires_grad=True)
    (x * 2).sum().backward()
    assert flags == [True] and x.grad.tolist() == [2.0, 2.0, 2.0]


def test_gradients_others_can_see_are_copied(monkeypatch):
    flags = _sole_flags(monkeypatch)
    x, g = t.ones(3, requires_grad=True), t.ones(3)
    x.backward(g)  # the user holds the cotangent
    g.add_(1)
    assert x.grad is not g and x.grad.tolist() == [1.0, 1.0, 1.0]
    a, b = t.ones(3, requires_grad=True), t.ones(3, requires_grad=True)
    (a + b).sum().backward()  # AddBackward0 sends one tensor to both leaves
    assert not np.shares_memory(a.grad._data, b.grad._data)
    seen = []
    w = t.ones(3, requires_grad=True)
    w.register_hook(seen.append)
    (w * 2).sum().backward()  # a hook kept the gradient
    assert w.grad is not seen[0] and not np.shares_memory(w.grad._data, seen[0]._data)
    v = t.ones(3, requires_grad=True)
    v.sum().backward()  # an expanded (read-only, broadcast) gradient
    assert v.grad._data.flags.writeable and v.grad._data.base is None
    assert flags == [False] * 5
