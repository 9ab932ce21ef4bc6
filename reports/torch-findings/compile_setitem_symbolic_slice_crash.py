"""torch.compile(dynamic=True) of x.clone()[key] = v, the key built from Python ints in a list: the backward fails
to compile with "AssertionError: 0 not in VR[1, 1]" (aot_eager and inductor alike: symbolic-shape reasoning in AOTAutograd, before any
backend code generation), where eager runs; dynamic=False and the default (automatic dynamic) compile fine.

Path: torch.compile (Dynamo dynamic shapes + AOTAutograd), found by the conformance suite's setitem.basic spec
under conformance.engines.compiled:aot_eager (shrunk input: x zeros(1, 1, 1) float64, v a 0-d tensor, key
[None, 0:, 0, :0:1], an empty assignment). The same key written as literal slices compiles fine.
Exit status: 1 while compiling or running the backward fails or disagrees with eager, 0 once fixed.
"""
import sys

import torch


def fn(x, v, key):
    y = x.clone()
    y[tuple(slice(k[1], k[2], k[3]) if isinstance(k, list) else k for k in key)] = v
    return y


key = [None, ["s", 0, None, None], 0, ["s", None, 0, 1]]
x = torch.zeros(1, 1, 1, dtype=torch.float64, requires_grad=True)
v = torch.zeros((), dtype=torch.float64, requires_grad=True)
cotangent = torch.ones(1, 1, 1, dtype=torch.float64)
eager = torch.autograd.grad(fn(x, v, key), (x, v), cotangent)
print("eager gradients (x, v):", [g.tolist() for g in eager])
try:
    out = torch.compile(fn, backend="aot_eager", dynamic=True)(x, v, key)
    compiled = torch.autograd.grad(out, (x, v), cotangent)
except Exception as error:  # torch._dynamo.exc.BackendCompilerFailed
    print("DIVERGES: torch.compile(backend='aot_eager', dynamic=True) fails:", type(error).__name__, str(error).splitlines()[1:2])
    sys.exit(1)
print("compiled gradients (x, v):", [g.tolist() for g in compiled])
same = all(torch.equal(a, b) for a, b in zip(eager, compiled))
print("agrees" if same else "DIVERGES")
sys.exit(0 if same else 1)
