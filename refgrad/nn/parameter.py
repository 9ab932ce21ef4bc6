"""torch.nn.Parameter and torch.nn.Buffer: tensors that a Module registers when assigned as attributes."""
from __future__ import annotations

from refgrad.tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered by ``Module.__setattr__`` (torch.nn.Parameter).

    It shares its data (and version counter) with the tensor it wraps; ops on it return plain Tensors.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from refgrad.factories import empty
            data = empty(0)
        param = Tensor._make(data._data)
        param.__class__ = cls
        param._version_counter = data._version_counter
        if requires_grad:
            param.requires_grad_(True)  # torch's error for integer data
        return param

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # all done in __new__ (Tensor.__init__ is the legacy constructor)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        copy = Parameter(Tensor._make(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            copy._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = copy
        return copy

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data.copy(), self._requires_grad))


def _rebuild_parameter(array, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._make(array), requires_grad)


class Buffer:
    """Assigning ``Buffer(t)`` to a Module attribute registers it as a buffer (torch.nn.Buffer); as in torch, the
    object made is a plain Tensor, marked for registration."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:
        if data is None:
            from refgrad.factories import empty
            data = empty(0)
        buffer = data.detach()
        buffer._requires_grad = data._requires_grad
        buffer._is_buffer = True
        buffer._buffer_persistent = persistent
        return buffer
