"""scatter / scatter_add with an index smaller than src (allowed: index.size(d) <= src.size(d), or empty):
the forward works, the backward raises "returned an invalid gradient at index 1", eager and compiled alike.

Path: torch.autograd's derivative formula (src: grad.gather(dim, index), index-shaped instead of src-shaped),
inherited by torch.compile (aot_eager raises the same message wrapped in BackendCompilerFailed at compile time);
found by the conformance suite's scatter/scatter_add specs under conformance.engines.compiled:aot_eager (shrunk:
x zeros(2), src zeros(2), dim 0, index []). Only the src entries the index covers reach the output, so the src
gradient is the gathered gradient there and 0 elsewhere: src.grad = [1, 0] below.
Upstream: pytorch/pytorch#94336 (empty index, open), #27614 (scatter_add, open); fix proposed in PR #188843.
Exit status: 1 while the backward raises or returns anything but the expected gradient, 0 once fixed.
"""
import sys

import torch

status = 0
for name in ("scatter", "scatter_add"):
    for index_list, expected_src in (([1], [1.0, 0.0]), ([], [0.0, 0.0])):
        x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        src = torch.ones(2, dtype=torch.float64, requires_grad=True)
        index = torch.tensor(index_list, dtype=torch.int64)
        out = getattr(x, name)(0, index, src)
        try:
            _, src_grad = torch.autograd.grad(out, (x, src), torch.ones(2, dtype=torch.float64))
        except RuntimeError as error:
            print(f"DIVERGES: x.{name}(0, index={index_list}, src) backward raises: {error}")
            status = 1
            continue
        ok = src_grad.tolist() == expected_src
        print(f"x.{name}(0, index={index_list}, src): src.grad {src_grad.tolist()}, expected {expected_src}"
              + ("" if ok else "  DIVERGES"))
        status = status or int(not ok)
sys.exit(status)
