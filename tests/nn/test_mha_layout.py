"""MultiheadAttention's output layout: torch's forward takes its fast path (``_native_multi_head_attention``,
C-contiguous output) for batched, batch_first self-attention in eval mode with an even head count, no
floating-point mask and nothing to record; otherwise its composite returns a transposed view. Found by the
training property's eval-mode output (stride11's layout observable)."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

X = np.random.default_rng(3).standard_normal((3, 5, 4))


def _outputs(t, case):
    heads, embed = (3, 6) if case == "odd_heads" else (2, 4)
    t.manual_seed(0)
    m = t.nn.MultiheadAttention(embed, heads, batch_first=case != "seq_first").double()
    if case != "training":
        m.eval()
    x = t.tensor(np.resize(X, (3, 5, embed)))
    kwargs = {"bool_mask": {"attn_mask": t.zeros(5, 5, dtype=t.bool)},
              "float_mask": {"attn_mask": t.zeros(5, 5, dtype=t.float64)},
              "padding_mask": {"key_padding_mask": t.zeros(3, 5, dtype=t.bool)},
              "no_weights": {"need_weights": False}}.get(case, {})
    if case == "grad_enabled":
        return m(x, x, x, **kwargs)
    with t.no_grad():
        if case == "cross":
            return m(x, x.clone(), x.clone(), **kwargs)
        return m(x, x, x, **kwargs)


@pytest.mark.parametrize("case", ["fast", "no_weights", "bool_mask", "padding_mask", "float_mask", "cross",
                                  "grad_enabled", "training", "odd_heads", "seq_first"])
def test_mha_output_layout_is_torchs(case):
    ours, theirs = _outputs(refgrad, case), _outputs(torch, case)
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
            continue
        assert a.stride() == b.stride(), case
        assert a.is_contiguous() == b.is_contiguous(), case
