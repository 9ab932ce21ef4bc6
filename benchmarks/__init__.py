"""Benchmarks: engine speed (``engines``), per-op overhead (``profile_ops``), harness throughput (``harness``).

Plain scripts, run with ``python -m benchmarks.<name>``; results go to ``benchmarks/results/``. Nothing here is a
timed test: ``tests/benchmarks/`` only checks that the code paths run.
"""
import os

# One BLAS thread (set before NumPy loads BLAS, which importing this package precedes): ratios compare engines,
# not thread pools. torch is set to one thread where it is imported.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
