"""The torch.func engine (conformance/engines/func.py): each mode agrees with torch.autograd on a few ops, first
and second order, and really routes the VJP through torch.func (a wrong VJP there is caught). ~10 s."""
import pytest
import torch

from conformance.engines import func as func_engine
from conformance.engines import load_engine
from conformance.harness import Divergence, Session, check
from conformance.properties.test_double_backward import double_backward_trial
from conformance.properties.test_vjp import vjp_trial
from conformance.specs import get_spec


def _session(name, examples=3):
    return Session(engine=load_engine(name), max_examples=examples, overrides={"derandomize": True, "database": None})


@pytest.mark.parametrize("mode", func_engine.MODES)
@pytest.mark.parametrize("op", ["mul", "max.dim", "cumprod"])  # linalg.det: a finding (reports/torch-findings)
def test_each_mode_agrees_with_autograd(mode, op):
    session = _session(f"conformance.engines.func:{mode}")
    check(session, get_spec(op), "float64", "vjp", vjp_trial, nodeid=f"meta::{mode}")
    check(session, get_spec(op), "float64", "double_backward", double_backward_trial, nodeid=f"meta::{mode}")
    assert session.recorder.divergences == []


def test_the_vjp_comes_from_torch_func(monkeypatch):
    calls = []
    real = torch.func.vjp
    monkeypatch.setattr(torch.func, "vjp", lambda *a, **k: calls.append(1) or real(*a, **k))
    check(_session("conformance.engines.func"), get_spec("tanh"), "float64", "vjp", vjp_trial, nodeid="meta::calls")
    assert calls
    wrong = func_engine._vjp
    monkeypatch.setattr(func_engine, "_vjp", lambda *a: tuple(g * 1.001 + 1e-3 for g in wrong(*a)))
    with pytest.raises(Divergence):
        check(_session("conformance.engines.func"), get_spec("tanh"), "float64", "vjp", vjp_trial,
              nodeid="meta::wrong")


def test_vmap_mode_checks_every_batch_row():
    """cdist's batched backward answers every row with row 0's cotangent (reports/torch-findings/
    func_vmap_cdist_backward.py): the vmap mode's combination of the rows exposes it; the vjp mode does not."""
    torch.manual_seed(0)
    a = torch.randn(4, 2, dtype=torch.float64)
    b = torch.randn(2, 2, dtype=torch.float64) + 3
    v = torch.randn(4, 2, dtype=torch.float64)

    def pure(x, y):
        return (torch.cdist(x, y),)

    exact = func_engine._vjp("vjp", pure, (a, b), (v,))
    batched = func_engine._vjp("vmap", pure, (a, b), (v,))
    assert torch.equal(func_engine._vjp("vmap", lambda x, y: (x * y,), (a, a), (v,))[0], v * a)  # control
    assert not torch.allclose(batched[0], exact[0])
