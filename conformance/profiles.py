"""Hypothesis profiles for conformance runs, registered in this one place.

``ci`` is derandomized (same examples for the same code, so CI cannot flake); ``dev`` and ``nightly`` explore
randomly and use Hypothesis' example database, so a divergence found once is replayed first next time.
"The same code" includes the literal constants of every local module imported (Hypothesis mixes them into its
data): :func:`conformance.harness.preload_local_modules` imports all of conformance and of the engine before the
first example, so in-process and xdist runs of one commit draw the same examples.
Select with pytest's ``--hypothesis-profile NAME`` or the CLI's ``--profile NAME``. When Hypothesis' own
``default`` profile is active, conformance properties use ``dev``.
"""
from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["PROFILES", "GRAPH_BUDGET", "register"]

#: name -> max_examples per op x property x dtype
#: ``compile``: sized for wrapper engines that compile (conformance.engines.compiled): an example costs a
#: recompile when its rank, dtype, kwargs or float scalars change (~0.1 s aot_eager, 2-20 s inductor)
PROFILES = {"dev": 5, "ci": 10, "nightly": 1000, "compile": 6}

# -- graph state ---------------------------------------------------------------------------------------------
#: name -> (programs per dtype, most rules per program) for the graph-state property, which is one cell per
#: dtype but carries the mission's four graph behaviours. Measured on refgrad (2 shared cores): 55-75 programs
#: (700-900 statements) per CPU-second at up to 20 rules; ``dev`` (1000 valid programs per dtype, ~1250 drawn) costs
#: ~19 CPU-s per dtype, ~38 for both, about 1/6 of a default ``tox -e report`` run (~2 min on 2 workers); ``ci``
#: ~5-6 CPU-s per dtype.
GRAPH_BUDGET = {"dev": (1000, 20), "ci": (300, 20), "nightly": (3000, 40)}


def register() -> None:
    """Register the profiles (idempotent: each derives from Hypothesis' own ``default`` profile, never from the
    active one, so registering again does not stack one more parent per call; a run calls this once per cell and
    a stack ~1000 deep overflowed the recursion limit in Hypothesis' settings lookup)."""
    base = settings.get_profile("default")
    for name, examples in PROFILES.items():
        settings.register_profile(
            name, parent=base, max_examples=examples, deadline=None, print_blob=True, report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
            stateful_step_count=50 if name == "nightly" else 20,
            derandomize=name == "ci")  # CI must be reproducible: the same commit explores the same examples


register()
