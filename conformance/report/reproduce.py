"""Re-running one divergence from its record: the standalone snippet, in a fresh Python process."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["run_snippet", "SnippetResult"]


class SnippetResult:
    """Outcome of running a snippet: ``diverges`` (True/False, None when the script crashed), its output."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        said = stdout.strip().splitlines()[-1:] if stdout.strip() else []
        if returncode == 0 and said == ["agrees"]:
            self.diverges: bool | None = False
        elif returncode == 1 and said == ["DIVERGES"]:
            self.diverges = True
        else:
            self.diverges = None


def run_snippet(snippet: str, timeout: float = 300.0, cwd: str | os.PathLike | None = None) -> SnippetResult:
    """Run ``snippet`` with this interpreter (the current directory on PYTHONPATH, so engines importable from
    here import there too)."""
    env = dict(os.environ)
    here = str(Path(cwd or os.getcwd()).resolve())
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "reproducer.py"
        script.write_text(snippet, encoding="utf-8")
        try:
            done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout,
                                  env=env, cwd=here)
        except subprocess.TimeoutExpired:
            return SnippetResult(-1, "", f"reproducer timed out after {timeout:g} s")
    return SnippetResult(done.returncode, done.stdout, done.stderr)
