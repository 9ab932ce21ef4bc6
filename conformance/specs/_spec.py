"""The op-spec API: one declarative entry per op, run unchanged on torch and on the engine under test.

A spec says *what to feed* an op; the properties (forward, vjp, double backward, errors) decide what to check.
``fn(t, *inputs, **kwargs)`` is written against torch's Python API and receives the module (torch or the
engine) as ``t``; inputs are tensors or Python scalars, in ``args`` order. ``fn`` must be self-contained (use
only ``t``, its arguments and builtins) because its source is pasted into standalone reproducers.

Example entries (put them in a ``SPECS`` list in ``conformance/specs/<family>.py``; the module is discovered
automatically, helpers that return several specs may be listed as they are)::

    SPECS = [
        unary("tanh"),                                   # torch.tanh on float64/float32 tensors of any shape
        unary("log", POSITIVE, dtypes=FLOAT + INT),      # positive values, 0 mixed in; int inputs promote
        binary("mul", "*"),                              # mul, mul.scalar (x * s), mul.rscalar (s * x)
        OpSpec("sum.dim", lambda t, x, **kw: t.sum(x, **kw),
               kwargs=dims(keepdim=True, multiple=True), dtypes=FLOAT + INT + BOOL),
        OpSpec("matmul", func("matmul"), args=(tensor(), tensor()),
               shapes=Shapes(matmul_shapes(), invalid=bad_matmul_shapes()),
               tol={"float32": (1e-5, 1e-5)}, tol_reason="float32 dot products sum in a different order"),
    ]

Each tensor input draws its requires_grad (so mixed cases occur) unless ``differentiable=False``; integer and
bool inputs never require grad. Tolerances default to torch.testing.assert_close's; overriding needs a reason.
"""
from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from hypothesis import strategies as st

from conformance.strategies import (
    BOOL,
    DEFAULT_TOLERANCE,
    FLOAT,
    INT,
    NONNEGATIVE,
    NONZERO,
    POSITIVE,
    PROBABILITY,
    REAL,
    SMALL,
    UNIT,
    Domain,
    bad_matmul_shapes,
    broadcastable_shapes,
    is_floating,
    matmul_shapes,
    mismatched_shapes,
    python_scalars,
    same_shapes,
    shapes,
)

__all__ = [
    "OpSpec", "TensorArg", "ScalarArg", "Shapes", "Kwargs", "tensor", "scalar", "func", "method", "unary",
    "binary", "dims", "PROPERTIES", "PROMOTE",
    # re-exported so a family file needs one import line
    "Domain", "REAL", "SMALL", "POSITIVE", "NONNEGATIVE", "NONZERO", "UNIT", "PROBABILITY", "FLOAT", "INT",
    "BOOL", "shapes", "same_shapes", "broadcastable_shapes", "mismatched_shapes", "matmul_shapes",
    "bad_matmul_shapes",
]

#: Property names a spec may list in ``known`` (expected divergences, each with a reason).
PROPERTIES = ("forward", "vjp", "double_backward", "errors", "jvp", "func")
#: Dtypes a second operand may take in binary ops, so type promotion is exercised.
PROMOTE: tuple[str, ...] = ("float64", "float32", "int64", "bool")

Shape = tuple[int, ...]


@dataclass(frozen=True)
class TensorArg:
    """A tensor input. ``dtypes=None``: the example's dtype; else the example's dtype or one of these.
    ``laid_out=False``: always contiguous (an argument torch's kernel reads as contiguous whatever its strides, past
    the end of a sliced buffer: its results would not repeat, and Hypothesis would call the example flaky)."""

    domain: Domain = REAL
    differentiable: bool = True
    dtypes: tuple[str, ...] | None = None
    laid_out: bool = True


@dataclass(frozen=True)
class ScalarArg:
    """A Python-number input (``float``/``int``/``bool``), or values from an explicit strategy."""

    kinds: tuple[str, ...] = ("float", "int")
    domain: Domain = SMALL
    values: st.SearchStrategy | None = None

    def strategy(self) -> st.SearchStrategy:
        """The strategy drawing this operand."""
        return self.values if self.values is not None else python_scalars(self.kinds, self.domain)


Arg = Union[TensorArg, ScalarArg]


def tensor(domain: Domain = REAL, *, differentiable: bool = True, dtypes: tuple[str, ...] | None = None,
           laid_out: bool = True) -> TensorArg:
    """A tensor argument with values in ``domain`` (see :class:`TensorArg`)."""
    return TensorArg(domain, differentiable, dtypes, laid_out)


def scalar(kinds: tuple[str, ...] = ("float", "int"), domain: Domain = SMALL, *,
           values: st.SearchStrategy | None = None) -> ScalarArg:
    """A Python scalar argument; ``values`` (e.g. ``st.sampled_from([0, 0.5, 2])``) overrides kinds/domain."""
    return ScalarArg(kinds, domain, values)


@dataclass(frozen=True)
class Shapes:
    """Shapes of the tensor inputs: ``valid`` draws a tuple (one shape per tensor arg); ``invalid`` (optional)
    draws shapes the op must reject, used by the errors property."""

    valid: st.SearchStrategy
    invalid: st.SearchStrategy | None = None


KwargsFactory = Callable[[tuple[Shape, ...]], st.SearchStrategy]


@dataclass(frozen=True)
class Kwargs:
    """Keyword arguments as a function of the drawn shapes: ``valid(shapes)`` and optional ``invalid(shapes)``
    each return a strategy of dicts."""

    valid: KwargsFactory
    invalid: KwargsFactory | None = None


def _no_kwargs(_shapes: tuple[Shape, ...]) -> st.SearchStrategy:
    return st.just({})


@dataclass(frozen=True)
class OpSpec:
    """One op under test. Only ``name`` and ``fn`` are required.

    name: id used in test ids and records (``tanh``, ``sum.dim``); unique across families.
    fn: ``fn(t, *inputs, **kwargs)``, torch-API code run unchanged on torch and on the engine.
    args: one :class:`TensorArg`/:class:`ScalarArg` per positional input.
    shapes: a :class:`Shapes`, a strategy of shape tuples, or None (all tensor inputs share one drawn shape).
    kwargs: a :class:`Kwargs`, a dict of name -> strategy, a strategy of dicts, a callable
        ``shapes -> strategy of dict``, or None.
    dtypes: the example dtypes (parametrized); each gives test ids like ``test_vjp[tanh-float64]``.
    differentiable: outputs are differentiable (False for comparisons, ``all``...; skips vjp/double backward).
    gradgrad: run the double-backward property.
    tol: dtype name -> (rtol, atol) overriding assert_close defaults, or (rtol, atol, ntol) with ntol relative to
        each compared array's norm (its largest |value|); requires ``tol_reason``.
    known: property -> reason for divergences that are expected (recorded as expected, not failing the run).
    """

    name: str
    fn: Callable[..., Any]
    args: tuple[Arg, ...] = (TensorArg(),)
    shapes: Shapes | st.SearchStrategy | None = None
    kwargs: Kwargs | Mapping[str, st.SearchStrategy] | st.SearchStrategy | KwargsFactory | None = None
    dtypes: tuple[str, ...] = FLOAT
    differentiable: bool = True
    gradgrad: bool = True
    tol: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    tol_reason: str = ""
    known: Mapping[str, str] = field(default_factory=dict)
    family: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][\w.]*", self.name):
            raise ValueError(f"spec name {self.name!r} must be an identifier, optionally dotted (sum.dim)")
        params = list(inspect.signature(self.fn).parameters)
        if not params or params[0] != "t":
            raise ValueError(f"{self.name}: fn's first parameter must be the module, named 't'")
        if self.tol and not self.tol_reason:
            raise ValueError(f"{self.name}: tolerances differ from assert_close defaults, give tol_reason")
        unknown = set(self.known) - set(PROPERTIES)
        if unknown:
            raise ValueError(f"{self.name}: known divergences for unknown properties {sorted(unknown)}")
        if not self.dtypes:
            raise ValueError(f"{self.name}: dtypes is empty")

    @property
    def tensor_args(self) -> tuple[TensorArg, ...]:
        """The tensor arguments, in order."""
        return tuple(a for a in self.args if isinstance(a, TensorArg))

    def tolerance(self, dtype: str) -> tuple[float, float]:
        """(rtol, atol) for values of ``dtype``: the spec's override or assert_close's default (0, 0 if exact)."""
        return tuple(self.tol.get(dtype, DEFAULT_TOLERANCE.get(dtype, (0.0, 0.0))))

    def shape_strategy(self, invalid: bool = False) -> st.SearchStrategy | None:
        """Strategy of shape tuples (one per tensor arg); None when no invalid shapes are declared."""
        count = len(self.tensor_args)
        if isinstance(self.shapes, Shapes):
            return self.shapes.invalid if invalid else self.shapes.valid
        if invalid:
            return None
        return self.shapes if self.shapes is not None else same_shapes(count)

    def kwargs_strategy(self, drawn: tuple[Shape, ...], invalid: bool = False) -> st.SearchStrategy | None:
        """Strategy of kwargs dicts for the drawn shapes; None when no invalid kwargs are declared."""
        rule = self.kwargs
        if isinstance(rule, Kwargs):
            factory = rule.invalid if invalid else rule.valid
            return None if factory is None else factory(drawn)
        if invalid:
            return None
        if rule is None:
            return _no_kwargs(drawn)
        if isinstance(rule, Mapping):
            return st.fixed_dictionaries(dict(rule))
        if isinstance(rule, st.SearchStrategy):
            return rule
        return rule(drawn)

    @property
    def has_invalid_shapes(self) -> bool:
        """True when the spec declares shapes the op must reject."""
        return isinstance(self.shapes, Shapes) and self.shapes.invalid is not None

    @property
    def has_invalid_kwargs(self) -> bool:
        """True when the spec declares kwargs the op must reject."""
        return isinstance(self.kwargs, Kwargs) and self.kwargs.invalid is not None

    def differentiable_dtype(self, dtype: str) -> bool:
        """True when examples of ``dtype`` can have inputs requiring grad and differentiable outputs."""
        return self.differentiable and is_floating(dtype)


def _generated(source: str) -> Callable[..., Any]:
    """Compile a lambda from source and remember the source for reproducers."""
    function = eval(source, {"__builtins__": __builtins__})  # noqa: S307 - source is built from identifiers
    function.__conformance_source__ = source
    return function


def func(path: str) -> Callable[..., Any]:
    """``fn`` calling ``t.<path>(*inputs, **kwargs)``, e.g. ``func("nn.functional.relu")``."""
    if not re.fullmatch(r"[A-Za-z_][\w.]*", path):
        raise ValueError(f"bad function path {path!r}")
    return _generated(f"lambda t, *inputs, **kwargs: t.{path}(*inputs, **kwargs)")


def method(name: str) -> Callable[..., Any]:
    """``fn`` calling the tensor method ``inputs[0].<name>(*inputs[1:], **kwargs)``."""
    if not name.isidentifier():
        raise ValueError(f"bad method name {name!r}")
    return _generated(f"lambda t, x, *inputs, **kwargs: x.{name}(*inputs, **kwargs)")


def unary(name: str, domain: Domain = REAL, *, fn: Callable[..., Any] | None = None, **options: Any) -> OpSpec:
    """A one-tensor op: ``unary("tanh")`` calls ``t.tanh(x)``; options are :class:`OpSpec` fields."""
    base = name.split(".")[0]
    return OpSpec(name, fn or func(base), args=(TensorArg(domain),), **options)


def binary(name: str, operator: str | None = None, *, domains: tuple[Domain, Domain] = (REAL, REAL),
           scalar_kinds: tuple[str, ...] = ("float", "int", "bool"), promote: tuple[str, ...] = PROMOTE,
           dtypes: tuple[str, ...] = FLOAT + INT + BOOL, **options: Any) -> list[OpSpec]:
    """A broadcasting two-tensor op ``t.<name>(a, b)``, plus ``<name>.scalar`` (``a <operator> s``) and
    ``<name>.rscalar`` (``s <operator> a``) when ``operator`` (e.g. ``"+"``) is given.

    The second tensor may take any dtype in ``promote``; mismatched shapes are drawn by the errors property.
    """
    tensor_spec = OpSpec(
        name, func(name), args=(TensorArg(domains[0]), TensorArg(domains[1], dtypes=promote)),
        shapes=Shapes(broadcastable_shapes(2), invalid=mismatched_shapes(2)), dtypes=dtypes, **options)
    if operator is None:
        return [tensor_spec]
    operand = ScalarArg(scalar_kinds, domains[1] if domains[1] is not REAL else SMALL)
    left = _generated(f"lambda t, x, s: x {operator} s")
    right = _generated(f"lambda t, s, x: s {operator} x")
    return [
        tensor_spec,
        OpSpec(f"{name}.scalar", left, args=(TensorArg(domains[0]), operand), dtypes=dtypes, **options),
        OpSpec(f"{name}.rscalar", right, args=(operand, TensorArg(domains[1])), dtypes=dtypes, **options),
    ]


@functools.lru_cache(maxsize=256)
def _dims_strategy(ndim: int, keepdim: bool, multiple: bool, invalid: bool) -> st.SearchStrategy:
    low, high = -ndim, ndim - 1
    if invalid:
        bad = st.sampled_from([high + 1, low - 1, high + 3])
        if multiple:
            bad = st.one_of(bad, st.just((0, 0)), st.just((0, low)))
        return st.fixed_dictionaries({"dim": bad})
    dim = st.integers(low, high)
    if multiple:
        # distinct dims modulo ndim, each in either sign
        tuples = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).flatmap(
            lambda ds: st.tuples(*[st.sampled_from([d, d - ndim]) for d in ds]))
        dim = st.one_of(dim, tuples)
    parts = {"dim": dim}
    if keepdim:
        parts["keepdim"] = st.booleans()
    return st.fixed_dictionaries(parts)


def dims(*, keepdim: bool = True, multiple: bool = False, arg: int = 0) -> Kwargs:
    """Reduction kwargs: ``dim`` valid for tensor input ``arg`` (an int, or a tuple of distinct dims when
    ``multiple``), plus ``keepdim`` when asked. Invalid draws: out-of-range or repeated dims."""

    def valid(drawn: tuple[Shape, ...]) -> st.SearchStrategy:
        return _dims_strategy(max(len(drawn[arg]), 1), keepdim, multiple, False)  # a 0-d tensor takes 0 and -1

    def invalid(drawn: tuple[Shape, ...]) -> st.SearchStrategy:
        return _dims_strategy(max(len(drawn[arg]), 1), keepdim, multiple, True)

    return Kwargs(valid, invalid)
