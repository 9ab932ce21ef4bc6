"""Tensor printing that matches torch's ``repr``/``str`` character for character.

The rules below were worked out by printing many tensors with torch and reading what came out:

* Every float tensor is printed in one of three styles chosen from its *nonzero finite* values:
  ``int`` (``1.``) when they are all whole numbers, ``fixed`` (``0.0592``) otherwise, and ``sci``
  (``5.1200e+01``) when the largest is over 1e8, the largest/smallest ratio is over 1000, or (for
  non-whole values) the smallest is under 1e-4. ``sci_mode`` overrides that choice.
* All items are right-aligned to one width, again measured on nonzero finite values only, so zeros,
  nan and inf may stick out (``tensor([1., nan])``).
* Tensors with more than ``threshold`` elements are summarized to ``edgeitems`` per end of every long
  dimension, and the style and width are then chosen from the visible values alone.
* Rows wrap at ``linewidth``; trailing ``size=``/``dtype=``/caller suffixes wrap onto a line indented
  under the opening parenthesis.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from . import dtypes

__all__ = ["format_tensor", "get_printoptions", "set_printoptions"]

_PREFIX = "tensor("
_SUFFIX_INDENT = len(_PREFIX)  # wrapped suffixes line up just inside "tensor("


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_PROFILES = {
    "default": _PrintOptions(),
    "short": _PrintOptions(precision=2, edgeitems=2),
    "full": _PrintOptions(threshold=math.inf),
}
_options = _PrintOptions()


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None,
                     sci_mode: bool | None = None) -> None:
    """torch.set_printoptions: a known profile is applied first, then each option that was given.

    As in torch, ``sci_mode`` is always assigned (leaving it out resets it to automatic), and an
    unknown profile name is ignored.
    """
    if profile in _PROFILES:
        base = _PROFILES[profile]
        _options.precision, _options.threshold = base.precision, base.threshold
        _options.edgeitems, _options.linewidth = base.edgeitems, base.linewidth
    if precision is not None:
        _options.precision = precision
    if threshold is not None:
        _options.threshold = threshold
    if edgeitems is not None:
        _options.edgeitems = edgeitems
    if linewidth is not None:
        _options.linewidth = linewidth
    _options.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options, keyed as torch's ``torch._tensor_str.get_printoptions()``."""
    return dataclasses.asdict(_options)


class _Formatter:
    """Turns one element into its padded text; built once per tensor from the values that will show."""

    def __init__(self, shown: np.ndarray, dtype: dtypes.dtype):
        self.kind = "float" if dtype.is_floating_point else ("bool" if dtype.name == "bool" else "int")
        self.style = "int"
        self.width = 1  # an all-zero/nonfinite float tensor still packs lines as if items were 1 wide
        if self.kind == "float":
            self._choose_float_style(shown.astype(np.float64).ravel())
        elif shown.size:
            self.width = max(len(self._raw(v)) for v in shown.ravel().tolist())

    def _choose_float_style(self, flat: np.ndarray) -> None:
        # zeros and nan/inf neither pick the style nor widen the columns
        nonzero = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero.size == 0:
            return
        whole = bool(np.all(nonzero == np.ceil(nonzero)))
        magnitudes = np.abs(nonzero)
        smallest, largest = float(magnitudes.min()), float(magnitudes.max())
        sci = largest / smallest > 1000.0 or largest > 1.0e8 or (not whole and smallest < 1.0e-4)
        if _options.sci_mode is not None:
            sci = _options.sci_mode
        self.style = "sci" if sci else ("int" if whole else "fixed")
        self.width = max(len(self._raw(v)) for v in nonzero.tolist())

    def _raw(self, value) -> str:
        """The unpadded text of one element."""
        if self.kind == "bool":
            return "True" if value else "False"
        if self.kind == "int":
            return str(int(value))
        value = float(value)
        if self.style == "sci":
            return f"{value:.{_options.precision}e}"
        if self.style == "fixed":
            return f"{value:.{_options.precision}f}"
        return f"{value:.0f}." if math.isfinite(value) else f"{value}"

    def __call__(self, value) -> str:
        return self._raw(value).rjust(self.width)


class _ComplexFormatter:
    """torch formats the real and imaginary parts with a formatter each (style and width from that part alone);
    the imaginary text loses its padding, gains ``j`` and a ``+`` unless it carries its own sign."""

    def __init__(self, shown: np.ndarray, dtype: dtypes.dtype):
        part = dtype.to_real()
        self.real, self.imag = _Formatter(shown.real, part), _Formatter(shown.imag, part)
        self.width = self.real.width + self.imag.width + 1

    def __call__(self, value) -> str:
        value = complex(value)
        imag = (self.imag(value.imag) + "j").lstrip()
        return self.real(value.real) + (imag if imag[0] in "+-" else "+" + imag)


def _kept_ends(length: int, summarize: bool) -> tuple[range, range] | None:
    """(head, tail) indices kept around an ellipsis when this dimension is summarized, else None."""
    edge = _options.edgeitems
    if summarize and length > 2 * edge:
        return range(edge), range(length - edge, length)
    return None


def _visible_values(values: np.ndarray, summarize: bool) -> np.ndarray:
    # the formatter must only see what is printed, so summarized-away values cannot widen columns
    if values.ndim == 0 or not summarize:
        return values
    kept = []
    for length in values.shape:
        ends = _kept_ends(length, summarize)
        kept.append(np.arange(length) if ends is None else np.array([*ends[0], *ends[1]], dtype=np.intp))
    return values[np.ix_(*kept)]


def _format_row(row: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    """A 1-d array as ``[a, b, ...]``, wrapped so each line fits the line width."""
    ends = _kept_ends(len(row), summarize)
    if ends is None:
        items = [fmt(v) for v in row.tolist()]
    else:
        head, tail = ends
        items = [fmt(row[i]) for i in head] + [" ..."] + [fmt(row[i]) for i in tail]
    per_line = max(1, (_options.linewidth - indent) // (fmt.width + 2))
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _format_body(values: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    """Nested brackets: sub-blocks of a k-d array are separated by k-1 newlines and aligned under '['."""
    if values.ndim == 0:
        return fmt(values.item())
    if values.ndim == 1:
        return _format_row(values, fmt, indent, summarize)
    ends = _kept_ends(values.shape[0], summarize)
    indices = [*range(values.shape[0])] if ends is None else [*ends[0], None, *ends[1]]
    blocks = ["..." if i is None else _format_body(values[i], fmt, indent + 1, summarize) for i in indices]
    separator = "," + "\n" * (values.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(blocks) + "]"


def _metadata_suffixes(values: np.ndarray, dtype: dtypes.dtype) -> list[str]:
    """The ``size=`` and ``dtype=`` items torch adds after the values, in its order."""
    suffixes = []
    empty = values.size == 0
    # torch shows the shape when it cannot be read from the brackets: empty n-d tensors, and every
    # non-empty tensor when edgeitems is 0 (nothing is printed)
    if (empty and values.shape != (0,)) or (not empty and _options.edgeitems <= 0):
        suffixes.append(f"size={tuple(values.shape)}")
    implied = (dtypes.get_default_dtype(),) if empty else (
        dtypes.get_default_dtype(), dtypes.get_default_complex_dtype(), dtypes.int64, dtypes.bool)
    if dtype not in implied:
        suffixes.append(f"dtype={dtype!r}")
    return suffixes


def _append_suffixes(text: str, suffixes: Sequence[str]) -> str:
    """Adds ``, item`` pieces, moving one to a fresh indented line when it would pass the line width."""
    # torch budgets two columns more than the last line holds until the first wrap
    used = len(text.rsplit("\n", 1)[-1]) + 2
    for suffix in suffixes:
        if used + 2 + len(suffix) > _options.linewidth:
            text += ",\n" + " " * _SUFFIX_INDENT + suffix
            used = _SUFFIX_INDENT + len(suffix)
        else:
            text += ", " + suffix
            used += 2 + len(suffix)
    return text + ")"


def format_tensor(values: np.ndarray, dtype: dtypes.dtype, suffixes: Sequence[str] = ()) -> str:
    """What ``repr(tensor)`` prints for a CPU tensor of ``dtype`` holding ``values``.

    ``suffixes`` are pre-formatted items such as ``"requires_grad=True"`` or ``"grad_fn=<AddBackward0>"``;
    they follow the ``size=``/``dtype=`` items.
    """
    values = np.asarray(values, dtype=dtype.numpy)
    if values.size == 0:
        body = "[]"
    else:
        summarize = values.size > _options.threshold
        if summarize and _options.edgeitems <= 0 and values.ndim > 0:
            body = "[...]"  # nothing survives summarizing, and torch skips the lone ellipsis' padding
        else:
            formatter = _ComplexFormatter if dtype.is_complex else _Formatter
            fmt = formatter(_visible_values(values, summarize), dtype)
            body = _format_body(values, fmt, _SUFFIX_INDENT, summarize)
    return _append_suffixes(_PREFIX + body, [*_metadata_suffixes(values, dtype), *suffixes])
