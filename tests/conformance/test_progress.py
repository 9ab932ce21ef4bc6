"""The progress display's last status line counts every divergence, those found after the last cell finished
included (its final poll of the records comes first). ~0.1 s."""
from __future__ import annotations

import io
import json
from types import SimpleNamespace

from conformance.progress import Progress
from conformance.records import PENDING


def test_the_last_status_line_comes_after_the_last_poll(tmp_path):
    stream = io.StringIO()
    progress = Progress(tmp_path, "run1", stream=stream, poll_seconds=60.0, line_seconds=3600.0)
    progress._start(2)
    for name in ("a", "b"):
        report = SimpleNamespace(when="call", passed=False, failed=True, nodeid=name,
                                 longreprtext="Divergence: value at grad[0]")
        progress.pytest_runtest_logreport(report)
    # both records land after the last cell reported (the watcher thread has not polled them yet)
    with (tmp_path / PENDING).open("w", encoding="utf-8") as handle:
        for name in ("a", "b"):
            handle.write(json.dumps({"run_id": "run1", "nodeid": name, "op": name, "property": "vjp",
                                     "dtype": "float64", "kind": "value", "key": "grad[0]"}) + "\n")
    progress.pytest_sessionfinish()
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("progress: 2/2 cells, 2 divergence(s) found, 2 unexpected cell(s)"), lines
    assert sum(line.startswith("divergence ") for line in lines) == 2
