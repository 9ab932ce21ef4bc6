"""A known entry's ``rate``: a rare divergence reads as possibly fixed only when missing it was improbable.

The numbers are the graph-state float32 cell of a dev run (1236 examples drawn) and entry #77's measured rate
order (3e-4): a dev run misses it with probability 0.69, so it stays inconclusive; 20,000 examples miss it with
probability 0.0025 and it reads as fixed. An entry without a rate keeps the 200-example rule. Cost: ~10 ms.
"""
from __future__ import annotations

import pandas as pd
import pytest

from conformance.report.known import (
    STALE_MISS_PROBABILITY,
    KnownFileError,
    load_known,
    stale_entries,
    stale_line,
)

ENTRY = '[[divergence]]\nop = "graph_state"\nproperty = "graph_state"\ndtype = "float32"\nreason = "rare"\n'


def _cells(examples: int) -> pd.DataFrame:
    return pd.DataFrame([{"op": "graph_state", "property": "graph_state", "dtype": "float32",
                          "examples": examples},
                         {"op": "graph_state", "property": "graph_state", "dtype": "float64", "examples": 10**6}])


def _stale(tmp_path, text: str, examples: int, min_examples: int = 200) -> dict:
    path = tmp_path / "known.toml"
    path.write_text(text, encoding="utf-8")
    [stale] = stale_entries(load_known(path), pd.DataFrame(), _cells(examples), min_examples)
    return stale


def test_a_rare_entry_is_inconclusive_until_a_miss_is_improbable(tmp_path):
    rare = ENTRY + "rate = 3e-4\n"
    dev = _stale(tmp_path, rare, 1236)
    assert dev["status"] == "inconclusive" and dev["p_miss"] == pytest.approx((1 - 3e-4) ** 1236, rel=1e-3)
    assert dev["p_miss"] > 0.5
    long = _stale(tmp_path, rare, 20_000)
    assert long["status"] == "fixed" and long["p_miss"] < STALE_MISS_PROBABILITY
    # the threshold: ln(0.01) / ln(1 - 3e-4) = 15,348.8 examples
    assert _stale(tmp_path, rare, 15_348)["status"] == "inconclusive"
    assert _stale(tmp_path, rare, 15_349)["status"] == "fixed"
    # the rate decides whatever the profile's minimum (nightly: 0)
    assert _stale(tmp_path, rare, 1236, min_examples=0)["status"] == "inconclusive"
    assert "P < 1%" in stale_line([long], 200)


def test_an_entry_without_a_rate_keeps_the_example_minimum(tmp_path):
    stale = _stale(tmp_path, ENTRY, 1236)
    assert stale["status"] == "fixed" and stale["p_miss"] is None
    assert _stale(tmp_path, ENTRY, 199)["status"] == "inconclusive"
    assert "P <" not in stale_line([stale], 200)


@pytest.mark.parametrize("rate", ["0", "1.5", '"1/3000"', "true", "-1e-4"])
def test_a_rate_must_be_a_share(tmp_path, rate):
    path = tmp_path / "known.toml"
    path.write_text(ENTRY + f"rate = {rate}\n", encoding="utf-8")
    with pytest.raises(KnownFileError, match="rate must be a number in"):
        load_known(path)


def test_the_project_file_loads_with_its_rates():
    entries = load_known("reports/known_divergences.toml")
    rated = {entry.index: entry.rate for entry in entries if entry.rate}
    assert set(rated) >= {67, 77} and all(0 < rate < 0.01 for rate in rated.values())
