"""torch's "efficient ZeroTensor", as far as refgrad's users can meet one (torch 2.13, measured).

torch's backward of ``sgn`` for a real input returns a ZeroTensor: an all-zero tensor with no storage, flagged
``_is_zerotensor()``. It reaches users as a gradient (``autograd.grad`` returns it; AccumulateGrad stores it in
``.grad`` when it steals the gradient, i.e. without create_graph and when nothing else holds it), chiefly through
the double backward of abs and of the 1- and inf-norms. refgrad keeps the flag in ``Tensor._zerotensor`` (True, or
None: an instance value set by every tensor creation, so the checks below are one attribute read) and follows
torch where it keeps or drops it:

- kept: views (every ``view=True`` Primitive, detach, ``.data``, ``to`` of the same dtype, ``view(dtype)``, which
  return the same or an aliasing tensor); ``mul`` (also ``mul.Scalar``, and 1-D ``matmul``) when either operand
  is one, whatever the other holds (``z * inf`` is 0); ``div`` when the dividend is one and the divisor is not;
  ``add``/``sub`` when both are. A divisor that is one gives inf everywhere (``nan / z`` too). With a 0-d one,
  these four promote a Python number as a 0-d double (:func:`number_operand`).
- in place, an operand that is one computes as its zeros (``o.mul_(z)`` is NaN where ``o`` is inf).
- dropped: everything else computes with the zeros (``z + y``, ``z.sum()``, ``-z``, ``clone``, a cast, a
  reduction to a broadcast input's shape...), which is what torch's fallback does; so do the VJPs of ops whose
  torch backward is a fused kernel (:func:`materialized`). torch's norm and std backwards write the gradient's
  quotient in place, so a ZeroTensor reaching them raises (linalg_norms.py, binary.py's dist, reductions.py).
- refused: writing into one in place (every in-place op, ``copy_``, ``x[i] = v``, AccumulateGrad adding a later
  gradient without create_graph, an optimizer's ``zero_grad(set_to_none=False)``), ``numpy()`` and
  ``np.asarray`` without ``force=True``, ``tolist()``, pickling and deepcopy, with torch's RuntimeErrors.
"""
from __future__ import annotations

__all__ = ["IMMUTABLE", "IMMUTABLE_COPY", "zeros_like", "absorb", "materialized", "refuse_write", "number_operand"]

IMMUTABLE = ("ZeroTensors are immutable. Please use the materialized zero tensor obtained using .clone() if you want "
             "a mutable tensor.")
IMMUTABLE_COPY = ("ZeroTensors are immutable. Please materialize the tensor using `.clone()`, if you want a mutable "
                  "zero tensor.")  # copy_ and x[i] = v


def zeros_like(like):
    """A ZeroTensor of ``like``'s shape and dtype (torch's ``_efficientzerotensor(self.sizes(), self.options())``)."""
    import numpy as np

    from refgrad.tensor import Tensor
    t = Tensor._make(np.zeros_like(like._data))
    t._zerotensor = True
    return t


def absorb(result):
    """``result`` (an op's fresh output) made a ZeroTensor: its values all zeros (torch's ZeroTensor kernels never
    compute, so ``0 * inf`` is 0), its node and shape kept."""
    result._data.fill(0)  # a fresh array: nothing else (a saved tensor) holds it
    result._zerotensor = True
    return result


def materialized(grad):
    """``grad``, or an ordinary copy of a ZeroTensor: what the VJP of an op that torch computes with a fused
    backward kernel (gelu, silu, mse_loss...) sees, so no ZeroTensor comes out of it (and 0 * inf is NaN there)."""
    return grad.clone() if grad._zerotensor else grad


def refuse_write(copy: bool = False):
    """torch's refusal to write into a ZeroTensor."""
    raise RuntimeError(IMMUTABLE_COPY if copy else IMMUTABLE)


def number_operand(tensor, other):
    """``other`` as torch's ZeroTensor kernels of add, sub, mul and div see it: they compute their result dtype on
    the meta device, where a Python number is no longer a wrapped number, so with a 0-d ZeroTensor it promotes as a
    0-d double (complex double) tensor: ``z0 * 2.0``, ``z0 / 2.0`` and ``z0 + 2.0`` are float64 for a float32 ``z0``
    (torch 2.13, measured; a dimensioned ZeroTensor, an int and ``2.0 - z0`` promote as usual)."""
    if tensor._zerotensor and isinstance(other, (float, complex)) and not tensor._data.shape:
        import numpy as np

        from refgrad.tensor import Tensor
        return Tensor._make(np.asarray(other, np.complex128 if isinstance(other, complex) else np.float64))
    return other
