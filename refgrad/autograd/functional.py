"""torch.autograd.functional: vjp, jacobian and hessian, built on ``autograd.grad``."""
from __future__ import annotations

from typing import Callable

__all__ = ["vjp", "jacobian", "hessian"]


def _tuple(x):
    from refgrad.tensor import Tensor
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _prepare(inputs, create_graph: bool):
    from refgrad.tensor import Tensor
    is_tensor = isinstance(inputs, Tensor)
    prepared = tuple(t.detach().requires_grad_(True) if not (create_graph and t.requires_grad) else t.view_as(t)
                     for t in _tuple(inputs))
    return is_tensor, prepared


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ·J) — torch.autograd.functional.vjp; unused inputs get zero gradients."""
    from refgrad import autograd, zeros_like
    is_tensor, xs = _prepare(inputs, create_graph)
    with autograd.enable_grad():
        out = func(*xs)
        outs = _tuple(out)
        vs = _tuple(v) if v is not None else (None,) * len(outs)
        grads = autograd.grad(outs, xs, vs, create_graph=create_graph, allow_unused=True)
    grads = tuple(zeros_like(x) if g is None else g for x, g in zip(xs, grads))
    if not create_graph:
        out = out.detach() if is_tensor or not isinstance(out, tuple) else tuple(o.detach() for o in out)
    return out, grads[0] if is_tensor else grads


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """The Jacobian of func at inputs, one reverse pass per output element (torch.autograd.functional.jacobian).

    Shapes follow torch: for one input and one output, ``out.shape + input.shape``; tuples nest as in torch.
    """
    from refgrad import autograd, stack, zeros
    is_tensor, xs = _prepare(inputs, create_graph)
    with autograd.enable_grad():
        out = func(*xs)
        out_is_tensor = not isinstance(out, tuple)
        outs = _tuple(out)
        blocks = []
        for o in outs:
            rows = [[] for _ in xs]
            flat = o.reshape(-1)
            for k in range(flat.numel()):
                if flat.requires_grad:
                    gs = autograd.grad(flat[k], xs, retain_graph=True, create_graph=create_graph,
                                       allow_unused=True)
                else:
                    gs = (None,) * len(xs)
                for j, (x, g) in enumerate(zip(xs, gs)):
                    rows[j].append(zeros(x.shape, dtype=x.dtype) if g is None else g)
            blocks.append(tuple(
                (stack(r) if r else zeros((0,) + tuple(x.shape), dtype=x.dtype)).reshape(tuple(o.shape) +
                                                                                          tuple(x.shape))
                for r, x in zip(rows, xs)))
    if not create_graph:
        blocks = [tuple(b.detach() for b in block) for block in blocks]
    if out_is_tensor:
        return blocks[0][0] if is_tensor else blocks[0]
    return tuple(block[0] for block in blocks) if is_tensor else tuple(blocks)


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function: the Jacobian of its gradient (torch.autograd.functional.hessian)."""
    from refgrad import autograd
    is_tensor = not isinstance(inputs, tuple)

    def gradient(*xs):
        out = func(*xs)
        grads = autograd.grad(out, xs, create_graph=True, allow_unused=True)
        from refgrad import zeros_like
        grads = tuple(zeros_like(x) if g is None else g for x, g in zip(xs, grads))
        return grads[0] if is_tensor else grads

    return jacobian(gradient, inputs, create_graph=create_graph)
