"""torch, with every function under test run through ``torch.compile`` (forward and the compiled backward).

    python -m conformance run --engine conformance.engines.compiled:aot_eager --profile compile
    python -m conformance run --engine conformance.engines.compiled:inductor --profile compile --timeout 300

``aot_eager`` traces forward and backward with AOTAutograd and runs the traced graphs eagerly (the graph
capture and decompositions under test, no code generation); ``inductor`` also generates C++ kernels (gcc). Shapes
are dynamic (``dynamic=True``), so a new size of the same rank reuses the compiled graph; kwargs, ranks, dtypes
and float scalars are specialized and recompile. The recompile limit is raised, and hitting it fails the example
instead of silently falling back to eager (which would test nothing). Inductor's on-disk FX-graph cache
(``$TORCHINDUCTOR_CACHE_DIR``, default ``/tmp/torchinductor_$USER``) makes a rerun of the same examples cheap.

Not run: ``double_backward`` (AOTAutograd raises "torch.compile with aot_autograd does not currently support
double backward", a documented limitation, not a divergence to rediscover per op) and ``graph_state`` (its
programs are statements, not a function to compile). grad_fn names are not compared: a compiled graph's
outputs have ``CompiledFunctionBackward`` by design.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import torch
import torch._dynamo.config

from conformance.engines.wrapper import Wrapper

__all__ = ["Compiled", "aot_eager", "inductor", "configure"]

RECOMPILE_LIMIT = 256


def configure() -> None:
    """Dynamo settings for fuzzing: many recompiles per code object allowed, never a silent eager fallback."""
    torch._dynamo.config.recompile_limit = RECOMPILE_LIMIT
    torch._dynamo.config.accumulated_recompile_limit = 64 * RECOMPILE_LIMIT
    torch._dynamo.config.fail_on_recompile_limit_hit = True
    torch._dynamo.config.suppress_errors = False
    logging.getLogger("torch.__trace").propagate = False  # structured-trace DEBUG lines flooding pytest's output


class Compiled(Wrapper):
    """``torch.compile(fn, backend=backend, dynamic=True)`` for every spec function."""

    ignored = (".grad_fn",)
    skipped = {
        "double_backward": "torch.compile with aot_autograd does not support double backward (documented)",
        "graph_state": "graph-state programs are statements run by exec, not a function to compile",
    }

    def __init__(self, backend: str, dynamic: bool = True) -> None:
        super().__init__()
        self.backend = backend
        self.dynamic = dynamic
        configure()

    def transform(self, fn: Callable) -> Callable:
        return torch.compile(fn, backend=self.backend, dynamic=self.dynamic)

    def version(self) -> str:
        return f"{torch.__version__} (torch.compile backend={self.backend}, dynamic={self.dynamic})"


def aot_eager() -> Compiled:
    """AOTAutograd graphs run eagerly."""
    return Compiled("aot_eager")


def inductor() -> Compiled:
    """Inductor's generated CPU kernels."""
    return Compiled("inductor")
