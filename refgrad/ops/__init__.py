"""All ops: every module in this package is a family; importing the package registers them all and installs
the Tensor methods, in-place variants and operators from the registry."""
from __future__ import annotations

import importlib
import pkgutil

import numpy as _np

from refgrad import dtypes as _dt
from refgrad.autograd.graph import _TYPE_NAMES as _TN
from refgrad.ops._inplace import INPLACE_UFUNCS, apply_inplace, inplace_method, write_ufunc
from refgrad.ops._numpy_names import accept_numpy_names
from refgrad.ops._registry import OPS, OpEntry, register
from refgrad.tensor import Tensor

__all__ = ["OPS", "OpEntry", "register", "apply_inplace", "families", "op_count"]

families = {}
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        families[_info.name] = importlib.import_module(f"{__name__}.{_info.name}")

_ew, _ix, _rd, _sh = (families[name] for name in ("elementwise", "indexing", "reductions", "shape"))
families["complex"].refuse_complex(OPS)  # torch's errors for complex inputs, before the methods are installed
_plain_methods = accept_numpy_names(OPS)  # axis=/keepdims= where torch's parser takes them

for _entry in list(OPS.values()):
    if _entry.method and not hasattr(Tensor, _entry.method):
        setattr(Tensor, _entry.method, _entry.function)
    if _entry.inplace and not hasattr(Tensor, _entry.inplace):
        setattr(Tensor, _entry.inplace, inplace_method(_entry.function, _entry.inplace))
for _name, _fn in _plain_methods.items():
    setattr(Tensor, _name, _fn)


def _swap(fn):
    return lambda self, other: fn(other, self)


def _inplace(fn):
    ufunc = INPLACE_UFUNCS.get(fn)
    if ufunc is None:
        def method(self, other):
            return apply_inplace(self, fn, other)
    else:  # ``p -= lr * p.grad`` under no_grad: written by the op's ufunc (see write_ufunc)
        def method(self, other):
            if write_ufunc(self, ufunc, other):
                return self
            return apply_inplace(self, fn, other)
    return method


_METHODS = {
    "__add__": _ew.add, "__radd__": _ew.add, "__iadd__": _inplace(_ew.add),  # a number: torch's node has self first
    "__sub__": _ew.sub, "__rsub__": _ew.rsub, "__isub__": _inplace(_ew.sub),
    "__mul__": _ew.mul, "__rmul__": _ew.mul, "__imul__": _inplace(_ew.mul),
    "__truediv__": _ew.div, "__rtruediv__": lambda self, other: _ew.mul(_ew.reciprocal(self), other),
    "__itruediv__": _inplace(_ew.div),
    "__pow__": _ew.pow, "__rpow__": _swap(_ew.pow), "__ipow__": _inplace(_ew.pow),
    "__neg__": _ew.neg, "__pos__": lambda self: self,
    "__matmul__": families["linalg"].matmul,
    "__rmatmul__": lambda self, other: families["linalg"].matmul(other, self),
    "__eq__": _ew.eq, "__ne__": _ew.ne, "__lt__": _ew.lt, "__le__": _ew.le, "__gt__": _ew.gt, "__ge__": _ew.ge,
    "__and__": _ew.__and__, "__or__": _ew.__or__, "__xor__": _ew.__xor__, "__invert__": _ew.__invert__,
    "__floordiv__": _ew.floor_divide, "__rfloordiv__": _swap(_ew.floor_divide),
    "__ifloordiv__": _inplace(_ew.floor_divide),
    "__mod__": families["binary"].remainder, "__rmod__": _swap(families["binary"].remainder),
    "__imod__": _inplace(families["binary"].remainder),
    "__rand__": _swap(families["comparison"].bitwise_and), "__ror__": _swap(families["comparison"].bitwise_or),
    "__rxor__": _swap(families["comparison"].bitwise_xor), "__iand__": _inplace(families["comparison"].bitwise_and),
    "__ior__": _inplace(families["comparison"].bitwise_or), "__ixor__": _inplace(families["comparison"].bitwise_xor),
    "__lshift__": families["comparison"].bitwise_left_shift, "__rshift__": families["comparison"].bitwise_right_shift,
    "__rlshift__": _swap(families["comparison"].bitwise_left_shift),
    "__rrshift__": _swap(families["comparison"].bitwise_right_shift),
    "__ilshift__": _inplace(families["comparison"].bitwise_left_shift),
    "__irshift__": _inplace(families["comparison"].bitwise_right_shift),
    "__getitem__": _ix.getitem, "__setitem__": _ix.setitem,
    "to": _ew.to, "copy_": _ew.copy_, "view": _sh.view, "view_as": _sh.view_as, "reshape_as": _sh.reshape_as,
    "expand": _sh.expand, "expand_as": _sh.expand_as, "sum_to_size": _rd.sum_to_size,
    "_unsafe_view": lambda self, shape: _sh._unsafe_view(self, shape=tuple(shape), self_sym_sizes=tuple(self.shape)),
    "float": lambda self: _ew.to(self, _dt.float32), "double": lambda self: _ew.to(self, _dt.float64),
    "half": lambda self: _ew.to(self, _dt.float16), "long": lambda self: _ew.to(self, _dt.int64),
    "int": lambda self: _ew.to(self, _dt.int32), "bool": lambda self: _ew.to(self, _dt.bool),
    "byte": lambda self: _ew.to(self, _dt.uint8), "char": lambda self: _ew.to(self, _dt.int8),
    "short": lambda self: _ew.to(self, _dt.int16),
    "cfloat": lambda self: _ew.to(self, _dt.complex64), "cdouble": lambda self: _ew.to(self, _dt.complex128),
    "type": lambda self, dtype=None: _ew.to(self, dtype) if dtype is not None else _TYPE_NAMES[self.dtype.name],
    "cpu": lambda self: self, "contiguous": lambda self, memory_format=None: self if self.is_contiguous() else
    _sh._contiguous_clone(self),
    "T": property(_sh.reversed_dims), "mT": property(_sh.matrix_transpose), "mH": property(_sh.matrix_adjoint),
    "H": property(_sh.adjoint_2d),
    "zero_": _ew.zero_, "fill_": _ew.fill_,
    "zeros_like_detached": lambda self: Tensor._make(_np.zeros_like(self._data)),
}
_TYPE_NAMES = {k: f"torch.{v}" for k, v in _TN.items()}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)


def op_count() -> int:
    """Distinct public ops: one per function, aliases and Tensor-only spellings not counted again."""
    return len({id(getattr(e.function, "_numpy_names_of", e.function)) for e in OPS.values()
                if e.namespace != "torch.Tensor"})
