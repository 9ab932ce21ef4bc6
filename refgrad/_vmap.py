"""``refgrad.func.vmap``: map a function over a batch dimension, by a loop (torch batches the kernels instead).

Each batch entry runs ``func`` on the inputs' slices (``x[..., b, ...]`` at in_dim, so gradients and tangents flow into
the batched inputs) and the outputs are stacked along ``out_dims``. Nested vmaps nest loops. ``randomness``:
``"error"`` makes any random factory inside raise torch's error, ``"same"`` replays one random stream for every
batch entry, ``"different"`` lets entries draw in turn.
"""
from __future__ import annotations

import contextlib
import copy
import functools
from typing import Callable

import numpy as np

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def _check_randomness(randomness: str) -> None:
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")


class _NoRandomness:
    """Stands in for the default generator's NumPy generator under randomness='error'."""

    def __getattr__(self, name):
        raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                           "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
                           "of vmap")


@contextlib.contextmanager
def _randomness(randomness: str, replay=None):
    """While the body runs: random factories raise ('error'), or draw freely ('different', 'same')."""
    from refgrad.factories import default_generator
    if randomness != "error":
        yield
        return
    saved = default_generator._rng
    default_generator._rng = _NoRandomness()
    try:
        yield
    finally:
        default_generator._rng = saved


def _name(func) -> str:
    return getattr(func, "__name__", repr(func))


def _dims_for(in_dims, args, func, flatten, unflatten):
    """One in_dim per leaf of ``args`` (torch's prefix matching of in_dims against the inputs' structure)."""
    def bad_type():
        return ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
                          f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")

    if isinstance(in_dims, int) and not isinstance(in_dims, bool):
        return [in_dims] * len(flatten(args)[0])
    if not isinstance(in_dims, tuple):
        raise bad_type()
    if len(in_dims) != len(args):
        from refgrad.func import _structure
        raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure {_structure(flatten(in_dims)[1])} but inputs "
                         f"has structure {_structure(flatten(args)[1])}.")
    dims = []
    for d, a in zip(in_dims, args):
        leaves = flatten(a)[0]
        if d is None or isinstance(d, int):
            dims.extend([d] * len(leaves))
        else:
            dims.extend(flatten(d)[0] if len(flatten(d)[0]) == len(leaves) else [d] * len(leaves))
    return dims


def vmap(func: Callable, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None) -> Callable:
    """``func`` mapped over dimension ``in_dims`` of its inputs, results stacked along ``out_dims`` (torch.func)."""
    from refgrad.func import _flatten, _is_tensor, _unflatten
    _check_randomness(randomness)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from refgrad.factories import default_generator
        from refgrad.tensor import _wrap_dim
        if not args:
            raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
                             "are trying to vmap over a function with no inputs. The latter is unsupported.")
        leaves, spec = _flatten(args)
        dims = _dims_for(in_dims, args, func, _flatten, _unflatten)
        sizes, wrapped = [], []
        for leaf, d in zip(leaves, dims):
            if d is None:
                wrapped.append(None)
                continue
            if not _is_tensor(leaf):
                raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input "
                                 f"but the input is of type {type(leaf)}. We cannot vmap over non-Tensor arguments, "
                                 "please use None as the respective in_dim")
            if not -leaf.dim() <= d < max(leaf.dim(), 0) or leaf.dim() == 0:
                raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some "
                                 f"input, but that input is a Tensor of dimensionality {leaf.dim()} so expected in_dim "
                                 f"to satisfy -{leaf.dim()} <= in_dim < {leaf.dim()}.")
            w = d % leaf.dim()
            wrapped.append(w)
            sizes.append(leaf.shape[w])
        if not sizes:
            raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): at least one input must be a "
                             "Tensor with a mapped dimension (in_dim not None)")
        if len(set(sizes)) != 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sizes} for the mapped dimension")
        batch = sizes[0]

        def entry(b):
            sliced = [leaf if w is None else leaf[(slice(None),) * w + (b,)] if b is not None else _empty_slice(leaf, w)
                      for leaf, w in zip(leaves, wrapped)]
            return func(*_unflatten(sliced, spec), **kwargs)

        results = []
        start_state = copy.deepcopy(default_generator._rng) if randomness == "same" else None
        with _randomness(randomness):
            for b in range(batch):
                if start_state is not None:
                    default_generator._rng = copy.deepcopy(start_state)
                results.append(entry(b))
            if batch == 0:  # the output structure and per-entry shapes come from one run on empty-valued slices
                results.append(entry(None))
        return _stack_outputs(results, batch, out_dims, func, _flatten, _unflatten, _is_tensor, _wrap_dim)

    return wrapper


def _empty_slice(leaf, w):
    from refgrad.tensor import Tensor
    shape = tuple(n for i, n in enumerate(leaf.shape) if i != w)
    return Tensor._make(np.zeros(shape, dtype=leaf._data.dtype))


def _stack_outputs(results, batch, out_dims, func, flatten, unflatten, is_tensor, wrap_dim):
    from refgrad import stack
    out_leaves = [flatten(r)[0] for r in results]
    spec = flatten(results[0])[1]
    count = len(out_leaves[0])
    if isinstance(out_dims, int) or out_dims is None:
        dims = [out_dims] * count
    else:
        dims = flatten(out_dims)[0] if len(flatten(out_dims)[0]) == count else list(out_dims) * count
    stacked = []
    for k in range(count):
        column = [leaves[k] for leaves in out_leaves]
        d = dims[k]
        if d is None:
            stacked.append(column[0])
            continue
        if not is_tensor(column[0]):
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, got type "
                             f"{type(column[0])}. Did you mean to set out_dims= to None for output?")
        if all(getattr(c, "_vmap_passthrough", False) for c in column):  # returned as is (see lu_unpack)
            if not -column[0].dim() <= d < column[0].dim():
                raise IndexError(f"Dimension out of range (expected to be in range of [{-column[0].dim()}, "
                                 f"{column[0].dim() - 1}], but got {d})")
            stacked.append(column[0])
            continue
        d = wrap_dim(d, column[0].dim() + 1)
        if batch == 0:
            shape = list(column[0].shape)
            shape.insert(d, 0)
            from refgrad.tensor import Tensor
            stacked.append(Tensor._make(np.zeros(shape, dtype=column[0]._data.dtype)))
        else:
            stacked.append(stack(column, dim=d))
    return unflatten(stacked, spec)
