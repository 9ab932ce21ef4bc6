"""refgrad.autograd: backward, grad, grad modes, custom Functions and the functional API (torch.autograd)."""
from __future__ import annotations

import sys
import warnings
from typing import Sequence

import numpy as np

from refgrad.autograd import forward_ad, functional  # noqa: F401 - torch.autograd.forward_ad, .functional
from refgrad.autograd.engine import run_backward
from refgrad.autograd.function import Function, FunctionCtx  # noqa: F401
from refgrad.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from refgrad.autograd.graph import Node  # noqa: F401

__all__ = ["backward", "grad", "Function", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "functional"]

_CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter and its "
    "gradient which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid "
    "this. If you have to use this function, make sure to reset the .grad fields of your parameters to None "
    "after use to break the cycle and avoid the leak. (Triggered internally at /refgrad/autograd/__init__.py.)")


def _tensor_type() -> type:
    """refgrad.tensor.Tensor (imported after this package, which it imports; an import statement in each call
    would cost ~0.5 µs): looked up once."""
    global _TENSOR
    if _TENSOR is None:
        _TENSOR = sys.modules[_TENSOR_MODULE].Tensor
    return _TENSOR


_TENSOR = None


_TENSOR_MODULE = __name__.rpartition(".")[0] + ".tensor"  # this package's sibling (also in a renamed copy)


def _as_tuple(x) -> tuple:
    if x is None:
        return ()
    if isinstance(x, _tensor_type()):
        return (x,)
    return tuple(x)


def _make_grads(outputs: Sequence, grads: Sequence, is_grads_batched: bool = False) -> list:
    """Check or create the cotangent for each output (torch's _make_grads)."""
    Tensor = _tensor_type()
    made = []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if g is None:
            if out.requires_grad:
                if out.numel() != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if not out.dtype.is_floating_point:
                    raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got "
                                       f"{out.dtype}")
                shape, dtype = out._data.shape, out._data.dtype  # ones_like(out); np.array: ~5x np.ones's speed
                made.append(Tensor._make(np.ones(shape, dtype) if shape else np.array(1, dtype)))
            else:
                made.append(None)
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        if g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] has a shape of "
                f"{out.shape}.")
        made.append(g)
    return made


def _check_output_types(outputs: Sequence) -> None:
    Tensor = _tensor_type()
    for out in outputs:
        if not isinstance(out, Tensor):
            raise AssertionError("Expected output to be a torch.Tensor")


def _check_input_types(inputs: Sequence) -> None:
    Tensor = _tensor_type()
    for t in inputs:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got {type(t).__name__}")


def _check_outputs(outputs: Sequence) -> None:
    for i, out in enumerate(outputs):
        if out.grad_fn is None and not out._requires_grad:  # a no_grad view of a leaf reports requires_grad=True
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False, grad_variables=None,
             inputs=None) -> None:
    """torch.autograd.backward: accumulate gradients of ``tensors`` into the leaves' ``.grad``.

    Raises RuntimeError as torch does: non-scalar output without a gradient, output that doesn't require grad,
    cotangent of the wrong shape, second backward through freed saved tensors.
    """
    Tensor = _TENSOR or _tensor_type()
    if type(tensors) is Tensor and grad_tensors is None and inputs is None and not create_graph:
        # loss.backward(), the common call: _make_grads and _check_outputs inlined, their checks in their order
        if tensors._grad_fn is not None or tensors._requires_grad or tensors.requires_grad:
            data = tensors._data
            if data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if data.dtype.kind != "f" and not tensors.dtype.is_floating_point:
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got "
                                   f"{tensors.dtype}")
            shape = data.shape  # ones_like(out); np.array: ~5x np.ones's speed
            grads = [Tensor._make(np.ones(shape, data.dtype) if shape else np.array(1, data.dtype))]
        else:
            grads = [None]
        if tensors._grad_fn is None and not tensors._requires_grad and tensors.grad_fn is None:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        run_backward((tensors,), grads, retain_graph=bool(retain_graph), create_graph=False, inputs=None)
        return
    outputs = _as_tuple(tensors)
    _check_output_types(outputs)
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(grads)} tensors and {len(outputs)} gradients")
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if len(inputs) == 0:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        _check_input_types(inputs)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outputs, grads)
    _check_outputs(outputs)  # torch checks the outputs before the inputs
    for t in inputs or ():  # torch, input by input: its node is read (a stale view raises), then retain_grad:
        t.grad_fn  # noqa: B018
        t.retain_grad()  # a non-leaf input keeps its .grad from now on (raises if it needs no grad)
    if create_graph and inputs is None:
        warnings.warn(_CREATE_GRAPH_WARNING, UserWarning, stacklevel=3)
    run_backward(outputs, grads, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused=None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """torch.autograd.grad: the vector-Jacobian products of ``outputs`` w.r.t. ``inputs``, leaving ``.grad`` alone.

    Raises RuntimeError for an input that doesn't require grad, and (unless ``allow_unused``) for one that the
    outputs don't depend on.
    """
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if not inputs:  # torch checks this before anything else
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    _check_output_types(outputs)
    grad_outputs = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} grad_outputs and "
                           f"{len(outputs)} outputs")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    if retain_graph is None:
        retain_graph = create_graph
    grad_outputs = _make_grads(outputs, grad_outputs)
    _check_outputs(outputs)  # torch checks the outputs before the inputs
    _check_input_types(inputs)
    for t in inputs:  # torch, input by input: its node is read (a stale view raises), then its flag
        if t.grad_fn is None and not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    result = run_backward(outputs, grad_outputs, retain_graph=retain_graph, create_graph=create_graph,
                          inputs=inputs, capture=True)
    for i, g in enumerate(result):
        if g is None:
            if materialize_grads:
                from refgrad import zeros_like
                result[i] = zeros_like(inputs[i])
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
        elif not create_graph and forward_ad._state.stack:
            result[i] = forward_ad.detach_keeping_tangents(g)
        # otherwise the captured tensor itself, as torch: the gradient of a root is its grad_output object, and
        # what the VJPs computed (grad mode off) has no graph
    return tuple(result)
