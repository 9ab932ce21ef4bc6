"""refgrad.autograd.forward_ad: torch's API and semantics (each expectation observed on torch 2.13.0+cpu)."""
from __future__ import annotations

import numpy as np
import pytest

import refgrad
from refgrad.autograd import forward_ad as fwAD

F64 = refgrad.float64


def vec(*values):
    return refgrad.tensor(list(values), dtype=F64)


def test_make_and_unpack_dual():
    x, t = vec(1.0, 2.0, 3.0), vec(1.0, 1.0, 1.0)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, t)
        unpacked = fwAD.unpack_dual(d)
        assert type(unpacked).__name__ == "UnpackedDualTensor" and unpacked._fields == ("primal", "tangent")
        assert unpacked.tangent is t  # torch stores the given tangent itself
        assert d._base is x and unpacked.primal._is_view()
        assert fwAD.unpack_dual(unpacked.primal).tangent is None
        assert fwAD.unpack_dual(x).tangent is None
        assert fwAD.unpack_dual(d.detach()).tangent is None  # detach drops the tangent, as in torch
    assert fwAD.unpack_dual(d).tangent is None  # the level is gone


@pytest.mark.parametrize("call, error, message", [
    (lambda x: fwAD.make_dual(x, vec(1.0, 2.0)), RuntimeError,
     "Trying to set a forward gradient that has a different size than that of the original Tensor, this is not "
     "supported. Tensor is of size [3] while the given forward gradient is of size [2]."),
    (lambda x: fwAD.make_dual(x, refgrad.ones(3, dtype=refgrad.int64)), ValueError,
     "Expected tangent to be floating point or complex, but got: torch.int64"),
    (lambda x: fwAD.make_dual(refgrad.ones(3, dtype=refgrad.int64), x), ValueError,
     "Expected primal to be floating point or complex, but got: torch.int64"),
    (lambda x: fwAD.enter_dual_level(), RuntimeError, "Nested forward mode AD is not supported at the moment"),
    (lambda x: fwAD.make_dual(fwAD.make_dual(x, x), x), RuntimeError,
     "Making a dual Tensor based on a Tensor that already has a forward gradient at the same level 0 is not "
     "supported."),
    (lambda x: fwAD.exit_dual_level(level=5), RuntimeError,
     "Trying to exit a forward AD level that was not the last one that was created. This is not supported."),
])
def test_errors_inside_a_level(call, error, message):
    with fwAD.dual_level():
        with pytest.raises(error) as info:
            call(vec(1.0, 2.0, 3.0))
    assert str(info.value) == message


def test_errors_outside_a_level():
    with pytest.raises(RuntimeError, match="^Trying to create a dual Tensor for forward AD but no level exists, make "
                                           "sure to enter_dual_level\\(\\) first.$"):
        fwAD.make_dual(vec(1.0), vec(1.0))
    with pytest.raises(RuntimeError, match="^Dual level must be a positive number.$"):
        fwAD.exit_dual_level(level=-1)
    assert fwAD.enter_dual_level() == 0
    fwAD.exit_dual_level()


def test_tangent_dtype_may_differ_from_the_primal():
    with fwAD.dual_level():
        d = fwAD.make_dual(vec(1.0, 2.0), refgrad.ones(2, dtype=refgrad.float32))
        assert fwAD.unpack_dual(d).tangent.dtype is refgrad.float32
        assert fwAD.unpack_dual(d * 2).tangent.dtype is F64  # an op's tangent takes its output's dtype


def test_views_share_the_tangent_and_inplace_ops_write_through():
    with fwAD.dual_level():
        base = fwAD.make_dual(refgrad.zeros(4, dtype=F64), refgrad.arange(4.0, dtype=F64))
        view = base[1:3]
        assert fwAD.unpack_dual(view).tangent.tolist() == [1.0, 2.0]
        view.mul_(2)
        assert fwAD.unpack_dual(base).tangent.tolist() == [0.0, 2.0, 4.0, 3.0]
        plain = refgrad.zeros(4, dtype=F64)  # no tangent until a dual is written into a view of it
        plain[1:3].copy_(fwAD.make_dual(vec(1.0, 1.0), vec(5.0, 5.0)))
        assert fwAD.unpack_dual(plain).tangent.tolist() == [0.0, 5.0, 5.0, 0.0]
        z = refgrad.zeros(2, dtype=F64)
        z.add_(fwAD.make_dual(vec(1.0, 1.0), vec(5.0, 5.0)))
        assert fwAD.unpack_dual(z).tangent.tolist() == [5.0, 5.0]
        z.zero_()  # overwritten by a constant: the tangent becomes zero
        assert fwAD.unpack_dual(z).tangent.tolist() == [0.0, 0.0]


def test_tangents_flow_under_no_grad_and_not_through_non_differentiable_outputs():
    with fwAD.dual_level():
        d = fwAD.make_dual(vec(1.0, -2.0), vec(1.0, 1.0))
        with refgrad.no_grad():
            assert fwAD.unpack_dual(d * 2).tangent.tolist() == [2.0, 2.0]
        assert fwAD.unpack_dual(d.argmax()).tangent is None
        assert fwAD.unpack_dual(d > 0).tangent is None
        assert fwAD.unpack_dual(d.floor()).tangent.tolist() == [0.0, 0.0]


def test_forward_over_reverse_keeps_the_tangent_of_the_gradient():
    x = refgrad.tensor([0.5, 1.0, 2.0], dtype=F64, requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, refgrad.ones(3, dtype=F64))
        (g,) = refgrad.autograd.grad(d.sin().sum(), x)  # torch keeps the tangent without create_graph too
        np.testing.assert_allclose(fwAD.unpack_dual(g).tangent.numpy(), -np.sin([0.5, 1.0, 2.0]))


def test_reverse_over_forward_differentiates_the_tangent():
    x = refgrad.tensor([0.5, 1.0], dtype=F64, requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, refgrad.ones(2, dtype=F64))
        tangent = fwAD.unpack_dual(d.exp() * d).tangent  # (x + 1) e^x
        (g,) = refgrad.autograd.grad(tangent.sum(), x)
    np.testing.assert_allclose(g.numpy(), (np.array([0.5, 1.0]) + 2) * np.exp([0.5, 1.0]))


def test_no_forward_rule_raises_torchs_error():
    with fwAD.dual_level():
        d = fwAD.make_dual(refgrad.ones(3, 2, dtype=F64), refgrad.ones(3, 2, dtype=F64))
        with pytest.raises(NotImplementedError, match="^Trying to use forward AD with _cdist_forward that does not "
                                                      "support it because it has not been implemented yet"):
            refgrad.cdist(d, d)
        with pytest.raises(NotImplementedError, match="^Trying to use forward AD with aten::floor_divide that does "
                                                      "not support it.$"):
            refgrad.floor_divide(d, 2.0)


def test_custom_function_without_jvp_raises():
    class Double(refgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class DoubleJvp(Double):
        @staticmethod
        def jvp(ctx, t):
            return t * 2

    with fwAD.dual_level():
        d = fwAD.make_dual(vec(1.0), vec(3.0))
        with pytest.raises(NotImplementedError, match="^You must implement the jvp function for custom "
                                                      "autograd.Function to use it with forward mode AD.$"):
            Double.apply(d)
        assert fwAD.unpack_dual(DoubleJvp.apply(d)).tangent.tolist() == [6.0]


def test_repr_shows_the_tangent():
    with fwAD.dual_level():
        d = fwAD.make_dual(vec(-1.7727, 0.5371, 0.5428), vec(1.0, 1.0, 1.0))
        assert repr(d) == ("tensor([-1.7727,  0.5371,  0.5428], dtype=torch.float64,\n"
                           "       tangent=tensor([1., 1., 1.], dtype=torch.float64))")
    assert repr(d) == "tensor([-1.7727,  0.5371,  0.5428], dtype=torch.float64)"


def test_repr_of_a_0d_tangent_and_the_dual_views_grad_fns():
    # torch 2.13.0 prints a 0-d tangent as its Python number; make_dual's output of a tensor that requires grad is a
    # ViewBackward0 view, unpack_dual's primal an Identity node
    with fwAD.dual_level():
        assert repr(fwAD.make_dual(refgrad.tensor(1.0), refgrad.tensor(0.1))) == (
            "tensor(1., tangent=0.10000000149011612)")
        assert repr(fwAD.make_dual(refgrad.tensor(1.0, dtype=F64), refgrad.tensor(float("nan"), dtype=F64))) == (
            "tensor(1., dtype=torch.float64, tangent=nan)")
        assert repr(fwAD.make_dual(refgrad.tensor(1 + 1j), refgrad.tensor(2 + 1j))) == (
            "tensor(1.+1.j, tangent=(2+1j))")
        x = refgrad.tensor([1.0, 2.0], requires_grad=True) * 2
        d = fwAD.make_dual(x, refgrad.ones(2))
        primal = fwAD.unpack_dual(d).primal
        assert type(d.grad_fn).__name__ == "ViewBackward0" and d._base is x
        assert repr(primal) == "tensor([2., 4.], grad_fn=<Identity>)"
