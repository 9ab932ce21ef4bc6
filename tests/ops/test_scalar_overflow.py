"""Python numbers that do not fit a tensor's dtype, against live torch: torch converts them with an overflow check
(RuntimeError "value cannot be converted to type float without overflow") where a kernel takes the number as a
value (fill_, full, assignment, where, masked_fill, index_fill, scatter, clamp's bounds, alpha, activation
coefficients, pad's value, linspace, torch.tensor with an integer dtype), and unchecked, as a wrapped number
(inf; an integer wrapped), in arithmetic. One helper: refgrad/ops/_util.py checked_scalar."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import refgrad

F32, F16, I8, U8, I32, I64, B = "float32", "float16", "int8", "uint8", "int32", "int64", "bool"
INF, NAN = float("inf"), float("nan")


def _z(T, dtype, n=3):
    return T.zeros(n, dtype=getattr(T, dtype))


def _set(T, dtype, index, value, n=3):
    t = _z(T, dtype, n)
    t[index] = value
    return t


def _mask(T, n=3):
    return T.tensor([True, False, True][:n])


CASES = {
    # assignment: checked, except float16 (and an integer past int64: ValueError)
    **{f"setitem {d} {v!r}": (lambda T, d=d, v=v: _set(T, d, 0, v))
       for d, v in [(F32, 1e300), (F32, -1e300), (F32, INF), (F32, NAN), (F32, 3.5e38), (F32, 3.4028234663852886e38),
                    (F32, 3.402823466385289e38), (F32, 10 ** 40), (F16, 1e5), (F16, 65519.0), (F16, 70000),
                    (I8, 300), (I8, -129), (I8, 127), (I8, 255), (I8, 1.5), (I8, 300.0), (I8, 1e300), (I8, NAN),
                    (U8, -1), (U8, -129), (U8, 256), (U8, -256), (U8, -0.5), (I32, 2 ** 31), (I64, 2 ** 63),
                    (B, 2), (B, 1e300), (I8, True)]},
    "setitem slice f32": lambda T: _set(T, F32, slice(None), 1e300),
    "setitem index f32": lambda T: _set(T, F32, T.tensor([0]), 1e300),
    "setitem list f32": lambda T: _set(T, F32, [0], 1e300),
    "setitem mask f32": lambda T: _set(T, F32, _mask(T), 1e300),
    "setitem index i8": lambda T: _set(T, I8, T.tensor([0]), 300),
    "setitem index f16": lambda T: _set(T, F16, T.tensor([0]), 1e5),
    "setitem f32 tensor value (a cast)": lambda T: _set(T, F32, 0, T.tensor(1e300, dtype=T.float64)),
    "setitem i8 tensor value (a cast)": lambda T: _set(T, I8, 0, T.tensor(300)),
    # fills: checked; float16 unchecked when a single element is filled (torch's fast path)
    **{f"fill_ {d} n={n} {v!r}": (lambda T, d=d, v=v, n=n: _z(T, d, n).fill_(v))
       for d, v, n in [(F32, 1e300, 3), (F32, 1e300, 1), (F32, 1e300, 0), (F16, 1e5, 3), (F16, 1e5, 1),
                       (F16, 65505.0, 3), (I8, 300, 3), (I8, 300, 1), (U8, -1, 3), (U8, -255, 3), (I8, 127.4, 3),
                       (I8, -0.5, 3), (I8, INF, 3), (F32, -INF, 3), (B, NAN, 3)]},
    "fill_ f32 with a float64 tensor (a cast)": lambda T: _z(T, F32).fill_(T.tensor(1e300, dtype=T.float64)),
    "full f32": lambda T: T.full((2,), 1e300, dtype=T.float32),
    "full default dtype": lambda T: T.full((2,), 1e300),
    "full i8": lambda T: T.full((2,), 300, dtype=T.int8),
    "full f16 one element": lambda T: T.full((1,), 1e5, dtype=T.float16),
    "full f16 0-d": lambda T: T.full((), 1e5, dtype=T.float16),
    "full_like f32": lambda T: T.full_like(_z(T, F32), 1e300),
    "full_like f16 one element": lambda T: T.full_like(_z(T, F16, 1), 1e5),
    "scalar_tensor f32": lambda T: T.scalar_tensor(1e300, dtype=T.float32),
    "scalar_tensor i8": lambda T: T.scalar_tensor(300, dtype=T.int8),
    "scalar_tensor f16": lambda T: T.scalar_tensor(1e5, dtype=T.float16),
    "linspace f32": lambda T: T.linspace(0, 1e300, 3, dtype=T.float32),
    # torch.tensor: unchecked for floats, checked for integer dtypes (its own dtype names)
    "tensor f32": lambda T: T.tensor(1e300, dtype=T.float32),
    "tensor [f32]": lambda T: T.tensor([1e300], dtype=T.float32),
    "tensor i8": lambda T: T.tensor(300, dtype=T.int8),
    "tensor [i8]": lambda T: T.tensor([1, 300], dtype=T.int8),
    "tensor i8 float": lambda T: T.tensor(300.0, dtype=T.int8),
    "tensor [i8] floats truncated": lambda T: T.tensor([1.7, -1.7], dtype=T.int8),
    "tensor i32": lambda T: T.tensor(2 ** 31, dtype=T.int32),
    "tensor u8 negative": lambda T: T.tensor([-1], dtype=T.uint8),
    # where's number: checked, float16 unchecked
    "where f32 other": lambda T: T.where(_mask(T), _z(T, F32), 1e300),
    "where f32 input": lambda T: T.where(_mask(T), 1e300, _z(T, F32)),
    "where f16": lambda T: T.where(_mask(T), _z(T, F16), 1e5),
    "where i8": lambda T: T.where(_mask(T), _z(T, I8), 300),
    "where i8 float (promoted)": lambda T: T.where(_mask(T), _z(T, I8), 1.5),
    "where numbers": lambda T: T.where(_mask(T), 1e300, 1.0),
    "Tensor.where": lambda T: _z(T, F32).where(_mask(T), 1e300),
    # Python integers past uint64 / int64 (torch's argument parser); an assigned one past int64
    **{f"{name} {v}": (lambda T, f=f, v=v: f(T, v))
       for name, f in [("where", lambda T, v: T.where(_mask(T), _z(T, F32), v)),
                       ("clamp", lambda T, v: _z(T, F32).clamp(max=v)),
                       ("fill_", lambda T, v: _z(T, F32).fill_(v)), ("fill_ i64", lambda T, v: _z(T, I64).fill_(v)),
                       ("masked_fill", lambda T, v: _z(T, F32).masked_fill(_mask(T), v)),
                       ("setitem", lambda T, v: _set(T, F32, 0, v))]
       for v in (2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64, -2 ** 63, -2 ** 63 - 1, 10 ** 40)},
    # value-taking kernels: checked (a 0-d tensor value too)
    "masked_fill f32": lambda T: _z(T, F32).masked_fill(_mask(T), 1e300),
    "masked_fill_ f32": lambda T: _z(T, F32).masked_fill_(_mask(T), 1e300),
    "masked_fill f16": lambda T: _z(T, F16).masked_fill(_mask(T), 1e5),
    "masked_fill f16 one element": lambda T: _z(T, F16, 1).masked_fill(_mask(T, 1), 1e5),
    "masked_fill i8": lambda T: _z(T, I8).masked_fill(_mask(T), 300),
    "masked_fill u8 -1": lambda T: _z(T, U8).masked_fill(_mask(T), -1),
    "masked_fill f64 tensor value": lambda T: _z(T, F32).masked_fill(_mask(T), T.tensor(1e300, dtype=T.float64)),
    "index_fill f32": lambda T: _z(T, F32).index_fill(0, T.tensor([0]), 1e300),
    "index_fill_ f32": lambda T: _z(T, F32).index_fill_(0, T.tensor([0]), 1e300),
    "index_fill i8": lambda T: _z(T, I8).index_fill(0, T.tensor([0]), 300),
    "index_fill f64 tensor value": lambda T: _z(T, F32).index_fill(0, T.tensor([0]), T.tensor(1e300, dtype=T.float64)),
    "scatter value f32": lambda T: _z(T, F32).scatter(0, T.tensor([0]), 1e300),
    "scatter_ value f32": lambda T: _z(T, F32).scatter_(0, T.tensor([0]), 1e300),
    "scatter value i8": lambda T: _z(T, I8).scatter(0, T.tensor([0]), 300),
    "scatter value f16 one element": lambda T: _z(T, F16, 1).scatter(0, T.tensor([0]), 1e5),
    **{f"clamp {d} {k}={v!r}": (lambda T, d=d, k=k, v=v: T.clamp(_z(T, d), **{k: v}))
       for d, k, v in [(F32, "max", 1e300), (F32, "min", 1e300), (F32, "min", -1e300), (F16, "min", 1e5),
                       (I8, "min", 300), (I8, "max", -300), (I8, "min", 1.5), (F32, "max", INF)]},
    "clamp_ f32": lambda T: _z(T, F32).clamp_(min=1e300),
    "clamp_min f32": lambda T: T.clamp_min(_z(T, F32), 1e300),
    "clamp_max f32": lambda T: T.clamp_max(_z(T, F32), 1e300),
    "clip f32": lambda T: _z(T, F32).clip(max=1e300),
    "hardtanh f32": lambda T: T.nn.functional.hardtanh(_z(T, F32), -1e300, 1e300),
    "threshold f32 value": lambda T: T.nn.functional.threshold(_z(T, F32), 0.5, 1e300),
    "threshold f32 threshold": lambda T: T.nn.functional.threshold(_z(T, F32), 1e300, 0.5),
    "leaky_relu f32": lambda T: T.nn.functional.leaky_relu(_z(T, F32), 1e300),
    "elu f32": lambda T: T.nn.functional.elu(_z(T, F32), alpha=1e300),
    "celu f32": lambda T: T.nn.functional.celu(_z(T, F32), alpha=1e300),
    "softplus f32 beta": lambda T: T.nn.functional.softplus(_z(T, F32), beta=1e300),
    "pad f32": lambda T: T.nn.functional.pad(_z(T, F32), (1, 1), value=1e300),
    "pad i8": lambda T: T.nn.functional.pad(_z(T, I8), (1, 1), value=300),
    "add alpha f32": lambda T: _z(T, F32).add(T.ones(3), alpha=1e300),
    "sub alpha f32": lambda T: _z(T, F32).sub(T.ones(3), alpha=1e300),
    "add alpha i8": lambda T: _z(T, I8).add(T.ones(3, dtype=T.int8), alpha=300),
    "index_add alpha f32": lambda T: _z(T, F32).index_add(0, T.tensor([0]), T.ones(1), alpha=1e300),
    "lerp weight f32": lambda T: _z(T, F32).lerp(T.ones(3), 1e300),
    "addcmul value f32": lambda T: _z(T, F32).addcmul(T.ones(3), T.ones(3), value=1e300),
    "addcdiv value f32": lambda T: _z(T, F32).addcdiv(T.ones(3), T.ones(3), value=1e300),
    # arithmetic with a wrapped number: unchecked (inf; an integer wrapped as in C)
    "add f32": lambda T: _z(T, F32) + 1e300,
    "mul f32": lambda T: _z(T, F32) * 1e300,
    "add_ f32": lambda T: _z(T, F32).add_(1e300),
    "add i8": lambda T: _z(T, I8) + 300,
    "add_ i8": lambda T: _z(T, I8).add_(300),
    "add u8 -1": lambda T: _z(T, U8) + (-1),
    "sub u8 260": lambda T: (_z(T, U8) + 4) - 260,
    "eq i8 300 (wrapped to 44)": lambda T: (_z(T, I8) + 44) == 300,
    "pow f32": lambda T: _z(T, F32).pow(1e300),
    "fmod f32": lambda T: _z(T, F32).fmod(1e300),
    "nan_to_num posinf": lambda T: T.nan_to_num(T.tensor([INF]), posinf=1e300),
    "isclose atol": lambda T: T.isclose(_z(T, F32), _z(T, F32), atol=1e300),
}


def _outcome(T, case):
    try:
        result = CASES[case](T)
    except Exception as e:  # noqa: BLE001 - the outcome compared
        return type(e), str(e), None
    return None, None, (str(result.dtype).split(".")[-1], np.array(result.tolist()))


@pytest.mark.parametrize("case", list(CASES))
def test_number_conversion_matches_torch(case):
    (t_type, t_msg, t_val), (r_type, r_msg, r_val) = _outcome(torch, case), _outcome(refgrad, case)
    assert (r_type, r_msg) == (t_type, t_msg)
    if t_val is not None:
        assert r_val[0] == t_val[0]
        np.testing.assert_array_equal(r_val[1], t_val[1])
