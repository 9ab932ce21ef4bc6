"""torch.masked, filled from the op registry (the ops live in refgrad/ops/masked.py)."""
from refgrad._namespace import populate

__all__ = populate(globals(), "torch.masked")
