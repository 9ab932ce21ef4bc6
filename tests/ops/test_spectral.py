"""spectral.py (torch.stft, torch.istft): VJPs to first and second order against central differences on real and
imaginary parts (into the signal and the window), and istft inverting stft. No torch import."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import refgrad as rg
from tests.ops.numerical import check_vjp

rng = np.random.default_rng(15)
SIGNAL = rng.standard_normal(11)
BATCH = rng.standard_normal((2, 9))
CSIGNAL = rng.standard_normal(9) + 1j * rng.standard_normal(9)
WINDOW = rng.random(4) + 0.5
SHORT = rng.random(3) + 0.5
SPECTRUM = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))

CASES = {
    "stft": (lambda x, w: rg.stft(x, 4, hop_length=1, window=w, return_complex=True), (SIGNAL, WINDOW)),
    "stft.batch_short_window": (lambda x, w: rg.stft(x, 4, hop_length=2, window=w, win_length=3, normalized=True,
                                                     return_complex=True, pad_mode="constant"), (BATCH, SHORT)),
    "stft.two_sided_no_center": (lambda x, w: rg.stft(x, 4, window=w, center=False, onesided=False,
                                                      return_complex=True), (SIGNAL, WINDOW)),
    "stft.complex": (lambda x, w: rg.stft(x, 4, hop_length=1, window=w, return_complex=True), (CSIGNAL, WINDOW)),
    "istft": (lambda s, w: rg.istft(s, 4, hop_length=1, window=w), (SPECTRUM, WINDOW)),
    "istft.length": (lambda s, w: rg.istft(s, 4, hop_length=1, window=w, win_length=3, length=4, normalized=True),
                     (SPECTRUM, SHORT)),
    "istft.round_trip": (lambda x, w: rg.istft(rg.stft(x, 4, hop_length=1, window=w, return_complex=True), 4,
                                               hop_length=1, window=w, length=11), (SIGNAL, WINDOW)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", CASES)
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-5, atol=1e-5)


def test_stft_matches_the_windowed_dft_and_istft_inverts_it():
    x = rg.tensor(SIGNAL)
    spectrum = rg.stft(x, 4, hop_length=1, window=rg.tensor(WINDOW), center=False, return_complex=True).numpy()
    frames = np.stack([SIGNAL[i:i + 4] * WINDOW for i in range(8)])
    np.testing.assert_allclose(spectrum, np.fft.rfft(frames, axis=-1).T, atol=1e-12)
    back = rg.istft(rg.stft(x, 4, hop_length=1, window=rg.tensor(WINDOW), return_complex=True), 4, hop_length=1,
                    window=rg.tensor(WINDOW), length=11)
    np.testing.assert_allclose(back.numpy(), SIGNAL, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert rg.stft(x, 4, return_complex=False).shape == (3, 12, 2)
    with pytest.raises(RuntimeError, match="requires the return_complex parameter"):
        rg.stft(x, 4)
