"""refgrad.utils.data and refgrad.save/load, side by side with torch's (shuffled orders aside: refgrad's random
stream differs from torch's by design)."""
import io
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import refgrad

ENGINES = [torch, refgrad]


def _plain(value):
    """Batches as nested Python values, so torch's and refgrad's compare."""
    if isinstance(value, (torch.Tensor, refgrad.Tensor)):
        return (str(value.dtype).replace("torch.", ""), tuple(value.shape), value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _batches(t, **kwargs):
    x = t.arange(10.0).reshape(5, 2)
    y = t.arange(5)
    return [_plain(b) for b in t.utils.data.DataLoader(t.utils.data.TensorDataset(x, y), **kwargs)]


@pytest.mark.parametrize("kwargs", [dict(batch_size=2), dict(batch_size=2, drop_last=True), dict(batch_size=None),
                                    dict(batch_size=5), dict(batch_size=7)])
def test_loader_batches_and_length_match_torch(kwargs):
    assert _batches(refgrad, **kwargs) == _batches(torch, **kwargs)
    lengths = [len(t.utils.data.DataLoader(t.utils.data.TensorDataset(t.ones(5)), **kwargs)) for t in ENGINES]
    assert lengths[0] == lengths[1]


@pytest.mark.parametrize("samples", [
    [{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}],
    [(1.5, "s"), (2.5, "t")],
    [np.ones(2), np.zeros(2)],
    [True, False],
    [3, 4],
], ids=["dict", "tuple-with-strings", "numpy", "bools", "ints"])
def test_default_collate_matches_torch(samples):
    out = [_plain(next(iter(t.utils.data.DataLoader(samples, batch_size=2)))) for t in ENGINES]
    assert out[1] == out[0]


@pytest.mark.parametrize("samples", [[(1, 2)], [[1, 2]], [{"a": np.ones(1)}], [np.ones(2)], [3],
                                     [(np.ones(1), "x")]])
def test_unbatched_samples_are_converted_as_torch(samples):
    out = [_plain(next(iter(t.utils.data.DataLoader(samples, batch_size=None)))) for t in ENGINES]
    assert out[1] == out[0]


def test_shuffle_is_a_permutation_and_reproducible_with_a_seeded_generator():
    data = list(range(20))

    def order(seed):
        g = refgrad.Generator().manual_seed(seed)
        return [int(v) for b in refgrad.utils.data.DataLoader(data, batch_size=3, shuffle=True, generator=g)
                for v in b]
    assert sorted(order(1)) == data and order(1) == order(1) and order(1) != order(2)


def test_random_split_and_subsets():
    for t in ENGINES:
        a, b = t.utils.data.random_split(range(10), [0.3, 0.7])
        assert (len(a), len(b)) == (3, 7) and sorted(list(a) + list(b)) == list(range(10))
        c = t.utils.data.ConcatDataset([a, b])
        assert len(c) == 10 and c[-1] == b[6]


@pytest.mark.parametrize("call, error", [
    (lambda t: t.utils.data.TensorDataset(t.ones(3), t.ones(2)), AssertionError),
    (lambda t: t.utils.data.random_split(range(10), [3, 3]), ValueError),
    (lambda t: t.utils.data.DataLoader([1], batch_size=0), ValueError),
    (lambda t: t.utils.data.DataLoader([1], shuffle=True, sampler=[0]), ValueError),
])
def test_errors_match_torch(call, error):
    messages = []
    for t in ENGINES:
        with pytest.raises(error) as info:
            call(t)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("t", ENGINES, ids=["torch", "refgrad"])
def test_iterable_dataset_batches(t):
    class Stream(t.utils.data.IterableDataset):
        def __iter__(self):
            return iter([t.tensor(float(i)) for i in range(5)])
    batches = [b.tolist() for b in t.utils.data.DataLoader(Stream(), batch_size=2)]
    assert batches == [[0.0, 1.0], [2.0, 3.0], [4.0]]


def test_save_load_round_trip_of_a_state_dict(tmp_path):
    model = refgrad.nn.Linear(3, 2)
    state = {"model": model.state_dict(), "step": 7, "names": ["a"], "ints": refgrad.tensor([1, 2])}
    refgrad.save(state, tmp_path / "ckpt.pt")
    loaded = refgrad.load(tmp_path / "ckpt.pt")
    assert isinstance(loaded["model"], OrderedDict) and loaded["step"] == 7
    assert refgrad.equal(loaded["model"]["weight"], model.weight) and loaded["ints"].dtype is refgrad.int64
    other = refgrad.nn.Linear(3, 2)
    other.load_state_dict(loaded["model"])
    assert refgrad.equal(other.bias, model.bias)
    buffer = io.BytesIO()
    refgrad.save(model.weight, buffer)
    buffer.seek(0)
    weight = refgrad.load(buffer)
    assert isinstance(weight, refgrad.nn.Parameter) and weight.requires_grad


class _Arbitrary:
    pass


def test_weights_only_refuses_other_objects_as_torch():
    for t in ENGINES:
        buffer = io.BytesIO()
        t.save(_Arbitrary(), buffer)
        buffer.seek(0)
        with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
            t.load(buffer)
        buffer.seek(0)
        assert isinstance(t.load(buffer, weights_only=False), _Arbitrary)
        with pytest.raises(RuntimeError, match="Can not safely load weights when explicit pickle_module is"):
            t.load(buffer, pickle_module=pickle, weights_only=True)
