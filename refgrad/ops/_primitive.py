"""The one funnel every differentiable op goes through.

A :class:`Primitive` pairs a NumPy forward with its VJP (written in refgrad ops, so gradients are themselves
differentiable) and torch's node name. Calling it runs the forward and, when grad mode is on and an input
requires grad, records a node that saves exactly the tensors the VJP reads — so, as in torch, only nodes that
saved something refuse a second backward.
"""
from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from refgrad._strides import empty_view
from refgrad.autograd.creation_meta import _view_creation
from refgrad.autograd.forward_ad import _state as _forward_ad
from refgrad.autograd.grad_mode import _state as _grad_mode
from refgrad.autograd.graph import SavedTensor, VersionCounter, expose_fields, node_class
from refgrad.autograd.graph import _sequence as _node_sequence
from refgrad.tensor import _DTYPE_OF, Tensor

_make = Tensor._make
_new = object.__new__
_saved_output = SavedTensor.of_new_output
_next_sequence_nr = _node_sequence.__next__

__all__ = ["Primitive"]

_NO_EDGE = (None, 0)
_NARROW = frozenset((np.dtype(np.float32), np.dtype(np.float16)))  # round_once computes these in float64

try:  # NumPy 2 keeps the floating-point error state in a context variable: set it directly (~0.1 µs, where
    # ``with np.errstate(all="ignore")`` costs ~1.8 µs, more than a ufunc on a small array)
    from numpy._core._multiarray_umath import _make_extobj
    from numpy._core._ufunc_config import _extobj_contextvar

    _FP_QUIET = _make_extobj(all="ignore")
    _set_fp_errors, _reset_fp_errors = _extobj_contextvar.set, _extobj_contextvar.reset
    _get_fp_errors = _extobj_contextvar.get  # (``is _FP_QUIET`` inside a Primitive's forward)
except ImportError:  # another NumPy layout: the public, slower context manager
    _FP_QUIET = None

    def _get_fp_errors():
        return False  # (never _FP_QUIET: always switched)

    def _set_fp_errors(_):
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def _reset_fp_errors(state):
        state.__exit__(None, None, None)


class Primitive:
    """A differentiable NumPy function.

    ``forward(*arrays, **params)`` returns an array or a tuple of arrays. ``vjp(ctx, *cotangents)`` returns one
    gradient (or None) per tensor input; ``ctx`` is the recorded node, on which ``ctx.<name>`` reads a saved
    tensor (names from ``inputs`` plus ``"result"``) or a parameter. Gradients may keep the broadcast shape and
    the promoted dtype: the engine reduces and casts them to each input's shape and dtype.

    ``save`` names the tensors the VJP reads: a tuple (always saved) or a dict ``{name: inputs}`` saving ``name``
    only when one of those inputs requires grad (torch saves ``other`` for ``self``'s gradient, and so on).

    ``view=True``: the forward returns a NumPy view of its first input, and the output shares storage and the
    version counter with it. ``differentiable``: indices of outputs that carry gradient (default: all).

    Complex outputs: a ``holomorphic`` op (the default) keeps its real VJP formula; torch's gradient is the
    conjugate Wirtinger derivative, ``g * conj(f'(z))``, which is ``conj(vjp(conj(g)))`` for any formula that
    computes ``g * f'(z)`` in complex arithmetic. Ops that are not holomorphic (abs, angle, conj, real, polar,
    the real FFTs...) pass ``holomorphic=False`` and write the complex VJP themselves.

    ``jvp``: the forward-mode rule (see :mod:`refgrad.autograd._jvp`): ``"linear"`` (default for views),
    ``"elementwise"``, a callable ``jvp(ctx, *tangents)``, None (the generic transpose of the VJP) or False.
    ``outputs``: the names a JVP's ctx reads the outputs by (ops that save extra outputs after the call).
    """

    __slots__ = ("grad_fn", "forward", "vjp", "inputs", "save", "view", "differentiable", "node_cls",
                 "forward_params", "save_plan", "holomorphic", "jvp", "outputs", "ufunc")

    def __init__(self, grad_fn: str, forward: Callable, vjp: Callable | None = None, *, inputs=("self",),
                 save=(), view: bool = False, differentiable=None, holomorphic: bool = True, jvp=None,
                 outputs=("result",)) -> None:
        self.grad_fn = grad_fn
        self.holomorphic = holomorphic
        self.forward = forward
        self.vjp = vjp
        self.inputs = tuple(inputs)
        self.save = save if isinstance(save, dict) else {name: None for name in save}
        self.view = view
        self.differentiable = differentiable
        self.jvp = "linear" if jvp is None and view else jvp
        self.outputs = outputs
        self.node_cls = node_class(grad_fn)
        self.forward_params = _keyword_names(forward)
        self.ufunc = getattr(forward, "ufunc", None)  # round_once(ufunc): the ufunc, called directly outside _NARROW
        # (name, input index or None for the result, indices of the inputs whose gradient needs it or None), in
        # the order of the names: torch's nodes unpack their saved variables in that order, so when two are stale
        # the version error names the first (mm: mat2 before self; addcmul: tensor1 before tensor2)
        self.save_plan = tuple(  # torch saves unconditionally what every input's formula reads
            (name, None if name == "result" else self.inputs.index(name),
             None if consumers is None or set(consumers) >= set(self.inputs)
             else tuple(self.inputs.index(c) for c in consumers))
            for name, consumers in sorted(self.save.items()))
        expose_fields(self.node_cls, (*self.save, *(self.forward_params or ())))

    def __call__(self, *tensors, cast=None, **params):
        """Apply to refgrad tensors; ``cast`` (a refgrad dtype) converts the input arrays before the forward."""
        n = len(tensors)
        if n == 1:
            arrays = (tensors[0]._data,)
        elif n == 2:
            arrays = (tensors[0]._data, tensors[1]._data)
        else:
            arrays = tuple([t._data for t in tensors])
        if cast is not None:
            target = cast.numpy
            if n == 2:
                if arrays[0].dtype is not target or arrays[1].dtype is not target:
                    arrays = tuple([a if a.dtype == target else a.astype(target) for a in arrays])
            else:
                for array in arrays:
                    if array.dtype is not target:
                        arrays = tuple([a if a.dtype == target else a.astype(target) for a in arrays])
                        break
        params_fw = params  # (a filtered copy when some parameter is the VJP's only)
        if params and self.forward_params is not None and not params.keys() <= self.forward_params:
            params_fw = {k: v for k, v in params.items() if k in self.forward_params}
        token = _set_fp_errors(_FP_QUIET)  # torch's kernels never warn: inf/NaN come out silently
        try:
            ufunc = self.ufunc
            if ufunc is not None and n == 1 and arrays[0].dtype not in _NARROW:  # round_once's wide case, inlined
                out = ufunc(arrays[0])
            else:
                out = self.forward(*arrays, **params_fw)
        finally:
            _reset_fp_errors(token)
        enabled, inference = _grad_mode.mode  # (one read of the thread-local state)
        if type(out) is tuple:
            result = results = tuple(_make(o if type(o) is np.ndarray else np.asarray(o)) for o in out)
        else:  # Tensor._make inlined: this is the hot path of every op
            result = _new(Tensor)
            result._data = out if type(out) is np.ndarray else np.asarray(out)
            result._grad_fn = result._base = result._vc = result._zerotensor = None  # the fields the hot paths
            result._requires_grad = False  # read, as instance values (see Tensor._make)
            result._output_nr = 0
            result._is_inference = inference
            results = None
        if self.view:
            first = result if results is None else results[0]
            view, source = first._data, tensors[0]._data
            if view.size == 0:  # (an empty view: torch's strides, which NumPy does not keep; see _strides.py)
                first._data = empty_view(self.forward, arrays, params_fw, view)
                _mark_view(first, tensors[0], self, params)
            elif view.base is source or np.may_share_memory(view, source):
                _mark_view(first, tensors[0], self, params)
        if enabled and not inference and self.vjp is not None:  # inference mode: never recorded
            edges = None  # one edge per input, when one of them requires grad
            if n == 1:  # the common cases, unrolled
                t = tensors[0]
                if t._requires_grad or t._grad_fn is not None or (t._base is not None and t.requires_grad):
                    fn = t._grad_fn if t._base is None else t.grad_fn  # a view may need its node regenerated
                    edges = ((fn, t._output_nr) if fn is not None else (t._grad_accumulator(), 0)
                             if t._requires_grad else _NO_EDGE,)
                    data = t._data
                    by_shape = _META.get(data.dtype)
                    input_meta = None if by_shape is None else by_shape.get(data.shape)  # a shared one-tuple
                    if input_meta is None:
                        input_meta = _meta(data.shape, data.dtype)
            elif n == 2:
                t, u = tensors
                if t._requires_grad or t._grad_fn is not None or u._requires_grad or u._grad_fn is not None or \
                        (t._base is not None and t.requires_grad) or (u._base is not None and u.requires_grad):
                    fn = t._grad_fn if t._base is None else t.grad_fn
                    first_edge = ((fn, t._output_nr) if fn is not None else (t._grad_accumulator(), 0)
                                  if t._requires_grad else _NO_EDGE)
                    fn = u._grad_fn if u._base is None else u.grad_fn
                    edges = (first_edge, (fn, u._output_nr) if fn is not None else (u._grad_accumulator(), 0)
                             if u._requires_grad else _NO_EDGE)
                    a, b = t._data, u._data
                    by_shape = _META.get(a.dtype)
                    first_meta = None if by_shape is None else by_shape.get(a.shape)
                    if first_meta is None:
                        first_meta = _meta(a.shape, a.dtype)
                    by_shape = _META.get(b.dtype)
                    second_meta = None if by_shape is None else by_shape.get(b.shape)
                    if second_meta is None:
                        second_meta = _meta(b.shape, b.dtype)
                    input_meta = (first_meta[0], second_meta[0])
            else:
                for t in tensors:
                    if t._requires_grad or t._grad_fn is not None or (t._base is not None and t.requires_grad):
                        edges, input_meta = _edges_and_meta(tensors)
                        break
            if edges is None:
                pass
            elif results is not None:
                self._record(tensors, edges, input_meta, results, params)
            else:  # one output: the node is made here (this runs for every recorded op: no further frame)
                data = result._data
                dtype = data.dtype
                by_shape = _META.get(dtype)
                output_meta = None if by_shape is None else by_shape.get(data.shape)
                if output_meta is None:
                    output_meta = _meta(data.shape, dtype)
                vjp = self.vjp
                if dtype not in _REAL and dtype.kind == "c" and self.holomorphic:
                    vjp = _conjugated(vjp)
                node = _new(self.node_cls)  # Node.__init__ inlined (a node class made by node_class has no other)
                node._vjp = vjp
                node.next_functions = edges
                node._input_meta = input_meta
                node._output_meta = output_meta
                node._saved = saved = {}
                node._params = params
                node._sequence_nr = _next_sequence_nr()
                if params and (params_fw is not params or self.forward_params is None) and \
                        not params.keys() <= node._exposed:  # a parameter only the VJP reads (the forward's were
                    # exposed in __init__)
                    expose_fields(self.node_cls, params)
                if ((dtype in _REAL or dtype.kind in "fc") if self.differentiable is None
                        else (self.differentiable and dtype.kind in "fc")):  # (differentiable: (0,) or ())
                    result._grad_fn = node  # a fresh result: no view bookkeeping unless _mark_view made it a view
                    if result._base is not None:
                        result._view_version = result._version_counter.value
                for name, index, consumers in self.save_plan:
                    if consumers is not None:
                        for c in consumers:
                            if edges[c] is not _NO_EDGE:
                                break
                        else:  # no input whose gradient reads it requires grad
                            continue
                    if index is None:  # the output, produced by this node
                        if result._grad_fn is node and result._base is None and result._vc is None:
                            # a fresh output: SavedTensor.of_new_output inlined (its array and a new version counter)
                            vc = _new(VersionCounter)
                            vc.value = 0
                            result._vc = vc
                            entry = _new(SavedTensor)
                            entry.tensor = entry.grad_fn = None
                            entry.data = data
                            entry.vc = vc
                            entry.cls = Tensor
                            entry.version = entry.output_nr = 0
                            entry.is_output = True
                            saved[name] = entry
                        else:
                            saved[name] = SavedTensor(result, node)
                    else:
                        t = tensors[index]
                        if t._is_inference:
                            saved[name] = SavedTensor(t)  # raises torch's error
                            continue
                        entry = _new(SavedTensor)  # SavedTensor(t) for an input, inlined: pinned to its version
                        vc = t._vc
                        entry.tensor = t
                        entry.data = None
                        entry.output_nr = t._output_nr
                        entry.is_output = False
                        entry.version = 0 if vc is None else vc.value
                        entry.grad_fn = t._grad_fn if t._base is None else t.grad_fn
                        saved[name] = entry
        if _forward_ad.stack:  # forward-mode AD: tangents ride along (refgrad/autograd/_jvp.py)
            from refgrad.autograd._jvp import propagate
            propagate(self, tensors, (result,) if results is None else results, params, cast)
        return result

    def _record(self, tensors, edges: tuple, input_meta: tuple, results: tuple, params) -> None:
        """The node of a call with several outputs ``results`` (a tuple) (one output: made in __call__)."""
        first = results[0]._data
        kind = first.dtype.kind
        vjp = self.vjp
        if kind == "c" and self.holomorphic:
            vjp = _conjugated(vjp)
        differentiable = self.differentiable
        if differentiable and differentiable[-1] != len(differentiable) - 1:  # (lu's L and U after its P)
            # torch's node has only the differentiable outputs, numbered among themselves (L, U: outputs 0, 1);
            # the VJP still takes one cotangent per output, None for the others
            vjp = _spread(vjp, differentiable, len(results))
            output_meta = tuple([_meta(results[i]._data.shape, results[i]._data.dtype)[0] for i in differentiable])
        elif len(results) == 1:
            output_meta = _meta(first.shape, first.dtype)
        else:
            output_meta = tuple([_meta(r._data.shape, r._data.dtype)[0] for r in results])
        node = _new(self.node_cls)  # Node.__init__ inlined (a node class made by node_class has no other)
        node._vjp, node.next_functions, node._input_meta, node._output_meta, node._saved, node._params = \
            vjp, edges, input_meta, output_meta, {}, params
        node._sequence_nr = _next_sequence_nr()
        if params and not params.keys() <= node._exposed:  # a parameter only the VJP reads: ctx.<name> from now on
            expose_fields(self.node_cls, params)
        for nr, i in enumerate(range(len(results)) if differentiable is None else differentiable):
            output = results[i]
            if output._data.dtype.kind in "fc":
                output._grad_fn = node
                if output._base is not None:
                    output._view_version = output._version_counter.value
                if nr:
                    output._output_nr = nr
        saved = node._saved
        result = results[0]
        for name, index, consumers in self.save_plan:
            if consumers is not None:
                for c in consumers:
                    if edges[c] is not _NO_EDGE:
                        break
                else:  # no input whose gradient reads it requires grad
                    continue
            if index is None:  # the output, produced by this node
                if result._grad_fn is node and result._base is None and result._vc is None:
                    saved[name] = _saved_output(result, result._data)  # a fresh output: SavedTensor's fast path
                else:
                    saved[name] = SavedTensor(result, node)
            else:
                saved[name] = SavedTensor(tensors[index])


def _edges_and_meta(tensors) -> tuple:
    """The edges of a node with these inputs (one per tensor), and their ``(shape, dtype)`` metadata."""
    edge_list, meta_list = [], []
    for t in tensors:
        fn = t._grad_fn if t._base is None else t.grad_fn  # a view may need its node regenerated
        if fn is not None:
            edge_list.append((fn, t._output_nr))
        elif t._requires_grad:
            edge_list.append((t._grad_accumulator(), 0))
        else:
            edge_list.append(_NO_EDGE)
        data = t._data
        by_shape = _META.get(data.dtype)
        meta = None if by_shape is None else by_shape.get(data.shape)
        meta_list.append((meta if meta is not None else _meta(data.shape, data.dtype))[0])
    return tuple(edge_list), tuple(meta_list)


_REAL = frozenset(np.dtype(c) for c in "efdg")  # (native) real floating dtypes: a set test is cheaper than .kind
_META: dict = {}  # NumPy dtype -> {shape: ((shape, refgrad dtype),)}


def _meta(shape: tuple, numpy_dtype) -> tuple:
    """The one-tuple ``((shape, refgrad dtype),)``: the metadata a node records per input and output, shared per
    pair, so that a one-input node's tuples are all shared (no per-node copies for the garbage collector)."""
    by_shape = _META.get(numpy_dtype)
    if by_shape is None:
        by_shape = _META[numpy_dtype] = {}
    meta = by_shape.get(shape)
    if meta is None:
        if len(by_shape) > 4096:  # many distinct shapes: start over rather than grow without bound
            by_shape.clear()
        meta = by_shape[shape] = ((shape, _DTYPE_OF.get(numpy_dtype)),)
    return meta


def _spread(vjp: Callable, differentiable: tuple, outputs: int) -> Callable:
    """``vjp`` of a node whose slots are the ``differentiable`` outputs only, given one cotangent per output."""
    def spread(ctx, *cotangents):
        full = [None] * outputs
        for i, g in zip(differentiable, cotangents):
            full[i] = g
        return vjp(ctx, *full)
    return spread


def _conjugated(vjp: Callable) -> Callable:
    """The VJP of a holomorphic op for complex cotangents: conj(vjp(conj(g))), computed as torch's formulas do,
    with the saved values conjugated (see refgrad/ops/_conjugate.py)."""
    from refgrad.ops._conjugate import conjugated_vjp
    return conjugated_vjp(vjp)


def _keyword_names(fn: Callable) -> frozenset | None:
    """The parameters the forward accepts (params it doesn't name are for the VJP only); None: accepts all."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # NumPy ufuncs
        return frozenset()
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return None
    return frozenset(signature.parameters)


def _mark_view(out, source, primitive: Primitive, params: dict) -> None:
    """Make ``out`` a view of ``source``'s base: shared version counter, and a function that recreates it."""
    base = source._base if source._base is not None else source
    parent_fn = source._view_fn

    def view_fn(tensor):
        return primitive(parent_fn(tensor) if parent_fn is not None else tensor, **params)

    out._base = base
    out._view_fn = view_fn
    counter = source._vc
    if counter is None:
        counter = source._version_counter  # created here
    out._vc = counter  # shared with the source
    out._view_version = counter.value
    _view_creation(out, source)
    if source._is_conj:  # a view of a conjugated tensor keeps torch's conj bit
        out._is_conj = True
    if source._zerotensor:  # a view of a ZeroTensor is one (torch's view kernels keep its dispatch key)
        out._zerotensor = True


def refuse_before_kernel(primitive: Primitive, *operands) -> None:
    """torch's autograd reads an op's input nodes and saves its inputs before its kernel checks them: when
    ``primitive`` would record a node, a view among ``operands`` made without grad and written since raises its
    refusal (creation_meta.py), then an inference tensor to be saved raises "Inference tensors cannot be saved",
    both before any argument error. Call it on an op's error path, just before raising the op's own error."""
    if primitive.vjp is None or not _grad_mode.enabled or _grad_mode.inference:
        return
    needs = [isinstance(t, Tensor) and t.requires_grad for t in operands]
    if not any(needs):
        return
    for t in operands:
        if isinstance(t, Tensor) and t._base is not None:
            t.grad_fn  # noqa: B018 - the node is read (regenerated, or torch's refusal raised)
    for _, index, consumers in primitive.save_plan:
        if index is None or index >= len(operands) or not isinstance(operands[index], Tensor):
            continue
        if consumers is None or any(c < len(needs) and needs[c] for c in consumers):
            if operands[index]._is_inference:
                SavedTensor(operands[index])  # raises torch's error
