"""The CLI's progress display: cells done, divergences so far and an ETA (a tqdm bar on a terminal, a status
line every 30 s in a log), and each divergence printed the moment it is found (before Hypothesis shrinks it).

A pytest plugin object registered by ``python -m conformance run`` in the controlling process. It counts the
cells (op x property x dtype items) from the run's reports, which xdist forwards to the controller, and polls
the run's ``pending.jsonl`` (written by whichever process finds a divergence, see :mod:`conformance.records`)
every half second, so the first divergence shows within seconds of being found even on an xdist worker.
pytest's own per-test letters are silenced while it is active; its failure summary stays.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.records import DIVERGENCES, PENDING, read_jsonl

__all__ = ["Progress"]


class Progress:
    """pytest plugin: a tqdm bar over the selected cells and a line per divergence found."""

    def __init__(self, out: Path, run_id: str, stream: Any = None, poll_seconds: float = 0.5,
                 known: tuple = (), line_seconds: float = 30.0) -> None:
        self.out, self.run_id, self.poll_seconds, self.known_entries = Path(out), run_id, poll_seconds, known
        # a duplicate of the process's stderr: pytest captures fd 2 while a test runs, and this writes meanwhile
        self.stream = stream if stream is not None else os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
        self.bar = None
        self.line_seconds = line_seconds
        self._started = self._last_line = 0.0
        self.total: int | None = None
        self.done = self.diverged = self.known = self.errors = 0
        self.found = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- pytest hooks -------------------------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list) -> None:
        if self.total is None:
            self._start(len(items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list) -> None:
        if self.total is None:  # every worker collects the same items
            self._start(len(ids))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_report_teststatus(self, report: Any, config: Any):
        outcome = yield
        category, _letter, _word = outcome.get_result()
        outcome.force_result((category, "", ""))  # no dots: the bar says it

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or (report.when == "setup" and not report.passed):
            with self._lock:
                self.done += 1
                if hasattr(report, "wasxfail"):
                    self.known += 1
                elif report.failed:
                    divergence = "Divergence" in (report.longreprtext or "")
                    self.diverged += divergence
                    self.errors += not divergence
                    if not divergence:  # a harness error: its traceback (pytest's is off with the display)
                        self._write(f"ERROR {report.nodeid}:\n{(report.longreprtext or '').strip()}")
                self._update(1)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._poll()
        if self.bar is not None:
            self._update(0)
            self.bar.close()
        elif self.total is not None:  # the last line, after the last poll (and where an early stop ended)
            self._update(0, final=True)

    # -- internals ----------------------------------------------------------------------------------------------
    def _start(self, total: int) -> None:
        self.total = total
        self._started = time.monotonic()
        self._last_line = self._started
        if hasattr(self.stream, "isatty") and self.stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="cell", file=self.stream, dynamic_ncols=True, smoothing=0.1,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} cells [{elapsed}<{remaining}]{postfix}")
        self._update(0)
        self._thread = threading.Thread(target=self._watch, name="conformance-progress", daemon=True)
        self._thread.start()

    def _status(self) -> str:
        text = f"{self.found} divergence(s) found, {self.diverged} unexpected cell(s), {self.known} known"
        return text + (f", {self.errors} error(s)" if self.errors else "")

    def _update(self, step: int, final: bool = False) -> None:
        """Advance the bar (a terminal), or print a status line every ``line_seconds`` and at the end (a log)."""
        if self.bar is not None:
            self.bar.set_postfix_str(self._status(), refresh=False)
            self.bar.update(step)
            return
        now = time.monotonic()
        if self.total is not None and (now - self._last_line >= self.line_seconds or final):
            self._last_line = now
            elapsed = now - self._started
            eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
            print(f"progress: {self.done}/{self.total} cells, {self._status()}, {elapsed:.0f} s elapsed, "
                  f"ETA {eta:.0f} s", file=self.stream, flush=True)

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self._poll()
            with self._lock:
                self._update(0)

    def _poll(self) -> None:
        try:  # the first example of each divergence, and the shrunk ones (a pending line is pruned at the end)
            records = read_jsonl(self.out / PENDING) + read_jsonl(self.out / DIVERGENCES)
        except (OSError, ValueError):  # a line being written: next poll
            return
        with self._lock:
            for record in records:
                nodeid = record.get("nodeid") or record.get("divergence_id", "")
                if record.get("run_id") != self.run_id or nodeid in self._seen:
                    continue
                self._seen.add(nodeid)
                self.found += 1
                known = record.get("expected") or any(entry.matches(record) for entry in self.known_entries)
                flag = " (known)" if known else ""
                state = "shrunk" if record.get("shrunk") else "shrinking"
                self._write(f"divergence {self.found}{flag}: {record['op']} / {record['property']} / "
                            f"{record['dtype']}: {record['kind']} at {record['key']} ({state})")
                self._update(0)
