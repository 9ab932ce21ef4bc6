"""Custom autograd.Function and autograd.functional (vjp, jacobian, hessian)."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad as torch
from refgrad.autograd import Function


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


class SplitSign(Function):
    """Two outputs, the second non-differentiable; a non-tensor argument."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        sign = x > 0
        ctx.mark_non_differentiable(sign)
        return x * scale, sign

    @staticmethod
    def backward(ctx, grad, grad_sign):
        return grad * ctx.scale, None


def leaf(*values):
    return torch.tensor(list(values), dtype=torch.float64, requires_grad=True)


def test_custom_function_forward_backward_and_node():
    x = leaf(1.0, 2.0)
    y = Cube.apply(x)
    assert type(y.grad_fn).__name__ == "CubeBackward"
    assert y.grad_fn.needs_input_grad == (True,)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]


def test_custom_function_double_backward_through_refgrad_ops():
    x = leaf(2.0)
    (g,) = torch.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    assert gg.tolist() == [12.0]


def test_custom_function_saved_tensor_version_check():
    x = leaf(1.0).clone()
    y = Cube.apply(x)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_custom_function_second_backward_raises_when_it_saved():
    x = leaf(1.0)
    y = Cube.apply(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_non_differentiable_output_and_non_tensor_argument():
    x = leaf(-1.0, 2.0)
    y, sign = SplitSign.apply(x, 4.0)
    assert not sign.requires_grad and sign.tolist() == [False, True]
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_functional_vjp_jacobian_hessian():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    out, grad = torch.autograd.functional.vjp(lambda t: t ** 2, x, torch.ones(2, dtype=torch.float64))
    assert out.tolist() == [1.0, 4.0] and grad.tolist() == [2.0, 4.0]
    jac = torch.autograd.functional.jacobian(lambda t: t ** 2, x)
    np.testing.assert_allclose(jac.numpy(), [[2.0, 0.0], [0.0, 4.0]])
    hess = torch.autograd.functional.hessian(lambda t: (t ** 3).sum(), x)
    np.testing.assert_allclose(hess.numpy(), [[6.0, 0.0], [0.0, 12.0]])


def test_functional_jacobian_of_two_inputs():
    a = torch.tensor([1.0, 2.0], dtype=torch.float64)
    b = torch.tensor([3.0, 4.0], dtype=torch.float64)
    ja, jb = torch.autograd.functional.jacobian(lambda u, v: u * v, (a, b))
    np.testing.assert_allclose(ja.numpy(), np.diag([3.0, 4.0]))
    np.testing.assert_allclose(jb.numpy(), np.diag([1.0, 2.0]))
