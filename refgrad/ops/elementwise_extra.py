"""More elementwise ops: frexp, ldexp, nextafter, mvlgamma, renorm, addr and constant_pad_nd, with torch's node
names (FrexpBackward0, LdexpBackward0, NextafterBackward0, MvlgammaBackward0, RenormBackward0, AddrBackward0,
ConstantPadNdBackward0)."""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from refgrad import dtypes
from refgrad.autograd._jvp import elementwise_in
from refgrad.ops import _special_math as special
from refgrad.ops._addmm_checks import check_addr
from refgrad.ops._binary_common import binary_operands, constant
from refgrad.ops._layout import c_contiguous, contiguous_result, follows_inputs, like_first
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._scalar_ops import mul_scalar
from refgrad.ops._util import float_dtype, wrap_dim
from refgrad.ops.linalg_norms import vector_norm
from refgrad.ops.pooling import pad as _pad
from refgrad.ops.selection import where
from refgrad.ops.unary import digamma, sgn
from refgrad.tensor import Tensor

__all__ = ["frexp", "ldexp", "nextafter", "mvlgamma", "renorm", "addr", "constant_pad_nd"]

_LN2 = math.log(2.0)
_Frexp = namedtuple("frexp", ["mantissa", "exponent"])


def _frexp_forward(a):
    mantissa, exponent = np.frexp(a)
    return mantissa, exponent.astype(np.int32)


def _frexp_vjp(c, g_mantissa, g_exponent):
    # torch divides by exp2 of the saved int32 exponent, computed in float32 (so beyond ±2^127 it is 0 or inf)
    scale = np.exp2(c.result1._data.astype(np.float32))
    return g_mantissa / constant(scale, g_mantissa.dtype)


_frexp = Primitive("FrexpBackward0", _frexp_forward, _frexp_vjp, differentiable=(0,), outputs=("result", "result1"))


@register(method=True)
def frexp(input, *, out=None):
    """(mantissa, exponent) with input = mantissa · 2^exponent, |mantissa| in [0.5, 1) (torch.frexp)."""
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    mantissa, exponent = _frexp(input)
    if mantissa.grad_fn is not None:  # torch saves the exponent output: a second backward fails
        from refgrad.autograd.graph import SavedTensor, save_extra
        save_extra(mantissa.grad_fn, "result1", SavedTensor(exponent, producer=mantissa.grad_fn))
    return _Frexp(mantissa, exponent)


_ldexp = Primitive("LdexpBackward0", follows_inputs(lambda a, b: (a * np.exp2(b)).astype(a.dtype, copy=False)),
                   lambda c, g: (g * (2.0 ** c.other) if c.needs_input_grad(0) else None,
                                 mul_scalar(g * c.result, _LN2) if c.needs_input_grad(1) else None),  # MulBackward1
                   inputs=("self", "other"), save={"other": ("self",), "result": None})


@register(method=True, inplace=True)
def ldexp(input, other, *, out=None):
    """input · 2^other (torch.ldexp); floating result."""
    dtype, (a, b) = binary_operands("ldexp", input, other)
    return _ldexp(a, b, cast=float_dtype(dtype))


def _nextafter_vjp(c, g):
    # torch 2.13: slope 1 in self except where self == other (0 there), and a constant 0 for other
    # torch: where(self != other, grad, 0) (WhereBackward0; 0 even for an infinite cotangent)
    return (where(constant(c.self._data != c.other._data), g, 0.0) if c.needs_input_grad(0) else None,
            Tensor._make(np.zeros(g.shape, dtype=g.dtype.numpy)) if c.needs_input_grad(1) else None)


_nextafter = Primitive("NextafterBackward0", follows_inputs(np.nextafter), _nextafter_vjp, inputs=("self", "other"),
                       save={"self": ("self",), "other": ("self",)},
                       jvp=elementwise_in(0))  # torch reads self's tangent only: other's alone gives none


@register(method=True, inplace=True)
def nextafter(input, other, *, out=None):
    """The next floating-point value after input towards other (torch.nextafter); slope 1 in input, 0 in other."""
    dtype, (a, b) = binary_operands("nextafter", input, other)
    if not dtype.is_floating_point:
        raise RuntimeError(f'"nextafter_cpu" not implemented for \'{dtype.name.capitalize()}\'')
    return _nextafter(a, b, cast=dtype)


# --- mvlgamma -----------------------------------------------------------------------------------------------

def _mvlgamma_forward(a, p):
    offsets = np.arange(p, dtype=np.float64) / 2.0
    values = special.lgamma(a[..., None] - offsets.astype(a.dtype)).sum(-1)
    return c_contiguous((values + p * (p - 1) / 4.0 * math.log(math.pi)).astype(a.dtype))  # (as torch's)


def _mvlgamma_vjp(c, g):
    x = c.self
    total = digamma(x + 0.0)  # torch adds the offsets 0, -1/2, ...: -0.0 + 0.0 is +0.0, so digamma is -inf there
    for i in range(1, c.p):
        total = total + digamma(x - i / 2.0)
    return g * total


_mvlgamma = Primitive("MvlgammaBackward0", _mvlgamma_forward, _mvlgamma_vjp, save=("self",))


@register(method=True, inplace=True)
def mvlgamma(input, p: int, *, out=None):
    """The multivariate log-gamma function of dimension p (torch.mvlgamma, torch.special.multigammaln)."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    return _mvlgamma(input, cast=float_dtype(input.dtype), p=int(p))


register("multigammaln", namespace="torch.special")(mvlgamma)


# --- renorm -------------------------------------------------------------------------------------------------

def _renorm_dims(ndim: int, dim: int) -> tuple:
    return tuple(d for d in range(ndim) if d != dim)


def _renorm_forward(a, p, dim, maxnorm):
    rows = np.moveaxis(a, dim, 0).reshape(a.shape[dim], -1)
    norm = (np.abs(rows) ** p).sum(1) ** (1.0 / p)
    shape = [1] * a.ndim
    shape[dim] = a.shape[dim]
    norm = norm.reshape(shape)
    scale = np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return (a * scale).astype(a.dtype, copy=False)


def _renorm_vjp(c, g):
    x, p, maxnorm = c.self, c.p, c.maxnorm
    dims = _renorm_dims(x.ndim, c.dim)
    norm = vector_norm(x, p, dims, keepdim=True)
    over = constant(norm._data > maxnorm)
    safe = where(over, norm, 1.0)  # slices under maxnorm pass through: keep their 0/0 out of the graph
    scale = where(over, maxnorm / (safe + 1e-7), 1.0)
    inner = (g * x).sum(dims, keepdim=True)
    slope = sgn(x) * x.abs().pow(p - 1) / safe.pow(p - 1)  # d norm / d x
    return g * scale + where(over, -maxnorm / (safe + 1e-7).pow(2), 0.0) * inner * slope


def _renorm_jvp(c, t):
    """torch's renorm_jvp: the tangent itself in a slice under maxnorm (or of NaN norm), else maxnorm / (norm + 1e-7)
    times (t - x / (norm + 1e-7) · norm's tangent)."""
    from refgrad.ops.linalg_norms import norm_tangent
    x, p, maxnorm = c.self, c.p, c.maxnorm
    dims = _renorm_dims(x.ndim, c.dim)
    norm = vector_norm(x, p, dims, keepdim=True)
    inverse = (norm + 1e-7).reciprocal()
    scaled = (inverse * maxnorm) * (t - x * inverse * norm_tangent(x, t, norm, p, dims, True))
    return where(constant(norm._data > maxnorm), scaled, t)


# torch's renorm output is C-contiguous whatever the input's order (NumPy's product kept it)
_renorm = Primitive("RenormBackward0", contiguous_result(_renorm_forward), _renorm_vjp, save=("self",), jvp=_renorm_jvp)


@register(method=True, inplace=True)
def renorm(input, p, dim: int, maxnorm):
    """Rescale each slice along ``dim`` whose p-norm exceeds maxnorm to norm maxnorm (torch.renorm)."""
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    if math.isinf(p):
        raise NotImplementedError("refgrad: renorm with p=inf is not implemented")
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    return _renorm(input, p=float(p), dim=wrap_dim(dim, input.ndim), maxnorm=float(maxnorm))


# --- addr, constant_pad_nd ----------------------------------------------------------------------------------

def _addr_vjp(c, g):
    return (g * c.beta if c.needs_input_grad(0) else None,
            (g @ c.vec2) * c.alpha if c.needs_input_grad(1) else None,
            (c.vec1 @ g) * c.alpha if c.needs_input_grad(2) else None)


def _addr_forward(a, v1, v2, beta, alpha):
    scaled = beta * a if beta != 0 else np.zeros_like(a)  # torch: beta = 0 ignores NaN/inf in input
    return (scaled + alpha * np.outer(v1, v2)).astype(np.result_type(a, v1, v2), copy=False)


_addr = Primitive("AddrBackward0", like_first(_addr_forward), _addr_vjp, inputs=("self", "vec1", "vec2"),
                  save={"vec1": ("vec2",), "vec2": ("vec1",)})


@register(method=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta · input + alpha · outer(vec1, vec2) (torch.addr)."""
    return _addr_checked(input, vec1, vec2, beta=beta, alpha=alpha)


def _addr_checked(input, vec1, vec2, *, beta, alpha, inplace=False):
    check_addr(input, vec1, vec2, inplace)
    dtype = dtypes.result_type(input, vec1, vec2)
    for name, value in (("beta", beta), ("alpha", alpha)):
        if isinstance(value, bool) and dtype is not dtypes.bool:
            raise RuntimeError(f"Boolean {name} only supported for Boolean results.")
        if isinstance(value, float) and dtype.category < dtypes.float32.category:  # bool and integers
            raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating point number.")
    return _addr(input, vec1, vec2, cast=dtype, beta=beta, alpha=alpha)


@register("addr_", namespace="torch.Tensor", method=True)
def _addr_inplace(self, vec1, vec2, *, beta=1, alpha=1):
    """In-place addr (torch.Tensor.addr_): self must be the (len(vec1), len(vec2)) matrix."""
    from refgrad.ops._inplace import apply_inplace
    return apply_inplace(self, _addr_checked, vec1, vec2, beta=beta, alpha=alpha, inplace=True)


@register()
def constant_pad_nd(input, pad, value=0):
    """Pad with a constant, last dim first (torch.constant_pad_nd, F.pad's constant mode)."""
    return _pad(input, tuple(pad), mode="constant", value=value)
