"""torch.ldexp(x, e) with a negative integer exponent: the gradient w.r.t. x is 0 instead of 2**e.

Path: eager autograd (and forward AD, which uses the same 2**e). ldexp(x, e) = x * 2**e, so d/dx = 2**e = 0.25 for
e = -2 (central differences agree); torch's derivative formula evaluates pow(2, e) in the integer dtype of e,
which truncates to 0 for e < 0. The forward value is right.
Exit status: 1 while the gradient (or the JVP) differs from the central-difference one, 0 once fixed.
"""
import sys

import torch
import torch.autograd.forward_ad as fwAD

x = torch.tensor([3.0], dtype=torch.float64)
e = torch.tensor([-2])
leaf = x.clone().requires_grad_()
grad = torch.autograd.grad(torch.ldexp(leaf, e).sum(), leaf)[0].item()
with fwAD.dual_level():
    jvp = fwAD.unpack_dual(torch.ldexp(fwAD.make_dual(x, torch.ones_like(x)), e)).tangent.item()
h = 1e-6
numeric = ((torch.ldexp(x + h, e) - torch.ldexp(x - h, e)) / (2 * h)).item()
print(f"x = {x.item()}, e = {e.item()} (int64), ldexp = {torch.ldexp(x, e).item()}")
print(f"central differences: {numeric:.9f}   torch.autograd.grad: {grad}   forward AD: {jvp}")
wrong = abs(grad - numeric) > 1e-6 or abs(jvp - numeric) > 1e-6
print("DIVERGES (the derivative 2**e is computed in int64)" if wrong else "agrees")
sys.exit(1 if wrong else 0)
