"""torch's forward and reverse modes pick different derivatives at the same kink: fmax at a tie, maximum/minimum
at a NaN, atan2 at (0, 0). torch.func.jacfwd and jacrev disagree there.

Path: forward AD (torch.autograd.forward_ad, jacfwd) vs eager autograd (jacrev). At these points no derivative
exists (central differences: fmax at a tie gives 0.5 per argument, a kink; maximum at NaN is NaN; atan2 blows up
like 1/h at the origin), so each mode's value is a convention; the finding is that torch's two modes use
different ones for the same op and point, while e.g. maximum at a tie uses 0.5/0.5 in both.
Verdict: convention inconsistency between torch's own modes, not a wrong number in either.
Exit status: 1 while a listed op's forward-mode Jacobian differs from its reverse-mode one, 0 once they agree.
"""
import math
import sys

import torch

d = torch.float64
nan = float("nan")
cases = [
    ("fmax(1, 1)", torch.fmax, (1.0, 1.0)),
    ("maximum(nan, 1)", torch.maximum, (nan, 1.0)),
    ("minimum(nan, 1)", torch.minimum, (nan, 1.0)),
    ("atan2(0, 0)", torch.atan2, (0.0, 0.0)),
    ("maximum(1, 1) (consistent)", torch.maximum, (1.0, 1.0)),
]
h = 1e-6
wrong = []
for name, fn, args in cases:
    xs = tuple(torch.tensor(a, dtype=d) for a in args)
    fwd = [v.item() for v in torch.func.jacfwd(fn, argnums=(0, 1))(*xs)]
    rev = [v.item() for v in torch.func.jacrev(fn, argnums=(0, 1))(*xs)]
    numeric = []
    for k in range(2):
        plus = [x.clone() for x in xs]
        minus = [x.clone() for x in xs]
        plus[k] += h
        minus[k] -= h
        numeric.append(round((fn(*plus) - fn(*minus)).item() / (2 * h), 6))
    same = all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(fwd, rev))
    print(f"{name:28} jacfwd {fwd}  jacrev {rev}  central differences {numeric}")
    if not same:
        wrong.append(name)
print("DIVERGES (forward and reverse differ: " + ", ".join(wrong) + ")" if wrong else "agrees")
sys.exit(1 if wrong else 0)
