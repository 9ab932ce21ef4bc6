"""torch.fft: every transform's VJP against central differences on real and imaginary parts (orders 1 and 2),
and against torch: values, gradients, the grad_fn chain, dtypes, conj bits and errors, over n/s, dim and norm."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_vjp

torch = pytest.importorskip("torch")

ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_D = ["fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2", "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn"]
REAL_ONLY = {"rfft", "ihfft", "rfft2", "ihfft2", "rfftn", "ihfftn"}
ONE_D_OPTIONS = [{}, {"norm": "ortho"}, {"norm": "forward"}, {"n": 9}, {"n": 3}, {"dim": 0}, {"n": 4, "dim": 0}]
N_D_OPTIONS = [{}, {"norm": "ortho"}, {"norm": "forward"}, {"s": (3, 8)}, {"s": (5, -1), "dim": (1, 0)},
               {"dim": (0,)}, {"s": (7,)}]

rng = np.random.default_rng(11)
REAL = rng.standard_normal((4, 6))
COMPLEX = rng.standard_normal((4, 6)) + 1j * rng.standard_normal((4, 6))


def _cases():
    for name in ONE_D + N_D:
        for options in ONE_D_OPTIONS if name in ONE_D else N_D_OPTIONS:
            if name.endswith("2") and len(options.get("dim", (0, 1))) != 2:
                continue
            for kind in ("real", "complex"):
                yield pytest.param(name, options, kind, id=f"{name}-{kind}-{options}")


def _valid(name, options, kind) -> bool:
    if kind == "complex" and name in REAL_ONLY:
        return False
    return not (name.endswith("2") and options.get("s") == (7,))


@pytest.mark.parametrize("name, options, kind", list(_cases()))
def test_matches_torch(name, options, kind):
    array = REAL if kind == "real" else COMPLEX
    outcomes = []
    for m in (refgrad, torch):
        x = m.tensor(array, dtype=m.complex128 if kind == "complex" else m.float64, requires_grad=True)
        try:
            y = getattr(m.fft, name)(x, **options)
        except Exception as error:  # noqa: BLE001 - the error itself is compared
            outcomes.append((type(error).__name__, str(error)))
            continue
        chain, node = [], y.grad_fn
        while node is not None and type(node).__name__ != "AccumulateGrad":
            chain.append(type(node).__name__)
            node = next((f for f, _ in node.next_functions if f is not None), None)
        cotangent = np.random.default_rng(1).standard_normal(tuple(y.shape)) * (1 + 0.5j if y.is_complex() else 1)
        grad, = m.autograd.grad(y, x, m.tensor(cotangent, dtype=y.dtype))
        outcomes.append((chain, str(y.dtype), y.is_conj(), y.detach().resolve_conj().numpy(),
                         grad.resolve_conj().numpy()))
    ours, theirs = outcomes
    assert ours[:3] == theirs[:3]
    if len(ours) == 5:
        np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(ours[4], theirs[4], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name, options, kind", [p for p in _cases() if _valid(*p.values)
                                                 and (p.values[1] in ({}, {"norm": "ortho"}, {"n": 3}, {"s": (3, 8)}))])
def test_vjp_matches_central_differences(name, options, kind, order):
    array = (REAL if kind == "real" else COMPLEX)[:3, :5]  # odd and even lengths
    check_vjp(lambda x: getattr(refgrad.fft, name)(x, **options), array, order=order)


@pytest.mark.parametrize("n", [1, 2, 5, 6])
def test_c2r_half_spectrum_adjoint(n):
    """irfft/hfft read only the real part of the zero (and Nyquist) bins: their imaginary parts get no gradient."""
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    for name in ("irfft", "hfft"):
        check_vjp(lambda x, name=name: getattr(refgrad.fft, name)(x, n=n), spectrum, order=2)


@pytest.mark.parametrize("call", [
    lambda m: m.fft.fftshift(m.arange(6).reshape(2, 3)), lambda m: m.fft.ifftshift(m.arange(5)),
    lambda m: m.fft.fftshift(m.arange(12.0, requires_grad=True).reshape(3, 4), dim=1),
    lambda m: m.fft.fftfreq(7, 0.3), lambda m: m.fft.rfftfreq(11, 1.7), lambda m: m.fft.fftfreq(5, dtype=m.float64),
    lambda m: m.fft.rfftfreq(4, requires_grad=True), lambda m: m.fft.fft(m.arange(4)),
])
def test_helpers_match_torch(call):
    assert repr(call(refgrad)) == repr(call(torch))
    assert call(refgrad).numpy(force=True).tobytes() == call(torch).detach().numpy().tobytes()


@pytest.mark.parametrize("call", [
    lambda m: m.fft.fft(m.tensor(1.0)), lambda m: m.fft.fft(m.ones(3, dtype=m.half)),
    lambda m: m.fft.irfft(m.ones(1, dtype=m.cfloat)), lambda m: m.fft.fft(m.ones(3), norm="bad"),
    lambda m: m.fft.fft(m.ones(3), n=0), lambda m: m.fft.fftn(m.ones(3, 3), dim=(0, 0)),
    lambda m: m.fft.fftn(m.ones(3, 3), s=(2, 2, 2)), lambda m: m.fft.rfftn(m.ones(4), dim=()),
])
def test_errors_match_torch(call):
    outcomes = []
    for m in (refgrad, torch):
        with pytest.raises(Exception) as info:
            call(m)
        outcomes.append((type(info.value).__name__, str(info.value)))
    assert outcomes[0] == outcomes[1]
