"""Module full backward hooks: identity autograd Functions around a module's tensor inputs and outputs capture
the gradients flowing through them, as torch.utils.hooks.BackwardHook does."""
from __future__ import annotations

import warnings

from refgrad.autograd.function import Function
from refgrad.autograd.grad_mode import is_grad_enabled
from refgrad.tensor import Tensor

__all__ = ["BackwardHook", "BackwardHookFunction"]


class BackwardHookFunction(Function):
    """Identity on its tensor arguments; its node (BackwardHookFunctionBackward, as torch) carries the hooks."""

    @staticmethod
    def forward(ctx, *tensors):
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return grads


class BackwardHook:
    """One module call's hooks: grad_output is captured at the outputs' node, then the user hooks run with
    grad_input when the inputs' node has run (or at once, with Nones, when no input requires grad)."""

    def __init__(self, module, hooks: list, pre_hooks: list) -> None:
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs = self.n_outputs = -1
        self.input_positions = self.output_positions = None

    @staticmethod
    def _spread(positions, values, size) -> tuple:
        spread = [None] * size
        for position, value in zip(positions, values):
            spread[position] = value
        return tuple(spread)

    @staticmethod
    def _wrap(values: tuple, on_node) -> tuple[tuple, list | None]:
        positions = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        tensors = [values[i] for i in positions]
        if not (is_grad_enabled() and any(t.requires_grad for t in tensors)):
            return values, None
        wrapped = BackwardHookFunction.apply(*tensors)
        on_node(next(t.grad_fn for t in wrapped if t.grad_fn is not None))
        values = list(values)
        for position, tensor in zip(positions, wrapped):
            values[position] = tensor
        return tuple(values), positions

    def setup_input_hook(self, args: tuple) -> tuple:
        def on_node(node) -> None:
            node.register_hook(self._input_grads_ready)

        wrapped, self.input_positions = self._wrap(args, on_node)
        self.n_inputs = len(args)
        return wrapped

    def _input_grads_ready(self, grad_inputs, _grad_outputs):
        if self.grad_outputs is None:
            return None
        grads = self._spread(self.input_positions, grad_inputs, self.n_inputs)
        for hook in self.hooks:
            replaced = hook(self.module, grads, self.grad_outputs)
            if replaced is None:
                continue
            if len(replaced) != len(grads):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(replaced)}, "
                                   f"but expected {len(grads)}")
            grads = replaced
        self.grad_outputs = None
        return tuple(grads[i] for i in self.input_positions)

    def setup_output_hook(self, output):
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output

        def on_node(node) -> None:
            node.register_hook(self._output_grads_ready)

        wrapped, self.output_positions = self._wrap(outputs, on_node)
        self.n_outputs = len(outputs)
        return wrapped[0] if single else wrapped

    def _output_grads_ready(self, _grad_inputs, grad_outputs):
        self.grad_outputs = self._spread(self.output_positions, grad_outputs, self.n_outputs)
        for hook in self.pre_hooks:
            replaced = hook(self.module, self.grad_outputs)
            if replaced is None:
                continue
            if len(replaced) != len(self.grad_outputs):
                raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got "
                                   f"{len(replaced)}, but expected {len(self.grad_outputs)}")
            self.grad_outputs = replaced
        current = self.grad_outputs
        if self.input_positions is None:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
                          "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=5)
            nones = (None,) * self.n_inputs
            for hook in self.hooks:
                replaced = hook(self.module, nones, self.grad_outputs)
                if replaced is not None and not (isinstance(replaced, tuple) and all(r is None for r in replaced)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return tuple(current[i] for i in self.output_positions)
