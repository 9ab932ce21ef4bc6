"""torch.func.jacrev of torch.cdist, and vmap over cdist's VJP with distinct cotangents, return wrong
gradients; the plain VJP (torch.autograd, torch.func.vjp, or vmap over a batch whose rows are multiples of one
cotangent) is right.

Path: torch.func (the batching rule of cdist's backward), found by the conformance suite's cdist spec under
conformance.engines.func:jacrev (shrunk input: a (2, 4, 2), b (2, 2, 2) float64, p = 2, a random cotangent;
distances all above 2, no coincident points); 2-D inputs too. Numerical verdict: central differences of
<v, cdist> along random directions agree with torch.autograd/torch.func.vjp to 1e-8; jacrev's J^T v does not, and
vmap over one-hot cotangents gives a Jacobian off by up to 0.97 from torch.autograd.functional.jacobian (exact 0
for a Python loop of the same VJP).
Exit status: 1 while jacrev or vmap over distinct cotangents misses, 0 once fixed.
"""
import sys

import torch

torch.manual_seed(0)


def f(x, y):
    return torch.cdist(x, y, p=2.0)


status = 0
for shapes in (((4, 2), (2, 2)), ((2, 4, 2), (2, 2, 2))):
    a = torch.randn(*shapes[0], dtype=torch.float64)
    b = torch.randn(*shapes[1], dtype=torch.float64) + 3.0  # well separated from a
    v = torch.randn(f(a, b).shape, dtype=torch.float64)
    _, vjp_fn = torch.func.vjp(f, a, b)
    vjp = vjp_fn(v)
    jac = torch.func.jacrev(f, argnums=(0, 1))(a, b)
    jacrev = [torch.tensordot(v, jac[i], dims=v.dim()) for i in range(2)]
    batch = torch.stack([torch.zeros_like(v), v])  # distinct rows: the answer is row 1
    vmapped = [g[1] for g in torch.func.vmap(vjp_fn)(batch)]
    for i, name in enumerate("ab"):
        d = torch.randn((a, b)[i].shape, dtype=torch.float64)
        h = 1e-6
        plus = [x + h * d if j == i else x for j, x in enumerate((a, b))]
        minus = [x - h * d if j == i else x for j, x in enumerate((a, b))]
        numeric = ((f(*plus) - f(*minus)) * v).sum().item() / (2 * h)
        results = {"vjp": (vjp[i] * d).sum().item(), "jacrev": (jacrev[i] * d).sum().item(),
                   "vmap(vjp_fn)[(0, v)] row 1": (vmapped[i] * d).sum().item()}
        bad = [k for k, value in results.items() if abs(value - numeric) > 1e-5 * max(1.0, abs(numeric))]
        print(f"shapes {shapes}, d/d{name} along a random direction: central differences {numeric:.9f}, "
              + ", ".join(f"{k} {value:.9f}" for k, value in results.items())
              + (f"  DIVERGES ({', '.join(bad)})" if bad else ""))
        status = status or int(bool(bad))
sys.exit(status)
