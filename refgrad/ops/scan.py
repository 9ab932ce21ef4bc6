"""Ops along one dimension that keep its length: cumulative sums/products/extrema, logcumsumexp, softmax and
log_softmax (torch and torch.nn.functional spellings)."""
from __future__ import annotations

import warnings

import numpy as np

from refgrad import dtypes
from refgrad.autograd._jvp import transpose_reading_primals
from refgrad.ops._layout import c_contiguous, contiguous_result
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._round_once import _NARROW, round_once, sub_mul_once
from refgrad.ops._util import ones_vector, wrap_dim
from refgrad.ops.extrema import _TYPES, save_output, value_selecting_backward
from refgrad.tensor import Tensor


def _scalar_name(dtype) -> str:
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]


def _reverse_cumsum(g: Tensor, dim: int) -> Tensor:
    return g.flip(dim).cumsum(dim).flip(dim)


def _accumulate(np_fn):
    """NumPy's cumulative ``np_fn`` along ``dim``; a 0-d array is its own cumulation. Like torch on CPU,
    reduced-precision floats accumulate in float64 and are rounded once at the end."""
    def forward(a, dim, dtype=None):
        out_dtype = dtype.numpy if dtype is not None else a.dtype
        if a.ndim == 0:
            return a.astype(out_dtype)
        with np.errstate(invalid="ignore", over="ignore"):  # inf * 0, inf - inf: NaN without a warning, as torch
            if np.issubdtype(out_dtype, np.floating) and np.dtype(out_dtype).itemsize < 8:
                return c_contiguous(np_fn(a.astype(np.float64), axis=dim).astype(out_dtype))
            return c_contiguous(np_fn(a, axis=dim, dtype=out_dtype))  # (torch's scans: C-contiguous outputs)
    return forward


def _wide(np_fn, a: np.ndarray, **kwargs) -> np.ndarray:
    """``np_fn`` accumulated in float64 and rounded back to ``a``'s dtype (torch CPU's scan accumulation)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np_fn(a.astype(np.float64), **kwargs).astype(a.dtype)


_cumsum = Primitive("CumsumBackward0", _accumulate(np.cumsum),
                    lambda c, g: _reverse_cumsum(g, c.dim) if g.ndim else g)


def _cumulative_dtype(input: Tensor, dtype):
    if dtype is not None:
        return dtype
    return dtypes.int64 if input.dtype.category < 2 else input.dtype


@register(method=True, inplace=True)
def cumsum(input, dim: int, *, dtype=None, out=None):
    """Cumulative sum along ``dim`` (torch.cumsum); integers and bool accumulate in int64."""
    return _cumsum(input, dim=wrap_dim(dim, input.ndim), dtype=_cumulative_dtype(input, dtype))


def _cumprod_first_order(x: np.ndarray, out: np.ndarray, g: np.ndarray, dim: int) -> np.ndarray:
    """torch's O(n) cumprod gradient for inputs with zeros, used when no graph is recorded: before a slice's first
    zero k, reversed_cumsum(out * g) / x; at k, out_{k-1} sum_{k <= j < k2} g_j prod_{k < i <= j} x_i (k2: the second
    zero; the terms past it are 0 times the last product, NaN when that is infinite); after k, 0."""
    xs, outs, gs = (np.moveaxis(a, dim, -1) for a in (x, out, g))
    flat_x, flat_out, flat_g = (a.reshape(-1, a.shape[-1]) for a in (xs, outs, gs))
    result = np.zeros_like(flat_x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for row, (xr, outr, gr) in enumerate(zip(flat_x, flat_out, flat_g)):
            zeros = np.flatnonzero(xr == 0)
            k = int(zeros[0]) if zeros.size else xr.size
            if k:
                result[row, :k] = np.flip(_wide(np.cumsum, np.flip(outr[:k] * gr[:k]))) / xr[:k]
            if k < xr.size:
                # torch's masked form: over the whole slice, g_j (zeroed outside [k, k2), k2 the second zero) times
                # the cumprod of x over (k, min(j, k2 - 1)]; so past k2 it adds 0 * that product (NaN if infinite)
                end = int(zeros[1]) if zeros.size > 1 else xr.size
                partial = np.concatenate([np.ones(1, xr.dtype), _wide(np.cumprod, xr[k + 1:end])])
                terms = np.concatenate([np.zeros(k, xr.dtype), gr[k:end] * partial,
                                        np.zeros(xr.size - end, xr.dtype) * partial[-1]])
                total = np.sum(terms, dtype=xr.dtype)
                result[row, k] = total * outr[k - 1] if k else total
    return np.moveaxis(result.reshape(xs.shape), -1, dim)


def _cumprod_vjp(c, g):
    """Without zeros: reversed_cumsum(out * g) / x. With zeros: torch's O(n) formula when no graph is recorded,
    else torch's differentiable O(n^2) one (see ``_cumprod_graph_vjp``)."""
    from refgrad.autograd.forward_ad import has_tangents
    from refgrad.autograd.grad_mode import is_grad_enabled
    x, out, dim = c.self, c.result, c.dim
    if x.numel() <= 1 or (x.ndim and x.shape[dim] == 1):
        return g  # torch: the gradient passes through
    if not np.any(x._data == 0):
        return _reverse_cumsum(out * g, dim) / x
    if not is_grad_enabled() and not has_tangents((x, g)):  # forward tangents need the differentiable form too
        return Tensor._make(_cumprod_first_order(x._data, out._data, g._data, dim))
    return _cumprod_graph_vjp(x, g, dim)


def _cumprod_graph_vjp(x: Tensor, g: Tensor, dim: int) -> Tensor:
    """grad_k = sum_{j >= k} g_j (prod_{i < k} x_i) (prod_{k < i <= j} x_i), slice by slice as torch builds it:
    prod of x[:k] and cumprod of x[k+1:] only, so a NaN or inf never meets a zero mask (double backward)."""
    from refgrad.ops.join import cat, stack
    n = x.shape[dim]
    ones = Tensor._make(np.ones(x.shape[:dim] + (1,) + x.shape[dim + 1:], dtype=g.dtype.numpy))
    slices = []
    for k in range(n):
        if k == 0:
            omitted = cat([ones, x.narrow(dim, 1, n - 1).cumprod(dim)], dim)
        else:
            until = x.narrow(dim, 0, k).prod(dim, keepdim=True)
            if k == n - 1:
                omitted = until
            else:
                after = x.narrow(dim, k + 1, n - k - 1).cumprod(dim)
                omitted = cat([until, until.expand_as(after) * after], dim)
        slices.append((g.narrow(dim, k, n - k) * omitted).sum(dim))
    return stack(slices, dim)


def _cumprod_jvp(c, t):
    """torch 2.13's forward formula (not the VJP's transpose, so its NaNs are torch's): result · cumsum(t / x);
    from the first zero of a slice on, the cumprod of x with that zero replaced by its tangent."""
    from refgrad.ops.elementwise import where
    x, result, dim = c.self, c.result, c.dim
    x, t = x.to(result.dtype), t.to(result.dtype)
    smooth = (t / x).cumsum(dim) * result
    zeros = x._data == 0
    if not zeros.any():
        return smooth
    if x.ndim == 0:
        return where(Tensor._make(zeros), t, smooth)
    first = zeros & (np.cumsum(zeros, axis=dim) == 1)
    after = np.cumsum(first, axis=dim) > 0
    return where(Tensor._make(after), where(Tensor._make(first), t, x).cumprod(dim), smooth)


_cumprod = Primitive("CumprodBackward0", _accumulate(np.cumprod), _cumprod_vjp, save=("self", "result"),
                     jvp=_cumprod_jvp)


@register(method=True, inplace=True)
def cumprod(input, dim: int, *, dtype=None, out=None):
    """Cumulative product along ``dim`` (torch.cumprod); the gradient is exact with zeros."""
    return _cumprod(input, dim=wrap_dim(dim, input.ndim), dtype=_cumulative_dtype(input, dtype))


def _running_index(data: np.ndarray, dim: int, better) -> np.ndarray:
    """torch CPU's cummax/cummin index: move to i when ``better(x_i, current)`` or x_i is NaN."""
    moved = np.moveaxis(data, dim, -1)
    index = np.zeros(moved.shape, dtype=np.int64)
    best = moved[..., 0].copy()
    current = np.zeros(moved.shape[:-1], dtype=np.int64)
    for i in range(moved.shape[-1]):
        x = moved[..., i]
        take = (better(x, best) | np.isnan(x)) if i else np.ones(x.shape, bool)
        best = np.where(take, x, best)
        current = np.where(take, i, current)
        index[..., i] = current
    return np.moveaxis(index, -1, dim)


def _cum_extreme_backward(c, g):
    index = c.indices._data  # unpacked: a second backward raises, as in torch
    if c.self.numel() == 0:
        return c.self  # torch returns the (empty) input itself
    return value_selecting_backward(g, index, c.dim, c._input_meta[0][0], True, accumulate=True)


def _cum_extreme(name: str, better, grad_fn: str):
    prim = Primitive(grad_fn, lambda a, values, index: (values, index),
                     lambda c, g, *_: _cum_extreme_backward(c, g), differentiable=(0,), save=("self",),
                     outputs=("result", "indices"))

    def op(input, dim: int):
        data = input._data
        dim = wrap_dim(dim, input.ndim) if data.size else 0  # torch skips the dim check on empty input
        if data.ndim == 0:
            values, index = data.copy(), np.zeros((), np.int64)
        elif data.size == 0:
            values, index = data.copy(), np.zeros(data.shape, np.int64)
        else:
            index = np.ascontiguousarray(_running_index(data, dim, better))  # (torch's outputs are C-ordered)
            values = np.take_along_axis(data, index, dim)
        values, indices = prim(input, values=values, index=index, dim=dim, self_ndim=input.ndim)
        save_output(values, "indices", indices)
        return _TYPES[name](values, indices)

    op.__name__ = name
    op.__doc__ = (f"Running {name[3:]}imum along ``dim`` and its index (torch.{name}); ties move the index "
                  "forward, and the gradient goes to the indexed elements.")
    return op


cummax = register("cummax", method=True)(_cum_extreme("cummax", np.greater_equal, "CummaxBackward0"))
cummin = register("cummin", method=True)(_cum_extreme("cummin", np.less_equal, "CumminBackward0"))


def _logcumsumexp_forward(a, dim):
    if a.ndim == 0 or a.size == 0:
        return a.copy()
    with np.errstate(invalid="ignore"):
        return np.logaddexp.accumulate(a, axis=dim).astype(a.dtype)


def _reverse_logcumsumexp(x: Tensor, dim: int) -> Tensor:
    return logcumsumexp(x.flip(dim), dim).flip(dim)


def _logcumsumexp_vjp(c, g):
    """sum_{k >= i} g_k exp(x_i - out_k), computed in log space with the positive and negative parts of g apart
    (torch's formula, whose log|g| makes double backward NaN where g = 0)."""
    from refgrad.ops.elementwise import where
    x, out, dim = c.self, c.result, c.dim
    if g.ndim == 0 or g.numel() == 0:
        return g
    lowest = float(np.finfo(g._data.dtype).min)
    log_abs = g.abs().log()
    positive = where(g > 0, log_abs, lowest)
    negative = where(g < 0, log_abs, lowest)
    return (_reverse_logcumsumexp(positive - out, dim) + x).exp() - \
        (_reverse_logcumsumexp(negative - out, dim) + x).exp()


_PAIRWISE_MAX = 1024  # beyond this length along dim, the n x n weights give way to the generic rule


def _logcumsumexp_jvp(c, t):
    """out_i's tangent Σ_{j<=i} t_j exp(x_j - out_i), each weight from the difference x_j - out_i (exact where the
    generic rule, through the VJP's log|g| in log space, loses log t_j against |x_j| ~ 1e300, and where torch's
    formula, which shifts by the slice's max and zeroes sums below 1e-13, is wrong: at x = [0, 800] out_0's tangent
    is t_0, torch gives 0). torch's conventions at non-finite inputs: an entry at -inf weighs 0, a slice whose max is
    -inf or NaN has NaN tangents; an empty dim raises torch's max() error."""
    from refgrad.ops.selection import where
    x, out, dim = c.self, c.result, c.dim
    if x.ndim and x.shape[dim] == 0:
        raise IndexError(f"max(): Expected reduction dim {c.dim} to have non-zero size.")
    if x.ndim == 0:
        return _logcumsumexp_jvp_last(x.reshape(1), out.reshape(1), t.reshape(1), where).reshape(())
    if x.shape[dim] > _PAIRWISE_MAX:
        return transpose_reading_primals(c, t)[0]
    moved = [a.movedim(dim, -1) for a in (x, out, t)]
    return _logcumsumexp_jvp_last(*moved, where).movedim(-1, dim)


def _logcumsumexp_jvp_last(x, out, t, where):
    n = x.shape[-1]
    x_np, out_np = x._data, out._data
    unused = ~np.tril(np.ones((n, n), bool)) | (np.isneginf(x_np)[..., None, :] & np.isneginf(out_np)[..., :, None])
    unused = Tensor._make(np.broadcast_to(unused, x_np.shape[:-1] + (n, n)))
    difference = where(unused, 0.0, x.unsqueeze(-2) - out.unsqueeze(-1))  # [..., i, j]: x_j - out_i
    tangent = (where(unused, 0.0, difference.exp()) * t.unsqueeze(-2)).sum(-1)
    top = np.max(x_np, axis=-1, keepdims=True)
    undefined = np.isnan(top) | np.isneginf(top)
    return where(Tensor._make(np.broadcast_to(undefined, x_np.shape)), np.nan, tangent) if undefined.any() else tangent


_logcumsumexp = Primitive("LogcumsumexpBackward0", contiguous_result(_logcumsumexp_forward), _logcumsumexp_vjp,
                          save=("self", "result"), jvp=_logcumsumexp_jvp)


@register(method=True)
def logcumsumexp(input, dim: int):
    """log(cumsum(exp(input))) along ``dim``, computed stably (torch.logcumsumexp)."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_scalar_name(input.dtype)}'")
    return _logcumsumexp(input, dim=wrap_dim(dim, input.ndim))


# --- softmax and log_softmax -----------------------------------------------------------------------------------

def _softmax_forward(a, dim):
    if a.size == 0:
        return a.copy()
    if a.ndim == 0:
        return _softmax_forward(a.reshape(1), 0).reshape(())
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = np.exp(a - np.max(a, axis=dim, keepdims=True))
        return c_contiguous((shifted / np.sum(shifted, axis=dim, keepdims=True)).astype(a.dtype))  # (torch's layout)


def _short_rows(a, dim: int) -> bool:
    """Whether ``a`` is a matrix of many (>= 64) short (<= 16) rows reduced along ``dim`` = 1. NumPy reduces and
    broadcasts such rows one short inner loop at a time (a max over 128 rows of 10 costs ~4x the max over 10 rows
    of 128): the forward then works on a transposed copy, whose rows are long and contiguous (log_softmax of
    128 x 10: 11.5 -> 7.3 µs; the backward, one sum and one broadcast, gains nothing from the copies). Not for
    float16: NumPy sums a row of halves in float32, but adds rows of halves elementwise, rounding each sum."""
    return a.ndim == 2 and dim == 1 and a.shape[1] <= 16 and a.shape[0] >= 64 and a.dtype.itemsize >= 4


def _log_softmax_forward(a, dim):
    if a.size == 0:
        return a.copy()
    if a.ndim == 0:
        return _log_softmax_forward(a.reshape(1), 0).reshape(())
    # a Primitive forward: floating-point warnings are off; the ufuncs' reduce is what max() and sum() call
    if _short_rows(a, dim):  # the same steps along axis 0 of the transposed copy (the sums add in another order)
        shifted = a.T.copy()
        np.subtract(shifted, np.maximum.reduce(shifted, axis=0), out=shifted)
        out = np.empty(a.shape, a.dtype)
        exps = np.exp(shifted)  # their column sums as one BLAS product with ones (see _row_sums): 0.5 against 1.1 µs
        np.subtract(shifted, np.log(ones_vector(exps.shape[0], exps.dtype).dot(exps)), out=out.T)
        return out
    shifted = a - np.maximum.reduce(a, axis=dim, keepdims=True)
    return c_contiguous((shifted - np.log(np.add.reduce(np.exp(shifted), axis=dim, keepdims=True))).astype(
        a.dtype, copy=False))  # (torch's kernel writes a C-contiguous output whatever the input's layout)


# torch's gradients of softmax and log_softmax are ops of their own (_softmax_backward_data and
# _log_softmax_backward_data), with their own derivative formulas: a double backward meets a
# SoftmaxBackwardDataBackward0 / LogSoftmaxBackwardDataBackward0 node that saved grad_output and output.

def _softmax_backward_data_vjp(c, gg):
    g, y, dim = c.grad_output, c.output, c.dim
    grad_g = _softmax_backward_data(gg, y, dim=dim) if c.needs_input_grad(0) else None
    grad_y = None
    if c.needs_input_grad(1):
        grad_y = g * gg - (y * g).sum(dim, keepdim=True) * gg - g * (y * gg).sum(dim, keepdim=True)
    return grad_g, grad_y


def _log_softmax_backward_data_vjp(c, gg):
    g, y, dim = c.grad_output, c.output, c.dim
    grad_g = gg - (gg * y.exp()).sum(dim, keepdim=True) if c.needs_input_grad(0) else None
    grad_y = -g.sum(dim, keepdim=True) * y.exp() * gg if c.needs_input_grad(1) else None
    return grad_g, grad_y


_softmax_backward_data = Primitive(
    "SoftmaxBackwardDataBackward0",
    lambda g, y, dim: y * (g - np.sum(g * y, axis=dim, keepdims=True, dtype=y.dtype)),
    _softmax_backward_data_vjp, inputs=("grad_output", "output"), save=("grad_output", "output"))
_exp_once = round_once(np.exp)  # torch's float32 exp is closer to the rounded float64 value than NumPy's


def _row_sums(g, y, dim: int):
    """``sum(g, dim, keepdim=True)`` in y's dtype. For many short float32/float64 rows (``_short_rows``) the
    matrix-vector product with ones: NumPy's reduction runs one inner loop per short row (128 rows of 10: ~2 µs),
    the BLAS product one call (~0.5 µs). The <= 16 terms of a row are added in BLAS's order instead of NumPy's
    pairwise one (torch's vectorized order is a third); the products with 1 are exact, and NaN and infinities
    propagate alike."""
    if g.dtype is y.dtype and dim == 1 and g.dtype.kind == "f" and _short_rows(g, dim):
        return g.dot(ones_vector(g.shape[1], g.dtype))[:, None]  # (the method: np.dot has a Python dispatcher frame)
    return np.add.reduce(g, axis=dim, keepdims=True, dtype=y.dtype)


def _log_softmax_backward_data_forward(g, y, dim):
    # torch's kernel computes g - exp(y) * sum(g) with the product fused into the subtraction (FMA contraction):
    # where exp(y) ~ 1 the difference cancels and the product's rounding would be its largest error
    return sub_mul_once(g, _exp_once(y) if y.dtype in _NARROW else np.exp(y), _row_sums(g, y, dim))


_log_softmax_backward_data = Primitive(
    "LogSoftmaxBackwardDataBackward0",
    _log_softmax_backward_data_forward,
    _log_softmax_backward_data_vjp, inputs=("grad_output", "output"), save=("grad_output", "output"))


def _softmax_vjp(c, g):
    return _softmax_backward_data(g, c.result, dim=c.dim)


def _log_softmax_vjp(c, g):
    return _log_softmax_backward_data(g, c.result, dim=c._params["dim"])


_softmax = Primitive("SoftmaxBackward0", _softmax_forward, _softmax_vjp, save=("result",))
_log_softmax = Primitive("LogSoftmaxBackward0", _log_softmax_forward, _log_softmax_vjp, save=("result",))


def _softmax_call(prim, name, input, dim, dtype):
    if dtype is not None and input.dtype is not dtype:
        input = input.to(dtype)
    if input._data.dtype.kind != "f" and not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"{name}_lastdim_kernel_impl\" not implemented for "
                                  f"'{_scalar_name(input.dtype)}'")
    return prim(input, dim=wrap_dim(dim, input._data.ndim))


@register(method=True)
def softmax(input, dim: int, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (torch.softmax; ``dtype`` casts the input first)."""
    return _softmax_call(_softmax, "softmax", input, dim, dtype)


@register(method=True)
def log_softmax(input, dim: int, dtype=None):
    """x - logsumexp(x) along ``dim`` (torch.log_softmax; ``dtype`` casts the input first)."""
    return _softmax_call(_log_softmax, "log_softmax", input, dim, dtype)


def _implicit_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as "
                  "an argument.", UserWarning, stacklevel=stacklevel + 1)
    return 0 if ndim in (0, 1, 3) else 1


@register("softmax", namespace="torch.nn.functional")
def functional_softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """torch.nn.functional.softmax: like torch.softmax, with the deprecated implicit dim."""
    if dim is None:
        dim = _implicit_dim("softmax", input.ndim, 2)
    return _softmax_call(_softmax, "softmax", input, dim, dtype)


@register("log_softmax", namespace="torch.nn.functional")
def functional_log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    """torch.nn.functional.log_softmax: like torch.log_softmax, with the deprecated implicit dim."""
    if dim is None:
        dim = _implicit_dim("log_softmax", input.ndim, 2)
    return _softmax_call(_log_softmax, "log_softmax", input, dim, dtype)

