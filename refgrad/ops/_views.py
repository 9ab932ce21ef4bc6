"""The primitive views and index scatters that the shape and indexing families are both built of.

A gather (``out = a[key]``) and its adjoint, an add-into (``out = zeros; out[key] += g``), plus the view
primitives ``select``, ``slice`` and ``alias``: torch's SelectBackward0, SliceBackward0 and AliasBackward0 nodes.
They live below both families so neither imports the other's privates.
"""
from __future__ import annotations

import numpy as np

from refgrad._strides import empty_at, torch_order
from refgrad.autograd.forward_ad import _state as _forward_ad
from refgrad.autograd.grad_mode import _state as _grad_mode
from refgrad.ops._layout import in_order
from refgrad.ops._primitive import Primitive
from refgrad.tensor import Tensor


def internal_view(primitive: Primitive, input: Tensor, **params) -> Tensor:
    """``primitive(input, **params)`` for a view that a VJP consumes at once and drops (``mat2.t()`` in mm's
    gradient, ``g.expand(shape)`` in mean's). Without grad mode and forward AD no node records it, no op saves it
    and no tangent rides on it, so its view bookkeeping (base, shared version counter, view_fn, creation meta) is
    unobservable: the array is the primitive's own forward, wrapped as a plain tensor. Under create_graph (or a
    forward-AD level) it is the recorded view, exactly as torch makes it."""
    if _grad_mode.enabled or _forward_ad.stack:
        return primitive(input, **params)
    names = primitive.forward_params
    if names is not None and params and not params.keys() <= names:
        params = {k: v for k, v in params.items() if k in names}
    return Tensor._make(primitive.forward(input._data, **params))


def _take_forward(a, key):
    if key and isinstance(key[0], str):  # ("flat", positions): torch.take on the flattened input
        return a.reshape(-1)[key[1]]
    out = a[key]  # (NumPy lays some advanced-index results out in F order: torch's gather, index_select... are C)
    return out if out.flags.c_contiguous else out.copy()


def _index_forward(a, key):
    """``a[key]`` (getitem's IndexBackward0), laid out as torch's index kernel lays it out (:func:`_index_order`)."""
    out = a[key]
    if a.ndim > 1 and out.ndim > 1 and not a.flags.c_contiguous:
        order = _index_order(a, key, out.shape)
        if order is not None:
            return in_order(out, order)
    return out if out.flags.c_contiguous else out.copy()


def _index_order(a, key, shape):
    """The memory order of torch's ``a[key]`` (slices and integer index arrays): its TensorIterator orders the
    result like ``a`` restrided to it (0 along the index dims), then like the index arrays; None for other keys."""
    arrays = [k for k in key if isinstance(k, np.ndarray)]
    if any(k.dtype == np.bool_ for k in arrays) or not all(isinstance(k, (slice, np.ndarray)) for k in key):
        return None
    spots = [i for i, k in enumerate(key) if isinstance(k, np.ndarray)]
    width = len(np.broadcast_shapes(*(k.shape for k in arrays)))
    sliced = [(d, (key[d].step or 1) if d < len(key) else 1) for d in range(a.ndim) if d not in spots]
    src = [a.strides[d] // a.itemsize * step for d, step in sliced]
    lead = spots[0] if spots == list(range(spots[0], spots[-1] + 1)) else 0
    src = src[:lead] + [0] * width + src[lead:]
    operands = [tuple(src)]
    for k in arrays:
        strides = [0] * (width - k.ndim) + [s // k.itemsize if n > 1 else 0 for n, s in zip(k.shape, k.strides)]
        operands.append(tuple([0] * lead + strides + [0] * (len(shape) - lead - width)))
    return torch_order(shape, operands) if len(src) == len(shape) else None


def _add_into_forward(g, shape, key):
    out = np.zeros(shape, dtype=g.dtype)
    if key and isinstance(key[0], str):
        np.add.at(out.reshape(-1), key[1], g)
    else:
        np.add.at(out, key, g)
    return out


def _saving_index(result: Tensor, needed: bool = True) -> Tensor:
    """torch's indexing nodes save their index tensors, so a second backward through them must fail: give the
    node a saved tensor its VJP unpacks (refgrad keeps the key itself as a parameter)."""
    from refgrad.autograd.graph import SavedTensor, save_extra
    if needed and result.grad_fn is not None and "indices" not in result.grad_fn._saved:
        save_extra(result.grad_fn, "indices", SavedTensor(Tensor._make(np.zeros(0, dtype=np.int64))))
    return result


def _unpack_index(ctx) -> None:
    if "indices" in ctx._saved:
        ctx.indices  # noqa: B018 - raises the "backward through the graph a second time" error once freed


def _zero_at_forward(g, key):
    out = g.copy()
    out[key] = 0
    return out


_GATHERS: dict[str, Primitive] = {}
_SAVES_SELF = frozenset({"GatherBackward0", "TakeBackward0", "MaskedSelectBackward0"})  # torch saves the input


def _gather(name: str) -> Primitive:
    """``a[key]`` recorded as ``name``; its gradient adds the cotangent back at ``key``."""
    if name not in _GATHERS:
        _GATHERS[name] = Primitive(name, _index_forward if name == "IndexBackward0" else _take_forward, _gather_vjp,
                                   save=("self",) if name in _SAVES_SELF else (), jvp="linear")
    return _GATHERS[name]


def _gather_vjp(c, g):
    _unpack_index(c)
    if "self" in c._saved:
        c.self  # noqa: B018 - torch reads the saved input here (version check)
    name = type(c).__name__
    if name not in _ADJOINT_NAMES:
        return _add_into(g, shape=c._input_meta[0][0], key=c.key)
    return _adjoint(name)(_no_edge_zero(g), g, shape=c._input_meta[0][0], key=c.key)


def _no_edge_zero(g: Tensor) -> Tensor:
    """A constant zero a gradient's node takes as its first input: torch's backward writes the cotangent into new
    zeros (``zeros.index_put_(indices, grad, True)``...), whose edge in the node's next_functions is None."""
    return Tensor._make(np.zeros((), dtype=g._data.dtype))


#: the node torch records for each gather's gradient (torch 2.13: index -> zeros.index_put_(.., accumulate=True),
#: gather -> zeros.scatter_add(..), index_select -> zeros.index_add(..), take -> zeros.put_(.., accumulate=True),
#: masked_select -> zeros.masked_scatter(..)): next_functions [None (the zeros), the cotangent's node]
_ADJOINT_NAMES = {"IndexBackward0": "IndexPutImplBackward0", "GatherBackward0": "ScatterAddBackward0",
                  "IndexSelectBackward0": "IndexAddBackward0", "TakeBackward0": "PutBackward0",
                  "MaskedSelectBackward0": "MaskedScatterBackward0"}
_ADJOINTS: dict[str, Primitive] = {}


def _adjoint(name: str) -> Primitive:
    """The add-into of gather ``name``'s gradient, recorded as torch's node; its own gradient is the gather."""
    if name not in _ADJOINTS:
        _ADJOINTS[name] = Primitive(_ADJOINT_NAMES[name], lambda zero, g, shape, key: _add_into_forward(g, shape, key),
                                    lambda c, g: (None, _gather(name)(g, key=c.key)), inputs=("self", "source"),
                                    jvp="linear")
    return _ADJOINTS[name]


def _indexed(name: str, input: Tensor, key) -> Tensor:
    """``input[key]`` recorded as ``name``, saving the index as torch does."""
    return _saving_index(_gather(name)(input, key=key))


_add_into = Primitive("IndexPutBackward0", _add_into_forward, lambda c, g: _gather("IndexBackward0")(g, key=c.key),
                      jvp="linear")
_ZEROINGS: dict[str, Primitive] = {}


def zeroed_at(name: str, g: Tensor, key, values_edge: bool = False) -> Tensor:
    """``g`` with zeros written at ``key``, recorded as ``name`` (torch's node for a write's gradient in its input:
    ``grad.scatter(dim, index, 0)``, ``grad.index_fill(..)``...); ``values_edge``: the node also takes the zeros
    it writes as an input without gradient (``grad.put(index, zeros_like(source))``: next_functions [g, None])."""
    if (name, values_edge) not in _ZEROINGS:
        if values_edge:
            _ZEROINGS[name, values_edge] = Primitive(
                name, lambda g, zero, key: _zero_at_forward(g, key),
                lambda c, g: (zeroed_at(name, g, c.key, True), None), inputs=("self", "values"), jvp="linear")
        else:
            _ZEROINGS[name, values_edge] = Primitive(name, _zero_at_forward,
                                                     lambda c, g: zeroed_at(name, g, c.key), jvp="linear")
    zeroing = _ZEROINGS[name, values_edge]
    return zeroing(g, _no_edge_zero(g), key=key) if values_edge else zeroing(g, key=key)


def _select_backward_forward(g, dim, index, self_sym_sizes):
    out = np.zeros(self_sym_sizes, dtype=g.dtype)
    out[(slice(None),) * dim + (index,)] = g
    return out


def _slice_backward_forward(g, dim, start, end, step, self_sym_sizes):
    out = np.zeros(self_sym_sizes, dtype=g.dtype)
    out[(slice(None),) * dim + (slice(start, end, step),)] = g
    return out


# select's and slice's gradients are torch's select_backward / slice_backward: one node each under create_graph,
# whose VJP is the view again
_select_backward = Primitive("SelectBackwardBackward0", _select_backward_forward,
                             lambda c, g: _select(g, **c._params), jvp="linear")
_slice_backward = Primitive("SliceBackwardBackward0", _slice_backward_forward,
                            lambda c, g: _slice(g, **c._params), jvp="linear")


def _select_vjp(c, g):
    return _select_backward(g, **c._params)


def _slice_vjp(c, g):
    return _slice_backward(g, **c._params)


_select = Primitive("SelectBackward0",
                    lambda a, dim, index, self_sym_sizes: a[(slice(None),) * dim + (index, Ellipsis)],
                    _select_vjp, view=True)
def _slice_forward(a, dim, start, end, step, self_sym_sizes):
    out = a[(slice(None),) * dim + (slice(start, end, step),)]
    return out if out.size or not start else empty_at(out, a, start * a.strides[dim])  # (torch's offset: start's)


_slice = Primitive("SliceBackward0", _slice_forward, _slice_vjp, view=True)




_alias = Primitive("AliasBackward0", lambda a: a.view(), lambda c, g: g, view=True)
# forward AD's views: make_dual's output (torch's ViewBackward0) and unpack_dual's primal (torch's Identity node)
_dual_view = Primitive("ViewBackward0", lambda a: a.view(), lambda c, g: g, view=True)
_primal_view = Primitive("Identity", lambda a: a.view(), lambda c, g: g, view=True)
