"""In-place writes whose inputs share memory with the written tensor, against live torch: torch refuses a partial
overlap (``a[1:] -= a[:-1]``, ``a -= a.T``) with one RuntimeError and allows the very same memory (``a += a``);
its index kernels (index_add_, scatter_, index_put_...) refuse any overlap, and a few ops check nothing. The
refusal happens in every mode (recording, no_grad's fast path, inference mode) and in the order torch checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import refgrad


def _a(T, n=6):
    return T.arange(float(n))


def _ab(T):
    return T.arange(6.).reshape(2, 3)


def _i(T):
    return T.arange(6)


def _m(T):
    return T.ones(6, dtype=T.bool)


def _idx(T, *values):
    return T.tensor(list(values))


# name -> (make the tensor, the write on it); the written tensor is compared after an allowed write
CASES = {
    # elementwise kernels: a partial overlap is refused, the same memory is not
    "sub_ shifted": (_a, lambda T, a: a[1:].sub_(a[:-1])),
    "isub shifted": (_a, lambda T, a: a[1:].__isub__(a[:-1])),
    "iadd self": (_a, lambda T, a: a.__iadd__(a)),
    "add_ same memory other tensor": (_a, lambda T, a: a[1:5].add_(a[1:5])),
    "add_ detached alias": (_a, lambda T, a: a.add_(a.detach())),
    "add_ detached shifted": (_a, lambda T, a: a[1:].add_(a.detach()[:-1])),
    "isub transpose": (lambda T: T.arange(9.).reshape(3, 3), lambda T, a: a.__isub__(a.T)),
    "transpose add_ transpose": (lambda T: T.arange(9.).reshape(3, 3), lambda T, a: a.T.add_(a.T)),
    "add_ flip (a copy in torch)": (_a, lambda T, a: a.add_(a.flip(0))),
    "add_ a row, broadcast": (_ab, lambda T, a: a.add_(a[0])),
    "add_ 0-d into its 1-element slice": (_a, lambda T, a: a[0:1].add_(a[0])),
    "add_ into a (1, 6) view": (_a, lambda T, a: a.view(1, 6).add_(a)),
    "unsqueeze add_ view": (_a, lambda T, a: a.unsqueeze(1).add_(a.view(6, 1))),
    "view add_ permuted view": (_a, lambda T, a: a.view(2, 3).add_(a.view(3, 2).T)),
    "strided halves (not dense: allowed)": (_a, lambda T, a: a[::2].add_(a[1::2])),
    "disjoint rows": (_ab, lambda T, a: a[0].add_(a[1])),
    "empty operand": (_a, lambda T, a: a[0:0].add_(a[0:0])),
    "unfold row": (_a, lambda T, a: a[2:4].add_(a.unfold(0, 2, 1)[1])),
    "dtype view shifted": (_a, lambda T, a: a.view(T.int64)[1:].add_(a.view(T.int64)[:-1])),
    "mul_ shifted": (_a, lambda T, a: a[1:].mul_(a[:-1])),
    "div_ floor shifted": (_a, lambda T, a: a[1:].div_(a[:-1], rounding_mode="floor")),
    "pow_ shifted": (_a, lambda T, a: a[1:].pow_(a[:-1])),
    "atan2_ shifted": (_a, lambda T, a: a[1:].atan2_(a[:-1])),
    "lerp_ weight shifted": (_a, lambda T, a: a[1:].lerp_(T.ones(5), a[:-1])),
    "addcmul_ shifted": (_a, lambda T, a: a[1:].addcmul_(a[:-1], T.ones(5), value=2)),
    "clamp_ min tensor shifted": (_a, lambda T, a: a[1:].clamp_(min=a[:-1])),
    "eq_ shifted": (_a, lambda T, a: a[1:].eq_(a[:-1])),
    "bitwise_and_ shifted": (_i, lambda T, a: a[1:].bitwise_and_(a[:-1])),
    "ldexp_ shifted (a fresh power of 2)": (_a, lambda T, a: a[1:].ldexp_(a[:-1])),
    "overlap before the shape error": (_a, lambda T, a: a[1:5].add_(a[0:3])),
    "overlap before the dtype error": (_i, lambda T, a: a[1:5].add_(a[0:4].view(T.float64))),
    # copy_ and assignment (torch: copy_ of a value of the view's shape, else of the value expanded)
    "copy_ shifted": (_a, lambda T, a: a[1:].copy_(a[:-1])),
    "copy_ transpose": (lambda T: T.arange(9.).reshape(3, 3), lambda T, a: a.copy_(a.T)),
    "copy_ a row, broadcast": (_ab, lambda T, a: a.copy_(a[0])),
    "copy_ overlap before the shape error": (_a, lambda T, a: a[1:5].copy_(a[0:3])),
    "setitem slice shifted": (_a, lambda T, a: a.__setitem__(slice(1, None), a[:-1])),
    "setitem a row, expanded": (_ab, lambda T, a: a.__setitem__(Ellipsis, a[0])),
    "setitem a (1, 3) row, expanded": (_ab, lambda T, a: a.__setitem__(Ellipsis, a[0:1])),
    "setitem 0-d (fill_)": (_a, lambda T, a: a.__setitem__(slice(0, 2), a[0])),
    "setitem one element, expanded": (_a, lambda T, a: a.__setitem__(slice(0, 2), a[1:2])),
    "setitem row into (1, 3)": (_ab, lambda T, a: a.__setitem__(slice(0, 1), a[0])),
    "setitem column (not dense)": (_ab, lambda T, a: a.__setitem__((slice(None), 0), a[0, :2])),
    "fill_ with its own element": (_a, lambda T, a: a[0:2].fill_(a[0])),
    # index kernels: any overlap (same memory too), checked after their argument errors
    "index_add_ same memory": (_a, lambda T, a: a[1:5].index_add_(0, _idx(T, 0, 1, 2, 3), a[1:5])),
    "index_add_ inside": (_a, lambda T, a: a.index_add_(0, _idx(T, 0, 1), a[4:6])),
    "index_add_ count error first": (_a, lambda T, a: a[1:5].index_add_(0, _idx(T, 0, 1, 2), a[0:4])),
    "index_copy_ self": (_a, lambda T, a: a.index_copy_(0, _idx(T, 0, 1, 2, 3, 4, 5), a)),
    "index_copy_ disjoint": (_a, lambda T, a: a[0:2].index_copy_(0, _idx(T, 0, 1), a[4:6])),
    "scatter_ same memory": (_a, lambda T, a: a[1:5].scatter_(0, _idx(T, 0, 1, 2, 3), a[1:5])),
    "scatter_ dim error first": (_a, lambda T, a: a[1:5].scatter_(1, _idx(T, 0, 1, 2, 3), a[0:4])),
    "scatter_ own index": (_i, lambda T, a: a.scatter_(0, a, 0)),
    "scatter_add_ shifted": (_a, lambda T, a: a[1:5].scatter_add_(0, _idx(T, 0, 1, 2, 3), a[0:4])),
    "scatter_reduce_ same memory": (_a, lambda T, a: a[1:5].scatter_reduce_(0, _idx(T, 0, 1, 2, 3), a[1:5], "sum")),
    "index_reduce_ same memory": (_a, lambda T, a: a[1:5].index_reduce_(0, _idx(T, 0, 1, 2, 3), a[1:5], "prod")),
    "put_ same memory": (_a, lambda T, a: a[1:5].put_(_idx(T, 0, 1, 2, 3), a[1:5])),
    "index_put_ same memory": (_a, lambda T, a: a[1:5].index_put_((_idx(T, 0, 1, 2, 3),), a[1:5])),
    "index_put_ own index": (_i, lambda T, a: a.index_put_((a,), a * 0)),
    "index_put_ own mask": (_m, lambda T, a: a.index_put_((a,), T.tensor(False))),
    "index_fill_ own index": (_i, lambda T, a: a.index_fill_(0, a, 0)),
    "index_fill_ own element as value": (_a, lambda T, a: a[1:5].index_fill_(0, _idx(T, 0), a[2])),
    "setitem index, same memory": (_a, lambda T, a: a[1:5].__setitem__(_idx(T, 0, 1, 2, 3), a[1:5])),
    "setitem index, inside": (_a, lambda T, a: a.__setitem__(_idx(T, 0, 1), a[4:6])),
    "setitem index into a slice, disjoint": (_a, lambda T, a: a[0:2].__setitem__(_idx(T, 0, 1), a[4:6])),
    "setitem own integer index": (_i, lambda T, a: a.__setitem__(a, 0)),
    "setitem own mask": (_m, lambda T, a: a.__setitem__(a, False)),
    "setitem mask, same memory": (_a, lambda T, a: a[1:5].__setitem__(T.ones(4, dtype=T.bool), a[1:5])),
    # ops that check only some operands
    "masked_fill_ shifted mask": (_m, lambda T, a: a[1:].masked_fill_(a[:-1], False)),
    "masked_fill_ own mask": (_m, lambda T, a: a.masked_fill_(a, False)),
    "masked_fill_ own element as value": (_a, lambda T, a: a[1:5].masked_fill_(T.ones(4, dtype=T.bool), a[2])),
    "masked_scatter_ shifted": (_m, lambda T, a: a[1:].masked_scatter_(a[:-1], a[:-1])),
    "addmm_ overlapping": (lambda T: T.arange(1., 17.).reshape(4, 4),
                           lambda T, a: a[0:2, 0:2].addmm_(a[1:3, 0:2], T.eye(2))),
    "addr_ overlapping": (lambda T: T.arange(1., 17.).reshape(4, 4),
                          lambda T, a: a[0:2, 0:2].addr_(a[1, 0:2], T.ones(2))),
}


def _run(T, case):
    make, write = CASES[case]
    a = make(T)
    try:
        write(T, a)
    except Exception as e:  # noqa: BLE001 - the outcome compared
        return type(e), str(e), None
    return None, None, np.array(a.tolist())


@pytest.mark.parametrize("mode", ["grad", "no_grad", "inference"])
@pytest.mark.parametrize("case", list(CASES))
def test_overlapping_write_matches_torch(case, mode):
    outcomes = []
    for T in (torch, refgrad):
        context = {"grad": T.enable_grad, "no_grad": T.no_grad, "inference": T.inference_mode}[mode]
        with context():
            outcomes.append(_run(T, case))
    (t_type, t_msg, t_val), (r_type, r_msg, r_val) = outcomes
    assert (r_type, r_msg) == (t_type, t_msg)
    if t_val is not None:
        np.testing.assert_array_equal(r_val, t_val)


def test_recorded_partial_overlap_refused_before_anything_is_written():
    for T in (torch, refgrad):
        x = T.arange(6., requires_grad=True)
        y = x * 1
        with pytest.raises(RuntimeError, match="^unsupported operation: some elements of the input tensor"):
            y[1:].mul_(y[:-1])
        assert y.tolist() == [0., 1., 2., 3., 4., 5.] and y.grad_fn.name() == "MulBackward0"


def test_a_view_of_a_leaf_is_refused_first():
    for T in (torch, refgrad):
        x = T.arange(6., requires_grad=True)
        for method in ("copy_", "add_"):
            with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad"):
                getattr(x[1:], method)(x[:-1])


def test_inference_tensor_outside_inference_mode_refused_before_writing():
    for T in (torch, refgrad):
        with T.inference_mode():
            a = T.arange(6.)
        with pytest.raises(RuntimeError, match="^unsupported operation: some elements"):
            a[1:].sub_(a[:-1])
        assert a.tolist() == [0., 1., 2., 3., 4., 5.]


def test_setitem_records_torch_view_and_expand():
    """torch's assignment views the value without its leading 1s and expands it unless it has the view's shape."""
    def names(T, shape, index):
        a, v = T.zeros(2, 3), T.ones(shape, requires_grad=True)
        a[index] = v * 1
        fn, out = a.grad_fn, []
        while fn is not None and len(out) < 4:
            out.append(fn.name())
            fn = fn.next_functions[-1][0] if fn.next_functions else None
        return out
    for shape, index in [((3,), Ellipsis), ((1, 3), slice(0, 1)), ((1, 3), 0), ((1,), Ellipsis),
                         ((1, 1, 3), slice(0, 1)), ((2, 1), Ellipsis), ((), 0), ((1,), 0)]:
        assert names(refgrad, shape, index) == names(torch, shape, index), (shape, index)
