"""Storage offsets torch 2.13 keeps where NumPy does not (refgrad/ops/_views.py, refgrad/ops/strided.py,
Tensor.detach / .data): an empty slice starts at its start (NumPy puts it at its source's start), and detach() or
``.data`` of a view shares the view's storage, so that its storage offset and as_strided read where torch's do."""
from __future__ import annotations

import pytest

import refgrad as rg

torch = pytest.importorskip("torch")

CODES = [
    "x[6:].storage_offset()", "x[4:2].storage_offset()", "x[5:5].storage_offset()", "x[10:].storage_offset()",
    "m[:, 4:].storage_offset()", "m[1:, 2:2].storage_offset()", "m[3:].storage_offset()",
    "m[3:][:, 1:].storage_offset()", "x.narrow(0, 6, 0).storage_offset()",
    "x[6:].as_strided((0,), (1,)).storage_offset()",
    "x[6:].as_strided((2,), (1,), 0).tolist()", "x[1:].detach().storage_offset()", "x[1:].data.storage_offset()",
    "x[2:].detach()[1:].storage_offset()", "x[2:].detach().detach()[1:].data.storage_offset()",
    "x[2:].detach()[1:].detach()[1:].storage_offset()", "x.detach()[1:].storage_offset()",
    "x[1:].detach().as_strided((2,), (1,), 0).tolist()", "m.t()[1:].data.as_strided((2, 2), (4, 1)).tolist()",
    "x[1:].detach()._base is None", "x[1:].detach().as_strided((6,), (1,), 0).tolist()",
    "m[1:].detach().as_strided((3, 4), (4, 1), 0).tolist()",
]


def _outcome(t, code):
    try:
        return eval(code, {"x": t.arange(6.), "m": t.arange(12.).reshape(3, 4)})
    except Exception as e:  # noqa: BLE001 (the error is the outcome compared)
        return type(e).__name__, str(e)


@pytest.mark.parametrize("code", CODES)
def test_storage_offset_matches_torch(code):
    assert _outcome(rg, code) == _outcome(torch, code)
