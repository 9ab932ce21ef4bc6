"""Output memory layouts as torch's TensorIterator makes them, where NumPy's choice differs.

An elementwise kernel's output is dense, with its dimensions ordered in memory like its inputs': an insertion
sort of the dimensions in which, for each pair, the first operand whose strides tell them apart decides (a stride
of 0, from broadcasting, tells nothing; equal strides defer to the larger size), so ``F + C`` is Fortran-ordered
in torch. NumPy's ``order='K'`` falls back to C order on a conflict, so ``F + C`` is C-ordered there.
:func:`torch_order` matched torch on 4000 random cases (1 to 3 operands of up to 4 dimensions, permuted, sliced,
broadcast, with arbitrary strides on dimensions of size 1), where NumPy's own order missed 151. NumPy agrees
whenever the first operand is C-contiguous with the result's shape, or only one operand has dimensions
(:func:`settled`, the test the hot paths make before anything else).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from refgrad._strides import torch_order  # (the ordering rule, shared with the *_like factories)

__all__ = ["torch_order", "follow_inputs", "settled", "follows_inputs", "relay", "column_major", "memory_order",
           "in_order", "fft_order", "c_contiguous", "contiguous_result", "channels_last_like", "suggested_format",
           "like_first", "strided_like_first"]


def _effective_strides(array: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``array``'s strides in elements broadcast to ``shape`` (0 where broadcast; a dimension of size 1 in both
    keeps its stride, as in torch, where it takes part in the ordering)."""
    lead = len(shape) - array.ndim
    out = [0] * len(shape)
    for d in range(array.ndim):
        if array.shape[d] == shape[lead + d]:
            out[lead + d] = array.strides[d] // array.itemsize
    return tuple(out)


def follow_inputs(out: np.ndarray, *operands) -> np.ndarray:
    """``out`` (an elementwise result) in torch's layout for ``operands`` (arrays, or Python numbers, which do not
    count): ``out`` itself when it already has it, else a dense copy in that order."""
    shape = out.shape
    if out.ndim < 2 or out.size < 2:
        return out
    arrays = [a for a in operands if isinstance(a, np.ndarray) and a.ndim]
    return in_order(out, torch_order(shape, [_effective_strides(a, shape) for a in arrays]))


def settled(out: np.ndarray, operands) -> bool:
    """Whether NumPy's ``out`` already has torch's layout: nothing to order (under 2 dimensions), a first operand
    that decides every pair of dimensions in C order (C-contiguous, of the result's shape), a single operand
    with dimensions (NumPy's order='K' and torch agree on one operand: 4000 random layouts surveyed), or a
    C-contiguous ``out`` of operands that are each C-contiguous or all strides 0 (a broadcast number, e.g. the
    gradient of a sum): every pair they tell apart is in C order, and a pair none tells apart stays in C order."""
    if out.ndim < 2:
        return True
    first = operands[0]
    if type(first) is np.ndarray and first.shape == out.shape and first.flags.c_contiguous:
        return True
    arrays = [a for a in operands if isinstance(a, np.ndarray) and a.ndim]
    return len(arrays) <= 1 or out.flags.c_contiguous and all(a.flags.c_contiguous or not any(a.strides)
                                                              for a in arrays)


def follows_inputs(forward, lead: int = 0):
    """``forward`` (a Primitive's elementwise forward of arrays) with its result in torch's layout
    (:func:`follow_inputs`), the operand at position ``lead`` first (rsub computes ``other - input``: ``other``
    leads); for ops off the hot paths (a frame and a flag test per call). A single operand with dimensions is
    not taken as :func:`settled`: ``forward`` may be several NumPy calls, whose temporaries are C-ordered
    (polar of a transposed ``abs`` and a 0-d ``angle``)."""
    def laid_out(*arrays, **params):
        out = forward(*arrays, **params)
        if type(out) is not np.ndarray or out.ndim < 2:
            return out
        operands = arrays if lead == 0 else (arrays[lead], *arrays[:lead], *arrays[lead + 1:])
        first = operands[0]
        if type(first) is np.ndarray and first.shape == out.shape and first.flags.c_contiguous:
            return out
        return follow_inputs(out, *operands)
    laid_out.__name__ = getattr(forward, "__name__", "forward")
    laid_out.__wrapped__ = forward
    return laid_out


def relay(result, *operands):
    """``result`` (a refgrad Tensor just made by an elementwise op of ``operands``, tensors or numbers) with its
    array in torch's layout: for the hot ops' Python functions, which test :func:`settled` themselves."""
    data = result._data
    arrays = [getattr(o, "_data", o) for o in operands]
    if type(data) is np.ndarray and not settled(data, arrays):
        result._data = follow_inputs(data, *arrays)
    return result


def column_major(array: np.ndarray) -> np.ndarray:
    """``array`` with each matrix (its last two dimensions) stored column by column, the batch dimensions outside
    in C order: the layout LAPACK leaves torch's results in (linalg.inv, solve, cholesky, qr, svd, eigh, lu_factor
    ...: ``stride(-2) == 1``, so ``.view(-1)`` raises and ``.mT`` is contiguous). A copy unless already so."""
    if array.ndim < 2:
        return array
    return np.swapaxes(np.ascontiguousarray(np.swapaxes(array, -1, -2)), -1, -2)


def memory_order(array: np.ndarray) -> list[int]:
    """``array``'s dimensions from the innermost in memory to the outermost (as torch orders one operand)."""
    return torch_order(array.shape, [tuple(s // array.itemsize for s in array.strides)])


def in_order(array: np.ndarray, order: list[int]) -> np.ndarray:
    """``array`` dense with its dimensions laid out in ``order`` (innermost first); itself when already so."""
    wanted, step = [0] * array.ndim, 1
    for d in order:
        wanted[d] = step
        step *= array.shape[d]
    if array.size < 2 or all(n == 1 or s == w * array.itemsize for n, s, w in zip(array.shape, array.strides, wanted)):
        return array
    outer = order[::-1]
    dense = np.empty([array.shape[d] for d in outer], array.dtype).transpose(np.argsort(outer))
    np.copyto(dense, array)
    return dense


def fft_order(a: np.ndarray, dims, real: bool) -> list[int]:
    """The memory order (innermost first) of torch's result of an FFT of ``a`` over ``dims``: the transformed
    dimensions innermost, then the others in ``a``'s memory order. A complex-to-complex transform keeps the
    transformed dimensions in ``a``'s memory order; a real one (r2c, c2r) puts the halved last of ``dims`` innermost,
    then the others of ``dims`` in ``a``'s memory order (surveyed on torch 2.13: rfftn and fftn of 3-D inputs in all
    six orders, every ordered choice of 1 to 3 dims, 180 cases; "from the last of ``dims`` to the first", the rule
    before, missed rfftn(x, dim=(2, 0, 1)) of a C-contiguous x)."""
    order = memory_order(a)
    dims = [d % a.ndim for d in dims]
    if real and len(dims) > 1:
        first = [dims[-1]] + [d for d in order if d in dims[:-1]]
    else:
        first = [d for d in order if d in dims]
    return first + [d for d in order if d not in dims]


def c_contiguous(array: np.ndarray) -> np.ndarray:
    """``array`` itself when C-contiguous, else a C-contiguous copy (np.ascontiguousarray turns 0-d into 1-d)."""
    return array if array.flags.c_contiguous else np.copy(array, order="C")


def contiguous_result(forward):
    """``forward`` with its array results C-contiguous: torch allocates a reduction's (and a few other kernels')
    output contiguous whatever the input's layout, where NumPy keeps the input's order (``x.mT.sum(0)``)."""
    def contiguous(*arrays, **params):
        out = forward(*arrays, **params)
        if type(out) is tuple:
            return tuple(c_contiguous(o) if type(o) is np.ndarray else o for o in out)
        return c_contiguous(out) if type(out) is np.ndarray else out
    contiguous.__name__ = getattr(forward, "__name__", "forward")
    contiguous.__wrapped__ = forward
    return contiguous


def channels_last_like(array: np.ndarray) -> bool:
    """Whether torch's ``suggest_memory_format()`` names channels-last for ``array`` (4-D or 5-D): its strides,
    channels innermost then the spatial dims from the last, never decrease (a dimension of size 1 does not scale
    them), and the batch dim's stride is not the channels' (torch's fallback to NCHW for ambiguous N111 shapes)."""
    if array.ndim not in (4, 5) or array.strides[1] == 0:
        return False
    smallest = 0
    for d in (1, *range(array.ndim - 1, 1, -1), 0):
        n, stride = array.shape[d], array.strides[d] // array.itemsize
        if n == 0 or stride < smallest or (d == 0 and smallest == array.strides[1] // array.itemsize):
            return False
        smallest = stride * n if n > 1 else stride
    return True


def suggested_format(forward):
    """``forward`` with its array result (the first of a tuple) dense in the memory format torch suggests for
    its first operand: channels-last when :func:`channels_last_like`, else C-contiguous (batch_norm's output,
    roll's: ``at::empty_like(input, input.suggest_memory_format())``)."""
    def formatted(*arrays, **params):
        out = forward(*arrays, **params)
        first = out[0] if type(out) is tuple else out
        if type(first) is not np.ndarray:
            return out
        if channels_last_like(arrays[0]):  # (a C-contiguous result too: group_norm's reshapes)
            first = in_order(first, [1, *range(first.ndim - 1, 1, -1), 0])
        elif first.flags.c_contiguous:
            return out
        else:
            first = np.copy(first, order="C")
        return (first, *out[1:]) if type(out) is tuple else first
    formatted.__name__ = getattr(forward, "__name__", "forward")
    formatted.__wrapped__ = forward
    return formatted


def like_first(forward):
    """``forward`` with its array result dense in its first operand's memory order (:func:`memory_order`): the
    ops whose kernel writes into ``input.clone()`` (index_fill, index_put, put), where ``ndarray.copy()`` made a
    C-ordered copy, and the one-operand elementwise kernels composed of several NumPy calls (i0, special.i1,
    special.ndtri, polygamma), whose C-ordered temporaries lose a transposed operand's order where torch's
    TensorIterator keeps it. Nothing to do for a C-contiguous or 1-D operand (a flag test)."""
    def cloned(first, *arrays, **params):
        out = forward(first, *arrays, **params)
        if first.ndim < 2 or first.flags.c_contiguous or type(out) is not np.ndarray or out.shape != first.shape:
            return out
        return in_order(out, memory_order(first))
    cloned.__name__ = getattr(forward, "__name__", "forward")
    cloned.__wrapped__ = forward
    return cloned


def strided_like_first(forward, overlapping: bool = False):
    """``forward`` with its array result (of its first operand's shape) given its first operand's very strides,
    gaps included, in a buffer of its own: torch's ``clone_preserve_strides``, which the ``*_scatter`` ops
    (select, slice, diagonal) write into (``x[..., ::2]``'s scatter has strides (.., 2)). An operand with internal
    overlap (a stride 0 from expand) is cloned dense in its memory order instead, as torch does, unless
    ``overlapping``: the ops that are views in torch (conj, its lazy conjugate; the negative view), whose result
    has the operand's strides, 0 included. Nothing to do for a C-contiguous operand (a flag test)."""
    def strided(first, *arrays, **params):
        out = forward(first, *arrays, **params)
        if first.flags.c_contiguous or type(out) is not np.ndarray or out.shape != first.shape or out.size < 2:
            return out
        if any(s < 0 or (s == 0 and n > 1 and not overlapping) for n, s in zip(first.shape, first.strides)):
            return in_order(out, memory_order(first))
        extent = 1 + sum((n - 1) * s for n, s in zip(first.shape, first.strides)) // first.itemsize
        laid = as_strided(np.empty(extent, out.dtype), first.shape, tuple(s // first.itemsize * out.itemsize
                                                                          for s in first.strides))
        np.copyto(laid, out)
        return laid
    strided.__name__ = getattr(forward, "__name__", "forward")
    strided.__wrapped__ = forward
    return strided
