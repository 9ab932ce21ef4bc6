"""SGD, Adam, AdamW, RMSprop and Adagrad with torch 2.13's update formulas (its single-tensor CPU path).

Every update is written once, in NumPy, on the arrays of the parameter and its state, in the operation order of
torch's in-place ops (e.g. ``addcdiv_(t1, t2, value=v)`` is ``p + (v·t1)/t2``), in the parameter's dtype.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from refgrad.factories import full_like, zeros_like
from refgrad.optim.optimizer import Optimizer, array, bump, lerp_, scalar, step_tensor

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _grad(param, maximize: bool, weight_decay: float) -> np.ndarray:
    """The gradient the update uses: negated when maximizing, plus weight_decay·param (a new array)."""
    grad = array(param.grad)
    grad = -grad if maximize else grad.copy()
    if weight_decay != 0:
        grad = grad + scalar(weight_decay, grad) * array(param)
    return grad


def _check(name: str, value, low: float = 0.0) -> None:
    if not low <= value:
        raise ValueError(f"Invalid {name}: {value}")


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay and maximize
    (torch.optim.SGD): buf = grad the first time, then momentum·buf + (1 - dampening)·grad."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False, foreach=None,
                 differentiable: bool = False, fused=None) -> None:
        _check("learning rate", lr)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def step(self, closure: Callable | None = None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, momentum = float(group["lr"]), group["momentum"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = _grad(param, group["maximize"], group["weight_decay"])
                if momentum != 0:
                    state = self.state[param]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        from refgrad.factories import tensor
                        buf = state["momentum_buffer"] = tensor(grad.copy(), dtype=param.dtype)
                    else:
                        data = array(buf)
                        data *= scalar(momentum, data)
                        data += scalar(1 - group["dampening"], data) * grad
                        bump(buf)
                    grad = grad + scalar(momentum, grad) * array(buf) if group["nesterov"] else array(buf)
                data = array(param)
                data += scalar(-lr, data) * grad
                bump(param)
        return loss


class Adam(Optimizer):
    """Adam (torch.optim.Adam), with amsgrad, maximize and L2 (or, in AdamW, decoupled) weight decay:
    m ← lerp(m, g, 1-β₁); v ← β₂v + (1-β₂)g²; p ← p - lr/(1-β₁ᵗ) · m / (√v/√(1-β₂ᵗ) + eps)."""

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False, fused=None,
                 decoupled_weight_decay: bool | None = None) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check("weight_decay value", weight_decay)
        decoupled = self._decoupled if decoupled_weight_decay is None else decoupled_weight_decay
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled))

    def step(self, closure: Callable | None = None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = float(group["lr"]), group["betas"], group["eps"]
            decay = group["weight_decay"]
            decoupled = group["decoupled_weight_decay"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = step_tensor()
                    state["exp_avg"] = zeros_like(param)
                    state["exp_avg_sq"] = zeros_like(param)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = zeros_like(param)
                data = array(param)
                if decoupled and decay != 0:
                    data *= scalar(1 - lr * decay, data)
                grad = _grad(param, group["maximize"], 0 if decoupled else decay)
                array(state["step"])[...] += 1
                step = float(array(state["step"]))
                exp_avg, exp_avg_sq = array(state["exp_avg"]), array(state["exp_avg_sq"])
                lerp_(exp_avg, grad, 1 - beta1)
                exp_avg_sq *= scalar(beta2, exp_avg_sq)
                exp_avg_sq += scalar(1 - beta2, grad) * grad * grad
                step_size = lr / (1 - beta1 ** step)
                correction2_sqrt = (1 - beta2 ** step) ** 0.5
                second = exp_avg_sq
                if group["amsgrad"]:
                    second = array(state["max_exp_avg_sq"])
                    np.maximum(second, exp_avg_sq, out=second)
                denom = np.sqrt(second) / scalar(correction2_sqrt, second) + scalar(eps, second)
                data += scalar(-step_size, data) * exp_avg / denom
                bump(param, state["exp_avg"], state["exp_avg_sq"], state["step"])
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay, p ← p·(1 - lr·wd) before the update (torch.optim.AdamW)."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False, foreach=None,
                 capturable: bool = False, differentiable: bool = False, fused=None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop) with momentum and centering: v ← αv + (1-α)g²;
    p ← p - lr·g / (√(v - ḡ²) + eps) (ḡ only when centered)."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        _check("alpha value", alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def step(self, closure: Callable | None = None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps, momentum = float(group["lr"]), group["alpha"], group["eps"], group["momentum"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = step_tensor()
                    state["square_avg"] = zeros_like(param)
                    if momentum > 0:
                        state["momentum_buffer"] = zeros_like(param)
                    if group["centered"]:
                        state["grad_avg"] = zeros_like(param)
                grad = _grad(param, group["maximize"], group["weight_decay"])
                array(state["step"])[...] += 1
                square_avg = array(state["square_avg"])
                square_avg *= scalar(alpha, square_avg)
                square_avg += scalar(1 - alpha, grad) * grad * grad
                if group["centered"]:
                    grad_avg = array(state["grad_avg"])
                    lerp_(grad_avg, grad, 1 - alpha)
                    avg = np.sqrt(square_avg + scalar(-1, grad_avg) * grad_avg * grad_avg)
                    bump(state["grad_avg"])
                else:
                    avg = np.sqrt(square_avg)
                avg += scalar(eps, avg)
                data = array(param)
                if momentum > 0:
                    buf = array(state["momentum_buffer"])
                    buf *= scalar(momentum, buf)
                    buf += grad / avg
                    data += scalar(-lr, data) * buf
                    bump(state["momentum_buffer"])
                else:
                    data += scalar(-lr, data) * grad / avg
                bump(param, state["square_avg"], state["step"])
        return loss


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad): s ← s + g²; p ← p - lr/(1 + (t-1)·lr_decay) · g / (√s + eps). State is
    created at construction, as torch does."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, fused=None) -> None:
        _check("learning rate", lr)
        _check("lr_decay value", lr_decay)
        _check("weight_decay value", weight_decay)
        _check("initial_accumulator_value value", initial_accumulator_value)
        _check("epsilon value", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state[param]
                state["step"] = step_tensor()
                state["sum"] = full_like(param, group["initial_accumulator_value"])

    def step(self, closure: Callable | None = None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                array(state["step"])[...] += 1
                step = float(array(state["step"]))
                grad = _grad(param, group["maximize"], group["weight_decay"])
                clr = float(group["lr"]) / (1 + (step - 1) * group["lr_decay"])
                total = array(state["sum"])
                total += grad * grad
                std = np.sqrt(total) + scalar(group["eps"], total)
                data = array(param)
                data += scalar(-clr, data) * grad / std
                bump(param, state["sum"], state["step"])
        return loss

