"""Custom differentiable functions: ``refgrad.autograd.Function`` with static forward/backward (torch's API).

As in torch, the ``ctx`` passed to ``forward`` and ``backward`` is the graph node itself, so ``y.grad_fn`` of a
custom function's output is the very object that saw ``ctx.save_for_backward``.
"""
from __future__ import annotations

from refgrad.autograd import forward_ad
from refgrad.autograd.grad_mode import is_grad_enabled, no_grad
from refgrad.autograd.graph import Node, SavedTensor

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx(Node):
    """The ``ctx`` object: what forward leaves for backward."""

    _plain = False  # its own release (the saved list)

    def __init__(self) -> None:
        super().__init__(None, (), ())
        self._to_save: tuple = ()
        self._saved_list: list[SavedTensor] | None = None
        self._non_differentiable: set[int] = set()
        self._dirty: set[int] = set()
        self.materialize_grads = True
        self.needs_input_grad: tuple = ()

    def save_for_backward(self, *tensors) -> None:
        """Keep these tensors (or None) for backward; an in-place change before backward is an error."""
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._saved_list is None:
            return tuple(self._to_save)
        return tuple(None if s is None else s.unpack(self) for s in self._saved_list)

    def save_for_forward(self, *tensors) -> None:
        """Keep these tensors for ``jvp`` (read there as ``ctx.saved_tensors``)."""
        self._to_save_forward = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """These outputs carry no gradient (they get requires_grad=False)."""
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether None cotangents reach backward as zeros (default True)."""
        self.materialize_grads = value

    def release(self) -> None:
        for saved in self._saved_list or ():
            if saved is not None:
                saved.release()


class _FunctionMeta(type):
    """Gives every Function subclass its node class, named ``<Function>Backward`` as torch names it."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._backward_cls = type(f"{name}Backward", (FunctionCtx,), {"_function": cls})


class Function(metaclass=_FunctionMeta):
    """Subclass with ``@staticmethod forward(ctx, *args)`` and ``@staticmethod backward(ctx, *grads)``; call
    ``MyFunction.apply(*args)``. backward returns one gradient (or None) per forward argument."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it with "
                                  "forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        from refgrad.autograd.creation_meta import IN_CUSTOM_FUNCTION
        from refgrad.tensor import Tensor
        ctx = cls._backward_cls()
        tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad(), forward_ad.hidden_levels():
            outputs = cls.forward(ctx, *args, **kwargs)
        multiple = isinstance(outputs, tuple)
        outputs = list(outputs) if multiple else [outputs]
        grad_mode = is_grad_enabled()
        record = grad_mode and any(ctx.needs_input_grad)
        input_ids = {id(args[i]) for i in tensor_positions}
        for k, out in enumerate(outputs):
            if not isinstance(out, Tensor):
                continue
            if id(out) in input_ids and id(out) not in ctx._dirty:  # returning an input gives a new tensor (torch):
                if grad_mode:  # with grad on, a view of it
                    with no_grad():
                        outputs[k] = out = out.view_as(out)
                else:
                    outputs[k] = out.detach()
                    outputs[k]._version_counter = out._version_counter
                    continue
            if out._base is not None:  # torch refuses to rebase a custom Function's view output
                out._creation_meta = IN_CUSTOM_FUNCTION
        if record:
            ctx.next_functions = tuple(args[i]._edge() if args[i].requires_grad else (None, 0)
                                       for i in tensor_positions)
            ctx._input_meta = tuple((args[i].shape, args[i].dtype) for i in tensor_positions)
            ctx._output_meta = tuple((o.shape, o.dtype) if isinstance(o, Tensor) else ((), None) for o in outputs)
            ctx._vjp = _make_vjp(cls, tensor_positions, len(args))
            for k, out in enumerate(outputs):
                if not isinstance(out, Tensor) or id(out) in ctx._non_differentiable:
                    continue
                if out.dtype.is_floating_point or out.dtype.is_complex:
                    out.grad_fn, out._output_nr = ctx, k
            out_ids = {id(o): k for k, o in enumerate(outputs)}
            ctx._saved_list = [None if t is None else
                               SavedTensor(t, producer=ctx if id(t) in out_ids else None) for t in ctx._to_save]
        else:
            ctx._saved_list = [None if t is None else SavedTensor(t) for t in ctx._to_save]
        if forward_ad._state.stack:
            forward_ad.function_jvp(cls, ctx, args, outputs)
        return tuple(outputs) if multiple else outputs[0]


def _make_vjp(cls, tensor_positions: list[int], n_args: int):
    def vjp(ctx, *grads):
        if not ctx.materialize_grads:
            grads = tuple(grads)
        result = cls.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != n_args:
            raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients "
                               f"(expected {n_args}, got {len(result)})")
        return tuple(result[i] for i in tensor_positions)
    return vjp
