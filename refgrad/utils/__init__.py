"""torch.utils for refgrad: ``data`` (datasets, samplers and the DataLoader)."""
from refgrad.utils import data

__all__ = ["data"]
