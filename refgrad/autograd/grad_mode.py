"""Grad mode: whether new operations are recorded for differentiation (torch.no_grad and friends)."""
from __future__ import annotations

import functools
import inspect
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]

class _State(threading.local):
    """Per-thread grad mode, as in torch; the class attributes are each new thread's defaults. ``mode`` is
    ``(enabled, inference)``, for the hot paths (every op reads both: one read of a thread-local attribute costs
    ~45 ns, a read of a plain one ~10): whatever writes ``enabled`` or ``inference`` writes ``mode`` too."""

    enabled = True
    inference = False
    mode = (True, False)


_state = _State()


def is_grad_enabled() -> bool:
    """torch.is_grad_enabled: True unless inside no_grad / set_grad_enabled(False) / inference_mode."""
    return _state.enabled


def is_inference_mode_enabled() -> bool:
    """torch.is_inference_mode_enabled."""
    return _state.inference


def _set(enabled: bool) -> None:
    _state.enabled = enabled
    _state.mode = (enabled, _state.inference)


class _GradModeContext:
    """Base for the grad-mode context managers; each also works as a function decorator, as in torch —
    with or without parentheses (``@no_grad()`` and ``@no_grad``)."""

    def __new__(cls, *args, **kwargs):
        if args and cls is not set_grad_enabled and len(args) == 1 and callable(args[0]) and not kwargs:
            return cls()(args[0])  # used bare as a decorator
        return super().__new__(cls)

    def _enter_state(self):  # returns the state to restore
        raise NotImplementedError

    def __enter__(self):
        self._saved = _state.mode  # (is_grad_enabled(), is_inference_mode_enabled()), in one read
        self._enter_state()
        return None

    def __exit__(self, *exc) -> None:
        _state.enabled, _state.inference = _state.mode = self._saved

    def clone(self):
        return self.__class__()

    def __call__(self, fn):
        if inspect.isclass(fn):
            raise RuntimeError("decorating a class is not supported")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """torch.no_grad: operations inside are not recorded; their results have requires_grad=False."""

    def _enter_state(self):  # _set(False), inlined (every optimizer step enters one)
        _state.enabled = False
        _state.mode = (False, _state.inference)


class enable_grad(_GradModeContext):
    """torch.enable_grad: re-enables recording inside no_grad."""

    def _enter_state(self):
        _set(True)


class set_grad_enabled(_GradModeContext):
    """torch.set_grad_enabled(mode): takes effect when called (as a function) and as a context manager."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._prev = is_grad_enabled()
        _set(self.mode)  # torch switches the mode at construction, so a bare call works too

    def _enter_state(self):
        _set(self.mode)

    def __enter__(self):
        self._saved = (self._prev, is_inference_mode_enabled())
        _set(self.mode)

    def __call__(self, fn):
        _set(self._prev)  # used as a decorator: the mode applies inside fn only
        return super().__call__(fn)

    def clone(self):
        prev = is_grad_enabled()
        ctx = set_grad_enabled(self.mode)
        _set(prev)
        return ctx


class inference_mode(_GradModeContext):
    """torch.inference_mode(mode=True): like no_grad, and tensors made inside are inference tensors."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def _enter_state(self):
        _set(not self.mode)  # inference_mode(False) turns grad mode on, as torch does
        _state.inference = self.mode
        _state.mode = (_state.enabled, self.mode)

    def clone(self):
        return inference_mode(self.mode)
