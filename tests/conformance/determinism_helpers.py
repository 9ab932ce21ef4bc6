"""What test_determinism.py runs in a pytest subprocess (not collected on its own: the name is not test_*.py).

``ENGINE`` is torch behind a wrapper engine that appends one line per call of the function under test, a digest
of its inputs, to the file named by ``$CONFORMANCE_FINGERPRINTS``: the examples a cell drew, as seen by the
engine. The ``test_*`` functions change process-wide Hypothesis state the way tests of this suite did.
"""
import hashlib
import os

import torch

from conformance.engines.wrapper import Wrapper

__all__ = ["Fingerprints", "ENGINE", "digest"]


def digest(inputs: tuple, kwargs: dict) -> str:
    """A digest of a call's arguments: every tensor's dtype, shape, requires_grad and exact values."""
    parts = []
    for value in inputs:
        if isinstance(value, torch.Tensor):
            parts.append((str(value.dtype), tuple(value.shape), value.requires_grad, value.detach().tolist()))
        else:
            parts.append(value)
    return hashlib.sha1(repr((parts, sorted(kwargs.items()))).encode()).hexdigest()[:16]


class Fingerprints(Wrapper):
    """torch, recording a digest of every example's inputs."""

    def transform(self, fn):
        def recorded(t, *inputs, **kwargs):
            with open(os.environ["CONFORMANCE_FINGERPRINTS"], "a", encoding="utf-8") as out:
                out.write(digest(inputs, kwargs) + "\n")
            return fn(t, *inputs, **kwargs)
        return recorded


ENGINE = Fingerprints()


def test_imports_torch_testing_internals():
    # what importing torch's op_db (conformance.coverage, tests/test_coverage_doc.py) did: torch's test utilities
    # register a Hypothesis profile called "dev" and load it
    import torch.testing._internal.common_utils  # noqa: F401
