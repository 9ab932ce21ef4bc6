"""Elementwise ops: arithmetic with broadcasting and torch's type promotion, and unary math.

Each op is a Primitive (NumPy forward + VJP in refgrad ops) and a registered public function. Broadcasting
needs no code in the VJPs: the engine sums each gradient back to its input's shape.
"""
from __future__ import annotations

import numpy as np

from refgrad import dtypes
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import float_dtype, promote
from refgrad.tensor import Tensor

# --- arithmetic ---------------------------------------------------------------------------------------------

_add = Primitive("AddBackward0", lambda a, b, alpha: a + b if alpha == 1 else a + alpha * b,
                 lambda c, g: (g, g if c.alpha == 1 else g * c.alpha), inputs=("self", "other"))
_sub = Primitive("SubBackward0", lambda a, b, alpha: a - b if alpha == 1 else a - alpha * b,
                 lambda c, g: (g, -g if c.alpha == 1 else g * -c.alpha), inputs=("self", "other"))
_rsub = Primitive("RsubBackward1", lambda a, b, alpha: b - alpha * a if alpha != 1 else b - a,
                  lambda c, g: (-g if c.alpha == 1 else g * -c.alpha, None), inputs=("self", "other"))
_mul = Primitive("MulBackward0", np.multiply, lambda c, g: (g * c.other if c.needs_input_grad(0) else None,
                                                            g * c.self if c.needs_input_grad(1) else None),
                 inputs=("self", "other"), save={"other": ("self",), "self": ("other",)})
_div = Primitive("DivBackward0", np.true_divide,
                 lambda c, g: (g / c.other if c.needs_input_grad(0) else None,
                               -g * c.self / (c.other * c.other) if c.needs_input_grad(1) else None),
                 inputs=("self", "other"), save={"other": ("self", "other"), "self": ("other",)})
_neg = Primitive("NegBackward0", np.negative, lambda c, g: -g)


def _binary_alpha(prim: Primitive, input, other, alpha):
    dtype, (a, b) = promote(input, other)
    if dtype is dtypes.bool and prim is not _add:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if alpha != 1 and not dtype.is_floating_point and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    return prim(a, b, cast=dtype, alpha=alpha)


@register(method=True, inplace=True)
def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, broadcasting (torch.add)."""
    return _binary_alpha(_add, input, other, alpha)


@register(method=True, inplace=True, aliases=("subtract",))
def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other, broadcasting (torch.sub)."""
    return _binary_alpha(_sub, input, other, alpha)


@register()
def rsub(input, other, *, alpha=1):
    """other - alpha * input (torch.rsub; what ``2 - x`` calls)."""
    return _binary_alpha(_rsub, input, other, alpha)


@register(method=True, inplace=True, aliases=("multiply",))
def mul(input, other, *, out=None):
    """input * other, broadcasting (torch.mul)."""
    dtype, (a, b) = promote(input, other)
    return _mul(a, b, cast=dtype)


@register(method=True, inplace=True, aliases=("divide", "true_divide"))
def div(input, other, *, rounding_mode=None, out=None):
    """input / other (torch.div); integer inputs give the default float dtype."""
    dtype, (a, b) = promote(input, other)
    if rounding_mode is not None:
        raise NotImplementedError("div rounding modes are not implemented yet")
    return _div(a, b, cast=float_dtype(dtype))


@register(method=True, inplace=True, aliases=("negative",))
def neg(input, *, out=None):
    """-input (torch.neg)."""
    if input.dtype is dtypes.bool:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return _neg(input)


def _pow_scalar_vjp(c, g):
    if c.exponent == 0:
        return g * 0
    return g * (c.self ** (c.exponent - 1) * c.exponent)


def _pow_tensor_vjp(c, g):
    x, e = c.self, c.exponent
    grad_x = grad_e = None
    if c.needs_input_grad(0):
        grad_x = g * where(e == 0, 0.0, e * x ** where(e == 0, 1.0, e - 1))
    if c.needs_input_grad(1):
        grad_e = g * where((x == 0) & (e >= 0), 0.0, c.result * x.log())
    return grad_x, grad_e


def _pow_base_vjp(c, g):
    base = c.base
    log_base = float(np.log(base)) if base > 0 else (-np.inf if base == 0 else np.nan)
    grad = g * c.result * log_base
    return where(c.exponent >= 0, 0.0, grad) if base == 0 else grad  # torch: d/de 0**e = 0 for e >= 0


_pow_scalar = Primitive("PowBackward0", lambda a, exponent: np.power(a, np.asarray(exponent, a.dtype)),
                        _pow_scalar_vjp, save=("self",))
_pow_tensor = Primitive("PowBackward1", np.power, _pow_tensor_vjp, inputs=("self", "exponent"),
                        save={"self": ("self", "exponent"), "exponent": ("self", "exponent"),
                              "result": ("exponent",)})
_pow_base = Primitive("PowBackward2", lambda e, base: np.power(np.asarray(base, e.dtype), e), _pow_base_vjp,
                      inputs=("exponent",), save=("exponent", "result"))


@register(method=True, inplace=True)
def pow(input, exponent, *, out=None):  # noqa: A001 - torch.pow
    """input ** exponent for tensor or Python-number base and exponent (torch.pow)."""
    if not isinstance(input, Tensor):
        dtype, (e,) = promote(input, exponent)[0], (exponent,)
        return _pow_base(e, cast=dtype, base=input)
    if not isinstance(exponent, Tensor):
        dtype = dtypes.result_type(input, exponent)
        if not dtype.is_floating_point and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return _pow_scalar(input, cast=dtype, exponent=exponent)
    dtype, (a, b) = promote(input, exponent)
    return _pow_tensor(a, b, cast=dtype)


_reciprocal = Primitive("ReciprocalBackward0", np.reciprocal, lambda c, g: -g * c.result * c.result,
                        save=("result",))


@register(method=True, inplace=True)
def reciprocal(input, *, out=None):
    """1 / input (torch.reciprocal)."""
    return _reciprocal(input, cast=float_dtype(input.dtype))


# --- unary math ---------------------------------------------------------------------------------------------

def _unary_float(prim: Primitive):
    def apply(input, *, out=None):
        return prim(input, cast=float_dtype(input.dtype))
    return apply


_exp = Primitive("ExpBackward0", np.exp, lambda c, g: g * c.result, save=("result",))
_log = Primitive("LogBackward0", np.log, lambda c, g: g / c.self, save=("self",))
exp = register("exp", method=True, inplace=True)(_unary_float(_exp))
log = register("log", method=True, inplace=True)(_unary_float(_log))
exp.__doc__ = "e ** input, elementwise (torch.exp)."
log.__doc__ = "Natural logarithm, elementwise (torch.log); log(0) = -inf and its gradient +inf."


# --- casts and copies ---------------------------------------------------------------------------------------

_clone = Primitive("CloneBackward0", np.copy, lambda c, g: g)
_to_copy = Primitive("ToCopyBackward0", lambda a, dtype: a.astype(dtype.numpy), lambda c, g: g)
_copy = Primitive("CopyBackwards", lambda dst, src: np.broadcast_to(src, dst.shape).astype(dst.dtype),
                  lambda c, g: (g * 0, g), inputs=("self", "src"))


@register(method=True)
def clone(input, *, memory_format=None):
    """A copy that stays in the graph (torch.clone)."""
    return _clone(input)


def to(self, *args, **kwargs):
    """Tensor.to(dtype) / to(device) / to(other): a cast recorded as ToCopyBackward0 (no-op if nothing changes)."""
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, dtypes.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
    copy = kwargs.get("copy", False)
    if dtype is None or dtype is self.dtype:
        return _clone(self) if copy else self
    result = _to_copy(self, dtype=dtype)
    return result


def copy_(self, src, non_blocking: bool = False):
    """Copy ``src`` (broadcast, cast) into this tensor in place (torch.Tensor.copy_)."""
    from refgrad.ops._inplace import apply_inplace
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' (position 1) must be Tensor, not {type(src).__name__}")
    return apply_inplace(self, lambda old, s: _copy(old, s), src)


# --- comparisons (no gradient) -----------------------------------------------------------------------------

def _compare(np_fn):
    def compare(input, other, *, out=None):
        dtype, (a, b) = promote(input, other)
        return Tensor._make(np.asarray(np_fn(a._data.astype(dtype.numpy, copy=False),
                                             b._data.astype(dtype.numpy, copy=False))))
    return compare


eq = register("eq", method=True)(_compare(np.equal))
ne = register("ne", method=True, aliases=("not_equal",))(_compare(np.not_equal))
lt = register("lt", method=True, aliases=("less",))(_compare(np.less))
le = register("le", method=True, aliases=("less_equal",))(_compare(np.less_equal))
gt = register("gt", method=True, aliases=("greater",))(_compare(np.greater))
ge = register("ge", method=True, aliases=("greater_equal",))(_compare(np.greater_equal))


def _logical(np_fn, name):
    def op(input, other):
        dtype, (a, b) = promote(input, other)
        if dtype.is_floating_point:
            raise RuntimeError(f"\"{name}_cpu\" not implemented for '{_scalar_type_name(dtype)}'")
        return Tensor._make(np.asarray(np_fn(a._data, b._data)).astype(dtype.numpy))
    return op


__and__ = _logical(np.bitwise_and, "bitwise_and")
__or__ = _logical(np.bitwise_or, "bitwise_or")
__xor__ = _logical(np.bitwise_xor, "bitwise_xor")


def __invert__(self):
    if self.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return Tensor._make(np.asarray(~self._data))


# --- where (used by the pow VJPs; the full version belongs with the selection ops) --------------------------

def _where_vjp(c, g):
    zero = g * 0
    cond = c.condition
    return (None, _where(cond, g, zero, dtype=None) if c.needs_input_grad(1) else None,
            _where(cond, zero, g, dtype=None) if c.needs_input_grad(2) else None)


def _where_forward(condition, a, b, dtype):
    if dtype is not None:
        a, b = a.astype(dtype.numpy, copy=False), b.astype(dtype.numpy, copy=False)
    return np.where(condition, a, b)


_where = Primitive("WhereBackward0", _where_forward, _where_vjp, inputs=("condition", "self", "other"),
                   save=("condition",))


@register(method=True)
def where(condition, input=None, other=None, *, out=None):
    """Select from input where condition holds, else from other (torch.where); NaN gradients leak as in torch."""
    if input is None and other is None:
        return tuple(Tensor._make(i) for i in np.nonzero(condition._data))
    dtype, (a, b) = promote(input, other)
    cond = condition if isinstance(condition, Tensor) else Tensor._make(np.asarray(condition))
    if cond.dtype is not dtypes.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{_scalar_type_name(cond.dtype)}")
    return _where(cond, a, b, dtype=dtype)


def _scalar_type_name(dtype):
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]


def _sigmoid_forward(a):
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-a))).astype(a.dtype, copy=False)


_sigmoid = Primitive("SigmoidBackward0", _sigmoid_forward, lambda c, g: g * c.result * (1 - c.result),
                     save=("result",))
sigmoid = register("sigmoid", method=True, inplace=True)(_unary_float(_sigmoid))
sigmoid.__doc__ = "1 / (1 + exp(-input)) (torch.sigmoid)."


_zero = Primitive("ZeroBackward0", np.zeros_like, lambda c, g: g.zeros_like_detached())
_fill = Primitive("FillBackward0", lambda a, value: np.full_like(a, value), lambda c, g: g.zeros_like_detached())


def zero_(self):
    """Fill with zeros in place (torch.Tensor.zero_)."""
    from refgrad.ops._inplace import apply_inplace
    return apply_inplace(self, lambda old: _zero(old))


def fill_(self, value):
    """Fill with ``value`` in place (torch.Tensor.fill_)."""
    from refgrad.ops._inplace import apply_inplace
    if isinstance(value, Tensor):
        value = value.item()
    return apply_inplace(self, lambda old: _fill(old, value=value))
