"""Output memory layouts torch makes C-contiguous from contiguous inputs, where NumPy's own choice was another
(found by a survey of the specs' outputs, 2026-12-07): conv's contraction, cummax/cummin's running index, topk
along a leading dim, index_select and advanced indexing along a trailing dim, t_copy. A layout is observable:
``stride()``, ``is_contiguous()`` and whether ``view`` works (``relu(conv(x)).view(n, -1)``, the usual flatten
of a CNN, raised in refgrad)."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
X4, W4 = RNG.standard_normal((2, 3, 5, 5)), RNG.standard_normal((4, 3, 3, 3))
X3, W3 = RNG.standard_normal((2, 3, 7)), RNG.standard_normal((4, 3, 3))
X5, W5 = RNG.standard_normal((1, 2, 4, 4, 4)), RNG.standard_normal((3, 2, 2, 2, 2))
A = np.arange(24.0).reshape(2, 3, 4)
M = np.arange(12.0).reshape(3, 4)

CASES = {
    "conv1d": lambda t: t.nn.functional.conv1d(t.tensor(X3), t.tensor(W3), t.tensor(np.ones(4))),
    "conv2d": lambda t: t.nn.functional.conv2d(t.tensor(X4), t.tensor(W4)),
    "conv2d.groups": lambda t: t.nn.functional.conv2d(t.tensor(X4[:, :2]), t.tensor(W4[:, :1]), groups=2),
    "conv3d": lambda t: t.nn.functional.conv3d(t.tensor(X5), t.tensor(W5)),
    "conv_transpose2d": lambda t: t.nn.functional.conv_transpose2d(t.tensor(X4), t.tensor(W4.transpose(1, 0, 2, 3))),
    "cummax": lambda t: t.cummax(t.tensor(A), 1).values,
    "cummax.indices": lambda t: t.cummax(t.tensor(A), 1).indices,
    "cummin": lambda t: t.cummin(t.tensor(A), 0).values,
    "topk.dim0": lambda t: t.topk(t.tensor(M), 2, dim=0).values,
    "topk.dim0.indices": lambda t: t.topk(t.tensor(M), 2, dim=0).indices,
    "index_select.last": lambda t: t.index_select(t.tensor(M), -1, t.tensor([0, 3, 2])),
    "advanced_index.last": lambda t: t.tensor(A)[:, :, [3, 0]],
    "t_copy": lambda t: t.t_copy(t.tensor(M)),
    # C-contiguous from a transposed input too (NumPy kept the input's order)
    "tril.transposed": lambda t: t.tril(t.tensor(M.T.copy()).t()),
    "triu.transposed": lambda t: t.triu(t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), 1),
    "mvlgamma.transposed": lambda t: t.mvlgamma(t.tensor(M.T.copy() + 3).t(), 2),
    # rot90: a transposed view of a flipped copy for odd k (NumPy's copy was C-contiguous), a flip keeping the
    # input's order for k = 2, a C-contiguous clone for k = 0
    # torch's transpose_ of a C-contiguous spectrum / sorted copy (refgrad's stand-in copied it C-contiguous)
    "stft": lambda t: t.stft(t.tensor(X3[0]), 4, window=t.ones(4, dtype=t.float64), return_complex=True),
    "stft.real": lambda t: t.stft(t.tensor(X3[0, 0]), 4, window=t.ones(4, dtype=t.float64), return_complex=False),
    "quantile.dim0": lambda t: t.quantile(t.tensor(A), t.tensor([0.2, 0.5], dtype=t.float64), dim=0),
    # reductions allocate C-contiguous outputs; flip keeps the input's order; cat is C-contiguous unless every
    # input is channels-last (NumPy kept a transposed input's order, or made flip's copy C-contiguous)
    "sum.dim.transposed": lambda t: t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0).sum(1),
    "mean.dim.permuted": lambda t: t.tensor(A.transpose(0, 2, 1).copy()).permute(0, 2, 1).mean(0),
    "var.transposed": lambda t: t.var(t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), 1),
    "logsumexp.transposed": lambda t: t.logsumexp(t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), 1),
    "vector_norm.transposed": lambda t: t.linalg.vector_norm(t.tensor(A.transpose(1, 0, 2).copy()).transpose(0, 1),
                                                             dim=-1),
    "flip.transposed": lambda t: t.flip(t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), (0,)),
    "cat.transposed": lambda t: t.cat([t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0)] * 2, 2),
    "cat.channels_last": lambda t: t.cat([t.tensor(X4.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2)] * 2, 1),
    "rot90": lambda t: t.rot90(t.tensor(M)),
    "rot90.k3.dims02": lambda t: t.rot90(t.tensor(A), 3, (0, 2)),
    "rot90.k2.transposed": lambda t: t.rot90(t.tensor(M.T.copy()).t(), 2),
    "rot90.k0.transposed": lambda t: t.rot90(t.tensor(M.T.copy()).t(), 0),
    # softmax, log_softmax and the scans write C-contiguous outputs whatever the input's order (NumPy kept it)
    "softmax.transposed": lambda t: t.softmax(t.tensor(M.T.copy()).t(), 1),
    "log_softmax.transposed": lambda t: t.log_softmax(t.tensor(M.T.copy()).t(), 0),
    "log_softmax.permuted": lambda t: t.log_softmax(t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), 1),
    "cumsum.transposed": lambda t: t.cumsum(t.tensor(M.T.copy()).t(), 1),
    "cumprod.permuted": lambda t: t.cumprod(t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), 2),
    "logcumsumexp.transposed": lambda t: t.logcumsumexp(t.tensor(M.T.copy()).t(), 0),
    # found by the forward property's layout observable (2026-12-07, lay11b)
    # unsafe_split's chunks share the input's strides (torch slices it, without view tracking)
    "unsafe_split.sliced": lambda t: t.unsafe_split(t.tensor(np.repeat(A, 2, -1))[..., ::2], 2, 1)[0],
    "unsafe_split.transposed": lambda t: t.unsafe_split(t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), 1)[1],
    # roll and batch_norm write in the input's suggested memory format: C-contiguous unless channels-last
    "roll.transposed": lambda t: t.roll(t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), 1, 0),
    "roll.channels_last": lambda t: t.roll(t.tensor(X4.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2), 1, 2),
    "batch_norm.eval.permuted": lambda t: t.nn.functional.batch_norm(
        t.tensor(X4.transpose(1, 0, 2, 3).copy()).transpose(0, 1), t.zeros(3, dtype=t.float64),
        t.ones(3, dtype=t.float64)),
    "batch_norm.train.transposed": lambda t: t.nn.functional.batch_norm(
        t.tensor(X3.transpose(2, 1, 0).copy()).permute(2, 1, 0), None, None, training=True),
    "batch_norm.eval.channels_last": lambda t: t.nn.functional.batch_norm(
        t.tensor(X4.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2), t.zeros(3, dtype=t.float64),
        t.ones(3, dtype=t.float64)),
    "batch_norm.sliced_channels_last": lambda t: t.nn.functional.batch_norm(
        t.tensor(X4.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2)[..., ::2], None, None, training=True),
    # layer norm's output and statistics are C-contiguous, channels-last input included
    "layer_norm.channels_last": lambda t: t.nn.functional.layer_norm(
        t.tensor(X4.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2), (5,)),
    "native_layer_norm.transposed": lambda t: t.native_layer_norm(
        t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), (4,), None, None, 1e-5)[0],
    "native_layer_norm.rstd.permuted": lambda t: t.native_layer_norm(
        t.tensor(A.transpose(1, 0, 2).copy()).transpose(0, 1), (4,), None, None, 1e-5)[2],
    # sort (msort) sorts a clone of the input: values and indices keep a permuted input's order
    "msort.transposed": lambda t: t.msort(t.tensor(M.T.copy()).t()),
    "sort.indices.permuted": lambda t: t.sort(t.tensor(A.transpose(2, 0, 1).copy()).permute(1, 2, 0), 1).indices,
    # index_fill, index_put and put write into a clone of the input (its order kept)
    "index_fill.transposed": lambda t: t.tensor(M.T.copy()).t().index_fill(0, t.tensor([1]), 0.0),
    "index_put.permuted": lambda t: t.tensor(A.transpose(2, 0, 1).copy()).permute(1, 2, 0).index_put(
        (t.tensor([0]),), t.tensor(1.0, dtype=t.float64)),
    "put.transposed": lambda t: t.tensor(M.T.copy()).t().put(t.tensor([0]), t.tensor([1.0], dtype=t.float64)),
    "masked_fill.transposed": lambda t: t.tensor(M.T.copy()).t().masked_fill(t.tensor(M.T.copy()).t() > 5, 0.0),
    "masked_fill.tensor.channels_last": lambda t: t.tensor(X4.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2)
    .masked_fill(t.tensor(True), t.tensor(1.0, dtype=t.float64)),
    "renorm.transposed": lambda t: t.renorm(t.tensor(A.transpose(2, 1, 0).copy()).permute(2, 1, 0), 2.0, 0, 1.0),
    # a real FFT's halved dim innermost, then the other transformed dims in the input's memory order
    "rfftn.dims201": lambda t: t.fft.rfftn(t.tensor(A), dim=(2, 0, 1)),
    "irfftn.dims120.transposed": lambda t: t.fft.irfftn(t.tensor(A.transpose(2, 1, 0).copy() + 0j).permute(2, 1, 0),
                                                        dim=(1, 2, 0)),
    # s= zero-pads with constant_pad_nd, C-contiguous from a transposed input (np.pad kept Fortran order)
    "irfftn.padded.transposed": lambda t: t.fft.irfftn(t.tensor(A.transpose(2, 1, 0).copy() + 0j).permute(2, 1, 0),
                                                       s=(5, 3, -1), dim=(1, 0, 2)),
}


def _layout(module, case):
    out = CASES[case](module)
    strides = tuple(s for s, n in zip(out.stride(), out.shape) if n > 1)
    try:
        out.view(-1)
        viewable = True
    except RuntimeError:
        viewable = False
    return strides, out.is_contiguous(), viewable


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_layout_matches_torch(case):
    assert _layout(refgrad, case) == _layout(torch, case)


def test_the_flatten_of_a_cnn_views_its_activations():
    x = refgrad.tensor(X4, dtype=refgrad.float32)
    conv = refgrad.nn.Conv2d(3, 4, 3)
    assert refgrad.relu(conv(x)).view(2, -1).shape == (2, 4 * 3 * 3)


def _outcome(module, fn):
    try:
        out = fn(module)
    except RuntimeError as error:
        return "raises " + str(error)
    return tuple(out.stride())


LRN_INPUT = RNG.standard_normal((2, 2, 1, 3, 2))
LAYOUT_DEPENDENT = {  # whether torch raises depends on the input's layout (found by the forward property)
    # local_response_norm views input * input (laid out like the input): a transposed 5-D input raises
    "local_response_norm.transposed": lambda t: t.nn.functional.local_response_norm(
        t.tensor(LRN_INPUT.transpose(4, 3, 2, 1, 0).copy()).permute(4, 3, 2, 1, 0), 4),
    "local_response_norm": lambda t: t.nn.functional.local_response_norm(t.tensor(LRN_INPUT), 3),
    # view_copy copies: no viewable strides needed
    "view_copy.transposed": lambda t: t.view_copy(t.tensor(M.T.copy()).t(), (12,)),
    "view_copy.bad_size": lambda t: t.view_copy(t.tensor(M.T.copy()).t(), (5,)),
}


@pytest.mark.parametrize("case", sorted(LAYOUT_DEPENDENT))
def test_layout_dependent_errors_match_torch(case):
    assert _outcome(refgrad, LAYOUT_DEPENDENT[case]) == _outcome(torch, LAYOUT_DEPENDENT[case])


Q = RNG.standard_normal((2, 2, 3, 4))
LINEAR_W = RNG.standard_normal((4, 7))
HEAD1 = RNG.standard_normal((1, 1, 3, 1))
LAYOUT_DEPENDENT_NODES = {  # torch picks its kernel (so the node) by the inputs' layout
    "linear.transposed_batch": lambda t: t.nn.functional.linear(
        t.tensor(X3.transpose(1, 0, 2).copy()).transpose(0, 1).requires_grad_(), t.tensor(LINEAR_W), t.tensor(
            np.ones(4))),
    "linear.contiguous": lambda t: t.nn.functional.linear(t.tensor(X3).requires_grad_(), t.tensor(LINEAR_W),
                                                          t.tensor(np.ones(4))),
    "sdpa.contiguous": lambda t: t.nn.functional.scaled_dot_product_attention(*(t.tensor(Q).requires_grad_(),) * 3),
    "sdpa.heads_transposed": lambda t: t.nn.functional.scaled_dot_product_attention(
        t.tensor(Q.transpose(0, 2, 1, 3).copy()).transpose(1, 2).requires_grad_(), t.tensor(Q), t.tensor(Q)),
    "sdpa.fortran_query": lambda t: t.nn.functional.scaled_dot_product_attention(
        t.tensor(Q.transpose(3, 2, 1, 0).copy()).permute(3, 2, 1, 0).requires_grad_(), t.tensor(Q), t.tensor(Q)),
    "sdpa.sliced_value": lambda t: t.nn.functional.scaled_dot_product_attention(
        t.tensor(Q).requires_grad_(), t.tensor(Q), t.tensor(np.repeat(Q, 2, -1))[..., ::2]),
    # clone keeps a dense input's strides, a size-1 dimension's too: a cloned Fortran-ordered query of head size 1
    # keeps its last dimension's stride 3, so takes the math path (the errors property's inplace_input scenario
    # clones its inputs: refgrad's flash node then saved the float mask, whose in-place change raised)
    "clone.fortran_head_size_1": lambda t: t.tensor(HEAD1.transpose(3, 2, 1, 0).copy()).permute(3, 2, 1, 0)
    .requires_grad_().clone(),
    "sdpa.cloned_fortran_head_size_1": lambda t: t.nn.functional.scaled_dot_product_attention(
        t.tensor(HEAD1.transpose(3, 2, 1, 0).copy()).permute(3, 2, 1, 0).requires_grad_().clone(), t.tensor(HEAD1),
        t.tensor(HEAD1), attn_mask=t.tensor(M[:3, :3])),
}


@pytest.mark.parametrize("case", sorted(LAYOUT_DEPENDENT_NODES))
def test_layout_dependent_nodes_match_torch(case):
    def node(module):
        out = LAYOUT_DEPENDENT_NODES[case](module)
        return type(out.grad_fn).__name__, tuple(out.stride())
    assert node(refgrad) == node(torch)
