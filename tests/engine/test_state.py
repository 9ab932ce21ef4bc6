"""Graph state: grad modes, detach, hooks, in-place ops with version counting, and views (torch 2.13.0)."""
from __future__ import annotations

import pytest

import refgrad as torch


def leaf(*values):
    return torch.tensor(list(values), dtype=torch.float64, requires_grad=True)


# --- grad modes ------------------------------------------------------------------------------------------------

def test_no_grad_results_are_leaves_that_do_not_require_grad():
    x = leaf(1.0)
    with torch.no_grad():
        y = x * 2
    assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)


def test_grad_modes_nest_and_restore():
    assert torch.is_grad_enabled()
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        with torch.enable_grad():
            assert torch.is_grad_enabled()
            with torch.set_grad_enabled(False):
                assert not torch.is_grad_enabled()
            assert torch.is_grad_enabled()
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()


def test_set_grad_enabled_as_a_function_call():
    torch.set_grad_enabled(False)
    try:
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)
    assert torch.is_grad_enabled()


def test_grad_modes_as_decorators():
    x = leaf(1.0)

    @torch.no_grad()
    def frozen():
        return x * 2

    @torch.enable_grad()
    def tracked():
        return x * 2

    @torch.set_grad_enabled(False)
    def frozen_too():
        return x * 2

    assert torch.is_grad_enabled()  # decorating does not switch the mode
    assert not frozen().requires_grad and not frozen_too().requires_grad
    with torch.no_grad():
        assert tracked().requires_grad


def test_inference_mode():
    x = leaf(1.0)
    with torch.inference_mode():
        y = x * 2
        assert torch.is_inference_mode_enabled() and not torch.is_grad_enabled()
    assert not y.requires_grad and y.is_inference()
    assert not torch.is_inference_mode_enabled()


def test_grad_mode_restored_after_an_exception():
    with pytest.raises(ValueError):
        with torch.no_grad():
            raise ValueError
    assert torch.is_grad_enabled()


# --- detach ------------------------------------------------------------------------------------------------------

def test_grad_mode_is_per_thread_and_new_threads_start_enabled():
    import threading
    seen = []
    with torch.no_grad():
        thread = threading.Thread(target=lambda: seen.append(torch.is_grad_enabled()))
        thread.start()
        thread.join()
        assert not torch.is_grad_enabled()
    assert seen == [True]


def test_forwards_never_warn_on_floating_point_exceptions_and_leave_numpy_state_alone():
    """torch's kernels return inf/NaN silently; refgrad's forwards run with NumPy's FP errors ignored, and the
    caller's np.errstate (here: raise on everything) is in force again right after."""
    import warnings

    import numpy as np
    x = torch.tensor([0.0, -1.0, 1e308], dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            y = (1 / x + x.log() + x * 10).sum()  # divide by zero, invalid, overflow
            y.backward()
            with pytest.raises(FloatingPointError):
                np.ones(1) / np.zeros(1)
    assert np.isnan(y.item()) and x.grad.shape == (3,)


def test_numpy_of_a_tensor_that_requires_grad_is_allowed_only_without_grad_mode():
    x = leaf(1.0)
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        x.numpy()
    with torch.no_grad():
        assert x.numpy().tolist() == [1.0]  # torch 2.13: allowed under no_grad and inference_mode
    with torch.inference_mode():
        assert x.numpy().tolist() == [1.0]


def test_detach_shares_data_and_version_counter():
    x = leaf(1.0, 2.0)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    d.add_(1)
    assert x.tolist() == [2.0, 3.0] and x._version == 1


def test_in_place_on_a_detached_alias_of_a_saved_tensor_is_caught():
    x = leaf(1.0, 2.0)
    a = x.exp()
    b = a * a
    a.detach().add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: \[torch.DoubleTensor \[2\]\], which "
                                           r"is output 0 of Exp, is at version 1; expected version 0 instead"):
        b.sum().backward()


def test_dot_data_has_its_own_version_counter():
    x = leaf(1.0)
    x.data.add_(1)
    assert x._version == 0 and x.tolist() == [2.0]


def test_detach_in_place():
    y = leaf(1.0) * 2
    y.detach_()
    assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)


# --- hooks --------------------------------------------------------------------------------------------------------

def test_tensor_hook_sees_and_replaces_the_gradient():
    x = leaf(1.0, 2.0)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    handle = x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_hook_on_a_non_leaf_changes_what_flows_upstream():
    x = leaf(1.0)
    h = x * 2
    h.register_hook(lambda g: g * 0)
    (h * 5).sum().backward()
    assert x.grad.tolist() == [0.0]


def test_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        torch.ones(1).register_hook(lambda g: g)


# --- in-place -----------------------------------------------------------------------------------------------------

def test_in_place_on_a_leaf_that_requires_grad_raises():
    with pytest.raises(RuntimeError, match=r"^a leaf Variable that requires grad is being used in an in-place "
                                           r"operation.$"):
        leaf(1.0).add_(1)


def test_in_place_on_a_leaf_under_no_grad_is_allowed_and_bumps_the_version():
    w = leaf(1.0)
    with torch.no_grad():
        w -= 0.5 * torch.ones(1, dtype=torch.float64)
    assert w.tolist() == [0.5] and w._version == 1 and w.requires_grad and w.is_leaf


def test_modified_saved_leaf_is_caught_with_torch_message():
    x = leaf(1.0, 2.0)
    y = x * x
    with torch.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    assert str(info.value) == (
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        "[torch.DoubleTensor [2]] is at version 1; expected version 0 instead. Hint: enable anomaly detection to "
        "find the operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True, check_nan=False).")


def test_in_place_rewrites_history():
    x = leaf(1.0, 2.0)
    y = x * 2
    y.add_(1)
    assert type(y.grad_fn).__name__ == "AddBackward0"
    assert type(y.grad_fn.next_functions[0][0]).__name__ == "MulBackward0"
    y.mul_(torch.tensor([2.0, 3.0], dtype=torch.float64))
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 6.0]


def test_in_place_with_an_alias_of_itself_is_caught_as_in_torch():
    y = leaf(1.0, 2.0) * 2
    y.mul_(y.detach())  # the saved ``other`` shares y's version counter, which mul_ then bumps
    with pytest.raises(RuntimeError, match=r"\[torch.DoubleTensor \[2\]\] is at version 1; expected version 0"):
        y.sum().backward()


def test_in_place_result_saved_then_modified_is_caught():
    x = leaf(1.0)
    y = x * 1
    y.exp_()
    z = y * 1  # nothing else saved y... but exp_ saved its result (y itself)
    y.add_(1)
    with pytest.raises(RuntimeError, match="which is output 0 of Exp"):
        z.sum().backward()


def test_in_place_type_error_for_float_into_int():
    t = torch.ones(2, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        t.add_(torch.ones(2))


# --- views --------------------------------------------------------------------------------------------------------

def test_views_share_storage_and_version():
    base = torch.zeros(2, 3)
    view = base[0]
    view.add_(1)
    assert base.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    assert base._version == view._version == 1
    assert view._base is base


def test_in_place_through_a_view_rewrites_the_base_history():
    x = leaf(1.0, 2.0, 3.0)
    base = x.clone()
    view = base[1:]
    view.mul_(10)
    assert type(base.grad_fn).__name__ == "CopySlices"
    assert type(view.grad_fn).__name__ == "AsStridedBackward0"
    base.sum().backward()
    assert x.grad.tolist() == [1.0, 10.0, 10.0]


def test_setitem_records_copy_slices():
    w = leaf(5.0)
    z = torch.zeros(3, dtype=torch.float64)
    z[1] = w
    assert type(z.grad_fn).__name__ == "CopySlices"
    (z * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert w.grad.tolist() == [2.0]


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_raises():
    with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad is being used in an "
                                           "in-place operation.$"):
        leaf(1.0, 2.0)[0].mul_(2)


def test_view_created_in_no_grad_modified_with_grad_on_raises():
    base = leaf(1.0, 2.0).clone()
    with torch.no_grad():
        view = base.view(2)
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode and is being modified inplace"):
        view.mul_(2)
