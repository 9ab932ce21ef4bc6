"""Reductions over all elements or over ``dim`` (an int or a tuple), with ``keepdim``: sums, means, products,
variances, logsumexp, norms and the logical reductions. Extrema and order statistics live in ``extrema.py``,
cumulative ops and softmax in ``scan.py``.
"""
from __future__ import annotations

import builtins
import warnings

import numpy as np

from refgrad import dtypes
from refgrad.autograd import zerotensor as _zerotensor
from refgrad.autograd._jvp import contract_over, nan_where_nan, reduction_contraction
from refgrad.autograd.grad_mode import _state as _grad_mode
from refgrad.autograd.grad_mode import is_grad_enabled
from refgrad.ops._layout import c_contiguous, contiguous_result
from refgrad.ops._numpy_names import user_stacklevel
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._scalar_ops import div_scalar
from refgrad.ops._util import _restore, _unreduce, float_dtype, never_flowed, normalize_dims, ones_vector, wrap_dim
from refgrad.ops._views import internal_view
from refgrad.ops.shape import _expand
from refgrad.tensor import _DTYPE_OF, Tensor

_DOF_WARNING = ("{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction factor "
                "(input numel divided by output numel).")


def _count(shape: tuple, dims: tuple) -> int:
    return int(np.prod([shape[d] for d in dims])) if dims else 1


def _scalar_name(dtype) -> str:
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]


def _reduce(np_fn, a, dims, keepdim, **kwargs):
    """np_fn over ``dims`` (a tuple; () on a 0-d array) keeping the input's array kind."""
    return np.asarray(np_fn(a, axis=dims, keepdims=keepdim, **kwargs))


# --- sum, nansum, mean, nanmean --------------------------------------------------------------------------------

_COLUMN_SUM_ROWS = 1024  # column sums of at most this many rows go through BLAS (see _sum_forward)


def _sum_forward(a, dims, keepdim, dtype):
    """np.sum without its Python wrapper. The column sums of a C-ordered float matrix (a bias gradient: the sum
    over the batch) as the product ones @ a, one BLAS call (64 x 64: ~0.7 µs against ~2 µs): NumPy's reduction
    along axis 0 adds row after row, BLAS adds the same <= 1024 terms in its own order (torch's vectorized order
    is a third); the products with 1 are exact, and NaN and infinities propagate alike. The result is
    C-contiguous, as torch allocates a reduction's (NumPy keeps a non-contiguous input's order: ``x.mT.sum(0)``)."""
    if dims == (0,) and a.ndim == 2 and 1 < a.shape[0] <= _COLUMN_SUM_ROWS and a.dtype is dtype.numpy \
            and a.dtype.kind == "f" and a.dtype.itemsize >= 4 and a.flags.c_contiguous:
        out = ones_vector(a.shape[0], a.dtype).dot(a)  # (the method: np.dot has a Python dispatcher frame)
        return out[None] if keepdim else out
    out = np.add.reduce(a, axis=dims, keepdims=keepdim, dtype=dtype.numpy)
    return c_contiguous(out) if type(out) is np.ndarray and not out.flags.c_contiguous else out


def _expand_scalar(g: Tensor, shape: tuple) -> Tensor:
    """``g.expand(shape)`` for the 0-d gradient of a full reduction (torch's ExpandBackward0 view), without the
    method's argument parsing and checks, which a 0-d tensor always passes."""
    return _expand(g, shape=shape, self_sym_sizes=())


_sum_all = Primitive("SumBackward0", lambda a, dtype: np.add.reduce(a, axis=None, dtype=dtype.numpy),
                     lambda c, g: _expand_scalar(g, c._input_meta[0][0]), jvp="linear")
_sum_dim = Primitive("SumBackward1", _sum_forward,
                     lambda c, g: _restore(g, c._input_meta[0][0], c.dims, c.keepdim), jvp="linear")
_nansum = Primitive("NansumBackward0",
                    contiguous_result(lambda a, dims, keepdim, dtype: np.nansum(a, axis=dims, keepdims=keepdim,
                                                                                dtype=dtype.numpy)),
                    lambda c, g: _restore(g, c._input_meta[0][0], c.dims, c.keepdim) * _not_nan(c.self),
                    save=("self",))
def _mean_all_forward(a, count):
    """np.mean(a, dtype=a.dtype)'s own steps (a sum, then a division by the count as an intp, cast back to the
    dtype) without its two Python frames (~20k instructions), and without its "Mean of empty slice" warning,
    which torch does not give."""
    total = np.add.reduce(a, axis=None, dtype=a.dtype)
    return total.dtype.type(total / np.intp(a.size))


_mean_all = Primitive("MeanBackward0", _mean_all_forward,  # the expanded g is divided at once: an internal view
                      lambda c, g: div_scalar(internal_view(_expand, g, shape=c._input_meta[0][0], self_sym_sizes=()),
                                              c.count), jvp="linear")
_mean_dim = Primitive("MeanBackward1",
                      contiguous_result(lambda a, dims, keepdim: np.mean(a, axis=dims, keepdims=keepdim, dtype=a.dtype)
                      .astype(a.dtype)),
                      lambda c, g: div_scalar(_restore(g, c._input_meta[0][0], c.dims, c.keepdim), c.count),
                      jvp="linear")  # torch's mean_backward divides by a number: DivBackward1


def _not_nan(t: Tensor) -> Tensor:
    """1 where ``t`` is a number, 0 at NaN (multiplied, as torch does, so a NaN cotangent stays NaN)."""
    return Tensor._make((~np.isnan(t._data)).astype(t._data.dtype))


def _sum_dtype(input: Tensor, dtype):
    if dtype is not None:
        return dtype
    dtype = _DTYPE_OF.get(input._data.dtype) or input.dtype  # (the property's lookup, without its frame)
    return dtypes.int64 if dtype.category < 2 else dtype


@register(method=True)
def sum(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A001 - torch.sum
    """Sum of all elements, or over ``dim`` (torch.sum); bool and integer inputs sum in int64."""
    out_dtype = _sum_dtype(input, dtype)
    if dim is None:
        return _sum_all(input, dtype=out_dtype)
    dims = normalize_dims(dim, input.ndim)
    return _sum_dim(input, dims=dims, keepdim=keepdim, dtype=out_dtype)


@register(method=True)
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Sum treating NaN as zero (torch.nansum); NaN elements get gradient 0."""
    out_dtype = _sum_dtype(input, dtype)
    return _nansum(input, dims=normalize_dims(dim, input.ndim), keepdim=keepdim, dtype=out_dtype)


@register(method=True)
def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Arithmetic mean (torch.mean); integer inputs raise as in torch."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind not in "fc" and not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. "
            f"Got: {_scalar_name(input.dtype)}")
    if dim is None:
        return _mean_all(input, count=int(input._data.size))
    dims = normalize_dims(dim, input.ndim)
    return _mean_dim(input, dims=dims, keepdim=keepdim, count=_count(input.shape, dims))


@register(method=True)
def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Mean over the non-NaN elements (torch.nanmean): nansum / count, so its node is DivBackward0."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_scalar_name(input.dtype)}")
    kept = Tensor._make(np.sum(~np.isnan(input._data), axis=normalize_dims(dim, input.ndim), keepdims=keepdim))
    return nansum(input, dim, keepdim) / kept


def sum_to_size(self, *size):
    """Sum broadcast dimensions away so the result has ``size`` (torch.Tensor.sum_to_size)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    own = self._data.shape
    if shape == () and self.requires_grad:  # torch: a full sum (SumBackward0), even of a 0-d tensor
        return sum(self)
    leading = len(own) - len(shape)
    dims = tuple(range(leading)) + tuple([leading + i for i, n in enumerate(shape) if n == 1 and own[leading + i] != 1])
    if not dims:
        return self
    # what sum(self, dims, keepdim=True).view(shape) records, without re-checking dims already in range and a
    # view of a contiguous result (the engine reduces every broadcast gradient through here)
    from refgrad.ops.shape import _view
    result = _sum_dim(self, dims=dims, keepdim=True, dtype=_sum_dtype(self, None))
    return _view(result, shape=shape, self_sym_sizes=result._data.shape) if leading else result


def reduce_to_size(grad: Tensor, shape: tuple) -> Tensor:
    """The engine's reduction of a broadcast gradient to its input's ``shape``: :func:`sum_to_size` when the graph
    is recorded (create_graph: torch's SumBackward1 and ViewBackward0 nodes); otherwise, when only leading dims go,
    the same sum without keepdim, so the gradient is an array of its own rather than a view of a temporary (the
    leaf's AccumulateGrad then stores it instead of copying it)."""
    own = grad._data.shape
    leading = len(own) - len(shape)
    if leading and not _grad_mode.enabled and shape == own[leading:] and shape != ():
        return _sum_dim(grad, dims=tuple(range(leading)), keepdim=False, dtype=_sum_dtype(grad, None))
    return sum_to_size(grad, shape)


# --- prod ------------------------------------------------------------------------------------------------------

def _prod_safe_zeros(g: Tensor, x: Tensor, dim: int) -> Tensor:
    """g * prod_{j != i} x_j along ``dim``, exact with zeros: exclusive cumprods from both ends (torch's recipe)."""
    from refgrad.ops.join import cat
    if x.numel() == 0:
        return g.expand(x.shape)
    n = x.shape[dim]
    if n == 1:
        return g
    ones = Tensor._make(np.ones(x.shape[:dim] + (1,) + x.shape[dim + 1:], dtype=g._data.dtype))
    before = cat([ones, x.narrow(dim, 0, n - 1)], dim).cumprod(dim)
    after = cat([ones, x.narrow(dim, 1, n - 1).flip(dim)], dim).cumprod(dim).flip(dim)
    return g * (before * after)


def _prod_vjp(c, g):
    """torch's prod gradient, term for term: g * (result / x) without zeros, else exact products of the others
    (so one zero gets the product of the rest and two or more zeros give 0 everywhere, NaN beside a NaN or inf
    except for the full prod without grad mode, which torch answers with zeros outright)."""
    x, result, shape = c.self, c.result, c._input_meta[0][0]
    if x.ndim == 0:
        return g
    zeros = int(np.count_nonzero(x._data == 0))
    if c.dim is None:
        if zeros == 0:
            return g * (result / x)
        if zeros > 1 and not is_grad_enabled():  # torch's shortcut (full prod only): zeros, even beside NaN/inf
            return Tensor._make(np.zeros(shape, dtype=g._data.dtype))
        return _prod_safe_zeros(g, x.reshape(-1), 0).view(shape)
    if not c.keepdim:
        g, result = g.unsqueeze(c.dim), result.unsqueeze(c.dim)
    if zeros == 0:
        return g * (result / x)
    return _prod_safe_zeros(g, x, c.dim)


def _prod_dim_forward(a, dim, keepdim, dtype):
    return np.prod(a, axis=dim, keepdims=keepdim, dtype=dtype.numpy) if a.ndim else a.astype(dtype.numpy)


_prod_all = Primitive("ProdBackward0", lambda a, dtype: np.asarray(np.prod(a, dtype=dtype.numpy)), _prod_vjp,
                      save=("self", "result"))
_prod_dim = Primitive("ProdBackward1", contiguous_result(_prod_dim_forward), _prod_vjp, save=("self", "result"))


@register(method=True)
def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Product of all elements or along one ``dim`` (torch.prod); the gradient is exact with zeros."""
    out_dtype = _sum_dtype(input, dtype)
    if dim is None:
        return _prod_all(input, dtype=out_dtype, dim=None, keepdim=False)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    return _prod_dim(input, dim=wrap_dim(int(dim), input.ndim), keepdim=keepdim, dtype=out_dtype)


# --- variance and standard deviation ---------------------------------------------------------------------------

def _var_acc(a, dims, keepdim, correction):
    """The variance in torch's CPU accumulation type: float64 for float32/float16 inputs (cast by the caller); of
    a complex input, as torch, the variance of its real part plus that of its imaginary part."""
    if a.dtype.kind == "c":
        return _var_acc(a.real, dims, keepdim, correction) + _var_acc(a.imag, dims, keepdim, correction)
    if a.dtype.itemsize < 8:
        a = a.astype(np.float64)
    count = _count(a.shape, dims) if a.ndim else 1
    mean = np.mean(a, axis=dims, keepdims=True, dtype=a.dtype)
    # one correction step (the mean of the residuals): identical elements then give exactly their value and a
    # variance of exactly 0, as torch's running (Welford) update does, where sum / n can be an ulp off
    with np.errstate(invalid="ignore"):
        mean = mean + np.mean(a - mean, axis=dims, keepdims=True, dtype=a.dtype)
    centered = a - mean
    dof = builtins.max(0.0, count - correction)
    return np.sum(centered * centered, axis=dims, keepdims=keepdim, dtype=a.dtype) / a.dtype.type(dof)


def _var_forward(a, dims, keepdim, correction):
    return np.asarray(_var_acc(a, dims, keepdim, correction)).astype(a.real.dtype)


def _std_forward(a, dims, keepdim, correction):
    """sqrt of the accumulated variance, rounded once: a float32 std of 1.9e-27 survives where its variance
    (3.7e-54) underflows, as in torch (x = [2.7e-27, 0] float32: std 1.9157e-27, var 0)."""
    return np.sqrt(np.asarray(_var_acc(a, dims, keepdim, correction))).astype(a.real.dtype)


def _var_backward(c, g: Tensor) -> Tensor:
    """torch's var gradient, term for term, including its conventions when the degrees of freedom are <= 0."""
    x, shape = c.self, c._input_meta[0][0]
    count = _count(shape, c.dims) if len(shape) else 1
    dof = count - c.correction
    mean = x.mean(dim=c.dims, keepdim=True) if len(shape) else x
    if c.full_form and dof <= 0:
        # torch: infinity where the element differs from the mean, NaN where it equals it
        # (a real factor: of a complex input, the gradient is NaN or inf + 0j, as torch's; torch's complex mean of
        # an element with an infinite or NaN part never equals it: infj, nan + 1j give inf)
        equal = x._data == mean._data
        if x.is_complex():
            equal = equal & np.isfinite(x._data)
        if x.is_complex():
            factor = Tensor._make(np.where(equal, np.nan, np.inf).astype(x._data.real.dtype))
            return (g * factor).to(x.dtype)
        # of a real input, torch's factor is a where of two double scalars (the default dtype); a 0-d g times it is
        # computed in that dtype and cast back (ToCopyBackward0 for float64 x of shape [0] or [1], Mul for 0-d x)
        factor = Tensor._make(np.where(equal, np.nan, np.inf).astype(dtypes.get_default_dtype().numpy))
        return (g * factor).to(x.dtype)
    scale = 2.0 / dof if dof != 0 else np.inf
    return (_unreduce(g, shape, c.dims, c.keepdim) * scale) * (x - mean)


def _std_backward(c, g: Tensor) -> Tensor:
    result = c.result
    grad_var = g / (result * 2)
    if grad_var._zerotensor:  # torch masks the quotient in place: sgn's ZeroTensor refuses (autograd/zerotensor.py)
        _zerotensor.refuse_write()
    grad_var = grad_var.masked_fill(result == 0, 0.0)
    return _var_backward(c, grad_var)


def _welford_mean(a, dims, keepdim):
    """The mean as torch's var_mean/std_mean compute it: a running (Welford) update, which turns an inf followed by
    any other element into NaN; identical to np.mean up to rounding when everything is finite. Of a complex input,
    the means of its real and imaginary parts (so a NaN imaginary part leaves the real part alone, as in torch)."""
    if a.dtype.kind == "c":
        real, imag = _welford_mean(a.real, dims, keepdim), _welford_mean(a.imag, dims, keepdim)
        out = np.empty(np.shape(real), a.dtype)
        out.real, out.imag = real, imag
        return out
    if np.all(np.isfinite(a)) or a.ndim == 0:
        return np.mean(a, axis=dims, keepdims=keepdim, dtype=a.dtype).astype(a.dtype)
    kept = [d for d in range(a.ndim) if d not in dims]
    moved = np.transpose(a, kept + list(dims)).reshape([a.shape[d] for d in kept] + [-1])
    mean = np.zeros(moved.shape[:-1], dtype=a.dtype)
    with np.errstate(invalid="ignore"):
        for k in range(moved.shape[-1]):
            mean = mean + (moved[..., k] - mean) / a.dtype.type(k + 1)
    if moved.shape[-1] == 0:
        mean = mean * np.nan
    return mean.reshape([1 if d in dims else a.shape[d] for d in range(a.ndim)]) if keepdim else mean


def _var_mean_forward(a, dims, keepdim, correction):
    return _var_forward(a, dims, keepdim, correction), _welford_mean(a, dims, keepdim)


def _stat_mean_vjp(first):
    def vjp(c, g_stat, g_mean):
        # torch skips an undefined output's term (the statistic's is inf or NaN where its dof <= 0); its mean term
        # of a ZeroTensor is an ordinary tensor (refgrad/autograd/zerotensor.py)
        shape = c._input_meta[0][0]
        grad = None if never_flowed(g_stat) else first(c, g_stat)
        if never_flowed(g_mean):
            return grad
        mean = _restore(_zerotensor.materialized(g_mean), shape, c.dims, c.keepdim) / (
            _count(shape, c.dims) if len(shape) else 1)
        return mean if grad is None else grad + mean
    return vjp


_var = Primitive("VarBackward0", contiguous_result(_var_forward), _var_backward, save=("self",),
                 jvp=reduction_contraction)
_std = Primitive("StdBackward0", contiguous_result(_std_forward), _std_backward, save=("self", "result"),
                 jvp=reduction_contraction)
def _stat_mean_jvp(first):
    """(var|std)_mean: the statistic's tangent contracts its VJP at 1 (as std/var), the mean's is the mean."""
    def jvp(c, t):
        stat = contract_over(first(c, Tensor._make(np.ones_like(c.result._data))), t, c.dims, c.keepdim)
        stat = nan_where_nan(stat, c.result) if first is _std_backward else stat
        return stat, t.mean(tuple(c.dims), keepdim=c.keepdim) if c.dims else t.clone()
    jvp.complex = True  # contract_over is written for complex inputs too
    return jvp


_var_mean = Primitive("VarMeanBackward0", contiguous_result(_var_mean_forward), _stat_mean_vjp(_var_backward),
                      save=("self",), jvp=_stat_mean_jvp(_var_backward))
_std_mean = Primitive("StdMeanBackward0",
                      contiguous_result(lambda a, dims, keepdim, correction: (
                          _std_forward(a, dims, keepdim, correction), _welford_mean(a, dims, keepdim))),
                      _stat_mean_vjp(_std_backward), save=("self", "result"), jvp=_stat_mean_jvp(_std_backward))


def _variance_call(name, input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # var(x, unbiased) overload
        dim, unbiased = None, dim
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(f"{name}(): input dtype should be either floating point or complex. Got "
                           f"{_scalar_name(input.dtype)} instead.")
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{name}: Cannot pass both unbiased and correction arguments")
    correction = correction if correction is not None else (1 if unbiased is None or unbiased else 0)
    full_form = dim is None or input.ndim == 0
    dims = normalize_dims(dim, input.ndim)
    count = _count(input.shape, dims) if input.ndim else 1
    if count - correction <= 0:
        warnings.warn(_DOF_WARNING.format(name=name), UserWarning, stacklevel=user_stacklevel(3))
    return dict(dims=dims, keepdim=keepdim, correction=correction, full_form=full_form)


@register(method=True)
def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance with Bessel's ``correction`` (default 1) (torch.var); 0 degrees of freedom give inf/NaN."""
    return _var(input, **_variance_call("var", input, dim, unbiased, keepdim, correction))


@register(method=True)
def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Standard deviation (torch.std); a single element gives NaN and a UserWarning, as in torch."""
    return _std(input, **_variance_call("std", input, dim, unbiased, keepdim, correction))


@register()
def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """(var, mean) in one node (torch.var_mean)."""
    return _var_mean(input, **_variance_call("var_mean", input, dim, unbiased, keepdim, correction))


@register()
def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """(std, mean) in one node (torch.std_mean)."""
    return _std_mean(input, **_variance_call("std_mean", input, dim, unbiased, keepdim, correction))


# --- logsumexp -------------------------------------------------------------------------------------------------

def _logsumexp_forward(a, dims, keepdim):
    if a.size == 0:
        return np.log(np.sum(np.exp(a), axis=dims, keepdims=keepdim)).astype(a.dtype)
    shift = np.max(a, axis=dims, keepdims=True) if dims else a
    shift = np.where(np.isinf(shift), 0, shift)  # torch: no shift where the max is infinite
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        total = np.log(np.sum(np.exp(a - shift), axis=dims, keepdims=True)) + shift
    return (total if keepdim else np.squeeze(total, axis=dims)).astype(a.dtype)


def _logsumexp_jvp(c, t):
    """torch's: sum(softmax ⊙ t) (the VJP at 1, contracted), which is 0 / 0 = NaN over no elements."""
    out = contract_over(c._vjp(c, Tensor._make(np.ones_like(c.result._data))), t, c.dims, c.keepdim)
    if c.self.numel() == 0:
        out = out + Tensor._make(np.full(out._data.shape, np.nan, out._data.dtype))
    return out


_logsumexp = Primitive("LogsumexpBackward0", contiguous_result(_logsumexp_forward),
                       lambda c, g: _restore(g, c._input_meta[0][0], c.dims, c.keepdim) *
                       (c.self - _restore(c.result, c._input_meta[0][0], c.dims, c.keepdim)).exp(),
                       save=("self", "result"), jvp=_logsumexp_jvp)


@register(method=True)
def logsumexp(input, dim, keepdim: bool = False):
    """log(sum(exp(input))) over ``dim``, computed stably (torch.logsumexp); integers give the default float."""
    dims = normalize_dims(dim, input.ndim)
    return _logsumexp(input, cast=float_dtype(input.dtype), dims=dims, keepdim=keepdim)


# --- norms ---------------------------------------------------------------------------------------------------

@register(method=True)
def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """torch.norm: vector p-norms (p = number, inf, -inf, 0) and "fro" over ``dim`` (all by default), computed by
    linalg.vector_norm (linalg_norms.py) as torch does."""
    from refgrad.ops.linalg_norms import matrix_norm, vector_norm
    if p == "nuc":
        return matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else dim, keepdim=keepdim, dtype=dtype)
    if p == "fro" or p is None:
        if isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
        p = 2
    if isinstance(p, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a valid ord, got {p}")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


# --- logical reductions and counts (no gradient) ---------------------------------------------------------------

def _bool_reduce(np_fn, name):
    def reduce(input, dim=None, keepdim: bool = False, *, out=None):
        out_dtype = dtypes.uint8 if input.dtype is dtypes.uint8 else dtypes.bool
        if dim is None:
            return Tensor._make(np.asarray(np_fn(input._data)).astype(out_dtype.numpy))
        dims = normalize_dims(dim, input.ndim)
        return Tensor._make(np.asarray(np_fn(input._data, axis=dims, keepdims=keepdim)).astype(out_dtype.numpy,
                                                                                                order="C"))
    reduce.__name__ = name
    reduce.__doc__ = f"torch.{name}: logical reduction (no gradient)."
    return reduce


all = register("all", method=True)(_bool_reduce(np.all, "all"))  # noqa: A001
any = register("any", method=True)(_bool_reduce(np.any, "any"))  # noqa: A001


@register(method=True)
def count_nonzero(input, dim=None):
    """Number of nonzero elements, over ``dim`` (torch.count_nonzero); int64, no gradient."""
    dims = normalize_dims(dim, input.ndim)
    return Tensor._make(np.asarray(np.count_nonzero(input._data, axis=dims) if input.ndim else
                                   np.count_nonzero(input._data)).astype(np.int64, order="C"))  # (contiguous)
