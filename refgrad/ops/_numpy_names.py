"""NumPy-style keyword spellings torch accepts: ``axis`` for ``dim`` and ``keepdims`` for ``keepdim``.

torch's C++ argument parser (every op bound natively: ``torch.sum``, ``Tensor.max``, ``torch.linalg.vector_norm``,
``torch.softmax``, ...) accepts these spellings for any parameter named ``dim``/``keepdim``; ops written in
Python (``torch.norm``, ``torch.split``, ``nn.functional.softmax``, ``torch.masked.*``, ...) do not. One wrapper
per op function, installed from the registry once every family is registered. As in torch, giving the spelling
and the parameter both (by keyword or by position) raises ``TypeError: sum() got an unexpected keyword
argument 'axis'``.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import sys

ALIASES = (("dim", "axis"), ("keepdim", "keepdims"))

# torch spellings written in Python (measured on torch 2.13: their type is ``function``, not a builtin), which
# reject ``axis``/``keepdims``; every other registered op with a ``dim``/``keepdim`` parameter accepts them
PYTHON_LEVEL = frozenset({
    "torch.norm", "torch.split", "torch.unique", "torch.nn.functional.glu", "torch.nn.functional.log_softmax",
    "torch.nn.functional.normalize", "torch.nn.functional.softmax", "torch.nn.functional.softmin",
})
PYTHON_LEVEL_NAMESPACES = frozenset({"torch.masked"})
PYTHON_LEVEL_METHODS = frozenset({"norm", "split", "unflatten", "unique"})


def _renames(function) -> list[tuple[str, str, float]]:
    """(spelling, parameter, position of the parameter or inf when keyword-only) for this function."""
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return []
    names = list(params)
    found = []
    for canonical, spelling in ALIASES:
        if canonical in params and spelling not in params:
            kind = params[canonical].kind
            position = names.index(canonical) if kind is inspect.Parameter.POSITIONAL_OR_KEYWORD else float("inf")
            found.append((spelling, canonical, position))
    return found


def _accepting(function, name: str, renames):
    @functools.wraps(function)
    def op(*args, **kwargs):
        if kwargs:
            for spelling, canonical, position in renames:
                if spelling in kwargs:
                    if canonical in kwargs or len(args) > position:
                        raise TypeError(f"{name}() got an unexpected keyword argument '{spelling}'")
                    kwargs[canonical] = kwargs.pop(spelling)
        return function(*args, **kwargs)
    op._numpy_names_of = function
    return op


_WRAPPER_CODE = _accepting(lambda: None, "", []).__code__


def user_stacklevel(stacklevel: int) -> int:
    """``stacklevel`` for a ``warnings.warn`` in the calling function, one more when the frame it would name is
    this module's wrapper (so the warning still names the user's line)."""
    frame = sys._getframe(stacklevel)
    return stacklevel + 1 if frame is not None and frame.f_code is _WRAPPER_CODE else stacklevel


def accept_numpy_names(ops: dict) -> dict:
    """Replace each registry entry's function by one accepting the NumPy spellings (one wrapper per function,
    shared by its aliases). Returns {method name: unwrapped function} for the Tensor methods torch writes in
    Python, which must stay without them."""
    wrapped = {}
    plain_methods = {}
    for key, entry in list(ops.items()):
        function = entry.function
        if entry.method in PYTHON_LEVEL_METHODS:
            plain_methods[entry.method] = function
        if key in PYTHON_LEVEL or entry.namespace in PYTHON_LEVEL_NAMESPACES:
            continue
        if id(function) not in wrapped:
            renames = _renames(function)
            wrapped[id(function)] = _accepting(function, entry.name, renames) if renames else function
        if wrapped[id(function)] is not function:
            ops[key] = dataclasses.replace(entry, function=wrapped[id(function)])
    return plain_methods
