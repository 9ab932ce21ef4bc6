"""reports/torch-findings: every script reproduces its divergence on the pinned torch (exits 1 and prints
DIVERGES), so a torch upgrade that fixes one fails here and the finding moves to the README's fixed list. The
scripts run in one subprocess (torch imported once; Dynamo reset between scripts): ~25 s, most of it two aot_eager
compiles. The upstream-issue retries (five inductor compiles, 1-3 min) only with CONFORMANCE_SLOW=1."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FINDINGS = Path(__file__).resolve().parents[2] / "reports" / "torch-findings"
SCRIPTS = sorted(FINDINGS.glob("*.py"))

_RUNNER = r'''
import contextlib, io, json, runpy, sys
import torch._dynamo
results = {}
for path in sys.argv[1:]:
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
    torch._dynamo.reset()
    results[path] = {"code": code, "stdout": out.getvalue()}
print(json.dumps(results))
'''


@pytest.fixture(scope="module")
def outcomes():
    done = subprocess.run([sys.executable, "-c", _RUNNER, *map(str, SCRIPTS)], capture_output=True, text=True,
                          timeout=900, cwd=str(FINDINGS))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_finding_is_listed_in_the_readme():
    readme = (FINDINGS / "README.md").read_text(encoding="utf-8")
    assert SCRIPTS
    assert [s.name for s in SCRIPTS if s.name not in readme] == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.stem)
def test_finding_still_diverges_on_this_torch(script, outcomes):
    result = outcomes[str(script)]
    assert result["code"] == 1, f"{script.name} exits {result['code']} (fixed?):\n{result['stdout']}"
    assert "DIVERGES" in result["stdout"]


@pytest.mark.skipif(not os.environ.get("CONFORMANCE_SLOW"), reason="five inductor compiles, 1-3 min of CPU; "
                    "set CONFORMANCE_SLOW=1 to run")
def test_upstream_cases_do_not_reproduce_on_this_build():
    done = subprocess.run([sys.executable, str(FINDINGS / "upstream" / "upstream_cases.py")], capture_output=True,
                          text=True, timeout=900, cwd=str(FINDINGS))
    assert done.returncode == 0, done.stdout + done.stderr
