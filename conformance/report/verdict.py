"""A third, numerical opinion on each divergence: who is right, the engine or torch?

Verdicts (:data:`VERDICTS`):

``error-parity``  the sides disagree about raising (record kind status / exception_type / message).
``engine-wrong``  the engine disagrees with the mathematics while torch agrees, or the mismatch is about
                  something only torch's API defines (dtype, shape, requires_grad, grad_fn, is_leaf, missing
                  observables; every errors/graph_state mismatch that is not about exceptions); also the
                  default when the numbers cannot tell the sides apart but they differ beyond noise.
``torch-wrong``   torch disagrees with the mathematics while the engine agrees (linalg.det of a singular
                  matrix, NaN leaking through ``where``...).
``undefined``     the function itself is undefined at the point: torch's forward is NaN there (0/0, outside the
                  op's domain) although every floating input is finite. No side is wrong; torch's NaN is the
                  behaviour an engine promising torch's should reproduce (was reported as torch-wrong before).
``convention``    a non-differentiable point (kink, discontinuity, edge of the domain) where both answers are
                  defensible (e.g. inside the one-sided derivatives), or a gradient at a NaN/inf input
                  (autograd's rule 5: arbitrary).
``tolerance``     numerical noise: both sides agree with the numerical answer and with each other under the
                  loose tolerance :data:`LOOSE`.
``undecided``     the example could not be replayed (unknown op, engine not importable, timeout).

How value divergences of forward / vjp / double_backward are judged (all in float64):

* vjp: for the recorded cotangent ``w`` and two random ones, and a random direction ``u`` over every input
  requiring grad, each side's ``<vjp(w), u>`` is compared with the central difference
  ``<w, (f(x + eps u) - f(x - eps u)) / 2 eps>`` of that side's own forward (dot-product test).
* double_backward: the same test on ``(x, v) -> vjp(x, v)`` (the first-order gradient built with
  create_graph=True) with the recorded second cotangent and random ones.
* kinks (∇Fuzz's filter): the one-sided differences at the point disagree, or at one of a few neighbours
  within ±1e-4 the values or the numerical directional derivatives jump. At a kink a side is defensible when
  its ``<vjp, u>`` lies between the two one-sided derivatives.
* forward: the float64 values of both sides plus continuity at the point; a side whose value at the point
  jumps away from its own neighbours while the other side's does not is the wrong one.
* complex inputs and outputs are replayed in complex128 and perturbed in both parts; inner products are
  Re(sum(conj(a) b)), torch's convention (its gradient g of a real loss gives dL = Re(sum(conj(g) dz))).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from conformance import programs
from conformance.report.load import parse_literal

__all__ = ["Verdict", "VERDICTS", "LOOSE", "judge", "Example", "example_from_record", "PROGRAMS"]

VERDICTS = ("engine-wrong", "torch-wrong", "undefined", "convention", "tolerance", "error-parity", "undecided")
#: Loose (rtol, atol) per dtype for the ``tolerance`` verdict: about 100x assert_close's defaults.
LOOSE = {"float64": (1e-5, 1e-5), "float32": (1e-4, 1e-3), "float16": (1e-1, 1e-3), "bfloat16": (1.0, 1e-3)}
PROGRAMS: dict[str, Callable] = {"forward": programs.program_forward, "vjp": programs.program_vjp,
                                 "double_backward": programs.program_double_backward,
                                 "errors": programs.program_errors}
ERROR_KINDS = ("status", "exception_type", "message")
NUMERIC_PROPERTIES = ("forward", "vjp", "double_backward")
RADIUS = 1e-4  # neighbourhood of the kink test (∇Fuzz)
NEIGHBOURS = 4
TRIALS = 3  # the recorded cotangent, then random ones


@dataclass
class Verdict:
    """The verdict on one divergence, with the evidence behind it."""

    verdict: str
    reason: str
    reproduced: bool | None = None  # the replay still diverges (None: not replayed)
    kink: bool | None = None
    numeric: float | None = None  # <w, J u> by central differences (recorded cotangent, torch's forward)
    torch_dot: float | None = None  # torch's <vjp(w), u>
    engine_dot: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for DataFrames and JSON."""
        return asdict(self)


@dataclass
class Example:
    """What replaying one record needs."""

    prop: str
    fn: Callable
    inputs: list
    kwargs: dict
    extra: dict
    tolerances: dict


def example_from_record(record: dict[str, Any]) -> Example:
    """The example of a divergence record: data from the record, ``fn`` and tolerances from the spec found by
    op name (:func:`conformance.specs.get_spec`), else ``fn`` and tolerances from the record's snippet.
    KeyError when neither gives the op's function."""
    inputs, kwargs, extra = (parse_literal(record.get(name)) for name in ("inputs", "kwargs", "extra"))
    try:
        from conformance.harness import tolerances
        from conformance.specs import get_spec

        spec = get_spec(record["op"])
        fn, tol = spec.fn, tolerances(spec)
    except (KeyError, ImportError):
        fn, tol = _from_snippet(record.get("snippet") or "")
    if record.get("rtol") is not None and record.get("atol") is not None and record.get("dtype"):
        tol = dict(tol, **{record["dtype"]: (float(record["rtol"]), float(record["atol"]))})  # as recorded
    return Example(record["property"], fn, inputs or [], kwargs or {}, extra or {}, tol)


def _from_snippet(snippet: str) -> tuple[Callable, dict]:
    head = snippet.split("\nreference = execute(", 1)[0]
    namespace: dict[str, Any] = {}
    if "\nfn = " not in head:
        raise KeyError("the record has no spec and no usable snippet")
    exec(compile(head, "<snippet>", "exec"), namespace)  # noqa: S102 - our own generated reproducer
    if not callable(namespace.get("fn")):
        raise KeyError("the snippet defines no fn")
    return namespace["fn"], namespace.get("tolerances", {})


def judge(record: dict[str, Any], engine: Any = None, reference: Any = None, seed: int = 0) -> Verdict:
    """The verdict on one divergence record (see the module docstring for the rules).

    ``engine`` defaults to the module named by the record (:func:`conformance.engines.load_engine`),
    ``reference`` to torch. Never raises for a bad record: it returns an ``undecided`` verdict instead."""
    prop, kind = record.get("property"), record.get("kind")
    if kind in ERROR_KINDS:
        return Verdict("error-parity", f"exceptions differ ({kind}): torch {_clip(record.get('reference_outcome'))}"
                                       f" | engine {_clip(record.get('engine_outcome'))}")
    if prop not in NUMERIC_PROPERTIES:
        return Verdict("engine-wrong", f"{prop} observable {record.get('key')} ({kind}) is defined by torch's "
                                       "behaviour; no numerical opinion applies")
    if kind != "value":
        return Verdict("engine-wrong", f"{record.get('key')} ({kind}) is API metadata defined by torch; "
                                       "no numerical opinion applies")
    try:
        example = example_from_record(record)
        if engine is None:
            from conformance.engines import load_engine

            engine = load_engine(record.get("engine") or None).module
        if reference is None:
            import torch as reference
    except Exception as error:  # noqa: BLE001 - any failure to set up the replay is reported, not raised
        return Verdict("undecided", f"cannot replay: {type(error).__name__}: {error}")
    from conformance.harness import ExampleTimeout, time_limit

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            with time_limit(60.0):
                return _judge_values(example, record, engine, reference, np.random.default_rng(seed))
        except ExampleTimeout as error:
            return Verdict("undecided", str(error))
        except Exception as error:  # noqa: BLE001
            return Verdict("undecided", f"replay failed: {type(error).__name__}: {error}")


def _clip(text: Any, limit: int = 120) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


# ---- replay at the recorded dtype -------------------------------------------------------------------------

def _replay(example: Example, engine: Any, reference: Any) -> tuple[dict, dict]:
    program = PROGRAMS[example.prop]
    args = (program, example.fn, example.inputs, example.kwargs, example.extra)
    return programs.execute(reference, *args), programs.execute(engine, *args)


def _nonfinite_side(reference: dict, candidate: dict) -> str | None:
    """The side whose values are NaN/inf where the other side's are finite (None if both or neither)."""
    sides = set()
    for key, ref in reference["obs"].items():
        got = candidate["obs"].get(key)
        if not (isinstance(ref, np.ndarray) and isinstance(got, np.ndarray) and ref.shape == got.shape):
            continue
        if ref.dtype.kind not in "fc" or got.dtype.kind not in "fc":
            continue
        if np.any(~np.isfinite(ref) & np.isfinite(got)):
            sides.add("torch")
        if np.any(np.isfinite(ref) & ~np.isfinite(got)):
            sides.add("engine")
    return sides.pop() if len(sides) == 1 else None


# ---- float64 numerics ------------------------------------------------------------------------------------

def _is_float_tensor(item: Any) -> bool:
    """A real or complex floating tensor input: what the numerics perturb (complex ones in both parts)."""
    return isinstance(item, dict) and item.get("kind") == "tensor" and str(item["dtype"]).startswith(
        ("float", "complex"))


def _array(item: dict) -> np.ndarray:
    """The item's values in double precision: float64, or complex128 for a complex tensor."""
    dtype = np.complex128 if str(item.get("dtype", "")).startswith("complex") else np.float64
    return np.asarray(item["data"], dtype=dtype).reshape(item["shape"])


def _item(array: np.ndarray, requires_grad: bool) -> dict:
    return {"kind": "tensor", "data": array.tolist(), "shape": list(array.shape),
            "dtype": "complex128" if array.dtype.kind == "c" else "float64", "requires_grad": requires_grad}


def _like(array: np.ndarray, draw: Callable[[tuple], np.ndarray]) -> np.ndarray:
    """A random array of ``array``'s shape, complex (both parts drawn) where ``array`` is complex."""
    if array.dtype.kind == "c":
        return draw(array.shape) + 1j * draw(array.shape)
    return draw(array.shape)


def _inner(a: np.ndarray, b: np.ndarray) -> float:
    """The real inner product Re(sum(conj(a) b)): for complex values torch's gradient g of a real loss L gives
    dL = Re(sum(conj(g) dz)), and a cotangent w on an output F stands for L = Re(sum(conj(w) F))."""
    return float(np.sum(np.real(np.conj(a) * b)))


class _Problem:
    """A function of float64 leaf arrays with cotangents on its outputs: the op (vjp) or its first-order
    gradient (double_backward), evaluated on one module."""

    def __init__(self, example: Example) -> None:
        self.example = example
        items = example.inputs
        self.wrt = [i for i, item in enumerate(items) if _is_float_tensor(item) and item["requires_grad"]]
        if example.prop == "vjp":
            self.first = [None if c is None else _array(c) for c in example.extra["cotangents"]]
            self.cotangents = self.first
            self.point = [_array(items[i]) for i in self.wrt]
        else:
            self.first = [None if c is None else _array(c) for c in example.extra["cotangents"]]
            self.cotangents = [_array(c) for c in example.extra["second_cotangents"]]
            self.point = [_array(items[i]) for i in self.wrt] + [c for c in self.first if c is not None]

    def random_cotangents(self, rng: np.random.Generator) -> list:
        return [None if c is None else _like(c, rng.standard_normal) for c in self.cotangents]

    def build(self, t: Any, point: list[np.ndarray], cotangents: list) -> tuple[list, list, list]:
        """(leaf tensors, output tensors, their cotangent arrays) at ``point``."""
        example = self.example
        inputs = [programs.make_input(t, item) if not _is_float_tensor(item) else None for item in example.inputs]
        for position, item in enumerate(example.inputs):
            if _is_float_tensor(item):
                array = point[self.wrt.index(position)] if position in self.wrt else _array(item)
                inputs[position] = programs.make_input(t, _item(array, position in self.wrt))
        leaves = [inputs[i] for i in self.wrt]
        outs = programs.flatten_outputs(t, example.fn(t, *inputs, **example.kwargs))
        if example.prop == "vjp":
            pairs = [(o, c) for o, c in zip(outs, cotangents) if c is not None]
            return leaves, [o for o, _ in pairs], [c for _, c in pairs]
        selected = [o for o, c in zip(outs, self.first) if c is not None]
        firsts = [programs.make_input(t, _item(a, True)) for a in point[len(self.wrt):]]
        grads = t.autograd.grad(selected, leaves, grad_outputs=firsts, create_graph=True, allow_unused=True)
        pairs = [(g, c) for g, c in zip(grads, cotangents) if g is not None and g.requires_grad]
        return leaves + firsts, [g for g, _ in pairs], [c for _, c in pairs]

    def phi(self, t: Any, point: list[np.ndarray], cotangents: list) -> float:
        """<w, F(point)> (:func:`_inner`)."""
        _, outs, ws = self.build(t, point, cotangents)
        return float(sum(_inner(w, _numpy(o)) for o, w in zip(outs, ws)))

    def analytic(self, t: Any, cotangents: list, directions: list[np.ndarray]) -> list[float]:
        """<vjp(w)_j, u_j> for every leaf j, from the module's autograd (None gradients count as 0)."""
        leaves, outs, ws = self.build(t, self.point, cotangents)
        if not outs:
            return [0.0] * len(leaves)
        grads = t.autograd.grad(outs, leaves, grad_outputs=[programs.make_input(t, _item(w, False)) for w in ws],
                                allow_unused=True)
        return [0.0 if g is None else _inner(_numpy(g), u) for g, u in zip(grads, directions)]


def _numpy(tensor: Any) -> np.ndarray:
    """A tensor's values as float64, or complex128 for a complex tensor (conjugate and negative bits resolved)."""
    for resolve in ("resolve_conj", "resolve_neg"):
        if hasattr(tensor, resolve):
            tensor = getattr(tensor, resolve)()
    array = np.asarray(tensor.detach().numpy())
    return array.astype(np.complex128 if array.dtype.kind == "c" else np.float64)


def _along(point: list[np.ndarray], leaf: int, direction: np.ndarray, step: float) -> list[np.ndarray]:
    return [p + step * direction if j == leaf else p for j, p in enumerate(point)]


def _derivatives(problem: _Problem, t: Any, point: list, cotangents: list, leaf: int, direction: np.ndarray,
                 eps: float) -> tuple[float, float, float]:
    """(central, left, right) differences of s -> <w, F(point + s u_leaf)> at 0."""
    here = problem.phi(t, point, cotangents)
    plus = problem.phi(t, _along(point, leaf, direction, eps), cotangents)
    minus = problem.phi(t, _along(point, leaf, direction, -eps), cotangents)
    return (plus - minus) / (2 * eps), (here - minus) / eps, (plus - here) / eps


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b or (math.isnan(a) and math.isnan(b))
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def _kink(problem: _Problem, t: Any, cotangents: list, leaf: int, direction: np.ndarray, eps: float,
          slopes: tuple[float, float, float], rng: np.random.Generator) -> bool:
    """One-sided differences disagree, or values/derivatives jump at a neighbour within ±RADIUS (∇Fuzz)."""
    central, left, right = slopes
    scale = 1.0 + abs(central)
    if not _close(left, right, 1e-3, 1e-4 * scale):
        return True
    base_values = [_numpy(o) for o in problem.build(t, problem.point, cotangents)[1]]
    for _ in range(NEIGHBOURS):
        near = [p + _like(p, lambda shape: rng.uniform(-RADIUS, RADIUS, shape)) for p in problem.point]
        values = [_numpy(o) for o in problem.build(t, near, cotangents)[1]]
        if len(values) != len(base_values) or not all(
                v.shape == b.shape and np.allclose(v, b, rtol=1e-3, atol=1e-1, equal_nan=True)
                for v, b in zip(values, base_values)):
            return True
        slope = _derivatives(problem, t, near, cotangents, leaf, direction, eps)[0]
        if not _close(slope, central, 1e-3, 1e-2 * scale):
            return True
    return False


def _defensible(dot: float, slopes: tuple[float, float, float], kink: bool) -> bool:
    """A side's <vjp, u> is right: close to the central difference, or at a kink between the one-sided ones
    (any value at an edge of the domain, where a one-sided difference is not finite)."""
    central, left, right = slopes
    if not kink:
        return math.isfinite(dot) and _close(dot, central, 1e-4, 1e-6 * (1.0 + abs(central)))
    if not (math.isfinite(left) and math.isfinite(right)):
        return True
    low, high = min(left, right), max(left, right)
    margin = 1e-4 * (1.0 + abs(low) + abs(high))
    return math.isfinite(dot) and low - margin <= dot <= high + margin


def _judge_values(example: Example, record: dict, engine: Any, reference: Any,
                  rng: np.random.Generator) -> Verdict:
    from conformance.harness import widened
    from conformance.verdict import compare_outcomes

    ref_outcome, engine_outcome = _replay(example, engine, reference)
    tolerances = widened(example.tolerances, ref_outcome, example.extra)  # as the run compared (computing dtype)
    reproduced = bool(compare_outcomes(ref_outcome, engine_outcome, tolerances))
    if not reproduced:
        return Verdict("undecided", "the replay no longer diverges (fixed since the run, or the divergence depends "
                                    "on state the record does not hold)", reproduced)
    loose_close = not compare_outcomes(ref_outcome, engine_outcome, tolerances | LOOSE)
    undefined = _undefined_at_point(example, reference)
    if undefined:
        return Verdict("undefined", undefined, reproduced)
    if example.prop == "forward":
        return _judge_forward(example, engine, reference, rng, reproduced, loose_close)
    problem = _Problem(example)
    if any(not np.all(np.isfinite(p)) for p in problem.point):
        return Verdict("convention", "a differentiated input is NaN/inf: the gradient there is arbitrary "
                                     "(autograd rule 5)", reproduced)
    eps = 1e-6 * max([1.0] + [float(np.max(np.abs(p))) for p in problem.point if p.size])
    directions = [_like(p, rng.standard_normal) for p in problem.point]
    ok = {"torch": True, "engine": True}
    kink, evidence_dots, judged = False, None, 0
    for trial in range(TRIALS):
        cotangents = problem.cotangents if trial == 0 else problem.random_cotangents(rng)
        dots = {"torch": problem.analytic(reference, cotangents, directions),
                "engine": problem.analytic(engine, cotangents, directions)}
        for leaf, direction in enumerate(directions):
            torch_dot, engine_dot = dots["torch"][leaf], dots["engine"][leaf]
            if _close(torch_dot, engine_dot, 1e-12, 1e-15):
                continue  # the sides agree on this input: it cannot tell them apart
            judged += 1
            slopes = {"torch": _derivatives(problem, reference, problem.point, cotangents, leaf, direction, eps),
                      "engine": _derivatives(problem, engine, problem.point, cotangents, leaf, direction, eps)}
            here_kink = _kink(problem, reference, cotangents, leaf, direction, eps, slopes["torch"], rng)
            kink = kink or here_kink
            if evidence_dots is None:
                evidence_dots = (slopes["torch"][0], torch_dot, engine_dot)
            for side in ok:
                ok[side] = ok[side] and _defensible(dots[side][leaf], slopes[side], here_kink)
    numeric, torch_dot, engine_dot = evidence_dots or (None, None, None)
    evidence = dict(reproduced=reproduced, kink=kink, numeric=numeric, torch_dot=torch_dot, engine_dot=engine_dot)
    what = "second-order gradient" if example.prop == "double_backward" else "gradient"
    if not judged:
        if loose_close:
            return Verdict("tolerance", f"the float64 {what}s agree; the difference is numerical noise", **evidence)
        return _precision_verdict(what, record, ref_outcome, engine_outcome, evidence)
    if ok["torch"] and ok["engine"]:
        if loose_close:
            return Verdict("tolerance", f"both {what}s match float64 central differences and each other within "
                                        "the loose tolerance: numerical noise", **evidence)
        if kink:
            return Verdict("convention", f"non-differentiable point: both {what}s lie between the one-sided "
                                         "derivatives", **evidence)
        return _precision_verdict(what, record, ref_outcome, engine_outcome, evidence)
    at_kink = " (outside the one-sided derivatives at a kink)" if kink else ""
    if ok["torch"]:
        return Verdict("engine-wrong", f"the engine's {what} disagrees with float64 central differences{at_kink}; "
                                       "torch's agrees", **evidence)
    if ok["engine"]:
        return Verdict("torch-wrong", f"torch's {what} disagrees with float64 central differences{at_kink}; the "
                                      "engine's agrees", **evidence)
    return Verdict("engine-wrong", f"neither {what} matches float64 central differences; torch is the reference",
                   **evidence)


def _undefined_at_point(example: Example, reference: Any) -> str | None:
    """Why the function is undefined at the recorded point (torch's forward there is NaN while every floating
    input is finite), or None. Evaluated at the recorded dtypes, as the run computed."""
    items = example.inputs
    if any(_is_float_tensor(item) and not np.all(np.isfinite(_array(item))) for item in items):
        return None  # NaN/inf inputs have their own rules (autograd rule 5, forward continuity)
    try:
        inputs = [programs.make_input(reference, item) for item in items]
        outs = programs.flatten_outputs(reference, example.fn(reference, *inputs, **example.kwargs))
        values = [_numpy(o) for o in outs if isinstance(o, reference.Tensor)
                  and (o.dtype.is_floating_point or o.dtype.is_complex)]
    except Exception:  # noqa: BLE001 - a forward that raises is judged elsewhere
        return None
    if not any(np.any(np.isnan(v)) for v in values):
        return None
    return ("torch's forward is NaN at this point with finite inputs (0/0 or outside the op's domain): the "
            "function and its derivatives are undefined here, so neither side is numerically wrong; torch's "
            "NaN is the reference behaviour")


def _precision_verdict(what: str, record: dict, ref_outcome: dict, engine_outcome: dict,
                       evidence: dict) -> Verdict:
    """Both sides are right in float64 but differ at the recorded dtype: a side that overflows/underflows to
    NaN/inf where the other stays finite is wrong; otherwise torch is the reference."""
    dtype = record.get("dtype")
    side = _nonfinite_side(ref_outcome, engine_outcome)
    if side == "torch":
        return Verdict("torch-wrong", f"both {what}s match float64 numerics; at {dtype} torch's is NaN/inf where "
                                      "the engine's is finite", **evidence)
    if side == "engine":
        return Verdict("engine-wrong", f"both {what}s match float64 numerics; at {dtype} the engine's is NaN/inf "
                                       "where torch's is finite", **evidence)
    return Verdict("engine-wrong", f"both {what}s match float64 numerics, but at {dtype} they differ beyond the "
                                   "loose tolerance; torch is the reference", **evidence)


def _judge_forward(example: Example, engine: Any, reference: Any, rng: np.random.Generator, reproduced: bool,
                   loose_close: bool) -> Verdict:
    if loose_close:
        return Verdict("tolerance", "the outputs agree within the loose tolerance: numerical noise", reproduced)
    floating = [i for i, item in enumerate(example.inputs) if _is_float_tensor(item)]
    base = {i: _array(example.inputs[i]) for i in floating}
    if not floating or any(not np.all(np.isfinite(a)) for a in base.values()):
        return Verdict("engine-wrong", "no numerical opinion (no finite floating input); torch's forward is the "
                                       "reference", reproduced)

    def outputs(t: Any, arrays: dict[int, np.ndarray]) -> list[np.ndarray]:
        inputs = [programs.make_input(t, _item(arrays[i], False)) if i in arrays else programs.make_input(t, item)
                  for i, item in enumerate(example.inputs)]
        outs = programs.flatten_outputs(t, example.fn(t, *inputs, **example.kwargs))
        return [_numpy(o) for o in outs if isinstance(o, t.Tensor)
                and (o.dtype.is_floating_point or o.dtype.is_complex)]

    def continuous(t: Any) -> bool:
        here = outputs(t, base)
        for _ in range(NEIGHBOURS):
            near = outputs(t, {i: a + _like(a, lambda shape: rng.uniform(-RADIUS, RADIUS, shape))
                               for i, a in base.items()})
            if not all(v.shape == h.shape and np.allclose(v, h, rtol=1e-3, atol=1e-3 * (1 + np.max(np.abs(h),
                       initial=0.0)), equal_nan=True) for v, h in zip(near, here)):
                return False
        return True

    torch_continuous, engine_continuous = continuous(reference), continuous(engine)
    if not torch_continuous and not engine_continuous:
        return Verdict("convention", "discontinuity at the point (both sides jump within ±1e-4): the value "
                                     "there is a convention", reproduced, kink=True)
    if torch_continuous and not engine_continuous:
        return Verdict("engine-wrong", "the engine's output jumps at the point while torch's is continuous",
                       reproduced, kink=False)
    if engine_continuous and not torch_continuous:
        return Verdict("torch-wrong", "torch's output jumps at the point while the engine's is continuous",
                       reproduced, kink=False)
    return Verdict("engine-wrong", "both outputs are continuous and differ beyond the loose tolerance; torch's "
                                   "forward is the reference", reproduced, kink=False)
