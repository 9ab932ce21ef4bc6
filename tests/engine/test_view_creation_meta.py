"""Views made under no_grad or inference_mode (torch's CreationMeta) whose base was later written in place: where
torch 2.13.0 refuses them. Each fact was checked against torch in /work/venv; torch is not imported here.

torch re-checks such a view whenever its grad_fn is read (reading it, is_leaf, an op on it with grad mode on, a
hook) and also when backward reaches its AccumulateGrad: the node reads its leaf's grad_fn before accumulating.
A view whose base does not require grad is never refused (it keeps no node to regenerate)."""
from __future__ import annotations

import re

import pytest

import refgrad as torch

TAIL = ("Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving "
        "both the view and the inplace either both inside the {} block (if you don't want the inplace to be tracked) "
        "or both outside (if you want the inplace to be tracked).")
NO_GRAD_REBASE = ("A view was created in no_grad mode and its base or another view of its base has been modified "
                  "inplace with grad mode enabled. " + TAIL.format("no_grad"))
INFERENCE_REBASE = ("A view was created in inference mode and its base or another view of its base has been "
                    "modified inplace in normal mode. " + TAIL.format("inference_mode"))
MOVED = "^leaf variable has been moved into the graph interior$"


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


def no_grad_view(base_requires_grad: bool = True, mode=torch.no_grad):
    """The issue's program up to the view: ``v2`` a leaf, ``v4 = v2.view(-1)`` made under ``mode``, then
    ``v4.requires_grad_(True)``."""
    v2 = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64, requires_grad=base_requires_grad)
    with mode():
        v4 = v2.view(-1)
    v4.requires_grad_(True)
    return v2, v4


def test_backward_reaching_the_view_s_accumulate_grad_raises():
    v2, v4 = no_grad_view()
    v6 = torch.exp(v4 * 1)
    with torch.no_grad():
        v4.mul_(2)
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):
        v6.sum().backward()
    assert v4.grad is None and v2.grad is None


@pytest.mark.parametrize("write", ["view", "base", "sibling", "inference_mode", "twice"])
def test_every_in_place_write_to_the_storage_is_noticed(write):
    v2, v4 = no_grad_view()
    with torch.no_grad():
        sibling = v2.view(-1)
    v6 = torch.exp(v4 * 1)
    if write == "inference_mode":
        with torch.inference_mode():  # written in inference mode: still the no_grad view's message
            v4.mul_(2)
    else:
        with torch.no_grad():
            {"view": v4, "base": v2, "sibling": sibling, "twice": v4}[write].mul_(2)
            if write == "twice":
                v4.mul_(0.5)
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):
        v6.sum().backward()


def test_a_view_made_in_inference_mode_has_its_own_message():
    v2, v4 = no_grad_view(mode=torch.inference_mode)
    assert not v4.is_inference()  # a view of a normal tensor
    v6 = torch.exp(v4 * 1)
    with torch.no_grad():
        v4.mul_(2)
    with pytest.raises(RuntimeError, match=exact(INFERENCE_REBASE)):
        v6.sum().backward()


def test_the_check_runs_after_the_tensor_hooks_and_other_leaves_and_before_accumulating():
    v2, v4 = no_grad_view()
    log = []
    v4.register_hook(lambda g: log.append("hook"))
    v4.register_post_accumulate_grad_hook(lambda t: log.append("post"))
    w = torch.ones(6, dtype=torch.float64, requires_grad=True)
    v6 = torch.exp(v4 * 1) + w * 2
    with torch.no_grad():
        v4.mul_(2)
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):
        v6.sum().backward(retain_graph=True)
    assert log == ["hook"] and v4.grad is None and w.grad.tolist() == [2.0] * 6


def test_a_zero_gradient_is_still_a_gradient():
    v2, v4 = no_grad_view()
    v6 = torch.exp(v4 * 1) * 0
    with torch.no_grad():
        v4.mul_(2)
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):
        v6.sum().backward(create_graph=True)


def test_nothing_is_checked_where_backward_does_not_reach_the_view():
    v2, v4 = no_grad_view()
    w = torch.ones(6, dtype=torch.float64, requires_grad=True)
    v6 = torch.exp(v4 * 1) + w * 2
    with torch.no_grad():
        v4.mul_(2)
    v6.sum().backward(inputs=[w])
    assert w.grad.tolist() == [2.0] * 6
    assert torch.autograd.grad(v6.sum(), v2, allow_unused=True) == (None,)
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):  # the input's edge reads its grad_fn
        torch.autograd.grad(v6.sum(), v4)


def test_the_base_s_flag_when_backward_runs_decides():
    v2, v4 = no_grad_view(base_requires_grad=False)
    v6 = torch.exp(v4 * 1)
    with torch.no_grad():
        v4.mul_(2)
    v6.sum().backward(retain_graph=True)  # a base that does not require grad: no node to regenerate, no error
    assert v4.grad is not None and v2.grad is None
    v2.requires_grad_(True)  # ... until it does
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):
        v6.sum().backward()

    v2, v4 = no_grad_view()
    v6 = torch.exp(v4 * 1)
    with torch.no_grad():
        v4.mul_(2)
    v2.requires_grad_(False)
    v6.sum().backward()
    assert v4.grad is not None and v2.grad is None


def test_requires_grad_is_not_checked_but_the_first_use_is():
    v2 = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        v4 = v2.view(-1)
        v4.mul_(2)
    v4.requires_grad_(True)
    v4.requires_grad = True
    v4.requires_grad_(False)
    v4.retain_grad()  # reads the stored node: a leaf, nothing to retain
    assert (v4.requires_grad, v4.retains_grad, v4.grad, v4.detach().requires_grad) == (True, False, None, False)
    with torch.no_grad():
        assert not v4.clone().requires_grad
    for use in (lambda: v4.grad_fn, lambda: v4.is_leaf, lambda: v4 * 1, lambda: v4.view(2), lambda: v4.clone(),
                lambda: v4.register_hook(print), lambda: v4.register_post_accumulate_grad_hook(print),
                lambda: v4.sum().backward()):
        with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):
            use()


def test_a_view_s_requires_grad_false_does_not_stop_accumulation_while_its_base_requires_grad():
    v2, v4 = no_grad_view()
    log = []
    v4.register_post_accumulate_grad_hook(lambda t: log.append("post"))
    v6 = torch.exp(v4 * 1)
    v4.requires_grad_(False)
    assert v4.requires_grad  # the base's flag
    v6.sum().backward(retain_graph=True)
    assert v4.grad.tolist() == torch.exp(v4).tolist() and log == ["post"]
    v4.grad = None
    v2.requires_grad_(False)  # now neither: nothing accumulates, the post-accumulate hook still runs
    v6.sum().backward()
    assert v4.grad is None and log == ["post", "post"]


def test_a_leaf_that_gained_a_node_was_moved_into_the_graph_interior():
    v2 = torch.tensor([1.0, 2.0], dtype=torch.float64)  # a view made with grad on of a base without grad
    v4 = v2.view(-1)
    v4.requires_grad_(True)
    v6 = torch.exp(v4 * 1)
    w = torch.ones(2, dtype=torch.float64, requires_grad=True)
    v2.mul_(w)  # the base gets a node, so the view's is regenerated (AsStridedBackward0)
    with pytest.raises(RuntimeError, match=MOVED):
        v6.sum().backward()

    a = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = a * 2
    a.requires_grad_(False)
    a.mul_(w)
    assert not a.is_leaf
    with pytest.raises(RuntimeError, match=MOVED):
        y.sum().backward()


def test_views_of_detached_tensors_are_not_no_grad_views():
    v2 = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    v4 = v2.detach().view(-1)
    v4.requires_grad_(True)
    v6 = torch.exp(v4 * 1)
    with torch.no_grad():
        v4.mul_(2)
    v6.sum().backward()
    assert v2.grad is None and v4.grad is not None


def test_output_nr_is_the_stored_one():
    v2, v4 = no_grad_view()
    with torch.no_grad():
        v4.mul_(2)
    assert v4.output_nr == 0  # read without regenerating: no error
    a, b = torch.ones(4, dtype=torch.float64, requires_grad=True).split(2)
    assert (a.output_nr, b.output_nr) == (0, 1)


MULTI = ("This view is the output of a function that returns multiple views. Such functions do not allow the output "
         "views to be modified inplace. You should replace the inplace operation by an out-of-place one.")
CUSTOM = ("This view was created inside a custom Function (or because an input was returned as-is) and the autograd "
          "logic to handle view+inplace would override the custom backward associated with the custom Function, "
          "leading to incorrect gradients. This behavior is forbidden. You can fix this by cloning the output of the "
          "custom Function.")
NO_NODE = "A view was created in no_grad mode and {} modified inplace with grad mode enabled. "
DIRECT, INDIRECT = "is being", "its base or another view of its base has been"


def test_multi_output_views_without_a_node_get_the_no_grad_header():
    a = torch.ones(4, dtype=torch.float64)  # split with grad on, of a tensor that does not require grad
    x, y = a.split(2)
    w = torch.ones(2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match=exact(NO_NODE.format(DIRECT) + MULTI)):
        x.mul_(w)  # recorded: refused although x has no node
    x.mul_(2)  # not recorded: allowed
    a.mul_(torch.ones(4, dtype=torch.float64, requires_grad=True))  # the base now requires grad
    with pytest.raises(RuntimeError, match=exact(NO_NODE.format(INDIRECT) + MULTI)):
        _ = y.grad_fn


def test_a_view_of_a_multi_output_view_inherits_its_refusal():
    b = torch.ones(4, dtype=torch.float64, requires_grad=True) * 1
    x, _ = b.split(2)
    z = x.view(2)
    with pytest.raises(RuntimeError, match=exact("Output 0 of View is a view and is being modified inplace. " + MULTI)):
        z.mul_(2)


class ViewOf(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.view(-1)

    @staticmethod
    def backward(ctx, grad):
        return grad.view(2, 3)


class Identity(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad


def test_a_custom_function_s_view_output_may_not_be_rebased():
    y = torch.ones(2, 3, dtype=torch.float64, requires_grad=True) * 1
    v = ViewOf.apply(y)
    assert v._base is y
    with pytest.raises(RuntimeError, match=exact(f"Output 0 of ViewOf is a view and {DIRECT} modified inplace. "
                                                 + CUSTOM)):
        v.mul_(2)
    with pytest.raises(RuntimeError, match=exact(f"Output 0 of View is a view and {DIRECT} modified inplace. "
                                                 + CUSTOM)):
        v.view(3, 2).mul_(2)  # a view of it made with grad on inherits it
    with torch.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=exact(f"Output 0 of ViewOf is a view and {INDIRECT} modified inplace. "
                                                 + CUSTOM)):
        _ = v.grad_fn
    with torch.no_grad():
        u = ViewOf.apply(y)  # applied under no_grad: no node, the no_grad header
    with pytest.raises(RuntimeError, match=exact(NO_NODE.format(DIRECT) + CUSTOM)):
        u.mul_(2)


def test_an_input_returned_as_is_is_a_view_of_it_with_grad_on():
    x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    v = Identity.apply(x)
    assert v is not x and v._base is x and type(v.grad_fn).__name__ == "IdentityBackward"
    with torch.no_grad():
        v.mul_(2)
    assert x._version == 1
    with pytest.raises(RuntimeError, match=exact(f"Output 0 of Identity is a view and {INDIRECT} modified inplace. "
                                                 + CUSTOM)):
        _ = v.grad_fn
    plain = torch.ones(2, dtype=torch.float64)
    assert Identity.apply(plain)._base is plain  # whether or not it requires grad
    with torch.no_grad():
        w = Identity.apply(x)  # under no_grad: a detached alias, not a view
    assert w._base is None and not w.requires_grad
    w.mul_(2)
    assert x._version == 2


def test_retain_grad_reads_the_stored_node_of_any_view():
    b = torch.ones(3, dtype=torch.float64)
    u = b[1:]  # made normally, without a node (its base did not require grad)
    b.mul_(torch.ones(3, dtype=torch.float64, requires_grad=True))
    u.retain_grad()  # a leaf by its stored node: nothing retained, although reading grad_fn now makes one
    assert not u.retains_grad and type(u.grad_fn).__name__ == "AsStridedBackward0"
    u.retain_grad()  # now it has a node
    assert u.retains_grad


def test_backward_inputs_are_checked_one_by_one_before_their_retain_grad():
    # nightly graph-state seed 7103: refgrad made every non-leaf input retain its grad before any was checked
    x = torch.ones(2, dtype=torch.float64, requires_grad=True)
    a, b = x * 1, x * 2
    with torch.no_grad():
        v = x.view(-1)
        x.mul_(1)
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):
        (a + b).sum().backward(inputs=[a, v, b])
    assert a.retains_grad and not b.retains_grad



def test_grad_inputs_are_checked_one_by_one():
    x = torch.ones(2, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        v = x.view(-1)
        x.mul_(1)
    y, plain = (x * 2).sum(), torch.ones(2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):
        torch.autograd.grad(y, [v, plain], retain_graph=True)
    with pytest.raises(RuntimeError, match="^One of the differentiated Tensors does not require grad$"):
        torch.autograd.grad(y, [plain, v])


@pytest.mark.parametrize("use", ["unbind0d", "split0d", "view", "reshape", "add"])
def test_a_recording_op_reads_its_inputs_nodes_before_checking_its_arguments(use):
    # nightly graph-state seed 7106: unbind of a 0-d stale no_grad view gave the dimension error first
    x = torch.tensor(2.0 if use.endswith("0d") else [2.0, 3.0], dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        v = x.view_as(x)
        x.mul_(2)
    call = {"unbind0d": lambda: v.unbind(), "split0d": lambda: v.split(1), "view": lambda: v.view(3),
            "reshape": lambda: v.reshape(3), "add": lambda: v + torch.ones(3, dtype=torch.float64)}[use]
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_REBASE)):
        call()
    with torch.no_grad():  # not recording: the op's own error
        with pytest.raises((RuntimeError, IndexError), match="^(?!A view was created)"):
            call()
