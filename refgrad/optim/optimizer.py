"""torch.optim.Optimizer: parameter groups, per-parameter state, zero_grad, state_dict/load_state_dict.

Updates run on the NumPy arrays of the parameters in place (outside the graph, as torch's no_grad step), in the
parameter's dtype and in the order of torch's single-tensor (``foreach=False``) CPU implementations, so float64
results agree with torch to rounding.
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from refgrad import dtypes
from refgrad.autograd.grad_mode import enable_grad
from refgrad.tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _typename(value) -> str:
    from refgrad.nn.modules.module import _type_name
    return _type_name(value)


def array(t: Tensor) -> np.ndarray:
    """The array behind ``t`` (updated in place by the optimizers)."""
    return t._data


def scalar(value, like: np.ndarray):
    """A Python number as a scalar of ``like``'s dtype (torch casts an op's scalar to the tensor's type)."""
    return like.dtype.type(value)


def bump(*tensors: Tensor) -> None:
    """Count an in-place update in the version counters (torch's in-place ops do)."""
    for t in tensors:
        t._version_counter.value += 1


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start.lerp_(end, weight) with torch's two formulas (the one chosen by |weight| < 0.5)."""
    w = scalar(weight, start)
    if abs(weight) < 0.5:
        start += w * (end - start)
    else:
        start[...] = end - (end - start) * (scalar(1, start) - w)


def step_tensor() -> Tensor:
    """torch's ``state['step']``: a 0-d float tensor (float64 when that is the default dtype, else float32)."""
    from refgrad.factories import tensor
    dtype = dtypes.float64 if dtypes.get_default_dtype() is dtypes.float64 else dtypes.float32
    return tensor(0.0, dtype=dtype)


class Optimizer:
    """Base class (torch.optim.Optimizer): ``params`` is an iterable of tensors, of (name, tensor) pairs or of
    dicts (parameter groups); ``defaults`` fills what a group leaves out."""

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_typename(params)}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (torch.optim.Optimizer.add_param_group)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        named = [p for p in param_group["params"] if isinstance(p, tuple)]
        if named:
            param_group["param_names"] = [name for name, _ in param_group["params"]]
            param_group["params"] = [p for _, p in param_group["params"]]
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(param)}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in param_group["params"]}) != len(param_group["params"]):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will cause "
                          "an error; see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter "
                                 f"{name}")
            param_group.setdefault(name, default)
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if existing & {id(p) for p in param_group["params"]}:
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the ``.grad`` of every parameter: to None (default, as torch 2.x) or to zeros in place."""
        from refgrad.nn.utils import zero_grads
        zero_grads((param for group in self.param_groups for param in group["params"]), set_to_none)

    def _closure_loss(self, closure: Callable | None):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def step(self, closure: Callable | None = None):
        raise NotImplementedError

    # --- state_dict --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{'state': {index: per-parameter state}, 'param_groups': [group with 'params' as indices]}, indices
        numbering the parameters in group order (torch.optim.Optimizer.state_dict)."""
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(p)]: v for p, v in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and state saved by :meth:`state_dict` (state tensors are copied and cast to
        their parameter's dtype, ``step`` excepted)."""
        state_dict = copy.deepcopy(state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(a["params"]) != len(b["params"]) for a, b in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        param_of = {index: p for saved, group in zip(saved_groups, self.param_groups)
                    for index, p in zip(saved["params"], group["params"])}
        self.state = defaultdict(dict)
        for index, value in state_dict["state"].items():
            if index in param_of:
                param = param_of[index]
                self.state[param] = {k: (v.to(param.dtype) if isinstance(v, Tensor) and k != "step" and
                                         v.is_floating_point() else v) for k, v in value.items()}
        self.param_groups = [dict(saved, params=group["params"])
                             for saved, group in zip(saved_groups, self.param_groups)]
