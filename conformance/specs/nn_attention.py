"""Spec for refgrad/ops/attention_mha.py: multi_head_attention_forward with packed in-projection, bias_k/bias_v,
add_zero_attn, key-padding and causal masks (key position 0 always attendable, so no row is fully masked), and
need_weights on or off (torch then takes scaled_dot_product_attention: same values, other rounding)."""
from hypothesis import strategies as st

from conformance.specs._spec import Domain, OpSpec, tensor
from conformance.specs.indexing import _fn

BOUNDED = Domain(-3.0, 3.0, nonfinite=())


@st.composite
def _shapes(draw):
    heads, head_dim = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    e, n = heads * head_dim, draw(st.integers(1, 2))
    length, source = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return ((length, n, e), (source, n, e), (source, n, e), (3 * e, e), (3 * e,), (e, e), (e,), (1, 1, e),
            (1, 1, e), (heads,))


@st.composite
def _kwargs(draw, shapes):
    n, source = shapes[1][1], shapes[1][0]
    mask = None
    if draw(st.booleans(), label="key padding mask"):
        mask = [[False] + draw(st.lists(st.booleans(), min_size=source - 1, max_size=source - 1)) for _ in range(n)]
    return {"bias_kv": draw(st.booleans()), "add_zero_attn": draw(st.booleans()), "kpm": mask,
            "causal": draw(st.booleans()), "need_weights": draw(st.booleans()), "average": draw(st.booleans())}


_TOL = {"float32": (1e-3, 1e-3, 3e-5)}
_TOL_REASON = ("float32 gradients of the in-projection sum terms of both signs over heads, positions and batch: "
               "shrunk example (bias_k/bias_v, add_zero_attn, causal, 3x2x4 inputs within +-3): in_proj_bias "
               "gradient entries up to 68 (float32 ulp 7.6e-6) next to -3.5e-3, torch -3.5051e-3, refgrad -3.4915e-3; "
               "query gradient off by up to 5.0e-5; second order (add_zero_attn, key padding): entries near 8.5 beside "
               "entries that cancel to 3e-4, torch 6.9e-4, refgrad 3.2e-4; and relative to the largest entry "
               "(ntol 3e-5): nightly seed 12 (need_weights, bias_kv, add_zero_attn), a second order with entries "
               "up to 597 and 2939: torch and refgrad float32 each off float64 by up to 5.7e-6 of the largest entry "
               "(3.4e-3 and 3.3e-3; 1.0e-2 and 1.7e-2), 1.1e-5 apart")

SPECS = [
    OpSpec("nn.functional.multi_head_attention_forward", _fn(
        "lambda t, q, k, v, w, b, ow, ob, bk, bv, h, *, bias_kv, add_zero_attn, kpm, causal, need_weights, average: "
        "t.nn.functional.multi_head_attention_forward(q, k, v, q.shape[-1], h.shape[0], w, b, bk if bias_kv else "
        "None, bv if bias_kv else None, add_zero_attn, 0.0, ow, ob, training=False, key_padding_mask=None if kpm is "
        "None else t.tensor(kpm), need_weights=need_weights, attn_mask=t.ones(q.shape[0], k.shape[0], "
        "dtype=t.bool).triu(1) if causal else None, average_attn_weights=average)"),
        args=tuple(tensor(BOUNDED) for _ in range(9)) + (tensor(differentiable=False),), shapes=_shapes(),
        kwargs=_kwargs, tol=_TOL, tol_reason=_TOL_REASON),
]
