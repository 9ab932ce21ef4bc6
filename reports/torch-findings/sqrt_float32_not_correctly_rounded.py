"""torch.sqrt on float32 CPU tensors is not correctly rounded (off by 1 ulp on ~9% of the floats in [1, 2)).

Path: eager forward value (CPU float32; contiguous, strided and 0-d tensors alike), which every float32 gradient
that uses sqrt (norms, cosine_similarity, std) inherits. IEEE 754 requires sqrt to be correctly rounded; the
float32 value of the float64 square root is the correctly rounded result (53 >= 2*24 + 2, so double rounding is
exact), and NumPy's float32 sqrt and libm's sqrtf give it. Measured on an AMD EPYC (AVX512, torch 2.13.0+cpu,
MKL 2024.2): deterministic across runs and unchanged under ATEN_CPU_CAPABILITY=default/avx2,
MKL_ENABLE_INSTRUCTIONS=SSE4_2/AVX2, MKL_CBWR=COMPATIBLE and one thread; float64 sqrt is right. The kernel is not
isolated (torch routes contiguous float unary ops to MKL VML with VML_HA, a <= 1 ulp mode, per pytorch#188792's
description), so another CPU may round differently. Example: sqrt(1.0390625) is 0x1.04f3bep+0 correctly rounded,
torch gives 0x1.04f3bcp+0 (the exact root is above the midpoint: 0x1.04f3bd^2 < 1.0390625).
Exit status: 1 while torch's float32 sqrt differs from the correctly rounded value on the 65536 floats after 1.0,
0 once it is correctly rounded on all of them.
"""
import sys

import numpy as np
import torch

x = (np.arange(65536, dtype=np.uint32) + np.uint32(0x3F800000)).view(np.float32)
exact = np.sqrt(x.astype(np.float64)).astype(np.float32)
got = torch.sqrt(torch.from_numpy(x)).numpy()
bad = np.nonzero(got.view(np.uint32) != exact.view(np.uint32))[0]
numpy_bad = int((np.sqrt(x).view(np.uint32) != exact.view(np.uint32)).sum())
print(f"float32 inputs 1.0 .. {float(x[-1]).hex()} ({x.size} values): torch.sqrt differs from the correctly rounded "
      f"value on {bad.size}, np.sqrt (float32) on {numpy_bad}")
one = np.float32(1.0390625)
t = torch.sqrt(torch.tensor(one)).item()
print(f"sqrt({float(one)}): correctly rounded {float(np.float32(np.sqrt(np.float64(one)))).hex()}, "
      f"torch 0-d {float(t).hex()}")
if bad.size:
    i = bad[0]
    print(f"first: x = {float(x[i]).hex()}: correctly rounded {float(exact[i]).hex()}, torch {float(got[i]).hex()}")
print(f"DIVERGES (torch.sqrt float32 off by 1 ulp on {bad.size} of {x.size})" if bad.size else "agrees")
sys.exit(1 if bad.size else 0)
