"""torch.fft: the discrete Fourier transforms, built as torch builds them from three primitives.

* ``_fft_c2c``: complex to complex, forward or inverse (FftC2CBackward0);
* ``_fft_r2c``: real to complex, forward, optionally one-sided (FftR2CBackward0);
* ``_fft_c2r``: a one-sided Hermitian spectrum to a real signal, inverse (FftC2RBackward0).

Each is unnormalized and then scaled by ``n^-1`` or ``n^-1/2`` (``normalization`` 2 or 1) where n is the number of
points transformed. The VJPs are the adjoints: c2c's is the c2c of the other direction; r2c's is the real part of
an inverse c2c of the cotangent zero-padded to full length; c2r's is an r2c with every bin that stands for two
conjugate bins (all but the zero and Nyquist bins) doubled. The public functions resize their input with
``constant_pad_nd``/slices, convert with ``to`` and conjugate exactly where torch does, so the graphs carry
torch's node names.
"""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.ops._binary_common import type_name
from refgrad.ops._layout import fft_order, in_order, suggested_format
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import wrap_dim
from refgrad.tensor import Tensor

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2",
           "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn", "fftshift", "ifftshift", "fftfreq", "rfftfreq"]

_NS = "torch.fft"
_NONE, _BY_ROOT_N, _BY_N = 0, 1, 2


def _scale(array: np.ndarray, sizes, normalization: int) -> np.ndarray:
    if normalization == _NONE:
        return array
    count = float(np.prod(sizes, dtype=np.float64))
    return array * (1.0 / (np.sqrt(count) if normalization == _BY_ROOT_N else count))


def _c2c_forward(a, dim, normalization, forward):
    transform = np.fft.fftn if forward else np.fft.ifftn
    out = transform(a, axes=dim, norm="backward" if forward else "forward") if dim else a.copy()
    out = _scale(out, [a.shape[d] for d in dim], normalization).astype(a.dtype, copy=False)
    return in_order(out, fft_order(a, dim, real=False)) if a.ndim > 1 else out  # (torch's layout)


def _r2c_forward(a, dim, normalization, onesided):
    kind = np.complex64 if a.dtype == np.float32 else np.complex128
    out = np.fft.rfftn(a, axes=dim) if onesided else np.fft.fftn(a, axes=dim)
    out = _scale(out, [a.shape[d] for d in dim], normalization).astype(kind, copy=False)
    return in_order(out, fft_order(a, dim, real=True)) if a.ndim > 1 else out  # (torch's layout)


def _c2r_forward(a, dim, normalization, last_dim_size):
    kind = np.float32 if a.dtype == np.complex64 else np.float64
    sizes = [a.shape[d] for d in dim[:-1]] + [last_dim_size]
    out = np.fft.irfftn(a, s=sizes, axes=dim, norm="forward")
    out = _scale(out, sizes, normalization).astype(kind, copy=False)
    return in_order(out, fft_order(a, dim, real=True)) if a.ndim > 1 else out  # (torch's layout)


def _c2c_vjp(c, g):
    return _fft_c2c(g, dim=c.dim, normalization=c.normalization, forward=not c.forward)


def _r2c_vjp(c, g):
    full = c.self.shape[c.dim[-1]]
    if c.onesided and g.shape[c.dim[-1]] < full:  # the dropped half of the spectrum had no cotangent
        g = _pad_end(g, shape=tuple(full if d == c.dim[-1] else n for d, n in enumerate(g.shape)))
    from refgrad.ops.complex import real
    return real(_fft_c2c(g, dim=c.dim, normalization=c.normalization, forward=False))


def _c2r_vjp(c, g):
    spectrum = _fft_r2c(g, dim=c.dim, normalization=c.normalization, onesided=True)
    last = c.dim[-1]
    doubled = c.last_dim_size - spectrum.shape[last]  # bins 1..doubled stand for a bin and its conjugate
    if doubled > 0:
        weights = np.ones(spectrum.shape[last], dtype=g._data.dtype)
        weights[1:1 + doubled] = 2
        spectrum = spectrum * Tensor._make(weights.reshape((-1,) + (1,) * (g.ndim - 1 - last)))
    return spectrum


# zero padding at the end of each dim, up to ``shape`` (torch pads FFT inputs and cotangents with constant_pad_nd,
# into the input's suggested memory format: C-contiguous from a Fortran-ordered input, which np.pad kept)
_pad_end = Primitive("ConstantPadNdBackward0",
                     suggested_format(lambda a, shape: np.pad(a, [(0, s - n) for s, n in zip(shape, a.shape)])),
                     lambda c, g: g[tuple(slice(0, n) for n in c._input_meta[0][0])])
_fft_c2c = Primitive("FftC2CBackward0", _c2c_forward, _c2c_vjp, holomorphic=False)
_fft_r2c = Primitive("FftR2CBackward0", _r2c_forward, _r2c_vjp, save=("self",), holomorphic=False)  # as torch
_fft_c2r = Primitive("FftC2RBackward0", _c2r_forward, _c2r_vjp, holomorphic=False)


# --- argument handling (torch's SpectralOps) ----------------------------------------------------------------

def _normalization(norm: str | None, forward: bool) -> int:
    if norm is None or norm == "backward":
        return _NONE if forward else _BY_N
    if norm == "forward":
        return _BY_N if forward else _NONE
    if norm == "ortho":
        return _BY_ROOT_N
    raise RuntimeError(f"Invalid normalization mode: \"{norm}\"")


def _promote(input: Tensor, require_complex: bool = False) -> Tensor:
    """Integers go to the default float dtype; a complex transform of a real input converts it (ToCopy)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fft(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    dtype = input.dtype
    if dtype is dtypes.float16:
        raise RuntimeError("Unsupported dtype Half")
    if not (dtype.is_floating_point or dtype.is_complex):
        input = input.to(dtypes.get_default_dtype())
    if require_complex and not input.dtype.is_complex:
        input = input.to(input.dtype.to_complex())
    return input


def _check_points(n: int) -> None:
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _resize(input: Tensor, dims, shape) -> Tensor:
    """Trim (slices) or zero-pad (one constant_pad_nd) ``input`` to ``shape`` along ``dims``, as torch does."""
    target = list(input.shape)
    for d, n in zip(dims, shape):
        if input.shape[d] > n:
            input = input.narrow(d, 0, n)
        target[d] = n
    return _pad_end(input, shape=tuple(target)) if tuple(target) != tuple(input.shape) else input


def _dims_and_shape(input: Tensor, s, dim) -> tuple[list[int], list[int]]:
    """torch's canonicalize_fft_shape_and_dim_args: the transformed dims and their signal sizes."""
    ndim = input.ndim
    if dim is not None:
        dims = [wrap_dim(d, ndim) for d in ((dim,) if isinstance(dim, int) else dim)]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = list(s)
        if dim is not None and len(s) != len(dims):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if dim is None:
            if len(s) > ndim:
                raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {ndim} dimensions.")
            dims = list(range(ndim - len(s), ndim))
        shape = [input.shape[d] if n == -1 else int(n) for d, n in zip(dims, s)]
        for n in shape:
            _check_points(n)
    else:
        if dim is None:
            dims = list(range(ndim))
        shape = [input.shape[d] for d in dims]
    return dims, shape


def _one_dim(input: Tensor, n, dim: int) -> tuple[int, int]:
    if input.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    dim = wrap_dim(dim, input.ndim)
    return dim, n


# --- one-dimensional transforms -----------------------------------------------------------------------------

def _c2c_1d(input, n, dim, norm, forward):
    input = _promote(input, require_complex=True)
    dim, n = _one_dim(input, n, dim)
    n = input.shape[dim] if n is None else n
    _check_points(n)
    input = _resize(input, [dim], [n])
    return _fft_c2c(input, dim=(dim,), normalization=_normalization(norm, forward), forward=forward)


def _r2c_1d(name, input, n, dim, norm, forward, onesided):
    if isinstance(input, Tensor) and input.dtype.is_complex:
        raise RuntimeError(f"{name} expects a real input tensor, but got {type_name(input.dtype)}")
    input = _promote(input)
    dim, n = _one_dim(input, n, dim)
    n = input.shape[dim] if n is None else n
    _check_points(n)
    input = _resize(input, [dim], [n])
    out = _fft_r2c(input, dim=(dim,), normalization=_normalization(norm, forward), onesided=onesided)
    return out.conj() if not forward else out


def _c2r_1d(input, n, dim, norm, forward):
    input = _promote(input, require_complex=True)
    dim, _ = _one_dim(input, n, dim)
    last = 2 * (input.shape[dim] - 1) if n is None else n
    _check_points(last)
    if n is not None:
        input = _resize(input, [dim], [last // 2 + 1])
    if forward:
        input = input.conj()
    return _fft_c2r(input, dim=(dim,), normalization=_normalization(norm, forward), last_dim_size=last)


@register(namespace=_NS)
def fft(input, n=None, dim: int = -1, norm=None, *, out=None):
    """The 1-D discrete Fourier transform (torch.fft.fft); real inputs go through a two-sided r2c."""
    if isinstance(input, Tensor) and input.dtype.is_complex:
        return _c2c_1d(input, n, dim, norm, True)
    return _r2c_1d("fft", input, n, dim, norm, True, False)


@register(namespace=_NS)
def ifft(input, n=None, dim: int = -1, norm=None, *, out=None):
    """The 1-D inverse DFT (torch.fft.ifft); a real input gives the conjugate of a two-sided r2c (conj bit)."""
    if isinstance(input, Tensor) and input.dtype.is_complex:
        return _c2c_1d(input, n, dim, norm, False)
    return _r2c_1d("ifft", input, n, dim, norm, False, False)


@register(namespace=_NS)
def rfft(input, n=None, dim: int = -1, norm=None, *, out=None):
    """The DFT of a real signal, non-negative frequencies only (torch.fft.rfft)."""
    return _r2c_1d("rfft", input, n, dim, norm, True, True)


@register(namespace=_NS)
def irfft(input, n=None, dim: int = -1, norm=None, *, out=None):
    """The inverse of rfft: a real signal of length n (default 2*(m-1)) (torch.fft.irfft)."""
    return _c2r_1d(input, n, dim, norm, False)


@register(namespace=_NS)
def hfft(input, n=None, dim: int = -1, norm=None, *, out=None):
    """The DFT of a Hermitian-symmetric signal given by its first half: a real spectrum (torch.fft.hfft)."""
    return _c2r_1d(input, n, dim, norm, True)


@register(namespace=_NS)
def ihfft(input, n=None, dim: int = -1, norm=None, *, out=None):
    """The inverse of hfft: the conjugate of rfft scaled as an inverse (torch.fft.ihfft; conj bit set)."""
    return _r2c_1d("ihfft", input, n, dim, norm, False, True)


# --- n-dimensional transforms -------------------------------------------------------------------------------

def _c2c_nd(input, s, dim, norm, forward):
    input = _promote(input, require_complex=True)
    dims, shape = _dims_and_shape(input, s, dim)
    input = _resize(input, dims, shape)
    return _fft_c2c(input, dim=tuple(dims), normalization=_normalization(norm, forward), forward=forward)


def _rfftn(name, input, s, dim, norm):
    if isinstance(input, Tensor) and input.dtype.is_complex:
        raise RuntimeError(f"rfftn expects a real-valued input tensor, but got {type_name(input.dtype)}")
    input = _promote(input)
    dims, shape = _dims_and_shape(input, s, dim)
    if not dims:
        raise RuntimeError("rfftn must transform at least one axis")
    input = _resize(input, dims, shape)
    return _fft_r2c(input, dim=tuple(dims), normalization=_normalization(norm, True), onesided=True)


def _c2r_nd(name, input, s, dim, norm, forward):
    input = _promote(input, require_complex=True)
    dims, shape = _dims_and_shape(input, s, dim)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    last = 2 * (input.shape[dims[-1]] - 1) if s is None or list(s)[-1] == -1 else shape[-1]
    _check_points(last)
    shape[-1] = last // 2 + 1
    input = _resize(input, dims, shape)
    normalization = _normalization(norm, forward)
    if forward:  # hfftn: c2c over all but the last dim, conjugate, c2r over the last
        if len(dims) > 1:
            input = _fft_c2c(input, dim=tuple(dims[:-1]), normalization=normalization, forward=True)
        return _fft_c2r(input.conj(), dim=(dims[-1],), normalization=normalization, last_dim_size=last)
    return _fft_c2r(input, dim=tuple(dims), normalization=normalization, last_dim_size=last)


def _ihfftn(input, s, dim, norm):
    dims, shape = _dims_and_shape(input, s, dim)
    if input.dtype.is_complex:
        raise RuntimeError(f"Only supports floating-point dtypes, but found: {type_name(input.dtype)}")
    input = _promote(input)
    if not dims:
        raise RuntimeError("ihfftn must transform at least one axis")
    input = _resize(input, dims, shape)
    normalization = _normalization(norm, False)
    half = _fft_r2c(input, dim=(dims[-1],), normalization=normalization, onesided=True)
    if len(dims) == 1:
        return half.conj()
    from refgrad.ops.complex import conj_physical
    return _fft_c2c(conj_physical(half), dim=tuple(dims[:-1]), normalization=normalization, forward=False)


@register(namespace=_NS)
def fftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-D DFT over ``dim`` (all dims by default; the last len(s) with ``s``) (torch.fft.fftn)."""
    return _c2c_nd(input, s, dim, norm, True)


@register(namespace=_NS)
def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-D inverse DFT (torch.fft.ifftn)."""
    return _c2c_nd(input, s, dim, norm, False)


@register(namespace=_NS)
def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-D DFT of a real signal, one-sided in the last dim (torch.fft.rfftn)."""
    return _rfftn("rfftn", input, s, dim, norm)


@register(namespace=_NS)
def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The inverse of rfftn (torch.fft.irfftn)."""
    return _c2r_nd("irfftn", input, s, dim, norm, False)


@register(namespace=_NS)
def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-D DFT of a Hermitian-symmetric signal given by its half (torch.fft.hfftn)."""
    return _c2r_nd("hfftn", input, s, dim, norm, True)


@register(namespace=_NS)
def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The inverse of hfftn (torch.fft.ihfftn)."""
    return _ihfftn(input, s, dim, norm)


@register(namespace=_NS)
def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """fftn over the last two dims (torch.fft.fft2)."""
    return _c2c_nd(input, s, dim, norm, True)


@register(namespace=_NS)
def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """ifftn over the last two dims (torch.fft.ifft2)."""
    return _c2c_nd(input, s, dim, norm, False)


@register(namespace=_NS)
def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """rfftn over the last two dims (torch.fft.rfft2)."""
    return _rfftn("rfft2", input, s, dim, norm)


@register(namespace=_NS)
def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """irfftn over the last two dims (torch.fft.irfft2)."""
    return _c2r_nd("irfftn", input, s, dim, norm, False)


@register(namespace=_NS)
def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """hfftn over the last two dims (torch.fft.hfft2)."""
    return _c2r_nd("hfftn", input, s, dim, norm, True)


@register(namespace=_NS)
def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """ihfftn over the last two dims (torch.fft.ihfft2)."""
    return _ihfftn(input, s, dim, norm)


# --- shifts and frequencies ---------------------------------------------------------------------------------

def _shift(input, dim, inverse: bool):
    from refgrad.ops.shape import roll
    dims = list(range(input.ndim)) if dim is None else [wrap_dim(d, input.ndim) for d in
                                                        ((dim,) if isinstance(dim, int) else dim)]
    shifts = [(input.shape[d] + 1) // 2 if inverse else input.shape[d] // 2 for d in dims]
    return roll(input, shifts, dims)


@register(namespace=_NS)
def fftshift(input, dim=None):
    """Move the zero frequency to the centre: a roll by n//2 along ``dim`` (all dims by default)."""
    return _shift(input, dim, False)


@register(namespace=_NS)
def ifftshift(input, dim=None):
    """The inverse of fftshift: a roll by (n+1)//2."""
    return _shift(input, dim, True)


def _frequencies(values: np.ndarray, n: int, d: float, dtype, requires_grad: bool) -> Tensor:
    from refgrad.factories import tensor
    dtype = dtype or dtypes.get_default_dtype()
    store = dtype.numpy
    result = values.astype(store) * store.type(1.0 / (n * d))  # torch scales in the result's precision
    return tensor(result, dtype=dtype, requires_grad=requires_grad)


@register(namespace=_NS)
def fftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies of an n-point fft: [0, 1, ..., -(n//2), ..., -1] / (d n) (torch.fft.fftfreq)."""
    values = np.arange(n, dtype=np.int64)
    values[(n + 1) // 2:] -= n
    return _frequencies(values, n, d, dtype, requires_grad)


@register(namespace=_NS)
def rfftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """The sample frequencies of an n-point rfft: [0, 1, ..., n//2] / (d n) (torch.fft.rfftfreq)."""
    return _frequencies(np.arange(n // 2 + 1, dtype=np.int64), n, d, dtype, requires_grad)
