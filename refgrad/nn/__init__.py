"""refgrad.nn: the functional API (``refgrad.nn.functional``)."""
from refgrad.nn import functional  # noqa: F401
