"""Verdicts on concrete divergences, built through the real harness with tiny fake engines."""
from __future__ import annotations

import pytest

from conformance.report.verdict import judge
from tests.report.records import cotangent, divergence, error_divergence, tensor

FAKE = "tests.report.fake_engines:"


def test_wrong_vjp_is_engine_wrong():
    record = divergence(FAKE + "exp_wrong_vjp", "exp", "vjp", lambda t, x: t.exp(x), [tensor([0.5, -1.0])],
                        {"cotangents": [cotangent([1.0, 2.0])]})
    verdict = judge(record)
    assert verdict.verdict == "engine-wrong", verdict
    assert verdict.reproduced and not verdict.kink
    assert verdict.torch_dot == pytest.approx(verdict.numeric, rel=1e-6)


def test_det_of_singular_matrix_is_torch_wrong():
    record = divergence(FAKE + "det_true_gradient", "linalg.det", "vjp", lambda t, a: t.linalg.det(a),
                        [tensor([[2.0, 1.0], [4.0, 2.0]])], {"cotangents": [cotangent(1.5)]})
    verdict = judge(record)
    assert verdict.verdict == "torch-wrong", verdict
    assert verdict.torch_dot == 0.0 and verdict.engine_dot == pytest.approx(verdict.numeric, rel=1e-6)


def test_nan_leaking_through_where_is_torch_wrong():
    record = divergence(FAKE + "where_no_nan", "where_sqrt", "vjp",
                        lambda t, x: t.where(x > 0, t.sqrt(x), t.zeros_like(x)), [tensor([-1.0, 4.0])],
                        {"cotangents": [cotangent([1.0, 1.0])]})
    assert judge(record).verdict == "torch-wrong"


def test_abs_at_zero_is_convention():
    record = divergence(FAKE + "abs_one_at_zero", "abs", "vjp", lambda t, x: t.abs(x), [tensor([0.0, 1.5])],
                        {"cotangents": [cotangent([1.0, 2.0])]})
    verdict = judge(record)
    assert verdict.verdict == "convention", verdict
    assert verdict.kink


def test_tiny_relative_difference_is_tolerance():
    record = divergence(FAKE + "exp_noisy_vjp", "exp", "vjp", lambda t, x: t.exp(x), [tensor([0.5, -1.0])],
                        {"cotangents": [cotangent([1.0, 2.0])]}, tolerances={"float64": (0.0, 0.0)})
    assert record["max_rel_err"] == pytest.approx(1e-9, rel=0.1)
    assert judge(record).verdict == "tolerance"


def test_second_order_wrong_is_engine_wrong():
    record = divergence(FAKE + "exp_wrong_vjp", "exp", "double_backward", lambda t, x: t.exp(x),
                        [tensor([0.3])], {"cotangents": [tensor([1.0])], "second_cotangents": [cotangent([1.0])]})
    assert judge(record).verdict == "engine-wrong"


def test_rules_without_numerics():
    assert judge(error_divergence("add", "errors", "float64")).verdict == "error-parity"
    assert judge(error_divergence("add", "vjp", "float64")).verdict == "error-parity"
    graph = dict(error_divergence("graph_state", "graph_state", "float64"), kind="value", key="x.grad.value")
    assert judge(graph).verdict == "engine-wrong"
    metadata = dict(error_divergence("add", "forward", "float64"), kind="requires_grad", key="out[0].requires_grad")
    assert judge(metadata).verdict == "engine-wrong"
    unknown = dict(error_divergence("no.such.op", "vjp", "float64"), kind="value", snippet="")
    assert judge(unknown).verdict == "undecided"


def test_gradient_where_torch_forward_is_nan_is_undefined_not_torch_wrong():
    # sqrt(-1) is NaN in torch's forward: the function is undefined there, so torch's NaN gradient (the engine
    # gives 0 under a zero cotangent) is not "torch-wrong"
    record = divergence(FAKE + "where_no_nan", "sqrt", "vjp", lambda t, x: t.sqrt(x), [tensor([-1.0, 4.0])],
                        {"cotangents": [cotangent([0.0, 1.0])]})
    verdict = judge(record)
    assert verdict.verdict == "undefined", verdict
    assert "undefined" in verdict.reason and verdict.reproduced


def _complex_record(engine: str, prop: str = "vjp") -> dict:
    import numpy as np

    from conformance.examples import tensor_item

    z = tensor_item(np.array([0.5 + 1.0j, -1.0 + 0.25j]), "complex128", True)
    w = tensor_item(np.array([1.0 - 1.0j, 2.0 + 0.5j]), "complex128", prop == "double_backward")
    extra = {"cotangents": [w]}
    if prop == "double_backward":
        extra["second_cotangents"] = [tensor_item(np.array([0.3 + 0.2j, -1.0 - 0.5j]), "complex128", False)]
    return divergence(FAKE + engine, "exp", prop, lambda t, x: t.exp(x), [z], extra, dtype="complex128")


@pytest.mark.parametrize("prop", ["vjp", "double_backward"])
def test_complex_examples_are_judged_in_both_parts(prop):
    # exp's VJP without the conjugate (g·exp(z) for g·conj(exp(z))) is right for real inputs, wrong for complex
    record = _complex_record("exp_unconjugated", prop)
    verdict = judge(record)
    assert verdict.verdict == "engine-wrong", verdict
    assert verdict.reproduced and not verdict.kink
    assert verdict.torch_dot == pytest.approx(verdict.numeric, rel=1e-6)
    assert verdict.engine_dot != pytest.approx(verdict.numeric, rel=1e-3)
    import torch

    from tests.report.fake_engines import exp_unconjugated

    swapped = judge(record, engine=torch, reference=exp_unconjugated())
    assert swapped.verdict == "torch-wrong", swapped
