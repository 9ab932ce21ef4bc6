"""``refgrad.Tensor``: a NumPy array plus the autograd state torch keeps on a tensor.

The array lives in ``_data``; views share it (NumPy views) and share ``_version_counter`` with their base, which
every in-place op bumps. Operators and methods are thin: each op's math lives in ``refgrad/ops``, and
``refgrad/ops/__init__.py`` installs the op functions as methods here.
"""
from __future__ import annotations

import warnings
import weakref
from typing import Callable

import numpy as np

from refgrad import dtypes
from refgrad._strides import torch_strides
from refgrad.autograd import backward as _autograd_backward  # (a function-level import: ~1 µs per backward)
from refgrad.autograd.creation_meta import DEFAULT, _check_view_rebase
from refgrad.autograd.forward_ad import _state as _forward_ad
from refgrad.autograd.grad_mode import _state as _grad_mode
from refgrad.autograd.graph import AccumulateGrad, RemovableHandle, VersionCounter

__all__ = ["Tensor", "Size", "device", "VersionCounter"]

_NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
    "populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf "
    "Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure "
    "you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information. "
    "(Triggered internally at /refgrad/tensor.py.)"
)
ZEROTENSOR_NUMPY = " Cannot convert a ZeroTensor to numpy. Set force=True if you need the zero array."  # (sic)
_ONLY_FLOAT = "Only Tensors of floating point and complex dtype can require gradients"


_DTYPE_OF = dict(dtypes._BY_NUMPY)


class Size(tuple):
    """torch.Size: a tuple of dimension lengths that prints as ``torch.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(n) for n in self)}])"

    __str__ = __repr__

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


class device:
    """torch.device; refgrad only has the CPU."""

    def __init__(self, type: str = "cpu", index=None) -> None:  # noqa: A002 - torch's parameter name
        type = str(type)
        if type.split(":")[0] != "cpu":
            raise RuntimeError(f"refgrad has no device '{type}': it computes on the CPU only")
        self.type, self.index = "cpu", None

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __str__(self) -> str:
        return "cpu"

    def __eq__(self, other) -> bool:
        return str(other) == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")


_CPU = device()


_LEAF_ONLY = "you can only change requires_grad flags of leaf variables."
_LEAF_ONLY_ADVICE = (" If you want to use a computed variable in a subgraph that doesn't require differentiation use "
                     "var_no_grad = var.detach().")


class Tensor:
    """A multi-dimensional array that can record the operations applied to it (torch.Tensor)."""

    # Defaults live on the class so that creating an intermediate result only sets what differs.
    _grad_fn = None
    _view_version = 0  # for views: the version at which _grad_fn was last valid
    _output_nr = 0
    _requires_grad = False
    _grad = None
    _base = None
    _view_fn: Callable | None = None
    _creation_meta = DEFAULT  # for views: how it was made (see _view_creation)
    _retains_grad = False
    _hook_registered = False  # register_hook was called (torch's _backward_hooks is set)
    _accumulator_ref = None
    _hooks: dict | None = None
    _post_accumulate_hooks: dict | None = None
    _is_inference = False
    # detach() or .data of an inference tensor outside inference mode: still an inference tensor, but torch gives it
    # a version counter of its own and lets it be written in place anywhere
    _inference_alias = False
    _is_conj = False  # torch's conj bit (refgrad stores conj() physically; the bit is what is observable)
    _is_neg = False  # torch's neg bit: the imaginary part of a conjugated tensor
    _fw: dict | None = None  # forward-mode tangents, level id -> tangent (refgrad/autograd/forward_ad.py)
    # torch's "efficient ZeroTensor": the gradient SgnBackward0 returns for a real input (refgrad/ops/unary.py),
    # immutable and refused by numpy(); views, detach and mul keep the flag, other ops drop it (zerotensor.py).
    # Set as an instance value by _make and Primitive (the in-place check reads it); None or True.
    _zerotensor = None
    __array_priority__ = 1000  # numpy scalars defer to our operators

    def __init__(self, *args) -> None:
        # torch.Tensor(data) / torch.Tensor(*sizes): the legacy constructor, always the default float dtype.
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            array = np.array(args[0], dtype=dtypes.get_default_dtype().numpy)
        else:
            array = np.zeros(tuple(int(a) for a in args), dtype=dtypes.get_default_dtype().numpy)
        self._data = array
        self._version_counter = VersionCounter()

    @classmethod
    def _make(cls, array: np.ndarray) -> "Tensor":
        """Wrap an array without copying or checks (the hot path of every op)."""
        t = object.__new__(cls)
        t._data = array
        # the fields every op reads, set as instance values: on Python 3.11 reading a class default through an
        # instance is an unspecialized attribute lookup (~3x the cost of an instance value)
        t._grad_fn = t._base = t._vc = t._zerotensor = None
        t._requires_grad = False
        t._output_nr = 0
        t._is_inference = _grad_mode.inference
        return t

    # --- metadata ------------------------------------------------------------------------------------
    @property
    def dtype(self) -> dtypes.dtype:
        try:
            return _DTYPE_OF[self._data.dtype]
        except KeyError:
            return dtypes.from_numpy_dtype(self._data.dtype)  # raises torch's TypeError for unsupported types

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """torch.Tensor.size: the Size, or one dimension's length."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def device(self) -> device:
        return _CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self.dtype.is_complex

    def is_conj(self) -> bool:
        """True for the result of conj() on a complex tensor and its views, until resolve_conj() (torch)."""
        return self._is_conj

    def is_neg(self) -> bool:
        """True for the imaginary part of a conjugated tensor, until resolve_neg() (torch)."""
        return self._is_neg

    @property
    def real(self) -> "Tensor":
        from refgrad.ops.complex import real
        return real(self)

    @real.setter
    def real(self, value) -> None:
        from refgrad.ops.complex import real
        real(self).copy_(value if isinstance(value, Tensor) else _full_like(self.real, value))

    @property
    def imag(self) -> "Tensor":
        from refgrad.ops.complex import imag
        return imag(self)

    @imag.setter
    def imag(self, value) -> None:
        from refgrad.ops.complex import imag
        imag(self).copy_(value if isinstance(value, Tensor) else _full_like(self.imag, value))

    def element_size(self) -> int:
        return self._data.itemsize

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def is_inference(self) -> bool:
        return self._is_inference

    def _is_view(self) -> bool:
        return self._base is not None

    def _is_zerotensor(self) -> bool:
        """True for torch's efficient ZeroTensors: the gradient of sgn for a real input, and what views, detach,
        mul and div keep of one (see refgrad/autograd/zerotensor.py)."""
        return self._zerotensor is True

    def stride(self, dim: int | None = None):
        data = self._data
        if data.size:
            strides = tuple(s // data.itemsize for s in data.strides)
        else:  # a new empty NumPy array has all-zero strides, torch's tensor the contiguous ones (refgrad/_strides.py)
            strides = torch_strides(data)
        return strides if dim is None else strides[_wrap_dim(dim, data.ndim)]

    @property
    def _version(self) -> int:
        if self._is_inference and not self._inference_alias:
            raise RuntimeError("Inference tensors do not track version counter.")
        return self._version_counter.value

    _vc = None  # the version counter, created on first use: most intermediate results never need one

    @property
    def _version_counter(self) -> VersionCounter:
        """Shared with views and detached aliases; bumped by in-place ops."""
        vc = self._vc
        if vc is None:
            vc = self._vc = VersionCounter()
        return vc

    @_version_counter.setter
    def _version_counter(self, vc: VersionCounter) -> None:
        self._vc = vc

    # --- autograd state ------------------------------------------------------------------------------
    @property
    def grad_fn(self):
        """The node that made this tensor (None for leaves). A view whose base was modified in place since gets
        a regenerated node, as in torch (AsStridedBackward0), or torch's error for multi-output views."""
        if self._base is not None and self._view_version != self._version_counter.value:
            self._regenerate_view_grad_fn()
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node) -> None:
        self._grad_fn = node
        if self._base is not None:
            self._view_version = self._version_counter.value

    def _regenerate_view_grad_fn(self) -> None:
        from refgrad.autograd.grad_mode import enable_grad, inference_mode
        from refgrad.autograd.graph import expose_node, node_class
        base = self._base
        if not base.requires_grad and self._grad_fn is None:
            return  # the version stays stale: the node is made if the base requires grad later (torch)
        _check_view_rebase(self, indirect=True)  # on every access: the view's grad_fn stays stale
        self._view_version = self._version_counter.value
        old, old_nr = self._grad_fn, self._output_nr
        with enable_grad(), inference_mode(False):  # regenerated even when read in inference mode (torch)
            node = self._view_fn(base)._grad_fn
        if node is None:  # the base stopped requiring grad: torch's node has no edge to it
            node = node_class("AsStridedBackward0")(_no_edge_vjp, ((None, 0),), ((base.shape, base.dtype),),
                                                   ((self.shape, self.dtype),))
        else:
            node.__class__ = node_class("AsStridedBackward0")
            expose_node(node)
        self._grad_fn, self._output_nr = node, 0
        if self._retains_grad:
            self._move_retain_grad(old, old_nr)

    @property
    def requires_grad(self) -> bool:
        if self._requires_grad or self._grad_fn is not None:
            return True
        # torch: a view reports its base's flag; views of inference tensors are not autograd views
        return self._base is not None and not self._is_inference and self._base.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        """torch's attribute setter: refuses any non-leaf, with its own dtype message."""
        if self._grad_fn is not None:  # torch's C++ is_leaf: the node as recorded, never regenerated
            raise RuntimeError(_LEAF_ONLY + ("" if flag else _LEAF_ONLY_ADVICE))
        if flag and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._set_requires_grad(bool(flag))

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set requires_grad on a leaf in place; only floating tensors may require grad (torch's errors). On a
        non-leaf, True changes nothing."""
        if self._grad_fn is not None and not requires_grad:
            raise RuntimeError(_LEAF_ONLY + _LEAF_ONLY_ADVICE)
        if requires_grad and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._set_requires_grad(bool(requires_grad))
        return self

    def _set_requires_grad(self, flag: bool) -> None:
        if flag and self._is_inference and not _grad_mode.inference:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.")
        if self._grad_fn is None:
            self._requires_grad = flag

    @property
    def output_nr(self) -> int:
        """Which output of its node this tensor is (torch reads the stored field: no regeneration)."""
        return self._output_nr

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        if self._grad_fn is not None and not self._retains_grad:  # not grad_fn: reading .grad never regenerates
            warnings.warn(_NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '[{', '.join(map(str, value.shape))}]' to a tensor "
                    f"of size '[{', '.join(map(str, self.shape))}]'. Please ensure that the gradient and the "
                    "tensor are the same size")
            if value.dtype is not self.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{_C_TYPE[value.dtype.name]}' to a tensor with "
                    f"grad_dtype '{_SCALAR_TYPE[self.dtype.name]}'. The gradient must match the tensor's "
                    "grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute "
                    "with a specific dtype, or None to allow any dtype. Set grad_dtype with caution. Diverging the "
                    "dtypes of a tensor and its gradient may break downstream systems that assume they match.")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Keep the gradient of a non-leaf in ``.grad`` during backward (no-op on leaves)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return  # torch's leaf test reads the stored node: a view without one stays a leaf after its base changed
        self._retains_grad = True
        self.grad_fn._table("_retain_grad_hooks")[self._output_nr] = self

    def _move_retain_grad(self, old, old_nr: int) -> None:
        """After this tensor's node changed from ``old`` (an in-place op, a regenerated view node): its retain_grad
        moves to the new node, as torch's; its tensor hooks stay on the old one."""
        table = None if old is None else old.__dict__.get("_retain_grad_hooks")
        if table is not None and table.get(old_nr) is self:
            del table[old_nr]
        if self._grad_fn is not None:
            self._grad_fn._table("_retain_grad_hooks")[self._output_nr] = self

    def _grad_accumulator(self) -> AccumulateGrad:
        """The AccumulateGrad node of a leaf that requires grad (kept while the leaf is alive, as in torch)."""
        ref = self._accumulator_ref
        node = ref() if ref is not None else None
        if node is None:
            node = AccumulateGrad(self)
            self._accumulator_ref = weakref.ref(node)
            if self._hooks:
                node._table("_tensor_pre_hooks")[0] = self._hooks
        return node

    def _edge(self) -> tuple:
        if self.grad_fn is not None:
            return self.grad_fn, self._output_nr
        return self._grad_accumulator(), 0

    def register_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces the gradient."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not self._hook_registered:  # torch reads grad_fn (which may raise) only at the first registration
            self._hook_registered = True
            node = self.grad_fn
        else:
            try:
                node = self.grad_fn
            except RuntimeError:
                node = self._grad_fn
        if node is not None:
            hooks = node._table("_tensor_pre_hooks").setdefault(self._output_nr, {})
        else:
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
            self._grad_accumulator()._table("_tensor_pre_hooks")[0] = hooks
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(self)`` after each backward has accumulated into this leaf's ``.grad``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = {}
        handle = RemovableHandle(self._post_accumulate_hooks)
        self._post_accumulate_hooks[handle.id] = hook
        return handle

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) · gradient into the ``.grad`` of every leaf (torch.Tensor.backward)."""
        _autograd_backward(self, gradient, retain_graph, create_graph, None, inputs)  # (positional: no keyword parsing)

    def detach(self) -> "Tensor":
        """A tensor sharing data and version counter with this one, outside the graph."""
        t = Tensor._make(self._data)
        self._share_storage(t)
        t._is_inference = self._is_inference  # an alias: an inference tensor only if this one is (torch)
        if self._is_inference:
            t._inference_alias = not _grad_mode.inference
        else:
            t._version_counter = self._version_counter
        if self._is_conj or self._is_neg:
            t._is_conj, t._is_neg = self._is_conj, self._is_neg
        if self._zerotensor:
            t._zerotensor = True
        return t

    def detach_(self) -> "Tensor":
        """Detach in place: this tensor becomes a leaf that doesn't require grad."""
        if self._is_inference or _grad_mode.inference:  # torch: an autograd-only op, skipped there
            return self
        if self._base is not None and not self._is_inference:  # any autograd view, as torch
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for "
                "training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence "
                "detach_() cannot be called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self.grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        return self

    def _share_storage(self, t: "Tensor") -> None:
        """Make ``t`` (detach() or ``.data`` of this tensor) share this tensor's storage, whose storage offset
        refgrad/ops/strided.py reads: a view's base (or what this tensor shares), as torch."""
        owner = self if self._base is None else self._base
        owner = owner.__dict__.get("_storage_of", owner)
        if owner is not self:
            t._storage_of = owner

    @property
    def data(self) -> "Tensor":
        """The same storage as a tensor outside the graph, with its own version counter (torch's ``.data``)."""
        t = Tensor._make(self._data)
        self._share_storage(t)
        t._is_inference = self._is_inference
        if self._is_inference:
            t._inference_alias = not _grad_mode.inference
        if self._zerotensor:
            t._zerotensor = True
        return t

    @data.setter
    def data(self, value: "Tensor") -> None:
        self._data = value._data

    # --- conversion to Python and NumPy ---------------------------------------------------------------
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        if self._zerotensor:
            raise RuntimeError("tolist() shouldn't be called on a tensor with unallocated storage")
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shared, as torch shares memory); RuntimeError if it requires grad while grad mode
        is on (torch allows it under no_grad and inference_mode)."""
        if self._zerotensor and not force:  # before the requires_grad refusal (torch)
            raise RuntimeError(ZEROTENSOR_NUMPY)
        if self.requires_grad and _grad_mode.enabled and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        if (self._is_conj or self._is_neg) and not force:  # refgrad's conjugate is physical: force resolves
            bit, fix = ("conjugate", "conj") if self._is_conj else ("negative", "neg")
            raise RuntimeError(f"Can't call numpy() on Tensor that has {bit} bit set. Use tensor.resolve_{fix}()"
                               f".numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._zerotensor:
            raise RuntimeError(ZEROTENSOR_NUMPY)
        return np.asarray(self._data, dtype=dtype)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def _scalar_check(self, kind: str):
        if self._data.size != 1:
            raise RuntimeError(f"{kind} a Tensor with {self._data.size} elements cannot be converted to Scalar"
                               if kind != "bool" else
                               "Boolean value of Tensor with more than one value is ambiguous")
        return self._data.item()  # (item() takes the one element of any shape)

    def __bool__(self) -> bool:
        return bool(self._scalar_check("bool"))

    def __float__(self) -> float:
        return float(self._scalar_check(""))

    def __int__(self) -> int:
        return int(self._scalar_check(""))

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()).item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from refgrad.printing import format_tensor
        suffixes = []
        try:
            name = None if self.grad_fn is None else type(self.grad_fn).__name__
        except RuntimeError:  # a stale no_grad/inference-mode view: torch prints <Invalid>
            name = "Invalid"
        if name is not None:
            suffixes.append(f"grad_fn=<{name}>")
        elif self.requires_grad:  # a view reports its base's flag, in print too
            suffixes.append("requires_grad=True")
        if _forward_ad.public is not None:  # a dual tensor shows its tangent, as in torch
            from refgrad.autograd.forward_ad import get_tangent
            tangent = get_tangent(self, _forward_ad.public)
            if tangent is not None:  # a 0-d tangent prints as its Python number (torch: tangent=2.0)
                suffixes.append(f"tangent={tangent.item()!r}" if tangent.ndim == 0 else f"tangent={tangent!r}")
        return format_tensor(self._data, self.dtype, suffixes)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self._data.item(), spec)
        return str(self)

    def __reduce_ex__(self, protocol):
        if self._zerotensor:
            raise RuntimeError("ZeroTensor is not serializable, please file an issue if required.")
        return (_rebuild, (self._data.copy(), self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
                               "because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        if self._zerotensor:  # torch copies into the new tensor's storage, which a ZeroTensor does not have
            raise RuntimeError("Attempted to call copy_() on an invalid python storage.")
        copy = _rebuild(self._data.copy(), self._requires_grad)
        if self._grad is not None:
            copy._grad = self._grad.__deepcopy__(memo)
        return copy


def _rebuild(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(array)
    t._requires_grad = requires_grad
    return t


def _full_like(like: Tensor, value) -> Tensor:
    return Tensor._make(np.full(like._data.shape, value, dtype=like._data.dtype))


def _wrap_dim(dim: int, ndim: int) -> int:
    """torch's dim wrapping: negative dims count from the end; 0-d tensors accept -1 and 0."""
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], but got {dim})")
    return dim % rank


_C_TYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
           "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
           "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}
_SCALAR_TYPE = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                "complex128": "ComplexDouble"}


def _no_edge_vjp(ctx, grad):
    """The VJP of a regenerated view node whose base needs no gradient: nothing to send."""
    return (None,)
