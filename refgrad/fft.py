"""torch.fft, filled from the op registry (the transforms live in refgrad/ops/fft.py)."""
from refgrad._namespace import populate

__all__ = populate(globals(), "torch.fft")
