"""torch.return_types: the named tuples of ops that return values and indices (max, sort, topk...)."""
from refgrad.ops.extrema import return_type

__all__ = ["return_type"]
