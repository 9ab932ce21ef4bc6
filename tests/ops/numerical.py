"""The numerical oracle for refgrad's VJPs: a dot-product test against float64 central differences.

For a random cotangent ``v`` and a random direction ``u_i`` for input ``i``::

    <v, (f(x + eps·u_i) - f(x - eps·u_i)) / (2·eps)>  ==  <vjp(v)_i, u_i>

This needs no torch, so refgrad stays checked where torch is wrong. ``check_vjp(..., order=2)`` applies the same
test to ``x -> vjp(x, v)`` built with ``create_graph=True``, which checks every double-backward formula.

Complex inputs and outputs are points of R²: ``u`` and ``v`` get random real and imaginary parts and
``<a, b> = Re(sum(conj(a) b))``, so the test checks torch's convention that a complex gradient is
``dL/dx + i dL/dy`` for the real loss ``L = <v, f>``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import refgrad

__all__ = ["check_vjp", "check_backward_node", "directional_mismatch"]


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def _dtype(array: np.ndarray):
    return refgrad.complex128 if np.iscomplexobj(array) else refgrad.float64


def _array(a) -> np.ndarray:
    return np.asarray(a, dtype=np.complex128 if np.iscomplexobj(a) else np.float64)


def _random(rng, like) -> np.ndarray:
    """A standard normal array shaped like ``like`` (a tensor or array), complex when it is complex."""
    shape = tuple(like.shape)
    if _is_complex(like):
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return rng.standard_normal(shape)


def _is_complex(like) -> bool:
    return like.dtype.is_complex if isinstance(like, refgrad.Tensor) else np.iscomplexobj(like)


def _differentiable(out) -> bool:
    return out.dtype.is_floating_point or out.dtype.is_complex


def _inner(a, b) -> float:
    return float(np.sum(np.conj(a) * b).real)


def _evaluate(fn: Callable, arrays: Sequence[np.ndarray], requires_grad: Sequence[bool]):
    tensors = [refgrad.tensor(a, dtype=_dtype(a), requires_grad=bool(r)) for a, r in zip(arrays, requires_grad)]
    return tensors, _as_tuple(fn(*tensors))


def directional_mismatch(fn: Callable, arrays: Sequence[np.ndarray], *, wrt: Sequence[int] | None = None,
                         eps: float = 1e-6, seed: int = 0) -> list[tuple[int, float, float]]:
    """For each differentiated input: (index, analytic <vjp, u>, numeric <v, Ju>)."""
    rng = np.random.default_rng(seed)
    arrays = [_array(a) for a in arrays]
    wrt = list(range(len(arrays))) if wrt is None else list(wrt)
    tensors, outs = _evaluate(fn, arrays, [i in wrt for i in range(len(arrays))])
    floating = [k for k, o in enumerate(outs) if _differentiable(o) and o.requires_grad]
    cotangents = {k: _random(rng, outs[k]) for k in floating}
    grads = refgrad.autograd.grad([outs[k] for k in floating], [tensors[i] for i in wrt],
                                  [refgrad.tensor(cotangents[k], dtype=outs[k].dtype) for k in floating],
                                  allow_unused=True)

    def values_at(moved):  # inputs still require grad: fn may itself differentiate (order 2); force=True:
        # a gradient may be a ZeroTensor (sgn's), which refuses plain numpy() as in torch
        _, values = _evaluate(fn, moved, [i in wrt for i in range(len(moved))])
        return [_array(values[k].detach().resolve_conj().numpy(force=True)) for k in floating]

    results = []
    for i, g in zip(wrt, grads):
        u = _random(rng, arrays[i])
        analytic = 0.0 if g is None else _inner(g.detach().resolve_conj().numpy(force=True), u)
        plus, minus = list(arrays), list(arrays)
        plus[i], minus[i] = arrays[i] + eps * u, arrays[i] - eps * u
        numeric = sum(_inner(cotangents[k], (p - m) / (2 * eps))
                      for k, p, m in zip(floating, values_at(plus), values_at(minus)))
        results.append((i, analytic, numeric))
    return results


def check_vjp(fn: Callable, *arrays, wrt: Sequence[int] | None = None, order: int = 1, eps: float = 1e-6,
              rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0) -> None:
    """Assert refgrad's VJP of ``fn`` (order 1) or its double backward (order 2) matches central differences.

    ``fn`` takes refgrad float64 tensors and returns a tensor or a tuple of tensors; ``arrays`` are its inputs.
    Choose points away from kinks: the check assumes ``fn`` is smooth within ``eps``.
    """
    arrays = [_array(a) for a in arrays]
    target = fn if order == 1 else _gradient_function(fn, arrays, wrt, seed)
    for i, analytic, numeric in directional_mismatch(target, arrays, wrt=wrt, eps=eps, seed=seed):
        scale = max(abs(analytic), abs(numeric), 1.0)
        assert abs(analytic - numeric) <= atol + rtol * scale, (
            f"{'double ' if order == 2 else ''}VJP of input {i} disagrees with central differences: "
            f"analytic <vjp, u> = {analytic!r}, numeric <v, Ju> = {numeric!r}")


def _gradient_function(fn: Callable, arrays, wrt, seed: int) -> Callable:
    """x -> vjp(x, v) for a fixed random v, recorded with create_graph=True so it can be differentiated again."""
    rng = np.random.default_rng(seed + 1)
    wrt = list(range(len(arrays))) if wrt is None else list(wrt)
    with refgrad.no_grad():
        probe = _as_tuple(fn(*[refgrad.tensor(a, dtype=_dtype(a)) for a in arrays]))
    cotangents = [_random(rng, o) for o in probe if _differentiable(o)]

    def gradient(*tensors):
        outs = [o for o in _as_tuple(fn(*tensors)) if _differentiable(o)]
        vs = [refgrad.tensor(c, dtype=_dtype(c)) for c in cotangents]
        return tuple(refgrad.autograd.grad(outs, [tensors[i] for i in wrt], vs, create_graph=True,
                                           allow_unused=True, materialize_grads=True))

    return gradient


def check_backward_node(fn: Callable, *arrays, rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0) -> None:
    """Assert the node that computes ``fn``'s gradient under create_graph matches central differences, in the
    inputs and in the cotangent ``v`` (its VJP), and that its VJP's own VJP does, in the second cotangent ``u``.

    ``check_vjp(fn, order=2)`` holds ``v`` fixed; a gradient linear in ``v`` alone (a scatter, nll_loss's
    backward) is then constant in the inputs and leaves its recorded node unchecked: this varies ``v`` and ``u``.
    """
    arrays = [_array(a) for a in arrays]
    rng = np.random.default_rng(seed + 2)
    with refgrad.no_grad():
        probe = _as_tuple(fn(*[refgrad.tensor(a, dtype=_dtype(a)) for a in arrays]))
    outs = [o for o in probe if _differentiable(o)]
    count = len(arrays)

    def gradient(*tensors):
        inputs, vs = tensors[:count], tensors[count:]
        values = [o for o in _as_tuple(fn(*inputs)) if _differentiable(o)]
        return tuple(refgrad.autograd.grad(values, inputs, vs, create_graph=True, materialize_grads=True))

    def gradient_vjp(*tensors):
        grads = gradient(*tensors[:count + len(outs)])
        return tuple(refgrad.autograd.grad(
            [g for g in grads if g.requires_grad], tensors[:count + len(outs)],
            [u for g, u in zip(grads, tensors[count + len(outs):]) if g.requires_grad], create_graph=True,
            materialize_grads=True))

    vs = [_random(rng, o) for o in outs]
    check_vjp(gradient, *arrays, *vs, rtol=rtol, atol=atol, seed=seed)
    check_vjp(gradient_vjp, *arrays, *vs, *[_random(rng, a) for a in arrays], rtol=rtol, atol=atol, seed=seed)
