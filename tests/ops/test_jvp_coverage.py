"""Every op with a VJP has a forward-mode rule, or torch has none either.

A :class:`~refgrad.ops._primitive.Primitive` with a VJP always has a JVP (an explicit rule, or by default the
transpose of its VJP: see refgrad/autograd/_jvp.py), unless it is declared with ``no_forward_rule(kernel)``. Each
such kernel is listed in :data:`PROGRAMS` with a program reaching it in forward mode, and the program must raise
the same NotImplementedError, with the same message, in torch 2.13 as in refgrad: the written reason is torch's own
error. A new ``no_forward_rule`` without an entry fails here. Cost: 4-5 s at load ~12 (23 tiny programs on both
sides, the ctc_loss and cdist backward ones ~1.5 s each).
"""
from __future__ import annotations

import gc
import importlib
import pkgutil
import warnings

import numpy as np
import pytest
import torch

import refgrad
from refgrad.ops._primitive import Primitive


def _dual(t, *shape, fill=None, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape) if fill is None else np.full(shape, fill)
    return t.autograd.forward_ad.make_dual(t.tensor(data, dtype=t.float64), t.ones(*shape, dtype=t.float64))


def _backward_of(t, f, *shapes):
    """f's backward kernel, run on a cotangent that carries a tangent (forward-over-reverse)."""
    xs = [t.tensor(np.random.default_rng(i).standard_normal(s), dtype=t.float64, requires_grad=True)
          for i, s in enumerate(shapes)]
    out = f(*xs)
    return t.autograd.grad(out, xs, t.autograd.forward_ad.make_dual(t.ones_like(out), t.ones_like(out)))


def _ctc(t, x):
    return t.nn.functional.ctc_loss(x.log_softmax(2), t.tensor([[1, 2]]), t.tensor([5]), t.tensor([2]))


LABELS = [[0, 2, -1], [1, -1, 0]]
#: kernel named in torch's error -> a program (``t`` is torch or refgrad) that reaches it with a tangent
PROGRAMS = {
    "_cdist_forward": lambda t: t.cdist(_dual(t, 3, 2), _dual(t, 2, 2, seed=1), p=3.0),
    "_cdist_backward": lambda t: _backward_of(t, lambda a, b: t.cdist(a, b, p=3.0), (3, 2), (2, 2)),
    "_pdist_forward": lambda t: t.nn.functional.pdist(_dual(t, 4, 3)),
    "_pdist_backward": lambda t: _backward_of(t, t.nn.functional.pdist, (4, 3)),
    "_ctc_loss": lambda t: _ctc(t, _dual(t, 5, 1, 3)),
    "aten::_ctc_loss_backward": lambda t: _backward_of(t, lambda x: _ctc(t, x), (5, 1, 3)),
    "_scaled_dot_product_flash_attention_for_cpu": lambda t: t.nn.functional.scaled_dot_product_attention(
        _dual(t, 1, 2, 3, 4), _dual(t, 1, 2, 3, 4, seed=1), _dual(t, 1, 2, 3, 4, seed=2)),
    "_unique2": lambda t: t.unique(_dual(t, 4)),
    "unique_dim": lambda t: t.unique(_dual(t, 3, 2), dim=0),
    "aten::floor_divide": lambda t: t.floor_divide(_dual(t, 3), 2.0),
    "aten::remainder": lambda t: t.remainder(2.0, _dual(t, 3)),
    "aten::scatter": lambda t: _dual(t, 3).scatter(0, t.tensor([0, 1]), _dual(t, 2, seed=1), reduce="add"),
    "cholesky": lambda t: t.cholesky(_dual(t, 2, 2, fill=0.0) + 2 * t.eye(2, dtype=t.float64)),
    "grid_sampler_2d": lambda t: t.nn.functional.grid_sample(_dual(t, 1, 1, 3, 3), _dual(t, 1, 2, 2, 2, fill=0.1),
                                                             align_corners=False),
    "grid_sampler_3d": lambda t: t.nn.functional.grid_sample(_dual(t, 1, 1, 2, 2, 2),
                                                             _dual(t, 1, 1, 1, 1, 3, fill=0.1), align_corners=False),
    "index_reduce": lambda t: _dual(t, 3).index_reduce(0, t.tensor([0, 0]), _dual(t, 2, seed=1), "prod"),
    "multi_margin_loss": lambda t: t.nn.functional.multi_margin_loss(_dual(t, 2, 3), t.tensor([0, 2])),
    "aten::multi_margin_loss_backward": lambda t: _backward_of(
        t, lambda x: t.nn.functional.multi_margin_loss(x, t.tensor([0, 2])), (2, 3)),
    "multilabel_margin_loss_forward": lambda t: t.nn.functional.multilabel_margin_loss(_dual(t, 2, 3),
                                                                                      t.tensor(LABELS)),
    "aten::multilabel_margin_loss_backward": lambda t: _backward_of(
        t, lambda x: t.nn.functional.multilabel_margin_loss(x, t.tensor(LABELS)), (2, 3)),
    "ormqr": lambda t: t.ormqr(_dual(t, 3, 2), _dual(t, 2, seed=1), _dual(t, 3, 3, seed=2)),
    "rrelu_with_noise_": lambda t: t.nn.functional.rrelu_(_dual(t, 3) * 1),
}
#: kernels refgrad declares without forward rule whose node no public call reaches, with why
UNREACHABLE = {"aten::fmod": "fmod's number-self node: torch.fmod takes no Python number as input (TypeError)"}


def _primitives() -> list[Primitive]:
    for module in pkgutil.walk_packages(refgrad.__path__, "refgrad."):
        importlib.import_module(module.name)
    return [p for p in gc.get_objects() if type(p) is Primitive]  # type(): isinstance wakes deprecated proxies


def test_every_primitive_with_a_vjp_has_a_forward_rule_or_torchs_reason():
    prims = [p for p in _primitives() if p.vjp is not None]
    assert len(prims) > 300
    assert [p.grad_fn for p in prims if p.jvp is False] == []
    kernels = {getattr(p.jvp, "unsupported", None) for p in prims} - {None}
    assert sorted(kernels - PROGRAMS.keys() - UNREACHABLE.keys()) == [], "a no_forward_rule needs a PROGRAMS entry"
    assert sorted((PROGRAMS.keys() | UNREACHABLE.keys()) - kernels) == [], "stale entries"


def _outcome(t, name):
    with warnings.catch_warnings(), t.autograd.forward_ad.dual_level():
        warnings.simplefilter("ignore")
        try:
            PROGRAMS[name](t)
        except NotImplementedError as error:
            return str(error)
    return None


@pytest.mark.parametrize("kernel", sorted(PROGRAMS))
def test_torch_has_no_forward_rule_either(kernel):
    expected = _outcome(torch, kernel)
    assert expected is not None and expected.startswith(f"Trying to use forward AD with {kernel} that does not "
                                                        "support it"), expected
    assert _outcome(refgrad, kernel) == expected
