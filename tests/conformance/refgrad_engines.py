"""Broken engines built from refgrad: a private copy of the package, loaded under another name, with one
piece of graph machinery patched. The real ``refgrad`` is never touched.

Each attribute is a factory (``load_engine("tests.conformance.refgrad_engines:no_grad_ignored")`` calls it).
The patches are written against refgrad's internals as of its core commit (autograd/engine.py ``_accumulate``,
grad_mode ``no_grad._enter_state``, ``Tensor.detach``, graph ``Node.release``).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import itertools
import re
import sys
from pathlib import Path

_IMPORT = re.compile(r"(?m)^(\s*)from refgrad(?=[.\s])")
_counter = itertools.count()


class _PrivateCopy(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``<name>`` and ``<name>.*`` in refgrad's source tree and rewrites ``from refgrad`` imports."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name and not fullname.startswith(self.name + "."):
            return None
        relative = Path(*fullname.split(".")[1:])
        package = self.root / relative / "__init__.py"
        if package.exists():
            return importlib.util.spec_from_file_location(fullname, package, loader=self,
                                                          submodule_search_locations=[str(package.parent)])
        module = (self.root / relative).with_suffix(".py")
        return importlib.util.spec_from_file_location(fullname, module, loader=self) if module.exists() else None

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        source = Path(module.__spec__.origin).read_text(encoding="utf-8")
        code = compile(_IMPORT.sub(rf"\1from {self.name}", source), module.__spec__.origin, "exec")
        exec(code, module.__dict__)  # noqa: S102 - refgrad's own source, import lines renamed


def private_refgrad(label: str):
    """A fresh copy of refgrad named ``refgrad_<label>_<n>`` (its modules are separate objects)."""
    import refgrad
    name = f"refgrad_{label}_{next(_counter)}"
    sys.meta_path.insert(0, _PrivateCopy(name, Path(refgrad.__file__).parent))
    module = importlib.import_module(name)
    module.__version__ = f"{refgrad.__version__}+{label}"
    return module


def _submodule(copy, dotted: str):
    return sys.modules[f"{copy.__name__}.{dotted}"]


def accumulate_overwrites():
    """.grad is overwritten by every backward instead of accumulated."""
    copy = private_refgrad("overwrite")
    engine = _submodule(copy, "autograd.engine")

    def overwrite(variable, grad, create_graph):
        variable._grad = grad if create_graph else grad.detach().clone()
    engine._accumulate = overwrite
    return copy


def no_grad_ignored():
    """no_grad() records the graph anyway."""
    copy = private_refgrad("nograd")
    _submodule(copy, "autograd.grad_mode").no_grad._enter_state = lambda self: None
    return copy


def detach_keeps_graph():
    """detach() returns the tensor itself, graph and all."""
    copy = private_refgrad("detach")
    copy.Tensor.detach = lambda self: self
    return copy


def retain_graph_not_enforced():
    """Saved tensors are never freed, so a second backward without retain_graph succeeds."""
    copy = private_refgrad("retain")
    node = _submodule(copy, "autograd.graph").Node
    node.release = lambda self: None
    node._plain = False  # the engine inlines Node.release for plain nodes: make it call the broken one
    return copy


def backward_twice_value_error():
    """The second backward through a freed graph raises ValueError instead of RuntimeError."""
    copy = private_refgrad("valueerror")
    package = _submodule(copy, "autograd")
    run_backward = package.run_backward

    def wrong_type(*args, **kwargs):
        try:
            return run_backward(*args, **kwargs)
        except RuntimeError as error:
            if "second time" in str(error):
                raise ValueError(str(error)) from None
            raise
    package.run_backward = wrong_type
    return copy


def mul_drops_requires_grad():
    """mul (and ``*``) returns a result that does not require grad when its first operand does not."""
    copy = private_refgrad("mul")
    original = copy.mul

    def mul(input, other, **kwargs):
        out = original(input, other, **kwargs)
        first_requires = isinstance(input, copy.Tensor) and input.requires_grad
        return out if first_requires or not out.requires_grad else out.detach()
    copy.mul = copy.Tensor.mul = copy.Tensor.__mul__ = mul
    copy.Tensor.__rmul__ = lambda self, other: mul(other, self)
    return copy


def hooks_never_called():
    """Tensor.register_hook returns a handle but never registers the hook."""
    copy = private_refgrad("hooks")
    handle = _submodule(copy, "autograd.graph").RemovableHandle
    copy.Tensor.register_hook = lambda self, hook: handle({})
    return copy


def gradient_ignored():
    """backward(gradient) / autograd.backward(grad_tensors=) use ones instead of the gradient supplied."""
    copy = private_refgrad("gradient")
    package = _submodule(copy, "autograd")
    backward = package.backward

    def ignoring(tensors, grad_tensors=None, *args, **kwargs):
        if grad_tensors is not None:
            grads = [grad_tensors] if isinstance(grad_tensors, copy.Tensor) else list(grad_tensors)
            grad_tensors = [copy.ones_like(g) if isinstance(g, copy.Tensor) else g for g in grads]
        return backward(tensors, grad_tensors, *args, **kwargs)
    package.backward = ignoring
    return copy


class _FrozenCounter:
    """A version counter that never moves."""

    __slots__ = ()
    value = property(lambda self: 0, lambda self, value: None)


def inplace_skips_version_counter():
    """In-place ops do not bump the version counter, so a modified saved tensor goes unnoticed."""
    copy = private_refgrad("version")
    _submodule(copy, "tensor").VersionCounter = _FrozenCounter
    return copy


def version_error_names_saved_node():
    """The version error names the node that made a saved tensor when it was saved, not its current one (torch's
    data_.grad_fn(): after ``y.sub_(1)`` it says "output 0 of Sub"): refgrad's message before this was fixed."""
    copy = private_refgrad("stalename")
    saved_tensor = _submodule(copy, "autograd.graph").SavedTensor
    stale = saved_tensor._stale

    def named_at_save(self, node, *args):
        tensor, self.tensor = self.tensor, None  # (without the tensor, the message falls back to the saved node)
        try:
            return stale(self, node, *args)
        finally:
            self.tensor = tensor
    saved_tensor._stale = named_at_save
    return copy


def accumulate_skips_leaf_check():
    """AccumulateGrad accumulates without reading its leaf's grad_fn: a view made under no_grad whose storage was
    written in place since is not refused when backward reaches it (refgrad's bug before issue #11's fix)."""
    copy = private_refgrad("leafcheck")
    _submodule(copy, "autograd.engine")._check_still_leaf = lambda variable: None
    return copy


def zerotensor_ordinary():
    """sgn's gradient of a real input is ordinary zeros, not torch's ZeroTensor: writing into it in place (an
    accumulating backward, ``.grad.zero_()``) succeeds where torch refuses, and 0 * inf is NaN where torch's is 0."""
    copy = private_refgrad("zerotensor")
    tensor = copy.Tensor
    _submodule(copy, "autograd.zerotensor").zeros_like = lambda like: tensor._make(like._data * 0)
    return copy


def zerotensor_flag_lost():
    """sgn's gradient is still torch's ZeroTensor (immutable, 0 * inf is 0, refused by numpy()), but
    ``_is_zerotensor()`` says False for every tensor: only the flag is wrong, which nothing else reads."""
    copy = private_refgrad("zeroflag")
    copy.Tensor._is_zerotensor = lambda self: False
    return copy


def without_zerotensor_method():
    """refgrad whose Tensor has no ``_is_zerotensor`` (a private torch method a torch-like engine need not have):
    graph state then compares its ZeroTensors through their effects only (conformance.programs.without_zerotensor)."""
    copy = private_refgrad("nozeroflag")
    del copy.Tensor._is_zerotensor
    return copy


def zerotensor_ordinary_without_method():
    """:func:`zerotensor_ordinary` without ``_is_zerotensor``: its ordinary zeros show only through their effects."""
    copy = zerotensor_ordinary()
    del copy.Tensor._is_zerotensor
    return copy


#: relative bias of :func:`accumulate_float32_bias`: 10x torch's float32 rtol (1.3e-6), 10x below graph state's
#: float32 tolerance before graph10 (1e-4)
ACCUMULATION_BIAS = 1e-5


def accumulate_float32_bias():
    """AccumulateGrad scales every float32 gradient it stores or adds into a leaf's ``.grad`` (without
    create_graph) by 1 + 1e-5: a small accumulation bug; float64 leaves are accumulated exactly."""
    import numpy as np

    copy = private_refgrad("accbias")
    engine = _submodule(copy, "autograd.engine")
    accumulate = engine._accumulate

    def biased(variable, grad, create_graph):
        if grad._data.dtype == np.float32 and not grad._zerotensor and not create_graph:
            grad = copy.Tensor._make(np.asarray(grad._data * np.float32(1 + ACCUMULATION_BIAS)))
        accumulate(variable, grad, create_graph)

    engine._accumulate = biased
    return copy
