"""conformance.compare: one user function on given inputs."""
import numpy as np
import pytest

import conformance
from conformance.records import DIVERGENCE_FIELDS

BROKEN = "tests.conformance.broken_engines"


def tutorial_loss(t, x, w, b, y):
    z = t.matmul(x, w) + b
    return t.nn.functional.binary_cross_entropy_with_logits(z, y)


def test_torch_agrees_with_itself_on_the_tutorial_function():
    inputs = (np.ones(5), np.random.default_rng(0).standard_normal((5, 3)), np.zeros(3), np.zeros(3))
    assert conformance.compare(tutorial_loss, *inputs, engine="torch", requires_grad=[False, True, True, False]) == []


def test_a_broken_vjp_is_reported_with_full_records():
    records = conformance.compare(lambda t, x: t.exp(x).sum(), [[0.5, -1.0]], engine=f"{BROKEN}:exp_vjp_scaled")
    assert [r["property"] for r in records] == ["vjp", "double_backward"]
    assert all(tuple(r) == DIVERGENCE_FIELDS and r["op"] == "<lambda>" for r in records)
    assert records[0]["key"] == "grad[0].value" and records[0]["max_rel_err"] == pytest.approx(0.01)


def test_scalars_integer_inputs_and_bad_arguments():
    assert conformance.compare(lambda t, x, s: x * s, [1, 2], 2.5, engine="torch") == []
    with pytest.raises(TypeError, match="unsupported input dtype"):
        conformance.compare(lambda t, x: x, np.array(["a"]), engine="torch")
    with pytest.raises(ValueError, match="unknown property"):
        conformance.compare(lambda t, x: x, [1.0], engine="torch", properties=["vjpp"])
