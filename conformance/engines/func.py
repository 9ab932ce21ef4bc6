"""torch, with every gradient of the function under test computed by ``torch.func`` instead of torch.autograd.

    python -m conformance run --engine conformance.engines.func --properties vjp,double_backward
    python -m conformance run --engine conformance.engines.func:vmap      # or :jacrev, :grad

The spec function's differentiable inputs go through one ``autograd.Function`` whose forward runs the function
and whose backward asks torch.func for the VJP, so the programs' ``autograd.grad``/``backward`` calls (and
the graph-level checks around them: None for unused inputs, dtypes, accumulation into ``.grad``) stay the
programs' own while every vector-Jacobian product comes from the transform under test:

- ``vjp``: ``torch.func.vjp(f, *inputs)[1](cotangents)``;
- ``vmap``: the same ``vjp_fn`` under ``torch.func.vmap`` over a batch of three cotangents ``(v, -v, 0)``,
  returned as ``g0 + (g0 + g1 + g2)`` (exactly g0 when every row is right: the batching rules of every
  backward; the check term detached);
- ``jacrev``: ``torch.func.jacrev`` of every output w.r.t. every input, contracted with the cotangents (first
  order only);
- ``grad``: ``torch.func.grad`` of ``sum(out * v)`` (the scalar the VJP is the gradient of).

The backward is itself differentiable (torch.func composes with the surrounding autograd), so
``double_backward`` checks the VJP's own VJP. grad_fn names are not compared (outputs carry this engine's
node); the errors and graph-state properties exercise torch.autograd's bookkeeping, not torch.func: not run.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.func

from conformance.engines.wrapper import Wrapper

__all__ = ["Func", "ENGINE", "vjp", "vmap", "jacrev", "grad"]

MODES = ("vjp", "vmap", "jacrev", "grad")


def _flatten(result: Any) -> list:
    if isinstance(result, (tuple, list)):
        return [leaf for part in result for leaf in _flatten(part)]
    return [result]


def _differentiable(x: Any) -> bool:
    return isinstance(x, torch.Tensor) and (x.is_floating_point() or x.is_complex())


def _check(rows: torch.Tensor) -> torch.Tensor:
    """0 where the batch rows (g0, g1, g2) of cotangents (v, -v, 0) are consistent, their discrepancy elsewhere."""
    rows = rows.detach()
    total = rows[0] + rows[1] + rows[2]
    return torch.where(torch.isfinite(rows[0]), total, torch.zeros_like(total))


def _vjp(mode: str, pure: Callable, primals: tuple, cotangents: tuple) -> tuple:
    """The VJP of ``pure`` (inputs -> tuple of outputs) at ``primals`` with ``cotangents``, by ``mode``."""
    if mode == "vjp":
        return torch.func.vjp(pure, *primals)[1](cotangents)
    if mode == "vmap":
        _, vjp_fn = torch.func.vjp(pure, *primals)
        # rows 1 and 2 only exercise batching: detached, so under create_graph no zero gradient flows back
        # through them into v (0 * inf there would turn an infinite second-order entry into NaN)
        batch = tuple(torch.stack([v, -v.detach(), torch.zeros_like(v)]) for v in cotangents)
        # every row counts: g0 + (g0 + g1 + g2) is exactly g0 when rows 1 and 2 are right (-g0 and 0); the check
        # term is detached (second order flows through g0 alone) and left out where g0 is not finite (inf - inf)
        return tuple(g[0] + _check(g) for g in torch.func.vmap(vjp_fn)(batch))
    if mode == "grad":
        def scalar(*xs):
            return sum((out * v).sum() for out, v in zip(pure(*xs), cotangents))
        return torch.func.grad(scalar, argnums=tuple(range(len(primals))))(*primals)
    jacobians = torch.func.jacrev(pure, argnums=tuple(range(len(primals))))(*primals)  # [output][input]
    grads = []
    for index, primal in enumerate(primals):
        total = torch.zeros_like(primal)
        for jacobian, v in zip(jacobians, cotangents):
            block = jacobian[index]  # v.shape + primal.shape, in the output's dtype (mixed dtypes: promote)
            common = torch.promote_types(v.dtype, block.dtype)
            v, block = v.to(common), block.to(common)
            part = torch.tensordot(v, block, dims=v.dim()) if v.dim() else v * block
            total = total + part.to(primal.dtype)
        grads.append(total)
    return tuple(grads)


class _Through(torch.autograd.Function):
    """Forward: the spec function; backward: its VJP by torch.func."""

    @staticmethod
    def forward(ctx, plan: dict, *primals):
        ctx.plan = plan
        ctx.save_for_backward(*primals)
        outs = plan["pure_all"](*primals)
        flags = plan["flags"]
        ctx.mark_non_differentiable(*[out for out, flag in zip(outs, flags) if not flag and
                                      isinstance(out, torch.Tensor)])
        return tuple(out.clone() if isinstance(out, torch.Tensor) and out._base is not None else out for out in outs)

    @staticmethod
    def backward(ctx, *cotangents):
        plan, primals = ctx.plan, ctx.saved_tensors
        flags = plan["flags"]
        chosen = tuple(v for v, flag in zip(cotangents, flags) if flag)
        grads = _vjp(plan["mode"], plan["pure"], primals, chosen)
        return (None, *grads)


class Func(Wrapper):
    """Gradients of spec functions through torch.func (``mode``: vjp, vmap, jacrev or grad)."""

    ignored = (".grad_fn",)
    skipped = {
        "forward": "the forward is torch's own; this engine differs in gradients only",
        "errors": "autograd misuse errors are torch.autograd's bookkeeping, not torch.func's",
        "graph_state": "graph-state programs are statements, not a function to transform",
    }

    def __init__(self, mode: str = "vjp") -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown torch.func mode {mode!r} (known: {', '.join(MODES)})")
        self.mode = mode
        if mode == "jacrev":
            self.skipped = dict(self.skipped, double_backward=(
                "a Jacobian contracted with the cotangent is not a faithful second-order path: the contraction "
                "mixes every entry (0 * inf = NaN across entries) and ties the result to the cotangent where "
                "J = 0 (campaign stage e: 94 such cells, none a torch divergence)"))

    def version(self) -> str:
        return f"{torch.__version__} (torch.func.{self.mode})"

    def transform(self, fn: Callable) -> Callable:
        mode = self.mode

        def through(t, *args, **kwargs):
            positions = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
            if not positions or not torch.is_grad_enabled():
                return fn(t, *args, **kwargs)

            def call(*primals):
                full = list(args)
                for position, primal in zip(positions, primals):
                    full[position] = primal
                return fn(t, *full, **kwargs)

            with torch.enable_grad():  # which outputs torch's autograd would make differentiable
                probe = call(*[args[i].detach().requires_grad_() for i in positions])
            single = not isinstance(probe, (tuple, list))
            flags = [isinstance(out, torch.Tensor) and out.requires_grad and _differentiable(out)
                     for out in _flatten(probe)]

            def pure_all(*primals):
                return tuple(_flatten(call(*primals)))

            def pure(*primals):
                return tuple(out for out, flag in zip(pure_all(*primals), flags) if flag)

            plan = {"mode": mode, "pure": pure, "pure_all": pure_all, "flags": flags}
            outs = _Through.apply(plan, *[args[i] for i in positions])
            return outs[0] if single and len(outs) == 1 else outs

        return through


def vjp() -> Func:
    return Func("vjp")


def vmap() -> Func:
    return Func("vmap")


def jacrev() -> Func:
    return Func("jacrev")


def grad() -> Func:
    return Func("grad")


ENGINE = Func("vjp")
