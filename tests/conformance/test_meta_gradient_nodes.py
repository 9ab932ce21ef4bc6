"""The double_backward property's exclusions from the grad_fn name comparison (conformance/gradient_nodes.py):
each names an existing double_backward spec with a reason, and only those drop the names."""
from __future__ import annotations

from conformance.gradient_nodes import CIRCULAR, DEGENERATE, UNCOMPARED, compares_names
from conformance.properties import cases
from conformance.specs import get_spec


def test_every_excluded_spec_is_a_double_backward_spec_with_a_reason():
    double_backward = {param.values[0].name for param in cases("double_backward")}
    assert not UNCOMPARED.keys() & DEGENERATE.keys() and not UNCOMPARED.keys() & CIRCULAR.keys()
    for name, reason in {**UNCOMPARED, **DEGENERATE, **CIRCULAR}.items():
        assert get_spec(name).gradgrad and name in double_backward, name
        assert len(reason) > 40, name


def test_only_the_excluded_specs_drop_the_names():
    assert not compares_names("nn.functional.conv2d") and compares_names("exp") and compares_names("gather")


def test_a_degenerate_spec_drops_the_names_for_0d_or_empty_inputs_only():
    def tensor(*shape):
        return {"kind": "tensor", "shape": list(shape)}
    assert compares_names("amax", [tensor(2, 1)]) and not compares_names("cumsum", [tensor(2, 1)])
    assert not compares_names("amax", [tensor()]) and not compares_names("amin", [tensor(0, 1)])
    assert compares_names("mul.python_complex", [tensor(2), {"kind": "scalar", "value": 2j}])


def test_a_circular_pad_drops_the_names():
    image = [{"kind": "tensor", "shape": [1, 1, 3]}]
    assert not compares_names("nn.functional.pad", image, {"pad": (1, 1), "mode": "circular"})
    assert compares_names("nn.functional.pad", image, {"pad": (1, 1), "mode": "reflect"})


def test_the_matmul_family_compares_the_names_for_every_layout():
    """mm's gradients follow its operands' strides as torch's do (tests/ops/test_mm_gradient_layout.py)."""
    def tensor(*shape, layout="contiguous"):
        return {"kind": "tensor", "shape": list(shape), "layout": layout}
    assert compares_names("mm", [tensor(2, 3, layout="transposed"), tensor(3, 2)])
    assert compares_names("nn.functional.linear", [tensor(1, 1), tensor(4, 1), tensor(4)])
    assert compares_names("addmm", [tensor(0, 1), tensor(0, 1), tensor(1, 1)])
    assert not compares_names("aminmax", [tensor()]) and compares_names("aminmax", [tensor(3)])
