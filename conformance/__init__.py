"""Differential conformance of an autograd engine with torch's Python API against real torch.autograd.

- ``conformance.specs``: one declarative entry per op (see ``conformance.specs._spec``);
- ``conformance.properties``: forward, vjp, double_backward, errors, graph_state as pytest modules;
- ``python -m conformance run|list``: the CLI; ``conformance.plugin``: the pytest plugin (``--engine``);
- ``conformance.records``: the JSON-lines record schema;
- :func:`compare`: check one function on given inputs.
"""
from __future__ import annotations

from typing import Any

__all__ = ["compare"]


def compare(fn, *inputs, **options) -> list[dict[str, Any]]:
    """Compare ``fn(t, *inputs)`` on torch and on an engine; see :func:`conformance.api.compare`."""
    from conformance.api import compare as _compare  # imported lazily: keeps `import conformance` light

    return _compare(fn, *inputs, **options)
