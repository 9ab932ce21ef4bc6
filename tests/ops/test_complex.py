"""Complex autograd: every complex op and the holomorphic elementwise ops on complex inputs, checked against
central differences on real and imaginary parts (first and second order) and against torch's gradients, grad_fn
names and conj bits; dtype promotion and torch's errors for complex values."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_vjp

torch = pytest.importorskip("torch")

rng = np.random.default_rng(7)


def _c(*shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _r(*shape):
    return rng.standard_normal(shape)


# name -> (function of (module, *tensors), input arrays). Functions are written once against the torch API.
CASES = {
    "add": (lambda m, a, b: a + b * (2 - 1j), [_c(3), _c(3)]),
    "sub_real_complex": (lambda m, a, b: a - b, [_r(2, 3), _c(3)]),
    "mul": (lambda m, a, b: a * b, [_c(2, 3), _c(3)]),
    "mul_real": (lambda m, a, b: a * b, [_c(3), _r(3)]),
    "div": (lambda m, a, b: a / b, [_c(3), _c(3) + 2]),
    "neg": (lambda m, a: -a, [_c(3)]),
    "exp": (lambda m, a: a.exp(), [_c(3)]),
    "log": (lambda m, a: a.log(), [_c(3) + 3]),
    "sin": (lambda m, a: a.sin(), [_c(3)]),
    "cos": (lambda m, a: a.cos(), [_c(3)]),
    "tanh": (lambda m, a: a.tanh(), [_c(3) * 0.5]),
    "sigmoid": (lambda m, a: a.sigmoid(), [_c(3) * 0.5]),
    "sqrt": (lambda m, a: a.sqrt(), [_c(3) + 3]),
    "reciprocal": (lambda m, a: a.reciprocal(), [_c(3) + 2]),
    "pow_scalar": (lambda m, a: a ** 3, [_c(3)]),
    "pow_tensor": (lambda m, a, b: (a + 3) ** b, [_c(3), _c(3) * 0.3]),
    "sum_mean": (lambda m, a: (a.sum(0), a.mean(1)), [_c(2, 3)]),
    "matmul": (lambda m, a, b: a @ b, [_c(2, 3), _c(3, 4)]),
    "shape": (lambda m, a: a.reshape(3, 2).t()[1:].flip(1).unsqueeze(0).expand(2, 1, 3), [_c(2, 3)]),
    "abs": (lambda m, a: a.abs(), [_c(4)]),
    "sgn": (lambda m, a: m.sgn(a), [_c(4)]),
    "angle": (lambda m, a: m.angle(a), [_c(4)]),
    "real_imag": (lambda m, a: (a.real * 2, a.imag ** 2), [_c(4)]),
    "imag": (lambda m, a: m.imag(a) * m.real(a), [_c(2, 3)]),
    "conj": (lambda m, a: a.conj() * (1 + 2j), [_c(4)]),
    "conj_physical": (lambda m, a: m.conj_physical(a) * a, [_c(4)]),
    "resolve_conj": (lambda m, a: a.conj().resolve_conj() * a, [_c(4)]),
    "view_as_real": (lambda m, a: m.view_as_real(a) ** 2, [_c(2, 3)]),
    "view_as_complex": (lambda m, a: m.view_as_complex(a) ** 2, [_r(3, 2)]),
    "complex": (lambda m, a, b: m.complex(a, b) ** 2, [_r(3), _r(3)]),
    "polar": (lambda m, a, b: m.polar(a, b) * (1 - 1j), [np.abs(_r(3)) + 0.1, _r(3)]),  # torch: abs >= 0
    "to_complex": (lambda m, a: a.to(m.complex128) * (1 + 1j), [_r(3)]),
    "linalg_inv": (lambda m, a: m.linalg.inv(a), [_c(3, 3) + 3 * np.eye(3)]),
    "linalg_solve": (lambda m, a, b: m.linalg.solve(a, b), [_c(3, 3) + 3 * np.eye(3), _c(3, 2)]),
    "linalg_solve_left": (lambda m, a, b: m.linalg.solve(a, b, left=False), [_c(3, 3) + 3 * np.eye(3), _c(2, 3)]),
    "solve_triangular": (lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True),
                         [np.triu(_c(3, 3)) + 3 * np.eye(3), _c(3, 2)]),
    "vdot": (lambda m, a, b: m.vdot(a, b), [_c(3), _c(3)]),
    "mH": (lambda m, a: a.mH @ a, [_c(2, 3)]),
    "eigvals_real": (lambda m, a: m.linalg.eigvals(a), [_r(3, 3)]),
    "eigvals_complex": (lambda m, a: m.linalg.eigvals(a), [_c(3, 3)]),
    # eigenvectors enter through phase-invariant functions only (|V|², V diag(L) V^-1 = A)
    "eig": (lambda m, a: (m.linalg.eig(a).eigenvectors.abs() ** 2,
                          m.linalg.eig(a).eigenvalues * 2), [_c(3, 3)]),
    "eig_reconstruct": (lambda m, a: (lambda L, V: V @ m.diag_embed(L) @ m.linalg.inv(V))(*m.linalg.eig(a)),
                        [_r(3, 3)]),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(CASES))
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(lambda *t: fn(refgrad, *t), *arrays, order=order)


def _run(module, name):
    fn, arrays = CASES[name]
    dtype = {refgrad: refgrad, torch: torch}[module]
    inputs = [module.tensor(a, dtype=dtype.complex128 if np.iscomplexobj(a) else dtype.float64, requires_grad=True)
              for a in arrays]
    outs = fn(module, *inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    seed = np.random.default_rng(3)
    cotangents = [module.tensor(seed.standard_normal(tuple(o.shape)) + (1j * seed.standard_normal(tuple(o.shape))
                                                                        if o.is_complex() else 0))
                  for o in outs]
    cotangents = [c.to(o.dtype) for c, o in zip(cotangents, outs)]
    grads = tuple(module.autograd.grad(outs, inputs, cotangents))
    return ([type(o.grad_fn).__name__ for o in outs], [o.is_conj() for o in (*outs, *grads)],
            [o.detach().resolve_conj().numpy() for o in outs], [g.resolve_conj().numpy() for g in grads])


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    ours, theirs = _run(refgrad, name), _run(torch, name)
    assert ours[0] == theirs[0]
    if name != "linalg_solve_left":  # torch solves XA = B through conjugate transposes: its result has the conj
        assert ours[1] == theirs[1]  # bit set; refgrad's does not (values and gradients agree)
    for a, b in zip(ours[2] + ours[3], theirs[2] + theirs[3]):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_backward_of_complex_output_needs_a_gradient():
    x = refgrad.tensor([1 + 2j], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for real scalar outputs but got "
                                           "torch.complex64"):
        (x * 2).sum().backward()


@pytest.mark.parametrize("left, right", [("float64", "complex64"), ("int64", "complex64"), ("float32", "complex128"),
                                         ("complex64", "complex128"), ("bool", "complex64"), ("float16", "complex64")])
def test_promote_types(left, right):
    for a, b in ((left, right), (right, left)):
        assert repr(refgrad.promote_types(getattr(refgrad, a), getattr(refgrad, b))) == \
            repr(torch.promote_types(getattr(torch, a), getattr(torch, b)))


@pytest.mark.parametrize("make", [
    lambda m: m.tensor([1, 2]) * 1j, lambda m: m.tensor([1.0], dtype=m.float64) * 1j,
    lambda m: m.tensor([1.0]) * m.tensor(1j, dtype=m.complex128),
    lambda m: m.tensor([1j]) * m.tensor(2.0, dtype=m.float64),
    lambda m: m.tensor([1 + 1j]) + 1, lambda m: m.tensor([True]) + 1j, lambda m: m.tensor([1.5, 2j]),
])
def test_result_dtype_and_value(make):
    ours, theirs = make(refgrad), make(torch)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("call", [
    lambda m, x: x < x, lambda m, x: x >= 1, lambda m, x: x.max(), lambda m, x: x.min(dim=0), lambda m, x: m.sign(x),
    lambda m, x: x.imag.imag, lambda m, x: m.view_as_real(x.conj()), lambda m, x: m.view_as_complex(x.real),
    lambda m, x: m.complex(x.real, x.imag.double()), lambda m, x: m.complex(x.real.long(), x.imag.long()),
    lambda m, x: m.view_as_complex(m.ones(2, 2, dtype=m.int64)),
])
def test_errors_match_torch(call):
    outcomes = []
    for m in (refgrad, torch):
        with pytest.raises(Exception) as info:
            call(m, m.tensor([1 + 2j, 3 - 4j]))
        outcomes.append((type(info.value).__name__, str(info.value)))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("make", [
    lambda m: m.tensor(1.0), lambda m: m.zeros(2, 2).t(), lambda m: m.zeros(3, 4)[:, ::2],
    lambda m: m.zeros(3, 3)[:, 1:], lambda m: m.zeros(7)[1:].view(3, 2), lambda m: m.zeros(2, 0).t(),
    lambda m: m.zeros(0, 4)[:, ::2], lambda m: m.zeros(1, 3)[:, :2], lambda m: m.zeros(3, 1, 3)[:, :, :2],
    lambda m: m.arange(8.0).as_strided((2, 1, 2), (4, 3, 1)), lambda m: m.zeros(3, 0, 2).transpose(0, 1),
])
def test_view_as_complex_checks_strides_and_offset_as_torch(make):
    # torch 2.13's checks in order: one or more dims, a last dim of size 2 and stride 1 (an empty tensor's strides
    # too), even strides for the other dims of size other than 1 (a size-1 dim's odd stride is halved down), an even
    # storage offset; the result's strides are the halved ones
    outcomes = []
    for m in (refgrad, torch):
        try:
            out = m.view_as_complex(make(m))
            outcomes.append((tuple(out.shape), out.stride(), out.storage_offset(), out.numpy().tolist()))
        except RuntimeError as error:
            outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]


def test_conj_bit_and_views():
    for m in (refgrad, torch):
        x = m.tensor([[1 + 2j, 3 - 4j]], requires_grad=True)
        c = x.conj()
        assert (c.is_conj(), c[0].is_conj(), c.t().is_conj(), (c * 1).is_conj(), c.resolve_conj().is_conj()) == \
            (True, True, True, False, False)
        assert (c.imag.is_neg(), c.real.is_neg(), c.imag.resolve_neg().is_neg()) == (True, False, False)
        assert type(x.real.grad_fn).__name__ == "SelectBackward0"
        assert type(x.real.grad_fn.next_functions[0][0]).__name__ == "ViewAsRealBackward0"
        r = m.tensor([1.0, 2.0])
        assert r.conj() is r and m.real(r) is r
        y = m.tensor([1 + 1j, 2 - 1j])
        y.real.mul_(10)
        y.imag = m.tensor([0.5, 0.25])
        assert y.tolist() == [10 + 0.5j, 20 + 0.25j]


def _resolve(module, qualified):
    obj = module
    for part in qualified.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


_REFUSED = sorted(q for q in importlib.import_module("refgrad.ops.complex").REFUSES_COMPLEX
                  if q != "torch.cholesky_solve" and q in refgrad.ops.OPS)


@pytest.mark.parametrize("qualified", _REFUSED)
def test_ops_torch_refuses_for_complex(qualified):
    """The listed ops raise torch's exception for a complex argument (found by calling torch as f(x), f(x, x) or
    f(x, 1))."""
    for extra in ((), ("x",), (1,)):
        def call(m, qualified=qualified, extra=extra):
            x = m.tensor([[1 + 2j, 3 - 1j]], dtype=m.complex128)
            return _resolve(m, qualified)(x, *[x if e == "x" else e for e in extra])
        try:
            call(torch)
        except TypeError:
            continue
        except Exception as error:  # noqa: BLE001 - the error is what is compared
            with pytest.raises(type(error)) as ours:
                call(refgrad)
            assert str(ours.value) == str(error)
            return
    pytest.fail(f"torch accepted {qualified} on complex input")


@pytest.mark.parametrize("make", [
    lambda m, x, y: m.float_power(x, y), lambda m, x, y: m.linalg.vecdot(x, y), lambda m, x, y: m.vdot(x[0], y[0]),
    lambda m, x, y: m.trace(x), lambda m, x, y: m.nn.functional.pairwise_distance(x, y), lambda m, x, y: m.acosh(x),
])
def test_complex_fixes_match_torch(make):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) for _ in range(2)]
    results = []
    for m in (refgrad, torch):
        x, y = (m.tensor(a, requires_grad=True) for a in arrays)
        out = make(m, x, y)
        cotangent = m.tensor(np.ones(tuple(out.shape)) * (1 - 0.5j if out.is_complex() else 1), dtype=out.dtype)
        grads = m.autograd.grad(out, (x, y), cotangent, allow_unused=True)
        results.append([out.detach().resolve_conj().numpy()] +
                       [g.resolve_conj().numpy() for g in grads if g is not None])
    for ours, theirs in zip(*results):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_casts_and_predicates_match_torch():
    for m in (refgrad, torch):
        x = m.tensor([1.5, -2.0], requires_grad=True)
        assert repr(x.cfloat()).startswith("tensor([ 1.5000+0.j, -2.0000+0.j], grad_fn=<ToCopyBackward0>")
        assert x.cdouble().dtype is m.complex128
        z = m.tensor([1 + 2j])
        assert (m.is_complex(z), m.is_conj(z.conj()), m.is_neg(z.conj().imag), m.is_complex(x)) == (
            True, True, True, False)
        with pytest.warns(UserWarning, match="Casting complex values to real discards the imaginary part"):
            assert z.to(m.float64).tolist() == [1.0]


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
def test_predicates_on_complex_match_torch(name):
    nan, inf = float("nan"), float("inf")
    values = [complex(0, nan), complex(nan, 0), complex(inf, 1), complex(1, -inf), 1 + 1j]
    ours = getattr(refgrad, name)(refgrad.tensor(values)).tolist()
    assert ours == getattr(torch, name)(torch.tensor(values)).tolist()


def test_eig_refuses_a_phase_dependent_loss_as_torch():
    outcomes = []
    for m in (refgrad, torch):
        x = m.tensor(_c(3, 3), requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            m.linalg.eig(x).eigenvectors.sum().real.backward()
        outcomes.append(str(info.value))
    assert outcomes[0] == outcomes[1]
