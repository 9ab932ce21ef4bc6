"""In-place ops, generically: ``t.op_(...)`` is the out-of-place op applied to t's old value, written back.

The written-back tensor takes over the new node (so history is rewritten, as in torch), every in-place op bumps
the version counter shared with views and detached aliases, and an in-place op on a view rewrites the base's
history through a CopySlices node. torch's three refusals are raised here: a leaf that requires grad, a view of
such a leaf, and a view made under no_grad modified with grad mode on; and its kernels' refusals of a written
tensor that overlaps itself (an expanded one) or an operand (``a[1:] -= a[:-1]``, :data:`ALIASING`), in every
mode. One shortcut: under no_grad, add_, sub_, mul_ and div_ (and ``+=``...) of a plain float tensor write their
forward's ufunc straight into it (write_ufunc).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from refgrad.autograd import forward_ad
from refgrad.autograd import zerotensor as _zerotensor
from refgrad.autograd.creation_meta import _check_view_rebase
from refgrad.autograd.engine import non_overlapping_and_dense as _dense
from refgrad.autograd.forward_ad import _state as _forward_ad
from refgrad.autograd.grad_mode import _state as _grad_mode
from refgrad.autograd.grad_mode import is_grad_enabled, is_inference_mode_enabled
from refgrad.autograd.graph import _NODE_CLASSES, ERR_BACKWARD_TWICE, Node, expose_node, node_class
from refgrad.ops._binary_common import _BROADCAST
from refgrad.ops._primitive import _FP_QUIET, _REAL, _reset_fp_errors, _set_fp_errors
from refgrad.ops._util import scalar_array
from refgrad.tensor import Tensor

__all__ = ["INPLACE_UFUNCS", "ALIASING", "PARTIAL", "aliases", "apply_inplace", "inplace_method",
           "refuse_aliasing", "write_ufunc"]

try:  # NumPy's C function, without np.copyto's __array_function__ dispatch (~1/3 of a small in-place update)
    from numpy._core._multiarray_umath import copyto as _copyto
except ImportError:  # another NumPy layout
    _copyto = np.copyto


_ALIASED = ("unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
            "memory location. Please clone() the tensor before performing the operation.")

PARTIAL = (False, None)
"""The default aliasing rule of an in-place op (torch's elementwise kernels): every tensor operand that partly
overlaps the written tensor is refused before anything is computed; the very same memory (``a += a``) is fine."""

ALIASING = {
    **dict.fromkeys(("index_add_", "index_copy_", "index_reduce_", "index_put_", "put_", "scatter_", "scatter_add_",
                     "scatter_reduce_"), (True, None)),
    "index_fill_": (True, (1,)),  # its index, not its 0-d value
    "masked_fill_": (False, (0,)),  # its mask, not its 0-d value
    "masked_scatter_": (False, ()), "ldexp_": (False, ()),  # (torch: mul_ by a fresh 2 ** other)
}
"""In-place method -> its aliasing rule where torch's differs from :data:`PARTIAL`: (whether even the same memory
is refused, checked after the op's own argument errors as torch's index kernels do, else before them; the
positions of the checked arguments, None: all tensors, also inside a tuple of indices). Measured against torch
2.13, tests/engine/test_inplace_overlap.py. ``None`` (addmm_ and its family, fill_ with a 0-d tensor): nothing
checked."""


def _write_then_refuse(self: Tensor, fn: Callable, *args, _overlapping: bool = False, _aliasing=PARTIAL,
                       **kwargs) -> None:
    """An inference tensor updated in place outside inference mode: torch writes the value, then raises (unless
    its kernel refuses first: an expanded tensor written with more than a constant, or aliased operands)."""
    from refgrad.autograd.grad_mode import no_grad
    if not _overlapping and _overlaps(self._data):
        raise RuntimeError(_OVERLAP)
    refuse_aliasing(self._data, args, kwargs, _aliasing, before=True)
    with no_grad():
        result = fn(self, *args, **kwargs)
    refuse_aliasing(self._data, args, kwargs, _aliasing, before=False)
    _check_result(self, result)
    if self._data.size:  # an empty (maybe read-only, expanded) array has nothing to write
        np.copyto(_writable(self._data), result._data, casting="unsafe")
    raise RuntimeError("Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
                       "clone to get a normal tensor before doing inplace update.See "
                       "https://github.com/pytorch/rfcs/pull/17 for more details.")


def _check_allowed(self: Tensor, recording: bool, overlapping: bool = False) -> None:
    if is_grad_enabled() and not is_inference_mode_enabled():  # inference mode: no autograd checks
        _check_graph_allows(self, recording)
    if not overlapping and _overlaps(self._data):
        raise RuntimeError(_OVERLAP)


_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
            "location. Please clone() the tensor before performing the operation.")


def _overlaps(data: np.ndarray) -> bool:
    return data.size > 1 and 0 in data.strides and any(stride == 0 and size > 1
                                                       for stride, size in zip(data.strides, data.shape))


def refuse_aliasing(data: np.ndarray, args: tuple, kwargs: dict, aliasing, before: bool) -> None:
    """torch's RuntimeError when a tensor operand of an in-place op shares memory with the written tensor
    (``data``) as ``aliasing`` (:data:`ALIASING`) refuses; called ``before`` the op computes (its rule refuses
    partial overlaps only: torch's elementwise kernels check first) and after (a rule that refuses any overlap)."""
    if aliasing is None:
        return
    full, positions = aliasing
    if full is before:
        return
    if positions is None:
        operands = (*args, *kwargs.values()) if kwargs else args
        if full:  # (a boolean mask among indices is replaced by its positions first: fresh memory)
            operands = [b for a in operands for b in (a if isinstance(a, (tuple, list)) else (a,))
                        if a is b or not (isinstance(b, Tensor) and b._data.dtype == np.bool_)]
    else:
        operands = [args[i] for i in positions if i < len(args)]
    for operand in operands:
        if isinstance(operand, Tensor) and aliases(data, operand._data, full):
            raise RuntimeError(_ALIASED)


def aliases(out: np.ndarray, src: np.ndarray, full: bool = False) -> bool:
    """Whether torch refuses ``src`` as an input of a write into ``out``: a partial overlap of their memory (or
    also a full one, ``full``). As torch, only when both are dense (non-overlapping, no gaps): other layouts are
    "too hard" to tell and pass. Costs two attribute reads for arrays that own their memory (an optimizer's step)."""
    if src is out:
        return full
    if out.base is None and src.base is None:  # two arrays owning their memory: disjoint
        return False
    if not out.size or not src.size or _owner(out) is not _owner(src) or not (_dense(out) and _dense(src)):
        return False
    start, other = out.__array_interface__["data"][0], src.__array_interface__["data"][0]
    end, other_end = start + out.nbytes, other + src.nbytes
    if start == other and end == other_end:
        # torch compares the strides; a size-1 dimension's stride is left out (refgrad keeps NumPy's there, which
        # is not always torch's), the number of dimensions is not
        return full or len(out.shape) != len(src.shape) or any(
            n > 1 and a != b for n, a, b in zip(out.shape, out.strides, src.strides))
    return start < other_end and other < end


def _owner(array: np.ndarray):
    """The object at the end of ``array``'s chain of bases: the owner of its memory (an as_strided view's too)."""
    base = array.base
    while base is not None:
        array, base = base, getattr(base, "base", None)
    return array


def _check_graph_allows(self: Tensor, recording: bool) -> None:
    if recording and self._base is not None:
        _check_view_rebase(self, indirect=False)
    if self._base is not None:
        if recording and self._base.grad_fn is None and self.requires_grad:  # torch: the view's flag, not the base's
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    if self.grad_fn is None and self._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")


def _check_result(self: Tensor, result) -> None:
    """The out-of-place result must fit in ``self``: same shape, a dtype that casts to self's (torch's errors)."""
    if not isinstance(result, Tensor):
        raise TypeError("in-place op must produce a tensor")
    if result._data.shape != self._data.shape:
        raise RuntimeError(f"output with shape [{', '.join(map(str, self.shape))}] doesn't match the broadcast "
                           f"shape [{', '.join(map(str, result.shape))}]")
    if result._data.dtype != self._data.dtype and result.dtype.category > self.dtype.category:
        raise RuntimeError(f"result type {_TYPE[result.dtype.name]} can't be cast to the desired output type "
                           f"{_TYPE[self.dtype.name]}")


def _writable(array: np.ndarray) -> np.ndarray:
    """``array`` itself, or (a read-only expanded view) the same elements through its writable owner."""
    if array.flags.writeable:
        return array
    owner = array
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    offset = array.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    return np.ndarray(array.shape, array.dtype, buffer=owner, offset=offset, strides=array.strides)


INPLACE_UFUNCS: dict = {}
"""op function -> the NumPy ufunc that is its forward for ``op(self, other)`` (no keyword arguments) when both
operands have one real floating dtype (or other is a Python float): its in-place methods then try
:func:`write_ufunc` first. Filled by the ops' modules."""


def write_ufunc(self: Tensor, ufunc, other) -> bool:
    """``self.op_(other)`` as ``ufunc(self, other, out=self)``, in the one case where that is all the op does: under
    no_grad (an optimizer's update, ``p -= lr * p.grad``; nothing recorded, no tangent), self a plain writable
    tensor that does not overlap itself, other a tensor of self's real floating dtype (not a ZeroTensor) whose
    shape broadcasts to self's, or a Python float. Returns False, having done nothing, in every other case: then
    :func:`apply_inplace` computes the op, raises its errors and copies the result in."""
    if _grad_mode.mode != (False, False) or self._is_inference or self._zerotensor or _forward_ad.stack:
        return False
    data = self._data
    if data.base is not None and 0 in data.strides:  # maybe expanded (an array owning its memory never is)
        return False
    if type(other) is Tensor:
        b = other._data
        shape = b.shape
        if other._zerotensor or b.dtype is not data.dtype or data.dtype not in _REAL or (
                shape != data.shape and shape and _BROADCAST.get((data.shape, shape)) != data.shape):
            return False  # a ZeroTensor (its op may absorb), another dtype, or broadcasting into another shape (the
            # op raises torch's error) or not known to broadcast
        if (b.base is not None or data.base is not None) and b is not data and aliases(data, b):
            return False  # (apply_inplace raises torch's error)
    elif type(other) is float and data.dtype in _REAL:  # a number never changes a floating dtype
        b = scalar_array(other, data.dtype)  # (as binary_operands wraps it: inf past the dtype's range, silently)
    else:
        return False
    token = _set_fp_errors(_FP_QUIET)  # silenced, as in every op (a Primitive)
    try:
        ufunc(data, b, out=data)  # (NumPy computes an output overlapping an input as if it did not)
    except ValueError:  # a read-only array (a non-overlapping part of an expanded tensor): nothing was written
        return False
    finally:
        _reset_fp_errors(token)
    vc = self._vc
    if vc is None:
        vc = self._version_counter  # (created here)
    vc.value += 1
    return True


def apply_inplace(self: Tensor, fn: Callable, *args, _overlapping: bool = False, _aliasing=PARTIAL,
                  **kwargs) -> Tensor:
    """Run ``fn(old_self, *args, **kwargs)`` and make ``self`` hold (and, when recording, be) its result.
    ``_overlapping``: the op only writes a constant (zero_, fill_), so torch allows it on an expanded tensor.
    ``_aliasing``: which tensor operands may not share memory with ``self`` (:data:`ALIASING`).
    A ZeroTensor refuses (refgrad/autograd/zerotensor.py), with copy_'s message when ``fn.zerotensor_copy``."""
    for a in args:
        if type(a) is Tensor and a._zerotensor and not self._zerotensor:
            return _dense_operands(self, fn, args, kwargs, _overlapping, _aliasing)
    if _grad_mode.mode == (False, False) and not (self._is_inference or _overlapping or forward_ad._state.stack):
        # under no_grad (an optimizer's update, ``p -= lr * p.grad``): nothing is recorded, so the graph checks
        # cannot fire; the overlap and result checks are the ones below, in the same order
        if self._zerotensor:  # (None or True: an instance value, see Tensor._make)
            _zerotensor.refuse_write(getattr(fn, "zerotensor_copy", False))
        data = self._data
        if data.base is not None and 0 in data.strides and _overlaps(data):  # (an array owning its memory is
            raise RuntimeError(_OVERLAP)  # never expanded)
        if (args or kwargs) and _aliasing is not None:
            refuse_aliasing(data, args, kwargs, _aliasing, before=True)
        result = fn(self, *args, **kwargs)
        if _aliasing is not None and _aliasing[0]:
            refuse_aliasing(data, args, kwargs, _aliasing, before=False)
        source = result._data if type(result) is Tensor else None
        if source is None or source.dtype is not data.dtype or source.shape != data.shape:
            _check_result(self, result)  # (the common case, a tensor of self's dtype and shape, passes)
        if data.size:  # a non-overlapping part of an expanded tensor is written through its owner (below too)
            try:
                _copyto(data, result._data, casting="unsafe")
            except ValueError:
                if data.flags.writeable:
                    raise
                _copyto(_writable(data), result._data, casting="unsafe")
        vc = self._vc
        if vc is None:
            vc = self._version_counter  # (created here)
        vc.value += 1
        return self
    if self._is_inference and not is_inference_mode_enabled() and not self._inference_alias:
        _write_then_refuse(self, fn, *args, _overlapping=_overlapping, _aliasing=_aliasing, **kwargs)
    recording = is_grad_enabled() and not is_inference_mode_enabled() and (self.requires_grad or any(
        isinstance(a, Tensor) and a.requires_grad for a in (*args, *kwargs.values())))
    _check_allowed(self, recording, _overlapping)
    refuse_aliasing(self._data, args, kwargs, _aliasing, before=True)
    if self._zerotensor:  # after the autograd checks (torch)
        _zerotensor.refuse_write(getattr(fn, "zerotensor_copy", False))
    if recording:
        old = Tensor._make(self._data.copy())  # the value before the write, for VJPs that read it
        old.grad_fn, old._output_nr, old._requires_grad = self.grad_fn, self._output_nr, self._requires_grad
        if self._base is not None and self.grad_fn is None and self._base.requires_grad:
            old.grad_fn, old._output_nr = self._view_fn(self._base).grad_fn, 0
        if forward_ad._state.stack:
            forward_ad.snapshot_tangents(self, old)
        result = fn(old, *args, **kwargs)
    else:
        result = fn(self, *args, **kwargs)
    refuse_aliasing(self._data, args, kwargs, _aliasing, before=False)
    _check_result(self, result)
    if result._data.dtype != self._data.dtype and recording and result.requires_grad:
        result = result.to(self.dtype)
    if self._data.size:  # an empty (maybe read-only, expanded) array has nothing to write
        # a non-overlapping part of an expanded tensor is a read-only array: written through its owner
        np.copyto(_writable(self._data), result._data, casting="unsafe")
    if not (self._is_inference and _grad_mode.inference):  # torch: inference tensors' writes there are not counted
        self._version_counter.value += 1
    if forward_ad._state.stack:
        forward_ad.write_back(self, result)
    if recording and result.grad_fn is not None:
        _take_over(self, result)
    return self


def _dense_operands(self: Tensor, fn: Callable, args: tuple, kwargs: dict, overlapping: bool,
                    aliasing) -> Tensor:
    """torch's in-place kernels compute with a ZeroTensor operand's zeros (``o.mul_(z)`` is NaN where ``o`` is inf,
    ``o.div_(z)`` NaN where it is NaN), as its out-of-place ZeroTensor kernels do not: the operands lose their flag
    for the op (refgrad/autograd/zerotensor.py)."""
    zeros = [a for a in args if type(a) is Tensor and a._zerotensor]
    for a in zeros:
        a._zerotensor = None
    try:
        return apply_inplace(self, fn, *args, _overlapping=overlapping, _aliasing=aliasing, **kwargs)
    finally:
        for a in zeros:
            a._zerotensor = True


def _take_over(self: Tensor, result: Tensor) -> None:
    """``self`` becomes the op's output in the graph; a view also rewrites its base's history."""
    node = result.grad_fn
    for saved in node._saved.values():
        if saved.tensor is result or (saved.data is not None and saved.data is result._data):
            # the op saved its output: that output is now ``self`` (kept as the tensor: its grad_fn may change)
            saved.tensor, saved.data, saved.version = self, None, self._version_counter.value
    old, old_nr = self._grad_fn, self._output_nr
    if self._base is None:
        self.grad_fn, self._output_nr = node, result._output_nr
        if self._retains_grad:
            self._move_retain_grad(old, old_nr)
        return
    base = self._base
    base_old, base_old_nr = base._grad_fn, base._output_nr
    copy_slices = CopySlices(
        _copy_slices_vjp, (base._edge() if base.requires_grad else (None, 0), *node.next_functions[1:]),
        ((base.shape, base.dtype), *node._input_meta[1:]), ((base.shape, base.dtype),),
        params={"view_fn": self._view_fn, "op": node})
    base.grad_fn, base._output_nr = copy_slices, 0
    if base._retains_grad:
        base._move_retain_grad(base_old, base_old_nr)
    regenerated = self._view_fn(base).grad_fn
    regenerated.__class__ = node_class("AsStridedBackward0")
    expose_node(regenerated)
    self.grad_fn, self._output_nr = regenerated, 0  # the setter records the version: no regeneration later
    if self._retains_grad:
        self._move_retain_grad(old, old_nr)


class CopySlices(Node):
    """The base's node after an in-place op on one of its views; like torch's, it runs once unless retained."""

    _freed = False
    _plain = False  # its own apply and release

    def apply(self, grad_outputs: list) -> tuple:
        if self._freed:
            raise RuntimeError(ERR_BACKWARD_TWICE)
        return super().apply(grad_outputs)

    def release(self) -> None:
        op = self._params.get("op")
        if op is not None:
            op.release()
        super().release()
        self._freed = True


_NODE_CLASSES["CopySlices"] = CopySlices


def _copy_slices_vjp(ctx, grad):
    """Gradient of ``base[view] = op(base[view], *others)``: the op's VJP inside the view, identity outside."""
    from refgrad.autograd.engine import _validate
    view_fn, op = ctx.view_fn, ctx.op
    result = grad.clone()
    op_grads = op.apply([view_fn(grad).clone()])
    op_grads = tuple(None if g is None else _validate(op, i, g) for i, g in enumerate(op_grads))
    region = view_fn(result)
    if op_grads[0] is None:
        _writable(region._data)[...] = 0
    elif _overlaps(region._data):  # an expanded view: torch's copy into the gradient's slice refuses
        raise RuntimeError(_OVERLAP)
    elif is_grad_enabled():  # create_graph: record the write, even of constants, so the region's history is cut
        region.copy_(op_grads[0])
    elif region._data.size:  # (an empty region, maybe an expanded read-only view, has nothing to write)
        np.copyto(region._data, op_grads[0]._data)
    return (result, *op_grads[1:])


def inplace_method(fn: Callable, name: str) -> Callable:
    """The Tensor method ``name`` (e.g. ``exp_``) for the out-of-place op ``fn``."""
    ufunc = INPLACE_UFUNCS.get(fn)
    aliasing = ALIASING.get(name, PARTIAL)

    if ufunc is None:
        def method(self, *args, **kwargs):
            return apply_inplace(self, fn, *args, _aliasing=aliasing, **kwargs)
    else:
        def method(self, *args, **kwargs):
            if len(args) == 1 and not kwargs and write_ufunc(self, ufunc, args[0]):
                return self
            return apply_inplace(self, fn, *args, _aliasing=aliasing, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place version of :func:`{fn.__name__}` (torch.Tensor.{name})."
    return method


_TYPE = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
         "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
