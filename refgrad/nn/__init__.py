"""refgrad.nn: the functional API (``refgrad.nn.functional``), ``init``, ``Parameter`` and the module layer
(``Module``, containers, layers, losses), as torch.nn."""
from refgrad.nn import functional, init, utils  # noqa: F401
from refgrad.nn.modules import *  # noqa: F403
from refgrad.nn.modules import Module, MultiheadAttention  # noqa: F401
from refgrad.nn.parameter import Buffer, Parameter  # noqa: F401
