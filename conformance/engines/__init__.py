"""The engine under test (any module exposing torch's Python API) and the reference (always real torch).

An engine is named ``MODULE`` (``refgrad``, ``torch``) or ``MODULE:ATTRIBUTE`` where the attribute is a
module-like object or a zero-argument factory returning one (handy for families of broken test engines).

A *wrapper engine* (:class:`conformance.engines.wrapper.Wrapper`) keeps a module (usually torch itself) but
transforms every function under test, e.g. through ``torch.compile`` (:mod:`conformance.engines.compiled`) or
``torch.func`` (:mod:`conformance.engines.func`). ``MODULE:ATTRIBUTE`` may name a wrapper (or a factory of one),
and ``MODULE`` alone names one when the module defines ``ENGINE = <Wrapper>``.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch

from conformance.engines.wrapper import Wrapper

__all__ = ["Engine", "EngineError", "load_engine", "reference", "default_engine_name", "ENV_VAR", "Wrapper"]

ENV_VAR = "CONFORMANCE_ENGINE"
DEFAULT_ENGINE = "refgrad"


class EngineError(Exception):
    """The engine cannot be imported or does not look like torch's API."""


@dataclass(frozen=True)
class Engine:
    """A loaded engine: its name as given, the module-like object, and its version string."""

    name: str
    module: Any
    version: str
    factory: bool = False  # ATTRIBUTE was a factory that had to be called
    wrapper: Wrapper | None = None  # a wrapper engine: ``module`` is its module, functions go through wrap()

    def import_source(self, variable: str = "engine") -> str:
        """Python lines binding ``variable`` to this engine's module (and ``wrapper`` to a wrapper engine's
        object), for standalone reproducers."""
        module_name, _, attribute = self.name.partition(":")
        target = "wrapper" if self.wrapper is not None else variable
        lines = [f"{target} = importlib.import_module({module_name!r})"]
        if attribute:
            lines.append(f"{target} = getattr({target}, {attribute!r})")
            if self.factory:
                lines.append(f"{target} = {target}()")
        elif self.wrapper is not None:
            lines.append(f"{target} = {target}.ENGINE")
        if self.wrapper is not None:
            lines.append(f"{variable} = {target}.module")
        return "\n".join(lines)

    def wrap(self, fn: Any) -> Any:
        """The function under test as this engine runs it (``fn`` itself unless a wrapper engine)."""
        return fn if self.wrapper is None else self.wrapper.wrap(fn)

    def unsupported(self, prop: str) -> str:
        """Why this engine does not run property ``prop`` ("" when it does)."""
        return "" if self.wrapper is None else self.wrapper.unsupported(prop)

    def comparable(self, outcome: dict) -> dict:
        """``outcome`` without the observables this engine cannot match by design (e.g. grad_fn names of a
        compiled graph); the same filter applies to both sides."""
        if self.wrapper is None or not self.wrapper.ignored:
            return outcome
        ignored = self.wrapper.ignored
        return dict(outcome, obs={key: value for key, value in outcome["obs"].items()
                                  if not key.endswith(ignored)})


def default_engine_name() -> str:
    """The engine named by $CONFORMANCE_ENGINE, else ``refgrad``."""
    return os.environ.get(ENV_VAR) or DEFAULT_ENGINE


def _version(module: Any, module_name: str) -> str:
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    try:
        return importlib.metadata.version(module_name.split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def load_engine(name: str | None = None) -> Engine:
    """Import the engine ``name`` (default: :func:`default_engine_name`); EngineError with one clear line when
    it cannot be imported or lacks ``Tensor``/``tensor``/``autograd``."""
    name = name or default_engine_name()
    module_name, _, attribute = name.partition(":")
    try:
        module: Any = importlib.import_module(module_name)
    except Exception as error:  # ImportError, or the engine crashing at import time
        raise EngineError(f"cannot import engine {module_name!r}: {type(error).__name__}: {error}") from error
    factory = False
    if attribute:
        try:
            module = getattr(module, attribute)
        except AttributeError:
            raise EngineError(f"engine module {module_name!r} has no attribute {attribute!r}") from None
        if not isinstance(module, (ModuleType, Wrapper)) and callable(module) and not hasattr(module, "Tensor"):
            module, factory = module(), True
    elif isinstance(getattr(module, "ENGINE", None), Wrapper):
        module = module.ENGINE
    wrapper = module if isinstance(module, Wrapper) else None
    if wrapper is not None:
        module = wrapper.module
    missing = [n for n in ("Tensor", "tensor", "autograd") if not hasattr(module, n)]
    if missing:
        raise EngineError(f"engine {name!r} does not expose torch's API (missing {', '.join(missing)})")
    version = wrapper.version() if wrapper is not None else _version(module, module_name)
    return Engine(name, module, version, factory, wrapper)


def reference() -> Engine:
    """Real torch, the oracle."""
    return Engine("torch", torch, torch.__version__)
