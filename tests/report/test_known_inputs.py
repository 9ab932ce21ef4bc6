"""The known-divergence entries' ``inputs`` field: an entry about NaN/inf (or extreme) inputs matches only those."""
from __future__ import annotations

import math

import pytest

from conformance.report import make_report
from conformance.report.known import KnownFileError, input_class, load_known
from conformance.repro import literal
from tests.report.records import error_divergence, summary, tensor, write_run

NAN_ENTRY = '''[[divergence]]
op = "add"
property = "vjp"
inputs = "nonfinite"
reason = "only at NaN inputs"
'''


def record_with(values, dtype="float64", divergence_id="x"):
    """A divergence record of add / vjp whose example input holds ``values`` (written as the harness writes it)."""
    return dict(error_divergence("add", "vjp", dtype, divergence_id=divergence_id),
                inputs=literal([tensor(values, dtype)]))


@pytest.mark.parametrize("values, dtype, expected", [
    ([1.0, -2.5, 0.0], "float64", None),
    ([1.0, math.nan], "float64", "nonfinite"),
    ([-math.inf, 1e-300], "float64", "nonfinite"),
    ([1.0, 1e-300], "float64", "extreme"),  # 1e-300 ** 2 underflows
    ([1e200, 0.0], "float64", "extreme"),
    ([5e-324], "float64", "extreme"),  # subnormal
    ([1e-30], "float64", None),
    ([1e-30], "float32", "extreme"),  # a float32 square underflows below ~1e-19
    ([5e-3, 1.0], "float16", "extreme"),  # below sqrt(6.1e-5)
    ([0.01, 200.0], "float16", None),
])
def test_input_class(values, dtype, expected):
    assert input_class(literal([tensor(values, dtype)])) == expected


def test_input_class_reads_complex_numbers_and_scalars():
    assert input_class(literal([{"kind": "tensor", "data": [complex(1.0, math.inf)], "shape": [1],
                                 "dtype": "complex128", "requires_grad": True}])) == "nonfinite"
    assert input_class(literal([{"kind": "tensor", "data": [complex(1e-320, 1.0)], "shape": [1],
                                 "dtype": "complex128", "requires_grad": True}])) == "extreme"
    assert input_class(literal([tensor([1.0]), {"kind": "scalar", "value": math.nan}])) == "nonfinite"
    assert input_class("not a literal ((") is None and input_class(None) is None
    # a kwarg or a string that says nan is not an input value
    assert input_class("[{'kind': 'tensor', 'data': [1.0], 'dtype': 'float64', 'note': 'nan'}]") is None


def test_an_entry_with_inputs_matches_only_examples_of_that_class(tmp_path):
    known = tmp_path / "known.toml"
    known.write_text(NAN_ENTRY + NAN_ENTRY.replace("nonfinite", "extreme").replace('"add"', '"mul"'),
                     encoding="utf-8")
    nan_entry, extreme_entry = load_known(known)
    assert nan_entry.matches(record_with([math.nan, 1.0]))
    assert not nan_entry.matches(record_with([2.0, 1.0]))
    assert not nan_entry.matches(record_with([1e-300, 1.0]))  # extreme but finite
    assert nan_entry.label() == "#1 op=add property=vjp inputs=nonfinite"
    mul = {"op": "mul"}
    assert extreme_entry.matches(dict(record_with([1e-300, 1.0]), **mul))
    assert extreme_entry.matches(dict(record_with([math.inf]), **mul))  # nonfinite is the narrower class
    assert not extreme_entry.matches(dict(record_with([0.5]), **mul))


def test_report_splits_one_cell_by_the_inputs_field(tmp_path):
    out = tmp_path / "records"
    write_run(out, [summary("add", "vjp", "float64", 10, "diverged"), summary("add", "vjp", "float32", 10, "diverged")],
              [record_with([math.nan], divergence_id="nan1"),
               dict(record_with([3.0], "float32", divergence_id="fin1"), dtype="float32")])
    known = tmp_path / "known.toml"
    known.write_text(NAN_ENTRY, encoding="utf-8")
    report = make_report(out, known)
    assert dict(zip(report.divergences["divergence_id"], report.divergences["known"])) == {"nan1": True,
                                                                                          "fin1": False}


def test_inputs_field_must_name_a_class(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(NAN_ENTRY.replace('"nonfinite"', '"weird"'), encoding="utf-8")
    with pytest.raises(KnownFileError, match="inputs must be one of"):
        load_known(bad)



def test_an_entry_can_name_the_keyword_arguments(tmp_path):
    # linalg.norm's gradient at a rank-deficient input is undefined only for the SVD-based orders ('nuc', ±2)
    path = tmp_path / "known.toml"
    path.write_text('[[divergence]]\nop = "add"\nproperty = "vjp"\n'
                    'kwargs = "*\'ord\': \'nuc\'*"\nreason = "nuc only"\n')
    entry, = load_known(path)
    assert entry.matches(dict(record_with([1.0]), kwargs="{'ord': 'nuc', 'dim': None}"))
    assert not entry.matches(dict(record_with([1.0]), kwargs="{'ord': 'fro'}"))


def test_a_matched_entry_gives_its_verdict_and_the_numerical_one_stays_beside_it(tmp_path):
    # a degenerate eigenspace: the dot-product test names whichever side matches its own central difference
    # ("engine-wrong"), the entry says both bases are valid; the report shows the entry's word
    out = tmp_path / "records"
    reason = "both LAPACK bases are valid"
    write_run(out, [summary("add", "vjp", "float64", 10, "diverged"), summary("mul", "vjp", "float64", 10, "diverged"),
                    summary("sub", "vjp", "float64", 10, "diverged")],
              [error_divergence("add", "vjp", "float64", divergence_id="flagged", expected=reason),
               error_divergence("mul", "vjp", "float64", divergence_id="matched"),
               error_divergence("sub", "vjp", "float64", divergence_id="spec", expected="the spec's own known")])
    known = tmp_path / "known.toml"
    known.write_text(f'[[divergence]]\nop = "add|mul"\nproperty = "vjp"\nverdict = "implementation-dependent"\n'
                     f'reason = "{reason}"\n', encoding="utf-8")
    table = make_report(out, known).divergences.set_index("divergence_id")
    assert table.loc["flagged", "verdict"] == table.loc["matched", "verdict"] == "implementation-dependent"
    assert table.loc["flagged", "known_source"] == table.loc["matched", "known_source"] == "file"
    assert table.loc["spec", "known_source"] == "spec"
    assert (table["numerical_verdict"] == "error-parity").all()  # the records are exception divergences
    assert table.loc["spec", "verdict"] == "error-parity"


def test_an_entry_verdict_must_be_one_of_the_vocabulary(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(NAN_ENTRY + 'verdict = "probably fine"\n', encoding="utf-8")
    with pytest.raises(KnownFileError, match="verdict must be one of"):
        load_known(bad)
