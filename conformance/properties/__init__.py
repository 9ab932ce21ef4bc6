"""The properties, one pytest module each, generic over all specs.

Each module holds ``test_<property>(spec, dtype, conformance_session, request)`` parametrized by
:func:`cases`, so ids read ``test_vjp[tanh-float64]``; the ``conformance_session`` fixture comes from
:mod:`conformance.plugin`. ``test_graph_state`` is a state machine over the tutorial ops instead.
"""
from __future__ import annotations

import pytest

from conformance.records import PROPERTIES
from conformance.specs import all_specs
from conformance.strategies import is_floating

__all__ = ["cases", "PROPERTY_NAMES", "skip_unsupported"]

PROPERTY_NAMES = PROPERTIES


def cases(prop: str) -> list:
    """``pytest.param(spec, dtype)`` for every spec and dtype the property ``prop`` applies to."""
    if prop == "training":  # its own specs (model x optimizer), not op specs
        from conformance.properties.test_training import SPECS
        return [pytest.param(spec, dtype, id=f"{spec.name}-{dtype}") for spec in SPECS for dtype in spec.dtypes]
    params = []
    for spec in all_specs():
        for dtype in spec.dtypes:
            if prop in ("vjp", "double_backward", "jvp", "func") and not spec.differentiable_dtype(dtype):
                continue
            if prop == "func" and dtype != "float64":
                continue  # torch.func's jacrev/jacfwd refuse complex inputs, and the transforms are dtype-generic:
                # float32 math is covered by the vjp/jvp/double_backward cells; func is the costliest property
            if prop == "double_backward" and not spec.gradgrad:
                continue
            if prop == "errors" and not is_floating(dtype) and not (spec.has_invalid_shapes or spec.has_invalid_kwargs):
                continue  # integer examples only add error cases through invalid shapes
            params.append(pytest.param(spec, dtype, id=f"{spec.name}-{dtype}"))
    return params


def skip_unsupported(session, prop: str, attributes: tuple) -> None:
    """Skip when the engine lacks an API the property needs (``autograd.forward_ad``...), recording one summary
    with status "unsupported" for the whole property (once per process), not a divergence per op."""
    module = session.engine.module
    missing = []
    for path in attributes:
        owner = module
        for part in path.split("."):
            owner = getattr(owner, part, None)
        if owner is None:
            missing.append(path)
    if not missing:
        return
    done = session.__dict__.setdefault("_unsupported", set())
    if prop not in done:
        done.add(prop)
        session.recorder.summary({
            "record_type": "summary", "run_id": session.run_id, "op": "*", "family": "*", "property": prop,
            "dtype": "*", "examples": 0, "diverged": 0, "expected": False, "status": "unsupported",
            "seconds": 0.0, "nodeid": f"unsupported: engine lacks {', '.join(missing)}", "engine": session.engine.name,
            "engine_version": session.engine.version, "torch_version": session.reference.version})
    pytest.skip(f"{prop}: engine {session.engine.name} does not support it (lacks {', '.join(missing)})")
