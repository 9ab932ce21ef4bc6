"""torch.flip of a 0-d tensor with dims=(0,) under torch.func.vmap (and so jacrev, and vmap over flip's VJP):
"Dimension out of range (expected to be in range of [-1, 0], but got 1)", where eager returns the scalar.

Path: torch.func (vmap's batching rule for flip wraps the logical dim against the batched rank), found by the
conformance suite's flip spec under conformance.engines.func:vmap (shrunk: x = 0.0 float64, dims (0,), cotangent 0).
Eager accepts dim 0 (and -1) for a 0-d tensor, like every dim-wrapping op, and its gradient is the cotangent.
Exit status: 1 while vmap, vmap of the VJP or jacrev fail or disagree with eager, 0 once fixed.
"""
import sys

import torch

x = torch.tensor(0.5, dtype=torch.float64)
batch = torch.tensor([1.0, -2.0], dtype=torch.float64)
print("eager flip(x, (0,)):", torch.flip(x, (0,)).item(), "| its VJP at cotangent 1:",
      torch.func.vjp(lambda a: torch.flip(a, (0,)), x)[1](torch.tensor(1.0, dtype=torch.float64))[0].item())
checks = {
    "vmap(flip) over [1, -2]": (lambda: torch.func.vmap(lambda v: torch.flip(v, (0,)))(batch), batch),
    "vmap(vjp_fn) over cotangents [1, -2]": (
        lambda: torch.func.vmap(torch.func.vjp(lambda a: torch.flip(a, (0,)), x)[1])(batch)[0], batch),
    "jacrev(flip)": (lambda: torch.func.jacrev(lambda a: torch.flip(a, (0,)))(x),
                     torch.tensor(1.0, dtype=torch.float64)),
}
status = 0
for name, (run, expected) in checks.items():
    try:
        got = run()
    except Exception as error:
        print(f"DIVERGES: {name} raises {type(error).__name__}: {error}")
        status = 1
        continue
    same = torch.equal(got, expected)
    print(f"{name}: {got.tolist()} (expected {expected.tolist()})" + ("" if same else "  DIVERGES"))
    status = status or int(not same)
sys.exit(status)
