"""Specs for refgrad/ops/spectral.py (torch.stft, torch.istft). n_fft is 4 (or 5, odd); the window is a
differentiable positive tensor (so istft's overlap-added squared window never vanishes), of length n_fft or
shorter (torch centres it); hops 1 to n_fft; signals long enough for reflect padding. istft runs on arbitrary
complex spectra and on the round trip of stft."""
from hypothesis import strategies as st

from conformance.specs._spec import FLOAT, Domain, OpSpec, tensor
from conformance.strategies import COMPLEX

VALUES = Domain(-10.0, 10.0, nonfinite=())
WINDOW = Domain(0.5, 2.0, nonfinite=())
_TOL = {"float32": (1e-4, 1e-4), "complex64": (1e-4, 1e-4)}
_TOL_REASON = "single precision: pocketfft and torch's FFT round differently"


@st.composite
def _signal_and_window(draw, complex_spectrum=False):
    n_fft = draw(st.sampled_from([4, 5]), label="n_fft")
    win = draw(st.integers(2, n_fft), label="win_length")
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=1), label="batch"))
    if complex_spectrum:
        return (batch + (n_fft // 2 + 1, draw(st.integers(1, 3), label="frames")), (win,))
    return (batch + (draw(st.integers(n_fft, 10), label="length"),), (win,))


_STFT_KWARGS = {"hop_length": st.integers(1, 4), "center": st.booleans(), "normalized": st.booleans(),
                "onesided": st.booleans(), "pad_mode": st.sampled_from(["reflect", "constant", "replicate"])}


def _stft(t, x, w, **kw):
    n_fft = max(4, w.shape[0])
    return t.stft(x, n_fft, window=w, win_length=w.shape[0], return_complex=True, **kw)


def _stft_real(t, x, w, **kw):  # return_complex=False: the deprecated real view
    n_fft = max(4, w.shape[0])
    return t.stft(x, n_fft, window=w, win_length=w.shape[0], return_complex=False, **kw)


def _istft(t, s, w, **kw):
    # a real window of the spectrum's precision (a float64 window would compare float32 FFT rounding at float64
    # tolerance)
    w = (w.real if w.is_complex() else w).to(t.float32 if s.dtype == t.complex64 else t.float64)
    n_fft = 2 * (s.shape[-2] - 1) + (1 if w.shape[0] == 5 else 0)
    return t.istft(s, n_fft, window=w, win_length=w.shape[0], **kw)


def _round_trip(t, x, w, **kw):
    n_fft = max(4, w.shape[0])
    spectrum = t.stft(x, n_fft, hop_length=kw["hop_length"], window=w, win_length=w.shape[0], return_complex=True)
    return t.istft(spectrum, n_fft, hop_length=kw["hop_length"], window=w, win_length=w.shape[0],
                   length=x.shape[-1])


_HOP = {"hop_length": st.integers(1, 2)}
SPECS = [
    OpSpec("stft", _stft, args=(tensor(VALUES), tensor(WINDOW)), shapes=_signal_and_window(),
           kwargs=_STFT_KWARGS, tol=_TOL, tol_reason=_TOL_REASON),
    OpSpec("stft.return_real", _stft_real, args=(tensor(VALUES), tensor(WINDOW)), shapes=_signal_and_window(),
           kwargs=_HOP, dtypes=("float64",)),
    OpSpec("stft.complex", _stft, args=(tensor(VALUES), tensor(WINDOW, dtypes=FLOAT)), shapes=_signal_and_window(),
           kwargs=_HOP, dtypes=("complex128",)),
    OpSpec("istft", _istft, args=(tensor(VALUES), tensor(WINDOW, dtypes=FLOAT)),
           shapes=_signal_and_window(complex_spectrum=True), kwargs=_HOP, dtypes=COMPLEX, tol=_TOL,
           tol_reason=_TOL_REASON),
    OpSpec("istft.round_trip", _round_trip, args=(tensor(VALUES), tensor(WINDOW)), shapes=_signal_and_window(),
           kwargs=_HOP, dtypes=("float64",)),
]
