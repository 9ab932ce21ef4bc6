"""FFT results laid out as torch's: the transformed dimensions innermost (a complex-to-complex transform keeps
them in the input's memory order; a real one puts the halved last dimension first, then the other transformed
ones from the last to the first), then the others in the input's memory order. refgrad's NumPy results were
C-contiguous, so ``fft(x, dim=0).view(-1)`` worked where torch's raises."""
import itertools

import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

ONE_DIM = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
MULTI_DIM = ["fft2", "ifft2", "rfft2", "irfft2", "fftn", "rfftn", "irfftn", "hfft2", "ihfft2"]
COMPLEX_INPUT = {"fft", "ifft", "irfft", "hfft", "fft2", "ifft2", "irfft2", "fftn", "irfftn", "hfft2"}
VALUES = np.random.default_rng(0).standard_normal((3, 4, 5))


def _observed(module, name, order, kwargs):
    values = VALUES + 1j if name in COMPLEX_INPUT else VALUES
    x = module.tensor(np.ascontiguousarray(values.transpose(order))).permute(*np.argsort(order).tolist())
    out = getattr(module.fft, name)(x, **kwargs)
    try:
        out.view(-1)
        viewable = True
    except RuntimeError:
        viewable = False
    return tuple(out.stride()), viewable


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 0, 2)], ids=["C", "F", "permuted"])
@pytest.mark.parametrize("name", ONE_DIM + MULTI_DIM)
def test_fft_results_are_laid_out_as_torchs(name, order):
    dim_choices = [{"dim": d} for d in range(3)] if name in ONE_DIM else \
        [{"dim": dims} for dims in itertools.permutations(range(3), 2)]
    for kwargs in dim_choices:
        assert _observed(refgrad, name, order, kwargs) == _observed(torch, name, order, kwargs), kwargs
