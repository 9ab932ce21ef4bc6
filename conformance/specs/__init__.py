"""All op specs, discovered from the family modules of this package.

Every module ``conformance/specs/<family>.py`` (names not starting with ``_``) defining ``SPECS`` is
imported; entries may be :class:`OpSpec` objects or lists of them (as returned by ``binary``). Adding a family
file needs no edit anywhere else. See :mod:`conformance.specs._spec` for the entry format.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from functools import lru_cache

from conformance.specs._spec import OpSpec

__all__ = ["OpSpec", "all_specs", "get_spec", "families"]


def _flatten(entries) -> list[OpSpec]:
    flat: list[OpSpec] = []
    for entry in entries:
        if isinstance(entry, OpSpec):
            flat.append(entry)
        elif isinstance(entry, (list, tuple)):
            flat.extend(_flatten(entry))
        else:
            raise TypeError(f"SPECS entries must be OpSpec or lists of them, got {type(entry).__name__}")
    return flat


@lru_cache(maxsize=1)
def _registry() -> dict[str, OpSpec]:
    registry: dict[str, OpSpec] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for spec in _flatten(getattr(module, "SPECS", [])):
            if spec.name in registry:
                raise ValueError(f"duplicate spec name {spec.name!r} in families "
                                 f"{registry[spec.name].family!r} and {info.name!r}")
            registry[spec.name] = dataclasses.replace(spec, family=info.name)
    return registry


def all_specs() -> list[OpSpec]:
    """Every spec, ordered by family then declaration order."""
    return list(_registry().values())


def get_spec(name: str) -> OpSpec:
    """The spec called ``name``; KeyError with the known names otherwise."""
    try:
        return _registry()[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; known: {', '.join(sorted(_registry()))}") from None


def families() -> dict[str, list[str]]:
    """Family module name -> spec names."""
    grouped: dict[str, list[str]] = {}
    for spec in all_specs():
        grouped.setdefault(spec.family, []).append(spec.name)
    return grouped
