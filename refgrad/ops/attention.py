"""torch.nn.functional.scaled_dot_product_attention: the math path in refgrad ops, and torch's fused CPU "flash"
node for 4-D inputs with one head size (whose double backward torch does not implement)."""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.autograd._jvp import no_forward_rule
from refgrad.autograd.graph import SavedTensor, save_extra
from refgrad.ops._layout import in_order, memory_order
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._scalar_ops import mul_scalar
from refgrad.ops.nn import const
from refgrad.ops.scan import _softmax_forward, _softmax_vjp
from refgrad.tensor import Tensor


def _safe_softmax_forward(a, dim, nan_blind=False):
    """softmax, but 0 (not NaN) for a row whose entries are all -inf (a fully masked query). ``nan_blind``
    (torch's fused CPU kernel, forward only): its running row max skips NaN, so a row with no entry above -inf
    other than NaNs (e.g. [NaN], or [NaN, causally masked]) counts as fully masked too."""
    out = _softmax_forward(a, dim)
    if nan_blind:
        masked = ~np.any(a > -np.inf, axis=dim, keepdims=True)
    else:
        masked = np.all(a == -np.inf, axis=dim, keepdims=True)
    return np.where(masked, np.zeros((), a.dtype), out).astype(a.dtype, copy=False)


_safe_softmax = Primitive("SafeSoftmaxBackward0", _safe_softmax_forward, _softmax_vjp, save=("result",))


def _attention(query, key, value, mask, is_causal, scale, flash=None):
    """torch's math path in refgrad ops: query and the transposed key are each scaled by sqrt(scale) (so the
    matmul saves those scaled copies, not query and key), a bool or causal mask becomes an additive 0/-inf
    float mask, the mask is added to the scores (so +inf + -inf is NaN), and a fully masked row's softmax is
    0 (torch's _safe_softmax); ``mask`` is a bool or float tensor or None.

    ``flash`` follows the forward of torch's fused CPU kernel instead, which never computes the scores above
    the causal diagonal: they are set to -inf (not added to) and their probabilities are exactly 0, so a NaN key
    there does not spread (torch 2.13: q = 1, k = [1, NaN], causal with one query gives out 1); without an
    attn_mask its fully-masked test ignores NaN scores (k = [NaN]: out 0; with a mask [-inf] or [NaN]: NaN)."""
    length, source = query.shape[-2], key.shape[-2]
    factor = 1.0 / float(np.sqrt(query.shape[-1])) if scale is None else float(scale)
    root = float(np.sqrt(abs(factor)))
    # (torch multiplies by the Scalar factor: mul.Scalar, whose gradient is a MulBackward1 under create_graph)
    scores = mul_scalar(query, root if factor >= 0 else -root).matmul(mul_scalar(key.transpose(-2, -1), root))
    above = None
    if is_causal and flash:
        above = const(~np.tril(np.ones((length, source), dtype=bool)))
        scores = scores.masked_fill(above, -np.inf)
    elif is_causal:
        mask = Tensor._make(np.tril(np.ones((length, source), dtype=bool)))
    if mask is not None:
        if mask.dtype is dtypes.bool:
            additive = np.where(mask._data, 0.0, -np.inf).astype(query._data.dtype)
            mask = const(additive)
        scores = scores + mask
    probs = _safe_softmax(scores, dim=scores.ndim - 1, nan_blind=bool(flash) and mask is None)
    if above is not None:
        probs = probs.masked_fill(above, 0.0)
    return probs.matmul(value)


def _flash_forward(q, k, v, mask, is_causal, scale):
    from refgrad.autograd.grad_mode import no_grad
    k, v = _grouped(k, q.shape[-3]), _grouped(v, q.shape[-3])
    with no_grad():
        out = _attention(Tensor._make(q), Tensor._make(k), Tensor._make(v), mask, is_causal, scale, flash=True)._data
    return in_order(out, memory_order(q))  # (torch's fused kernel writes its output in the query's order)


def _flash_backward_forward(g, q, k, v, mask, is_causal, scale):
    """torch's fused CPU backward: P is the softmax of the recomputed scores (exactly 0 above the causal
    diagonal and for a fully masked row), D = rowsum(g * out) with out = P v, dS = P (g v^T - D),
    dq = dS k scale, dk = dS^T q scale, dv = P^T g. A masked score's dS is 0 * (dP - D), NaN when dP or D is
    (torch 2.13: q = 0, k = [0, 0], v = [NaN, NaN], causal, one query: dk = [NaN, NaN]), and its key still enters
    dq (k = [1, NaN], causal: dq NaN, dk = [0, 0])."""
    k_in, v_in = k, v
    k, v = _grouped(k, q.shape[-3]), _grouped(v, q.shape[-3])
    length, source = q.shape[-2], k.shape[-2]
    factor = 1.0 / float(np.sqrt(q.shape[-1])) if scale is None else float(scale)
    root = float(np.sqrt(abs(factor)))
    qs, ks = q * np.asarray(root if factor >= 0 else -root, q.dtype), k * np.asarray(root, k.dtype)
    with np.errstate(all="ignore"):
        scores = qs @ np.swapaxes(ks, -1, -2)
        if mask is not None:
            additive = np.where(mask._data, 0.0, -np.inf) if mask.dtype is dtypes.bool else mask._data
            scores = scores + additive.astype(q.dtype)
        above = ~np.tril(np.ones((length, source), dtype=bool)) if is_causal else np.zeros((length, source), bool)
        scores = np.where(above, -np.inf, scores).astype(q.dtype)
        # a row the forward treated as fully masked keeps log-sum-exp +inf, so exp(score - lse) is 0 there, and
        # NaN for a NaN score (k = [NaN, -inf], no mask: out 0, dv = [NaN, 0])
        if mask is None:
            fully = ~np.any(scores > -np.inf, axis=-1, keepdims=True)
        else:
            fully = np.all(scores == -np.inf, axis=-1, keepdims=True)
        wide = np.float64 if q.dtype.itemsize < 8 and q.dtype.kind == "f" else q.dtype

        def softmax(dtype):
            """(P, the forward's P) in ``dtype``: a fully masked row is 0 in the forward (out 0), NaN in P where
            its score is NaN."""
            rows, zero = scores.astype(dtype), np.zeros((), dtype)
            plain = _softmax_forward(rows, rows.ndim - 1)
            return (np.where(above, zero, np.where(fully, np.where(np.isnan(rows), rows, zero), plain)),
                    np.where(above | fully, zero, plain))

        wide_probs, wide_forward = softmax(wide)
        probs = wide_probs if wide == q.dtype else softmax(q.dtype)[0]
        # dS = P (dP - D), D = rowsum(g * out), all in float64 from the dtype's scores, rounded once: where dP and D
        # agree mathematically (a row's probability 1, or every value row alike) their difference is float64
        # noise, not an ulp of |dP| (dP, D or out rounded to float32 gave dq ~1e-3 where torch has 1e-22, default
        # seed 2732, and dk 1.3e-4 where float64 gives -2.5e-13, seed 2804: gqa with equal value rows, whose
        # float32 output torch happened to round to the value exactly; it does so for 19 % of such inputs)
        g_wide, v_wide = g.astype(wide), v.astype(wide)
        d_probs = g_wide @ np.swapaxes(v_wide, -1, -2)
        d_sum = np.sum(g_wide * (wide_forward @ v_wide), axis=-1, keepdims=True)
        d_scores = (wide_probs * (d_probs - d_sum)).astype(q.dtype)
        dq = (d_scores @ ks) * np.asarray(root if factor >= 0 else -root, q.dtype)
        dk = (np.swapaxes(d_scores, -1, -2) @ qs) * np.asarray(root, q.dtype)
        dv = np.swapaxes(probs, -1, -2) @ g
    dk, dv = _ungrouped(dk, k_in), _ungrouped(dv, v_in)
    return tuple(a.astype(q.dtype, copy=False) for a in (dq, dk, dv))


def _flash_double_backward(c, *cotangents):
    raise RuntimeError("derivative for aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented")


_flash_backward = Primitive("NotImplemented", _flash_backward_forward,  # torch: no derivative, a NotImplemented node
                            _flash_double_backward, inputs=("grad_out", "query", "key", "value"))
_flash = Primitive("ScaledDotProductFlashAttentionForCpuBackward0", _flash_forward,
                   lambda c, g: (c.result, _flash_backward(g, c.query, c.key, c.value, mask=c.mask,
                                                           is_causal=c.is_causal, scale=c.scale))[1],
                   # torch saves the output too: an in-place change to it is reported at backward
                   inputs=("query", "key", "value"), save=("query", "key", "value", "result"),
                   jvp=no_forward_rule("_scaled_dot_product_flash_attention_for_cpu"))


@register(namespace="torch.nn.functional")
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v (torch.nn.functional.scaled_dot_product_attention). Like torch on CPU,
    4-D inputs with one head size take the fused "flash" node (no double backward); others the math path."""
    return _sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)


def _sdpa(query: Tensor, key: Tensor, value: Tensor, attn_mask, dropout_p: float, is_causal: bool, scale,
          enable_gqa: bool, rows: bool = False) -> Tensor:
    """scaled_dot_product_attention; ``rows``: the inputs are views of whole rows (multi_head_attention_forward's
    heads of its in-projection, whose last dimension torch's view leaves at stride 1 even at size 1, where NumPy's
    reshape may give a size-1 dimension another stride)."""
    if dropout_p != 0.0:
        raise NotImplementedError("scaled_dot_product_attention: dropout_p > 0 is not implemented")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa:
        _check_gqa(query, key, value)
    # torch's fused kernel needs one batch size, and one head count (key and value's may divide query's under GQA),
    flash = (query.ndim == key.ndim == value.ndim == 4 and query.shape[-1] == key.shape[-1] == value.shape[-1]
             and (attn_mask is None or not attn_mask.requires_grad)
             and query.shape[0] == key.shape[0] == value.shape[0] and key.shape[1] == value.shape[1]
             and (query.shape[1] == key.shape[1] or enable_gqa)
             # and a last dimension of stride 1 (even of size 1): a transposed or sliced input takes the math path
             and (rows and query.shape[-1] == 1 or query.stride(-1) == key.stride(-1) == value.stride(-1) == 1))
    if flash:  # torch's fused kernel takes the grouped key and value as they are
        out = _flash(query, key, value, mask=attn_mask, is_causal=is_causal, scale=scale)
        if out.grad_fn is not None and attn_mask is not None and attn_mask.dtype is not dtypes.bool:
            # torch saves a float attn_mask itself (a bool one becomes a fresh float mask first), so changing it
            # in place before backward is its version-counter error
            save_extra(out.grad_fn, "attn_mask", SavedTensor(attn_mask))
        return out
    if enable_gqa and not query.shape[-3] == key.shape[-3] == value.shape[-3]:
        # the math path repeats each key/value head for its group of query heads (both, if either is grouped)
        key, value = _repeat_heads(key, query.shape[-3]), _repeat_heads(value, query.shape[-3])
    return _attention(query, key, value, attn_mask, is_causal, scale)


def _check_gqa(query: Tensor, key: Tensor, value: Tensor) -> None:
    for x in (query, key, value):
        if x.ndim < 3:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-x.ndim}, {x.ndim - 1}], but "
                             "got -3)")
    if query.shape[-3] % key.shape[-3] or query.shape[-3] % value.shape[-3]:
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")  # sic (torch)


def _repeat_heads(x: Tensor, heads: int) -> Tensor:
    """torch's repeat_interleave of the heads (dim -3) for the math path: unsqueeze, expand, clone, view."""
    expanded = x.unsqueeze(-3).expand(*x.shape[:-2], heads // x.shape[-3], *x.shape[-2:])
    return expanded.clone().view(*x.shape[:-3], heads, *x.shape[-2:])  # a copy even for groups of one


def _grouped(k: np.ndarray, heads: int) -> np.ndarray:
    """The flash kernel's view of a grouped key/value: each head repeated for its query heads."""
    return k if k.ndim < 3 or k.shape[-3] == heads else np.repeat(k, heads // k.shape[-3], axis=-3)


def _ungrouped(grad: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A repeated head's gradient summed back over its group."""
    if grad.shape == like.shape:
        return grad
    groups = grad.shape[-3] // like.shape[-3]
    return grad.reshape(*like.shape[:-3], like.shape[-3], groups, *grad.shape[-2:]).sum(axis=-3)
