"""torch.func on every op: jacrev and jacfwd of the same function (and whether they agree), the hessian of a
random projection of the outputs, and vmap over a batch of two against a loop.

The hessian (forward-over-reverse) and vmap steps are dropped from an example when torch itself cannot run them
there (an op whose backward has no forward rule in torch, or no batching rule): the reference decides what is
comparable. The Jacobians are dropped only where torch.func's *batched* jacrev/jacfwd fail while the same
derivatives computed one row or column at a time (``autograd.grad`` per output element, ``forward_ad`` per input
element) succeed on torch, or fail with another error: a batching limitation of torch.func (no batching rule
for ``glu_jvp`` or ``put``, vmap over a dimension of size 0, ``index_fill`` with a negative index under vmap), not a
semantics an engine should copy. torch.func's own API errors (complex inputs or outputs) and the op's errors are
kept and compared.
An engine without ``func`` gets one "unsupported" summary record, every case skipped.
"""
from __future__ import annotations

import pytest

from conformance import programs
from conformance.examples import draw_cotangents, draw_inputs
from conformance.harness import check, run_both, run_one
from conformance.programs import flatten_outputs, make_input
from conformance.properties import cases, skip_unsupported
from conformance.properties.test_jvp import identity_tol

OPTIONAL_STEPS = ("jacobians", "hessian", "vmap")
#: torch.func's own checks (kept: an engine must raise them too)
API_ERRORS = ("jacrev: Expected all", "jacfwd: Expected all")


def unbatched_jacobians(t, fn, inputs, kwargs, extra, obs):
    """The Jacobians of program_func's ``f`` without vmap: ``autograd.grad`` per output element (reverse) and a
    ``forward_ad`` JVP per input element (forward). Raises where the derivatives themselves fail."""
    args = [make_input(t, item) for item in inputs]
    plain = [a.detach() if isinstance(a, t.Tensor) else a for a in args]
    positions = [i for i, item in enumerate(inputs) if item["kind"] == "tensor" and item["requires_grad"]]
    chosen = [k for k, item in enumerate(extra["cotangents"]) if item is not None]

    def f(*diff):
        full = list(plain)
        for p, d in zip(positions, diff):
            full[p] = d
        outs = flatten_outputs(t, fn(t, *full, **kwargs))
        return [outs[k] for k in chosen]

    leaves = [plain[p].clone().requires_grad_(True) for p in positions]
    for out in f(*leaves):
        for k in range(out.numel() if out.requires_grad else 0):
            t.autograd.grad(out.reshape(-1)[k], leaves, allow_unused=True, retain_graph=True)
    fwad = t.autograd.forward_ad
    for j, x in enumerate(plain[p] for p in positions):
        for k in range(x.numel()):
            with fwad.dual_level():
                unit = t.zeros(x.numel(), dtype=x.dtype)
                unit[k] = 1
                diff = [plain[p] for p in positions]
                diff[j] = fwad.make_dual(x, unit.reshape(x.shape))
                for out in f(*diff):
                    fwad.unpack_dual(out)


def same_error(batched: dict, unbatched: dict | None) -> bool:
    """Whether the unbatched derivatives fail as torch.func did (else the failure is torch.func's batching: an
    error where the unbatched path succeeds, or another error than the unbatched path's, as ``index_fill`` with a
    negative index, whose batched backward raises RuntimeError where the plain one raises IndexError)."""
    return unbatched is not None and (unbatched["type"], unbatched["message"]) == (batched["type"], batched["message"])


def func_trial(session, spec, dtype, data):
    """Draw inputs and output cotangents; run the transforms torch can run on this example."""
    inputs, kwargs = draw_inputs(data, spec, dtype)
    forward = run_one(session, session.reference.module, programs.program_forward, spec.fn, inputs, kwargs, {})
    extra = {"cotangents": draw_cotangents(data, forward["obs"]), "identity_tol": identity_tol(inputs),
             "steps": list(OPTIONAL_STEPS)}
    while True:
        reference = run_one(session, session.reference.module, programs.program_func, spec.fn, inputs, kwargs, extra)
        error = reference["error"] or {}
        failed = "jacobians" if error.get("step") in ("jacrev", "jacfwd") else error.get("step")
        if failed not in extra["steps"]:
            break
        if failed == "jacobians" and (error["message"].startswith(API_ERRORS) or same_error(error, run_one(
                session, session.reference.module, unbatched_jacobians, spec.fn, inputs, kwargs, extra)["error"])):
            break  # torch.func's API refuses the function, or the derivatives themselves fail the same way: compared
        extra["steps"].remove(failed)
    return run_both(session, programs.program_func, spec.fn, inputs, kwargs, extra)


@pytest.mark.parametrize(("spec", "dtype"), cases("func"))
def test_func(spec, dtype, conformance_session, request):
    """jacrev, jacfwd, hessian and vmap agree with torch.func's."""
    skip_unsupported(conformance_session, "func", ("func.jacrev", "func.jacfwd", "func.hessian", "func.vmap"))
    check(conformance_session, spec, dtype, "func", func_trial, request.node.nodeid)
