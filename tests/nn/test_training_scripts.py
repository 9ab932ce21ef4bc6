"""Training scripts written for torch (tests/nn/scripts/) run unchanged with ``torch`` resolving to refgrad and
print exactly what they print with torch (losses to 10-12 digits, accuracies, reprs, the checkpoint)."""
import contextlib
import io
import sys
from pathlib import Path

import pytest

import refgrad

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.py"))
_ALIASES = {"torch": "", "torch.nn": ".nn", "torch.nn.functional": ".nn.functional", "torch.optim": ".optim",
            "torch.optim.lr_scheduler": ".optim.lr_scheduler"}


def run_script(path: Path, engine: str) -> str:
    """The script's stdout, with ``import torch...`` giving ``engine``'s modules."""
    saved = {name: sys.modules.get(name) for name in _ALIASES}
    if engine == "refgrad":
        for name, suffix in _ALIASES.items():
            sys.modules[name] = sys.modules["refgrad" + suffix]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(path.read_text(), str(path), "exec"), {"__name__": "__main__"})
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return out.getvalue()


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_script_prints_what_torch_prints(script):
    pytest.importorskip("torch")
    expected = run_script(script, "torch")
    assert refgrad.__name__ == "refgrad"
    assert run_script(script, "refgrad") == expected
