"""The JVP rules a :class:`~refgrad.ops._primitive.Primitive` can carry, and :func:`propagate`, which runs them.

``jvp=`` on a Primitive is one of:

- ``"linear"``: the op is linear in its tensor inputs jointly (views, reshapes, sums, concatenation...): the
  output tangent is the op applied to the tangents (zeros for inputs without one). A view's tangent is thus a
  view of its input's tangent.
- ``"bilinear"``: a two-operand product (mm, mv, bmm, dot, convolution): the sum over operands with a tangent of
  the op with that operand replaced by its tangent (and, as torch, a zero tangent's term where it gives NaN);
  an optional third input is an additive bias (convolution's), zero in those terms and alone in its own.
  :func:`multilinear` names the product's operands when they are not the first two (addmm's self comes first,
  _trilinear has three).
- ``"elementwise"``: every floating input's Jacobian block is diagonal after broadcasting (unary and binary
  pointwise math), so it equals its transpose: J_i·v_i is the VJP's i-th gradient at the cotangent v_i.
- a callable ``jvp(ctx, *tangents)`` (ctx as for the VJP; a tangent is None for an input without one), returning
  one tangent per output; written for real tensors (complex ones take the generic rule) unless it has the
  attribute ``complex = True``;
- ``None`` (default): the generic transpose rule. The VJP u ↦ Jᵀu is linear and built from differentiable refgrad
  ops, so J·v = d⟨Jᵀu, v⟩/du, computed by one reverse pass through the VJP's own graph. Correct for every op with a
  VJP; slower than an explicit rule.
- ``"transpose_reading_primals"``: the generic rule, for an op whose torch forward formula reads its primal inputs
  even where refgrad's VJP does not (cumprod over one element): the tangent requires grad when they do.
- a callable with the attribute ``skips_missing = True``: torch's formula has no term for an input without a
  tangent (not even on zeros), so such an input's primals never make the tangent require grad.
- :func:`no_forward_rule` (``jvp=no_forward_rule("_cdist_forward")``): torch has no forward rule for the op either; a
  tangent reaching it raises torch's NotImplementedError.
"""
from __future__ import annotations

import numpy as np

from refgrad.autograd.engine import non_overlapping_and_dense
from refgrad.autograd.forward_ad import _set_tangent, _state, _under_levels_hidden, get_tangent
from refgrad.autograd.grad_mode import enable_grad, is_grad_enabled
from refgrad.tensor import Tensor

__all__ = ["propagate", "no_forward_rule", "multilinear", "elementwise_in", "contraction", "reduced_elementwise",
           "reduced_elementwise_zero_filled", "reduction_contraction", "contract_over", "nan_where_nan",
           "transpose_reading_primals"]

_LIVE = object()  # a stand-in edge: "this input has a tangent" for the VJP's needs_input_grad()


class _Held:
    """A saved tensor for a JVP's ctx: the live tensor itself (no version pinning: the rule runs right now)."""

    __slots__ = ("tensor",)

    def __init__(self, tensor) -> None:
        self.tensor = tensor

    def unpack(self, node=None):
        return self.tensor

    @property
    def version(self) -> int:
        """The tensor's current version: the node accessors' check of a saved tensor always passes."""
        vc = self.tensor._vc
        return 0 if vc is None else vc.value


def propagate(prim, tensors, results: tuple, params: dict, cast) -> None:
    """Give ``results`` their tangents at every live level where an input of ``prim`` has one."""
    for lid in [lid for lid in _state.stack if lid not in _state.hidden]:
        tangents = [get_tangent(t, lid) for t in tensors]
        if all(t is None for t in tangents):
            continue
        outs = [i for i in (range(len(results)) if prim.differentiable is None else prim.differentiable)
                if results[i]._data.dtype.kind in "fc"]
        if not outs or prim.vjp is None:
            continue
        out_tangents = _under_levels_hidden(lid, _run, prim, tensors, tangents, results, params, cast, outs)
        anchors = _zero_terms(prim, tensors, tangents, results, params, cast, outs, lid)
        for i in outs:
            tangent = out_tangents[i] if i < len(out_tangents) else None
            result = results[i]
            if tangent is None:
                if prim.jvp is not None:  # an explicit rule gave no term: the tangent inputs are not differentiable
                    continue
                tangent = result._make(np.zeros_like(result._data))  # generic: the VJP ignores the inputs (floor)
            else:
                if tangent._data.shape != result._data.shape:
                    tangent = _under_levels_hidden(lid, lambda t, r=result: t.expand(r.shape), tangent)
                if tangent._data.dtype != result._data.dtype:
                    tangent = _under_levels_hidden(lid, lambda t, r=result: t.to(r.dtype), tangent)
            if anchors and not tangent.requires_grad and i < len(anchors) and anchors[i] is not None:
                tangent = _under_levels_hidden(lid, _connect, tangent, anchors[i])
            _set_tangent(result, lid, _like_primal(tangent, result))


def _like_primal(tangent, primal):
    """``tangent`` with its primal's strides: torch gives an op's result's tangent the result's metadata (a copy
    when they differ), so that an as_strided of the dual reads the same elements in both (``(x * 1).as_strided_``
    of a transposed ``x``: the product is Fortran-ordered, its tangent of a C-ordered tangent was not). Only for a
    dense result that is not a view; a tangent in a graph (forward-over-reverse) is copied by a recorded op, as torch's
    copy_ into the new tensor (CopyBackwards)."""
    data, target = tangent._data, primal._data
    if data.strides == target.strides or data.shape != target.shape or data.size < 2 or primal._base is not None \
            or not non_overlapping_and_dense(target):
        return tangent
    from refgrad.ops._layout import in_order, memory_order  # (the ops import this package)
    order = memory_order(target)
    if tangent.requires_grad:
        return _relaid()(tangent, order=tuple(order))
    out = in_order(data, order)
    return tangent if out is data else Tensor._make(out)


def _relaid():
    """The recorded copy of a tangent into its primal's layout (see :func:`_like_primal`)."""
    global _RELAID
    if _RELAID is None:
        from refgrad.ops._layout import in_order
        from refgrad.ops._primitive import Primitive
        _RELAID = Primitive("CopyBackwards", lambda a, order: in_order(a, list(order)), lambda c, g: g,
                            jvp="linear")
    return _RELAID


_RELAID = None


def _zero_terms(prim, tensors, tangents, results, params, cast, outs, lid):
    """torch's tangent formulas also evaluate the terms of inputs without a tangent (on zero tensors): such a term
    reads the primals, so the tangent requires grad when they do, while its value adds nothing. Returns, per
    output, the zero-tangent term when it requires grad (None otherwise), or None when no term can matter."""
    if prim.jvp == "linear" or getattr(prim.jvp, "skips_missing", False) or not is_grad_enabled() or not any(
            t.requires_grad for t in tensors):
        return None
    dtype = results[outs[0]]._data.dtype  # an integer operand (div's divisor) has a term too, on float zeros
    missing = [Tensor._make(np.zeros(t._data.shape, dtype)) if tg is None else None for t, tg in zip(tensors, tangents)]
    if not any(m is not None for m in missing):
        return None
    terms = _under_levels_hidden(lid, _run, prim, tensors, missing, results, params, cast, outs)
    return tuple(t if t is not None and t.requires_grad else None for t in terms)


def _connect_forward(tangent, *anchors):
    return tangent


def _connect_vjp(ctx, g):
    return (g, *(Tensor._make(np.zeros(shape, dtype.numpy)) for shape, dtype in ctx._input_meta[1:]))


def _connect(tangent, *anchors):
    """``tangent``, recorded as depending (with zero derivative) on ``anchors`` (see :func:`_zero_terms`): torch's
    zero tangents are ZeroTensors, so the term's value is 0 (never 0 * inf) but its graph is recorded."""
    from refgrad.ops._primitive import Primitive
    global _CONNECT
    if _CONNECT is None:
        _CONNECT = Primitive("AddBackward0", _connect_forward, _connect_vjp, jvp=lambda ctx, t, *rest: t)
    return _CONNECT(tangent, *anchors)


_CONNECT = None


def no_forward_rule(name: str, *, differentiable: bool = True, derivatives_yaml: bool = True):
    """The rule of an op torch gives no forward derivative: torch's error, named as torch names the kernel
    (``differentiable=False``: an op torch declares not differentiable, e.g. ``aten::floor_divide``;
    ``derivatives_yaml=False``: torch's message for in-place kernels, without the derivatives.yaml hint)."""
    def rule(ctx, *tangents):
        if not differentiable:
            raise NotImplementedError(f"Trying to use forward AD with {name} that does not support it.")
        raise NotImplementedError(
            f"Trying to use forward AD with {name} that does not support it because it has not been implemented "
            "yet.\nPlease file an issue to PyTorch at https://github.com/pytorch/pytorch/issues/new?template="
            "feature-request.yml so that we can prioritize its implementation"
            + (" or submit a PR adding the implementation to derivatives.yaml" if derivatives_yaml else "."))
    rule.unsupported = name
    return rule


def elementwise_in(*indices: int):
    """The elementwise rule over the inputs ``indices`` only: the others stand for Python numbers, which torch's
    Scalar overloads do not treat as inputs (no term, so they never make the tangent require grad)."""
    def rule(ctx, *tangents):
        return _elementwise(ctx, [t if i in indices else None for i, t in enumerate(tangents)], ctx.result)
    return rule


def reduced_elementwise(ctx, *tangents):
    """The rule of a fused pointwise loss with a ``reduction`` parameter over the broadcast ``shape`` (torch's
    losses): the elementwise rule of its ``reduction="none"`` form, then the reduction, so a mean over no
    elements is NaN, as torch's mean of an empty tangent."""
    reduction = ctx._params["reduction"]
    ctx._params = {**ctx._params, "reduction": "none"}
    total = _elementwise(ctx, tangents, None, shape=ctx._params["shape"])
    if total is None or reduction == "none":
        return total
    return total.mean() if reduction == "mean" else total.sum()


def reduced_elementwise_zero_filled(ctx, *tangents):
    """:func:`reduced_elementwise` with an input's missing tangent as zeros: torch's formula (mse_loss_jvp) runs every
    input's term, on a zero tangent where there is none, so a term is NaN where its factor is infinite (0 · inf)."""
    filled = [Tensor._make(np.zeros(shape, dtype.numpy)) if tangent is None else tangent
              for tangent, (shape, dtype) in zip(tangents, ctx._input_meta)]
    return reduced_elementwise(ctx, *filled)


def reduction_contraction(ctx, tangent):
    """:func:`contraction` over a reduction's own ``dims``/``keepdim`` parameters (std, var): the VJP at 1 is
    evaluated, not differentiated, so its masks (std = 0) stay exact instead of giving 0 * inf."""
    grads = ctx._vjp(ctx, Tensor._make(np.ones_like(ctx.result._data)))
    grad = grads[0] if isinstance(grads, tuple) else grads
    if grad is None:  # no gradient at all (vector_norm of order 0): a zero tangent
        return Tensor._make(np.zeros_like(ctx.result._data))
    out = contract_over(grad, tangent, ctx.dims, ctx.keepdim)
    return nan_where_nan(out, ctx.result) if "Std" in type(ctx).__name__ else out


reduction_contraction.complex = True  # real outputs of complex inputs: contract_over takes Re(conj(grad) ⊙ tangent)


def contract_over(grad, tangent, dims, keepdim: bool):
    """sum over ``dims`` of grad ⊙ tangent; of a complex gradient or tangent (a real output of a complex input),
    Re(conj(grad) ⊙ tangent), the real inner product the VJP is the adjoint in."""
    dims = tuple(dims) if dims is not None else tuple(range(tangent.dim()))
    product = (grad.conj() * tangent).real if grad.is_complex() or tangent.is_complex() else grad * tangent
    return product.sum(dims, keepdim=keepdim) if dims else product


def nan_where_nan(tangent, value):
    """NaN wherever ``value`` is NaN (torch's std tangent, var_t / (2 std), is NaN there, even over no elements)."""
    mask = np.isnan(value._data)
    if not mask.any():
        return tangent
    return tangent + Tensor._make(np.where(mask, np.nan, 0).astype(tangent._data.dtype))



def contraction(dims: tuple):
    """The rule of a one-input op each of whose output elements is a scalar function of its own slice over
    ``dims`` (det over the matrix dims): J·t = sum over ``dims`` of VJP(1) ⊙ t, one VJP call, exact wherever the
    VJP is (det at singular matrices, where differentiating the VJP's SVD route would not be)."""
    def rule(ctx, tangent):
        ones = Tensor._make(np.ones_like(ctx.result._data))
        grads = ctx._vjp(ctx, ones)
        grad = grads[0] if isinstance(grads, tuple) else grads
        out = (grad * tangent).sum(dims)
        primals = [t for t in ctx._jvp_call[0] if t.requires_grad] if is_grad_enabled() else []
        if primals and not out.requires_grad:  # torch's formula reads the primal (det of a 1x1 matrix too)
            out = _connect(out, *primals)
        return out
    return rule


def _run(prim, tensors, tangents, results, params, cast, outs) -> tuple:
    rule = prim.jvp
    if rule == "linear":

        args = [tg if tg is not None else Tensor._make(np.zeros_like(t._data)) for t, tg in zip(tensors, tangents)]
        out = prim(*args, cast=cast, **params)
        return out if isinstance(out, tuple) else (out,)
    if rule == "bilinear" or isinstance(rule, _Multilinear):
        return (_multilinear(prim, tensors, tangents, (0, 1) if rule == "bilinear" else rule.operands, cast, params),)
    if _is_complex(tensors, tangents, results, outs) and not getattr(rule, "unsupported", None) and not getattr(
            rule, "complex", False) and not (
            rule == "elementwise" and prim.holomorphic and all(results[i]._data.dtype.kind == "c" for i in outs)):
        # complex forward mode: the generic rule in the real inner product Re<u, v> (see _transpose); an explicit
        # rule is written for real tensors, and a holomorphic op's VJP is conjugated as in reverse mode
        ctx = _ctx(prim, tensors, tangents, results, params, conjugate=prim.holomorphic)
        if rule == "transpose_reading_primals":
            ctx._jvp_call = (tensors, results, outs)
            return transpose_reading_primals(ctx, *tangents)
        return _transpose(ctx, tensors, tangents, results, outs)
    ctx = _ctx(prim, tensors, tangents, results, params)
    if rule == "elementwise":  # a holomorphic op's VJP formula g·f'(z), at g = the tangent, is its JVP
        return (_elementwise(ctx, tangents, results[0]),)
    if rule is None:
        return _transpose(ctx, tensors, tangents, results, outs)
    ctx._jvp_call = (tensors, results, outs)
    if rule == "transpose_reading_primals":
        return transpose_reading_primals(ctx, *tangents)
    out = rule(ctx, *tangents)
    return out if isinstance(out, tuple) else (out,)


class _Multilinear:
    __slots__ = ("operands",)

    def __init__(self, operands: tuple) -> None:
        self.operands = operands


def multilinear(*operands: int) -> _Multilinear:
    """The ``"bilinear"`` rule for an op linear in each of the inputs ``operands`` (a product of them) plus the
    other inputs as additive terms: addmm(self, mat1, mat2) is ``multilinear(1, 2)``, _trilinear ``(0, 1, 2)``."""
    return _Multilinear(tuple(operands))


def _multilinear(prim, tensors, tangents, operands, cast, params):
    """Σ over inputs with a tangent of the op with that input replaced by its tangent, the other product operands
    kept and the additive inputs zero (an additive input's term: every other input zero). torch materializes a
    missing operand's zero tangent: its term is 0, but NaN where another operand's primal is not finite (0 · inf),
    so it is computed only then."""
    zeros = [Tensor._make(np.zeros_like(t._data)) for t in tensors]
    total = None
    for i, tangent in enumerate(tangents):
        if tangent is None:
            if i not in operands or all(np.isfinite(tensors[j]._data).all() for j in operands if j != i):
                continue
            tangent = zeros[i]
        if i in operands:
            args = [tangent if j == i else tensors[j] if j in operands else zeros[j] for j in range(len(tensors))]
        else:
            args = [tangent if j == i else zeros[j] for j in range(len(tensors))]
        term = prim(*args, cast=cast, **params)
        total = term if total is None else total + term
    return total


def transpose_reading_primals(ctx, *tangents) -> tuple:
    """The generic rule, for an op whose torch forward formula reads its primal inputs even where refgrad's VJP
    does not (logcumsumexp of one element): each output's tangent requires grad when an input does."""
    tensors, results, outs = ctx._jvp_call
    found = _transpose(ctx, tensors, tangents, results, outs)
    anchors = [t for t in tensors if t.requires_grad] if is_grad_enabled() else []
    out = []
    for i, tangent in enumerate(found):
        if i in outs and tangent is None:
            tangent = results[i]._make(np.zeros_like(results[i]._data))
        if tangent is not None and anchors and not tangent.requires_grad:
            tangent = _connect(tangent, *anchors)
        out.append(tangent)
    return tuple(out)


def _is_complex(tensors, tangents, results, outs) -> bool:
    return any(t._data.dtype.kind == "c" for t in tensors) or any(
        t is not None and t._data.dtype.kind == "c" for t in tangents) or any(
        results[i]._data.dtype.kind == "c" for i in outs)


def _ctx(prim, tensors, tangents, results, params, conjugate: bool = False):
    from refgrad.ops._primitive import _conjugated
    saved = {name: _Held(t) for name, t in zip(prim.inputs, tensors)}
    saved["result"] = _Held(results[0])
    for name, result in zip(prim.outputs, results):
        saved[name] = _Held(result)
    vjp = _conjugated(prim.vjp) if conjugate and results[0]._data.dtype.kind == "c" else prim.vjp
    return prim.node_cls(vjp, tuple((_LIVE if tg is not None else None, 0) for tg in tangents),
                         tuple((t._data.shape, t.dtype) for t in tensors),
                         tuple((r._data.shape, r.dtype) for r in results), saved, params)


def _elementwise(ctx, tangents, result, shape=None):
    shape, n, total = tuple(result._data.shape) if shape is None else tuple(shape), len(tangents), None
    for i, tangent in enumerate(tangents):
        if tangent is None:
            continue
        ctx.next_functions = tuple((_LIVE if j == i else None, 0) for j in range(n))
        if tuple(tangent._data.shape) != shape:
            tangent = tangent.expand(shape)
        grads = ctx._vjp(ctx, tangent)
        term = grads[i] if isinstance(grads, tuple) else grads
        if term is not None:
            total = term if total is None else total + term
    return total


def _transpose(ctx, tensors, tangents, results, outs) -> tuple:
    """J·v as the gradient, with respect to the cotangent u, of ⟨VJP(u), v⟩ (taken at u = 1, not 0: the VJP is
    linear in u, but a few VJPs compute through log|u| and are NaN at 0, e.g. logcumsumexp's).

    Complex tensors: torch's VJP is the adjoint of the JVP in the real inner product Re⟨a, b⟩ = Re Σ conj(a)·b, and
    refgrad's gradient of a real function of a complex u is dL/dRe u + i dL/dIm u, so the gradient of
    Re⟨VJP(u), v⟩ is J·v (for a real input, Re(conj(g)·v) keeps the real part of the VJP, as the engine does)."""
    from refgrad.autograd import grad

    need_graph = is_grad_enabled() and any(t.requires_grad for t in (*tensors, *(g for g in tangents if g is not None)))
    with enable_grad():
        cotangents = [None] * len(results)
        us = []
        for i in outs:
            u = Tensor._make(np.ones_like(results[i]._data))
            u._requires_grad = True
            cotangents[i] = u
            us.append(u)
        for i, r in enumerate(results):
            if cotangents[i] is None and r._data.dtype.kind in "fc":
                cotangents[i] = Tensor._make(np.zeros_like(r._data))
                cotangents[i]._materialized = True
        grads = ctx._vjp(ctx, *cotangents)
        if not isinstance(grads, tuple):
            grads = (grads,)
        total = None
        for g, tangent in zip(grads, tangents):
            if g is None or tangent is None:
                continue
            if g._data.dtype.kind == "c" or tangent._data.dtype.kind == "c":
                term = (g.conj() * tangent).real.sum()
            else:
                term = (g * tangent).sum()
            total = term if total is None else total + term
        if total is None or not total.requires_grad:
            return (None,) * len(results)
        found = grad(total, us, create_graph=need_graph, allow_unused=True)
    out = [None] * len(results)
    for i, g in zip(outs, found):
        out[i] = g
    return tuple(out)
