"""Engines for the training property's meta-tests: refgrad with one optimizer or layer detail broken, exposed as
``load_engine("tests.nn.broken_optim:<name>")`` factories. refgrad itself is never modified: each engine is a
proxy namespace whose ``optim`` or ``nn`` is a patched copy."""
from __future__ import annotations

import types

import refgrad


class _Engine(types.SimpleNamespace):
    """refgrad, except the attributes given to the constructor."""

    def __getattr__(self, name):
        return getattr(refgrad, name)


def _optim_with(**replacements):
    namespace = types.SimpleNamespace(**{k: getattr(refgrad.optim, k) for k in refgrad.optim.__all__})
    namespace.__dict__.update(replacements)
    return namespace


def zero_grad_is_a_no_op():
    """Gradients accumulate across steps (a classic training-loop bug)."""
    class SGD(refgrad.optim.SGD):
        def zero_grad(self, set_to_none=True):
            return None
    return _Engine(optim=_optim_with(SGD=SGD), __version__=refgrad.__version__)


def sgd_ignores_dampening():
    """Momentum buffer updated as momentum·buf + grad whatever the dampening."""
    class SGD(refgrad.optim.SGD):
        def step(self, closure=None):
            for group in self.param_groups:
                group["dampening"], saved = 0, group["dampening"]
            try:
                return super().step(closure)
            finally:
                for group in self.param_groups:
                    group["dampening"] = saved
    return _Engine(optim=_optim_with(SGD=SGD), __version__=refgrad.__version__)


def adam_without_bias_correction():
    """Adam's first step is lr·m/(√v + eps) without 1/(1-βᵗ) corrections, via betas read as 0 in the correction."""
    class Adam(refgrad.optim.Adam):
        def step(self, closure=None):
            for group in self.param_groups:
                for param in group["params"]:
                    state = self.state.get(param)
                    if state:
                        state["step"]._data[...] = 1e6  # corrections (1 - β^step) become 1
            return super().step(closure)
    return _Engine(optim=_optim_with(Adam=Adam), __version__=refgrad.__version__)
