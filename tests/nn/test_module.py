"""refgrad.nn semantics pinned without torch: registration, state_dict sharing, modes, BatchNorm statistics,
Dropout, hooks removal, copying and pickling, and a training loop that learns."""
import copy
import pickle

import numpy as np
import pytest

import refgrad as torch
from refgrad import nn


def test_parameter_is_a_leaf_tensor_sharing_its_data():
    data = torch.tensor([1.0, 2.0])
    param = nn.Parameter(data)
    assert isinstance(param, torch.Tensor) and param.is_leaf and param.requires_grad
    data.add_(1)  # shares storage and version counter with the wrapped tensor, as torch
    assert param.tolist() == [2.0, 3.0] and param._version == data._version
    assert type(param * 2) is torch.Tensor and type(param.detach()) is torch.Tensor
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(torch.tensor([1, 2]))
    assert not nn.Parameter(torch.tensor([1, 2]), requires_grad=False).requires_grad


def test_state_dict_is_detached_and_shares_storage():
    model = nn.Linear(2, 2)
    state = model.state_dict()
    assert not state["weight"].requires_grad
    state["weight"].zero_()
    assert model.weight.abs().sum().item() == 0
    assert model.state_dict(keep_vars=True)["weight"] is model.weight


def test_load_state_dict_copies_values_in_place():
    source, target = nn.Linear(3, 2), nn.Linear(3, 2)
    weight = target.weight
    version = weight._version
    result = target.load_state_dict(source.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert target.weight is weight and weight._version > version
    np.testing.assert_array_equal(target.weight.detach().numpy(), source.weight.detach().numpy())
    missing = target.load_state_dict({"weight": source.weight.detach()}, strict=False)
    assert missing.missing_keys == ["bias"] and missing.unexpected_keys == []


def test_batchnorm_running_statistics_and_momentum():
    x = torch.tensor([[1.0, 10.0], [3.0, 14.0], [5.0, 12.0]])
    bn = nn.BatchNorm1d(2, momentum=0.5)
    bn(x)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.5 * np.array([3.0, 12.0]))
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * np.array([4.0, 4.0]))  # unbiased variance
    assert bn.num_batches_tracked.item() == 1
    cumulative = nn.BatchNorm1d(2, momentum=None)
    cumulative(x)
    cumulative(x * 0)
    np.testing.assert_allclose(cumulative.running_mean.numpy(), np.array([3.0, 12.0]) / 2)
    bn.eval()
    out = bn(x)
    expected = (x.numpy() - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6)
    assert bn.num_batches_tracked.item() == 1  # eval does not count
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(torch.zeros(1, 2, 3, 4))


def test_dropout_in_train_and_eval():
    torch.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = torch.ones(4000)
    out = drop(x)
    kept = out.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.03
    np.testing.assert_allclose(out.numpy()[kept], 1 / 0.75)
    assert drop.eval()(x) is x


def test_hooks_can_be_removed_and_handles_are_context_managers():
    model = nn.Linear(2, 1)
    calls = []
    with model.register_forward_hook(lambda m, a, o: calls.append("fwd")):
        model(torch.zeros(1, 2))
    model(torch.zeros(1, 2))
    handle = model.register_full_backward_hook(lambda m, gi, go: calls.append("bwd"))
    model(torch.zeros(1, 2, requires_grad=True)).sum().backward()
    handle.remove()
    model(torch.zeros(1, 2, requires_grad=True)).sum().backward()
    assert calls == ["fwd", "bwd"]


def test_deepcopy_and_pickle_keep_parameters_distinct_and_equal():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert isinstance(clone[0].weight, nn.Parameter)
        assert clone[0].weight is not model[0].weight
        for (key, a), b in zip(model.state_dict().items(), clone.state_dict().values()):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=key)


def test_module_to_refuses_other_devices_and_integer_dtypes():
    model = nn.Linear(1, 1)
    assert model.to("cpu") is model
    with pytest.raises(RuntimeError, match="CPU only"):
        model.to("cuda")
    with pytest.raises(TypeError, match="floating point"):
        model.to(torch.int64)


def test_a_small_training_loop_learns():
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    y = (x[:, 0] * x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(150):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.3 * first
    assert scheduler.get_last_lr() == [0.05 * 0.125]
