"""torch.clamp(x, min=Tensor, max=Tensor) whose bounds broadcast x to a larger shape: eager backward raises.

Path: eager torch.autograd (ClampBackward1), found by the conformance suite's torch.compile engine (aot_eager
decomposes clamp and returns the gradient). The forward is fine and the gradient exists: it is the
broadcast-reduced mask of where x lies strictly inside its bounds, which torch.minimum(torch.maximum(x, lo), hi)
(same values) gets through autograd without error.
Exit status: 1 while eager backward raises or disagrees with the min/max composition, 0 once fixed.
"""
import sys

import torch

x = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)          # shape (2,)
lo = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.6, 3.0]], dtype=torch.float64, requires_grad=True)  # (3, 2)
hi = torch.tensor([1.5, 2.5], dtype=torch.float64, requires_grad=True)         # (2,)
v = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=torch.float64)     # cotangent, shape (3, 2)

expected = torch.autograd.grad(torch.minimum(torch.maximum(x, lo), hi), (x, lo, hi), v)
print("min/max composition gradients (x, lo, hi):", [g.tolist() for g in expected])
try:
    got = torch.autograd.grad(torch.clamp(x, lo, hi), (x, lo, hi), v)
except RuntimeError as error:
    print("DIVERGES: torch.clamp backward (eager) raises:", error)
    sys.exit(1)
print("torch.clamp gradients (eager):", [g.tolist() for g in got])
same = all(torch.equal(a, b) for a, b in zip(got, expected))
print("agrees" if same else "DIVERGES")
sys.exit(0 if same else 1)
