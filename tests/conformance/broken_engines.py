"""Deliberately broken engines: torch's namespace with one thing wrong each. The conformance suite must flag
every one of them (see test_meta_broken_engines.py). Load as
``--engine tests.conformance.broken_engines:<name>`` from the repository root.

Op-level breakage is injected with tensor hooks on an identity view, so the forward (values, grad_fn names)
stays exactly torch's and only the intended property can notice.
"""
from __future__ import annotations

import contextlib
import types

import torch

from conformance.engines.wrapper import Wrapper


class TorchProxy(types.ModuleType):
    """A module that is ``base`` except for ``overrides`` (nested namespaces via ``children``)."""

    def __init__(self, name: str, base, overrides=None, children=None):
        super().__init__(name)
        self._base = base
        self.__dict__.update(overrides or {})
        self.__dict__.update(children or {})
        self.__version__ = f"{torch.__version__}+{name}"

    def __getattr__(self, name):
        return getattr(self._base, name)


def _engine(name, overrides=None, autograd=None, functional=None):
    children = {}
    if autograd:
        children["autograd"] = TorchProxy(f"{name}.autograd", torch.autograd, autograd)
    if functional:
        children["nn"] = TorchProxy(f"{name}.nn", torch.nn, children={
            "functional": TorchProxy(f"{name}.nn.functional", torch.nn.functional, functional)})
    return TorchProxy(name, torch, overrides, children)


def _hooked_input(x, hook):
    """An identity view of ``x`` whose incoming gradient passes through ``hook`` (when x requires grad)."""
    if not (isinstance(x, torch.Tensor) and x.requires_grad):
        return x
    middle = x.view_as(x)
    middle.register_hook(hook)
    return middle


def _exp_scaled(x, *args, **kwargs):
    return torch.exp(_hooked_input(x, lambda grad: grad * 1.01), *args, **kwargs)


def _exp_ignoring_cotangent(x, *args, **kwargs):
    out = torch.exp(x, *args, **kwargs)
    if out.requires_grad:
        out.register_hook(torch.ones_like)
    return out


def _exp_first_order_only(x, *args, **kwargs):
    return torch.exp(_hooked_input(x, lambda grad: grad.detach()), *args, **kwargs)


def _exp_gradient_node_renamed(x, *args, **kwargs):
    """exp of x / 1.0: every value and the forward's ExpBackward0 are torch's, but the gradient computed with
    create_graph is a DivBackward0 (torch's: MulBackward0)."""
    if not (isinstance(x, torch.Tensor) and x.requires_grad):
        return torch.exp(x, *args, **kwargs)
    return torch.exp(x / 1.0, *args, **kwargs)


def _abs_wrong_subgradient(x):
    """abs with d|x|/dx = 1 at x == 0 (torch: 0)."""
    seen = {}
    out = torch.abs(_hooked_input(x, lambda grad: torch.where(x.detach() == 0, seen["cotangent"], grad)))
    if out.requires_grad:
        out.register_hook(lambda grad: seen.setdefault("cotangent", grad))
    return out


def _float32_gradient_rounded_once(op, bias=0.0):
    """``op`` (a one-tensor torch function) whose float32 gradient is its float64 gradient (torch's float64
    kernel on the same input and cotangent, widened exactly) times ``1 + bias``, rounded once to float32: more
    accurate than torch's float32 kernel where that one cancels. The forward stays torch's (values, grad_fn)."""
    def rounded_once(x, *args, **kwargs):
        if not (isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.requires_grad):
            return op(x, *args, **kwargs)
        seen = {}

        def exact(grad):
            wide = x.detach().double().requires_grad_()
            with torch.enable_grad():
                (gradient,) = torch.autograd.grad(op(wide, *args, **kwargs), wide, seen["cotangent"].double())
            return (gradient * (1.0 + bias)).to(grad.dtype)

        out = op(_hooked_input(x, exact), *args, **kwargs)
        if out.requires_grad:
            out.register_hook(lambda grad: seen.setdefault("cotangent", grad))
        return out
    return rounded_once


def _float32_value_rounded_once(op, bias=0.0):
    """``op`` whose float32 result (all tensor arguments float32) holds its float64 value times ``1 + bias``,
    rounded once, written into torch's own output through ``.data``: torch's graph, grad_fn and gradients."""
    def rounded_once(*args, **kwargs):
        out = op(*args, **kwargs)
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        if isinstance(out, torch.Tensor) and out.dtype == torch.float32 and all(
                a.dtype == torch.float32 for a in tensors):
            wide = op(*[a.detach().double() if isinstance(a, torch.Tensor) else a for a in args], **kwargs)
            out.data.copy_(wide * (1.0 + bias))
        return out
    return rounded_once


_EXP_CALLS = [0]


def _exp_first_call_off(x, *args, **kwargs):
    """exp, 1 % too large on the process's first call only: a divergence its replay does not repeat."""
    _EXP_CALLS[0] += 1
    out = torch.exp(x, *args, **kwargs)
    return out * 1.01 if _EXP_CALLS[0] == 1 else out


def _exp_hanging(x, *args, **kwargs):
    while True:  # an engine stuck in an infinite loop
        pass


def _exp_crashing(x, *args, **kwargs):
    raise SystemError("engine internal error")


def _add_promoting_to_double(a, b, **kwargs):
    out = torch.add(a, b, **kwargs)
    integral = [v for v in (a, b) if isinstance(v, torch.Tensor) and not v.dtype.is_floating_point]
    return out.double() if integral and out.dtype == torch.float32 else out


def _relaid(op, layout):
    """``op`` whose output keeps its values, autograd node and version but not torch's memory layout: ``.data``
    swapped for a copy in another one (``layout(data)``)."""
    def relaid(*args, **kwargs):
        out = op(*args, **kwargs)
        out.data = layout(out.data)
        return out
    return relaid


def _fortran(x):
    order = tuple(reversed(range(x.dim())))
    return x.permute(order).contiguous().permute(order)


def _matmul_value_error(a, b, **kwargs):
    try:
        return torch.matmul(a, b, **kwargs)
    except RuntimeError as error:
        raise ValueError(str(error)) from None


def _backward_other_message(*args, **kwargs):
    try:
        return torch.autograd.backward(*args, **kwargs)
    except RuntimeError as error:
        raise RuntimeError("graph already freed") from error if "second time" in str(error) else error


class _NoOpContext(contextlib.ContextDecorator):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _backward_overwriting(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """autograd.backward that overwrites .grad instead of accumulating (only through t.autograd.backward)."""
    targets = list(inputs) if inputs is not None else None
    if targets is None:
        roots = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
        targets, stack, seen = [], [r.grad_fn for r in roots if r.grad_fn is not None], set()
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            if hasattr(node, "variable"):
                targets.append(node.variable)
            stack.extend(next_node for next_node, _ in node.next_functions)
    for leaf in targets:
        leaf.grad = None
    return torch.autograd.backward(tensors, grad_tensors, retain_graph, create_graph, inputs=inputs)


def _grad_ones(outputs, inputs, grad_outputs=None, **kwargs):
    """autograd.grad that ignores the supplied cotangents (as if they were all ones): every VJP is wrong."""
    if grad_outputs is not None:
        single = isinstance(grad_outputs, torch.Tensor)
        ones = [g if g is None else torch.ones_like(g) for g in ([grad_outputs] if single else grad_outputs)]
        grad_outputs = ones[0] if single else ones
    return torch.autograd.grad(outputs, inputs, grad_outputs, **kwargs)


exp_vjp_scaled = _engine("exp_vjp_scaled", {"exp": _exp_scaled})
exp_ignores_cotangent = _engine("exp_ignores_cotangent", {"exp": _exp_ignoring_cotangent})
exp_hangs = _engine("exp_hangs", {"exp": _exp_hanging})
#: nondeterministic: wrong on the first call only (Hypothesis's replay of the failing example then passes)
exp_flaky = _engine("exp_flaky", {"exp": _exp_first_call_off})
exp_crashes = _engine("exp_crashes", {"exp": _exp_crashing})
exp_first_order_only = _engine("exp_first_order_only", {"exp": _exp_first_order_only})
exp_gradient_node_renamed = _engine("exp_gradient_node_renamed", {"exp": _exp_gradient_node_renamed})
abs_subgradient_one = _engine("abs_subgradient_one", {"abs": _abs_wrong_subgradient})
add_promotes_to_double = _engine("add_promotes_to_double", {"add": _add_promoting_to_double})
#: elementwise mul's result Fortran-ordered (torch's is C-contiguous from C-contiguous operands): view() raises
mul_fortran_ordered = _engine("mul_fortran_ordered", {"mul": _relaid(torch.mul, _fortran)})
#: t's result a C-contiguous copy (torch's is the transposed view: not contiguous)
t_contiguous = _engine("t_contiguous", {"t": _relaid(torch.t, torch.Tensor.contiguous)})
matmul_value_error = _engine("matmul_value_error", {"matmul": _matmul_value_error})
backward_twice_message = _engine("backward_twice_message", autograd={"backward": _backward_other_message})
no_grad_ignored = _engine("no_grad_ignored", {"no_grad": _NoOpContext})
backward_overwrites = _engine("backward_overwrites", autograd={"backward": _backward_overwriting})
grad_ignores_cotangent = _engine("grad_ignores_cotangent", autograd={"grad": _grad_ones})
#: acosh's float32 gradient 1e-4 relative too large (computed in float64, biased, rounded once): near x = 1, where
#: torch's float32 kernel cancels in x*x - 1 (its error there: median 1.5e-6, 99th percentile 4e-5 relative), this
#: is 10-100x torch's own error, a float32-sized bug that only the float64 replay's rule can tell from rounding
acosh_float32_bias = _engine("acosh_float32_bias", {"acosh": _float32_gradient_rounded_once(torch.acosh, 1e-4)})
#: matmul's float32 value 2e-3 relative too large (rounded once): 4x torch's float32 error at the cancelling dot
#: product of tests/conformance/test_graph_replay.py, so the graph-state float64 replay must not settle it
matmul_float32_bias = _engine("matmul_float32_bias", {"matmul": _float32_value_rounded_once(torch.matmul, 2e-3)})
bce_sum_for_mean = _engine("bce_sum_for_mean", functional={
    "binary_cross_entropy_with_logits":
        lambda i, t, reduction="mean", **kw: torch.nn.functional.binary_cross_entropy_with_logits(
            i, t, reduction="sum" if reduction == "mean" else reduction, **kw)})


def missing_api():
    """A factory returning something that is not torch-like (load_engine must refuse it)."""
    return types.SimpleNamespace(tensor=torch.tensor)


BROKEN = {name: value for name, value in globals().items() if isinstance(value, TorchProxy)}

#: the control of acosh_float32_bias, not broken: acosh's float32 gradient is the float64 one rounded once (it
#: differs from torch's float32 kernel only by rounding; the float64 replay must settle every such mismatch)
acosh_rounded_once = _engine("acosh_rounded_once", {"acosh": _float32_gradient_rounded_once(torch.acosh)})

#: not broken: matmul's float32 value is its float64 value rounded once (a graph-state program's float64 replay
#: must settle where it differs from torch's float32 kernel: tests/conformance/test_graph_replay.py)
matmul_rounded_once = _engine("matmul_rounded_once", {"matmul": _float32_value_rounded_once(torch.matmul)})

#: torch behind a module proxy with nothing changed: every property must stay clean on it (not in BROKEN)
passthrough = _engine("passthrough")


class _PassThroughWrapper(Wrapper):
    """A wrapper engine (conformance.engines.wrapper) whose transform calls the function unchanged."""

    def transform(self, fn):
        return lambda t, *args, **kwargs: fn(t, *args, **kwargs)


#: the same, as a wrapper engine: every op of a graph-state program goes through its wrap()
passthrough_wrapper = _PassThroughWrapper()
