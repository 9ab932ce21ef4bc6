"""The op registry: every public op is registered once, with its torch spellings.

``@register`` records a function under its torch name and namespace (``torch``, ``torch.nn.functional``,
``torch.linalg``, ``torch.special``; ``torch.Tensor`` for a Tensor-only method), and says whether it is also a
Tensor method and whether torch has an in-place ``name_`` variant. ``refgrad/ops/__init__.py`` installs
everything from here, so adding an op means writing it in one family module and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["OpEntry", "OPS", "register"]


@dataclass(frozen=True)
class OpEntry:
    """One public op: where torch exposes it, and under which names."""

    name: str  # torch's name within its namespace, e.g. "exp", "binary_cross_entropy_with_logits"
    function: Callable
    namespace: str  # "torch", "torch.nn.functional", "torch.linalg", "torch.special"
    family: str  # the refgrad/ops module that defines it
    method: str | None  # Tensor method name, if torch has one
    inplace: str | None  # Tensor in-place method name (``exp_``), if torch has one

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}"


OPS: dict[str, OpEntry] = {}


def register(name: str | None = None, *, namespace: str = "torch", method: bool | str = False,
             inplace: bool | str = False, aliases: tuple = ()) -> Callable:
    """Decorator: register the function as a public op (see module docstring)."""

    def decorate(fn: Callable) -> Callable:
        op_name = name or fn.__name__
        family = fn.__module__.rsplit(".", 1)[-1]
        method_name = (op_name if method is True else method) or None
        inplace_name = (f"{method_name or op_name}_" if inplace is True else inplace) or None
        for alias in (op_name, *aliases):
            entry = OpEntry(alias, fn, namespace, family, method_name if alias == op_name else
                            (alias if method else None), inplace_name if alias == op_name else
                            (f"{alias}_" if inplace else None))
            OPS[entry.qualified_name] = entry
        return fn

    return decorate
