"""The version-counter error names the saved tensor as torch 2.13 does: its current node (torch reads
``data_.grad_fn()`` when the error is raised: the in-place op's node, or a view's regenerated AsStridedBackward0),
the node's name without "Backward0" (or "Backward": TBackward1 -> T1), torch's namespaced names for its
hand-written nodes (torch::autograd::CopySlices), and complex tensors by their CPU type (CPUComplexDoubleType).
Before, refgrad named the node that made the tensor when it was saved ("output 0 of Mul" after ``y.sub_(1)``)."""
from __future__ import annotations

import pytest

import refgrad

torch = pytest.importorskip("torch")


def _saved_then(t, change, dtype="float64"):
    x = t.ones(3, dtype=getattr(t, dtype), requires_grad=True)
    y = x * 2
    z = y * y
    change(t, y)
    return z


CHANGES = {
    "sub_": lambda t, y: y.sub_(1), "add_twice": lambda t, y: (y.add_(1), y.add_(2)),
    "clamp_": lambda t, y: y.clamp_(0), "zero_": lambda t, y: y.zero_(),
    "setitem": lambda t, y: y.__setitem__(0, 1.0), "copy_": lambda t, y: y.copy_(t.zeros(3, dtype=y.dtype)),
    "t_": lambda t, y: y.unsqueeze_(0).t_(), "squeeze_": lambda t, y: y.unsqueeze_(0).squeeze_(),
    "masked_fill_": lambda t, y: y.masked_fill_(y > 0, 1.0),
}


def _message(t, build) -> str:
    with pytest.raises(RuntimeError) as info:
        build(t).sum().abs().backward()
    return str(info.value)


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_the_saved_tensor_is_named_by_its_current_node(name):
    def build(t):
        return _saved_then(t, CHANGES[name])
    assert _message(refgrad, build) == _message(torch, build)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex64", "complex128"])
def test_the_saved_tensor_type_is_torch_text(dtype):
    def build(t):
        return _saved_then(t, CHANGES["sub_"], dtype)
    assert _message(refgrad, build) == _message(torch, build)


@pytest.mark.parametrize("modified", ["base", "view"])
def test_a_view_whose_storage_changed_is_named_as_its_regenerated_node(modified):
    def build(t):
        base = t.ones(2, 3, requires_grad=True) * 2
        view = base[0]
        out = view * view
        (base if modified == "base" else view).add_(1)
        return out
    assert "output 0 of AsStrided," in _message(torch, build)
    assert _message(refgrad, build) == _message(torch, build)


def test_hand_written_nodes_carry_torch_namespace():
    def names(t):
        x = t.ones(3, requires_grad=True)
        y, z = x * 1, x * 1
        y[0] = 2.0
        z.copy_(t.zeros(3))
        return [y.grad_fn.name(), z.grad_fn.name(), (x * 2).grad_fn.next_functions[0][0].name()]
    assert names(refgrad) == names(torch) == [
        "torch::autograd::CopySlices", "torch::autograd::CopyBackwards", "torch::autograd::AccumulateGrad"]


#: two saved inputs, both changed in place (a by add_, b by mul_, c by sub_): torch's node unpacks its saved
#: variables in the order of their names, so the error names the first stale one in that order (mm: mat2 before
#: self; addcmul: tensor1 before tensor2; dot: self before tensor); linear and take_along_dim save views
TWO_STALE = {
    "mul": lambda t, a, b, c: a * b, "atan2": lambda t, a, b, c: t.atan2(a, b),
    "addcmul": lambda t, a, b, c: t.addcmul(c, a, b), "pow": lambda t, a, b, c: a ** b,
    "hypot": lambda t, a, b, c: t.hypot(a, b), "lerp": lambda t, a, b, c: t.lerp(a, b, c),
    "maximum": lambda t, a, b, c: t.maximum(a, b), "mm": lambda t, a, b, c: t.mm(a, b),
    "addmm": lambda t, a, b, c: t.addmm(c, a, b), "mv": lambda t, a, b, c: t.mv(a, b[0]),
    "dot": lambda t, a, b, c: t.dot(a[0], b[0]), "cross": lambda t, a, b, c: t.linalg.cross(a, b),
    "xlogy": lambda t, a, b, c: t.xlogy(a, b), "cholesky_solve": lambda t, a, b, c: t.cholesky_solve(a, b),
    "linear": lambda t, a, b, c: t.nn.functional.linear(a, b),
    "take_along_dim": lambda t, a, b, c: t.take_along_dim(a, t.tensor([[0], [1], [2]]), 1),
}


@pytest.mark.parametrize("name", sorted(TWO_STALE))
def test_of_two_stale_saved_tensors_the_first_by_name_is_named(name):
    def build(t):
        a, b, c = (t.tensor([[1.5, 2.0, 2.5], [1.25, 3.0, 1.75], [2.25, 1.5, 3.5]], dtype=t.float64,
                            requires_grad=True).clone() for _ in range(3))
        out = TWO_STALE[name](t, a, b, c)
        a.add_(1), b.mul_(2), c.sub_(1)
        return out
    assert _message(refgrad, build) == _message(torch, build)


@pytest.mark.parametrize("changed", [0, 1, 2])
def test_outputs_are_numbered_among_the_differentiable_ones(changed):
    """linalg.lu's P is not differentiable: torch's node has L and U as its outputs 0 and 1 (get_gradient_edge),
    so changing U in place names "output 1 of LinalgLu" (refgrad numbered them 1 and 2 among all outputs)."""
    def build(t):
        a = t.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=t.float64, requires_grad=True)
        outs = t.linalg.lu(a)
        outs[changed].mul_(2)
        return outs[1] + outs[2]
    assert _message(refgrad, build) == _message(torch, build)
    a = refgrad.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=refgrad.float64, requires_grad=True)
    _, lower, upper = refgrad.linalg.lu(a)
    assert (lower._output_nr, upper._output_nr) == (0, 1)


@pytest.mark.parametrize("ord", [2, -2])
def test_matrix_norm_keepdim_saves_the_kept_reduction(ord):
    """torch's matrix_norm(ord=±2, keepdim=True) reduces the singular values with keepdim (its Amax/Amin node saves
    a [..., 1] result), then unsqueezes and permutes: the version error after the output changes in place names that
    shape (refgrad reduced without keepdim and unsqueezed twice: [3] for torch's [3, 1])."""
    def build(t):
        x = t.tensor([[[1.0, 2.0], [3.0, 4.0], [0.5, 0.25]]] * 3, requires_grad=True)
        out = t.linalg.matrix_norm(x, ord=ord, keepdim=True)
        out.mul_(2)
        return out
    assert _message(refgrad, build) == _message(torch, build)


@pytest.mark.parametrize("shape", [(2, 3, 3), (2, 3, 2, 2, 2)])
def test_nll_loss_folds_as_torch(shape):
    """torch's nll_loss folds a 3-d or 5-d input to (N, C, 1, rest) (its NllLoss2DBackward0 saves that view), so
    the version error after the input changes in place names [2, 3, 1, 3] (refgrad folded to (N, C, d1, rest))."""
    def build(t):
        x = t.ones(shape, dtype=t.float64, requires_grad=True).clone()
        out = t.nn.functional.nll_loss(x, t.zeros((shape[0],) + shape[2:], dtype=t.long), reduction="none")
        x.add_(1)
        return out
    assert _message(refgrad, build) == _message(torch, build)
