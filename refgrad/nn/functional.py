"""torch.nn.functional, filled from the op registry (the ops live in refgrad/ops)."""
from refgrad._namespace import populate

__all__ = populate(globals(), "torch.nn.functional")
