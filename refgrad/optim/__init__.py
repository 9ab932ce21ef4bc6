"""refgrad.optim: Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad and ``lr_scheduler``, as torch.optim."""
from refgrad.optim import lr_scheduler  # noqa: F401
from refgrad.optim.algorithms import SGD, Adagrad, Adam, AdamW, RMSprop  # noqa: F401
from refgrad.optim.optimizer import Optimizer  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
