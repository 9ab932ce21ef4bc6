"""Input layouts (programs.make_input) and the layout observable (programs.layout) of the forward property."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import refgrad
from conformance import programs
from conformance.examples import draw_inputs
from conformance.specs import get_spec

torch = pytest.importorskip("torch")

ITEMS = [
    {"kind": "tensor", "data": [[1.0, 2.0, 3.0], [4.0, float("nan"), 6.0]], "shape": [2, 3], "dtype": "float32"},
    {"kind": "tensor", "data": [[[1 + 2j, 3j]], [[4, -1j]]], "shape": [2, 1, 2], "dtype": "complex128"},
    {"kind": "tensor", "data": [[True, False], [False, True]], "shape": [2, 2], "dtype": "bool"},
    {"kind": "tensor", "data": [5, -6, 7], "shape": [3], "dtype": "int64"},
]


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
@pytest.mark.parametrize("index", range(len(ITEMS)))
@pytest.mark.parametrize("requires_grad", [False, True])
def test_a_laid_out_input_is_the_same_leaf_on_both_modules(layout, index, requires_grad):
    item = dict(ITEMS[index], layout=layout, requires_grad=requires_grad and ITEMS[index]["dtype"] == "float32")
    built = {m.__name__: programs.make_input(m, item) for m in (torch, refgrad)}
    for x in built.values():
        assert x.is_leaf and not x._is_view() and x.requires_grad == item["requires_grad"]
        assert x.shape == tuple(item["shape"]) and not x.is_contiguous() or x.dim() < 2 and layout == "transposed"
    assert built["torch"].stride() == built["refgrad"].stride()
    np.testing.assert_array_equal(built["torch"].detach().numpy(), built["refgrad"].detach().numpy())
    assert built["torch"].detach().numpy().tolist() == torch.tensor(item["data"]).numpy().tolist() or \
        index == 0  # (NaN != NaN)


def test_the_layout_observable_ignores_sizes_of_one_and_empty_tensors():
    assert programs.layout(torch.empty(3, 1, 4)) == "(4, None, 1) contiguous"
    assert programs.layout(torch.empty(4, 3).t()) == "(1, 3) non-contiguous"
    assert programs.layout(torch.empty(0, 3).t()) == "empty"
    assert programs.layout(torch.empty(3, 1, 4).as_strided((3, 1, 4), (4, 99, 1))) == "(4, None, 1) contiguous"


def test_inputs_are_mostly_contiguous_and_sometimes_not(monkeypatch):
    import conformance.examples

    monkeypatch.setattr(conformance.examples, "DRAW_LAYOUTS", True)  # (CONFORMANCE_LAYOUTS=1, as tox -e tests sets it)
    seen = []

    @settings(max_examples=300, database=None, derandomize=True, deadline=None)
    @given(st.data())
    def draw(data):
        inputs, _ = draw_inputs(data, get_spec("add"), "float64")
        seen.extend(item.get("layout", "contiguous") for item in inputs if item["kind"] == "tensor")

    draw()
    counts = {name: seen.count(name) for name in ("contiguous", "transposed", "sliced")}
    assert counts["transposed"] and counts["sliced"] and counts["contiguous"] > 4 * (len(seen) - counts["contiguous"])


def test_a_known_entry_can_match_the_input_layouts():
    from conformance.report.known import KnownEntry, input_layouts
    record = {"op": "native_batch_norm", "property": "double_backward", "inputs": str([
        {"kind": "tensor", "data": [1.0], "shape": [1], "dtype": "float64", "requires_grad": True},
        {"kind": "tensor", "data": [1.0, 2.0], "shape": [2], "dtype": "float64", "requires_grad": True,
         "layout": "sliced"}, {"kind": "scalar", "value": 2}])}
    assert input_layouts(record) == "contiguous,sliced"
    entry = KnownEntry(patterns=(("op", "native_batch_norm"), ("property", "*"), ("layout", "*sliced*")), reason="r")
    assert entry.matches(record)
    assert not entry.matches(dict(record, inputs=record["inputs"].replace("'sliced'", "'transposed'")))
