"""Every layer, loaded with torch's state_dict, gives torch's outputs, parameter and input gradients and updated
buffers (float64), and has torch's state_dict keys and repr."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
IMAGE = RNG.standard_normal((2, 2, 5, 5))
SEQUENCE = RNG.standard_normal((4, 2, 3))
SIGNAL = RNG.standard_normal((2, 3, 6))
TOKENS = np.array([[0, 1, 4], [1, 2, 3]])
QUERY = RNG.standard_normal((3, 2, 4))

ACTIVATIONS = ("nn.Sequential(nn.ELU(0.5), nn.CELU(), nn.SELU(), nn.GELU('tanh'), nn.GELU(), nn.SiLU(), nn.Mish(), "
               "nn.Softplus(2.0), nn.Hardtanh(-0.5, 0.5), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.ReLU())")
ACTIVATIONS_2 = ("nn.Sequential(nn.Softmax(1), nn.LogSoftmax(1), nn.Softmin(0), nn.Hardswish(), nn.Hardsigmoid(), "
                 "nn.Tanhshrink(), nn.Softsign(), nn.LogSigmoid(), nn.Hardshrink(0.1), nn.Softshrink(0.1), "
                 "nn.Threshold(0.1, 2.0), nn.ReLU6(), nn.GLU(), nn.Flatten(0), nn.Unflatten(0, (3, 2)), "
                 "nn.Identity(7))")

# (model expression over nn, inputs, how to call it, training mode)
CASES = {
    "linear": ("nn.Linear(4, 3)", [X], None, True),
    "linear_nobias": ("nn.Linear(4, 2, bias=False)", [X], None, True),
    "bilinear": ("nn.Bilinear(4, 4, 2)", [X, X[::-1].copy()], None, True),
    "conv1d": ("nn.Conv1d(3, 2, 3, padding=2, dilation=2)", [SIGNAL], None, True),
    "conv2d_groups": ("nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2)", [IMAGE], None, True),
    "conv2d_same_reflect": ("nn.Conv2d(2, 3, (3, 2), padding='same', padding_mode='reflect')", [IMAGE], None, True),
    "conv2d_circular": ("nn.Conv2d(2, 3, 3, padding=1, padding_mode='circular', bias=False)", [IMAGE], None, True),
    "conv_transpose2d": ("nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)", [IMAGE], None, True),
    "batchnorm2d_train": ("nn.BatchNorm2d(2)", [IMAGE], None, True),
    "batchnorm2d_eval": ("nn.BatchNorm2d(2)", [IMAGE], None, False),
    "batchnorm1d_cumulative": ("nn.BatchNorm1d(4, momentum=None)", [X], None, True),
    "batchnorm1d_untracked": ("nn.BatchNorm1d(3, affine=False, track_running_stats=False)", [SIGNAL], None, False),
    "layernorm": ("nn.LayerNorm(4)", [X], None, True),
    "groupnorm": ("nn.GroupNorm(2, 2)", [IMAGE], None, True),
    "rmsnorm": ("nn.RMSNorm([3, 4])", [X[None]], None, True),
    "embedding": ("nn.Embedding(5, 3, padding_idx=1)", [TOKENS], None, True),
    "rnn_cell": ("nn.RNNCell(4, 3)", [X], None, True),
    "rnn_cell_relu_unbatched": ("nn.RNNCell(4, 3, nonlinearity='relu')", [X[0]], None, True),
    "lstm_cell": ("nn.LSTMCell(4, 3)", [X], None, True),
    "gru_cell": ("nn.GRUCell(4, 3, bias=False)", [X], None, True),
    "rnn": ("nn.RNN(3, 4, num_layers=2, nonlinearity='relu')", [SEQUENCE], None, True),
    "lstm_bidirectional": ("nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)", [SEQUENCE], None,
                           True),
    "lstm_proj": ("nn.LSTM(3, 4, proj_size=2)", [SEQUENCE], None, True),
    "gru_unbatched": ("nn.GRU(3, 4, bidirectional=True)", [SEQUENCE[:, 0]], None, True),
    "attention": ("nn.MultiheadAttention(4, 2)", [QUERY], lambda m, x: m(x, x, x), True),
    "attention_cross_per_head": ("nn.MultiheadAttention(4, 2, batch_first=True)",
                                 [QUERY.transpose(1, 0, 2), RNG.standard_normal((2, 5, 4))],
                                 lambda m, q, k: m(q, k, k, average_attn_weights=False), True),
    "attention_masks": ("nn.MultiheadAttention(4, 2, bias=False)", [QUERY],
                        lambda m, x: m(x, x, x, is_causal=False, attn_mask=_causal(m, 3),
                                       key_padding_mask=_padding(m)), True),
    "attention_unbatched_no_weights": ("nn.MultiheadAttention(4, 1)", [QUERY[:, 0]],
                                       lambda m, x: m(x, x, x, need_weights=False), True),
    "prelu": ("nn.PReLU(2)", [IMAGE], None, True),
    "pools_2d": ("nn.Sequential(nn.MaxPool2d(2, stride=1, padding=1, dilation=2), nn.AvgPool2d(2, ceil_mode=True, "
                 "count_include_pad=False), nn.AdaptiveAvgPool2d((2, 1)))", [IMAGE], None, True),
    "pools_1d": ("nn.Sequential(nn.MaxPool1d(3, 1, 1), nn.AvgPool1d(2), nn.AdaptiveAvgPool1d(2))", [SIGNAL], None,
                 True),
    "adaptive_max_with_indices": ("nn.AdaptiveMaxPool2d(3, return_indices=True)", [IMAGE], None, True),
    "max_pool_with_indices": ("nn.MaxPool2d((2, 3), return_indices=True, ceil_mode=True)", [IMAGE], None, True),
    "pools_3d": ("nn.Sequential(nn.MaxPool3d(2, stride=1, padding=1), nn.AvgPool3d(2, ceil_mode=True), "
                 "nn.AdaptiveAvgPool3d((2, 1, 2)), nn.AdaptiveMaxPool3d(1))", [IMAGE[None]], None, True),
    "adaptive_max_1d": ("nn.AdaptiveMaxPool1d(4, return_indices=True)", [SIGNAL], None, True),
    "unfold_fold": ("nn.Sequential(nn.Unfold(2, padding=1), nn.Fold((5, 5), 2, padding=1))", [IMAGE], None, True),
    "max_unpool": ("nn.MaxUnpool2d(2)", [IMAGE[..., :4, :4]],
                   lambda m, x: m(*_module_of(m).nn.functional.max_pool2d(x, 2, return_indices=True)), True),
    "local_response_norm": ("nn.LocalResponseNorm(2, alpha=0.5)", [IMAGE], None, True),
    "embedding_bag": ("nn.EmbeddingBag(5, 3, mode='max', padding_idx=1)", [TOKENS],
                      lambda m, t: m(t.reshape(-1), _module_of(m).tensor([0, 2])), True),
    "activations": (ACTIVATIONS, [X], None, True),
    "activations_2": (ACTIVATIONS_2, [X], None, True),
}


def _module_of(m):
    return torch if type(m).__module__.startswith("torch") else refgrad


def _causal(m, n):
    t = _module_of(m)
    return t.ones(n, n).triu(1).bool()


def _padding(m):
    t = _module_of(m)
    return t.tensor([[False, False, True], [False, False, False]])


def _run(t, expr, inputs, call, train, state):
    model = eval(expr, {"nn": t.nn}).double()
    assert list(model.state_dict()) == list(state)
    model.load_state_dict({k: t.tensor(v) for k, v in state.items()})
    model.train(train)
    leaves = [t.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    out = call(model, *leaves) if call else model(*leaves)
    flat = []
    for item in out if isinstance(out, tuple) else (out,):
        flat += [o for o in (item if isinstance(item, tuple) else (item,)) if o is not None]
    weights = [t.tensor(np.sin(np.arange(o.numel()) + 1.0).reshape(tuple(o.shape))) for o in flat]
    sum(((o * w).sum() for o, w in zip(flat, weights))).backward()
    grads = [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]
    grads += [x.grad.numpy().copy() for x in leaves if x.requires_grad]
    return ([o.detach().numpy().copy() for o in flat], grads,
            {k: v.numpy().copy() for k, v in model.state_dict().items()}, repr(model))


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_torch(case):
    expr, inputs, call, train = CASES[case]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        state = {k: v.numpy() for k, v in eval(expr, {"nn": torch.nn}).double().state_dict().items()}
    ref_out, ref_grads, ref_state, ref_repr = _run(torch, expr, inputs, call, train, state)
    out, grads, new_state, text = _run(refgrad, expr, inputs, call, train, state)
    assert text == ref_repr
    assert len(out) == len(ref_out)
    for got, want in zip(out, ref_out):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert [g is None for g in grads] == [g is None for g in ref_grads]
    for got, want in zip(grads, ref_grads):
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    for key, want in ref_state.items():
        np.testing.assert_allclose(new_state[key], want, rtol=1e-12, atol=1e-14, err_msg=key)
