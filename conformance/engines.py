"""The engine under test (any module exposing torch's Python API) and the reference (always real torch).

An engine is named ``MODULE`` (``refgrad``, ``torch``) or ``MODULE:ATTRIBUTE`` where the attribute is a
module-like object or a zero-argument factory returning one (handy for families of broken test engines).
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch

__all__ = ["Engine", "EngineError", "load_engine", "reference", "default_engine_name", "ENV_VAR"]

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

    def import_source(self, variable: str = "engine") -> str:
        """Python lines binding ``variable`` to this engine, for standalone reproducers."""
        module_name, _, attribute = self.name.partition(":")
        lines = [f"{variable} = importlib.import_module({module_name!r})"]
        if attribute:
            lines.append(f"{variable} = getattr({variable}, {attribute!r})")
            if self.factory:
                lines.append(f"{variable} = {variable}()")
        return "\n".join(lines)


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
        if not isinstance(module, ModuleType) and callable(module) and not hasattr(module, "Tensor"):
            module, factory = module(), True
    missing = [n for n in ("Tensor", "tensor", "autograd") if not hasattr(module, n)]
    if missing:
        raise EngineError(f"engine {name!r} does not expose torch's API (missing {', '.join(missing)})")
    return Engine(name, module, _version(module, module_name), factory)


def reference() -> Engine:
    """Real torch, the oracle."""
    return Engine("torch", torch, torch.__version__)
