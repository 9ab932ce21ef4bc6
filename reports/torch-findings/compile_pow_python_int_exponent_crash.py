"""torch.compile(dynamic=True) of x ** s with a Python int s passed as an argument: compiling the backward fails
with "INTERNAL ASSERT FAILED ... NYI SymInt equality" (c10/core/Scalar.h), where eager runs (gradient 2x).

Path: torch.compile (Dynamo turns the int into a SymInt; pow's backward compares the exponent with 0), aot_eager
and inductor alike; dynamic=False and the default compile fine. Found by the conformance suite's pow.scalar and
pow.rscalar specs under conformance.engines.compiled:aot_eager (shrunk: x = 0.0 float64, s = 2, cotangent 0).
Upstream: pytorch/pytorch#185715 (closed; fixes proposed in PRs #185848, #185849, #185851), still present in
2.13.0.
Exit status: 1 while the compiled backward fails or disagrees with eager, 0 once fixed.
"""
import sys

import torch


def f(x, s):
    return x ** s


x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
eager = torch.autograd.grad(f(x, 2), x)[0]
print("eager d/dx x**2 at 0.5:", eager.item())
try:
    compiled = torch.autograd.grad(torch.compile(f, backend="aot_eager", dynamic=True)(x, 2), x)[0]
except Exception as error:  # torch._dynamo.exc.BackendCompilerFailed
    print("DIVERGES: torch.compile(backend='aot_eager', dynamic=True) fails:", type(error).__name__,
          str(error).splitlines()[1:2])
    sys.exit(1)
print("compiled:", compiled.item())
print("agrees" if torch.equal(eager, compiled) else "DIVERGES")
sys.exit(0 if torch.equal(eager, compiled) else 1)
