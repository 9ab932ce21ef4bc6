"""torch.autograd.functional: vjp, jvp, vhp, hvp, jacobian and hessian.

vjp, vhp and the reverse-mode jacobian use ``autograd.grad``; jvp, hvp and ``strategy="forward-mode"`` use forward
mode (refgrad.autograd.forward_ad): hvp is forward-over-reverse. ``vectorize=True`` is accepted as in torch (it
selects torch's batched implementation; refgrad loops either way, with the same values)."""
from __future__ import annotations

from typing import Callable

__all__ = ["vjp", "jvp", "vhp", "hvp", "jacobian", "hessian"]


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
    """The Jacobian of func at inputs, one reverse pass per output element (torch.autograd.functional.jacobian),
    or with ``strategy="forward-mode"`` (and ``vectorize=True``, as torch requires) one forward pass per input element.

    Shapes follow torch: for one input and one output, ``out.shape + input.shape``; tuples nest as in torch.
    """
    _check_strategy(strategy, vectorize, create_graph, hint=True)
    if strategy == "forward-mode":
        return _forward_jacobian(func, inputs)
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
    """The Hessian of a scalar function: the Jacobian of its gradient (torch.autograd.functional.hessian);
    ``outer_jacobian_strategy="forward-mode"`` takes that Jacobian in forward mode (forward-over-reverse)."""
    from refgrad import autograd
    _check_strategy(outer_jacobian_strategy, vectorize, False, hint=False)
    is_tensor = not isinstance(inputs, tuple)

    def gradient(*xs):
        out = func(*xs)
        grads = autograd.grad(out, xs, create_graph=True, allow_unused=True)
        from refgrad import zeros_like
        grads = tuple(zeros_like(x) if g is None else g for x, g in zip(xs, grads))
        return grads[0] if is_tensor else grads

    return jacobian(gradient, inputs, create_graph=create_graph, vectorize=vectorize,
                    strategy=outer_jacobian_strategy)


def _check_strategy(strategy: str, vectorize: bool, create_graph: bool, hint: bool) -> None:
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".' + (
            ' Hint: If your function has more outputs than inputs, "forward-mode" tends to be more performant. '
            'Otherwise, prefer to use "reverse-mode".' if hint else ""))
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                'torch.autograd.functional.jacobian: `create_graph=True` and `strategy="forward-mode"` are not '
                'supported together (yet). Please either set `create_graph=False` or `strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                      "only implemented for `vectorize=True`.")


def _forward_jacobian(func: Callable, inputs):
    """torch's nesting of Jacobian blocks, computed column by column in forward mode (refgrad.func.jacfwd)."""
    from refgrad import func as transforms
    from refgrad.tensor import Tensor
    is_tensor = isinstance(inputs, Tensor)
    _, xs = _prepare(inputs, False)  # inputs require grad: func may differentiate (forward-over-reverse hessian)
    jac = transforms.jacfwd(lambda *a: func(*a), argnums=tuple(range(len(xs))))(*xs)
    leaves, spec = transforms._flatten(jac)
    jac = transforms._unflatten([j.detach() for j in leaves], spec)
    if isinstance(jac, tuple) and jac and isinstance(jac[0], tuple):  # several outputs
        return tuple(block[0] for block in jac) if is_tensor else jac
    return jac[0] if is_tensor else jac


def _check_v(v, xs, name: str):
    """torch's checks of the vector ``v`` against the inputs ``xs``."""
    from refgrad import ones_like
    if v is None:
        if len(xs) != 1 or xs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a single "
                               "Tensor with a single element.")
        return (ones_like(xs[0]),)
    vs = _tuple(v)
    if len(vs) != len(xs):
        raise RuntimeError(f"The given v should contain a single Tensor for each input of the user-provided "
                           f"function. Got {len(vs)} Tensors in v while {len(xs)} inputs.")
    for x, t in zip(xs, vs):
        if tuple(x.shape) != tuple(t.shape):
            raise RuntimeError(f"v has invalid size: should be {x.shape} but got {t.shape}.")
    return vs


def _check_outputs(out, name: str) -> tuple:
    from refgrad.tensor import Tensor
    outs = _tuple(out) if isinstance(out, (Tensor, tuple)) else None
    if outs is None or not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"The outputs of the user-provided function given to {name} must be either a Tensor or a tuple "
                        f"of Tensors but the given outputs of the user-provided function has type {type(out)}.")
    return outs


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J·v) by forward mode (torch.autograd.functional.jvp)."""
    from refgrad import zeros_like
    from refgrad.autograd import forward_ad as fw
    is_tensor, xs = _prepare(inputs, create_graph)
    vs = _check_v(v, xs, "jvp")
    lid = fw._push_level()
    try:
        duals = tuple(fw._make_dual(x, t, lid) for x, t in zip(xs, vs))
        out = func(*duals)
        outs = _check_outputs(out, "jvp")
        if strict:
            for i, o in enumerate(outs):
                if not o.requires_grad:
                    raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The "
                                       "outputs must be computed in a differentiable manner from the input when "
                                       "running in strict mode.")
        tangents = tuple(fw.get_tangent(o, lid) for o in outs)
        primals = tuple(_drop_tangent(o, lid) for o in outs)
    finally:
        fw._pop_level(lid)
    tangents = tuple(zeros_like(o) if t is None else t for o, t in zip(primals, tangents))
    if not create_graph:
        primals, tangents = tuple(p.detach() for p in primals), tuple(t.detach() for t in tangents)
    return (primals[0], tangents[0]) if len(_tuple(out)) == 1 and not isinstance(out, tuple) else (primals, tangents)


def _drop_tangent(tensor, lid: int):
    """The function's own output without its tangent at ``lid`` (torch's jvp and hvp, computed by double backward,
    return the output itself: its grad_fn is the function's last node)."""
    if tensor._fw and lid in tensor._fw:
        tensor._fw = {k: v for k, v in tensor._fw.items() if k != lid} or None
    return tensor


def _scalar_output(func, xs, name: str):
    out = func(*xs)
    outs = _check_outputs(out, name)
    if len(outs) != 1 or outs[0].numel() != 1:
        raise RuntimeError(f"The {'Tensor' if len(outs) == 1 else 'function'} returned by the function given to "
                           f"{name} should contain a single element")
    return outs[0]


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), vᵀ·H) by reverse-over-reverse (torch.autograd.functional.vhp)."""
    from refgrad import autograd, zeros_like
    is_tensor, xs = _prepare(inputs, create_graph)
    vs = _check_v(v, xs, "vhp")
    with autograd.enable_grad():
        out = _scalar_output(func, xs, "vhp")
        grads = autograd.grad(out, xs, create_graph=True, allow_unused=True)
        pairs = [(g, t) for g, t in zip(grads, vs) if g is not None and g.requires_grad]
        if strict and len(pairs) != len(xs):
            index = next(i for i, g in enumerate(grads) if g is None or not g.requires_grad)
            raise RuntimeError(_INDEPENDENT.format(index))
        second = autograd.grad([g for g, _ in pairs], xs, [t for _, t in pairs], create_graph=create_graph,
                               allow_unused=True) if pairs else (None,) * len(xs)
    result = tuple(zeros_like(x) if s is None else s for x, s in zip(xs, second))
    if not create_graph:
        out, result = out.detach(), tuple(r.detach() for r in result)
    return out, result[0] if is_tensor else result


_INDEPENDENT = ("While computing the hessian, found that the jacobian of the user-provided function with respect to "
                "input {} is independent of the input. This is not allowed in strict mode. You should ensure that "
                "your function is twice differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example).")


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H·v) by forward-over-reverse: the JVP of the gradient (torch.autograd.functional.hvp)."""
    from refgrad import autograd, zeros_like
    from refgrad.autograd import forward_ad as fw
    is_tensor, xs = _prepare(inputs, create_graph)
    vs = _check_v(v, xs, "hvp")
    lid = fw._push_level()
    try:
        duals = tuple(fw._make_dual(x, t, lid) for x, t in zip(xs, vs))
        with autograd.enable_grad():
            out = _scalar_output(func, duals, "hvp")
            grads = autograd.grad(out, duals, create_graph=create_graph, allow_unused=True)
        if strict:
            for i, g in enumerate(grads):
                if g is None or fw.get_tangent(g, lid) is None:
                    raise RuntimeError(_INDEPENDENT.format(i))
        result = tuple(zeros_like(x) if g is None or fw.get_tangent(g, lid) is None else fw.get_tangent(g, lid)
                       for x, g in zip(xs, grads))
        out = _drop_tangent(out, lid)
    finally:
        fw._pop_level(lid)
    if not create_graph:
        out, result = out.detach(), tuple(r.detach() for r in result)
    return out, result[0] if is_tensor else result
