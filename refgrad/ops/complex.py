"""Complex numbers: building and taking apart (complex, polar, real, imag, view_as_real, view_as_complex), conj
with torch's conj bit, and the non-holomorphic maps (angle, sgn).

torch's gradient for complex tensors is the conjugate Wirtinger derivative: for a real loss L of z = x + iy,
``z.grad = dL/dx + i dL/dy``. Holomorphic ops get it from their real formula (see ``Primitive``); the ops here are
not holomorphic and write it out. torch's ``conj()`` is lazy (a view with the conj bit set); refgrad stores the
conjugate physically and keeps the bit, so values, grad_fn names and ``is_conj()`` match, but writing into a
conjugated tensor does not reach its base (nor the other way round).
"""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad._strides import ArrayHolder, empty_strided, torch_strides
from refgrad.ops._binary_common import check_broadcast, require_tensor, type_name
from refgrad.ops._layout import follows_inputs, strided_like_first
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.tensor import Tensor

__all__ = ["complex", "polar", "real", "imag", "view_as_real", "view_as_complex", "conj", "conj_physical",
           "resolve_conj", "resolve_neg", "angle", "sgn_complex"]

_FLOATS = (dtypes.float16, dtypes.float32, dtypes.float64)


def _parts_view(a: np.ndarray) -> np.ndarray:
    """A complex array's float view with a trailing dimension of 2 (real, imaginary), sharing memory."""
    part = a.real  # a view with a's strides
    return np.lib.stride_tricks.as_strided(part, a.shape + (2,), part.strides + (part.itemsize,))


def _complex_view(a: np.ndarray) -> np.ndarray:
    """The inverse of _parts_view: a float array whose last dimension (2, stride 1) holds the parts, viewed as
    complex items in the same memory (strides in whole complex items, as view_as_complex checks)."""
    kind = np.complex64 if a.dtype == np.float32 else np.complex128
    if a.size == 0:  # torch's strides halved
        return empty_strided(a.shape[:-1], [s // 2 for s in torch_strides(a)[:-1]], kind)
    size = np.dtype(kind).itemsize  # (a size-1 dimension's odd stride is halved down, as torch's)
    interface = {"data": a.__array_interface__["data"], "version": 3, "shape": a.shape[:-1],
                 "typestr": np.dtype(kind).str, "strides": tuple(s // a.itemsize // 2 * size for s in a.strides[:-1])}
    return np.asarray(ArrayHolder(interface, a))


# --- real and imaginary parts -------------------------------------------------------------------------------

_view_as_real = Primitive("ViewAsRealBackward0", _parts_view, lambda c, g: _view_as_complex(g.contiguous()), view=True,
                          holomorphic=False)
_view_as_complex = Primitive("ViewAsComplexBackward0", lambda a: _complex_view(a),
                             lambda c, g: view_as_real(g.resolve_conj()), view=True, holomorphic=False)


@register()
def view_as_real(input):
    """The complex tensor as a float view with a trailing dimension (real, imag) (torch.view_as_real)."""
    require_tensor("view_as_real", input)
    if not input.dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    if input._is_conj:
        raise RuntimeError("view_as_real doesn't work on unresolved conjugated tensors.  To resolve the conjugate "
                           "tensor so you can view it as real, use self.resolve_conj(); however, be warned that the "
                           "resulting tensor will NOT alias the original.")
    return _view_as_real(input)


@register()
def view_as_complex(input):
    """A float tensor whose last dimension is (real, imag) as a complex view (torch.view_as_complex)."""
    require_tensor("view_as_complex", input)
    if input.dtype not in (dtypes.float32, dtypes.float64):
        if input.dtype is dtypes.float16:
            raise RuntimeError("view_as_complex: refgrad has no complex32 (NumPy has no such type)")
        raise RuntimeError("view_as_complex is only supported for half, float and double tensors, but got a tensor "
                           f"of scalar type: {type_name(input.dtype)}")
    if input.ndim == 0:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    strides = input.stride()  # (torch's, an empty tensor's included)
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s, n in zip(strides[:-1], input.shape) if n != 1):  # (a size-1 dim's stride is halved down)
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return _view_as_complex(input)


def _part(input, index: int, name: str):
    from refgrad.ops.indexing import _select
    flagged = input._is_conj
    if flagged:  # refgrad's conjugate is physical: take the part of the stored values
        input._is_conj = False
    try:
        parts = _view_as_real(input)
    finally:
        input._is_conj = flagged
    out = _select(parts, dim=input.ndim, index=index, self_sym_sizes=tuple(parts.shape))
    out._is_conj = False
    out._is_neg = flagged and index == 1
    return out


@register(method=False)
def real(input):
    """The real part: a view for complex tensors, the tensor itself for real ones (torch.real)."""
    require_tensor("real", input)
    return _part(input, 0, "real") if input.dtype.is_complex else input


@register(method=False)
def imag(input):
    """The imaginary part of a complex tensor, as a view (torch.imag); RuntimeError for real tensors."""
    require_tensor("imag", input)
    if not input.dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _part(input, 1, "imag")


# --- building complex tensors -------------------------------------------------------------------------------

def _check_parts(first, second, name: str):
    require_tensor(name, first, second, names=("real", "imag") if name == "complex" else ("abs", "angle"))
    if first.dtype not in _FLOATS or second.dtype not in _FLOATS:
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{type_name(first.dtype)} and {type_name(second.dtype)}")
    if first.dtype is not second.dtype:
        raise RuntimeError(f"Expected object of scalar type {type_name(first.dtype)} but got scalar type "
                           f"{type_name(second.dtype)} for second argument")
    if first.dtype is dtypes.float16:
        raise RuntimeError(f"{name}: refgrad has no complex32 (NumPy has no such type)")
    check_broadcast(first, second)
    return first.dtype.to_complex()


def _complex_forward(re, im, dtype):
    z = np.empty(np.broadcast_shapes(re.shape, im.shape), dtype.numpy)
    z.real, z.imag = re, im  # (re + 1j * im would turn 0 + nan i into nan + nan i)
    return z


# torch's ComplexBackward0 saves each input when that input requires grad (so a second backward, or an in-place
# change of it, raises) though its gradient needs neither
_complex = Primitive("ComplexBackward0", follows_inputs(_complex_forward), lambda c, g: (real(g), imag(g)),
                     inputs=("real", "imag"), save={"real": ("real",), "imag": ("imag",)}, holomorphic=False)


@register()
def complex(real, imag, *, out=None):  # noqa: A001 - torch.complex
    """real + i imag from two float tensors of one dtype (torch.complex); the gradients are g.real and g.imag."""
    return _complex(real, imag, dtype=_check_parts(real, imag, "complex"))


def _polar_forward(magnitude, phase, dtype):
    z = np.empty(np.broadcast_shapes(magnitude.shape, phase.shape), dtype.numpy)
    z.real, z.imag = magnitude * np.cos(phase), magnitude * np.sin(phase)
    return z


def _polar_vjp(c, g):
    # z = r e^{iθ}: dL/dr = Re(conj(g) e^{iθ}), dL/dθ = Re(conj(g) i z). torch writes e^{iθ} as sgn(z), which
    # is 0 at r = 0 (so is the abs gradient there) and -e^{iθ} for r < 0, where torch leaves polar undefined
    z = c.result
    grad_abs = real(g.conj() * sgn_complex(z)) if c.needs_input_grad(0) else None
    grad_angle = real(g.conj() * (z * 1j)) if c.needs_input_grad(1) else None
    return grad_abs, grad_angle


def _polar_jvp(c, t_abs, t_angle):
    # torch's forward formula, e^{iθ} dr + i z dθ: right for r < 0 too, unlike the VJP's sgn(z) (so not its transpose)
    unit = _polar(Tensor._make(np.ones_like(c.abs._data)), c.angle, dtype=c.result.dtype)
    terms = [t_abs * unit] if t_abs is not None else []
    if t_angle is not None:
        terms.append(t_angle * (c.result * 1j))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


_polar_jvp.complex = True  # written for its complex output (see refgrad.autograd._jvp)
_polar = Primitive("PolarBackward0", follows_inputs(_polar_forward), _polar_vjp, inputs=("abs", "angle"),
                   save=("result",), holomorphic=False, jvp=_polar_jvp)


@register()
def polar(abs, angle, *, out=None):  # noqa: A002 - torch's parameter names
    """abs * (cos(angle) + i sin(angle)) (torch.polar)."""
    return _polar(abs, angle, dtype=_check_parts(abs, angle, "polar"))


# --- conjugation --------------------------------------------------------------------------------------------

# (torch's conj is a view: the input's strides, which np.conj's copy loses for a sliced or expanded input)
_conj = Primitive("ConjBackward0", strided_like_first(np.conj, overlapping=True), lambda c, g: conj(g),
                  holomorphic=False)
_conj_physical = Primitive("ConjPhysicalBackward0", np.conj, lambda c, g: conj_physical(g), holomorphic=False)
_neg_view = Primitive("NegViewBackward0", np.negative, lambda c, g: -g, holomorphic=False)


@register(method=True)
def conj(input):
    """The complex conjugate, with torch's conj bit set (torch.conj); a real tensor is returned as it is."""
    require_tensor("conj", input)
    if not input.dtype.is_complex:
        return input
    out = _conj(input)
    out._is_conj = not input._is_conj
    return out


@register(method=True, inplace=True)
def conj_physical(input, *, out=None):
    """The complex conjugate, materialized (torch.conj_physical); real tensors are returned as they are."""
    require_tensor("conj_physical", input)
    if not input.dtype.is_complex:
        return input
    return _conj_physical(input)


@register(method=True)
def resolve_conj(input):
    """A copy with the conj bit cleared if it was set (CloneBackward0), else the tensor itself."""
    from refgrad.ops.elementwise import clone
    if not input._is_conj:
        return input
    flagged = input._is_conj
    input._is_conj = False
    try:
        return clone(input)
    finally:
        input._is_conj = flagged


@register(method=True)
def resolve_neg(input):
    """A copy with the neg bit cleared if it was set (CloneBackward0), else the tensor itself."""
    from refgrad.ops.elementwise import clone
    if not input._is_neg:
        return input
    out = clone(input)
    out._is_neg = False
    return out


# --- angle and sgn ------------------------------------------------------------------------------------------

def _angle_forward(a):
    if a.dtype.kind == "c":  # (torch's complex angle is contiguous whatever the layout; the real one follows it)
        return np.angle(a).astype(a.real.dtype, order="C")
    return np.where(np.isnan(a), a, np.where(a < 0, np.pi, 0.0)).astype(a.dtype)


def _angle_vjp(c, g):
    z = c.self
    if not z.dtype.is_complex:
        return Tensor._make(np.zeros_like(g._data))
    # d angle / dx = -y/|z|², d angle / dy = x/|z|²: the gradient is g i z / |z|², 0 at z = 0 (torch)
    from refgrad.ops.selection import where
    grad = g * z / (z * z.conj()) * 1j
    return where(Tensor._make(z._data == 0), Tensor._make(np.zeros((), z._data.dtype)), grad)


def _angle_jvp(c, t):
    # complex z: Im(conj(z) t) / |z|² = Im(t / z) (one complex division: no |z|² to underflow, as torch's formula does
    # at |z| ~ 1e-27 in complex64), 0 at z = 0 (torch); real: a step function, tangent 0
    from refgrad.ops.complex import imag
    from refgrad.ops.selection import where
    z = c.self
    if not z.dtype.is_complex:
        return Tensor._make(np.zeros(c.result._data.shape, c.result._data.dtype))
    grad = imag(t / z)
    grad = where(Tensor._make(~np.isfinite(z._data)), np.nan, grad)  # torch: inf / inf or 0 · inf at an infinite z
    return where(Tensor._make(z._data == 0), Tensor._make(np.zeros((), grad._data.dtype)), grad)


def _sgn_jvp(c, t):
    # the VJP's map t -> (t - s² conj(t)) / (2|z|) is self-adjoint in Re<.,.>: it is also the JVP (0 at z = 0)
    return _sgn_vjp(c, t.to(c.result.dtype) if not t.dtype.is_complex else t)


_angle_jvp.complex = _sgn_jvp.complex = True  # written for complex inputs (see refgrad.autograd._jvp)
_angle = Primitive("AngleBackward0", _angle_forward, _angle_vjp, save=("self",), holomorphic=False, jvp=_angle_jvp)


@register(method=True)
def angle(input, *, out=None):
    """The argument of each element in radians (torch.angle); π for negative reals, 0 at 0."""
    require_tensor("angle", input)
    from refgrad.ops._util import float_dtype
    return _angle(input, cast=float_dtype(input.dtype))


def _sgn_forward(a):
    # each part divided by the real |z| (NumPy's complex division would make 0 + inf j / inf, or a subnormal z
    # over its own modulus, NaN + NaN j; torch gives 0 + nan j and 1)
    magnitude = np.abs(a)
    safe = np.where(magnitude == 0, 1, magnitude)
    out = np.empty_like(a)
    out.real, out.imag = a.real / safe, a.imag / safe
    out[magnitude == 0] = 0
    return out


def _sgn_vjp(c, g):
    # s = z/|z|: the gradient is (g - s Re(g conj(s))) / |z| = (g - s² conj(g)) / (2|z|) (torch's
    # evaluation order, which matters where |z|² is subnormal), 0 at z = 0
    z, s = c.self, c.result
    grad = (g - (s * s) * g.conj()) / (2.0 * z.abs())
    return grad.masked_fill(Tensor._make(z._data == 0), 0)  # torch's masked_fill_ (MaskedFillBackward0)


_sgn = Primitive("SgnBackward0", _sgn_forward, _sgn_vjp, save=("self", "result"), holomorphic=False, jvp=_sgn_jvp)


def sgn_complex(input):
    """z / |z| (0 at 0) for a complex tensor: torch.sgn's complex case, with its gradient."""
    return _sgn(input)


# --- ops torch refuses for complex inputs ---------------------------------------------------------------------

def _kernel(name: str):
    return NotImplementedError, f"\"{name}\" not implemented for '{{T}}'"


_CLAMP = (NotImplementedError, "clamp is not supported for complex types")
_SORT = (RuntimeError, " Sort does not support complex dtypes on CPU")
#: torch.<name> -> (exception type, message; {T} is torch's scalar type name), as torch 2.13 raises them
REFUSES_COMPLEX = {
    "torch.amax": _kernel("max_values_cpu"), "torch.amin": _kernel("min_values_cpu"),
    "torch.aminmax": _kernel("aminmax_cpu"), "torch.cummax": _kernel("cummax_cpu"),
    "torch.cummin": _kernel("cummin_cpu"), "torch.median": _kernel("median_cpu"),
    "torch.nanmedian": _kernel("median_cpu"), "torch.searchsorted": _kernel("searchsorted_out_cpu"),
    "torch.argmax": (RuntimeError, "argmax(): does not support complex input"),
    "torch.argmin": (RuntimeError, "argmin(): does not support complex input"),
    "torch.sort": _SORT, "torch.argsort": _SORT, "torch.msort": _SORT,
    "torch.topk": (RuntimeError, " topk does not support complex dtypes on CPU"),
    "torch.ceil": (NotImplementedError, "ceil is not supported for complex inputs"),
    "torch.floor": (NotImplementedError, "floor is not supported for complex inputs"),
    "torch.trunc": (NotImplementedError, "trunc is not supported for complex inputs"),
    "torch.fix": (NotImplementedError, "trunc is not supported for complex inputs"),
    "torch.round": _kernel("round_vml_cpu"), "torch.special.round": _kernel("round_vml_cpu"),
    "torch.clamp": _CLAMP, "torch.clip": _CLAMP, "torch.relu": _CLAMP, "torch.nn.functional.relu": _CLAMP,
    "torch.nn.functional.hinge_embedding_loss": _CLAMP,
    "torch.clamp_max": _kernel("minimum_cpu"), "torch.clamp_min": _kernel("maximum_cpu"),
    "torch.maximum": (RuntimeError, "maximum not implemented for complex tensors."),
    "torch.minimum": (RuntimeError, "minimum not implemented for complex tensors."),
    "torch.fmax": (RuntimeError, "fmax not implemented for complex tensors."),
    "torch.fmin": (RuntimeError, "fmin not implemented for complex tensors."),
    "torch.deg2rad": (RuntimeError, "deg2rad is not supported for complex tensors."),
    "torch.rad2deg": (RuntimeError, "rad2deg is not supported for complex tensors."),
    "torch.isneginf": (RuntimeError, "isneginf does not support complex inputs."),
    "torch.isposinf": (RuntimeError, "isposinf does not support complex inputs."),
    "torch.signbit": (NotImplementedError, "signbit is not implemented for complex tensors."),
    "torch.nansum": (RuntimeError, "nansum on CPU does not support complex inputs"),
    "torch.heaviside": (RuntimeError, "heaviside is not yet implemented for complex tensors."),
    "torch.atan2": _kernel("atan2_cpu"), "torch.remainder": _kernel("remainder_cpu"),
    "torch.digamma": _kernel("digamma"), "torch.special.digamma": _kernel("digamma"),
    "torch.special.psi": _kernel("digamma"), "torch.lgamma": _kernel("lgamma_vml_cpu"),
    "torch.special.gammaln": _kernel("lgamma_vml_cpu"), "torch.erf": _kernel("erf_vml_cpu"),
    "torch.special.erf": _kernel("erf_vml_cpu"), "torch.erfc": _kernel("erfc_vml_cpu"),
    "torch.special.erfc": _kernel("erfc_vml_cpu"), "torch.erfinv": _kernel("erfinv_vml_cpu"),
    "torch.special.erfinv": _kernel("erfinv_vml_cpu"), "torch.i0": _kernel("i0_vml_cpu"),
    "torch.special.i0": _kernel("i0_vml_cpu"), "torch.special.i1": _kernel("i1_cpu"),
    "torch.xlogy": _kernel("xlogy_cpu"), "torch.special.xlogy": _kernel("xlogy_cpu"),
    "torch.nn.functional.binary_cross_entropy_with_logits": _kernel("log_sigmoid_cpu"),
    "torch.nn.functional.huber_loss": _kernel("huber_cpu"), "torch.nn.functional.mse_loss": _kernel("mse_cpu"),
    "torch.nn.functional.smooth_l1_loss": _kernel("smooth_l1_cpu"),
    "torch.nn.functional.kl_div": (RuntimeError, "kl_div: Complex inputs not supported."),
    # torch computes these for complex inputs; refgrad's formulas use transposes, not conjugate transposes
    "torch.cholesky_solve": (NotImplementedError, "refgrad: cholesky_solve of complex tensors is not implemented"),
}


def refuse_complex(ops: dict) -> None:
    """Make every op in REFUSES_COMPLEX raise torch's error for a complex tensor argument (one wrapper per
    function, shared by its aliases and its Tensor method); called once all families are registered."""
    import dataclasses
    wrapped = {}
    for qualified, (error, message) in REFUSES_COMPLEX.items():
        entry = ops.get(qualified)
        if entry is None:
            continue
        function = entry.function
        if id(function) not in wrapped:
            wrapped[id(function)] = _refusing(function, error, message, qualified in ("torch.clamp", "torch.clip"))
        for key, other in list(ops.items()):
            if other.function is function:
                ops[key] = dataclasses.replace(other, function=wrapped[id(function)])


def _refusing(function, error, message, bounded: bool = False):
    import functools

    @functools.wraps(function)
    def op(*args, **kwargs):
        if bounded and len(args) < 2 and kwargs.get("min") is None and kwargs.get("max") is None:
            return function(*args, **kwargs)  # torch first refuses a clamp without bounds
        for value in args:
            if isinstance(value, Tensor) and value._data.dtype.kind == "c":
                raise error(message.format(T=type_name(value.dtype)))
        return function(*args, **kwargs)
    return op
