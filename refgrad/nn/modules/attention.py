"""torch.nn.MultiheadAttention for equal query/key/value embedding sizes, in refgrad ops."""
from __future__ import annotations

from refgrad import factories
from refgrad.autograd.grad_mode import is_grad_enabled
from refgrad.nn import functional as F
from refgrad.nn import init
from refgrad.nn.modules.linear import NonDynamicallyQuantizableLinear
from refgrad.nn.modules.module import Module
from refgrad.nn.parameter import Parameter
from refgrad.tensor import Tensor

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads with a packed in-projection (torch.nn.MultiheadAttention):
    in_proj_weight ~ xavier_uniform, in_proj_bias and out_proj.bias zero, as torch. Separate key/value sizes
    (kdim/vdim), add_bias_kv and add_zero_attn are not implemented (a NotImplementedError says so)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        if (kdim not in (None, embed_dim)) or (vdim not in (None, embed_dim)) or add_bias_kv or add_zero_attn:
            raise NotImplementedError("refgrad's MultiheadAttention supports kdim = vdim = embed_dim without "
                                      "add_bias_kv/add_zero_attn")
        self.embed_dim, self.kdim, self.vdim = embed_dim, embed_dim, embed_dim
        self._qkv_same_embed_dim = True
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.in_proj_weight = Parameter(factories.empty(3 * embed_dim, embed_dim, dtype=dtype))
        self.register_parameter("q_proj_weight", None)
        self.register_parameter("k_proj_weight", None)
        self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(factories.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False):
        """(attn_output, attn_weights): inputs (L, N, E) ((N, L, E) if batch_first, (L, E) unbatched); boolean
        masks mark positions that may NOT be attended, float masks are added to the scores."""
        batched = query.dim() == 3
        fast = batched and self.batch_first and self._fast_path(query, key, value, key_padding_mask, attn_mask)
        if batched and self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if is_causal and attn_mask is None:
            from refgrad import ones
            attn_mask = ones(query.shape[0], key.shape[0], dtype=query.dtype).triu(1).bool()
        output, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias, None, None,
            False, self.dropout, self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            average_attn_weights=average_attn_weights)
        if self.batch_first and batched:
            output = output.transpose(0, 1)
            if fast:  # torch's fused kernel's output is C-contiguous (the composite's: this transposed view)
                output = output.contiguous()
        return output, weights

    def _fast_path(self, query, key, value, key_padding_mask, attn_mask) -> bool:
        """Whether torch's forward takes its fast path (``_native_multi_head_attention``) for these batched,
        batch_first arguments: self-attention in eval mode with an even head count,
        the in-projection's bias and dtype, no floating-point mask, and no gradient to record."""
        if query is not key or key is not value or self.training or self.num_heads % 2:
            return False
        bias = self.in_proj_bias
        if bias is None or query.dtype != bias.dtype or query.dtype != self.in_proj_weight.dtype:
            return False
        if any(mask is not None and mask.is_floating_point() for mask in (attn_mask, key_padding_mask)):
            return False
        tensors = (query, self.in_proj_weight, self.in_proj_bias, self.out_proj.weight, self.out_proj.bias)
        return not (is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors))
