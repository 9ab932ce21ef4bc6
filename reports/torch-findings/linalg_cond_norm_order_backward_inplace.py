"""torch.linalg.cond(A, p) with p in ('fro', 1, inf, -1, -inf) cannot be differentiated: its own backward fails.

Path: eager autograd. For these orders cond(A) = norm(A, p) * norm(inv(A), p), differentiable wherever A is
invertible (central differences give the gradient below; torch's own composition
`matrix_norm(A, p) * matrix_norm(linalg.inv(A), p)` matches them). torch.linalg.cond's backward raises "one of the
variables needed for gradient computation has been modified by an inplace operation" (p=2, the default, and
'nuc' work on this input).
Exit status: 1 while any listed order's backward raises or differs from central differences, 0 once fixed.
"""
import sys

import numpy as np
import torch

a = torch.tensor([[2.0, 1.0], [0.5, 3.0]], dtype=torch.float64)
h = 1e-6
wrong = []
print("A:", a.tolist())
for p in ("fro", 1, float("inf"), -1, float("-inf")):
    numeric = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            e = torch.zeros(2, 2, dtype=torch.float64)
            e[i, j] = h
            numeric[i, j] = (torch.linalg.cond(a + e, p) - torch.linalg.cond(a - e, p)).item() / (2 * h)
    leaf = a.clone().requires_grad_()
    try:
        grad = torch.autograd.grad(torch.linalg.cond(leaf, p), leaf)[0].numpy()
        ok = np.allclose(grad, numeric, atol=1e-5)
        shown = grad.round(6).tolist()
    except RuntimeError as err:
        ok, shown = False, f"RuntimeError: {str(err)[:100]}..."
    print(f"p={p!s:5} central differences {numeric.round(6).tolist()}  torch.autograd: {shown}")
    if not ok:
        wrong.append(str(p))
print("DIVERGES (backward fails for p = " + ", ".join(wrong) + ")" if wrong else "agrees")
sys.exit(1 if wrong else 0)
