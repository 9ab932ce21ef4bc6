"""The properties, one pytest module each, generic over all specs.

Each module holds ``test_<property>(spec, dtype, conformance_session, request)`` parametrized by
:func:`cases`, so ids read ``test_vjp[tanh-float64]``; the ``conformance_session`` fixture comes from
:mod:`conformance.plugin`. ``test_graph_state`` is a state machine over the tutorial ops instead.
"""
from __future__ import annotations

import pytest

from conformance.specs import all_specs
from conformance.strategies import is_floating

__all__ = ["cases", "PROPERTY_NAMES"]

PROPERTY_NAMES = ("forward", "vjp", "double_backward", "errors", "graph_state", "training")


def cases(prop: str) -> list:
    """``pytest.param(spec, dtype)`` for every spec and dtype the property ``prop`` applies to."""
    if prop == "training":  # its own specs (model x optimizer), not op specs
        from conformance.properties.test_training import SPECS
        return [pytest.param(spec, dtype, id=f"{spec.name}-{dtype}") for spec in SPECS for dtype in spec.dtypes]
    params = []
    for spec in all_specs():
        for dtype in spec.dtypes:
            if prop in ("vjp", "double_backward") and not spec.differentiable_dtype(dtype):
                continue
            if prop == "double_backward" and not spec.gradgrad:
                continue
            if prop == "errors" and not is_floating(dtype) and not (spec.has_invalid_shapes or spec.has_invalid_kwargs):
                continue  # integer examples only add error cases through invalid shapes
            params.append(pytest.param(spec, dtype, id=f"{spec.name}-{dtype}"))
    return params
