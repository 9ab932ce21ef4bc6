"""The known-divergences file: divergences a run may show without failing CI, each with a written reason.

TOML, one ``[[divergence]]`` table per entry (see reports/known_divergences.toml)::

    [[divergence]]
    op = "norm"                 # required; shell-style pattern (fnmatch): "sub*", "*"; "a|b": either
    property = "double_backward"  # required; pattern
    dtype = "*"                 # optional pattern, default "*"
    kind = "value"              # optional pattern on the record's kind (status, exception_type, value...)
    key = "gradgrad*"           # optional pattern on the record's key (the observable)
    scenario = "*"              # optional pattern on the errors/graph_state scenario
    kwargs = "*'ord': 'nuc'*"   # optional pattern on the example's keyword arguments (their Python repr)
    id = "4b58d41fbac1"         # optional: exact divergence_id
    inputs = "nonfinite"        # optional: only examples whose inputs hold a NaN or inf ("extreme": that, or a
                                # nonzero value whose square under- or overflows in its dtype; see input_class)
    layout = "*sliced*"         # optional pattern on the example's input layouts, e.g. "contiguous,sliced"
                                # (the sorted distinct layouts of its tensor inputs: see input_layouts)
    reason = "why this is accepted"   # required, non-empty
    verdict = "torch-wrong"     # optional: the verdict the entry expects (informational)
    rate = 3e-4                 # optional: the measured share of its cells' examples that meet it (a rare input)

A divergence is *known* when its record says ``expected`` (the spec lists it, or the run was given this file and an
entry matched the cell's first failing example, see :class:`conformance.harness.Tracker`) or any entry matches all
of its given fields. Only a run given the same file makes the verdict independent of how long shrinking had: the
report matches an entry the run did not have against the shrunk example (see the report's note).

An entry matching no divergence of the run is *stale*: ``fixed`` when the cells the entry names ran
enough examples to have met it again, ``inconclusive`` when they ran fewer, ``not exercised`` when the run had none
of them. Enough is :data:`STALE_MIN_EXAMPLES` (any number under the nightly profile) for an entry without a
``rate``; an entry with one is ``fixed`` only when a run of that many examples would miss a divergence still there
with probability ``(1 - rate) ** examples`` below :data:`STALE_MISS_PROBABILITY` (1 %, whatever the profile). A
``rate`` is measured (``python -m tests.conformance.known_rate_survey --entry N``: the share of the cells' examples
that meet the entry; the 95 % upper bound 3 / examples when none did) and the reason says how.
"""
from __future__ import annotations

import fnmatch
import hashlib
import io
import math
import re
import tokenize
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conformance.report.load import parse_literal

__all__ = ["KnownEntry", "KnownFileError", "load_known", "known_digest", "apply_known", "stale_entries", "stale_line",
           "MATCH_FIELDS", "STALE_MIN_EXAMPLES", "STALE_MISS_PROBABILITY", "INPUT_CLASSES", "input_class",
           "input_layouts", "ENTRY_VERDICTS", "adopt_known_verdicts"]

MATCH_FIELDS = ("op", "property", "dtype", "kind", "key", "scenario", "kwargs", "id", "layout")
#: Values of an entry's ``inputs`` field, from the narrowest: an entry with ``inputs = C`` matches only records
#: whose example inputs are of class C or narrower (see :func:`input_class`).
INPUT_CLASSES = ("nonfinite", "extreme")
_ALLOWED = set(MATCH_FIELDS) | {"reason", "verdict", "inputs", "rate"}
#: What an entry's ``verdict`` may say: the numerical verdicts that can describe an accepted divergence, plus what a
#: person who measured it can add. ``implementation-dependent``: the value is decided by rounding order, a LAPACK
#: choice (a basis, a sign) or an unspecified order (an unstable sort), and neither side is wrong;
#: ``both-imprecise``: both sides are numerically wrong (overflow, cancellation), differently; ``torch-limitation``:
#: torch refuses what the mathematics defines (a missing batching rule). A report shows the entry's verdict for the
#: divergences it matches, the numerical test's beside it (see :func:`adopt_known_verdicts`).
ENTRY_VERDICTS = ("torch-wrong", "undefined", "convention", "tolerance", "implementation-dependent",
                  "both-imprecise", "torch-limitation", "undecided")
_RECORD_FIELD = {"id": "divergence_id"}


def input_layouts(record: dict[str, Any]) -> str:
    """The sorted distinct memory layouts of a record's tensor inputs (conformance.programs.make_input), joined by
    commas: ``"contiguous"``, ``"contiguous,sliced"``...; "" for a record without tensor inputs."""
    text = str(record.get("inputs") or "")
    tensors = text.count("'kind': 'tensor'")
    laid = re.findall(r"'layout': '(\w+)'", text)
    found = set(laid) | ({"contiguous"} if tensors > len(laid) else set())
    return ",".join(sorted(found))


class KnownFileError(Exception):
    """The known-divergences file is missing, malformed, or has an entry without a reason."""


@dataclass(frozen=True)
class KnownEntry:
    """One entry: field patterns, the reason, and its position in the file (1-based)."""

    patterns: tuple[tuple[str, str], ...]
    reason: str
    verdict: str = ""
    index: int = 0
    inputs: str = ""  # "" (any example), or one of INPUT_CLASSES
    rate: float = 0.0  # the share of its cells' examples that meet it (0: not stated)

    def miss_probability(self, examples: int) -> float | None:
        """The probability that ``examples`` examples of the entry's cells all miss it while it is still there
        (None for an entry without a rate)."""
        return (1.0 - self.rate) ** examples if self.rate else None

    def label(self) -> str:
        """A short text naming the entry (``#3 op=norm property=double_backward``)."""
        return f"#{self.index} " + " ".join(f"{name}={pattern}" for name, pattern in self.patterns) + (
            f" inputs={self.inputs}" if self.inputs else "")

    def field(self, name: str, default: str = "*") -> str:
        """The pattern given for ``name`` (``default`` when absent)."""
        return dict(self.patterns).get(name, default)

    def matches(self, record: dict[str, Any]) -> bool:
        """True when every given pattern matches the record's field (ids exactly, the rest by fnmatch)."""
        for name, pattern in self.patterns:
            value = input_layouts(record) if name == "layout" else record.get(_RECORD_FIELD.get(name, name))
            value = "" if value is None else str(value)
            if name == "id":
                if value != pattern:
                    return False
            elif not pattern_matches(value, pattern):
                return False
        if self.inputs:
            found = input_class(record.get("inputs"))
            return found is not None and INPUT_CLASSES.index(found) <= INPUT_CLASSES.index(self.inputs)
        return True


def _values(item: Any, dtype: str):
    """(value, dtype name) for every number in one input item of a record (tensor data or a scalar)."""
    if isinstance(item, dict):
        if item.get("kind") == "scalar":
            yield from _values(item.get("value"), "float64")
        else:
            yield from _values(item.get("data"), str(item.get("dtype") or dtype))
    elif isinstance(item, (list, tuple)):
        for part in item:
            yield from _values(part, dtype)
    elif isinstance(item, complex):
        yield item.real, dtype
        yield item.imag, dtype
    elif isinstance(item, (int, float)) and not isinstance(item, bool):
        yield float(item), dtype


def _square_safe(dtype: str) -> tuple[float, float]:
    """(smallest, largest) magnitude whose square is a normal number of ``dtype``'s real part (float64 otherwise):
    sqrt of the smallest normal and of the largest finite value."""
    real = {"complex128": "float64", "complex64": "float32", "bfloat16": "float32"}.get(dtype, dtype)
    info = np.finfo(real if real in ("float64", "float32", "float16") else "float64")
    return math.sqrt(float(info.tiny)), math.sqrt(float(info.max))


def input_class(inputs: Any) -> str | None:
    """How special a record's example inputs are: ``"nonfinite"`` (a NaN or infinity somewhere), ``"extreme"``
    (all finite, but a nonzero value whose square under- or overflows in its dtype: |x| < ~1.5e-154 or > ~1.3e154
    in float64, < ~1.1e-19 or > ~1.8e19 in float32, subnormals included), or None (ordinary values, or inputs
    that cannot be read). ``inputs`` is the record's field: a Python literal with ``nan``/``inf`` as names and
    complex numbers as ``complex(re, im)``."""
    if not isinstance(inputs, str):
        return None
    try:
        names = {token.string for token in tokenize.generate_tokens(io.StringIO(inputs).readline)
                 if token.type == tokenize.NAME}
    except (tokenize.TokenError, SyntaxError):
        return None
    if names & {"nan", "inf"}:
        return "nonfinite"
    try:
        items = parse_literal(inputs)
    except (ValueError, SyntaxError):
        return None
    for value, dtype in _values(items, "float64"):
        low, high = _square_safe(dtype)
        if value and not low <= abs(value) <= high:
            return "extreme"
    return None


def pattern_matches(value: str, pattern: str) -> bool:
    """fnmatch, where ``a|b`` matches what either alternative matches (``linalg.svd|linalg.svdvals``)."""
    return any(fnmatch.fnmatchcase(value, alternative) for alternative in pattern.split("|"))


def load_known(path: str | Path | None) -> list[KnownEntry]:
    """Entries of the known-divergences file at ``path`` (no entries for None). KnownFileError if the file
    is missing or an entry lacks op/property/reason or has unknown fields."""
    if path is None:
        return []
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise KnownFileError(f"cannot read known-divergences file {str(path)!r}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise KnownFileError(f"{path}: invalid TOML: {error}") from None
    unknown_tables = set(data) - {"divergence"}
    if unknown_tables:
        raise KnownFileError(f"{path}: unknown top-level keys {sorted(unknown_tables)} (use [[divergence]])")
    entries = []
    for index, raw in enumerate(data.get("divergence", []), start=1):
        where = f"{path}: entry #{index}"
        extra = set(raw) - _ALLOWED
        if extra:
            raise KnownFileError(f"{where}: unknown fields {sorted(extra)}; allowed: {sorted(_ALLOWED)}")
        if not str(raw.get("reason", "")).strip():
            raise KnownFileError(f"{where}: every entry needs a non-empty reason")
        if "id" not in raw and not ("op" in raw and "property" in raw):
            raise KnownFileError(f"{where}: give op and property (patterns), or an exact id")
        if "inputs" in raw and raw["inputs"] not in INPUT_CLASSES:
            raise KnownFileError(f"{where}: inputs must be one of {list(INPUT_CLASSES)}, not {raw['inputs']!r}")
        if "verdict" in raw and raw["verdict"] not in ENTRY_VERDICTS:
            raise KnownFileError(f"{where}: verdict must be one of {list(ENTRY_VERDICTS)}, not {raw['verdict']!r}")
        rate = raw.get("rate", 0.0)
        if "rate" in raw and not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate <= 1):
            raise KnownFileError(f"{where}: rate must be a number in (0, 1], not {rate!r}")
        patterns = tuple((name, str(raw[name])) for name in MATCH_FIELDS if name in raw)
        entries.append(KnownEntry(patterns, str(raw["reason"]).strip(), str(raw.get("verdict", "")), index,
                                  str(raw.get("inputs", "")), float(rate)))
    return entries


def known_digest(path: str | Path | None) -> str | None:
    """The SHA-1 of a known-divergences file's bytes (None for no file, or one that cannot be read): a run
    records it (run.json ``known_sha1``) so a report can tell whether it matches with the file the run had."""
    if path is None:
        return None
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def apply_known(divergences: pd.DataFrame, entries: list[KnownEntry]) -> pd.DataFrame:
    """``divergences`` with columns ``known`` (bool), ``known_source`` (spec | file | ""), ``known_reason`` and
    ``known_verdict`` (the entry's, "" if it gives none).

    A divergence the run flagged as expected keeps the run's reason (the spec's own known, or the entry of the run's
    file that matched its first failing example: ``file`` when an entry here has that reason); otherwise the first
    matching entry gives the reason."""
    frame = divergences.copy()
    by_reason = {}
    for entry in entries:
        by_reason.setdefault(entry.reason, entry)
    known, source, reason, verdict = [], [], [], []
    for record in frame.to_dict("records"):
        if record.get("expected"):  # flagged by the run: the spec's own known, or an entry of the run's file
            stated = (record.get("expected_reason") or "").strip()
            entry = by_reason.get(stated)
            known.append(True)
            source.append("file" if entry else "spec")
            reason.append(record.get("expected_reason") or "")
            verdict.append(entry.verdict if entry else "")
            continue
        entry = next((e for e in entries if e.matches(record)), None)
        known.append(entry is not None)
        source.append("file" if entry else "")
        reason.append(entry.reason if entry else "")
        verdict.append(entry.verdict if entry else "")
    frame["known"] = pd.Series(known, index=frame.index, dtype=bool)
    frame["known_source"] = pd.Series(source, index=frame.index, dtype=object)
    frame["known_reason"] = pd.Series(reason, index=frame.index, dtype=object)
    frame["known_verdict"] = pd.Series(verdict, index=frame.index, dtype=object)
    return frame


def adopt_known_verdicts(divergences: pd.DataFrame) -> pd.DataFrame:
    """``divergences`` (judged, then matched by :func:`apply_known`) with ``verdict`` taken from the matching entry
    where it gives one, and the numerical test's verdict kept in ``numerical_verdict``.

    The entry's verdict is a person's judgement with measurements (float64 and mpmath references, torch at nearby
    points, which LAPACK basis was picked); the dot-product test sees three random directions at one point and, at
    a point where the function is not differentiable or is rounding-decided, names whichever side happens to match
    its own central difference (e.g. "engine-wrong" at a degenerate eigenspace, where both bases are valid)."""
    frame = divergences.copy()
    frame["numerical_verdict"] = frame["verdict"]
    if "known_verdict" in frame:
        stated = frame["known_verdict"].fillna("").astype(str) != ""
        frame.loc[stated, "verdict"] = frame.loc[stated, "known_verdict"]
    return frame


#: Examples the cells an entry names must have run (together) before a missing match counts as "fixed": a known
#: divergence is usually a rare point, which a dev run's ~5 examples per cell seldom draws.
STALE_MIN_EXAMPLES = 200
#: An entry with a ``rate`` reads as fixed when its cells' examples would all have missed it with at most this
#: probability (a rare input: rate 3e-4 needs 15,349 examples).
STALE_MISS_PROBABILITY = 0.01


def stale_entries(entries: list[KnownEntry], divergences: pd.DataFrame, cells: pd.DataFrame,
                  min_examples: int = 0) -> list[dict]:
    """Entries matching no divergence: dicts with ``entry`` (label), ``reason``, ``examples`` (run in the cells
    the entry names), ``p_miss`` (the chance of missing an entry with a ``rate`` in that many examples, else None)
    and ``status`` -- ``fixed`` when those cells ran at least ``min_examples`` examples (an entry with a rate: when
    ``p_miss`` < :data:`STALE_MISS_PROBABILITY`), ``inconclusive`` when they ran fewer, ``not exercised`` when the
    run had no such cell."""
    records = divergences.to_dict("records")
    cell_records = cells.to_dict("records")
    stale = []
    for entry in entries:
        if any(entry.matches(record) for record in records):
            continue
        covering = [cell for cell in cell_records
                    if all(pattern_matches(str(cell.get(name, "")), entry.field(name))
                           for name in ("op", "property", "dtype"))]
        if entry.field("id", "") and not (entry.field("op", "") or entry.field("property", "")):
            covering = []  # an id-only entry cannot be placed in a cell
        examples = int(sum(int(cell.get("examples") or 0) for cell in covering))
        p_miss = entry.miss_probability(examples)
        enough = examples >= min_examples if p_miss is None else p_miss < STALE_MISS_PROBABILITY
        status = "not exercised" if not covering else "fixed" if enough else "inconclusive"
        stale.append({"entry": entry.label(), "reason": entry.reason, "examples": examples,
                      "p_miss": None if p_miss is None else float(f"{p_miss:.3g}"), "status": status})
    return stale


def stale_line(stale: list[dict], min_examples: int) -> str | None:
    """One console line summing up the stale entries (None when there are none)."""
    if not stale:
        return None
    fixed = [entry["entry"].split()[0] for entry in stale if entry["status"] == "fixed"]
    rare = (f" (entries with a rate: enough to miss them with P < {STALE_MISS_PROBABILITY:.0%})"
            if any(entry.get("p_miss") is not None for entry in stale if entry["status"] == "fixed") else "")
    rest = len(stale) - len(fixed)
    head = (f"{len(fixed)} known-divergence entr{'y' if len(fixed) == 1 else 'ies'} matched nothing although "
            f"{'its cells' if len(fixed) == 1 else 'their cells'} ran >= {min_examples} examples{rare} "
            f"(possibly fixed: {', '.join(fixed)}; see the report's stale-entries table)" if fixed else
            "no known-divergence entry looks fixed")
    return head + (f"; {rest} other unmatched entr{'y' if rest == 1 else 'ies'} ran too few examples to tell"
                   if rest else "")
