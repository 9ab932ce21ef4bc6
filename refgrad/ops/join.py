"""Joining and splitting: cat/concat/concatenate, stack, hstack/vstack/dstack, split, chunk, tensor_split, unbind.

cat and stack copy; split, chunk and unbind return views of the input that share one node (as in torch, whose
multi-output views refuse in-place modification); tensor_split returns separate slices.
"""
from __future__ import annotations

import builtins

import numpy as np

from refgrad import dtypes
from refgrad.autograd.creation_meta import MULTI_OUTPUT_NODE, _view_creation
from refgrad.ops._primitive import Primitive, refuse_before_kernel
from refgrad.ops._registry import register
from refgrad.ops._util import wrap_dim
from refgrad.tensor import Tensor


def _tensor_list(name: str, tensors) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    return tensors


# --- cat, stack ------------------------------------------------------------------------------------------------

def _cat_vjp(c, g):
    grads, offset = [], 0
    for i, size in enumerate(c.sizes):
        grads.append(g.narrow(c.dim, offset, size) if c.needs_input_grad(i) else None)
        offset += size
    return tuple(grads)


def _channels_last(a: np.ndarray) -> bool:
    return a.ndim in (4, 5) and np.moveaxis(a, 1, -1).flags.c_contiguous and not a.flags.c_contiguous


def _cat_forward(*arrays, dim):
    """np.concatenate, C-contiguous as torch's unless every input is channels-last (torch keeps that format)."""
    out = np.concatenate(arrays, axis=dim)
    if out.ndim in (4, 5) and all(_channels_last(a) for a in arrays):
        return out
    return np.ascontiguousarray(out)


_cat = Primitive("CatBackward0", _cat_forward, _cat_vjp, jvp="linear")


@register(aliases=("concat", "concatenate"))
def cat(tensors, dim: int = 0, *, out=None):
    """Concatenate along ``dim``, promoting dtypes (torch.cat); 1-D empty tensors are skipped as in torch."""
    tensors = _tensor_list("cat", tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    dtype = dtypes.result_type(*tensors)
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    reference = kept[0]
    if reference.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    dim = wrap_dim(dim, reference.ndim)
    for position, t in enumerate(tensors):
        if t.ndim == 1 and t.shape[0] == 0 and t is not reference:
            continue
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {position}) cannot be concatenated")
        if t.ndim != reference.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {reference.ndim} and {t.ndim}")
        for d in range(t.ndim):
            if d != dim and t.shape[d] != reference.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. Expected size "
                                   f"{reference.shape[d]} but got size {t.shape[d]} for tensor number {position} "
                                   "in the list.")
    return _cat(*kept, cast=dtype, dim=dim, sizes=tuple(t.shape[dim] for t in kept))


def _stack_vjp(c, g):
    from refgrad.ops._views import _select
    return tuple(_select(g, dim=c.dim, index=i, self_sym_sizes=tuple(g.shape)) if c.needs_input_grad(i) else None
                 for i in range(g.shape[c.dim]))


_stack = Primitive("StackBackward0", lambda *arrays, dim: np.stack(arrays, axis=dim), _stack_vjp, jvp="linear")


@register()
def stack(tensors, dim: int = 0, *, out=None):
    """Stack equal-shaped tensors along a new ``dim`` (torch.stack)."""
    tensors = _tensor_list("stack", tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"[{', '.join(map(str, tensors[0].shape))}] at entry 0 and "
                               f"[{', '.join(map(str, t.shape))}] at entry {i}")
    dim = wrap_dim(dim, tensors[0].ndim + 1)
    return _stack(*tensors, cast=dtypes.result_type(*tensors), dim=dim)


@register()
def hstack(tensors, *, out=None):
    """Concatenate column-wise: along dim 0 for 1-D inputs, else dim 1 (torch.hstack)."""
    from refgrad.ops.shape import atleast_1d
    tensors = [atleast_1d(t) for t in _tensor_list("hstack", tensors)]
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


@register(aliases=("row_stack",))
def vstack(tensors, *, out=None):
    """Concatenate row-wise after atleast_2d (torch.vstack)."""
    from refgrad.ops.shape import atleast_2d
    return cat([atleast_2d(t) for t in _tensor_list("vstack", tensors)], 0)


@register()
def dstack(tensors, *, out=None):
    """Concatenate depth-wise after atleast_3d (torch.dstack)."""
    from refgrad.ops.shape import atleast_3d
    return cat([atleast_3d(t) for t in _tensor_list("dstack", tensors)], 2)


# --- multi-output views: split, chunk, unbind ------------------------------------------------------------------

def _mark_views(outputs: tuple, source: Tensor, primitive: Primitive, params: dict) -> None:
    """Each output becomes a view of ``source``'s base (shared version counter), recreated by ``primitive``."""
    base = source._base if source._base is not None else source
    parent_fn = source._view_fn
    for i, out in enumerate(outputs):
        def view_fn(tensor, i=i):
            return primitive(parent_fn(tensor) if parent_fn is not None else tensor, **params)[i]

        out._base = base
        out._view_fn = view_fn
        out._version_counter = source._version_counter
        out._view_version = source._version_counter.value
        _view_creation(out, source, MULTI_OUTPUT_NODE)  # torch refuses in-place ops on these
        if source._zerotensor:  # a view of a ZeroTensor is one (refgrad/autograd/zerotensor.py)
            out._zerotensor = True


def _split_forward(a, dim, sizes):
    bounds = np.cumsum((0,) + tuple(sizes))
    key = (slice(None),) * dim
    return tuple(a[key + (slice(int(lo), int(hi)),)] for lo, hi in zip(bounds[:-1], bounds[1:]))


def _split_vjp(c, *grads):
    return cat(list(grads), c.dim)


def _unbind_vjp(c, *grads):
    return stack(list(grads), c.dim)


_split = Primitive("SplitBackward0", _split_forward, _split_vjp)
_split_sizes = Primitive("SplitWithSizesBackward0", _split_forward, _split_vjp)
_unbind = Primitive("UnbindBackward0",
                    lambda a, dim: tuple(a[(slice(None),) * dim + (i, ...)] for i in range(a.shape[dim])),
                    _unbind_vjp)  # ``...``: a 1-d input's slices are 0-d views too, not copied scalars


def _apply_views(primitive: Primitive, input: Tensor, **params) -> tuple:
    outputs = primitive(input, **params)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    _mark_views(outputs, input, primitive, params)
    return outputs


def _split_plan(tensor, split_size_or_sections, dim: int):
    """(dim, sizes, with_sizes): the chunk sizes torch.split cuts, with its errors."""
    dim = wrap_dim(dim, tensor.ndim)
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    size = tensor.shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = tuple(int(s) for s in split_size_or_sections)
        if any(s < 0 for s in sizes) or builtins.sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size "
                               f"at dimension {dim}), but got split_sizes=[{', '.join(map(str, sizes))}]")
        return dim, sizes, True
    step = int(split_size_or_sections)
    if step < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
    if step == 0 and size != 0:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
    count = max((size + step - 1) // step, 1) if step else 1
    return dim, tuple(min(step, size - i * step) for i in range(count)), False


@register(method=True)
def split(tensor, split_size_or_sections, dim: int = 0):
    """Split into chunks of a size, or of the given sizes, along ``dim`` (torch.split): views."""
    try:
        dim, sizes, with_sizes = _split_plan(tensor, split_size_or_sections, dim)
    except (IndexError, RuntimeError):
        refuse_before_kernel(_split, tensor)
        raise
    return _apply_views(_split_sizes if with_sizes else _split, tensor, dim=dim, sizes=sizes)


@register(method=True)
def split_with_sizes(input, split_sizes, dim: int = 0):
    """Split into chunks of the given sizes along ``dim`` (Tensor.split_with_sizes): views."""
    return split(input, list(split_sizes), dim)


# torch's chunks share the input's storage with its strides (no view tracking: a write to one is not seen by
# autograd): slices of the input's array, not copies
_unsafe_split = Primitive("UnsafeSplitBackward0", _split_forward, _split_vjp)


@register(method=True)
def unsafe_split(tensor, split_size, dim: int = 0):
    """torch.split without view semantics (torch.unsafe_split): the chunks share the input's memory and strides
    but are not views to autograd (no version counter or base in common)."""
    if isinstance(split_size, (list, tuple)):
        raise TypeError(f"unsafe_split(): argument 'split_size' (position 1) must be int, not "
                        f"{type(split_size).__name__}")
    dim, sizes, _ = _split_plan(tensor, split_size, dim)
    outputs = _unsafe_split(tensor, dim=dim, sizes=sizes)
    return outputs if isinstance(outputs, tuple) else (outputs,)


@register(method=True)
def unsafe_chunk(input, chunks: int, dim: int = 0):
    """torch.chunk without view semantics (torch.unsafe_chunk)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    size = input.shape[wrap_dim(dim, input.ndim)]
    return unsafe_split(input, max((size + chunks - 1) // chunks, 1) if size else 0, dim)


@register(method=True)
def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` nearly equal views along ``dim`` (torch.chunk)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    size = input.shape[wrap_dim(dim, input.ndim)]
    return split(input, max((size + chunks - 1) // chunks, 1) if size else 0, dim)


@register(method=True)
def tensor_split(input, indices_or_sections, dim: int = 0):
    """Split into sections or at indices along ``dim``, as slices (torch.tensor_split)."""
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, (list, tuple)):
        bounds = [0] + [builtins.min(max(int(i) if int(i) >= 0 else int(i) + size, 0), size)
                        for i in indices_or_sections] + [size]
    else:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(size, sections)
        bounds = [0]
        for i in range(sections):
            bounds.append(bounds[-1] + small + (1 if i < extra else 0))
    return tuple(input.narrow(dim, lo, max(hi - lo, 0)) if hi >= lo else input.narrow(dim, lo, 0)
                 for lo, hi in zip(bounds[:-1], bounds[1:]))



@register(method=True)
def unbind(input, dim: int = 0):
    """The slices along ``dim``, as views sharing one node (torch.unbind)."""
    if input.ndim == 0:
        refuse_before_kernel(_unbind, input)
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return _apply_views(_unbind, input, dim=wrap_dim(dim, input.ndim))
