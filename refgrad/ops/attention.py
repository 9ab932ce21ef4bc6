"""torch.nn.functional.scaled_dot_product_attention: the math path in refgrad ops, and torch's fused CPU "flash"
node for 4-D inputs with one head size (whose double backward torch does not implement)."""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops.nn import const, softmax_
from refgrad.tensor import Tensor


def _attention(query, key, value, mask, is_causal, scale):
    """The math path in refgrad ops; ``mask`` is a bool or float tensor or None."""
    length, source = query.shape[-2], key.shape[-2]
    factor = 1.0 / float(np.sqrt(query.shape[-1])) if scale is None else scale
    scores = query.matmul(key.transpose(-2, -1)) * factor
    if is_causal:
        allowed = np.tril(np.ones((length, source), dtype=bool))
        scores = scores.masked_fill(const(~allowed), float("-inf"))
    if mask is not None:
        if mask.dtype is dtypes.bool:
            scores = scores.masked_fill(const(~mask._data), float("-inf"))
        else:
            scores = scores + mask
    return softmax_(scores, -1).matmul(value)


def _flash_forward(q, k, v, mask, is_causal, scale):
    from refgrad.autograd.grad_mode import no_grad
    with no_grad():
        return _attention(Tensor._make(q), Tensor._make(k), Tensor._make(v), mask, is_causal, scale)._data


def _flash_backward_forward(g, q, k, v, mask, is_causal, scale):
    from refgrad.autograd import grad
    from refgrad.autograd.grad_mode import enable_grad
    leaves = [Tensor._make(a).requires_grad_() for a in (q, k, v)]
    with enable_grad():
        out = _attention(*leaves, mask, is_causal, scale)
        grads = grad(out, leaves, Tensor._make(g))
    return tuple(t._data for t in grads)


def _flash_double_backward(c, *cotangents):
    raise RuntimeError("derivative for aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented")


_flash_backward = Primitive("ScaledDotProductFlashAttentionForCpuBackwardBackward0", _flash_backward_forward,
                            _flash_double_backward, inputs=("grad_out", "query", "key", "value"))
_flash = Primitive("ScaledDotProductFlashAttentionForCpuBackward0", _flash_forward,
                   lambda c, g: _flash_backward(g, c.query, c.key, c.value, mask=c.mask, is_causal=c.is_causal,
                                                scale=c.scale),
                   inputs=("query", "key", "value"), save=("query", "key", "value"))


@register(namespace="torch.nn.functional")
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v (torch.nn.functional.scaled_dot_product_attention). Like torch on CPU,
    4-D inputs with one head size take the fused "flash" node (no double backward); others the math path."""
    if dropout_p != 0.0:
        raise NotImplementedError("scaled_dot_product_attention: dropout_p > 0 is not implemented")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    flash = (query.ndim == key.ndim == value.ndim == 4 and query.shape[-1] == key.shape[-1] == value.shape[-1]
             and (attn_mask is None or not attn_mask.requires_grad))
    if flash:
        return _flash(query, key, value, mask=attn_mask, is_causal=is_causal, scale=scale)
    return _attention(query, key, value, attn_mask, is_causal, scale)
