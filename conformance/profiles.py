"""Hypothesis profiles for conformance runs, registered in this one place.

``ci`` is derandomized (same examples for the same test code, so CI cannot flake); ``dev`` and ``nightly``
explore randomly and use Hypothesis' example database, so a divergence found once is replayed first next time.
Derandomized runs also draw without Hypothesis' pool of local-module constants (:func:`pin_constant_pool`), so
their examples do not depend on what a process imported before a test, nor on edits to unrelated modules.
Select with pytest's ``--hypothesis-profile NAME`` or the CLI's ``--profile NAME``. When Hypothesis' own
``default`` profile is active, conformance properties use ``dev``.

The active profile is process-wide state that any import can change: ``torch.testing._internal.common_utils``
(imported with torch's ``op_db`` by :mod:`conformance.coverage`) registers a profile of its own called ``dev`` and
loads it. :func:`preserved` keeps the registry and the active profile across such a block, and the pytest plugin
restores the session's profile after any test that changed it (:func:`active`, :func:`restore`).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

__all__ = ["PROFILES", "GRAPH_BUDGET", "PROPERTY_SHARE", "examples_for", "register", "pin_constant_pool",
           "ActiveProfile", "active", "restore", "preserved"]

#: name -> max_examples per op x property x dtype
#: ``compile``: sized for wrapper engines that compile (conformance.engines.compiled): an example costs a
#: recompile when its rank, dtype, kwargs or float scalars change (~0.1 s aot_eager, 2-20 s inductor)
PROFILES = {"dev": 5, "ci": 10, "nightly": 1000, "compile": 6}

#: property -> examples per cell as a share of the profile's (at least 1; ``--max-examples`` overrides it).
#: Measured (ci profile, 2 xdist workers on the 2 shared cores at load ~12, 2026-12-06): a passing jvp cell took
#: 0.59 s at 10 examples, a func cell 0.54 s at 3; the full budgets cost ~11 min of wall time for the two
#: properties. ``jvp`` (a forward-mode pass and a reverse pass per example) keeps 3 of ci's 10 examples; ``func``
#: (jacrev, jacfwd, a Hessian and vmap on both sides; refgrad's Jacobians loop over the elements) keeps 1, and
#: runs float64 only: ``pytest -n 2 --hypothesis-profile ci`` of both files then took 3 min 57 s of wall time at
#: that load (18 min 8 s before), 69 CPU-s (5 min 5 s before).
PROPERTY_SHARE = {"jvp": 0.3, "func": 0.1}


def examples_for(prop: str, profile_examples: int) -> int:
    """The examples per cell of property ``prop`` under a profile with ``profile_examples``."""
    return max(1, round(profile_examples * PROPERTY_SHARE.get(prop, 1.0)))


# -- graph state ---------------------------------------------------------------------------------------------
#: name -> (programs per dtype, most rules per program) for the graph-state property, which is one cell per
#: dtype but carries the mission's four graph behaviours. Measured on refgrad (2 shared cores): 55-75 programs
#: (700-900 statements) per CPU-second at up to 20 rules; ``dev`` (1000 valid programs per dtype, ~1250 drawn) costs
#: ~19 CPU-s per dtype, ~38 for both, about 1/6 of a default ``tox -e report`` run (~2 min on 2 workers); ``ci``
#: ~5-6 CPU-s per dtype.
GRAPH_BUDGET = {"dev": (1000, 20), "ci": (300, 20), "nightly": (3000, 40)}


def _build() -> dict[str, settings]:
    # each derives from Hypothesis' own ``default`` profile, never from the active one
    base = settings.get_profile("default")
    return {name: settings(
        parent=base, max_examples=examples, deadline=None, print_blob=True, report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        stateful_step_count=50 if name == "nightly" else 20,
        derandomize=name == "ci")  # CI must be reproducible: the same commit explores the same examples
        for name, examples in PROFILES.items()}


_SETTINGS = _build()


def register() -> None:
    """Register the profiles: idempotent, the same settings objects every time (a run calls this once per cell;
    deriving each call from the active profile had stacked ~1000 parents and overflowed the recursion limit in
    Hypothesis' settings lookup). A name that someone else registered over one of ours gets ours back."""
    for name, profile in _SETTINGS.items():
        try:
            registered = settings.get_profile(name)
        except InvalidArgument:
            registered = None
        if registered is not profile:
            settings.register_profile(name, profile)  # (no keyword arguments: stores ``profile`` itself)


@dataclass(frozen=True)
class ActiveProfile:
    """The active Hypothesis profile: its name and the settings object it stood for."""

    name: str
    settings: settings


def active() -> ActiveProfile:
    """The active Hypothesis profile now."""
    return ActiveProfile(settings.get_current_profile_name(), settings.default)


def restore(expected: ActiveProfile) -> ActiveProfile | None:
    """Make ``expected`` the active profile again, and our profiles the registered ones; the profile that was
    active instead (None when ``expected`` still was). Hypothesis re-loads a profile when its name is registered
    again, so ``torch.testing._internal``'s ``dev`` replaced the active ``ci``, and registering our ``dev`` again
    (every cell did) then made every later cell of the process draw random examples."""
    now = active()
    register()
    if settings.get_profile(expected.name) is not expected.settings:
        settings.register_profile(expected.name, expected.settings)
    settings.load_profile(expected.name)
    return None if now.name == expected.name and now.settings is expected.settings else now


@contextlib.contextmanager
def preserved() -> Iterator[None]:
    """Run a block that may register or load Hypothesis profiles (``torch.testing._internal.common_utils``
    does on import) without changing the active profile or ours."""
    before = active()
    try:
        yield
    finally:
        restore(before)


register()


def pin_constant_pool() -> None:
    """Make Hypothesis draw no literal constants of local modules in this process (derandomized runs call it).

    Hypothesis 6.1xx mixes the literal constants of every *local* module in ``sys.modules`` (source files outside
    site-packages and the stdlib, test files aside) into generated data, and rescans whenever ``sys.modules``
    grows. So a derandomized example depended on what the process had imported before it: lazily imported
    refgrad modules, ``benchmarks``, and the code torch.compile's inductor writes to /tmp and imports, all of which
    depend on xdist's scheduling. Two fresh-clone CI runs of one commit failed on different cells that way, and
    every edit to any module moved every example. Importing everything up front fixed in-process vs xdist but not
    the generated modules nor the edits; an empty pool fixes both. Hypothesis' own global constants (0, 1, inf,
    nan, subnormal boundaries, ...) still come up. Random profiles (dev, nightly) keep the local pool: there,
    variety is the point. This replaces a private Hypothesis function (its version is pinned in constraints.txt);
    tests/conformance/test_determinism.py fails if a Hypothesis update changes the mechanism.
    """
    from hypothesis.internal.conjecture import providers

    current = getattr(providers, "_get_local_constants", None)
    if current is None:
        raise RuntimeError("this Hypothesis version has no local-constant pool hook: update "
                           "conformance.profiles.pin_constant_pool for it")
    if getattr(current, "pinned_by_conformance", False):
        return
    empty = providers.Constants()

    def no_local_constants():
        return empty

    no_local_constants.pinned_by_conformance = True
    providers._get_local_constants = no_local_constants
    providers.CONSTANTS_CACHE.cache.clear()
