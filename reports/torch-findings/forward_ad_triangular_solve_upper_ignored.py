"""torch.triangular_solve's forward AD uses the whole tangent of A, ignoring `upper` (the reverse mode does not).

Path: forward AD (torch.autograd.forward_ad, and so torch.func.jvp/jacfwd). triangular_solve(b, A, upper=True)
reads only A's upper triangle, so a tangent in A's strictly lower triangle cannot change the solution: the true
JVP is 0 (central differences agree). torch propagates it anyway; torch.linalg.solve_triangular gets it right.
Exit status: 1 while triangular_solve's JVP differs from the central-difference one, 0 once fixed.
"""
import sys
import warnings

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD

warnings.filterwarnings("ignore", message=".*triangular_solve is deprecated.*")
a = torch.tensor([[2.0, 0.5], [0.7, 3.0]], dtype=torch.float64)
b = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
da = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)  # only in the ignored lower triangle


def solve(m):
    return torch.triangular_solve(b, m, upper=True).solution


with fwAD.dual_level():
    jvp = fwAD.unpack_dual(solve(fwAD.make_dual(a, da))).tangent.flatten().numpy()
    jvp_linalg = fwAD.unpack_dual(torch.linalg.solve_triangular(fwAD.make_dual(a, da), b, upper=True)
                                  ).tangent.flatten().numpy()
h = 1e-6
numeric = ((solve(a + h * da) - solve(a - h * da)) / (2 * h)).flatten().numpy()
print("A:", a.tolist(), "b:", b.flatten().tolist(), "upper=True, tangent of A:", da.tolist())
print("central differences:                   ", numeric.round(9).tolist())
print("linalg.solve_triangular forward AD:    ", jvp_linalg.tolist())
print("triangular_solve forward AD:           ", jvp.tolist())
wrong = not np.allclose(jvp, numeric, atol=1e-6)
print("DIVERGES (triangular_solve's JVP uses the ignored triangle)" if wrong else "agrees")
sys.exit(1 if wrong else 0)
