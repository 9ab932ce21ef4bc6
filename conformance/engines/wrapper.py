"""Wrapper engines: torch's API, with every function under test transformed before it runs.

A wrapper engine tests a *path* through torch rather than a different module: ``torch.compile`` with some
backend, ``torch.func`` transforms, a user's own compiler. The properties run their programs unchanged on
``module`` (real torch for the reference; the wrapper's module for the engine), except that the engine side
calls ``wrap(fn)`` instead of the spec's ``fn``. A minimal one::

    import torch
    from conformance.engines.wrapper import Wrapper

    class MyBackend(Wrapper):
        ignored = (".grad_fn",)              # observables this path cannot match by design
        skipped = {"graph_state": "statements are not functions"}

        def transform(self, fn):             # called once per spec function (cached by wrap())
            compiled = my_compiler(fn)       # anything callable as fn(t, *inputs, **kwargs)
            return compiled

    ENGINE = MyBackend()                     # python -m conformance run --engine mypkg.myengine

``fn(t, *inputs, **kwargs)`` receives ``module`` as ``t``; what ``wrap(fn)`` returns is called the same way
and must return what ``fn`` returns (a tensor or a tuple of them), with autograd attached, since the
programs call ``autograd.grad``/``backward`` on it. Reproducers import the wrapper and call ``wrap`` too.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["Wrapper"]


class Wrapper:
    """Base class of wrapper engines: override :meth:`transform`; set ``ignored`` and ``skipped``."""

    #: torch (or another module with torch's API) that the wrapped functions receive as ``t``
    module: Any = torch
    #: suffixes of observable keys not compared (both sides), e.g. ``".grad_fn"`` for a compiled graph's node
    ignored: tuple[str, ...] = ()
    #: property -> reason it is not run on this engine (pytest skips it with the reason)
    skipped: dict[str, str] = {}

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Callable, Callable]] = {}

    def transform(self, fn: Callable) -> Callable:
        """The transformed function (override). Called once per ``fn``."""
        return fn

    def wrap(self, fn: Callable) -> Callable:
        """``transform(fn)``, cached per function object (so a compile cache is reused across examples)."""
        cached = self._cache.get(id(fn))
        if cached is None or cached[0] is not fn:
            cached = (fn, self.transform(fn))
            self._cache[id(fn)] = cached
        return cached[1]

    def unsupported(self, prop: str) -> str:
        """Why property ``prop`` is not run on this engine ("" when it is)."""
        return self.skipped.get(prop, "")

    def version(self) -> str:
        """The version recorded for the engine (default: the module's)."""
        return str(getattr(self.module, "__version__", "unknown"))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} wrapper engine>"
