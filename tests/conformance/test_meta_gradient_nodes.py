"""The double_backward property's exclusions from the grad_fn name comparison (conformance/gradient_nodes.py):
each names an existing double_backward spec with a reason, and only those drop the names."""
from __future__ import annotations

from conformance.gradient_nodes import UNCOMPARED, compares_names
from conformance.properties import cases
from conformance.specs import get_spec


def test_every_excluded_spec_is_a_double_backward_spec_with_a_reason():
    double_backward = {param.values[0].name for param in cases("double_backward")}
    for name, reason in UNCOMPARED.items():
        assert get_spec(name).gradgrad and name in double_backward, name
        assert len(reason) > 40, name


def test_only_the_excluded_specs_drop_the_names():
    assert not compares_names("nn.functional.conv2d") and compares_names("exp") and compares_names("gather")
