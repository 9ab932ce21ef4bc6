"""torch.nn.functional.multi_head_attention_forward: the computation of torch.nn.MultiheadAttention, composed of
refgrad ops in torch's order (in-projection, bias_k/bias_v and zero-attention columns, masks merged into one
additive float mask, scaled scores, softmax, dropout, out-projection), so the nodes match torch's.

Boolean masks mark positions that may NOT be attended (-inf added), float masks are added to the scores. With
``need_weights=False`` both take scaled_dot_product_attention (whose fused CPU node has no double backward).
Dropout in training mode draws from refgrad's generator (not torch's stream).
"""
from __future__ import annotations

import math

from refgrad.ops._registry import register
from refgrad.tensor import Tensor

__all__ = ["multi_head_attention_forward"]


def _additive(mask: Tensor | None, like: Tensor, name: str) -> Tensor | None:
    """torch's _canonical_mask: a bool mask becomes 0 / -inf in the query's dtype, a float mask stays."""
    if mask is None:
        return None
    from refgrad.factories import zeros
    if mask.dtype.name == "bool":
        return zeros(tuple(mask.shape), dtype=like.dtype).masked_fill(mask, float("-inf"))
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


@register(namespace="torch.nn.functional")
def multi_head_attention_forward(query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight, out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True, is_causal: bool = False):
    """(attn_output, attn_weights or None) for query (L, N, E) or (L, E), key/value (S, N, E) or (S, E)."""
    from refgrad.factories import zeros
    from refgrad.ops.join import cat
    from refgrad.ops.nn import dropout, linear
    from refgrad.ops.pooling import pad
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k/static_v are not implemented")
    batched = query.ndim == 3
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    target, batch, embed = query.shape
    if embed != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed}")
    head_dim = embed // num_heads
    if head_dim * num_heads != embed:
        raise AssertionError(f"embed_dim {embed} not divisible by num_heads {num_heads}")
    if tuple(key.shape[:2]) != tuple(value.shape[:2]):
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    key_padding_mask = _additive(key_padding_mask, query, "key_padding_mask")
    # torch: is_causal is a hint the fused path may use in place of the mask, only without key padding and weights
    causal_hint = bool(is_causal and key_padding_mask is None and not need_weights)
    attn_mask = None if causal_hint else _additive(attn_mask, query, "attn_mask")
    if use_separate_proj_weight:
        b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
        q, k, v = linear(query, q_proj_weight, b_q), linear(key, k_proj_weight, b_k), linear(value, v_proj_weight,
                                                                                               b_v)
    else:
        w_q, w_k, w_v = in_proj_weight.chunk(3)
        b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
        q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)
    if attn_mask is not None and attn_mask.ndim == 2:
        if tuple(attn_mask.shape) != (target, key.shape[0]):
            raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should be "
                               f"{(target, key.shape[0])}.")
        attn_mask = attn_mask.unsqueeze(0)
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.repeat(1, batch, 1)])
        v = cat([v, bias_v.repeat(1, batch, 1)])
        attn_mask = pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
    q = q.reshape(target, batch * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], batch * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(v.shape[0], batch * num_heads, head_dim).transpose(0, 1)
    if add_zero_attn:
        k = cat([k, zeros((batch * num_heads, 1, head_dim), dtype=k.dtype)], dim=1)
        v = cat([v, zeros((batch * num_heads, 1, head_dim), dtype=v.dtype)], dim=1)
        attn_mask = pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
    source = k.shape[1]
    if key_padding_mask is not None:
        padding = key_padding_mask.reshape(batch, 1, 1, source).expand(-1, num_heads, -1, -1)
        padding = padding.reshape(batch * num_heads, 1, source)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    if not training:
        dropout_p = 0.0
    if not need_weights:  # as torch: the fused attention (whose double backward torch refuses)
        from refgrad.ops.attention import _sdpa
        if attn_mask is not None:
            attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 and attn_mask.ndim == 3 else \
                attn_mask.reshape(batch, num_heads, -1, source)
        fused = _sdpa(q.reshape(batch, num_heads, target, head_dim), k.reshape(batch, num_heads, source, head_dim),
                      v.reshape(batch, num_heads, source, head_dim), attn_mask, dropout_p, causal_hint, None, False,
                      rows=True)
        output = fused.permute(2, 0, 1, 3).reshape(batch * target, embed)
        output = linear(output, out_proj_weight, out_proj_bias).reshape(target, batch, embed)
        return (output if batched else output.squeeze(1)), None
    scaled = q * math.sqrt(1.0 / head_dim)
    scores = scaled.bmm(k.transpose(-2, -1)) if attn_mask is None else attn_mask.baddbmm(scaled, k.transpose(-2, -1))
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    output = weights.bmm(v).transpose(0, 1).reshape(target * batch, embed)
    output = linear(output, out_proj_weight, out_proj_bias).reshape(target, batch, embed)
    if not batched:
        output = output.squeeze(1)
    weights = weights.reshape(batch, num_heads, target, source)
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        weights = weights.squeeze(0)
    return output, weights
