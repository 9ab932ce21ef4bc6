"""Graph-state divergences found by the swarm-tested graph-state search (issue #10), pinned with torch 2.13.0's
behaviour (checked against torch in /work/venv; torch is not imported here)."""
from __future__ import annotations

import pytest

import refgrad as torch

VIEW_OF_LEAF = "^a view of a leaf Variable that requires grad is being used in an in-place operation."
NO_GRAD_REBASE = "A view was created in no_grad mode and its base or another view of its base has been modified"


def leaf(*values, requires_grad=True):
    return torch.tensor(list(values), dtype=torch.float64, requires_grad=requires_grad)


def test_backward_of_a_no_grad_view_of_a_leaf_raises():
    a = leaf(1.0, 2.0, 3.0)
    with torch.no_grad():
        v = a.reshape(-1)
    assert (v.requires_grad, v.grad_fn, v.is_leaf) == (True, None, True)  # the base's flag, but no edge
    with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad and does not have a grad_fn"):
        v.backward(torch.ones(3))
    w = (v * 2).sum()  # an op on it records a node, but nothing flows back to the leaf
    assert w.requires_grad and type(w.grad_fn).__name__ == "SumBackward0"
    w.backward()
    assert a.grad is None and v.grad is None


def test_a_view_reports_its_base_requires_grad_set_later_without_a_grad_fn():
    a = leaf(1.0, 2.0, requires_grad=False)
    v = a.view(-1)
    a.requires_grad_(True)
    assert (v.requires_grad, v.grad_fn, v.is_leaf) == (True, None, True)
    (v * 2).sum().backward()
    assert a.grad is None
    with pytest.raises(RuntimeError, match=VIEW_OF_LEAF):
        v.add_(1)


def test_grad_with_empty_inputs_raises_before_anything_else():
    a = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match="^`inputs` argument to `grad\\(\\)` cannot be empty.$"):
        torch.autograd.grad(a * 2, [])  # a non-scalar output without grad_outputs: still this error
    with pytest.raises(RuntimeError, match="^`inputs` argument to `grad\\(\\)` cannot be empty.$"):
        torch.autograd.grad(a.sum(), [], grad_outputs=[torch.ones(2), torch.ones(2)])


def test_in_place_on_a_view_made_while_the_base_required_grad():
    b = leaf(1.0, 2.0)
    c = b[0]
    b.requires_grad_(False)
    with pytest.raises(RuntimeError, match=VIEW_OF_LEAF):
        c.add_(1)
    assert b.grad_fn is None and b.tolist() == [1.0, 2.0]
    d = b[1]  # made after: does not require grad, so the write is allowed and not recorded
    d.add_(1)
    assert b.grad_fn is None and b.tolist() == [1.0, 3.0]


def test_a_leaf_that_stopped_requiring_grad_accumulates_nothing():
    a = leaf(1.0, 2.0)
    v = a.view(-1)
    a.requires_grad_(False)
    assert type(v.grad_fn).__name__ == "ViewBackward0"
    v.sum().backward()
    assert a.grad is None


def test_grad_fn_of_a_no_grad_view_after_its_base_changed_raises():
    a = leaf(1.0, 2.0)
    with torch.no_grad():
        v = a.view(-1)
        v.add_(1)
    for _ in range(2):  # on every access, as torch
        with pytest.raises(RuntimeError, match=f"^{NO_GRAD_REBASE}"):
            _ = v.grad_fn
    assert v.requires_grad


def test_post_accumulate_grad_hooks():
    a = leaf(1.0, 2.0)
    seen = []
    handle = a.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (a * 3).sum().backward()
    (a * 3).sum().backward(inputs=[a])
    torch.autograd.grad((a * 3).sum(), [a])  # no accumulation: no call
    assert seen == [[3.0, 3.0], [6.0, 6.0]]
    handle.remove()
    (a * 3).sum().backward()
    assert len(seen) == 2
    a.register_post_accumulate_grad_hook(lambda p: 5)
    with pytest.raises(TypeError, match="^expected Variable, but hook returned 'int'$"):
        (a * 3).sum().backward()
    with pytest.raises(RuntimeError, match="^post accumulate grad hooks cannot be registered on non-leaf tensors$"):
        (a * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="^cannot register a hook on a tensor that doesn't require gradient$"):
        leaf(1.0, requires_grad=False).register_post_accumulate_grad_hook(lambda p: None)


def test_views_made_in_inference_mode():
    a = leaf(1.0, 2.0)
    with torch.inference_mode():
        v = a.view(-1)  # a view of a normal tensor: normal, reports the base's flag
        inference = torch.tensor([1.0], requires_grad=True)
        w = inference.view(-1)  # a view of an inference tensor is no autograd view
        assert not w.requires_grad and w.is_inference()
    assert not v.is_inference() and v.requires_grad and v.grad_fn is None
    with pytest.raises(RuntimeError, match="^A view was created in inference mode and is being modified inplace in "
                                           "normal mode.*inside the inference_mode block"):
        v.add_(1)
    with torch.no_grad():
        v.add_(1)
    with pytest.raises(RuntimeError, match="^A view was created in inference mode and its base or another view of "
                                           "its base has been modified inplace in normal mode"):
        _ = v.grad_fn


def test_inference_tensors_outside_inference_mode():
    with torch.inference_mode():
        w = torch.ones(2)
        with torch.enable_grad():  # inference mode records nothing, whatever the grad mode
            r = torch.tensor([1.0], requires_grad=True) * 2
        assert (r.requires_grad, r.grad_fn) == (False, None)
    a = leaf(1.0, 1.0)
    with pytest.raises(RuntimeError, match="^Inference tensors cannot be saved for backward"):
        w * a
    assert (w + a).requires_grad  # nothing saved: allowed
    with pytest.raises(RuntimeError, match="^Inplace update to inference tensor outside InferenceMode"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="^Setting requires_grad=True on inference tensor outside InferenceMode"):
        w.requires_grad_()


def test_outputs_and_inputs_that_are_not_tensors():
    a = leaf(1.0)
    with pytest.raises(AssertionError, match="^Expected output to be a torch.Tensor$"):
        torch.autograd.grad([None], [a])
    with pytest.raises(AssertionError, match="^Expected output to be a torch.Tensor$"):
        torch.autograd.backward([None])
    for call in (lambda: torch.autograd.backward([a.sum()], inputs=[None]),
                 lambda: torch.autograd.grad([a.sum()], [a, None])):
        with pytest.raises(RuntimeError, match="^all inputs have to be Tensors or GradientEdges, but got NoneType$"):
            call()


def test_detach_in_place_refuses_every_autograd_view():
    b = leaf(1.0, 2.0, requires_grad=False)
    with torch.no_grad():
        made_under_no_grad = b.view(-1)
    for view in (b.view(-1), made_under_no_grad):
        with pytest.raises(RuntimeError, match="^Can't detach views in-place. Use detach\\(\\) instead."):
            view.detach_()
    with torch.inference_mode():
        inference_view = torch.ones(2).view(-1)  # a view of an inference tensor is no autograd view
    assert inference_view.detach_() is inference_view


def test_reading_grad_of_a_stale_no_grad_view_does_not_raise():
    a = leaf(1.0, 2.0)
    with torch.no_grad():
        v = a.view(-1)
        a.mul_(2)
    assert v.grad is None  # grad_fn and is_leaf raise (see above); .grad does not


def test_inference_mode_skips_autograd_checks_and_detach_():
    c = leaf(1.0)
    n = leaf(1.0)
    with torch.inference_mode():
        c.zero_()  # a leaf that requires grad may be written: nothing is recorded
        n.detach_()  # an autograd-only op: nothing happens
    assert c.tolist() == [0.0] and c.grad_fn is None and n.requires_grad
    with torch.inference_mode():
        w = torch.tensor([1.0], requires_grad=True)
    w.detach_()
    assert w.requires_grad


def test_binary_cross_entropy_with_logits_dtypes():
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    with pytest.raises(NotImplementedError, match="^\"log_sigmoid_cpu\" not implemented for 'Long'$"):
        bce(torch.tensor([1]), torch.tensor([1.0]))
    with pytest.raises(RuntimeError, match="^result type Double can't be cast to the desired output type Long$"):
        bce(torch.tensor([1.0], dtype=torch.float64), torch.tensor([1]))
    with pytest.raises(RuntimeError, match="^Subtraction, the `-` operator, with two bool tensors is not supported"):
        bce(torch.tensor([1.0]), torch.tensor([True]))
    x = leaf(1.0, 2.0)
    out = bce(x, torch.ones(2))  # float64 logits, float32 target: torch computes in float32
    out.backward()
    assert out.dtype is torch.float32 and x.grad.dtype is torch.float64


def test_in_place_on_an_inference_tensor_outside_inference_mode_writes_then_raises():
    with torch.inference_mode():
        w = torch.tensor([1.0, 2.0])
    for mode in (torch.no_grad, torch.enable_grad):
        with mode(), pytest.raises(RuntimeError, match="^Inplace update to inference tensor outside InferenceMode"):
            w.mul_(2)
    assert w.tolist() == [4.0, 8.0]  # torch 2.13.0 performs the write before refusing
    with torch.inference_mode():
        n = torch.tensor([4, -5])
    with pytest.raises(RuntimeError, match="^result type Float can't be cast to the desired output type Long$"):
        n.exp_()  # a result that cannot be written: that error, and no write
    assert n.tolist() == [4, -5]


def test_a_view_made_in_inference_mode_with_grad_enabled_is_an_inference_mode_view():
    a = leaf(-1.0)
    with torch.inference_mode(), torch.set_grad_enabled(True):
        v = a.view(-1)
    with torch.no_grad():
        a.mul_(2)
    with pytest.raises(RuntimeError, match="^A view was created in inference mode and its base or another view"):
        _ = v.grad_fn


def test_backward_with_a_non_leaf_input_runs_that_input_s_node():
    x = leaf(1.0, 2.0)
    y = x * x
    calls = []
    y.grad_fn.register_hook(lambda gi, go: calls.append("post"))
    (y * 2).sum().backward(inputs=[y], retain_graph=True)
    assert calls == ["post"] and x.grad is None and y.grad.tolist() == [2.0, 2.0]
    z = x * x
    z.sum().backward()  # frees z's node
    with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second time"):
        (z * 2).sum().backward(inputs=[z])


def test_requires_grad_and_repr_of_a_stale_no_grad_view():
    base = torch.zeros((0, 3), requires_grad=True)
    with torch.no_grad():
        view = base.t()
        view.reshape(-1).add_(1.5)  # an empty view of a view: the version moves
    assert view.requires_grad_(False) is view  # torch's C++ is_leaf: no regeneration, no error
    assert repr(view) == "tensor([], size=(3, 0), grad_fn=<Invalid>)"
    with torch.no_grad():
        plain = leaf(1.0).view(-1)
    assert repr(plain) == "tensor([1.], dtype=torch.float64, requires_grad=True)"  # the base's flag


def test_a_view_gets_its_node_when_its_modified_base_requires_grad_later():
    base = leaf(0.0, requires_grad=False)
    view = base.view(-1)
    base.add_(1.5)
    assert view.grad_fn is None  # reading it now does not settle it
    base.requires_grad_(True)
    assert type(view.grad_fn).__name__ == "AsStridedBackward0" and not view.is_leaf


def test_in_place_on_an_empty_expanded_view():
    base = torch.zeros((2, 0), requires_grad=True)
    with torch.no_grad():
        view = base.expand(2, 2, 0)
        assert view.mul_(2) is view  # nothing to write (NumPy's expanded array is read-only)
    assert view._version == 1


@pytest.mark.parametrize(("shapes", "kernel"), [(((0,), (0,)), "dot"), (((2, 2), (2,)), "addmv_impl_cpu"),
                                                (((2,), (2, 2)), "addmm_impl_cpu_"), (((2, 2, 2), (2, 2, 2)), "bmm")])
def test_matmul_of_bool_tensors_has_no_kernel(shapes, kernel):
    a, b = (torch.ones(shape, dtype=torch.bool) for shape in shapes)
    with pytest.raises(NotImplementedError, match=f"^\"{kernel}\" not implemented for 'Bool'$"):
        torch.matmul(a, b)


def test_matmul_of_empty_bool_matrices_runs():
    assert torch.matmul(torch.ones((2, 0), dtype=torch.bool), torch.ones((0, 2), dtype=torch.bool)).shape == (2, 2)


def test_post_accumulate_hooks_run_for_a_leaf_that_stopped_requiring_grad():
    a = leaf(1.0, 2.0)
    seen = []
    a.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad))
    out = (a * 2).sum()
    a.requires_grad_(False)
    out.backward()
    assert seen == [None] and a.grad is None  # nothing accumulated, the hook still ran (torch 2.13.0)


def test_zero_and_fill_on_an_expanded_view_write_through_it():
    x = leaf(1.0, 1.0, 1.0)
    y = x * 1
    expanded = y.expand(2, 3)
    expanded.fill_(2)  # a constant may be written to overlapping elements (torch); mul_ may not
    assert y.tolist() == [2.0, 2.0, 2.0] and type(y.grad_fn).__name__ == "CopySlices"
    with pytest.raises(RuntimeError, match="^unsupported operation: more than one element of the written-to tensor"):
        expanded.mul_(2)
    with pytest.raises(RuntimeError, match="^unsupported operation: more than one element of the written-to tensor"):
        (y * 2).sum().backward()  # CopySlices cannot copy the gradient into the overlapping slice (torch, too)


def test_a_view_s_node_is_regenerated_when_read_in_inference_mode():
    a = leaf(0.0, -0.5)
    view = a.view(-1)
    with torch.inference_mode():
        a.zero_()  # no autograd check in inference mode, but the version moves
        assert type(view.grad_fn).__name__ == "AsStridedBackward0" and not view.is_leaf


def test_a_grad_made_in_inference_mode_refuses_accumulation_outside_it():
    a = leaf(1.0, 2.0)
    with torch.inference_mode():
        a.backward(torch.ones(2))  # .grad is a copy made in inference mode: an inference tensor
    assert a.grad.is_inference()
    with pytest.raises(RuntimeError, match="^Inplace update to inference tensor outside InferenceMode"):
        (a * 3).sum().backward()
    assert a.grad.tolist() == [4.0, 4.0]  # written, then refused, as torch 2.13.0


def test_a_no_grad_view_of_an_inference_mode_view_keeps_the_inference_mode_message():
    base = leaf(0.0, 0.0)
    with torch.inference_mode():
        first = base[0:1]
    with torch.no_grad():
        second = first.squeeze()
        base.zero_()
    with pytest.raises(RuntimeError, match="^A view was created in inference mode and its base"):
        _ = second.grad_fn


def test_what_autograd_grad_captures_at_a_non_leaf_input_with_hooks():
    x = leaf(1.0, 2.0)
    y = x * 2
    y.register_hook(lambda g: g * 10)
    y.grad_fn.register_prehook(lambda go: tuple(g * 3 for g in go))
    out = (y * 1).sum()
    # y's node does not run: captured after y's own hooks, without the node's pre-hook
    assert torch.autograd.grad(out, [y], retain_graph=True)[0].tolist() == [10.0, 10.0]
    # y's node runs (to reach x): captured before any hook; x's gradient went through both
    gy, gx = torch.autograd.grad(out, [y, x])
    assert gy.tolist() == [1.0, 1.0] and gx.tolist() == [60.0, 60.0]


def test_retain_grad_sees_the_gradient_of_a_node_that_autograd_grad_does_not_run():
    x = leaf(-0.5, -2.0)
    y = x + 1.0
    y.retain_grad()
    z = -y
    (z + 1).sum().backward()
    with pytest.raises(RuntimeError, match="^The differentiated Tensor at index 0 appears to not have been used"):
        torch.autograd.grad(y, z, grad_outputs=[torch.tensor([-0.5, -0.5], dtype=torch.float64)])
    assert y.grad.tolist() == [-1.5, -1.5]  # torch 2.13.0 adds the root's gradient to the retained one


def test_autograd_grad_runs_no_pre_hook_of_a_node_it_does_not_run():
    calls = []
    x = leaf(1.0, 2.0)
    y = x * 2
    y.grad_fn.register_prehook(lambda go: calls.append("pre"))
    w = y * 3
    w.register_hook(lambda g: calls.append("tensor"))
    out = (w * 1).sum()
    torch.autograd.grad(out, [w], retain_graph=True)  # w's node is a capture target that does not run
    assert calls == ["tensor"]
    torch.autograd.grad(out, [y])  # w's node runs (its tensor hook too); y's node does not: no "pre"
    assert calls == ["tensor", "tensor"]


def test_a_view_made_normally_from_a_no_grad_view_is_named_in_the_refusal():
    # torch 2.13 (default run seed 1001): "Output 0 of View is a view of a view which was created in no_grad mode"
    # when the view was made with grad mode on from a no_grad view of a base that requires grad; "A view was
    # created" when the base did not require grad then
    v1 = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        v2 = v1.view(-1)
    v3, v4 = v2.view(-1), v2.unsqueeze(0)
    with torch.no_grad():
        v1.add_(1.5)
    with pytest.raises(RuntimeError, match="^Output 0 of View is a view of a view which was created in no_grad mode "
                                           "and its base or another view of its base has been modified inplace"):
        _ = v3.grad_fn
    with pytest.raises(RuntimeError, match="^Output 0 of Unsqueeze is a view of a view"):
        v4.add_(1)
    w1 = torch.zeros(2)
    with torch.no_grad():
        w2 = w1.view(-1)
    w3 = w2.view(2)
    w1.requires_grad_()
    with torch.no_grad():
        w1.add_(1.5)
    with pytest.raises(RuntimeError, match="^" + NO_GRAD_REBASE):
        _ = w3.grad_fn


def test_retain_grad_moves_to_the_node_of_an_in_place_op():
    # torch 2.13 (default run seed 1002, graph_state): after v2.retain_grad(); v2.add_(1.5), a backward through
    # the graph built before the in-place op leaves v2.grad None; one through the new node fills it
    v1 = torch.tensor([[0.5], [2.0]], dtype=torch.float64, requires_grad=True)
    v2 = (v1 * v1).sum()
    v7 = -7 * v2
    v2.retain_grad()
    v2.add_(1.5)
    v7.backward(retain_graph=True)
    assert v2.grad is None
    (v2 * 3).backward()
    assert v2.grad.item() == 3.0


def test_hooks_of_a_node_off_the_path_to_the_inputs_do_not_run():
    calls = []
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    u, v = a * 2, b * 3
    u.register_hook(lambda g: calls.append("u"))
    v.register_hook(lambda g: calls.append("v"))
    u.retain_grad()
    y = (u + v).sum()
    assert torch.autograd.grad(y, [b], retain_graph=True)[0].tolist() == [3.0, 3.0]
    y.backward(inputs=[b], retain_graph=True)
    assert calls == ["v", "v"] and u.grad is None and a.grad is None  # torch never queues u's node
    torch.autograd.grad(y, [u], retain_graph=True)  # a capture target is queued: its tensor hooks run
    assert calls == ["v", "v", "u"]


def test_only_a_lone_root_off_the_path_gets_its_tensor_hooks():
    calls = []
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    y = a * a
    y.register_hook(lambda g: calls.append("y"))
    y.grad_fn.register_prehook(lambda go: calls.append("pre"))
    y.retain_grad()
    y.backward(torch.ones(2, dtype=torch.float64), inputs=[b])  # a lone root: tensor hooks and retain_grad only
    assert calls == ["y"] and y.grad.tolist() == [1.0, 1.0] and b.grad is None
    ones = torch.ones(2, dtype=torch.float64)
    assert torch.autograd.grad([y, b * 2], [b], [ones, ones]) is not None
    assert calls == ["y"]  # one of several roots: not queued at all
    y.backward(ones)  # nothing was freed
    assert a.grad.tolist() == [2.0, 4.0]


def test_a_view_whose_base_stopped_requiring_grad_regenerates_an_edgeless_node():
    a = leaf(0.0, 1.0)
    v = a[1:]
    a.requires_grad_(False)
    a.mul_(2)
    node = v.grad_fn
    assert type(node).__name__ == "AsStridedBackward0" and node.next_functions == ((None, 0),)
    assert (v.requires_grad, v.is_leaf) == (True, False)
    (v * 3).sum().backward()
    assert a.grad is None
    with pytest.raises(RuntimeError, match=VIEW_OF_LEAF):
        v.add_(1)


def test_a_view_of_a_no_grad_view_names_its_node_in_the_error():
    b = leaf(1.0, 2.0, 3.0) * 1
    with torch.no_grad():
        v = b.view(-1)
    w = v[1:]  # made with grad on: it has a node, and inherits v's no_grad creation
    tail = "a view of a view which was created in no_grad mode and is being modified inplace with grad mode enabled."
    with pytest.raises(RuntimeError, match="^Output 0 of Slice is " + tail):
        w.mul_(2)
    b.mul_(2)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="^Output 0 of Slice is a view of a view which was created in no_grad "
                                               "mode and its base or another view of its base has been modified"):
            _ = w.grad_fn


def test_unbind_of_a_no_grad_view_with_grad_on_is_a_multi_output_view():
    b = leaf(1.0, 2.0, 3.0) * 1
    with torch.no_grad():
        v = b.view(-1)
    u = v.unbind(0)[2]
    with pytest.raises(RuntimeError, match="^Output 2 of Unbind is a view and is being modified inplace. This view"):
        u.mul_(2)


def test_unbind_of_a_vector_aliases_it_and_a_stale_output_raises_on_every_access():
    b = leaf(1.0, 2.0, 3.0) * 1
    u = b.unbind(0)[0]
    with torch.no_grad():
        u.mul_(2)  # allowed without grad mode, and written through to b
    assert b.tolist() == [2.0, 2.0, 3.0]
    for _ in range(2):
        with pytest.raises(RuntimeError, match="^Output 0 of Unbind is a view and its base or another view of its "
                                               "base has been modified inplace."):
            _ = u.grad_fn


def test_retain_grad_follows_the_tensor_to_its_new_node_after_an_in_place_op():
    calls = []
    a = leaf(1.0, 2.0)
    y = a * 3
    y.retain_grad()
    y.register_hook(lambda g: calls.append(g.tolist()))  # tensor hooks stay on the old node
    z = y * 1
    y.mul_(2)
    (z ** 2).sum().backward(retain_graph=True)  # through y's old node only
    assert y.grad is None and calls == [[6.0, 12.0]]
    y.sum().backward()
    assert y.grad.tolist() == [1.0, 1.0] and calls == [[6.0, 12.0], [2.0, 2.0]]
    b = leaf(1.0, 2.0) * 3
    v = b[0:1]
    b.retain_grad()
    v.retain_grad()
    w = b * 1
    v.mul_(2)  # b's node becomes CopySlices, v's a regenerated AsStridedBackward0: both retain_grads move
    w.sum().backward(retain_graph=True)
    assert b.grad is None and v.grad is None
    b.sum().backward()
    assert b.grad.tolist() == [1.0, 1.0] and v.grad is None


INFERENCE_SAVED = "^Inference tensors cannot be saved for backward."


@pytest.mark.parametrize("op", [
    lambda a, i: a * i, lambda a, i: i / a, lambda a, i: a ** i, lambda a, i: torch.atan2(a, i),
    lambda a, i: a @ i, lambda a, i: i @ a, lambda a, i: a.unsqueeze(0) @ i.unsqueeze(0),
    lambda a, i: torch.matmul(i.expand(4, 1, 3), a.unsqueeze(1))])
def test_saving_an_inference_operand_is_refused_before_a_shape_error(op):
    with torch.inference_mode():
        i = torch.ones(3, dtype=torch.float64)
    a = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match=INFERENCE_SAVED):
        op(a, i)


def test_shape_errors_stay_when_nothing_would_be_saved():
    with torch.inference_mode():
        i = torch.ones(3, dtype=torch.float64)
        batched = torch.ones(4, 2, 3, dtype=torch.float64)
    a = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match="^The size of tensor a \\(2\\) must match the size of tensor b \\(3\\)"):
        a + i  # add saves nothing
    with pytest.raises(RuntimeError, match="^size mismatch, got input \\(12\\), mat \\(12x2\\), vec \\(3\\)"):
        torch.matmul(leaf(1.0, 2.0, 3.0), batched)  # folded into a copy (not an inference tensor), then mv


def test_broadcast_errors_name_the_last_mismatching_dimension():
    with pytest.raises(RuntimeError, match="^The size of tensor a \\(3\\) must match the size of tensor b \\(2\\) "
                                           "at non-singleton dimension 1$"):
        torch.ones(2, 3) + torch.ones(3, 2)
    with pytest.raises(RuntimeError, match="^Expected size for first two dimensions of batch2 tensor to be: "
                                           "\\[4, 3\\] but got: \\[4, 2\\].$"):
        torch.ones(3) @ torch.ones(4, 2, 3)


def test_a_save_every_input_needs_is_made_even_when_no_input_has_an_edge():
    a = leaf(1.0, 2.0, 3.0)
    with torch.inference_mode():
        v = a[0]  # requires grad through its base, but has no edge
    out = v / -0.0  # DivBackward0 saves the divisor for either input's gradient: unconditionally, as torch
    assert out.grad_fn.next_functions == ((None, 0), (None, 0))
    torch.autograd.backward(out)
    with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second time"):
        torch.autograd.backward(out)


def test_a_saved_input_detached_in_place_is_refused():
    a = leaf(0.0, 1.0)
    b = a * 2
    c = (b * b) * 1
    b.detach_()
    with pytest.raises(RuntimeError, match="^Trying to use a saved tensor that has been detached in-place, i.e. "
                                           "with .detach_\\(\\).This is not supported"):
        c.sum().backward()


def test_accumulate_grad_runs_first_and_ties_follow_torch_s_heap():
    order = []
    leaves = [torch.ones(1, dtype=torch.float64, requires_grad=True) for _ in range(7)]
    for i, a in enumerate(leaves):
        a.register_hook(lambda g, i=i: order.append(i))
    torch.stack(leaves).sum().backward()  # seven AccumulateGrads ready at once: std::priority_queue's order
    assert order == [0, 2, 5, 6, 4, 1, 3]
    order.clear()
    mids = [a * 1 if i % 2 else a for i, a in enumerate(leaves)]
    for i in (1, 3, 5):
        mids[i].register_hook(lambda g, i=i: order.append(("mul", i)))
    torch.cat(mids).sum().backward()  # every ready leaf before any MulBackward0
    assert order == [0, 2, 6, 4, ("mul", 5), 5, ("mul", 3), 3, ("mul", 1), 1]


def test_a_number_on_the_left_makes_torch_s_node():
    a = leaf(1.0, 2.0)
    for y in (2 + a, 2 * a):  # the tensor is the node's first input, the number its second (no edge)
        assert [None if n is None else type(n).__name__ for n, _ in y.grad_fn.next_functions] == \
            ["AccumulateGrad", None]
    y = 2 - a  # rsub.Scalar: the number is no input at all
    assert type(y.grad_fn).__name__ == "RsubBackward1" and len(y.grad_fn.next_functions) == 1
    y.sum().backward()
    assert a.grad.tolist() == [-1.0, -1.0]


def test_bce_with_logits_gradients_record_torch_s_nodes():
    f = torch.nn.functional.binary_cross_entropy_with_logits
    x, y = leaf(0.5, -1.0, 2.0), leaf(0.2, 0.7, 1.0)
    pos_weight = torch.tensor([0.5, 1.5, 2.0], dtype=torch.float64)
    gx, gy = torch.autograd.grad(f(x, y), [x, y], create_graph=True)  # a mean: divided last (div_ by numel)
    assert type(gx.grad_fn).__name__ == type(gy.grad_fn).__name__ == "DivBackward1"
    assert type(gx.grad_fn.next_functions[0][0]).__name__ == "MulBackward0"
    gx, = torch.autograd.grad(f(x, y, reduction="sum", pos_weight=pos_weight), [x], create_graph=True)
    names = []
    node = gx.grad_fn
    for _ in range(4):
        names.append(type(node).__name__)
        node = node.next_functions[0][0]
    assert names == ["MulBackward0", "SubBackward0", "MulBackward0", "SubBackward0"]
    assert [round(v, 5) for v in gx.tolist()] == [0.46021, -0.68693, -0.23841]


def test_in_place_on_a_non_overlapping_part_of_an_expanded_view():
    a = torch.zeros(3, dtype=torch.float64)
    row = a.expand(2, 3)[1]  # one row of the expansion: no element repeats, so torch writes through it
    row.mul_(2)
    row.add_(1)
    assert a.tolist() == [1.0, 1.0, 1.0]
    b = torch.tensor(0.0, dtype=torch.float64)
    b.view(-1).expand(2, 1).narrow(0, 0, 1).add_(1.5)
    assert b.item() == 1.5


def test_register_hook_reads_grad_fn_only_the_first_time():
    a = leaf(0.0)
    with torch.no_grad():
        v = a.view(-1)
    with torch.inference_mode():
        a.add_(1.5)  # v's grad_fn now raises on every access
    with pytest.raises(RuntimeError, match=f"^{NO_GRAD_REBASE}"):
        v.register_hook(lambda g: g * 2)
    v.register_hook(lambda g: g * 2)  # torch: _backward_hooks exists, grad_fn is not read again


def test_mean_backward_divides_by_a_number():
    x = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    for y in (x.mean(), x.mean(dim=0)):
        g, = torch.autograd.grad(y, x, torch.ones_like(y).requires_grad_(), create_graph=True)
        assert type(g.grad_fn).__name__ == "DivBackward1"  # torch's mean_backward: sum_backward(...) / n


def test_an_expanded_inference_tensor_refuses_an_overlapping_write_before_writing():
    with torch.inference_mode():
        base = torch.zeros(3, 2, dtype=torch.float64)
        expanded = base.expand(2, 3, 2)
    with pytest.raises(RuntimeError, match="^unsupported operation: more than one element of the written-to"):
        expanded.add_(1)  # torch's kernel check comes first: nothing is written
    assert base.sum().item() == 0.0
    with pytest.raises(RuntimeError, match="^Inplace update to inference tensor outside InferenceMode"):
        expanded[0].add_(1)  # no overlap: written, then refused
    assert base.sum().item() == 6.0


def test_the_saved_accessor_of_a_detached_input_does_not_raise():
    a = leaf(1.0, 2.0)
    b = a * 2
    c = b * b
    b.detach_()
    assert c.grad_fn._saved_self.tolist() == [2.0, 4.0]  # torch checks only inside the node's apply


def test_detach_in_inference_mode_of_a_normal_tensor_is_a_normal_tensor():
    a = torch.zeros(2, dtype=torch.float64)
    with torch.inference_mode():
        d = a.detach()
        i = torch.ones(2)
    assert not d.is_inference() and i.detach().is_inference()
    d.add_(1.5)  # allowed outside inference mode, and written through to a
    assert a.tolist() == [1.5, 1.5]


def test_autograd_grad_returns_the_captured_tensors_themselves():
    # nightly graph-state run of 2026-12-06: torch returns a root's grad_output object as that root's gradient and
    # the VJPs' results as they are (sum's is a view of the grad_output), so requires_grad_ on one shows in the other
    v1 = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    v3 = v1.sum()
    go = torch.tensor(0.0, dtype=torch.float64)
    v5, v6 = torch.autograd.grad(v3, [v1, v3], grad_outputs=[go])
    assert v6 is go and v5._base is go
    v6.requires_grad_(True)
    assert v5.requires_grad and v5.grad_fn is None and v5.is_leaf
    x = torch.tensor(2.0, requires_grad=True)
    y = x * 3
    cotangent = torch.tensor(1.0, requires_grad=True)
    gx, gy = torch.autograd.grad(y, [x, y], grad_outputs=[cotangent])
    assert gy is cotangent and gy.requires_grad and not gx.requires_grad


def test_an_in_place_write_into_an_empty_expanded_view_reaches_the_freed_node():
    """graph10's search (float64, seed 12): the CopySlices gradient of an empty expanded region wrote nothing into a
    read-only array (NumPy's ValueError); torch goes on to the node the first backward freed and raises."""
    v1 = torch.zeros((0,), dtype=torch.float64, requires_grad=True)
    v3 = (v1 * 1) * 3
    v3.sum().backward()
    v4 = v3.expand(2, *v3.shape)
    v4.mul_(2)
    with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second time"):
        v3.sum().backward()
    w1 = torch.zeros((0,), dtype=torch.float64, requires_grad=True)
    w3 = (w1 * 1) * 3
    w3.expand(2, *w3.shape).mul_(2)
    w3.sum().backward()
    assert w1.grad.shape == (0,)
