"""The short-time Fourier transform and its inverse: torch.stft and torch.istft.

Both are compositions of refgrad ops, recorded as torch records them: stft pads the signal (``center``), cuts it
into overlapping frames (hop ``hop_length``), multiplies by the window (zero-padded to ``n_fft`` in the middle),
takes FftR2C/FftC2C along the frame, then transposes in place (TransposeBackward1) and squeezes a 1-D signal's
batch dim in place (SqueezeBackward4); istft inverts each frame (FftC2R/FftC2C), multiplies by the window,
overlap-adds the frames (the adjoint of unfold) and divides by the overlap-added squared window, then trims the
``center`` padding or to ``length``. Their VJPs are those of the ops, so complex cotangents follow torch's
convention.
"""
from __future__ import annotations

import warnings

import numpy as np

from refgrad.ops._registry import register
from refgrad.ops.complex import view_as_real
from refgrad.ops.fft import _fft_c2c, _fft_c2r, _fft_r2c
from refgrad.ops.pooling import pad as functional_pad
from refgrad.ops.shape_extra import _unfold_backward
from refgrad.ops.statistics import _reshaped, _transpose_inplace
from refgrad.tensor import Tensor

__all__ = ["stft", "istft"]

_NONE, _BY_ROOT_N, _BY_N = 0, 1, 2
_TYPE = {"float32": "Float", "float64": "Double", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _describe(t: Tensor) -> str:
    return f"torch.{_TYPE.get(str(t.dtype).removeprefix('torch.'), 'Float')}Tensor"


def _padded_window(window: Tensor | None, win_length: int, n_fft: int, like: Tensor) -> Tensor | None:
    """The window centred in n_fft samples (torch pads it with zeros on both sides)."""
    if window is None:
        if win_length == n_fft:
            return None
        window = Tensor._make(np.ones(win_length, dtype=np.finfo(like.dtype.numpy).dtype))
    if win_length == n_fft:
        return window
    left = (n_fft - win_length) // 2
    zeros_left = Tensor._make(np.zeros(left, dtype=window.dtype.numpy))
    zeros_right = Tensor._make(np.zeros(n_fft - win_length - left, dtype=window.dtype.numpy))
    from refgrad.ops.join import cat
    return cat([zeros_left, window, zeros_right])


@register(method=True)
def stft(input, n_fft: int, hop_length=None, win_length=None, window=None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided=None, return_complex=None, align_to_window=None):
    """Short-time Fourier transform: (n_freq, n_frames) per signal (torch.stft)."""
    complex_input = input.dtype.is_complex or (window is not None and window.dtype.is_complex)
    if return_complex is None and not complex_input:
        raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will further "
                           "require that return_complex=True in a future PyTorch release.")
    if return_complex is False:
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will return "
                      "complex tensors for all inputs, and return_complex=False will raise an error.\nNote: you can "
                      "still call torch.view_as_real on the complex output to recover the old return format.",
                      UserWarning, stacklevel=2)
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied,which is known to cause "
                      "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
                      "recommended to reduce spectral leakage.To suppress this warning and use a rectangular window, "
                      "explicitly set `window=torch.ones(n_fft, device=<device>)`.", UserWarning, stacklevel=2)
    signal = input
    if center and input.ndim in (1, 2):
        half = n_fft // 2
        extended = signal.view([1] * (3 - signal.ndim) + list(signal.shape))
        padded = functional_pad(extended, [half, half], pad_mode)
        signal = padded.view(list(padded.shape[-input.ndim:]))
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length

    def fail(message):
        window_text = "None" if window is None else f"{_describe(window)}{{[{', '.join(map(str, window.shape))}]}}"
        raise RuntimeError(f"stft({_describe(signal)}[{', '.join(map(str, signal.shape))}], n_fft={n_fft}, "
                           f"hop_length={hop}, win_length={win}, window={window_text}, normalized={int(normalized)}, "
                           f"onesided={'None' if onesided is None else int(onesided)}, return_complex="
                           f"{int(bool(return_complex) or complex_input and return_complex is None)}, "
                           f"align_to_window=None){message}")

    if signal.ndim not in (1, 2):
        fail(" : expected a 1D or 2D tensor")
    frames_input = signal.unsqueeze(0) if signal.ndim == 1 else signal
    length = frames_input.shape[-1]
    if n_fft <= 0 or n_fft > length:
        fail(f" : expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop <= 0:
        fail(f" : expected hop_length > 0, but got hop_length={hop}")
    if win <= 0 or win > n_fft:
        fail(f" : expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        fail(f" : expected a 1D window tensor of size equal to win_length={win}, but got window with size "
             f"[{', '.join(map(str, window.shape))}]")
    if onesided and complex_input:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    frames = frames_input.unfold(-1, n_fft, hop)  # (batch, n_frames, n_fft)
    padded_window = _padded_window(window, win, n_fft, frames)
    if padded_window is not None:
        frames = frames * padded_window
    normalization = _BY_ROOT_N if normalized else _NONE
    if frames.dtype.is_complex:
        spectrum = _fft_c2c(frames, dim=(2,), normalization=normalization, forward=True)
    else:
        spectrum = _fft_r2c(frames, dim=(2,), normalization=normalization,
                            onesided=True if onesided is None else bool(onesided))
    spectrum = _transpose_inplace(spectrum, dim0=1, dim1=2)
    if signal.ndim == 1:
        spectrum = _reshaped["SqueezeBackward4"](spectrum, shape=tuple(spectrum.shape[1:]))
    return spectrum if return_complex or (return_complex is None and complex_input) else view_as_real(spectrum)


@register(method=True)
def istft(input, n_fft: int, hop_length=None, win_length=None, window=None, center: bool = True,
          normalized: bool = False, onesided=None, length=None, return_complex: bool = False):
    """The inverse of stft by weighted overlap-add (torch.istft)."""
    if not input.dtype.is_complex:
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length

    def fail(message):
        window_text = "None" if window is None else f"{_describe(window)}{{[{', '.join(map(str, window.shape))}]}}"
        kind = {"complex64": "CPUComplexFloatType", "complex128": "CPUComplexDoubleType"}[
            str(input.dtype).removeprefix("torch.")]
        raise RuntimeError(f"istft({kind}[{', '.join(map(str, input.shape))}], n_fft={n_fft}, hop_length={hop}, "
                           f"win_length={win}, window={window_text}, center={int(center)}, normalized="
                           f"{int(normalized)}, onesided={'None' if onesided is None else int(onesided)}, length="
                           f"{'None' if length is None else length}, return_complex={int(return_complex)})"
                           f"{message}")

    if input.ndim not in (2, 3):
        fail(f" : expected a tensor with a 3rd dimension of size 2, or a 2D/3D complex tensor, but got {input.ndim}")
    spectrum = input.unsqueeze(0) if input.ndim == 2 else input
    batch, n_freq, n_frames = spectrum.shape
    one_sided = (n_freq != n_fft) if onesided is None else bool(onesided)
    if one_sided and n_freq != n_fft // 2 + 1:
        fail(f" : expected the frequency dimension (3rd to the last) of the input tensor to match n_fft / 2 + 1 when "
             f"onesided=True, but got {n_freq}")
    if not one_sided and n_freq != n_fft:
        fail(f" : expected the frequency dimension (3rd to the last) of the input tensor to match n_fft when "
             f"onesided=False, but got {n_freq}")
    if hop <= 0 or hop > win:
        fail(" : expected 0 < hop_length <= win_length")
    if win <= 0 or win > n_fft:
        fail(" : expected 0 < win_length <= n_fft")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        fail(" : Invalid window shape. window has to be 1D and length of `win_length`")
    if return_complex and one_sided:
        fail(" : cannot have onesided output if window or input is complex")
    real_dtype = np.float32 if input.dtype.numpy == np.complex64 else np.float64
    full_window = _padded_window(window, win, n_fft, input)
    if full_window is None:
        full_window = Tensor._make(np.ones(n_fft, dtype=real_dtype))
    frames = spectrum.transpose(1, 2)  # (batch, n_frames, n_freq)
    normalization = _BY_ROOT_N if normalized else _BY_N
    if return_complex:
        frames = _fft_c2c(frames, dim=(2,), normalization=normalization, forward=False)
    else:
        if not one_sided:
            frames = frames.narrow(-1, 0, n_fft // 2 + 1)
        frames = _fft_c2r(frames, dim=(2,), normalization=normalization, last_dim_size=n_fft)
    frames = frames * full_window.view(1, 1, n_fft)
    expected = n_fft + hop * (n_frames - 1)
    signal = _unfold_backward(frames, input_sizes=(batch, expected), dimension=1, size=n_fft, step=hop)
    squared = (full_window ** 2).expand(1, n_frames, n_fft)
    envelope = _unfold_backward(squared, input_sizes=(1, expected), dimension=1, size=n_fft, step=hop)
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else (expected - n_fft // 2 if center else expected)
    stop = min(end, expected)
    signal = signal[:, start:stop]
    envelope = envelope[:, start:stop]
    if envelope.numel() == 0:  # torch takes the envelope's minimum without a dim
        raise RuntimeError("min(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument.")
    if float(np.abs(envelope._data).min()) < 1e-11:
        fail(" window overlap add min: 1\n[ CPUBoolType{} ]")
    signal = signal / envelope
    if input.ndim == 2:
        signal = signal.squeeze(0)
    if end > expected:
        signal = functional_pad(signal, [0, end - expected])
    return signal
