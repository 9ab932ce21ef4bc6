"""The numerical oracle for refgrad's JVPs (forward mode), without torch.

For random tangents ``v_i`` of every input, the forward-mode tangent of each output is compared with float64
central differences along v (``(f(x + eps·v) - f(x - eps·v)) / (2·eps)``), and with the engine's own VJP through
the transpose identity ``<w, J v> = Σ_i <Jᵀw|_i, v_i>`` (random ``w``), which needs no differencing at all.
``order=2`` does the same for ``x -> vjp(x, w)`` computed with forward tangents flowing through the backward pass
(forward-over-reverse: a Hessian-vector product for a scalar function).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import refgrad
from refgrad.autograd import forward_ad as fwAD

__all__ = ["check_jvp", "forward_tangents"]


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def forward_tangents(fn: Callable, arrays: Sequence[np.ndarray], tangents: Sequence[np.ndarray],
                     requires_grad: bool = False):
    """(outputs, their tangents as arrays, None where an output has none) of ``fn`` in forward mode."""
    with fwAD.dual_level():
        primals = [refgrad.tensor(a, dtype=refgrad.float64, requires_grad=requires_grad) for a in arrays]
        duals = [fwAD.make_dual(p, refgrad.tensor(v, dtype=refgrad.float64)) for p, v in zip(primals, tangents)]
        outs = _as_tuple(fn(*duals))
        found = []
        for o in outs:
            tangent = fwAD.unpack_dual(o).tangent
            found.append(None if tangent is None else tangent.detach().numpy(force=True).astype(np.float64))
    return primals, outs, found


def _values(fn, arrays):
    outs = _as_tuple(fn(*[refgrad.tensor(a, dtype=refgrad.float64, requires_grad=True) for a in arrays]))
    return [o.detach().numpy(force=True).astype(np.float64) for o in outs]


def check_jvp(fn: Callable, *arrays, order: int = 1, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-6,
              seed: int = 0) -> None:
    """Assert forward-mode tangents of ``fn`` (order 1) or of its gradient (order 2) match central differences
    and the VJP (transpose identity). ``fn`` takes float64 refgrad tensors; pick points away from kinks."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    target = fn if order == 1 else _gradient_function(fn, arrays, rng)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    primals, outs, tangents = forward_tangents(target, arrays, vs, requires_grad=True)
    plus = _values(target, [a + eps * v for a, v in zip(arrays, vs)])
    minus = _values(target, [a - eps * v for a, v in zip(arrays, vs)])
    for k, (out, tangent) in enumerate(zip(outs, tangents)):
        if not out.dtype.is_floating_point:
            assert tangent is None, f"output {k} is not floating but has a tangent"
            continue
        numeric = (plus[k] - minus[k]) / (2 * eps)
        got = np.zeros_like(numeric) if tangent is None else tangent
        scale = max(float(np.max(np.abs(numeric), initial=0.0)), 1.0)
        assert got.shape == numeric.shape, f"tangent {k} has shape {got.shape}, output has {numeric.shape}"
        assert np.allclose(got, numeric, rtol=rtol, atol=atol * scale), (
            f"{'forward-over-reverse ' if order == 2 else ''}JVP of output {k} disagrees with central "
            f"differences:\nforward mode {got!r}\nnumeric {numeric!r}")
    if order == 2:  # the transpose identity of the gradient function needs its graph (create_graph=True)
        target = _gradient_function(fn, arrays, np.random.default_rng(seed), create_graph=True)
    _check_transpose(target, arrays, vs, rng, rtol, atol)


def _check_transpose(fn, arrays, vs, rng, rtol, atol) -> None:
    """<w, J v> (forward mode) == Σ_i <(Jᵀ w)_i, v_i> (reverse mode)."""
    primals, outs, tangents = forward_tangents(fn, arrays, vs, requires_grad=True)
    floating = [k for k, o in enumerate(outs) if o.dtype.is_floating_point and o.requires_grad]
    if not floating:
        return
    ws = {k: rng.standard_normal(outs[k].shape) for k in floating}
    forward = sum(float(np.sum(ws[k] * (0 if tangents[k] is None else tangents[k]))) for k in floating)
    xs = [refgrad.tensor(a, dtype=refgrad.float64, requires_grad=True) for a in arrays]
    again = _as_tuple(fn(*xs))
    grads = refgrad.autograd.grad([again[k] for k in floating], xs,
                                  [refgrad.tensor(ws[k], dtype=refgrad.float64) for k in floating], allow_unused=True)
    reverse = sum(0.0 if g is None else float(np.sum(g.numpy(force=True) * v)) for g, v in zip(grads, vs))
    scale = max(abs(forward), abs(reverse), 1.0)
    assert abs(forward - reverse) <= atol + rtol * scale, (
        f"transpose identity fails: <w, Jv> = {forward!r} (forward mode), <Jᵀw, v> = {reverse!r} (reverse mode)")


def _gradient_function(fn: Callable, arrays, rng, create_graph: bool = False) -> Callable:
    """x -> vjp(x, w) for a fixed random w (no create_graph: forward tangents ride through the backward pass)."""
    with refgrad.no_grad():
        probe = _as_tuple(fn(*[refgrad.tensor(a, dtype=refgrad.float64) for a in arrays]))
    ws = [rng.standard_normal(o.shape) for o in probe if o.dtype.is_floating_point]

    def gradient(*tensors):
        leaves = [t if t.requires_grad else t.requires_grad_() for t in tensors]
        outs = [o for o in _as_tuple(fn(*leaves)) if o.dtype.is_floating_point]
        return tuple(refgrad.autograd.grad(outs, leaves, [refgrad.tensor(w, dtype=refgrad.float64) for w in ws],
                                           allow_unused=True, materialize_grads=True, create_graph=create_graph))

    return gradient
