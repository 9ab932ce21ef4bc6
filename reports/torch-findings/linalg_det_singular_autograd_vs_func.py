"""linalg.det's gradient at an exactly singular matrix: torch.autograd returns 0, torch.func the adjugate.

Path: eager torch.autograd (and forward AD, whose JVP is 0 too) vs torch.func (vjp/grad), found by the
conformance suite's torch.func engine.
det is a polynomial, so its gradient exists everywhere: Jacobi's formula gives the adjugate transpose, for
[[1, 1], [1, 1]] the matrix [[1, -1], [-1, 1]] (central differences agree to 1e-9). torch.autograd without grad
mode (a plain backward) treats an exactly zero det by a shortcut that returns 0; under torch.func (and with
create_graph=True) torch takes its SVD path and returns the adjugate.
Exit status: 1 while torch.autograd's gradient (or forward AD's directional derivative) differs from the
central-difference one, 0 once fixed.
"""
import sys

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD

a = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
leaf = a.clone().requires_grad_()
autograd = torch.autograd.grad(torch.linalg.det(leaf), leaf)[0]
func = torch.func.grad(torch.linalg.det)(a)
h = 1e-6
numeric = np.zeros((2, 2))
for i in range(2):
    for j in range(2):
        e = torch.zeros(2, 2, dtype=torch.float64)
        e[i, j] = h
        numeric[i, j] = (torch.linalg.det(a + e) - torch.linalg.det(a - e)).item() / (2 * h)
print("input:", a.tolist())
print("central differences:   ", numeric.round(9).tolist())
print("torch.func.grad:       ", func.tolist())
print("torch.autograd.grad:   ", autograd.tolist())
direction = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
with fwAD.dual_level():
    tangent = fwAD.unpack_dual(torch.linalg.det(fwAD.make_dual(a, direction))).tangent.item()
print(f"forward AD along E11:   {tangent} (central differences {numeric[0, 0]:.9f})")
wrong = not np.allclose(autograd.numpy(), numeric, atol=1e-6)
wrong_forward = abs(tangent - numeric[0, 0]) > 1e-6
print("DIVERGES (" + ", ".join(n for n, w in (("torch.autograd", wrong), ("forward AD", wrong_forward)) if w) + ")"
      if wrong or wrong_forward else "agrees")
sys.exit(1 if wrong or wrong_forward else 0)
