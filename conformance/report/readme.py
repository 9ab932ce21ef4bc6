"""Keep the README's generated blocks true: the op count (from refgrad's registry) and the headline figures
(from the committed report). ``python -m conformance.report.readme [README] [REPORT_DIR]`` rewrites them;
``tests/test_readme.py`` fails when they are stale."""
from __future__ import annotations

import re
import sys
from pathlib import Path

from conformance.report.render import headline_markdown

__all__ = ["blocks", "update", "BLOCK"]

BLOCK = re.compile(r"(<!-- (?P<name>[a-z]+):start -->\n).*?(\n<!-- (?P=name):end -->)", re.S)


def _ops_block() -> str:
    from refgrad.ops import OPS, op_count
    families: dict[str, int] = {}
    for entry in OPS.values():
        families[entry.family] = families.get(entry.family, 0) + 1
    return (f"refgrad implements **{op_count()} ops** ({len(OPS)} spellings with aliases and Tensor-only methods), "
            f"in {len(families)} family modules under `refgrad/ops/`; `python -m refgrad.ops` lists them.")


def blocks(report_dir: str | Path) -> dict[str, str]:
    """The current text of each generated block."""
    return {"ops": _ops_block(), "headline": headline_markdown(report_dir).strip()}


def update(readme: str | Path, report_dir: str | Path) -> bool:
    """Rewrite the blocks in ``readme``; True if anything changed."""
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    current = blocks(report_dir)
    new = BLOCK.sub(lambda m: m.group(1) + current.get(m.group("name"), "") + m.group(3), text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    args = sys.argv[1:]
    changed = update(args[0] if args else "README.md", args[1] if len(args) > 1 else "reports/latest/report")
    print("README.md updated" if changed else "README.md already up to date")
