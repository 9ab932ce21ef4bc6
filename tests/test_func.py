"""refgrad.func and the forward-mode entries of refgrad.autograd.functional, without torch: values against
reverse mode / closed forms, structures and error messages as torch 2.13.0+cpu gives them (observed there)."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad
from refgrad import func
from refgrad.autograd import functional as AF

F64 = refgrad.float64
X = refgrad.tensor([0.5, 1.0, 2.0], dtype=F64)
ONES = refgrad.ones(3, dtype=F64)


def close(a, b):
    np.testing.assert_allclose(np.asarray(a.detach()._data), np.asarray(b), rtol=1e-12, atol=1e-12)


def test_grad_and_value_and_nested_grad():
    g, v = func.grad_and_value(lambda x: x.sin().sum())(X)
    close(g, np.cos(X._data))
    close(v, np.sin(X._data).sum())
    assert not g.requires_grad
    x0 = refgrad.tensor(0.5, dtype=F64)
    close(func.grad(func.grad(lambda x: x.sin()))(x0), -np.sin(0.5))
    (gx, gy), aux = func.grad(lambda x, y: ((x * y).sum(), "aux"), argnums=(0, 1), has_aux=True)(X, ONES)
    close(gx, ONES._data), close(gy, X._data)
    assert aux == "aux"


def test_jacobians_agree_between_modes_and_with_autograd_functional():
    fn = lambda x, y: (x.sin() * y, (x * y).sum())  # noqa: E731
    rev = func.jacrev(fn, argnums=(0, 1))(X, ONES)
    fwd = func.jacfwd(fn, argnums=(0, 1))(X, ONES)
    ref = AF.jacobian(fn, (X, ONES))
    for a, b, c in zip(refgrad.func._flatten(rev)[0], refgrad.func._flatten(fwd)[0], refgrad.func._flatten(ref)[0]):
        close(a, b._data), close(a, c._data)
    assert rev[0][0].shape == (3, 3) and rev[1][1].shape == (3,)


def test_hessian_hvp_vhp_and_jvp():
    f = lambda x: (x ** 3).sum() + (x[0] * x[1])  # noqa: E731
    h = func.hessian(f)(X)
    expected = np.diag(6 * X._data)
    expected[0, 1] = expected[1, 0] = 1.0
    close(h, expected)
    v = refgrad.tensor([1.0, -2.0, 0.5], dtype=F64)
    close(AF.hvp(f, X, v)[1], expected @ v._data)
    close(AF.vhp(f, X, v)[1], expected @ v._data)
    close(AF.hessian(f, X, vectorize=True, outer_jacobian_strategy="forward-mode"), expected)
    out, tangent = func.jvp(lambda x: x.exp(), (X,), (v,))
    close(tangent, np.exp(X._data) * v._data)
    close(AF.jvp(lambda x: x.exp(), X, v)[1], np.exp(X._data) * v._data)
    close(AF.jacobian(lambda x: x.exp(), X, vectorize=True, strategy="forward-mode"), np.diag(np.exp(X._data)))
    _, linear = func.linearize(lambda x: x.sin(), X)
    close(linear(v), np.cos(X._data) * v._data)


def test_functional_jvp_and_hvp_return_the_functions_own_output():
    # torch 2.13.0 computes both by double backward: the output's grad_fn is the function's last node, while
    # torch.func.jvp's primal output is an AliasBackward0 view
    x = X.detach().requires_grad_()
    assert type(AF.jvp(lambda a: a.exp(), x, ONES, create_graph=True)[0].grad_fn).__name__ == "ExpBackward0"
    assert type(AF.hvp(lambda a: a.exp().sum(), x, ONES, create_graph=True)[0].grad_fn).__name__ == "SumBackward0"
    assert type(func.jvp(lambda a: a.exp(), (x,), (ONES,))[0].grad_fn).__name__ == "AliasBackward0"


def test_nested_jvp_gives_second_derivatives():
    second = func.jvp(lambda x: func.jvp(lambda y: y.sin(), (x,), (ONES,))[1], (X,), (ONES,))[1]
    close(second, -np.sin(X._data))


def test_vjp_and_functional_call():
    out, vjp_fn = func.vjp(lambda x: x.sin(), X)
    close(vjp_fn(ONES)[0], np.cos(X._data))

    class Affine:
        def __init__(self):
            self.weight = refgrad.ones(3, dtype=F64)

        def __call__(self, x):
            return (self.weight * x).sum()

    model = Affine()
    w = refgrad.tensor([1.0, 2.0, 3.0], dtype=F64)
    close(func.functional_call(model, {"weight": w}, (X,)), (w._data * X._data).sum())
    assert model.weight.tolist() == [1.0, 1.0, 1.0]
    close(func.grad(lambda w: func.functional_call(model, {"weight": w}, (X,)))(w), X._data)


def test_vmap_matches_a_loop():
    a, b = refgrad.randn(4, 2, 3, dtype=F64), refgrad.randn(3, 4, dtype=F64)
    got = func.vmap(lambda x, y: x @ y, in_dims=(0, 1))(a, b)
    close(got, np.stack([a._data[i] @ b._data[:, i] for i in range(4)]))
    got = func.vmap(func.vmap(lambda x: x.sum()), out_dims=1)(a)
    close(got, a._data.sum(-1).T)
    out, const = func.vmap(lambda x: (x * 2, 3), out_dims=(0, None))(a)
    assert const == 3 and out.shape == (4, 2, 3)
    assert func.vmap(lambda x: x * 2)(refgrad.zeros(0, 2)).shape == (0, 2)
    per_example = func.vmap(func.grad(lambda x: (x ** 2).sum()))(a)
    close(per_example, 2 * a._data)


def test_vmap_randomness():
    same = func.vmap(lambda x: x + refgrad.rand(()), randomness="same")(refgrad.zeros(3))
    assert len(set(same.tolist())) == 1
    different = func.vmap(lambda x: x + refgrad.rand(()), randomness="different")(refgrad.zeros(3))
    assert len(set(different.tolist())) == 3
    with pytest.raises(RuntimeError, match="^vmap: called random operation while in randomness error mode"):
        func.vmap(lambda x: x + refgrad.rand(()))(refgrad.zeros(3))
    refgrad.rand(())  # the generator is restored


@pytest.mark.parametrize("call, error, message", [
    (lambda: func.grad(lambda x: x * 2)(X), RuntimeError,
     "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor with 1 dims. Maybe you "
     "wanted to use the vjp or jacrev APIs instead?"),
    (lambda: func.grad(lambda x: 3.0)(X), RuntimeError,
     "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got <class 'float'>"),
    (lambda: func.grad(lambda x: x.sum(), argnums=1)(X), RuntimeError, "Got argnum=1, but only 1 positional inputs"),
    (lambda: func.grad(lambda x: x.sum(), argnums=1.0)(X), RuntimeError,
     "argnums must be int or Tuple[int, ...], got: <class 'float'>"),
    (lambda: func.grad(lambda x: x.sum(), has_aux=True)(X), RuntimeError,
     "grad_and_value(f)(*args): output of function f should be a tuple: (output, aux) if has_aux is True"),
    (lambda: func.jvp(lambda x: x.sin(), (X,), (refgrad.ones(2, dtype=F64),)), RuntimeError,
     "Trying to set a forward gradient that has a different size than that of the original Tensor, this is not "
     "supported. Tensor is of size [3] while the given forward gradient is of size [2]."),
    (lambda: func.jvp(lambda x: x.sin(), X, X), RuntimeError,
     "jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid to call f(*primals)."),
    (lambda: func.vmap(lambda a, b: a + b)(refgrad.ones(3), refgrad.ones(4)), ValueError,
     "vmap: Expected all tensors to have the same size in the mapped dimension, got sizes [3, 4] for the mapped "
     "dimension"),
    (lambda: func.vmap(lambda a: a, in_dims=2)(refgrad.ones(3)), ValueError,
     "vmap(<lambda>, in_dims=2, ...)(<inputs>): Got in_dim=2 for some input, but that input is a Tensor of "
     "dimensionality 1 so expected in_dim to satisfy -1 <= in_dim < 1."),
    (lambda: func.vmap(lambda a: 3.0)(refgrad.ones(3)), ValueError,
     "vmap(<lambda>, ...): `<lambda>` must only return Tensors, got type <class 'float'>. Did you mean to set "
     "out_dims= to None for output?"),
    (lambda: func.vmap(lambda a: a)(3.0), ValueError,
     "vmap(<lambda>, in_dims=0, ...)(<inputs>): Got in_dim=0 for an input but the input is of type <class 'float'>. "
     "We cannot vmap over non-Tensor arguments, please use None as the respective in_dim"),
    (lambda: func.vmap(lambda a: a, in_dims=None)(refgrad.ones(3)), ValueError,
     "vmap(<lambda>, in_dims=None, ...)(<inputs>): expected `in_dims` to be int or a (potentially nested) tuple "
     "matching the structure of inputs, got: <class 'NoneType'>."),
    (lambda: func.vmap(lambda: 1)(), ValueError,
     "vmap(<lambda>)(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying to vmap over a "
     "function with no inputs. The latter is unsupported."),
    (lambda: func.vmap(lambda a: a, randomness="foo")(refgrad.ones(3)), RuntimeError,
     "Only allowed values for randomness are 'error', 'different', or 'same'. Got foo"),
    (lambda: func.jacrev(lambda x: 3.0)(X), RuntimeError,
     "vjp(f, *primals): expected f(*primals) to return only tensors, got unsupported type <class 'float'>"),
    (lambda: AF.jvp(lambda x: x.sin(), X), RuntimeError,
     "The vector v can only be None if the input to the user-provided function is a single Tensor with a single "
     "element."),
    (lambda: AF.jvp(lambda x: x.sin(), X, refgrad.ones(2, dtype=F64)), RuntimeError,
     "v has invalid size: should be torch.Size([3]) but got torch.Size([2])."),
    (lambda: AF.hvp(lambda x: x.sin(), X, ONES), RuntimeError,
     "The Tensor returned by the function given to hvp should contain a single element"),
    (lambda: AF.jacobian(lambda x: x.sin(), X, strategy="forward-mode"), NotImplementedError,
     "Computing Jacobian using forward-AD or forward-over-reverse Hessian isonly implemented for `vectorize=True`."),
    (lambda: AF.jacobian(lambda x: x.sin(), X, strategy="forward-mode", vectorize=True, create_graph=True),
     NotImplementedError, 'torch.autograd.functional.jacobian: `create_graph=True` and `strategy="forward-mode"` are '
     'not supported together (yet). Please either set `create_graph=False` or `strategy="reverse-mode"`.'),
    (lambda: AF.jvp(lambda x: 3.0, X, ONES), TypeError,
     "The outputs of the user-provided function given to jvp must be either a Tensor or a tuple of Tensors but the "
     "given outputs of the user-provided function has type <class 'float'>."),
])
def test_errors_match_torch(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message
