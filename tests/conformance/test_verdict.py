"""Unit tests of the comparison rules (conformance.verdict)."""
import numpy as np
import pytest

from conformance.verdict import compare_arrays, compare_errors, compare_outcomes

F64 = (1e-7, 1e-7)


def error(message="boom", base="RuntimeError", step="forward", type_name=None):
    return {"type": type_name or f"builtins.{base}", "base": base, "message": message, "step": step}


@pytest.mark.parametrize(("reference", "candidate"), [
    ([1.0, np.nan, np.inf, -np.inf], [1.0, np.nan, np.inf, -np.inf]),
    ([1.0], [1.0 + 1e-8]),  # inside atol + rtol * |ref|
    ([0.0], [-0.0]),  # assert_close does not distinguish signed zeros
    ([], []),
])
def test_arrays_that_agree(reference, candidate):
    assert compare_arrays(np.array(reference), np.array(candidate), *F64) is None


@pytest.mark.parametrize(("reference", "candidate"), [
    ([1.0], [1.0 + 1e-6]),
    ([np.nan], [0.0]),
    ([np.inf], [-np.inf]),
    ([np.inf], [1e308]),
    ([1.0, 2.0], [1.0]),  # shape
])
def test_arrays_that_differ(reference, candidate):
    assert compare_arrays(np.array(reference), np.array(candidate), *F64) is not None


def test_complex_values_compare_by_the_modulus_of_the_difference():
    # torch.testing.assert_close passes pow.complex's complex64 value 867.1992+0.19922j against torch's
    # 867.1992+0.19924j (|diff| 2e-5 <= 1e-5 + 1.3e-6 * 867); part by part the imaginary part alone would fail
    reference, candidate = np.array([867.1992 + 0.19924j]), np.array([867.1992 + 0.19922j])
    assert compare_arrays(reference, candidate, 1.3e-6, 1e-5) is None
    assert compare_arrays(reference, np.array([867.1992 + 0.202j]), 1.3e-6, 1e-5) is not None
    assert compare_arrays(np.array([complex(np.nan, 1.0)]), np.array([complex(1.0, np.nan)]), *F64) is None
    assert compare_arrays(np.array([complex(np.inf, 1.0)]), np.array([complex(np.inf, 2.0)]), *F64) is not None
    # a value with an infinite part compares part by part (its modulus difference is NaN): sum.complex's complex64
    # 1.5+infj against torch's 1.5000001+infj (ci, a float32 summation order) agree
    assert compare_arrays(np.array([complex(1.5000001, np.inf)]), np.array([complex(1.5, np.inf)]), *F64) is None
    assert compare_arrays(np.array([complex(1.5, np.inf)]), np.array([complex(2.5, np.inf)]), *F64) is not None


def test_errors_of_a_value_mismatch_are_reported():
    max_abs, max_rel = compare_arrays(np.array([2.0, 4.0]), np.array([2.0, 4.4]), *F64)
    assert max_abs == pytest.approx(0.4) and max_rel == pytest.approx(0.1)


def test_norm_relative_tolerance_scales_with_the_largest_entry():
    # ntol: |diff| <= atol + ntol * max|reference| + rtol * |reference| (eigensolver outputs, rounded at their norm)
    reference, candidate = np.array([4923.0, 1.5006]), np.array([4923.0, 1.4999994])
    assert compare_arrays(reference, candidate, 1e-4, 1e-4) is not None
    assert compare_arrays(reference, candidate, 1e-4, 1e-4, 3e-5) is None
    assert compare_arrays(reference, np.array([4923.0, 1.7]), 1e-4, 1e-4, 3e-5) is not None
    got = {"error": None, "obs": {"g": candidate.astype(np.float32)}}
    ref = {"error": None, "obs": {"g": reference.astype(np.float32)}}
    assert compare_outcomes(ref, got, {"float32": (1e-4, 1e-4, 3e-5)}) == []


def test_integers_compare_exactly():
    assert compare_arrays(np.array([3]), np.array([3]), 0.5, 0.5) is None
    assert compare_arrays(np.array([3]), np.array([4]), 0.5, 0.5) is not None


def test_exception_status_type_and_step():
    assert compare_errors(None, None) is None
    assert compare_errors(error(), None)["kind"] == "status"
    assert compare_errors(None, error())["kind"] == "status"
    assert compare_errors(error(step="forward"), error(step="backward"))["kind"] == "status"
    assert compare_errors(error(), error(base="ValueError"))["kind"] == "exception_type"
    # a subclass of the same builtin (an engine's own RuntimeError subclass) is fine
    assert compare_errors(error(), error(type_name="refgrad.EngineError")) is None
    # non-autograd messages are free-form
    assert compare_errors(error("shapes (2,) and (3,)"), error("size mismatch")) is None


def test_autograd_messages_must_match_with_their_groups():
    twice = ("Trying to backward through the graph a second time (or directly access saved tensors after they "
             "have already been freed). Saved intermediate values ...")
    assert compare_errors(error(twice), error(twice[:60])) is None
    assert compare_errors(error(twice), error("graph freed"))["kind"] == "message"
    unused = "The differentiated Tensor at index {} appears to not have been used in the graph."
    assert compare_errors(error(unused.format(1)), error(unused.format(1))) is None
    assert compare_errors(error(unused.format(1)), error(unused.format(0)))["kind"] == "message"


def test_outcomes_report_each_observable():
    reference = {"obs": {"out[0].dtype": "torch.float32", "out[0].value": np.array([1.0], np.float32),
                         "x0.grad": None}, "error": None}
    candidate = {"obs": {"out[0].dtype": "torch.float64", "out[0].value": np.array([1.5]),
                         "x0.grad.value": np.array([1.0])}, "error": None}
    kinds = {m["key"]: m["kind"] for m in compare_outcomes(reference, candidate, {"float32": (1e-5, 1e-5)})}
    assert kinds == {"out[0].dtype": "dtype", "out[0].value": "value", "x0.grad": "missing",
                     "x0.grad.value": "missing"}


def test_missing_observables_are_not_repeated_after_a_status_mismatch():
    reference = {"obs": {"out[0].value": np.array([1.0])}, "error": None}
    candidate = {"obs": {}, "error": error()}
    assert [m["kind"] for m in compare_outcomes(reference, candidate, {})] == ["status"]
