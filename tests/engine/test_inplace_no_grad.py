"""In-place arithmetic under no_grad (an optimizer's ``p -= lr * p.grad``), which writes the op's ufunc straight
into self's array when it can (refgrad/ops/_inplace.py, INPLACE_UFUNCS), against torch 2.13.0: values, dtypes,
version counters and errors, on the fast cases and on their edges, which take the generic path."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import refgrad

CASES = {  # name -> code run under no_grad with ``t`` the library; ``out`` is compared, and the error if any
    "update": "p = t.ones(3, 4, dtype=t.float64, requires_grad=True); g = t.full((3, 4), 2.0, dtype=t.float64); "
              "p -= 0.01 * g; out = (p, p._version)",
    "float32 update": "p = t.ones(3, dtype=t.float32); p -= 0.1 * t.full((3,), 3.0); out = (p, p._version)",
    "each op": "p = t.ones(3, dtype=t.float64); q = t.full((3,), 3.0, dtype=t.float64); p += q; p *= q; p /= q; "
               "p -= q; p.add_(q); p.sub_(q); p.mul_(q); p.div_(q); p *= 0.5; p /= 4.0; out = (p, p._version)",
    "0-d other": "p = t.ones(2, 2, dtype=t.float64); p -= t.tensor(0.5, dtype=t.float64); out = p",
    "broadcast other": "p = t.ones(2, 3, dtype=t.float64); p -= t.arange(3.0, dtype=t.float64); p -= t.arange(3.0, "
                       "dtype=t.float64); out = p",
    "broadcast into another shape": "p = t.ones(1, 3, dtype=t.float64); p -= t.ones(2, 3, dtype=t.float64)",
    "not broadcastable": "p = t.ones(2, 3, dtype=t.float64); p -= t.ones(2, dtype=t.float64)",
    "another floating dtype": "p = t.ones(3, dtype=t.float32); p -= t.full((3,), 0.25, dtype=t.float64); out = p",
    "integer self, float other": "p = t.ones(3, dtype=t.int64); p *= 0.5",
    "integer self, number": "p = t.ones(3, dtype=t.int64); p *= 3; out = p",
    "with alpha": "p = t.ones(3, dtype=t.float64); p.sub_(t.ones(3, dtype=t.float64), alpha=0.5); out = p",
    "view writes its base": "p = t.ones(4, dtype=t.float64); v = p.view(2, 2); v -= 0.5 * t.ones(2, 2, "
                            "dtype=t.float64); out = (p, p._version, v._version)",
    "transposed view": "p = t.zeros(2, 3, dtype=t.float64); v = p.t(); v += t.arange(6.0, dtype=t.float64)"
                       ".view(3, 2); out = p",
    "itself": "p = t.arange(3.0, dtype=t.float64); p -= p; out = p",
    "expanded self": "p = t.ones(3, dtype=t.float64).expand(2, 3); p -= t.ones(2, 3, dtype=t.float64)",
    "part of an expanded tensor": "e = t.ones(1, 3, dtype=t.float64).expand(2, 3); r = e[0]; "
                                  "r -= t.ones(3, dtype=t.float64); out = (r, e)",
    "inf - inf is silent": "p = t.full((2,), math.inf, dtype=t.float64); p -= p; p /= t.zeros(2, dtype=t.float64); "
                           "out = p",
    "inference tensor": "with t.inference_mode(): p = t.ones(3, dtype=t.float64)\np -= 0.5 * t.ones(3, "
                        "dtype=t.float64)",
    "forward AD tangent": "import {fwad} as fw\nwith fw.dual_level():\n    p = fw.make_dual(t.ones(2, "
                          "dtype=t.float64), t.full((2,), 3.0, dtype=t.float64))\n    p *= 2.0\n    p -= t.ones(2, "
                          "dtype=t.float64)\n    out = fw.unpack_dual(p)",
    "sign of zero": "z = t.ones(2, dtype=t.float64); a = [0.0 * z for _ in range(3)]; b = [-0.0 * z for _ in "
                    "range(3)]; c = 0.0 * z; out = (*a, *b, c, 1.0 / a[2], 1.0 / b[2], 1.0 / c)",
}


def _run(lib, code: str):
    env = {"t": lib, "math": math}
    code = code.replace("{fwad}", f"{lib.__name__}.autograd.forward_ad")
    try:
        with lib.no_grad():
            exec(code, env)  # noqa: S102 - the table above
    except Exception as error:  # noqa: BLE001 - compared with torch's
        return type(error).__name__, str(error)
    return "ok", _plain(env.get("out"))


def _plain(value):
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if hasattr(value, "detach"):
        array = value.detach().numpy()
        return str(array.dtype), array.tolist(), tuple(np.signbit(array).ravel().tolist())
    return value


@pytest.mark.parametrize("name", CASES)
def test_in_place_arithmetic_under_no_grad_matches_torch(name):
    expected, actual = _run(torch, CASES[name]), _run(refgrad, CASES[name])
    assert str(actual) == str(expected)  # (str: NaN compares equal to itself)


def test_a_number_reused_under_no_grad_is_never_the_saved_one():
    x = refgrad.ones(2, dtype=refgrad.float64, requires_grad=True)
    with refgrad.no_grad():
        before = [0.5 * x for _ in range(3)]  # (the same float object: reused from the second on)
    y = x * 0.5  # recorded: a fresh wrapped number is saved
    y.grad_fn._saved_other.add_(1.0)  # (a saved number is an ordinary tensor)
    with refgrad.no_grad():
        after = 0.5 * x
    assert [b.tolist() for b in before] == [after.tolist()] * 3 == [[0.5, 0.5]] * 3 and not after.requires_grad
    with refgrad.inference_mode():
        inside = 0.5 * x
    assert inside.is_inference() and not (0.5 * x.detach()).is_inference()
