"""Graph state: random programs of autograd statements, run on torch and on the engine side by side.

Every step is a line of torch-API Python (``v3 = op_mul(t, v1, v2)``, ``v3.backward(retain_graph=True)``,
``c0 = t.no_grad(); c0.__enter__()``...) executed on both modules; after each step all observables (every
variable's value, shape, dtype, requires_grad, is_leaf, grad_fn, .grad; grad modes; hook calls) and the
exception, if any, are compared. Each side runs in its own thread because torch's grad mode is thread-local,
so an engine that wraps torch cannot disturb the reference (or the test process).

The search is *swarm testing*: each program first draws which rules it may use (the core rules, making leaves
and applying ops, are always on), then draws its steps from the enabled rules, weighted toward what makes graph
bugs visible (several backward calls sharing leaves, repeated backwards through the same graph, hooks, in-place
ops and views). :data:`RULES` lists the rules and their weights; :func:`run_program` runs one program from a
Hypothesis ``data`` object, so the same function serves the property, the meta-tests and the HypoFuzz target.
"""
from __future__ import annotations

import ast
import functools
import re
from typing import Any

import pytest
from hypothesis import given, reproduce_failure, settings
from hypothesis import strategies as st

from conformance import profiles
from conformance.arbitrate import settle
from conformance.graph_sides import Side, Widened
from conformance.harness import Session, Tracker, base_record, reproduce_arguments, tracked
from conformance.programs import without_zerotensor
from conformance.repro import graph_snippet, literal
from conformance.specs import all_specs
from conformance.specs._spec import ScalarArg
from conformance.strategies import DEFAULT_TOLERANCE, SMALL, is_floating, shapes, tensor_values
from conformance.verdict import compare_outcomes

__all__ = ["GraphProgram", "RULES", "Widened", "budget", "check", "machine_ops", "run_program", "replay"]

MODES = ["t.no_grad()", "t.enable_grad()", "t.set_grad_enabled(False)", "t.set_grad_enabled(True)",
         "t.inference_mode()", "t.inference_mode(False)"]
BLOCKS = ["t.no_grad()", "t.inference_mode()", "t.enable_grad()", "t.set_grad_enabled(False)"]
HOOKS = ["lambda g: g * 2", "lambda g: calls.append(('tensor', tuple(g.shape)))", "lambda g: None"]
NODE_HOOKS = [  # (method, hook): Node post hooks get (grad_inputs, grad_outputs), pre hooks get grad_outputs
    ("register_hook", "lambda gi, go: calls.append(('post', [None if g is None else tuple(g.shape) for g in gi]))"),
    ("register_prehook", "lambda go: calls.append(('pre', [None if g is None else tuple(g.shape) for g in go]))"),
    ("register_prehook", "lambda go: tuple(None if g is None else g * 3 for g in go)"),
]
ACC_HOOK = "lambda p: calls.append(('acc', None if p.grad is None else tuple(p.grad.shape)))"
INPLACE = ["{v}.add_(1.5)", "{v}.mul_(2)", "{v}.sub_(0.1 * {v}.grad)", "{v}.zero_()", "{v}.exp_()"]
VIEWS = ["{v}.view(-1)", "{v}.reshape(-1)", "{v}[0]", "{v}.unsqueeze(0)", "{v}.t()", "{v}.narrow(0, 0, 1)",
         "{v}.expand(2, *{v}.shape)", "{v}.view_as({v})", "{v}.squeeze()", "{v}.unbind()[0]", "{v}.split(1)[-1]"]
#: values after chains of random ops (exp_ of a matmul...) amplify one-ulp differences in their inputs: float64
#: compares looser than assert_close. float32 compares at assert_close's (rtol 1.3e-6, atol 1e-5), with the float64
#: replay as backstop (graph10: 1e-4 had absorbed every rounding, so the replay never settled anything, and hid a
#: 1e-5 relative accumulation bias). On refgrad, tests/conformance/graph_tolerance_survey.py: no mismatch in 10,000
#: programs of up to 20 rules (seeds 1-5, both cells); of 12,000 float32 ones of up to 40 rules (seeds 11-14), 3
#: mismatched (exp of a 27.9 one ulp apart, 1.9e-6 relative) and the replay settled all 3.
TOLERANCE = {**DEFAULT_TOLERANCE, "float64": (1e-6, 1e-7)}
#: ops whose double backward (sgn: first order) yields torch's ZeroTensor gradient (rule_zero_gradient)
ZERO_GRADIENT_FORMS = ["t.sgn({x})", "{x}.abs()", "t.norm({x}, p=1)", "t.linalg.vector_norm({x}, inf)"]
#: what rule_zero_gradient may do at once with the gradient ``g`` (``n``: a new variable); None: nothing
ZERO_GRADIENT_USES = [None, None, "{g}.add_(1)", "{n} = {g} * inf", "{n} = {g}.numpy()"]
DECORATED = ["t.no_grad()", "t.enable_grad()", "t.inference_mode()", "t.set_grad_enabled(False)"]


def machine_ops() -> dict[str, Any]:
    """Variable name -> spec, for the tutorial ops (the ones the graph programs apply)."""
    return {"op_" + spec.name.replace(".", "_"): spec for spec in all_specs() if spec.family == "tutorial"}


def _pick(data: st.DataObject, options: list, label: str):
    return data.draw(st.sampled_from(options), label=label)


class GraphProgram:
    """One program: both sides, the statements so far, and what is known (from torch) about each variable."""

    def __init__(self, session: Session, dtype: str, tracker: Tracker, nodeid: str = "") -> None:
        self.session, self.dtype, self.tracker, self.nodeid = session, dtype, tracker, nodeid
        self.ops = machine_ops()
        self.reference = Side(session.reference.module, self.ops)
        self.candidate = Side(session.engine.module, self.ops, session.engine.wrap)
        self.program: list[str] = []
        self.names: list[str] = []      # every observed variable, in creation order
        self.meta: dict[str, dict] = {}  # tensor variables -> torch's shape, dtype, requires_grad, grad_fn
        self.handles: list[str] = []    # hook handles (not observed)
        self.contexts: list[str] = []   # grad-mode contexts entered and not yet exited
        self.backwards: list[str] = []  # backward statements run so far (replayed by "again")
        self.counter = 0
        self.inference = False  # torch's inference mode is on (read from its observables after each step)
        self.errors: list[dict | None] = []  # torch's error at each statement (the float64 replay must match them)
        self.widened: Widened | None = None  # the float64 replay, once a step needed it
        self.noisy = False  # a step's mismatches were settled as rounding (counted once per program)

    # -- running and comparing -------------------------------------------------------------------------
    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def step(self, statement: str, *new: str, observed: bool = True) -> bool:
        """Run ``statement`` on both sides and compare; True when torch ran it without error."""
        names = self.names + [n for n in new if observed]
        self.program.append(statement)
        timeout = self.session.timeout
        comparable = self.session.engine.comparable
        reference = comparable(self.reference.step(statement, names, timeout))
        candidate = comparable(self.candidate.step(statement, names, timeout))
        if not self.candidate.zerotensor:
            reference = without_zerotensor(reference)
        self.errors.append(reference["error"])
        tolerances = dict(TOLERANCE)  # integers and bool exact
        mismatches = compare_outcomes(reference, candidate, tolerances)
        if mismatches and self.session.float64_replay:
            mismatches = self.settle(mismatches, reference, candidate, names)
        if mismatches:
            self.fail(mismatches, reference, candidate, names, tolerances)
        ok = reference["error"] is None
        self.inference = reference["obs"].get("is_inference_mode_enabled") is True
        if ok and observed:
            self.names.extend(new)
        obs = reference["obs"]
        for name in self.names:
            shape = obs.get(f"{name}.shape")
            if isinstance(shape, tuple):
                self.meta[name] = {"shape": shape, "dtype": str(obs[f"{name}.dtype"]).removeprefix("torch."),
                                   "requires_grad": obs.get(f"{name}.requires_grad") is True,
                                   "grad_fn": obs.get(f"{name}.grad_fn"), "grad": f"{name}.grad.shape" in obs}
            else:
                self.meta.pop(name, None)
        return ok

    def settle(self, mismatches: list[dict], reference: dict, candidate: dict, names: list[str]) -> list[dict]:
        """The step's mismatches that the float64 replay (:class:`Widened`, :func:`conformance.arbitrate.settle`)
        does not settle as rounding; a program with settled steps counts once in the tracker's noise."""
        def exact() -> dict:
            self.widened = self.widened or Widened(self.session.reference.module, self.ops)
            return self.widened.outcome(self.program, self.errors, names, self.session.timeout)

        kept, noise = settle(mismatches, reference, candidate, exact, dict(TOLERANCE))
        if noise and not self.noisy:
            self.noisy = True
            self.tracker.settled(noise, self.program)
        return kept

    def fail(self, mismatches, reference, candidate, names, tolerances) -> None:
        session = self.session
        record = base_record(session, "graph_state", "graph", "graph_state", self.dtype, mismatches,
                             (reference["error"], candidate["error"]), nodeid=self.nodeid)
        title = f"graph_state / {self.dtype}: {record['kind']} mismatch at {record['key']} after " \
                f"{self.program[-1]!r}"
        used = "\n".join(self.program)
        functions = {name: spec.fn for name, spec in self.ops.items() if re.search(rf"\b{name}\(", used)}
        shapes_ = [list(m["shape"]) for m in self.meta.values()]
        record.update(scenario=self.program[-1], inputs=literal(self.program), kwargs="{}", extra="{}",
                      input_shapes=shapes_, input_dtypes=[m["dtype"] for m in self.meta.values()],
                      requires_grad=[],
                      snippet=graph_snippet(title, session.engine, functions, self.program, names, tolerances))
        raise self.tracker.divergence(record)

    def close(self) -> None:
        exits = [f"{c}.__exit__(None, None, None)" for c in reversed(self.contexts)]
        self.reference.close(exits)
        self.candidate.close(exits)
        if self.widened is not None:
            self.widened.side.close(exits)  # (a context it has not caught up with: a NameError, ignored)

    # -- helpers for drawing ---------------------------------------------------------------------------
    def tensors(self) -> list[str]:
        return [name for name in self.names if name in self.meta]

    def tensor(self, data: st.DataObject, label: str, requiring: bool = True) -> str:
        """A tensor variable, most often one that requires grad (when ``requiring`` and there is one)."""
        pool = [n for n in self.tensors() if self.meta[n]["requires_grad"]] if requiring else []
        if pool and data.draw(st.integers(0, 7), label=f"{label}: any tensor") != 0:
            return _pick(data, pool, label)
        return _pick(data, self.tensors(), label)

    def requiring(self) -> list[str]:
        return [n for n in self.tensors() if self.meta[n]["requires_grad"]]

    def leaves(self) -> list[str]:
        return [n for n in self.tensors() if self.meta[n]["requires_grad"] and self.meta[n]["grad_fn"] is None]

    def data_literal(self, data: st.DataObject, dtype: str, shape: tuple, label: str, options: str = "") -> str:
        """Source building a tensor of drawn values (``options`` are extra keyword arguments)."""
        if 0 in shape:
            return f"t.zeros({shape!r}, dtype=t.{dtype}{options})"
        values = data.draw(tensor_values(SMALL, dtype, shape), label=label)
        return f"t.tensor({values.tolist()!r}, dtype=t.{dtype}{options})"

    def gradient_for(self, data: st.DataObject, root: str, label: str) -> str:
        meta = self.meta[root]
        dtype = meta["dtype"] if is_floating(meta["dtype"]) else "float32"
        return self.data_literal(data, dtype, meta["shape"], label)

    # -- rules: each draws and runs one or a few statements --------------------------------------------
    def rule_leaf(self, data: st.DataObject) -> None:
        shape = data.draw(shapes(max_dims=2, max_side=3), label="leaf shape")
        other = "float32" if self.dtype == "float64" else "float64"
        dtype = _pick(data, [self.dtype, self.dtype, other, "int64"], "leaf dtype")
        requiring = is_floating(dtype) and not self.inference  # see NOT_GENERATED
        requires_grad = data.draw(st.booleans() if requiring else st.just(False), label="requires_grad")
        name = self.fresh()
        source = self.data_literal(data, dtype, shape, "leaf values", f", requires_grad={requires_grad}")
        self.step(f"{name} = {source}", name)

    def rule_op(self, data: st.DataObject) -> None:
        op = _pick(data, sorted(self.ops), "op")
        spec = self.ops[op]
        args, shapes_drawn = [], []
        for position, arg in enumerate(spec.args):
            if isinstance(arg, ScalarArg):
                args.append(repr(data.draw(arg.strategy(), label=f"scalar {position}")))
            else:
                name = self.tensor(data, f"tensor {position}")
                args.append(name)
                shapes_drawn.append(self.meta[name]["shape"])
        kwargs = data.draw(spec.kwargs_strategy(tuple(shapes_drawn)), label="kwargs")
        call = ", ".join(["t", *args, *(f"{key}={value!r}" for key, value in kwargs.items())])
        name = self.fresh()
        self.step(f"{name} = {op}({call})", name)

    def rule_backward(self, data: st.DataObject) -> None:
        root = self.tensor(data, "backward root")
        parts = []
        implicit = self.meta[root]["shape"] == () or data.draw(st.integers(0, 5), label="omit gradient") == 0
        if not implicit or data.draw(st.booleans(), label="explicit gradient for a scalar"):
            parts.append("gradient=" + self.gradient_for(data, root, "gradient"))
        retain = _pick(data, [None, True, True, False], "retain_graph")
        if retain is not None:
            parts.append(f"retain_graph={retain}")
        if data.draw(st.integers(0, 2), label="with inputs=") == 0:
            chosen = data.draw(st.lists(st.sampled_from(self.tensors()), max_size=3, unique=True), label="inputs")
            parts.append(f"inputs=[{', '.join(chosen)}]")
        if data.draw(st.booleans(), label="as t.autograd.backward"):
            parts = [p.replace("gradient=", "grad_tensors=") for p in parts]
            statement = f"t.autograd.backward({', '.join([root] + parts)})"
        else:
            statement = f"{root}.backward({', '.join(parts)})"
        self.backwards.append(statement)
        self.step(statement)

    def rule_again(self, data: st.DataObject) -> None:
        """The same backward again: accumulation, or the freed-graph error."""
        self.step(_pick(data, self.backwards[::-1], "backward to repeat"))

    def rule_grad(self, data: st.DataObject) -> None:
        root = self.tensor(data, "grad root")
        wrt = data.draw(st.lists(st.sampled_from(self.tensors()), max_size=3, unique=True), label="grad inputs")
        single = len(wrt) == 1 and data.draw(st.booleans(), label="input as a bare tensor")
        parts = [root, wrt[0] if single else f"[{', '.join(wrt)}]"]
        if self.meta[root]["shape"] != () or data.draw(st.integers(0, 3), label="scalar grad_outputs") == 0:
            parts.append("grad_outputs=[" + self.gradient_for(data, root, "grad_outputs") + "]")
        for flag in ("retain_graph", "create_graph", "allow_unused"):
            value = _pick(data, [None, True, False], flag)
            if value is not None:
                parts.append(f"{flag}={value}")
        targets = [self.fresh() for _ in wrt]
        call = f"t.autograd.grad({', '.join(parts)})"
        self.step(f"{', '.join(targets)}, = {call}" if targets else call, *targets)

    def rule_create_graph(self, data: st.DataObject) -> None:
        """Gradients with create_graph=True, then a backward (or grad) through them."""
        root, wrt = self.tensor(data, "root"), self.tensor(data, "input")
        self.through_gradient(data, root, wrt)

    def rule_zero_gradient(self, data: st.DataObject) -> None:
        """torch's ZeroTensor gradient (immutable, refused by numpy(), 0 times inf in products, stored as is by
        AccumulateGrad: refgrad/autograd/zerotensor.py): sgn's gradient of a real input, first order (by backward
        or grad) or inside abs's and the 1- and inf-norms' second order, left in a variable or a leaf's .grad,
        maybe used at once (written in place, multiplied by inf), else left for the other rules."""
        leaves = self.leaves()  # mostly a leaf: its .grad receives the ZeroTensor
        use_leaf = leaves and data.draw(st.integers(0, 3), label="a leaf as the input") != 0
        source = _pick(data, leaves if use_leaf else self.requiring(), "input")
        form, out = _pick(data, ZERO_GRADIENT_FORMS, "op with a zero gradient"), self.fresh()
        if not self.step(f"{out} = {form.format(x=source)}", out) or out not in self.meta:
            return
        if not form.startswith("t.sgn"):
            gradient = self.through_gradient(data, out, source)
        elif data.draw(st.booleans(), label="sgn's gradient by backward"):
            self.backwards.append(f"{out}.sum().backward()")
            gradient = f"{source}.grad" if self.step(self.backwards[-1]) else None
        else:
            gradient = self.fresh()
            gradient = gradient if self.step(f"{gradient}, = t.autograd.grad({out}.sum(), [{source}])",
                                             gradient) else None
        use = _pick(data, ZERO_GRADIENT_USES, "use of the gradient")
        if gradient is not None and use is not None:
            name = self.fresh() if "{n}" in use else None
            self.step(use.format(g=gradient, n=name), *([name] if name else []))

    def through_gradient(self, data: st.DataObject, root: str, wrt: str) -> str | None:
        """``wrt``'s gradient of ``root`` with create_graph=True, then a backward (or grad) through it; returns
        where the second-order gradient went (``wrt``'s .grad or a new variable), None when torch raised."""
        parts = [f"[{root}]", f"[{wrt}]", "create_graph=True"]
        if self.meta[root]["shape"] != ():
            parts.append("grad_outputs=[" + self.gradient_for(data, root, "grad_outputs") + "]")
        if data.draw(st.booleans(), label="retain the graph"):
            parts.append("retain_graph=True")
        first, second = self.fresh(), self.fresh()
        if not self.step(f"{first}, = t.autograd.grad({', '.join(parts)}, allow_unused=True)", first):
            return None
        self.step(f"{second} = ({first} * {first}).sum() if {first} is not None else None", second)
        if data.draw(st.booleans(), label="backward through the gradient"):
            self.backwards.append(f"{second}.backward()")
            return f"{wrt}.grad" if self.step(f"{second}.backward()") else None
        target = self.fresh()
        return target if self.step(f"{target}, = t.autograd.grad([{second}], [{wrt}], allow_unused=True)",
                                   target) else None

    def rule_tutorial(self, data: st.DataObject) -> None:
        """The seed tutorials' sequence: a loss from a leaf, two or three backwards with retain_graph=True
        (accumulating), grad.zero_(), backward(v) of a non-scalar, and maybe one backward too many."""
        leaf = self.fresh()
        shape = data.draw(shapes(min_dims=1, max_dims=2, min_side=1, max_side=3), label="tutorial shape")
        source = self.data_literal(data, self.dtype, shape, "tutorial leaf", f", requires_grad={not self.inference}")
        self.step(f"{leaf} = {source}", leaf)
        out = self.fresh()
        form = _pick(data, ["({x} * {x}).sum()", "({x} ** 2 + 3 * {x}).mean()", "t.exp({x}).sum()",
                            "({x} + 2) * 3", "t.matmul({x}.reshape(-1), {x}.reshape(-1))"], "tutorial output")
        self.step(f"{out} = {form.format(x=leaf)}", out)
        if out not in self.meta:
            return
        if data.draw(st.booleans(), label="hook on the leaf"):
            self.step(f"{self.fresh('h')} = {leaf}.register_hook({_pick(data, HOOKS, 'tutorial hook')})")
        gradient = "" if self.meta[out]["shape"] == () else self.gradient_for(data, out, "tutorial v") + ", "
        # the gradient positionally: Tensor.backward's gradient, autograd.backward's grad_tensors
        call = _pick(data, ["{o}.backward({g}", "t.autograd.backward({o}, {g}"], "tutorial backward").format(
            o=out, g=gradient)
        for _ in range(data.draw(st.integers(2, 3), label="backwards")):
            self.step(f"{call}retain_graph=True)")
            if data.draw(st.integers(0, 3), label="zero between") == 0:
                self.step(f"{leaf}.grad.zero_()")
        last = call.rstrip(", ") + ")"
        self.step(last)
        if data.draw(st.booleans(), label="one backward too many"):
            self.step(last)

    def rule_view(self, data: st.DataObject) -> None:
        source = self.tensor(data, "view base")
        form = _pick(data, VIEWS, "view").format(v=source)
        block = _pick(data, [None, None, *BLOCKS], "view under a grad mode")
        name = self.fresh()
        self.step(f"{name} = {form}" if block is None else f"with {block}: {name} = {form}", name)

    def rule_mode_view(self, data: st.DataObject) -> None:
        """A view made with grad mode off (torch's CreationMeta), maybe made to require grad, used with grad on,
        its storage written in place (itself, its base or a sibling view, in any mode), then a backward through
        the use: torch refuses at the write, at a later read of its grad_fn, or where backward reaches the view's
        AccumulateGrad, unless its base does not require grad."""
        source = self.tensor(data, "view base")
        block = _pick(data, ["t.no_grad()", "t.inference_mode()", "t.set_grad_enabled(False)"], "view made under")
        view, sibling, out = self.fresh(), self.fresh(), self.fresh()
        form = _pick(data, VIEWS, "view")
        if not self.step(f"with {block}: {view} = {form.format(v=source)}; {sibling} = {source}.view_as({source})",
                         view, sibling):
            return
        if not self.inference and data.draw(st.integers(0, 3), label="the view requires grad") != 0:
            self.step(f"{view}.requires_grad_()")
        use = _pick(data, ["t.exp({x} * 1)", "{x} * 2", "({x} * {x}).sum()"], "use of the view")
        self.step(f"{out} = {use.format(x=view)}", out)
        target = _pick(data, [view, view, source, sibling], "written tensor")
        statement = f"{target}.{_pick(data, ['mul_(2)', 'add_(1)', 'zero_()'], 'in-place')}"
        block = _pick(data, [None, "t.no_grad()", "t.no_grad()", "t.inference_mode()"], "written under")
        self.step(statement if block is None else f"with {block}: {statement}")
        if out in self.meta:
            self.backwards.append(f"{out}.sum().backward()")
            self.step(self.backwards[-1])

    def rule_inplace(self, data: st.DataObject) -> None:
        name = self.tensor(data, "in-place target")
        statement = _pick(data, INPLACE, "in-place op").format(v=name)
        block = _pick(data, [None, None, *BLOCKS], "in-place under a grad mode")
        self.step(statement if block is None else f"with {block}: {statement}")

    def rule_saved(self, data: st.DataObject) -> None:
        """An op that saves a tensor, an in-place change of what it saved (or of something it did not save), then
        a backward through it: torch's version-counter error, or a normal backward."""
        source = self.tensor(data, "source")
        middle, out = self.fresh(), self.fresh()
        # (CloneBackward0: a node no in-place op below shares its name with, so the version error names which)
        if not self.step(f"{middle} = {source}.clone()", middle):
            return
        form = _pick(data, ["t.exp({x})", "{x} * {x}", "{x} ** 2", "t.matmul({x}.reshape(-1), {x}.reshape(-1))",
                            "{x} * 3", "{x} + 1"], "op that saves")  # the last saves nothing
        self.step(f"{out} = {form.format(x=middle)}", out)
        target = _pick(data, [middle, middle, out, source], "modified tensor")
        statement = f"{target}.{_pick(data, ['mul_(2)', 'add_(1)', 'zero_()'], 'in-place')}"
        self.step(f"with t.no_grad(): {statement}" if data.draw(st.booleans(), label="under no_grad") else statement)
        self.backwards.append(f"{out}.sum().backward()")
        self.step(self.backwards[-1])

    def rule_grad_attr(self, data: st.DataObject) -> None:
        name = self.tensor(data, "tensor")
        meta = self.meta[name]
        other = "float32" if meta["dtype"] == "float64" else "float64"
        form = _pick(data, ["{v}.grad.zero_()", "{v}.grad = None", "{v}.grad = t.ones_like({v})",
                            "{v}.grad = t.zeros({wrong!r}, dtype={v}.dtype)",
                            "{v}.grad = t.ones_like({v}, dtype=t.{o})", "{v}.grad = {v}.grad * 2"], "grad action")
        self.step(form.format(v=name, wrong=tuple(meta["shape"]) + (2,), o=other))

    def rule_flags(self, data: st.DataObject) -> None:
        name = self.tensor(data, "tensor", requiring=False)
        forms = ["{v}.requires_grad_(False)", "{v}.retain_grad()", "{v}.requires_grad = False"]
        form = _pick(data, forms + ([] if self.inference else ["{v}.requires_grad_(True)", "{v}.requires_grad_()",
                                                               "{v}.requires_grad = True"]),
                     "flag action")
        self.step(form.format(v=name))

    def rule_detach(self, data: st.DataObject) -> None:
        source = self.tensor(data, "tensor")
        form = _pick(data, ["{v}.detach()", "{v}.detach_()", "{v}.detach()", "{v}.data", "{v}.clone()", "{v}.grad",
                            "{v}.numpy()"], "detach form")
        name = self.fresh()
        self.step(f"{name} = {form.format(v=source)}", name)

    def rule_hook(self, data: st.DataObject) -> None:
        name = self.tensor(data, "hooked tensor")
        kind = _pick(data, [0, 0, 1, 2], "hook kind")  # tensor hooks twice as often
        handle = self.fresh("h")
        if kind == 0:
            statement = f"{handle} = {name}.register_hook({_pick(data, HOOKS, 'tensor hook')})"
        elif kind == 1:
            method, hook = _pick(data, NODE_HOOKS, "node hook")
            statement = f"{handle} = {name}.grad_fn.{method}({hook})"
        else:
            statement = f"{handle} = {name}.register_post_accumulate_grad_hook({ACC_HOOK})"
        if self.step(statement, handle, observed=False):
            self.handles.append(handle)

    def rule_remove_hook(self, data: st.DataObject) -> None:
        handle = _pick(data, self.handles, "hook handle")
        self.step(f"{handle}.remove()")

    def rule_mode(self, data: st.DataObject) -> None:
        kind = data.draw(st.integers(0, 3), label="mode action")
        if kind == 0 and self.contexts:
            self.step(f"{self.contexts.pop()}.__exit__(None, None, None)")
        elif kind == 1:  # set_grad_enabled called as a function: the mode stays set
            self.step(_pick(data, ["t.set_grad_enabled(False)", "t.set_grad_enabled(True)"], "set_grad_enabled"))
        elif kind == 2 and self.tensors():  # a decorated function
            source, name = self.tensor(data, "argument"), self.fresh()
            decorator = _pick(data, DECORATED, "decorator")
            self.step(f"{name} = {decorator}(lambda x: x * 2)({source})", name)
        else:
            name = self.fresh("c")
            self.contexts.append(name)
            self.step(f"{name} = {_pick(data, MODES, 'mode')}; {name}.__enter__()")


#: What the programs deliberately do not make: an inference tensor that requires grad (a leaf made with
#: requires_grad=True, or requires_grad_(), inside inference mode). Used outside inference mode, torch's handling
#: of one depends on each kernel (2.13.0: ``exp`` and ``neg`` give results that do not require grad, ``add`` and
#: ``mul`` record a node, ``clone`` records CopyBackwards), which is no semantics an engine can follow.
NOT_GENERATED = "inference tensors that require grad"

#: rule -> (weight, precondition); "leaf" and "op" are always enabled, the others are swarm-selected
RULES: dict[str, tuple[int, Any]] = {
    "leaf": (3, None),
    "op": (4, lambda p: p.tensors()),
    "backward": (5, lambda p: p.tensors()),
    "again": (3, lambda p: p.backwards),
    "grad": (3, lambda p: p.tensors()),
    "create_graph": (1, lambda p: p.tensors()),
    "zero_gradient": (2, lambda p: p.requiring()),
    "tutorial": (1, None),
    "view": (2, lambda p: p.tensors()),
    "inplace": (2, lambda p: p.tensors()),
    "mode_view": (2, lambda p: p.tensors()),
    "saved": (3, lambda p: p.tensors()),
    "grad_attr": (2, lambda p: p.tensors()),
    "flags": (2, lambda p: p.tensors()),
    "detach": (2, lambda p: p.tensors()),
    "hook": (3, lambda p: p.tensors()),
    "remove_hook": (1, lambda p: p.handles),
    "mode": (2, None),
}
CORE = ("leaf", "op")


def run_program(session: Session, dtype: str, tracker: Tracker, data: st.DataObject, max_steps: int,
                nodeid: str = "") -> int:
    """Draw and run one program of up to ``max_steps`` rules (raising Divergence on a mismatch); return the
    number of statements run."""
    tracker.example()
    swarm = [rule for rule in RULES if rule in CORE or data.draw(st.booleans(), label=f"enable {rule}")]
    steps = data.draw(st.integers(1, max_steps), label="steps")
    program = GraphProgram(session, dtype, tracker, nodeid)
    try:
        for _ in range(steps):
            possible = [rule for rule in swarm if RULES[rule][1] is None or RULES[rule][1](program)]
            weighted = [rule for rule in possible for _ in range(RULES[rule][0])]
            rule = data.draw(st.sampled_from(weighted), label="rule")
            getattr(program, f"rule_{rule}")(data)
    finally:
        program.close()
        tracker.steps = getattr(tracker, "steps", 0) + len(program.program)
    return len(program.program)


def _assigned(statement: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(statement)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names.extend(e.id for e in elements if isinstance(e, ast.Name) and not re.fullmatch(r"[ch]\d+", e.id))
    return names


def replay(session: Session, program: list[str]) -> tuple[int, list[dict]] | None:
    """Run a fixed graph-state ``program`` (statements) on torch and the engine, comparing after every step (and
    settling rounding as :meth:`GraphProgram.step` does); return (index of the first diverging statement, its
    mismatches), or None when they agree throughout."""
    ops = machine_ops()
    sides = [Side(session.reference.module, ops), Side(session.engine.module, ops, session.engine.wrap)]
    names: list[str] = []
    errors: list[dict | None] = []
    widened = Widened(session.reference.module, ops) if session.float64_replay else None
    try:
        for index, statement in enumerate(program):
            names += [n for n in _assigned(statement) if n not in names]
            reference, candidate = (session.engine.comparable(side.step(statement, names, session.timeout))
                                    for side in sides)
            if not sides[1].zerotensor:
                reference = without_zerotensor(reference)
            errors.append(reference["error"])
            mismatches = compare_outcomes(reference, candidate, dict(TOLERANCE))
            if mismatches and widened is not None:
                mismatches = settle(mismatches, reference, candidate, functools.partial(
                    widened.outcome, program[:index + 1], errors, names, session.timeout), dict(TOLERANCE))[0]
            if mismatches:
                return index, mismatches
        return None
    finally:
        for side in sides + ([widened.side] if widened is not None else []):
            side.close([])


def budget(session: Session) -> tuple[int, int]:
    """(programs per dtype, most steps per program) for the active profile (:data:`profiles.GRAPH_BUDGET`);
    an explicit ``max_examples`` (``--max-examples``) sets the number of programs."""
    current = settings.get_current_profile_name()
    count, steps = profiles.GRAPH_BUDGET.get("dev" if current == "default" else current, profiles.GRAPH_BUDGET["dev"])
    return (session.max_examples if session.max_examples is not None else count), steps


def check(session: Session, dtype: str, nodeid: str = "", programs_: int | None = None,
          max_steps: int | None = None) -> Tracker:
    """Run the graph-state property at ``dtype``: Divergence (recorded, with its reproducer) at the first
    mismatch, after shrinking unless the settings skip it. Returns the tracker (``examples``, ``steps``)."""
    if session.engine.unsupported("graph_state"):  # a wrapper engine that cannot run statements (its reason)
        pytest.skip(session.engine.unsupported("graph_state"))
    count, steps = budget(session)
    count, steps = programs_ or count, max_steps or steps
    with tracked(session, "graph_state", "graph", "graph_state", dtype, nodeid) as tracker:
        tracker.steps = 0

        def program(data: st.DataObject) -> None:
            run_program(session, dtype, tracker, data, steps, nodeid)

        program._hypothesis_internal_add_digest = f"graph_state|{dtype}|{steps}".encode()
        run = settings(session.settings(), max_examples=count)(given(st.data())(program))
        if session.reproduce:
            run = reproduce_failure(*reproduce_arguments(session.reproduce))(run)
        run()
    return tracker
