"""Tiny engines for the verdict tests: torch's namespace with one op replaced (load as
``tests.report.fake_engines:<name>``)."""
from __future__ import annotations

import types

import torch

__all__ = ["abs_one_at_zero", "det_true_gradient", "where_no_nan", "exp_wrong_vjp", "exp_noisy_vjp",
           "exp_unconjugated"]


class _Proxy(types.ModuleType):
    """``base`` with some attributes replaced."""

    def __init__(self, name: str, base, **overrides):
        super().__init__(name)
        self._base = base
        self.__dict__.update(overrides)
        self.__version__ = f"{torch.__version__}+{name}"

    def __getattr__(self, name):
        return getattr(self._base, name)


class _AbsOne(torch.autograd.Function):
    """|x| with d|x|/dx = 1 at 0 (torch: 0); both are subgradients."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.abs()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * torch.where(x >= 0, 1.0, -1.0).to(grad.dtype)


class _Det(torch.autograd.Function):
    """det with the adjugate gradient, right for singular matrices too (torch gives 0 at rank n-1)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return torch.linalg.det(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        cofactor = torch.empty_like(a)
        for i in range(n):
            for j in range(n):
                rows = [r for r in range(n) if r != i]
                cols = [c for c in range(n) if c != j]
                minor = a[..., rows, :][..., :, cols]
                cofactor[..., i, j] = (-1) ** (i + j) * torch.linalg.det(minor)
        return grad[..., None, None] * cofactor


class _SafeSqrt(torch.autograd.Function):
    """sqrt whose gradient is 0 where the incoming gradient is 0 (so where() does not leak NaN)."""

    @staticmethod
    def forward(ctx, x):
        out = torch.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return torch.where(grad == 0, torch.zeros_like(grad), grad / (2 * out))


def _scaled_grad(factor):
    class _Exp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = torch.exp(x)
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            (out,) = ctx.saved_tensors
            return grad * out * factor

    return _Exp.apply


def abs_one_at_zero():
    return _Proxy("abs_one_at_zero", torch, abs=_AbsOne.apply)


def det_true_gradient():
    return _Proxy("det_true_gradient", torch, linalg=_Proxy("det_true_gradient.linalg", torch.linalg,
                                                              det=_Det.apply))


def where_no_nan():
    return _Proxy("where_no_nan", torch, sqrt=_SafeSqrt.apply)


def exp_wrong_vjp():
    return _Proxy("exp_wrong_vjp", torch, exp=_scaled_grad(1.01))


def exp_noisy_vjp():
    return _Proxy("exp_noisy_vjp", torch, exp=_scaled_grad(1 + 1e-9))


def exp_unconjugated():
    """exp whose VJP is g·exp(z): right for real z, the classic complex bug for complex z (torch: g·conj(exp(z)))."""
    return _Proxy("exp_unconjugated", torch, exp=_scaled_grad(1.0))
