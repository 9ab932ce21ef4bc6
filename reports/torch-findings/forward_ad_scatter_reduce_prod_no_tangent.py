"""scatter_reduce(..., reduce="prod"): forward AD gives the output no tangent at all (a silent zero JVP).

Path: forward AD (torch.autograd.forward_ad: unpack_dual(out).tangent is None; torch.func.jvp returns zeros and
torch.func.jacfwd a zero Jacobian, while torch.func.jacrev and eager autograd are right). With include_self=True or
False, tangents on self, src or both: no tangent. The product is a polynomial in self and src, so its JVP exists
everywhere; central differences give it. Upstream: pytorch#196702 (open); the forward AD of scatter_reduce (PR
#85000) left prod "for future work".
Exit status: 1 while the JVP differs from central differences, 0 once fixed.
"""
import sys

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD

d = torch.float64
x, src = torch.tensor([1.0, 2.0, 0.0, 3.0], dtype=d), torch.tensor([2.0, 0.0, 4.0, 5.0, 1.5], dtype=d)
tx, tsrc = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=d), torch.tensor([0.5, 1.0, 2.0, 3.0, 4.0], dtype=d)
index = torch.tensor([0, 0, 2, 1, 0])
h = 1e-6
wrong = False
for include_self in (True, False):
    def f(x_, src_, include_self=include_self):
        return x_.scatter_reduce(0, index, src_, "prod", include_self=include_self)
    numeric = ((f(x + h * tx, src + h * tsrc) - f(x - h * tx, src - h * tsrc)) / (2 * h)).numpy()
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(f(fwAD.make_dual(x, tx), fwAD.make_dual(src, tsrc))).tangent
    got = None if tangent is None else tangent.numpy()
    print(f"include_self={include_self}: central differences {numeric.round(6).tolist()}   forward AD tangent: "
          f"{None if got is None else got.tolist()}")
    wrong |= got is None or not np.allclose(got, numeric, atol=1e-6)
print("DIVERGES (forward AD drops prod's tangent)" if wrong else "agrees")
sys.exit(1 if wrong else 0)
