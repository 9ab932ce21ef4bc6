"""refgrad: a reference autograd engine on NumPy with torch's Python API.

``import refgrad as torch`` runs torch.autograd tutorials and prints what torch prints. Every op lives in one
family module under ``refgrad/ops``; this module only re-exports.
"""
from __future__ import annotations

from refgrad import (  # noqa: E402
    autograd,  # noqa: E402
    fft,
    func,
    linalg,
    masked,
    nn,
    optim,
    special,
    utils,
)
from refgrad import dtypes as _dtypes
from refgrad import ops as _ops  # noqa: E402
from refgrad.autograd.grad_mode import (  # noqa: E402
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from refgrad.dtypes import (  # noqa: A004
    bool,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_complex_dtype,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    result_type,
    set_default_dtype,
    short,
    uint8,
)
from refgrad.factories import (  # noqa: E402
    Generator,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    scalar_tensor,
    seed,
    tensor,
    zeros,
    zeros_like,
)
from refgrad.printing import get_printoptions, set_printoptions  # noqa: E402
from refgrad.serialization import load, save  # noqa: E402
from refgrad.tensor import Size, Tensor, device

__version__ = "0.1.0"

for _entry in _ops.OPS.values():
    if _entry.namespace == "torch":
        globals().setdefault(_entry.name, _entry.function)


class memory_format:
    """torch.memory_format; refgrad's arrays are always C-contiguous, so factories accept and ignore it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"


preserve_format, contiguous_format, channels_last = (memory_format(n) for n in (
    "preserve_format", "contiguous_format", "channels_last"))


def is_tensor(obj):
    """True if obj is a refgrad Tensor (torch.is_tensor)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor):
    return input.is_floating_point()


def is_complex(input: Tensor):
    """True for complex64/complex128 tensors (torch.is_complex)."""
    return input.is_complex()


def is_conj(input: Tensor):
    """True when the conj bit is set (torch.is_conj)."""
    return input.is_conj()


def is_neg(input: Tensor):
    """True when the neg bit is set (torch.is_neg)."""
    return input.is_neg()


def numel(input: Tensor):
    return input.numel()


del _entry
