"""Two-operand einsum as one batched matrix product (NumPy's BLAS), the way torch evaluates einsum.

``np.einsum`` contracts in its own C loops unless it can hand the whole contraction to ``tensordot``, which it
cannot when an index is a batch index (in both operands and the output, like ``g`` in ``ngco,gdc->ngdo``). The
convolutions and their VJPs are such contractions, and there the loops are 5-10x slower than a matmul.

:func:`contract` sorts the indices of ``a,b->out`` into batch (both operands and the output), contracted (both
operands only), left (``a`` and the output) and right (``b`` and the output); indices found in one operand only
are summed first. Then one ``(B, L, C) @ (B, C, R)`` product and a reshape/transpose give the result. Anything
else (one or three operands, ``...``, a repeated index in one operand, sizes that differ) goes to
``np.einsum(..., optimize=True)``.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["contract"]


@lru_cache(maxsize=512)
def _plan(spec: str, shape_a: tuple, shape_b: tuple):
    """How to evaluate ``spec`` on operands of these shapes by one matmul; None when it can't."""
    if "..." in spec or "->" not in spec:
        return None
    inputs, out = spec.replace(" ", "").split("->")
    terms = inputs.split(",")
    if len(terms) != 2:
        return None
    ta, tb = terms
    if len(ta) != len(shape_a) or len(tb) != len(shape_b) or len(set(ta)) != len(ta) or len(set(tb)) != len(tb) \
            or len(set(out)) != len(out) or not set(out) <= set(ta) | set(tb):
        return None
    size = {}
    for term, shape in ((ta, shape_a), (tb, shape_b)):
        for index, n in zip(term, shape):
            if size.setdefault(index, n) != n:
                return None  # einsum would broadcast or raise: leave that to NumPy
    # indices in one operand only and not in the output: summed away first
    sum_a = tuple(i for i, x in enumerate(ta) if x not in tb and x not in out)
    sum_b = tuple(i for i, x in enumerate(tb) if x not in ta and x not in out)
    ta = "".join(x for x in ta if x in tb or x in out)
    tb = "".join(x for x in tb if x in ta or x in out)
    batch = [x for x in out if x in ta and x in tb]
    left = [x for x in out if x in ta and x not in tb]
    right = [x for x in out if x in tb and x not in ta]
    summed = [x for x in ta if x in tb and x not in out]
    perm_a = tuple(ta.index(x) for x in batch + left + summed)
    perm_b = tuple(tb.index(x) for x in batch + summed + right)

    def prod(indices):
        return math.prod(size[x] for x in indices)

    shape_a3 = (prod(batch), prod(left), prod(summed))
    shape_b3 = (prod(batch), prod(summed), prod(right))
    produced = batch + left + right
    shape_out = tuple(size[x] for x in produced)
    perm_out = tuple(produced.index(x) for x in out)
    return sum_a, sum_b, perm_a, perm_b, shape_a3, shape_b3, shape_out, perm_out


def contract(spec: str, *arrays: np.ndarray) -> np.ndarray:
    """``np.einsum(spec, *arrays)``, through one batched matmul when the spec has two operands."""
    plan = _plan(spec, arrays[0].shape, arrays[1].shape) if len(arrays) == 2 else None
    if plan is None:
        return np.einsum(spec, *arrays, optimize=len(arrays) > 2)
    sum_a, sum_b, perm_a, perm_b, shape_a3, shape_b3, shape_out, perm_out = plan
    a, b = arrays
    if sum_a:
        a = a.sum(axis=sum_a)
    if sum_b:
        b = b.sum(axis=sum_b)
    result = np.matmul(a.transpose(perm_a).reshape(shape_a3), b.transpose(perm_b).reshape(shape_b3))
    return result.reshape(shape_out).transpose(perm_out)
