"""diff between runs, and reproduce through the standalone snippet."""
from __future__ import annotations

from conformance.report import build, diff, reproduce
from conformance.report.diff import compare, load_side
from tests.report.records import cotangent, divergence, error_divergence, summary, tensor, write_run


def test_diff_new_and_fixed(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    write_run(old, [summary("add", "vjp", "float64", 5, "diverged"), summary("mul", "vjp", "float64", 5, "diverged"),
                    summary("sub", "vjp", "float64", 5, "diverged"), summary("neg", "vjp", "float64", 5, "diverged")],
              [error_divergence("add", "vjp", "float64", divergence_id="keep"),
               error_divergence("mul", "vjp", "float64", divergence_id="gone"),
               error_divergence("sub", "vjp", "float64", divergence_id="unrun"),
               error_divergence("neg", "vjp", "float64", divergence_id="changed")])
    write_run(new, [summary("add", "vjp", "float64", 5, "diverged"), summary("mul", "vjp", "float64", 9, "pass"),
                    summary("div", "vjp", "float64", 5, "diverged"), summary("neg", "vjp", "float64", 5, "diverged")],
              [error_divergence("add", "vjp", "float64", divergence_id="keep"),
               error_divergence("div", "vjp", "float64", divergence_id="fresh"),
               error_divergence("neg", "vjp", "float64", divergence_id="changed2")])
    result = compare(load_side(old), load_side(new))
    assert set(result.new_divergences["divergence_id"]) == {"fresh", "changed2"}
    assert set(result.fixed_divergences["divergence_id"]) == {"gone", "unrun", "changed"}
    assert list(result.persisting["divergence_id"]) == ["keep"]
    assert [tuple(r) for r in result.new_cells.itertuples(index=False)] == [("div", "vjp", "float64")]
    assert [tuple(r) for r in result.fixed_cells.itertuples(index=False)] == [("mul", "vjp", "float64")]
    assert [tuple(r) for r in result.not_rerun.itertuples(index=False)] == [("sub", "vjp", "float64")]
    assert diff(old, new) == 1
    assert "Newly diverging (2)" in capsys.readouterr().out
    assert diff(new, new) == 0
    assert diff(old, tmp_path / "absent") == 2
    # a report directory works as a side too
    build(new, tmp_path / "report", None)
    assert set(compare(load_side(old), load_side(tmp_path / "report")).new_divergences["divergence_id"]) == {
        "fresh", "changed2"}


def test_reproduce_still_diverges_then_fixed(tmp_path, capsys, monkeypatch):
    record = divergence("tests.report.fake_engines:exp_wrong_vjp", "exp", "vjp", lambda t, x: t.exp(x),
                        [tensor([0.5])], {"cotangents": [cotangent([1.0])]})
    fixed = dict(record, divergence_id="f1xed0000000", snippet='print("agrees")\n')  # what a fixed one prints
    write_run(tmp_path, [summary("exp", "vjp", "float64", 3, "diverged")], [record, fixed])
    assert reproduce(record["divergence_id"][:6], tmp_path) == 1
    assert "still diverges" in capsys.readouterr().out
    assert reproduce("f1xed", tmp_path) == 0
    assert "fixed" in capsys.readouterr().out
    assert reproduce("nope", tmp_path) == 2
    assert reproduce("x", tmp_path / "missing") == 2
