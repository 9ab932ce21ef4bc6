"""Forward-mode AD (torch.autograd.forward_ad): dual tensors whose tangents ride through every op.

A tensor's tangents live in ``tensor._fw`` (a dict: level id -> tangent tensor). :class:`Primitive` calls
:func:`propagate` after each forward while a level is open; the op's JVP rule (``Primitive(jvp=...)``, next to
its VJP) computes the output's tangent in refgrad ops, so tangents are themselves differentiable (forward-over-
reverse, reverse-over-forward) and can carry tangents of other levels (nested ``refgrad.func.jvp``).

Rules (see :mod:`refgrad.autograd._jvp_rules`): ``"linear"`` (the op applied to the tangents), ``"elementwise"``
(each input's Jacobian block is diagonal, hence self-adjoint: the VJP at the tangent), a callable, or, by default,
the generic transpose rule: every VJP is linear in its cotangent and written in differentiable refgrad ops, so
J·v is the VJP of ``u ↦ Jᵀu`` at cotangent ``v``. One mechanism gives every op with a VJP a JVP.

Views: the tangent of a view is a view of its base's tangent (derived lazily when the base gains one later); an
in-place op writes the new tangent into the existing tangent's storage, so the base's tangent sees it.
As in torch, the public API allows one level at a time; ``refgrad.func.jvp`` nests internal levels.
"""
from __future__ import annotations

import itertools
from collections import namedtuple

import numpy as np

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]


class _State:
    """The open levels (innermost last) and the levels hidden while a JVP rule of that level runs."""

    def __init__(self) -> None:
        self.stack: list[int] = []
        self.hidden: set[int] = set()
        self.public: int | None = None  # the level opened by enter_dual_level (torch allows one)


_state = _State()
_ids = itertools.count(1)
_NO_TANGENT = None


class UnpackedDualTensor(namedtuple("UnpackedDualTensor", ["primal", "tangent"])):
    r"""Namedtuple returned by :func:`unpack_dual` containing the primal and tangent components of the dual tensor.

    See :func:`unpack_dual` for more details.
    """


# --- levels ---------------------------------------------------------------------------------------------------

def _push_level() -> int:
    level = next(_ids)
    _state.stack.append(level)
    return level


def _pop_level(level: int) -> None:
    if not _state.stack or _state.stack[-1] != level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. This is "
                           "not supported.")
    _state.stack.pop()


def enter_dual_level():
    """Enter a new forward grad level (torch allows one at a time); returns its index (0)."""
    if _state.public is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _state.public = _push_level()
    return 0


def exit_dual_level(*, level=None):
    """Exit the forward grad level: every tangent of that level is dropped."""
    if level is None:
        level = 0
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    if _state.public is None or level != 0:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. This is "
                           "not supported.")
    _pop_level(_state.public)
    _state.public = None


def _public_level(level) -> int | None:
    if level is None or level == 0:
        return _state.public
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    return None


def make_dual(tensor, tangent, *, level=None):
    """A view of ``tensor`` that carries ``tangent`` as its forward gradient at ``level`` (torch's checks)."""
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    lid = _public_level(level)
    if lid is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    return _make_dual(tensor, tangent, lid)


def _make_dual(tensor, tangent, lid: int):
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the original Tensor, this is "
            f"not supported. Tensor is of size [{', '.join(map(str, tensor.shape))}] while the given forward "
            f"gradient is of size [{', '.join(map(str, tangent.shape))}].")
    if get_tangent(tensor, lid) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           f"level {_state.stack.index(lid)} is not supported.")
    dual = _alias_without(tensor, lid, "_dual_view")
    dual._fw[lid] = tangent
    return dual


def unpack_dual(tensor, *, level=None) -> UnpackedDualTensor:
    """(primal, tangent): a view of ``tensor`` without its tangent at ``level``, and that tangent (or None)."""
    lid = _public_level(level)
    if lid is None:
        return UnpackedDualTensor(tensor, None)
    tangent = get_tangent(tensor, lid)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_alias_without(tensor, lid, "_primal_view"), tangent)


class dual_level:
    """Context manager for forward AD: ``with dual_level(): ...`` (torch.autograd.forward_ad.dual_level)."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        exit_dual_level()


# --- tangents on tensors --------------------------------------------------------------------------------------

def _alias_without(tensor, lid: int, node: str = "_alias"):
    """A view of ``tensor`` (same storage, same graph) whose tangent at ``lid`` is explicitly absent; ``node``
    names the view primitive in refgrad.ops._views (its grad_fn: AliasBackward0, ViewBackward0 or Identity)."""
    from refgrad.ops import _views
    hidden = lid in _state.hidden
    _state.hidden.add(lid)
    try:
        alias = getattr(_views, node)(tensor)
    finally:
        if not hidden:
            _state.hidden.discard(lid)
    alias._fw = dict(alias._fw) if alias._fw else {}
    alias._fw[lid] = _NO_TANGENT
    return alias


def get_tangent(tensor, lid: int):
    """``tensor``'s tangent at level ``lid``, or None; a view with none of its own gets a view of its base's."""
    if lid in _state.hidden:
        return None
    fw = tensor._fw
    if fw is not None and lid in fw:
        return fw[lid]
    base = tensor._base
    if base is None or tensor._view_fn is None:
        return None
    base_tangent = get_tangent(base, lid)
    if base_tangent is None:
        return None
    tangent = _under_levels_hidden(lid, tensor._view_fn, base_tangent)
    _set_tangent(tensor, lid, tangent)
    return tangent


def _set_tangent(tensor, lid: int, tangent) -> None:
    if tensor._fw is None:
        tensor._fw = {}
        if tensor._grad_fn is not None:
            _keep_saved_output(tensor._grad_fn, tensor)
    tensor._fw[lid] = tangent


def _keep_saved_output(node, tensor) -> None:
    """A node keeps its own output as an array (no node <-> output cycle, see SavedTensor); once the output
    carries a tangent, the VJP must read the dual tensor itself (forward-over-reverse), so the node keeps it."""
    table = getattr(node, "_saved", None)
    for saved in table.values() if isinstance(table, dict) else ():
        if saved.tensor is None and saved.data is tensor._data:
            saved.tensor, saved.data = tensor, None


def _under_levels_hidden(lid: int, fn, *args):
    """Run ``fn`` with level ``lid`` invisible (a JVP rule's own ops must not propagate its own level)."""
    if lid in _state.hidden:
        return fn(*args)
    _state.hidden.add(lid)
    try:
        return fn(*args)
    finally:
        _state.hidden.discard(lid)


def live_levels() -> list[int]:
    return [lid for lid in _state.stack if lid not in _state.hidden]


def has_tangents(tensors) -> bool:
    levels = live_levels()
    return bool(levels) and any(get_tangent(t, lid) is not None for t in tensors for lid in levels)


def detach_keeping_tangents(tensor):
    """``tensor.detach()`` that keeps its forward tangents (autograd.grad's results keep them, as in torch)."""
    out = tensor.detach()
    for lid in live_levels():
        tangent = get_tangent(tensor, lid)
        if tangent is not None:
            _set_tangent(out, lid, tangent)
    return out


def snapshot_tangents(source, target) -> None:
    """Give ``target`` a copy of ``source``'s tangents (the value an in-place op reads before it writes)."""
    for lid in live_levels():
        tangent = get_tangent(source, lid)
        if tangent is not None:
            _set_tangent(target, lid, _under_levels_hidden(lid, lambda t: t.clone(), tangent))


def write_back(target, result) -> None:
    """After ``target`` took ``result``'s value in place: it takes ``result``'s tangents, in place, so views of
    ``target`` and its base see them (a base without a tangent gets zeros outside the written view)."""
    from refgrad.tensor import Tensor
    for lid in live_levels():
        new = get_tangent(result, lid)
        current = get_tangent(target, lid)
        if new is None and current is None:
            continue
        if current is None:
            base = target._base
            if base is not None and target._view_fn is not None:
                _set_tangent(base, lid, Tensor._make(np.zeros_like(base._data)))
                if target._fw:
                    target._fw.pop(lid, None)  # an explicit "none" (unpack_dual's primal) gives way to the view
                current = get_tangent(target, lid)
            else:
                if new.dtype is not target.dtype:
                    new = _under_levels_hidden(lid, lambda t: t.to(target.dtype), new)
                _set_tangent(target, lid, new)
                continue
        if new is None:
            current._data[...] = 0
        else:
            np.copyto(current._data, new._data, casting="unsafe")
        current._version_counter.value += 1


# --- custom autograd.Function ---------------------------------------------------------------------------------

class hidden_levels:
    """Every live level invisible while the body runs (a custom Function's forward sees plain tensors)."""

    def __enter__(self):
        self.levels = [lid for lid in _state.stack if lid not in _state.hidden]
        _state.hidden.update(self.levels)

    def __exit__(self, *exc) -> None:
        _state.hidden.difference_update(self.levels)


def function_jvp(cls, ctx, args, outputs: list) -> None:
    """Give a custom Function's outputs their tangents from its ``jvp`` staticmethod (torch's rules: zeros for a
    tensor input without a tangent, None for a non-tensor; ``ctx.saved_tensors`` is what save_for_forward kept)."""
    from refgrad.autograd.function import Function
    from refgrad.tensor import Tensor
    for lid in live_levels():
        tangents = [get_tangent(a, lid) if isinstance(a, Tensor) else None for a in args]
        if all(t is None for t in tangents):
            continue
        if cls.jvp is Function.jvp:
            raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                      "with forward mode AD.")
        tangents = [Tensor._make(np.zeros_like(a._data)) if t is None and isinstance(a, Tensor) else t
                    for a, t in zip(args, tangents)]
        backward_saved = ctx._to_save
        ctx._to_save = getattr(ctx, "_to_save_forward", backward_saved)
        try:
            found = _under_levels_hidden(lid, cls.jvp, ctx, *tangents)
        finally:
            ctx._to_save = backward_saved
        found = found if isinstance(found, tuple) else (found,)
        for out, tangent in zip(outputs, found):
            if isinstance(out, Tensor) and tangent is not None and out.dtype.is_floating_point:
                _set_tangent(out, lid, tangent)
