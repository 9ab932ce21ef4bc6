"""``python -m refgrad.ops``: the op count and the ops of each family, read from the registry."""
from __future__ import annotations

from refgrad.ops import OPS, op_count

if __name__ == "__main__":
    print(f"{op_count()} ops ({len(OPS)} spellings incl. aliases and Tensor-only methods)")
    families: dict[str, list[str]] = {}
    for entry in OPS.values():
        families.setdefault(entry.family, []).append(entry.qualified_name)
    for family, names in sorted(families.items()):
        print(f"{family:18s} {len(names):4d}  {', '.join(sorted(names))}")
