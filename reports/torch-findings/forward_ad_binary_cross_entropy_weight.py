"""F.binary_cross_entropy with a forward-AD (dual) `weight`: the weight's tangent is dropped, or the call raises.

Path: forward AD (torch.autograd.forward_ad, torch.func.jvp). bce is linear in `weight`, so its JVP along a
weight tangent is the weighted loss of that tangent (central differences agree). With only `weight` dual, torch
returns no tangent (unpack_dual gives None; torch.func.jvp returns 0); with `input` and `weight` both dual it raises
"Setting a forward grad that itself has a forward gradient at the same level0 is not supported". Reverse mode
refuses a weight that requires grad with a clear error ("not differentiable with respect to argument 'weight'");
forward AD should either compute the JVP or refuse the same way.
Exit status: 1 while either forward-AD call diverges from central differences, 0 once fixed.
"""
import sys

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F

d = torch.float64
x, y = torch.tensor([0.3, 0.6], dtype=d), torch.tensor([0.0, 1.0], dtype=d)
w, tw, tx = torch.tensor([1.0, 2.0], dtype=d), torch.tensor([1.0, 0.5], dtype=d), torch.tensor([0.2, -0.1], dtype=d)
h = 1e-6


def bce(x_, w_):
    return F.binary_cross_entropy(x_, y, weight=w_)


numeric_w = ((bce(x, w + h * tw) - bce(x, w - h * tw)) / (2 * h)).item()
numeric_both = ((bce(x + h * tx, w + h * tw) - bce(x - h * tx, w - h * tw)) / (2 * h)).item()
with fwAD.dual_level():
    t = fwAD.unpack_dual(bce(x, fwAD.make_dual(w, tw))).tangent
jvp_w = None if t is None else t.item()
try:
    with fwAD.dual_level():
        both = fwAD.unpack_dual(bce(fwAD.make_dual(x, tx), fwAD.make_dual(w, tw))).tangent.item()
except RuntimeError as err:
    both = f"RuntimeError: {err}"
print("input", x.tolist(), "target", y.tolist(), "weight", w.tolist(), "weight tangent", tw.tolist(),
      "input tangent", tx.tolist())
print(f"weight dual:      central differences {numeric_w:.9f}   forward AD tangent: {jvp_w}")
print(f"both dual:        central differences {numeric_both:.9f}   forward AD: {both}")
wrong_w = jvp_w is None or abs(jvp_w - numeric_w) > 1e-6
wrong_both = not isinstance(both, float) or abs(both - numeric_both) > 1e-6
print("DIVERGES (" + ", ".join(n for n, v in (("weight tangent dropped", wrong_w), ("input+weight raises", wrong_both))
                               if v) + ")" if wrong_w or wrong_both else "agrees")
sys.exit(1 if wrong_w or wrong_both else 0)
