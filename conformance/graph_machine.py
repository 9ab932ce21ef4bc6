"""Graph state: one random program of autograd statements, run on torch and on the engine side by side.

Every step is a line of torch-API Python (``v3 = op_mul(t, v1, v2)``, ``v3.backward(retain_graph=True)``,
``c0 = t.no_grad(); c0.__enter__()``...) executed on both modules; after each step all observables (every
variable's value, shape, dtype, requires_grad, is_leaf, grad_fn, .grad; grad modes; hook calls) and the
exception, if any, are compared. Each side runs in its own thread because torch's grad mode is thread-local,
so an engine that wraps torch cannot disturb the reference (or the test process).
"""
from __future__ import annotations

import ast
import concurrent.futures
import re
import warnings
from typing import Any

import torch
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conformance import programs
from conformance.harness import Session, Tracker, base_record
from conformance.repro import graph_snippet, literal
from conformance.specs import all_specs
from conformance.specs._spec import ScalarArg
from conformance.strategies import DEFAULT_TOLERANCE, SMALL, is_floating, shapes, tensor_values
from conformance.verdict import compare_outcomes

__all__ = ["GraphStateMachine", "machine_ops", "bind", "replay"]

MODES = ["t.no_grad()", "t.enable_grad()", "t.set_grad_enabled(False)", "t.set_grad_enabled(True)",
         "t.inference_mode()", "t.inference_mode(False)"]
HOOKS = ["lambda g: g * 2", "lambda g: calls.append(tuple(g.shape))", "lambda g: None"]
INPLACE = ["{v}.add_(1.5)", "{v}.mul_(2)", "{v}.sub_(0.1 * {v}.grad)", "{v}.zero_()"]


def machine_ops() -> dict[str, Any]:
    """Variable name -> spec, for the tutorial ops (the ones the graph programs apply)."""
    return {"op_" + spec.name.replace(".", "_"): spec for spec in all_specs() if spec.family == "tutorial"}


class Side:
    """One module's namespace, executed in a dedicated thread."""

    def __init__(self, module: Any, ops: dict[str, Any]) -> None:
        self.module = module
        self.namespace: dict[str, Any] = {"t": module, "calls": [], "nan": float("nan"), "inf": float("inf"),
                                          **{name: spec.fn for name, spec in ops.items()}}
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def _step(self, statement: str, names: list[str]) -> dict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            error = programs.run_statement(self.namespace, statement)
            return {"obs": programs.observe_namespace(self.module, self.namespace, names), "error": error}

    def step(self, statement: str, names: list[str], timeout: float) -> dict:
        """Run ``statement`` and observe ``names``; a timeout becomes the outcome's error."""
        future = self.pool.submit(self._step, statement, names)
        try:
            return future.result(timeout=timeout if timeout > 0 else None)
        except concurrent.futures.TimeoutError:
            return {"obs": {}, "error": {"type": "ExampleTimeout", "base": "Exception", "step": None,
                                         "message": f"statement exceeded the {timeout:g} s time limit"}}

    def close(self, statements: list[str]) -> None:
        """Run clean-up statements (ignoring errors) and stop the thread."""
        try:
            for statement in statements:
                self.pool.submit(programs.run_statement, self.namespace, statement).result(timeout=10)
        except concurrent.futures.TimeoutError:
            pass  # the side's thread hangs (already reported as a timeout); abandon it
        self.pool.shutdown(wait=False)


class GraphStateMachine(RuleBasedStateMachine):
    """The machine; :func:`bind` sets ``session``, ``dtype`` and ``tracker`` on a subclass per test."""

    session: Session
    tracker: Tracker
    dtype = "float64"
    nodeid = ""

    def __init__(self) -> None:
        super().__init__()
        self.ops = machine_ops()
        self.reference = Side(self.session.reference.module, self.ops)
        self.candidate = Side(self.session.engine.module, self.ops)
        self.program: list[str] = []
        self.names: list[str] = []      # every variable, in creation order
        self.shapes: dict[str, tuple] = {}  # tensor variables (in torch) -> shape
        self.dtypes: dict[str, str] = {}
        self.contexts: list[str] = []
        self.counter = 0
        self.tracker.example()

    # -- running and comparing -------------------------------------------------------------------------
    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def step(self, statement: str, new: str | None = None) -> None:
        names = self.names + ([new] if new else [])
        self.program.append(statement)
        timeout = self.session.timeout
        reference = self.reference.step(statement, names, timeout)
        candidate = self.candidate.step(statement, names, timeout)
        tolerances = dict(DEFAULT_TOLERANCE)  # assert_close defaults; integers and bool exact
        mismatches = compare_outcomes(reference, candidate, tolerances)
        if mismatches:
            self.fail(mismatches, reference, candidate, names, tolerances)
        if new and reference["error"] is None:
            self.names.append(new)
            shape = reference["obs"].get(f"{new}.shape")
            if isinstance(shape, tuple):
                self.shapes[new] = shape
                self.dtypes[new] = str(reference["obs"][f"{new}.dtype"]).removeprefix("torch.")

    def fail(self, mismatches, reference, candidate, names, tolerances) -> None:
        session = self.session
        record = base_record(session, "graph_state", "graph", "graph_state", self.dtype, mismatches,
                             (reference["error"], candidate["error"]), nodeid=self.nodeid)
        title = f"graph_state / {self.dtype}: {record['kind']} mismatch at {record['key']} after " \
                f"{self.program[-1]!r}"
        used = "\n".join(self.program)
        functions = {name: spec.fn for name, spec in self.ops.items() if re.search(rf"\b{name}\(", used)}
        record.update(scenario=self.program[-1], inputs=literal(self.program), kwargs="{}", extra="{}",
                      input_shapes=[list(s) for s in self.shapes.values()], input_dtypes=list(self.dtypes.values()),
                      requires_grad=[], snippet=graph_snippet(title, session.engine, functions, self.program, names,
                                                               tolerances))
        raise self.tracker.divergence(record)

    def teardown(self) -> None:
        exits = [f"{c}.__exit__(None, None, None)" for c in reversed(self.contexts)]
        self.reference.close(exits)
        self.candidate.close(exits)

    @invariant()
    def grad_mode_of_test_process_untouched(self) -> None:
        assert torch.is_grad_enabled(), "the harness leaked a grad mode into the test thread"

    # -- helpers for drawing ---------------------------------------------------------------------------
    def tensors(self) -> list[str]:
        return [name for name in self.names if name in self.shapes]

    def data_literal(self, data: st.DataObject, dtype: str, shape: tuple, label: str, options: str = "") -> str:
        """Source building a tensor of drawn values (``options`` are extra keyword arguments)."""
        if 0 in shape:
            return f"t.zeros({shape!r}, dtype=t.{dtype}{options})"
        values = data.draw(tensor_values(SMALL, dtype, shape), label=label)
        return f"t.tensor({values.tolist()!r}, dtype=t.{dtype}{options})"

    # -- rules -----------------------------------------------------------------------------------------
    @rule(data=st.data())
    def make_leaf(self, data: st.DataObject) -> None:
        shape = data.draw(shapes(max_dims=2, max_side=3), label="leaf shape")
        dtype = data.draw(st.sampled_from([self.dtype, "float32", "float64", "int64"]), label="leaf dtype")
        requires_grad = data.draw(st.booleans() if is_floating(dtype) else st.just(False), label="requires_grad")
        name = self.fresh()
        source = self.data_literal(data, dtype, shape, "leaf values", f", requires_grad={requires_grad}")
        self.step(f"{name} = {source}", name)

    @precondition(lambda self: self.tensors())
    @rule(data=st.data())
    def apply_op(self, data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(sorted(self.ops)), label="op")
        spec = self.ops[op]
        args, shapes_drawn = [], []
        for position, arg in enumerate(spec.args):
            if isinstance(arg, ScalarArg):
                args.append(repr(data.draw(arg.strategy(), label=f"scalar {position}")))
            else:
                name = data.draw(st.sampled_from(self.tensors()), label=f"tensor {position}")
                args.append(name)
                shapes_drawn.append(self.shapes[name])
        kwargs = data.draw(spec.kwargs_strategy(tuple(shapes_drawn)), label="kwargs")
        call = ", ".join(["t", *args, *(f"{key}={value!r}" for key, value in kwargs.items())])
        name = self.fresh()
        self.step(f"{name} = {op}({call})", name)

    @precondition(lambda self: self.tensors())
    @rule(data=st.data())
    def backward(self, data: st.DataObject) -> None:
        root = data.draw(st.sampled_from(self.tensors()), label="backward root")
        parts = []
        if self.shapes[root] != () or data.draw(st.booleans(), label="explicit gradient for a scalar"):
            dtype = self.dtypes[root] if is_floating(self.dtypes[root]) else "float32"
            parts.append("gradient=" + self.data_literal(data, dtype, self.shapes[root], "gradient"))
        retain = data.draw(st.sampled_from([None, True, False]), label="retain_graph")
        if retain is not None:
            parts.append(f"retain_graph={retain}")
        if data.draw(st.booleans(), label="with inputs="):
            chosen = data.draw(st.lists(st.sampled_from(self.tensors()), min_size=1, max_size=3, unique=True),
                               label="inputs")
            parts.append(f"inputs=[{', '.join(chosen)}]")
        if data.draw(st.booleans(), label="as t.autograd.backward"):
            parts = [p.replace("gradient=", "grad_tensors=") for p in parts]
            self.step(f"t.autograd.backward({', '.join([root] + parts)})")
        else:
            self.step(f"{root}.backward({', '.join(parts)})")

    @precondition(lambda self: self.tensors())
    @rule(data=st.data())
    def autograd_grad(self, data: st.DataObject) -> None:
        root = data.draw(st.sampled_from(self.tensors()), label="grad root")
        wrt = data.draw(st.sampled_from(self.tensors()), label="grad input")
        parts = [f"[{root}]", f"[{wrt}]"]
        if self.shapes[root] != ():
            dtype = self.dtypes[root] if is_floating(self.dtypes[root]) else "float32"
            parts.append("grad_outputs=[" + self.data_literal(data, dtype, self.shapes[root], "grad_outputs") + "]")
        for flag in ("retain_graph", "create_graph", "allow_unused"):
            value = data.draw(st.sampled_from([None, True, False]), label=flag)
            if value is not None:
                parts.append(f"{flag}={value}")
        name = self.fresh()
        self.step(f"{name}, = t.autograd.grad({', '.join(parts)})", name)

    @precondition(lambda self: self.tensors())
    @rule(data=st.data())
    def change_grad(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.tensors()), label="tensor")
        action = data.draw(st.sampled_from(["{v}.grad.zero_()", "{v}.grad = None", "{v}.requires_grad_(True)",
                                            "{v}.requires_grad_(False)", "{v}.retain_grad()", "{v}.detach_()"]),
                           label="action")
        self.step(action.format(v=name))

    @precondition(lambda self: self.tensors())
    @rule(data=st.data())
    def derive(self, data: st.DataObject) -> None:
        source = data.draw(st.sampled_from(self.tensors()), label="tensor")
        form = data.draw(st.sampled_from(["{v}.detach()", "{v}.numpy()", "{v}.clone()", "{v}.grad"]), label="form")
        name = self.fresh()
        self.step(f"{name} = {form.format(v=source)}", name)

    @precondition(lambda self: self.tensors())
    @rule(data=st.data())
    def hook(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.tensors()), label="tensor")
        hook = data.draw(st.sampled_from(HOOKS), label="hook")
        self.step(f"{name}.register_hook({hook})")

    @precondition(lambda self: self.tensors())
    @rule(data=st.data())
    def inplace(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.tensors()), label="tensor")
        self.step(data.draw(st.sampled_from(INPLACE), label="in-place op").format(v=name))

    @rule(mode=st.sampled_from(MODES))
    def enter_mode(self, mode: str) -> None:
        name = self.fresh("c")
        self.contexts.append(name)
        self.step(f"{name} = {mode}; {name}.__enter__()")

    @precondition(lambda self: self.contexts)
    @rule()
    def exit_mode(self) -> None:
        self.step(f"{self.contexts.pop()}.__exit__(None, None, None)")


def _assigned(statement: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(statement)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names.extend(e.id for e in elements if isinstance(e, ast.Name))
    return names


def replay(session: Session, program: list[str]) -> tuple[int, list[dict]] | None:
    """Run a fixed graph-state ``program`` (statements) on torch and the engine, comparing after every step;
    return (index of the first diverging statement, its mismatches), or None when they agree throughout."""
    ops = machine_ops()
    sides = [Side(session.reference.module, ops), Side(session.engine.module, ops)]
    names: list[str] = []
    try:
        for index, statement in enumerate(program):
            names += [n for n in _assigned(statement) if n not in names]
            reference, candidate = (side.step(statement, names, session.timeout) for side in sides)
            mismatches = compare_outcomes(reference, candidate, dict(DEFAULT_TOLERANCE))
            if mismatches:
                return index, mismatches
        return None
    finally:
        for side in sides:
            side.close([])


def bind(session: Session, dtype: str, tracker: Tracker, nodeid: str) -> type[GraphStateMachine]:
    """A machine class bound to one session, dtype and tracker."""
    attributes = {"session": session, "dtype": dtype, "tracker": tracker, "nodeid": nodeid}
    return type(f"GraphState_{dtype}", (GraphStateMachine,), attributes)
