"""Convolutions (torch.nn.functional.conv1d/2d/3d, conv_transpose1d/2d/3d): one ConvolutionBackward0 node.

The forward is im2col + einsum in NumPy. im2col is a :func:`refgrad.ops.nn.sparse_map` (a gather over the
spatial dims), and the VJP is written with that map, its adjoint (col2im) and einsums, all refgrad ops, so
double backward works. A transposed convolution is the same pieces in the other order.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from refgrad.ops._contract import contract
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops.nn import _map_adjoint_np, _map_np, einsum, grid_index, sparse_map, sparse_map_adjoint
from refgrad.tensor import Tensor


def _tuple(value, n: int, name: str) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return tuple(value) * n
        if len(value) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                               f"convolution dimensions, but got {name}={list(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


@functools.lru_cache(maxsize=256)
def _unfold_index(in_spatial, out_spatial, kernel, stride, dilation, pad_lo) -> np.ndarray:
    """Flat (O*K, 1) gather indices: output position o, kernel tap k -> input o*stride + k*dilation - pad.
    Cached per geometry (all arguments are tuples); the table is read-only, as it is shared."""
    tables = []
    for size, out, k, s, d, lo in zip(in_spatial, out_spatial, kernel, stride, dilation, pad_lo):
        pos = np.arange(out)[:, None] * s + np.arange(k)[None, :] * d - lo
        tables.append(np.where((pos >= 0) & (pos < size), pos, -1))
    # grid_index interleaves (o, k) per dim; reorder to (O..., K...) so columns read (O_flat, K_flat)
    nd = len(tables)
    index = grid_index(tables, in_spatial).reshape(tuple(out_spatial) + tuple(kernel)).reshape(-1, 1)
    index.flags.writeable = False
    return index, int(np.prod(out_spatial)), int(np.prod(kernel)), nd


def _conv_forward(x, w, *maybe_bias, index, groups, out_spatial, n_out, n_k):
    n, c = x.shape[:2]
    cols = _map_np(x, index, None, x.ndim - 2, (n_out, n_k)).reshape(n, groups, c // groups, n_out, n_k)
    wr = w.reshape(groups, w.shape[0] // groups, w.shape[1], n_k)
    y = contract("ngcok,gdck->ngdo", cols, wr).reshape((n, w.shape[0]) + tuple(out_spatial))
    if maybe_bias:
        y = y + maybe_bias[0].reshape((-1,) + (1,) * len(out_spatial))
    return np.ascontiguousarray(y, dtype=x.dtype)  # (the contraction's layout is its own: torch's output is C-ordered)


def _conv_vjp(c, g):
    x, w = c.input, c.weight  # unpack both, as torch does: an in-place change to either is reported
    n, channels = c._input_meta[0][0][:2]
    groups, n_out, n_k = c.groups, c.n_out, c.n_k
    in_spatial = c._input_meta[0][0][2:]
    wshape = c._input_meta[1][0]
    gr = g.reshape(n, groups, wshape[0] // groups, n_out)
    grad_x = grad_w = grad_b = None
    if c.needs_input_grad(0):
        wr = w.reshape(groups, wshape[0] // groups, wshape[1], n_k)
        cols = einsum("ngdo,gdck->ngcok", gr, wr).reshape(n, channels, n_out, n_k)
        grad_x = sparse_map_adjoint(cols, c.index, None, in_spatial, (n_out, n_k))
    if c.needs_input_grad(1):
        cols = sparse_map(x, c.index, None, in_spatial, (n_out, n_k))
        cols = cols.reshape(n, groups, channels // groups, n_out, n_k)
        grad_w = einsum("ngdo,ngcok->gdck", gr, cols).reshape(wshape)
    if len(c._input_meta) > 2 and c.needs_input_grad(2):
        grad_b = g.sum((0,) + tuple(range(2, g.ndim)))
    return grad_x, grad_w, grad_b


def _conv_t_forward(x, w, *maybe_bias, index, groups, out_spatial, n_in, n_k):
    n, cin = x.shape[:2]
    dout = w.shape[1]
    xr = x.reshape(n, groups, cin // groups, n_in)
    wr = w.reshape(groups, cin // groups, dout, n_k)
    cols = contract("ngcs,gcdk->ngdsk", xr, wr).reshape(n, groups * dout, n_in, n_k)
    y = _map_adjoint_np(cols, index, None, 2, tuple(out_spatial))
    if maybe_bias:
        y = y + maybe_bias[0].reshape((-1,) + (1,) * len(out_spatial))
    return np.ascontiguousarray(y, dtype=x.dtype)  # (the contraction's layout is its own: torch's output is C-ordered)


def _conv_t_vjp(c, g):
    x, w = c.input, c.weight
    n, cin = c._input_meta[0][0][:2]
    groups, n_in, n_k = c.groups, c.n_in, c.n_k
    wshape = c._input_meta[1][0]
    dout = wshape[1]
    gcols = sparse_map(g, c.index, None, c.out_spatial, (n_in, n_k)).reshape(n, groups, dout, n_in, n_k)
    grad_x = grad_w = grad_b = None
    if c.needs_input_grad(0):
        wr = w.reshape(groups, cin // groups, dout, n_k)
        grad_x = einsum("ngdsk,gcdk->ngcs", gcols, wr).reshape(c._input_meta[0][0])
    if c.needs_input_grad(1):
        xr = x.reshape(n, groups, cin // groups, n_in)
        grad_w = einsum("ngcs,ngdsk->gcdk", xr, gcols).reshape(wshape)
    if len(c._input_meta) > 2 and c.needs_input_grad(2):
        grad_b = g.sum((0,) + tuple(range(2, g.ndim)))
    return grad_x, grad_w, grad_b


_SAVE = ("input", "weight")  # torch saves both whenever any input requires grad
_conv = Primitive("ConvolutionBackward0", _conv_forward, _conv_vjp, inputs=("input", "weight"), save=_SAVE,
                  jvp="bilinear")
_conv_bias = Primitive("ConvolutionBackward0", _conv_forward, _conv_vjp, inputs=("input", "weight", "bias"),
                       save=_SAVE, jvp="bilinear")
_conv_t = Primitive("ConvolutionBackward0", _conv_t_forward, _conv_t_vjp, inputs=("input", "weight"), save=_SAVE,
                    jvp="bilinear")
_conv_t_bias = Primitive("ConvolutionBackward0", _conv_t_forward, _conv_t_vjp, inputs=("input", "weight", "bias"),
                         save=_SAVE, jvp="bilinear")


def _fmt(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _check_common(input: Tensor, weight: Tensor, bias, nd: int, groups: int, transposed: bool) -> bool:
    """Validate ranks, dtypes and channel counts; returns True when the input is unbatched."""
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to conv"
                           f"{'_transpose' if transposed else ''}{nd}d, but got input of size: {_fmt(input.shape)}")
    if weight.ndim != nd + 2:
        raise RuntimeError("weight should have at least three dimensions" if nd == 1 else
                           f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional input "
                           f"{_fmt(input.shape)}, but got {weight.ndim}-dimensional weight of size "
                           f"{_fmt(weight.shape)} instead")
    if not input.dtype.is_floating_point or input.dtype is not weight.dtype or (
            bias is not None and bias.dtype is not input.dtype):
        other = weight if input.dtype is not weight.dtype else bias
        raise RuntimeError(f"Input type ({_type(input)}) and weight type ({_type(other)}) should be the same"
                           if other is not None else f"\"conv\" not implemented for '{input.dtype}'")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    return input.ndim == nd + 1


def _type(t: Tensor) -> str:
    from refgrad.autograd.graph import _TYPE_NAMES
    return f"torch.{_TYPE_NAMES[t.dtype.name]}"


def _convnd(nd: int, input, weight, bias, stride, padding, dilation, groups):
    unbatched = _check_common(input, weight, bias, nd, groups, False)
    x = input.unsqueeze(0) if unbatched else input
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            lo = hi = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            lo = tuple(t // 2 for t in total)
            hi = tuple(t - t // 2 for t in total)
        else:
            raise ValueError(f"Invalid padding string '{padding}'")
    else:
        lo = hi = _tuple(padding, nd, "padding")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in lo):
        raise RuntimeError("negative padding is not supported")
    channels = x.shape[1]
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size {_fmt(weight.shape)} instead")
    if channels != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_fmt(weight.shape)}, expected input"
                           f"{_fmt(x.shape)} to have {weight.shape[1] * groups} channels, but got {channels} "
                           f"channels instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise RuntimeError(f"Given weight of size {_fmt(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {_fmt(bias.shape)} instead")
    if lo != hi:
        # as torch: an odd total 'same' padding pads the extra element on the high side first (a ConstantPadNd
        # node), so the convolution saves that padded copy, not the input
        warnings.warn("Using padding='same' with even kernel lengths and odd dilation may require a zero-padded "
                      "copy of the input be created", UserWarning, stacklevel=3)
        from refgrad.ops.pooling import pad
        amounts = []
        for a, b in zip(reversed(lo), reversed(hi)):
            amounts += [0, b - a]
        x = pad(x, amounts)
        hi = lo
    in_spatial = tuple(x.shape[2:])
    padded = [s + a + b for s, a, b in zip(in_spatial, lo, hi)]
    effective = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if any(p < e for p, e in zip(padded, effective)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
                           f"size: ({' x '.join(map(str, effective))}). Kernel size can't be greater than actual "
                           f"input size")
    out_spatial = tuple((p - e) // s + 1 for p, e, s in zip(padded, effective, stride))
    index, n_out, n_k, _ = _unfold_index(in_spatial, out_spatial, kernel, stride, dilation, lo)
    params = dict(index=index, groups=groups, out_spatial=out_spatial, n_out=n_out, n_k=n_k)
    out = _conv(x, weight, **params) if bias is None else _conv_bias(x, weight, bias, **params)
    return out.squeeze(0) if unbatched else out


def _conv_transposend(nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    unbatched = _check_common(input, weight, bias, nd, groups, True)
    x = input.unsqueeze(0) if unbatched else input
    stride = _tuple(stride, nd, "stride")
    padding = _tuple(padding, nd, "padding")
    output_padding = _tuple(output_padding, nd, "output_padding")
    dilation = _tuple(dilation, nd, "dilation")
    kernel = tuple(weight.shape[2:])
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got output_padding_"
                           f"{'height' if nd > 1 else 'width'}: {output_padding[0]} ...")
    if x.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise RuntimeError(f"Given transposed=1, weight of size {_fmt(weight.shape)}, expected input{_fmt(x.shape)} "
                           f"to have {weight.shape[0]} channels, but got {x.shape[1]} channels instead")
    cout = weight.shape[1] * groups
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != cout):
        raise RuntimeError(f"Given transposed=1, weight of size {_fmt(weight.shape)}, expected bias to be "
                           f"1-dimensional with {cout} elements, but got bias of size {_fmt(bias.shape)} instead")
    in_spatial = tuple(x.shape[2:])
    out_spatial = tuple((s - 1) * st - 2 * p + d * (k - 1) + op + 1
                        for s, st, p, d, k, op in zip(in_spatial, stride, padding, dilation, kernel, output_padding))
    if any(o <= 0 for o in out_spatial):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, in_spatial))}). Calculated output "
                           f"size per channel: ({' x '.join(map(str, out_spatial))}). Output size is too small")
    index, n_in, n_k, _ = _unfold_index(out_spatial, in_spatial, kernel, stride, dilation, padding)
    params = dict(index=index, groups=groups, out_spatial=out_spatial, n_in=n_in, n_k=n_k)
    out = _conv_t(x, weight, **params) if bias is None else _conv_t_bias(x, weight, bias, **params)
    return out.squeeze(0) if unbatched else out


def _make_conv(nd: int):
    def conv(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
             groups: int = 1) -> Tensor:
        return _convnd(nd, input, weight, bias, stride, padding, dilation, groups)
    conv.__name__ = f"conv{nd}d"
    conv.__doc__ = (f"{nd}-D cross-correlation with stride, padding (int, tuple, 'same', 'valid'), dilation and "
                    f"groups (torch.nn.functional.conv{nd}d); RuntimeError on mismatched channels or sizes.")
    return conv


def _make_conv_transpose(nd: int):
    def conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                       output_padding=0, groups: int = 1, dilation=1) -> Tensor:
        return _conv_transposend(nd, input, weight, bias, stride, padding, output_padding, groups, dilation)
    conv_transpose.__name__ = f"conv_transpose{nd}d"
    conv_transpose.__doc__ = f"{nd}-D transposed convolution (torch.nn.functional.conv_transpose{nd}d)."
    return conv_transpose


for _nd in (1, 2, 3):
    _fn = _make_conv(_nd)
    globals()[_fn.__name__] = _fn
    register(_fn.__name__, namespace="torch.nn.functional")(_fn)
    register(_fn.__name__, namespace="torch")(_fn)
    _fn_t = _make_conv_transpose(_nd)
    globals()[_fn_t.__name__] = _fn_t
    register(_fn_t.__name__, namespace="torch.nn.functional")(_fn_t)
    register(_fn_t.__name__, namespace="torch")(_fn_t)
