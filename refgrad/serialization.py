"""torch.save and torch.load for refgrad objects (tensors, parameters, state dicts, anything picklable).

The file is a plain pickle of refgrad's own tensors, not torch's zip format: refgrad and torch files do not
interoperate, and views saved together are restored as separate arrays (torch keeps their shared storage).
``load`` follows torch 2.6+: ``weights_only=True`` by default, which unpickles only tensors, parameters, NumPy
arrays and dtypes, and plain containers; anything else raises ``pickle.UnpicklingError`` as torch does.
"""
from __future__ import annotations

import os
import pickle
from typing import IO, Any

__all__ = ["save", "load"]

# (module, name) pairs a weights-only load accepts; modules under refgrad. are accepted only for these names
_SAFE_GLOBALS = {
    ("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    ("builtins", "complex"), ("_codecs", "encode"), ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("refgrad.tensor", "_rebuild"), ("refgrad.nn.parameter", "_rebuild_parameter"),
}


class _WeightsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS or module.startswith("numpy.dtypes"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            "Weights only load failed. This file can still be loaded with `weights_only=False`, but that can "
            f"result in arbitrary code execution: do it only if you trust the source of the file. "
            f"Unsupported global: GLOBAL {module}.{name}")


def save(obj: Any, f: str | os.PathLike | IO[bytes], pickle_module: Any = pickle, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Write ``obj`` to a path or a binary file object."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as handle:
            pickle_module.dump(obj, handle, protocol=pickle_protocol)
    else:
        pickle_module.dump(obj, f, protocol=pickle_protocol)


def load(f: str | os.PathLike | IO[bytes], map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Read what :func:`save` wrote (``map_location`` is accepted and ignored: refgrad has one device)."""
    if weights_only is None:
        weights_only = pickle_module is None
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            return load(handle, map_location, pickle_module, weights_only=weights_only, **pickle_load_args)
    if weights_only:
        return _WeightsUnpickler(f, **pickle_load_args).load()
    return (pickle_module or pickle).load(f, **pickle_load_args)
