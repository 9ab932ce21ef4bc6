"""The benchmark code paths run and agree on what they compute. No timing is asserted anywhere."""
import json

import pytest

from benchmarks import engines, harness, profile_ops
from benchmarks._common import measure
from conformance.engines import load_engine
from conformance.specs import get_spec


def test_measure_reports_quartiles():
    stats = measure(lambda: None, repeats=3, min_time=0.0, warmup=0)
    assert stats["q1"] <= stats["median"] <= stats["q3"] and stats["iqr"] >= 0 and stats["number"] >= 1


@pytest.mark.parametrize("workload", list(engines.WORKLOADS))
def test_refgrad_and_torch_compute_the_same_workload(workload):
    data = engines.workload_data()
    mine = engines.engine_steps("refgrad", data)[workload]()
    theirs = engines.engine_steps("torch", data)[workload]()
    assert mine == pytest.approx(theirs, rel=1e-9)


def test_other_engines_agree_where_installed():
    for name in ("autograd", "mygrad", "numpy"):
        try:
            steps = engines.engine_steps(name, engines.workload_data())
        except ImportError:
            continue
        reference = engines.engine_steps("torch", engines.workload_data())  # fresh: the MLP step updates weights
        for workload in ("mlp", "chain", "cross_entropy"):
            assert steps[workload]() == pytest.approx(reference[workload](), rel=1e-9), (name, workload)


def test_numpy_floor_computes_torchs_gradients():
    """The hand-written NumPy steps (the compute floor in the table) do the work: their gradients are torch's."""
    import torch
    data, grads = engines.workload_data(), {}
    steps = engines.numpy_steps(data, grads)
    for workload in ("mlp", "chain", "cross_entropy", "conv2d"):
        steps[workload]()
    F = torch.nn.functional

    def leaf(array):
        return torch.tensor(array, requires_grad=True)

    params = [leaf(a) for a in (data.W1, data.b1, data.W2, data.b2)]
    W1, b1, W2, b2 = params
    ((torch.tanh(torch.tensor(data.X) @ W1 + b1) @ W2 + b2 - torch.tensor(data.Y)) ** 2).mean().backward()
    x, logits, image, kernel = (leaf(a) for a in (data.chain, data.logits, data.image, data.kernel))
    y = x
    for _ in range(engines.CHAIN_CYCLES):
        y = torch.sin(torch.tanh(y) * 1.1 + torch.tensor(data.shift))
    y.sum().backward()
    F.cross_entropy(logits, torch.tensor(data.target)).backward()
    F.conv2d(image, kernel).sum().backward()
    expected = {"mlp": [p.grad for p in params], "chain": [x.grad], "cross_entropy": [logits.grad],
                "conv2d": [image.grad, kernel.grad]}
    for workload, tensors in expected.items():
        for mine, theirs in zip(grads[workload], tensors, strict=True):
            assert mine == pytest.approx(theirs.numpy(), rel=1e-9, abs=1e-12), workload


def test_engines_script_writes_json_and_markdown(tmp_path):
    argv = ["--quick", "--workloads", "chain", "--out", str(tmp_path), "--engines"]
    with pytest.raises(ValueError):
        engines.main(argv + ["refgrad,not_an_engine_xyz"])
    assert engines.main(argv + ["refgrad,torch"]) == 0
    results = json.loads((tmp_path / "engines.json").read_text())
    assert set(results["times"]["chain"]) == {"refgrad", "torch"}
    assert "| chain |" in (tmp_path / "engines.md").read_text()


def test_profile_lists_refgrad_functions():
    rows = profile_ops.top_functions(profile_ops.profile_chain(steps=2), steps=2, top=10)
    assert len(rows) == 10 and any("refgrad/" in row["function"] for row in rows)


def test_harness_and_plain_loops_run_the_same_case(tmp_path):
    row = harness.measure_case(load_engine("refgrad"), get_spec("tanh"), "float64", "vjp", seconds=0.05)
    assert row["harness_examples"] > 0 and row["plain_examples"] > 0 and row["plain_disagreements"] == 0
    assert harness.selected_cases(["tanh"], ["vjp", "forward"], ["float64"])
    assert harness.main(["--ops", "tanh", "--seconds", "0.05", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "harness.json").read_text())["overall"]["cases"] == 1


def test_per_property_rates_and_graph_state_machine(tmp_path):
    engine = load_engine("refgrad")
    rows = harness.property_rates(engine, ["exp"], "float64", seconds=0.01)
    assert {row["property"] for row in rows} == set(harness.TRIALS)
    assert all(row["examples"] > 0 and row["examples_per_s"] > 0 for row in rows)
    machine = harness.graph_state_rate(engine, "float64", programs=2)
    assert machine["programs"] >= 1 and machine["steps"] >= 1 and not machine["diverged"]


def test_engines_report_ratios_from_interleaved_rounds():
    results = engines.run(["refgrad", "numpy"], ["chain"], quick=True, rounds=2, log=lambda *_: None)
    stats = results["times"]["chain"]["refgrad"]
    assert stats["rounds"] == 2 and stats["min"] <= stats["median"]
    ratio = engines.ratios(results)["chain"]["numpy"]
    assert ratio["min"] == stats["min"] / results["times"]["chain"]["numpy"]["min"]
    assert any(line.startswith("refgrad/ chain") for line in engines.ratio_lines(results))
