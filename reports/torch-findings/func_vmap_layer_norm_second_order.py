"""Differentiating through vmap over layer_norm's VJP gives a wrong second derivative (first order is right).

Path: torch.func vmap composed with torch.autograd (the route of Hessian-vector products and of per-sample
gradients of gradients), found by the conformance suite's nn.functional.layer_norm spec under
conformance.engines.func:vmap, double_backward property. h(x) = <J(x)^T v, u>: its gradient along a random
direction by central differences agrees with torch.autograd's double backward and with torch.func.vjp's to 1e-8;
differentiating the same h computed by vmap(vjp_fn) over a batch of cotangents (row 0 = v) does not.
Exit status: 1 while the vmap route's second derivative misses the central-difference one, 0 once fixed.
"""
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(0)
x0 = torch.randn(2, 3, dtype=torch.float64)
w = torch.randn(3, dtype=torch.float64)
b = torch.randn(3, dtype=torch.float64)
v = torch.randn(2, 3, dtype=torch.float64)
u = torch.randn(2, 3, dtype=torch.float64)
d = torch.randn(2, 3, dtype=torch.float64)


def f(x):
    return F.layer_norm(x, (3,), w, b)


def h_autograd(x):
    leaf = x if x.requires_grad else x.clone().requires_grad_()
    (g,) = torch.autograd.grad(f(leaf), leaf, v, create_graph=True)
    return (g * u).sum()


def h_vjp(x):
    return (torch.func.vjp(f, x)[1](v)[0] * u).sum()


def h_vmap(x):
    _, vjp_fn = torch.func.vjp(f, x)
    rows = torch.func.vmap(vjp_fn)(torch.stack([v, torch.zeros_like(v)]))[0]
    return (rows[0] * u).sum()


eps = 1e-6
numeric = (h_autograd(x0 + eps * d) - h_autograd(x0 - eps * d)).item() / (2 * eps)
print(f"first order, <J^T v, u>: autograd {h_autograd(x0).item():.12f}, vmap route {h_vmap(x0).item():.12f}")
print(f"d/dx <J^T v, u> along a random direction, central differences: {numeric:.9f}")
status = 0
for name, h in (("torch.autograd double backward", h_autograd), ("grad of torch.func.vjp", h_vjp),
                ("grad of vmap(vjp_fn) row 0", h_vmap)):
    x = x0.clone().requires_grad_()
    (g,) = torch.autograd.grad(h(x), x)
    value = (g * d).sum().item()
    bad = abs(value - numeric) > 1e-6 * max(1.0, abs(numeric))
    print(f"  {name}: {value:.9f}" + ("  DIVERGES" if bad else ""))
    status = status or int(bad)
sys.exit(status)
