"""What the surveys (``survey_layouts``, ``survey_grad_fn``) share: a derandomized search that stops at its first
finding, and their rows written as JSON lines as they come."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


class _Found(Exception):
    pass


def first_finding(attempts: int, body) -> None:
    """Run ``body(data)`` on up to ``attempts`` derandomized draws, stopping at the first that returns True."""
    @settings(max_examples=attempts, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def trial(data):
        if body(data):
            raise _Found

    try:
        trial()
    except _Found:
        pass


def collect(rows, path: str | None) -> list[dict]:
    """The rows of a survey as a list, each also written to ``path`` (JSON lines) as soon as it comes."""
    kept = []
    out = open(path, "w") if path else None
    try:
        for row in rows:
            kept.append(row)
            if out:
                out.write(json.dumps(row, default=str) + "\n")
                out.flush()
    finally:
        if out:
            out.close()
    return kept
