"""The two sides of a graph-state program (conformance.graph_machine): one module's namespace executed in its own
thread (:class:`Side`, torch's grad mode is thread-local), and the float64 replay of a program on torch
(:class:`Widened`, with :mod:`conformance.arbitrate`'s rule)."""
from __future__ import annotations

import concurrent.futures
import warnings
from typing import Any

from conformance import programs
from conformance.arbitrate import widen_statement

__all__ = ["Side", "Widened"]


class Side:
    """One module's namespace, executed in a dedicated thread."""

    def __init__(self, module: Any, ops: dict[str, Any], wrap: Any = None) -> None:
        self.module = module
        #: the module's tensors have ``_is_zerotensor()``: else no side's ``.zerotensor`` observables are compared
        #: (:func:`conformance.programs.without_zerotensor`)
        self.zerotensor = hasattr(module.Tensor, "_is_zerotensor")
        wrap = wrap or (lambda fn: fn)  # a wrapper engine's ops go through its wrap() (conformance.engines)
        self.namespace: dict[str, Any] = {"t": module, "calls": [], "nan": float("nan"), "inf": float("inf"),
                                          **{name: wrap(spec.fn) for name, spec in ops.items()}}
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def _step(self, statement: str, names: list[str]) -> dict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            error = programs.run_statement(self.namespace, statement)
            return {"obs": programs.observe_namespace(self.module, self.namespace, names), "error": error}

    def step(self, statement: str, names: list[str], timeout: float) -> dict:
        """Run ``statement`` and observe ``names``; a timeout becomes the outcome's error."""
        future = self.pool.submit(self._step, statement, names)
        try:
            return future.result(timeout=timeout if timeout > 0 else None)
        except concurrent.futures.TimeoutError:
            return {"obs": {}, "error": {"type": "ExampleTimeout", "base": "Exception", "step": None,
                                         "message": f"statement exceeded the {timeout:g} s time limit"}}

    def close(self, statements: list[str]) -> None:
        """Run clean-up statements (ignoring errors) and stop the thread."""
        try:
            for statement in statements:
                self.pool.submit(programs.run_statement, self.namespace, statement).result(timeout=10)
        except concurrent.futures.TimeoutError:
            pass  # the side's thread hangs (already reported as a timeout); abandon it
        self.pool.shutdown(wait=False)


class Widened:
    """The float64 replay of a program (:mod:`conformance.arbitrate`): torch running the statements so far with
    every low-precision dtype widened (:func:`widen_statement`), started and caught up only when a step's
    mismatches are all low-precision values. Its outcome stands for the exact one only while every statement
    raised what it raised in torch's own run (the same type, or nothing: then its observables count, without the
    error); a program that took another path (a ``.grad`` of the other dtype now accepted...) gives an error
    outcome, which settles nothing."""

    def __init__(self, module: Any, ops: dict[str, Any]) -> None:
        self.side = Side(module, ops)
        self.done = 0  # statements run so far
        self.last: dict = {"obs": {}, "error": None}
        self.departed = False

    def outcome(self, program: list[str], errors: list[dict | None], names: list[str], timeout: float) -> dict:
        """The outcome of the last of ``program`` (whose statements raised ``errors`` on torch), widened."""
        for statement, error in zip(program[self.done:], errors[self.done:]):
            if self.departed:  # for good: nothing later is the same computation
                break
            self.last = self.side.step(widen_statement(statement), names, timeout)
            self.departed = (self.last["error"] or {}).get("type") != (error or {}).get("type")
            self.done += 1
        if self.departed:
            return {"obs": {}, "error": {"type": "ReplayDeparted", "base": "Exception", "step": None,
                                         "message": "a widened statement raised otherwise than on torch"}}
        # a statement that raised what it raised on torch (a backward refused after a write under no_grad) leaves
        # observables that stand for the exact ones all the same (graph10: nightly-sized seed 12 had exp of a
        # one-ulp-apart 27.9 compared again at such a backward, settled at its own statement, kept here)
        return {"obs": self.last["obs"], "error": None}
