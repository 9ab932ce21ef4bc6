"""autograd.functional.hessian(..., outer_jacobian_strategy="forward-mode", vectorize=True) returns a tensor that
requires grad (grad_fn ReshapeAliasBackward0) although create_graph=False.

Path: torch.autograd.functional (forward-over-reverse Hessian). The values are right (central differences of the
gradient agree); the graph state is not: create_graph=False documents a Hessian not computed in a
differentiable manner, and the reverse-mode strategy (vectorized or not) returns a tensor with requires_grad False.
Exit status: 1 while the forward-mode result requires grad (or its values differ), 0 once fixed.
"""
import sys

import numpy as np
import torch
from torch.autograd.functional import hessian


def f(z):
    return (z ** 3).sum()


z = torch.tensor([1.0, 2.0], dtype=torch.float64)
fwd = hessian(f, z, outer_jacobian_strategy="forward-mode", vectorize=True)
rev = hessian(f, z, vectorize=True)
h = 1e-6
numeric = np.zeros((2, 2))
for j in range(2):
    e = torch.zeros(2, dtype=torch.float64)
    e[j] = h
    gp = torch.func.grad(f)(z + e)
    gm = torch.func.grad(f)(z - e)
    numeric[:, j] = ((gp - gm) / (2 * h)).numpy()
print("f(z) = sum(z**3), z =", z.tolist(), "create_graph=False")
print("central differences of the gradient:", numeric.round(6).tolist())
print(f"reverse-mode:  {rev.tolist()}  requires_grad={rev.requires_grad} grad_fn={type(rev.grad_fn).__name__}")
print(f"forward-mode:  {fwd.tolist()}  requires_grad={fwd.requires_grad} grad_fn={type(fwd.grad_fn).__name__}")
wrong = fwd.requires_grad or not np.allclose(fwd.detach().numpy(), numeric, atol=1e-5)
print("DIVERGES (the forward-mode Hessian carries a graph with create_graph=False)" if wrong else "agrees")
sys.exit(1 if wrong else 0)
