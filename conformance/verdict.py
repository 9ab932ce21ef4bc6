"""Comparing two outcomes of a program (reference torch vs the engine) into a list of mismatches.

Self-contained like :mod:`conformance.programs` (only ``np``, ``re`` and builtins): reproducers paste it.
Values compare like torch.testing.assert_close (|engine - reference| <= atol + rtol * |reference|, NaN equal to
NaN, infinities by sign), integers and booleans exactly, every other observable by equality. Exceptions compare
by status (both raise or neither, at the same step), by nearest builtin type, and for autograd's own errors by
message (regex on the stable prefix; captured groups, e.g. an index or shape, must agree too).
"""
import re

import numpy as np


def autograd_message_patterns():
    """Regexes for the messages of autograd's own errors (torch 2.13/2.14: identical texts)."""
    return [
        r"Trying to backward through the graph a second time",
        r"grad can be implicitly created only for (real )?scalar outputs",
        r"element (\d+) of tensors does not require grad and does not have a grad_fn",
        r"a leaf Variable that requires grad is being used in an in-place operation",
        r"a view of a leaf Variable that requires grad is being used in an in-place operation",
        r"one of the variables needed for gradient computation has been modified by an inplace operation: "
        r"\[(\S+) \[([\d, ]*)\]\](?:, which is output (\d+) of ([^,]+),)? is at version (\d+); "
        r"expected version (\d+) instead",
        r"The differentiated Tensor at index (\d+) appears to not have been used in the graph",
        r"One of the differentiated Tensors appears to not have been used in the graph",
        r"One of the differentiated Tensors does not require grad",
        r"Mismatch in shape: grad_output\[(\d+)\] has a shape of torch\.Size\((\[[\d, ]*\])\) and "
        r"output\[(\d+)\] has a shape of torch\.Size\((\[[\d, ]*\])\)",
        r"Only Tensors of floating point and complex dtype can require gradients",
        r"you can only change requires_grad flags of leaf variables",
        r"Inference tensors cannot be saved for backward",
        r"Inplace update to inference tensor outside InferenceMode is not allowed",
        r"can't retain_grad on Tensor that has requires_grad=False",
        r"cannot register a hook on a tensor that doesn't require gradient",
        r"Can't call numpy\(\) on Tensor that requires grad",
        r"Can't detach views in-place",
    ]


def short(value, limit=2000):
    """A bounded-length text form of an observable."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=64, precision=17, separator=", ")
        text = value.dtype.name + " " + text
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def close_elements(ref, got, rtol, atol, ntol=0.0):
    """Elementwise closeness of two float64 or complex128 arrays of one shape: (close, abs_err, rel_err, finite).
    Finite pairs: |got - ref| <= atol + ntol * max|ref| + rtol * |ref| (complex: the modulus of the difference, as
    torch.testing.assert_close); NaN equal to NaN (complex: NaN when either part is); infinities compare exactly."""
    same_nan = np.isnan(ref) == np.isnan(got)
    finite = np.isfinite(ref) & np.isfinite(got)
    same_inf = np.where(~finite & ~np.isnan(ref) & ~np.isnan(got), ref == got, True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        abs_err = np.where(finite, np.abs(got - ref), 0.0)
        rel_err = np.where(finite & (ref != 0), abs_err / np.abs(ref), np.where(abs_err > 0, np.inf, 0.0))
        scale = float(np.abs(ref[finite]).max()) if ntol and finite.any() else 0.0
        close = abs_err <= atol + ntol * scale + rtol * np.where(finite, np.abs(ref), 0.0)
    return same_nan & same_inf & close, abs_err, rel_err, finite


def compare_arrays(reference, candidate, rtol, atol, ntol=0.0):
    """None if the arrays agree, else (max_abs_err, max_rel_err) over the finite pairs (NaN if none). ``ntol``
    adds a tolerance relative to the array's norm (its largest finite |reference|): for results whose entries
    come from one computation whose rounding scales with the largest of them (an eigensolver's outputs).
    Complex values compare by the modulus of the difference (:func:`close_elements`); a value with a NaN part is
    NaN, and one with an infinite part compares part by part, so that 1.5+infj and 1.5000001+infj agree."""
    if reference.shape != candidate.shape:
        return (float("nan"), float("nan"))
    if reference.dtype.kind in "biu" and candidate.dtype.kind in "biu":
        rtol = atol = ntol = 0.0  # integers and bools compare exactly
    complex_ = reference.dtype.kind == "c" or candidate.dtype.kind == "c"
    ref = reference.astype(np.complex128 if complex_ else np.float64)
    got = candidate.astype(np.complex128 if complex_ else np.float64)
    close, abs_err, rel_err, finite = close_elements(ref, got, rtol, atol, ntol)
    if complex_ and not finite.all():
        parts = close_elements(np.stack([ref.real, ref.imag], axis=-1), np.stack([got.real, got.imag], axis=-1),
                               rtol, atol, ntol)[0].all(axis=-1)
        nan_ref, nan_got = np.isnan(ref), np.isnan(got)  # a NaN part makes a complex NaN
        close = np.where(finite, close, np.where(nan_ref | nan_got, nan_ref & nan_got, parts))
    if bool(np.all(close)):
        return None
    max_abs = float(abs_err.max()) if abs_err.size and finite.any() else float("nan")
    max_rel = float(rel_err.max()) if rel_err.size and finite.any() else float("nan")
    return (max_abs, max_rel)


def compare_errors(reference, candidate):
    """A mismatch dict when the two errors (each None or an ``execute`` error dict) disagree, else None."""
    def describe(error):
        return "no exception" if error is None else error["type"] + ": " + error["message"]

    mismatch = {"key": "exception", "reference": describe(reference), "engine": describe(candidate)}
    if reference is None and candidate is None:
        return None
    if reference is None or candidate is None or reference["step"] != candidate["step"]:
        return dict(mismatch, kind="status")
    if reference["base"] != candidate["base"]:
        return dict(mismatch, kind="exception_type")
    for pattern in autograd_message_patterns():
        expected = re.match(pattern, reference["message"])
        if expected:
            got = re.match(pattern, candidate["message"])
            if got is None or got.groups() != expected.groups():
                return dict(mismatch, kind="message", pattern=pattern)
            break
    return None


def compare_outcomes(reference, candidate, tolerances):
    """Every disagreement between two ``execute`` outcomes, as dicts with key, kind, reference, engine and,
    for values, max_abs_err, max_rel_err, rtol, atol. ``tolerances`` maps dtype names to (rtol, atol) or
    (rtol, atol, ntol), ntol relative to the compared array's norm (:func:`compare_arrays`)."""
    mismatches = []
    error = compare_errors(reference["error"], candidate["error"])
    if error is not None:
        mismatches.append(error)
    ref_obs, got_obs = reference["obs"], candidate["obs"]
    for key in list(ref_obs) + [k for k in got_obs if k not in ref_obs]:
        if key not in ref_obs or key not in got_obs:
            if error is None or error["kind"] != "status":
                mismatches.append({"key": key, "kind": "missing", "reference": short(ref_obs.get(key, "<absent>")),
                                   "engine": short(got_obs.get(key, "<absent>"))})
            continue
        ref, got = ref_obs[key], got_obs[key]
        if isinstance(ref, np.ndarray) and isinstance(got, np.ndarray):
            rtol, atol, *norm = tolerances.get(ref.dtype.name, (0.0, 0.0))
            errors = compare_arrays(ref, got, rtol, atol, *norm)
            if errors is not None:
                mismatches.append({"key": key, "kind": "value", "reference": short(ref), "engine": short(got),
                                   "max_abs_err": errors[0], "max_rel_err": errors[1], "rtol": rtol, "atol": atol})
        elif isinstance(ref, np.ndarray) or isinstance(got, np.ndarray) or ref != got:
            kind = key.rsplit(".", 1)[-1] if "." in key else "metadata"
            mismatches.append({"key": key, "kind": kind, "reference": short(ref), "engine": short(got)})
    return mismatches
