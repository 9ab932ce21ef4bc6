"""Output memory layouts of transposed, sliced and expanded inputs, against torch (the tail a survey of the specs,
``python -m conformance.survey_layouts``, and default conformance runs met on 2026-12-07): reductions and a few
kernels allocate C-contiguous outputs (amax, all/any, count_nonzero, median along a dim, logsigmoid, repeat,
cdist, pow of a number...), one-operand kernels made of several NumPy calls keep the operand's order (i0,
special.i1, ndtri, polygamma, nan_to_num of integers, polar), the *_scatter ops keep the input's very strides
(torch's clone_preserve_strides), masked ops follow the mask's order, a pad that only narrows clones in the
input's order, group_norm writes its input's suggested memory format (channels-last), conj (a view in torch)
keeps the input's strides."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")


def _laid(t, shape, kind, dtype="float64"):
    """A tensor of ``shape`` laid out as ``kind``: "t" (dims reversed in memory), "s" (every other element of the
    last dim), "e" (expanded along the last dim)."""
    def dense(sh):
        values = (np.arange(int(np.prod(sh))) % 7 + 1) / 9.0
        x = t.tensor(values.reshape(sh).tolist(), dtype=getattr(t, dtype) if dtype != "bool" else t.float64)
        return x > 0.4 if dtype == "bool" else x
    if kind == "t":
        return dense(tuple(reversed(shape))).permute(*reversed(range(len(shape))))
    if kind == "s":
        return dense(shape[:-1] + (2 * shape[-1],))[..., ::2]
    return dense(shape[:-1] + (1,)).expand(*shape)


S = (2, 3, 4)
CASES = {
    "amax.keepdim": lambda t, k: t.amax(_laid(t, S, k), 1, keepdim=True),
    "aminmax": lambda t, k: t.aminmax(_laid(t, S, k), dim=1, keepdim=True).max,
    "median.dim": lambda t, k: t.median(_laid(t, S, k), 1, keepdim=True).values,
    "nanmedian.dim.indices": lambda t, k: t.nanmedian(_laid(t, S, k), 1, keepdim=True).indices,
    "all.dim": lambda t, k: t.all(_laid(t, S, k, "bool"), 1),
    "any.dim.keepdim": lambda t, k: t.any(_laid(t, S, k, "bool"), 1, keepdim=True),
    "count_nonzero": lambda t, k: t.count_nonzero(_laid(t, S, k), 0),
    "i0": lambda t, k: t.i0(_laid(t, S, k)),
    "special.i1": lambda t, k: t.special.i1(_laid(t, S, k)),
    "special.ndtri": lambda t, k: t.special.ndtri(_laid(t, S, k)),
    "polygamma": lambda t, k: t.polygamma(2, _laid(t, S, k)),
    "nan_to_num.int": lambda t, k: t.nan_to_num(_laid(t, S, k, "int64")),
    "polar.0d_angle": lambda t, k: t.polar(_laid(t, S, k), t.tensor(0.5, dtype=t.float64)),
    "logsigmoid": lambda t, k: t.nn.functional.logsigmoid(_laid(t, S, k)),
    "rrelu.eval": lambda t, k: t.nn.functional.rrelu(_laid(t, S, k)),
    "glu": lambda t, k: t.nn.functional.glu(_laid(t, (2, 4, 3), k), 1),
    "angle.complex": lambda t, k: t.angle(_laid(t, S, k, "complex128")),
    "pow.number_base": lambda t, k: t.pow(2.0, _laid(t, S, k)),
    "repeat": lambda t, k: _laid(t, S, k).repeat(1, 1, 1),
    "cdist": lambda t, k: t.cdist(_laid(t, S, k), _laid(t, S, k)),
    "channel_shuffle": lambda t, k: t.nn.functional.channel_shuffle(_laid(t, (1, 4, 2, 2), k), 1),
    "pixel_unshuffle": lambda t, k: t.nn.functional.pixel_unshuffle(_laid(t, (1, 4, 2, 2), k), 2),
    "matrix_power.1": lambda t, k: t.linalg.matrix_power(_laid(t, (2, 3, 3), k), 1),
    "addr": lambda t, k: t.addr(_laid(t, (3, 4), k), _laid(t, (3,), "s"), _laid(t, (4,), "s")),
    "diff.n0": lambda t, k: t.diff(_laid(t, S, k), n=0, dim=0),
    "where.condition_only": lambda t, k: t.where(_laid(t, S, k))[1],
    "split_with_sizes_copy": lambda t, k: t.split_with_sizes_copy(_laid(t, S, k), [1, 2], 1)[1],
    "slice_scatter": lambda t, k: t.slice_scatter(_laid(t, S, k), _laid(t, (2, 1, 4), k), 1, 0, 1),
    "quantile.q_tensor.dim0": lambda t, k: t.quantile(_laid(t, S, k), t.tensor([0.1, 0.5, 0.8], dtype=t.float64), 0),
    "quantile.dim0": lambda t, k: t.quantile(_laid(t, S, k), 0.5, 0),  # (gather: C whatever its operands' layouts)
    "gather.laid_index": lambda t, k: t.gather(_laid(t, S, k), 2, _laid(t, (2, 3, 2), k, "int64")),
    "index_select.dim0": lambda t, k: t.index_select(_laid(t, S, k), 0, t.tensor([1, 0])),
    "bce_with_logits.none": lambda t, k: t.nn.functional.binary_cross_entropy_with_logits(  # in the target's order,
        _laid(t, S, k).contiguous(), _laid(t, S, k), reduction="none"),  # not the input's
    "select_scatter": lambda t, k: t.select_scatter(_laid(t, S, k), _laid(t, (2, 4), k), 1, 0),
    "select_scatter.1d": lambda t, k: t.select_scatter(_laid(t, (2,), "s" if k == "t" else k),
                                                       t.tensor(1.0, dtype=t.float64), 0, 0),
    "diagonal_scatter": lambda t, k: t.diagonal_scatter(_laid(t, S, k), _laid(t, (2, 3), k), 0, 1, 2),
    "pad.narrowing": lambda t, k: t.nn.functional.pad(_laid(t, S, k), (-1, 0, 0, -1), value=2.0),
    "pad.zero": lambda t, k: t.nn.functional.pad(_laid(t, (1, 2, 2), k), (0, 0)),
    "group_norm.channels_last": lambda t, k: t.nn.functional.group_norm(_laid(t, (2, 3, 2, 4), k).permute(0, 3, 1, 2),
                                                                        2),
    "conj": lambda t, k: t.conj(_laid(t, S, k, "complex128")),
    "conj.1d": lambda t, k: t.conj(_laid(t, (2,), "s" if k == "t" else k, "complex128")),
    "mse_loss.none": lambda t, k: t.nn.functional.mse_loss(_laid(t, S, k), _laid(t, S, "s"), reduction="none"),
    "huber_loss.none": lambda t, k: t.nn.functional.huber_loss(_laid(t, S, k), _laid(t, S, "t"), reduction="none"),
    "soft_margin_loss.none": lambda t, k: t.nn.functional.soft_margin_loss(_laid(t, S, k), _laid(t, S, "s"),
                                                                         reduction="none"),
    "one_hot": lambda t, k: t.nn.functional.one_hot(_laid(t, (2, 2), k, "int64") % 3, 3),
    "embedding.width1": lambda t, k: t.nn.functional.embedding((_laid(t, (2, 2), k) * 9).long() % 4,
                                                               _laid(t, (4, 1), "c")),
    "sign.bool": lambda t, k: t.sign(_laid(t, S, k, "bool")),
    "sgn.bool": lambda t, k: t.sgn(_laid(t, S, k, "bool")),
    "floor.int": lambda t, k: t.floor(_laid(t, S, k, "int64")),
    "round.int": lambda t, k: t.round(_laid(t, S, k, "int64")),
    "isnan.int": lambda t, k: t.isnan(_laid(t, S, k, "int64")),
    "isfinite.bool": lambda t, k: t.isfinite(_laid(t, S, k, "bool")),
    "getitem.advanced.first": lambda t, k: _laid(t, (2, 3, 4), k)[t.tensor([[0, 1], [1, 0]])],
    "getitem.advanced.middle": lambda t, k: _laid(t, (2, 3, 4), k)[:, t.tensor([1, 0, 1])],
    "getitem.advanced.split": lambda t, k: _laid(t, (2, 2, 3, 2), k)[t.tensor([0, 1]), :, t.tensor([1, 0])],
    "getitem.advanced.transposed_index": lambda t, k: _laid(t, (3, 2), k)[t.tensor([[0, 1], [1, 0]]).t()],
    "masked.normalize": lambda t, k: t.masked.normalize(_laid(t, S, k), 2.0, 0, mask=_laid(t, S, k, "bool")),
    "masked.logaddexp": lambda t, k: t.masked.logaddexp(_laid(t, S, k), _laid(t, S, k),
                                                        input_mask=_laid(t, S, k, "bool")),
}


def _layout(module, case, kind):
    out = CASES[case](module, kind)
    return tuple(s for s, n in zip(out.stride(), out.shape) if n > 1), out.is_contiguous()


@pytest.mark.parametrize("kind", ["t", "s", "e"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_layout_of_noncontiguous_inputs_matches_torch(case, kind):
    assert _layout(refgrad, case, kind) == _layout(torch, case, kind)


def test_scatter_keeps_the_gaps_of_a_sliced_input():
    """slice_scatter into x[..., ::2] has strides (.., 2) in torch: a buffer with the input's strides, values
    written where the view reads them."""
    for t in (torch, refgrad):
        x = t.arange(12.0, dtype=t.float64).reshape(3, 4)[:, ::2].t()
        out = t.slice_scatter(x, t.zeros(1, 3, dtype=t.float64), 0, 0, 1)
        assert out.stride() == (2, 4) and out.tolist() == [[0.0, 0.0, 0.0], [2.0, 6.0, 10.0]]
