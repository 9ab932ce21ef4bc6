"""The recorded graph: nodes (grad_fn objects), saved tensors and hook handles.

A node knows nothing about any particular op: it holds the op's VJP, the tensors the VJP reads (saved with their
version, so an in-place change is caught), non-tensor parameters, and one edge per input. The walk over nodes
lives in ``engine.py``; the math of each op lives next to its forward in ``refgrad/ops``.
"""
from __future__ import annotations

import itertools
import re
from types import MappingProxyType
from typing import Callable

import numpy as np

__all__ = ["Node", "AccumulateGrad", "SavedTensor", "VersionCounter", "node_class", "expose_fields", "expose_node",
           "save_extra", "RemovableHandle",
           "ERR_BACKWARD_TWICE", "ERR_DETACHED"]

ERR_BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they have "
    "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
    "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if "
    "you need to access saved tensors after calling backward."
)
ERR_DETACHED = ("Trying to use a saved tensor that has been detached in-place, i.e. with .detach_().This is not "
                "supported, please use out-of-place `.detach()` instead")
_ANOMALY_HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
                 "torch.autograd.set_detect_anomaly(True, check_nan=False).")
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
               "uint8": "ByteTensor", "bool": "BoolTensor", "complex64": "ComplexFloatTensor",
               "complex128": "ComplexDoubleTensor"}
#: how the version error names a saved tensor's type (torch 2.13: its legacy type name, but complex tensors by
#: their CPU type, e.g. CPUComplexDoubleType)
_STALE_TYPE_NAMES = {**{k: "torch." + v for k, v in _TYPE_NAMES.items()},
                     "complex64": "CPUComplexFloatType", "complex128": "CPUComplexDoubleType"}
_sequence = itertools.count()


class RemovableHandle:
    """Returned by register_hook; ``remove()`` unregisters the hook (torch.utils.hooks.RemovableHandle)."""

    _ids = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class VersionCounter:
    """Shared by a tensor, its views and its detached aliases; bumped by every in-place op (``refgrad.tensor``
    exports it; it lives here so that saving a node's output can create one)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class SavedTensor:
    """A tensor a VJP will read, pinned to the version it had when saved (torch's SavedVariable).

    A node's own output is kept as its array and version counter, not as the tensor: the tensor's grad_fn is the
    node, so keeping it would make a reference cycle (node -> saved output -> node) that keeps the whole graph
    alive until the cyclic garbage collector runs whenever the graph is dropped without a backward, or kept with
    retain_graph. Unpacking re-wraps the array as a new tensor whose grad_fn is the node asking (torch does the
    same: ``y.grad_fn._saved_result`` equals ``y`` and has ``y``'s grad_fn, but is not ``y``)."""

    __slots__ = ("tensor", "version", "grad_fn", "output_nr", "is_output", "data", "vc", "cls")

    def __init__(self, tensor, producer: "Node | None" = None) -> None:
        if tensor._is_inference:
            raise RuntimeError(
                "Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode "
                "in computation tracked by autograd. To work around this, you can make a clone to get a normal tensor "
                "and use it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`.")
        self.output_nr = tensor._output_nr
        self.is_output = producer is not None  # the node's own output (its error message names the node)
        vc = tensor._vc
        if producer is not None and tensor._grad_fn is producer and tensor._base is None and tensor._fw is None \
                and not tensor._is_conj and not tensor._is_neg:
            if vc is None:  # the counter in-place changes of the tensor (or its aliases) will bump
                vc = tensor._version_counter  # (created here)
            self.tensor, self.data, self.vc, self.cls = None, tensor._data, vc, type(tensor)
            self.version = vc.value
            self.grad_fn = None
            return
        self.tensor = tensor  # an input (or an output not linked to its node: no cycle either way)
        self.data = None
        self.version = 0 if vc is None else vc.value  # a tensor without a counter yet is at version 0
        # the node that made the input (for the error message)
        self.grad_fn = None if producer is not None else tensor._grad_fn if tensor._base is None else tensor.grad_fn

    @classmethod
    def of_new_output(cls, tensor, data) -> "SavedTensor":
        """What ``SavedTensor(tensor, producer)`` makes of a node's fresh (not a view, not conjugated or negated,
        no tangent yet) floating output ``tensor`` of array ``data`` whose grad_fn is the producer: its array and
        a new version counter, without __init__'s checks (the hot path of every op that saves its result)."""
        vc = _new(VersionCounter)
        vc.value = 0
        tensor._vc = vc
        saved = _new(cls)
        saved.tensor = saved.grad_fn = None
        saved.data, saved.vc, saved.cls, saved.version, saved.output_nr, saved.is_output = \
            data, vc, type(tensor), 0, 0, True
        return saved

    def unpack(self, node: "Node | None" = None):
        """The saved tensor (``node``: the node reading it, the grad_fn of a re-wrapped output)."""
        tensor = self.tensor
        if tensor is None:
            data = self.data
            if data is None:
                raise RuntimeError(ERR_BACKWARD_TWICE)
            vc = self.vc
            if vc.value != self.version:
                self._stale(node, data.shape, data.dtype.name, vc.value)
            tensor = _new(self.cls)
            tensor._data, tensor._vc = data, vc
            if node is not None:
                tensor._grad_fn = node
                if self.output_nr:
                    tensor._output_nr = self.output_nr
            return tensor
        vc = tensor._vc
        if vc is not None and vc.value != self.version:
            self._stale(node, tensor.shape, tensor.dtype.name, vc.value)
        return tensor

    def _stale(self, node, shape, dtype_name: str, version: int):
        """torch's version error. It names a saved input by its current node (torch reads ``data_.grad_fn()``: the
        in-place op's, or a view's regenerated AsStridedBackward0), a saved output by the node reading it, and a
        non-differentiable output (lu's P, saved by torch as a leaf) by none; "SubBackward0" reads "Sub",
        "TBackward1" "T1", a name without a numbered "Backward" stays (torch::autograd::CopyBackwards)."""
        where = ""
        tensor = self.tensor
        producer = (node if tensor is None or tensor._grad_fn is not None else None) if self.is_output \
            else tensor.grad_fn if tensor is not None else self.grad_fn
        if producer is not None and not isinstance(producer, AccumulateGrad):
            name = re.sub(r"Backward(\d+)$", lambda m: "" if m[1] == "0" else m[1], producer.name())
            where = f", which is output {self.output_nr} of {name},"
        shape = ", ".join(str(n) for n in shape)
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"[{_STALE_TYPE_NAMES.get(dtype_name, 'torch.Tensor')} [{shape}]]{where} is at version "
            f"{version}; expected version {self.version} instead. {_ANOMALY_HINT}")

    def release(self) -> None:
        self.tensor = self.data = None


_new = object.__new__
_HAND_WRITTEN = frozenset({"AccumulateGrad", "CopyBackwards", "CopySlices"})  # (see Node.name)
_NO_HOOKS = MappingProxyType({})  # shared, read-only: a node's hook tables until one is registered


class Node:
    """A grad_fn: applies one op's VJP and routes the result along ``next_functions``.

    Each torch node name (``MulBackward0``...) is its own subclass, made by :func:`node_class`, so that
    ``type(t.grad_fn).__name__`` and ``repr`` read exactly as in torch.

    Saved tensors and parameters are read as ``ctx.<name>`` (the VJPs) and ``grad_fn._saved_<name>`` (torch's
    spelling) through properties of the node's class (:func:`expose_fields`), not a ``__getattr__``: a class with
    one takes CPython's unspecialized path for every attribute of its instances (2 % of the elementwise chain's
    time). A name saved after the node was made goes through :func:`save_extra`; a node whose class changes
    through :func:`expose_node`.
    """

    def __init__(self, vjp: Callable | None, next_functions: tuple, input_meta: tuple, output_meta: tuple = (),
                 saved: dict | None = None, params: dict | None = None) -> None:
        self._vjp = vjp
        self.next_functions = next_functions  # ((node | None, output_nr), ...) one per input
        self._input_meta = input_meta  # ((shape, dtype), ...) one per input: what validate_outputs restores
        self._output_meta = output_meta  # ((shape, dtype), ...) one per differentiable output
        self._saved = {} if saved is None else saved
        self._params = {} if params is None else params
        self._sequence_nr = next(_sequence)
        if self._saved or self._params:
            expose_fields(type(self), (*self._saved, *self._params))
        # hook tables are created on first registration (most nodes never get one): see _table()

    _exposed: frozenset = frozenset()  # the names expose_fields gave this class accessors for
    _hooked = False  # set once any hook table exists: the engine then checks the tables below
    _pre_hooks = _NO_HOOKS
    _post_hooks = _NO_HOOKS
    _tensor_pre_hooks = _NO_HOOKS  # output_nr -> {id: hook}, from Tensor.register_hook on outputs
    _retain_grad_hooks = _NO_HOOKS  # output_nr -> tensor whose .grad is retained

    def _table(self, name: str) -> dict:
        """This node's own (mutable) hook table ``name``, created on first use."""
        table = self.__dict__.get(name)
        if table is None:
            table = {}
            setattr(self, name, table)
            self._hooked = True  # the engine takes its slow path (hooks, retain_grad) for this node
        return table

    @property
    def metadata(self) -> dict:
        """A dict for the user's own annotations (torch's ``grad_fn.metadata``)."""
        return self._table("_metadata")

    # --- what torch exposes on a grad_fn -------------------------------------------------------------
    def name(self) -> str:
        """torch's node name: the class name, namespaced for torch's hand-written C++ nodes (checked on torch 2.13:
        AccumulateGrad, CopyBackwards, CopySlices; the generated ones, XBackward0, are not)."""
        name = type(self).__name__
        return "torch::autograd::" + name if name in _HAND_WRITTEN else name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def register_hook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_inputs, grad_outputs) runs after this node; may return replacement grad_inputs."""
        hooks = self._table("_post_hooks")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = fn
        return handle

    def register_prehook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_outputs) runs before this node; may return replacement grad_outputs."""
        hooks = self._table("_pre_hooks")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = fn
        return handle

    def __call__(self, *grad_outputs):
        return self.apply(list(grad_outputs))

    # --- used by the engine --------------------------------------------------------------------------
    _needed: tuple | None = None  # set by the engine while a selective backward runs this node (see below)

    def needs_input_grad(self, index: int) -> bool:
        """Whether the VJP must compute the gradient of input ``index``: it has an edge and, in a backward with
        ``inputs`` (autograd.grad), that edge leads to a node that runs or is captured (torch's
        should_compute_output: a gradient that is not needed is not computed, so its errors are not raised)."""
        needed = self._needed
        if needed is not None:
            return needed[index]
        return self.next_functions[index][0] is not None

    materialize_grads = True  # an autograd.Function's ctx may turn it off
    # apply and release are exactly Node's (the engine inlines their common case); False where a subclass overrides
    _plain = True

    def apply(self, grad_outputs: list) -> tuple:
        """Run the VJP: one cotangent per output in, one gradient (or None) per input out.

        Outputs that received no gradient get zeros (torch "materializes" them), except non-floating outputs.
        """
        for saved in self._saved.values():  # torch unpacks every saved tensor: a stale one is an error even if unread
            tensor = saved.tensor
            if tensor is None:
                if saved.data is None or saved.vc.value != saved.version:
                    saved.unpack(self)  # raises torch's error
            elif tensor._grad_fn is None and saved.grad_fn is not None:  # a non-leaf input detached in place
                raise RuntimeError(ERR_DETACHED)  # (torch checks it in apply, not in Python's _saved_ accessors)
            elif tensor._vc is not None and tensor._vc.value != saved.version:
                saved.unpack(self)  # raises torch's error
        meta = self._output_meta
        if len(grad_outputs) == 1 and len(meta) == 1 and grad_outputs[0] is not None:  # the common case
            result = self._vjp(self, grad_outputs[0])
            return result if type(result) is tuple else (result,)
        if len(grad_outputs) < len(meta):
            grad_outputs = list(grad_outputs) + [None] * (len(meta) - len(grad_outputs))
        if self.materialize_grads:
            for i, g in enumerate(grad_outputs):
                if g is None and i < len(meta) and meta[i][1] is not None and \
                        (meta[i][1].is_floating_point or meta[i][1].is_complex):
                    grad_outputs[i] = _zeros(*meta[i])
                    grad_outputs[i]._materialized = True  # no gradient flowed here: VJPs may treat it as None
        result = self._vjp(self, *grad_outputs)
        if type(result) is not tuple:
            result = (result,)
        return result

    def release(self) -> None:
        """Free the saved tensors (after a backward without retain_graph)."""
        for saved in self._saved.values():
            saved.tensor = saved.data = None


def _zeros(shape, dtype):
    from refgrad.tensor import Tensor
    return Tensor._make(np.zeros(shape, dtype=dtype.numpy))


class AccumulateGrad(Node):
    """The sink for a leaf that requires grad: adds the incoming gradient into ``variable.grad``."""

    def __init__(self, variable) -> None:  # Node.__init__(None, (), ()), inlined: each graph makes one per leaf
        self._vjp = None
        self.next_functions = self._input_meta = self._output_meta = ()
        self._saved = {}
        self._params = {}
        self._sequence_nr = next(_sequence)
        self.variable = variable


_NODE_CLASSES: dict[str, type] = {"AccumulateGrad": AccumulateGrad}


def _saved_field(name: str) -> tuple[property, property]:
    """``node.<name>`` and ``node._saved_<name>``: a saved tensor (unpacked, so a stale or freed one raises) or,
    failing that, a parameter; else Python's AttributeError for the attribute asked."""
    def accessor(attribute: str) -> property:
        def get(node):
            saved = node._saved.get(name)
            if saved is not None:
                tensor = saved.tensor  # the common case inline: present and at its saved version
                if tensor is not None:
                    if tensor._vc is None or tensor._vc.value == saved.version:
                        return tensor
                elif saved.data is not None and saved.vc.value == saved.version and saved.output_nr == 0:
                    tensor = _new(saved.cls)  # SavedTensor.unpack's re-wrap of a saved output, inlined
                    tensor._data, tensor._vc, tensor._grad_fn = saved.data, saved.vc, node
                    return tensor
                return saved.unpack(node)  # a saved output of another index, or torch's error
            params = node._params
            if name in params:
                return params[name]
            raise AttributeError(f"'{type(node).__name__}' object has no attribute '{attribute}'")
        return property(get, doc=f"the saved tensor or parameter {name!r}")
    return accessor(name), accessor("_saved_" + name)


def expose_fields(cls: type, names) -> None:
    """Give node class ``cls`` the accessors ``<name>`` and ``_saved_<name>`` of the saved tensors / parameters
    ``names`` (see _saved_field); names that are already attributes of a node (``name``, ``metadata``...) keep
    them."""
    for name in names:
        if name not in cls.__dict__.get("_exposed", ()):
            cls._exposed = cls.__dict__.get("_exposed", frozenset()) | {name}
            field, saved = _saved_field(name)
            if not hasattr(cls, name):
                setattr(cls, name, field)
            if not hasattr(cls, "_saved_" + name):
                setattr(cls, "_saved_" + name, saved)


def expose_node(node: Node) -> None:
    """Expose every saved tensor and parameter of ``node`` on its class (after ``node.__class__`` changed)."""
    expose_fields(type(node), (*node._saved, *node._params))


def save_extra(node: Node, name: str, saved: SavedTensor) -> None:
    """Save one more tensor on a node after it was made (a second output torch saves, ...)."""
    node._saved[name] = saved
    expose_fields(type(node), (name,))


def node_class(name: str) -> type:
    """The Node subclass called ``name`` (created once), e.g. ``node_class("ExpBackward0")``."""
    cls = _NODE_CLASSES.get(name)
    if cls is None:
        cls = _NODE_CLASSES[name] = type(name, (Node,), {"__module__": "refgrad.autograd.graph"})
    return cls
