"""``python -m conformance.coverage``: write docs/coverage.md, refgrad's coverage of torch's differentiable OpInfo
names.

The names come from torch 2.13.0's own ``torch.testing._internal.common_methods_invocations.op_db``: every entry
with ``supports_autograd``, one row per distinct ``name``, leaving aside private names (``_*``), raw
``torch.ops.aten.*`` entries and sparse ones (``sparse.*``, ``to_sparse``). For each name the status is computed,
never listed by hand:

- implemented: the name resolves in refgrad (``refgrad.<name>``, a dotted namespace such as
  ``refgrad.nn.functional.<name>``, or a ``refgrad.Tensor`` attribute);
- specced: a conformance spec is called ``<name>`` or ``<name>.<variant>`` (``conformance/specs/``);
- numerically tested: a file under ``tests/ops/`` (where every case runs the central-difference VJP check) calls
  the op or names a case after it: a static scan of the source for ``.<op>(`` or a case id ``"<op>"``,
  ``"<op>.<variant>"``, ``"<name>"`` (``<op>`` is the last part of a dotted name).

A name refgrad leaves out gets its reason from :data:`REASONS` (a reason per name or per name prefix); a missing
name without one reads "not implemented yet". ``tests/test_coverage_doc.py`` fails when the file is stale.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from conformance import profiles

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "coverage.md"
TESTS = ROOT / "tests" / "ops"

#: Why a name is not in refgrad, by exact name or by prefix ending in ``.`` (checked in this order).
REASONS = {
    "bfloat16": "NumPy has no bfloat16 dtype",
    "chalf": "NumPy has no complex32 dtype",
    "fft.": "complex numbers and torch.fft: issue #12, complex part",
    "stft": "complex output (torch.fft): issue #12, complex part",
    "istft": "complex input (torch.fft): issue #12, complex part",
    "complex": "complex numbers: issue #12, complex part",
    "polar": "complex numbers: issue #12, complex part",
    "real": "complex numbers: issue #12, complex part",
    "imag": "complex numbers: issue #12, complex part",
    "angle": "complex numbers: issue #12, complex part",
    "conj": "complex numbers: issue #12, complex part",
    "conj_physical": "complex numbers: issue #12, complex part",
    "cfloat": "complex numbers: issue #12, complex part",
    "cdouble": "complex numbers: issue #12, complex part",
    "resolve_conj": "complex numbers: issue #12, complex part",
    "resolve_neg": "complex numbers: issue #12, complex part",
    "view_as_real": "complex numbers: issue #12, complex part",
    "view_as_complex": "complex numbers: issue #12, complex part",
    "linalg.eig": "complex eigenvectors: issue #12, complex part",
    "linalg.eigvals": "complex eigenvalues: issue #12, complex part",
    "bernoulli": "random sampling: refgrad has no torch-compatible generator stream to compare against",
    "normal": "random sampling: refgrad has no torch-compatible generator stream to compare against",
    "pca_lowrank": "randomized algorithm (torch's random stream)",
    "svd_lowrank": "randomized algorithm (torch's random stream)",
    "nn.functional.fractional_max_pool2d": "random pooling regions (torch's random stream)",
    "nn.functional.fractional_max_pool3d": "random pooling regions (torch's random stream)",
    "nn.functional.rrelu": "random slopes in training mode (torch's random stream)",
    "nn.functional.alpha_dropout": "random mask (torch's random stream)",
    "nn.functional.feature_alpha_dropout": "random mask (torch's random stream)",
    "max_pool2d_with_indices_backward": "a backward kernel exposed as an op (aten internals)",
    "slice": "no public torch spelling: op_db tests torch.ops.aten.slice (refgrad records its SliceBackward0 for "
             "x[a:b] and narrow)",
    "native_dropout_backward": "a backward kernel exposed as an op (aten internals)",
}

_OPS_DIR_NOTE = "refgrad/ops"


@dataclass(frozen=True)
class Row:
    name: str
    implemented: bool
    specced: bool
    tested: bool
    reason: str

    @property
    def complete(self) -> bool:
        return self.implemented and self.specced and self.tested


def opinfo_names() -> list[str]:
    """The public differentiable names of torch's op_db (see the module docstring for what is left aside)."""
    with profiles.preserved():  # its common_utils registers and loads a Hypothesis profile "dev" of its own
        from torch.testing._internal.common_methods_invocations import op_db
    return sorted({op.name for op in op_db if op.supports_autograd and not op.name.startswith(("_", "sparse.",
                                                                                              "torch.ops."))
                   and op.name != "to_sparse"})


def _resolve(name: str):
    import refgrad
    target = refgrad
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            return getattr(refgrad.Tensor, name, None) if "." not in name else None
    return target


def _spec_names() -> set[str]:
    from conformance.specs import all_specs
    return {spec.name for spec in all_specs()}


def _test_source() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(TESTS.glob("test_*.py")))


def _tested(name: str, source: str) -> bool:
    op = name.rsplit(".", 1)[-1]
    patterns = (rf"\.{re.escape(op)}\(", rf'"{re.escape(op)}[".]', rf'"{re.escape(name)}[".]')
    if len(op) <= 2:  # the T, H, mT, mH properties
        patterns += (rf"\.{re.escape(op)}\b",)
    return any(re.search(p, source) for p in patterns)


def _reason(name: str) -> str:
    if name in REASONS:
        return REASONS[name]
    for prefix, reason in REASONS.items():
        if prefix.endswith(".") and name.startswith(prefix):
            return reason
    return "not implemented yet"


def rows(names: list[str] | None = None) -> list[Row]:
    """The status of every name (computed from refgrad's namespaces, the specs and tests/ops)."""
    names = opinfo_names() if names is None else names
    specs, source = _spec_names(), _test_source()
    result = []
    for name in names:
        implemented = _resolve(name) is not None
        specced = name in specs or any(s.startswith(name + ".") for s in specs)
        tested = implemented and _tested(name, source)
        result.append(Row(name, implemented, specced, tested, "" if implemented else _reason(name)))
    return result


def render(table: list[Row]) -> str:
    """docs/coverage.md's text."""
    import torch
    total = len(table)
    implemented = sum(r.implemented for r in table)
    complete = sum(r.complete for r in table)

    def mark(flag: bool) -> str:
        return "yes" if flag else "-"

    lines = [
        "# refgrad's coverage of torch's differentiable OpInfo names",
        "",
        "<!-- generated by `python -m conformance.coverage`; tests/test_coverage_doc.py fails when it is stale -->",
        "",
        f"Names: the distinct `name`s of torch {torch.__version__}'s "
        "`torch.testing._internal.common_methods_invocations.op_db` entries with `supports_autograd`, private "
        "`_*`, raw `torch.ops.aten.*` and sparse (`sparse.*`, `to_sparse`) entries aside. How each status is "
        "computed is in `conformance/coverage.py`.",
        "",
        f"- **{complete} of {total} names ({100 * complete / total:.1f} %) are implemented, specced and "
        "numerically tested**",
        f"- implemented: {implemented} of {total} ({100 * implemented / total:.1f} %); "
        f"specced: {sum(r.specced for r in table)}; numerically tested: {sum(r.tested for r in table)}",
        "",
        "| name | implemented | specced | numerically tested | left out because |",
        "|---|---|---|---|---|",
    ]
    for r in table:
        lines.append(f"| `{r.name}` | {mark(r.implemented)} | {mark(r.specced)} | {mark(r.tested)} | {r.reason} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render(rows())
    if argv == ["--check"]:
        return 0 if DOC.exists() and DOC.read_text(encoding="utf-8") == text else 1
    DOC.write_text(text, encoding="utf-8")
    print(text.split("\n\n")[3].strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
