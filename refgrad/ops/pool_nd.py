"""The 3-d pools, adaptive_max_pool1d, max_unpool1d/2d/3d and unfold/fold (im2col/col2im) of
torch.nn.functional.

The pools are the N-d pooling of :mod:`refgrad.ops.pooling` at nd=3 (the 1-d spellings go through the 2-d op as
torch does, so their node is SqueezeBackward1). max_unpool scatters each input value to its recorded index (the
VJP gathers the gradient back); unfold gathers every kernel window into a column (Im2ColBackward0) and fold
scatter-adds columns back (Col2ImBackward0): each is the other's VJP, so double backward works.
"""
from __future__ import annotations

import numpy as np

from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops.conv import _unfold_index
from refgrad.ops.nn import _map_adjoint_np, _map_np, sparse_map
from refgrad.ops.pooling import _tuple, adaptive_avg_pool, adaptive_max_pool, avg_pool, max_pool
from refgrad.tensor import Tensor

__all__ = ["max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool3d",
           "max_unpool1d", "max_unpool2d", "max_unpool3d", "unfold", "fold"]

_F = "torch.nn.functional"


@register(namespace="torch")
@register(namespace=_F)
def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """3-D max pooling (torch.nn.functional.max_pool3d); the gradient goes to each window's (first) argmax."""
    return max_pool(input, 3, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@register(namespace=_F)
def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-D average pooling (torch.nn.functional.avg_pool3d) with torch's divisor rules. As torch's CPU kernel, every
    input side must hold the kernel, whatever the padding."""
    kernel = _tuple(kernel_size, 3)
    if input.ndim in (4, 5) and any(n < k for n, k in zip(input.shape[-3:], kernel)):
        t, h, w = input.shape[-3:]
        raise RuntimeError(f"input image (T: {t} H: {h} W: {w}) smaller than kernel size (kT: {kernel[0]} kH: "
                           f"{kernel[1]} kW: {kernel[2]})")
    return avg_pool(input, 3, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


@register(namespace=_F)
def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Mean over adaptive windows (torch.nn.functional.adaptive_avg_pool3d); 1x1x1 output is torch's mean."""
    return adaptive_avg_pool(input, output_size, 3)


@register(namespace=_F)
def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows (torch.nn.functional.adaptive_max_pool3d)."""
    return adaptive_max_pool(input, output_size, return_indices, 3)


@register(namespace="torch")
@register(namespace=_F)
def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """1-D adaptive max pooling (torch.nn.functional.adaptive_max_pool1d), via the 2-D op as torch does."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d(): Expected 2D or 3D tensor, but got {list(input.shape)}")
    size = output_size[0] if isinstance(output_size, (list, tuple)) else output_size
    out, indices = adaptive_max_pool(input.unsqueeze(-2), (1, size), True, 2)
    out, indices = out.squeeze(-2), Tensor._make(indices._data[..., 0, :])
    return (out, indices) if return_indices else out


# --- max_unpool ----------------------------------------------------------------------------------------------

def _unpool_forward(x, index, out_spatial):
    nd = len(out_spatial)
    lead = x.shape[:x.ndim - nd]
    batch = int(np.prod(lead, dtype=np.int64))
    out = np.zeros((batch, int(np.prod(out_spatial, dtype=np.int64))), x.dtype)
    rows = np.broadcast_to(np.arange(batch)[:, None], (batch, index.shape[1]))
    out[rows, index[..., 0]] = x.reshape(batch, -1)  # as torch's serial loop: a repeated index keeps the last
    return out.reshape(lead + tuple(out_spatial))


def _unpool_vjp(c, g):
    return sparse_map(g, c.index, None, c.out_spatial, c.in_spatial)


_UNPOOL = {nd: Primitive(f"MaxUnpool{nd}DBackward0", _unpool_forward, _unpool_vjp) for nd in (2, 3)}


def _max_unpool(input: Tensor, indices: Tensor, nd: int, kernel_size, stride, padding, output_size):
    kernel = _tuple(kernel_size, nd)
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, nd)
    padding = _tuple(padding, nd)
    in_spatial = tuple(input.shape[-nd:])
    default = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(in_spatial, stride, padding, kernel))
    if output_size is None:
        out_spatial = default
    else:
        sizes = tuple(int(v) for v in output_size)
        if len(sizes) == nd + 2:
            sizes = sizes[2:]
        if len(sizes) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
                             f"length of '{len(sizes)}'")
        for d, (size, dflt, s) in enumerate(zip(sizes, default, stride)):
            if not dflt - s < size < dflt + s:
                raise ValueError(f"invalid output_size \"{list(sizes)}\" (dim {d} must be between {dflt - s} and "
                                 f"{dflt + s})")
        out_spatial = sizes
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Input to max_unpooling{nd}d should be a {nd + 1}d or {nd + 2}d Tensor, but got a "
                           f"tensor with {input.ndim} dimensions.")
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype.itemsize != 8:
        raise RuntimeError(f"elements in indices should be type int64 but got: {indices.dtype}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    size = int(np.prod(out_spatial, dtype=np.int64))
    batch = int(np.prod(input.shape[:input.ndim - nd], dtype=np.int64))
    index = indices._data.reshape(batch, -1, 1).astype(np.int64)
    bad = (index < 0) | (index >= size)
    if bad.any():
        raise RuntimeError(f"Found an invalid max index: {int(index[bad][0])} (output volumes are of size "
                           f"{'x'.join(map(str, out_spatial))}")
    return _UNPOOL[nd](input, index=index, out_spatial=tuple(out_spatial), in_spatial=in_spatial)


@register(namespace=_F)
def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Place each value at its max_pool2d index in a zero tensor (torch.nn.functional.max_unpool2d)."""
    return _max_unpool(input, indices, 2, kernel_size, stride, padding, output_size)


@register(namespace=_F)
def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Place each value at its max_pool3d index in a zero tensor (torch.nn.functional.max_unpool3d)."""
    return _max_unpool(input, indices, 3, kernel_size, stride, padding, output_size)


@register(namespace=_F)
def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """1-D max_unpool (torch.nn.functional.max_unpool1d): torch's unsqueeze + max_unpool2d + squeeze."""
    kernel = _tuple(kernel_size, 1)[0]
    stride = kernel if stride is None or stride == [] or stride == () else _tuple(stride, 1)[0]
    padding = _tuple(padding, 1)[0]
    if output_size is not None:
        sizes = tuple(int(v) for v in output_size)
        output_size = (1, sizes[-1]) if len(sizes) in (1, 3) else sizes
    out = _max_unpool(input.unsqueeze(-2), indices.unsqueeze(-2), 2, (1, kernel), (1, stride), (0, padding),
                      output_size)
    return out.squeeze(-2)


# --- unfold / fold ---------------------------------------------------------------------------------------------

def _im2col_forward(x, index, in_spatial, n_out, n_k):
    """(N?, C, H, W) -> (N?, C·K, L): torch's im2col also takes an unbatched image."""
    lead, c = x.shape[:-3], x.shape[-3]
    cols = _map_np(x, index, None, 2, (n_out, n_k))  # (N?, C, L, K)
    return np.ascontiguousarray(cols.swapaxes(-1, -2)).reshape(lead + (c * n_k, n_out))


def _col2im_forward(g, index, in_spatial, n_out, n_k):
    cols = g.reshape(g.shape[:-2] + (-1, n_k, n_out)).swapaxes(-1, -2)
    return _map_adjoint_np(np.ascontiguousarray(cols), index, None, 2, in_spatial)


_im2col = Primitive("Im2ColBackward0", _im2col_forward,
                    lambda c, g: _col2im(g, index=c.index, in_spatial=c.in_spatial, n_out=c.n_out, n_k=c.n_k))
_col2im = Primitive("Col2ImBackward0", _col2im_forward,
                    lambda c, g: _im2col(g, index=c.index, in_spatial=c.in_spatial, n_out=c.n_out, n_k=c.n_k))


def _geometry(spatial, kernel_size, dilation, padding, stride):
    kernel, dilation = _tuple(kernel_size, 2), _tuple(dilation, 2)
    padding, stride = _tuple(padding, 2), _tuple(stride, 2)
    for name, values, low in (("kernel", kernel, 1), ("dilation", dilation, 1), ("stride", stride, 1),
                              ("padding", padding, 0)):
        if min(values) < low:
            raise RuntimeError(f"{name} should be {'greater than zero' if low else 'non-negative'}, but got "
                               f"{name}: {values[0]} x {values[1]}")
    out = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                for n, k, d, p, s in zip(spatial, kernel, dilation, padding, stride))
    if min(out) < 1:
        raise RuntimeError(f"Given input with spatial size ({spatial[0]}, {spatial[1]}), kernel_size ({kernel[0]}, "
                           f"{kernel[1]}), dilation ({dilation[0]}, {dilation[1]}), padding ({padding[0]}, "
                           f"{padding[1]}), calculated shape of the array of sliding blocks as ({out[0]}, {out[1]}), "
                           "but its components must be at least one.")
    index = _unfold_index(tuple(spatial), out, kernel, stride, dilation, padding)[0]
    return index, out, kernel


@register(namespace=_F)
def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding local blocks as columns, (N, C, H, W) -> (N, C·kH·kW, L) (torch.nn.functional.unfold, im2col)."""
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    index, out, kernel = _geometry(tuple(input.shape[-2:]), kernel_size, dilation, padding, stride)
    return _im2col(input, index=index, in_spatial=tuple(input.shape[-2:]), n_out=out[0] * out[1],
                   n_k=kernel[0] * kernel[1])


@register(namespace=_F)
def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns back into an image, (N, C·kH·kW, L) -> (N, C, H, W) (torch.nn.functional.fold, col2im)."""
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                                  f"(got {input.ndim}D)")
    x = input
    spatial = _tuple(output_size, 2)
    index, out, kernel = _geometry(spatial, kernel_size, dilation, padding, stride)
    n_out, n_k = out[0] * out[1], kernel[0] * kernel[1]
    if x.shape[-2] % n_k:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={x.shape[-2]} and kernel_size=({kernel[0]}, {kernel[1]})")
    if x.shape[-1] != n_out:
        raise RuntimeError(f"Given output_size=({spatial[0]}, {spatial[1]}), kernel_size=({kernel[0]}, {kernel[1]}), "
                           f"dilation={list(_tuple(dilation, 2))}, padding={list(_tuple(padding, 2))}, "
                           f"stride={list(_tuple(stride, 2))}, expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {out[0]} * {out[1]} = {n_out}, but got "
                           f"input.size(2)={x.shape[-1]}.")
    return _col2im(x, index=index, in_spatial=spatial, n_out=n_out, n_k=n_k)
