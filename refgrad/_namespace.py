"""Fill a torch sub-namespace module (nn.functional, linalg, special) from the op registry."""
from __future__ import annotations


def populate(module_globals: dict, namespace: str) -> list[str]:
    from refgrad.ops import OPS
    names = []
    for entry in OPS.values():
        if entry.namespace == namespace:
            module_globals[entry.name] = entry.function
            names.append(entry.name)
    return sorted(names)
