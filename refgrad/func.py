"""refgrad.func: torch.func's function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian, linearize, vmap,
functional_call), built on refgrad's reverse mode (``autograd.grad``) and forward mode (tangent levels).

Transforms compose: each ``grad``/``vjp`` differentiates with ``create_graph`` whenever an input already requires
grad (an outer transform is watching it), and each ``jvp`` opens its own forward level, so ``jacfwd(jacrev(f))``
(forward-over-reverse), ``grad(grad(f))`` and ``jvp(jvp(f))`` work. ``vmap`` runs ``func`` once per batch entry
and stacks the results (torch batches the kernels instead; the values are the same). Inputs and outputs may be
nested tuples, lists and dicts of tensors, as torch's pytrees.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from refgrad.autograd import forward_ad as _fw
from refgrad.autograd.grad_mode import enable_grad

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize", "functional_call",
           "vmap"]


# --- pytrees -----------------------------------------------------------------------------------------------

def _flatten(tree) -> tuple[list, Any]:
    """(leaves, spec) for nested tuples/lists/dicts; spec rebuilds the structure from leaves."""
    if isinstance(tree, (tuple, list)):  # named tuples (torch.return_types) too, as torch's pytree
        leaves, specs = [], []
        for item in tree:
            sub, spec = _flatten(item)
            leaves.extend(sub)
            specs.append((len(sub), spec))
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        leaves, specs = [], []
        for key, item in tree.items():
            sub, spec = _flatten(item)
            leaves.extend(sub)
            specs.append((key, len(sub), spec))
        return leaves, (dict, specs)
    return [tree], None


def _unflatten(leaves, spec):
    if spec is None:
        return leaves[0]
    kind, specs = spec
    position, items = 0, []
    if kind is dict:
        out = {}
        for key, count, sub in specs:
            out[key] = _unflatten(leaves[position:position + count], sub)
            position += count
        return out
    for count, sub in specs:
        items.append(_unflatten(leaves[position:position + count], sub))
        position += count
    return kind(*items) if hasattr(kind, "_fields") else kind(items)


def _structure(spec) -> str:
    """A torch-like TreeSpec string, for error messages."""
    if spec is None:
        return "*"
    kind, specs = spec
    if kind is dict:
        return f"TreeSpec(dict, {[k for k, _, _ in specs]}, [{', '.join(_structure(s) for _, _, s in specs)}])"
    inner = ",\n  ".join(_structure(s) for _, s in specs)
    return f"TreeSpec({kind.__name__}, None, [{inner}])"


def _is_tensor(x) -> bool:
    from refgrad.tensor import Tensor
    return isinstance(x, Tensor)


# --- reverse mode ------------------------------------------------------------------------------------------

def _prepare(x):
    """A differentiable stand-in for input ``x``: a fresh leaf, or (when an outer transform tracks ``x``) a view
    of it, so the gradient can itself be differentiated by the outer transform."""
    if x.requires_grad:
        return x.view_as(x)
    return x.detach().requires_grad_(True) if not x._fw else _keep_tangents(x, x.detach().requires_grad_(True))


def _keep_tangents(source, target):
    for lid in _fw.live_levels():
        tangent = _fw.get_tangent(source, lid)
        if tangent is not None:
            _fw._set_tangent(target, lid, tangent)
    return target


def _vjp_core(func, primals, has_aux: bool, caller: str):
    leaves, spec = _flatten(primals)
    prepared = [_prepare(x) if _is_tensor(x) else x for x in leaves]
    track = any(_is_tensor(x) and x.requires_grad for x in leaves)
    with enable_grad():
        result = func(*_unflatten(prepared, spec))
    aux = None
    if has_aux:
        if not (isinstance(result, tuple) and len(result) == 2):
            raise RuntimeError(f"{caller}: output of function f should be a tuple: (output, aux) if has_aux is True")
        result, aux = result
    return prepared, spec, result, aux, track


def vjp(func: Callable, *primals, has_aux: bool = False):
    """(func(*primals), vjp_fn[, aux]); ``vjp_fn(cotangents)`` returns one gradient per primal (torch.func.vjp)."""
    from refgrad import autograd, zeros_like
    prepared, spec, out, aux, track = _vjp_core(func, primals, has_aux, "vjp(f, *primals)")
    out_leaves, out_spec = _flatten(out)
    for o in out_leaves:
        if not _is_tensor(o):
            raise RuntimeError(f"vjp(f, *primals): expected f(*primals) to return only tensors, got unsupported type "
                               f"{type(o)}")

    def vjp_fn(cotangents, *, retain_graph: bool = True, create_graph: bool | None = None):
        cot_leaves, cot_spec = _flatten(cotangents)
        if len(cot_leaves) != len(out_leaves):
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {_structure(cot_spec)}, primal output: "
                               f"{_structure(out_spec)}")
        wrt = [p for p in prepared if _is_tensor(p)]
        pairs = [(o, c) for o, c in zip(out_leaves, cot_leaves) if o.requires_grad]
        graph = track or any(c.requires_grad for c in cot_leaves) if create_graph is None else create_graph
        if pairs:
            for i, (o, c) in enumerate(pairs):
                if tuple(c.shape) != tuple(o.shape):
                    raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {c.shape} and output[{i}] "
                                       f"has a shape of {o.shape}.")
            grads = autograd.grad([o for o, _ in pairs], wrt, [c for _, c in pairs], retain_graph=retain_graph,
                                  create_graph=graph, allow_unused=True)
        else:
            grads = (None,) * len(wrt)
        grads = iter(zeros_like(w) if g is None else g for w, g in zip(wrt, grads))
        return _unflatten([next(grads) if _is_tensor(p) else None for p in prepared], spec)

    out = _maybe_detach(out, track)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def _maybe_detach(tree, track: bool):
    if track:
        return tree
    leaves, spec = _flatten(tree)
    return _unflatten([_fw.detach_keeping_tangents(x) if _is_tensor(x) else x for x in leaves], spec)


def _argnums(argnums, count: int):
    if isinstance(argnums, int):
        numbers = (argnums,)
    elif isinstance(argnums, tuple) and argnums and all(isinstance(a, int) for a in argnums):
        numbers = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in numbers:
        if not -count <= a < count:
            raise RuntimeError(f"Got argnum={a}, but only {count} positional inputs")
    return tuple(a % count for a in numbers)


def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning (gradient of func's scalar output w.r.t. ``argnums``, value) (torch.func)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        numbers = _argnums(argnums, len(args))
        chosen = tuple(args[a] for a in numbers)

        def restricted(*diff):
            full = list(args)
            for a, d in zip(numbers, diff):
                full[a] = d
            return func(*full, **kwargs)

        prepared, spec, out, aux, track = _vjp_core(restricted, chosen, has_aux, "grad_and_value(f)(*args)")
        if not _is_tensor(out):
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(out)}")
        if out.dim() != 0:
            raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor "
                               f"with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        from refgrad import autograd, zeros_like
        wrt = [p for p in _flatten(prepared)[0] if _is_tensor(p)]
        grads = autograd.grad(out, wrt, create_graph=track, allow_unused=True) if out.requires_grad else \
            (None,) * len(wrt)
        grads = iter(zeros_like(w) if g is None else g for w, g in zip(wrt, grads))
        leaves = _flatten(prepared)[0]
        gradient = _unflatten([next(grads) if _is_tensor(p) else None for p in leaves], spec)
        if isinstance(argnums, int):
            gradient = gradient[0]
        value = _maybe_detach(out, track)
        if has_aux:
            return gradient, (value, _maybe_detach(aux, track))
        return gradient, value

    return wrapper


def grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function w.r.t. ``argnums`` (torch.func.grad)."""
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradient, value = inner(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapper


# --- forward mode ------------------------------------------------------------------------------------------

def jvp(func: Callable, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """(func(*primals), J·tangents[, aux]) in forward mode, on a level of its own (torch.func.jvp)."""
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    p_leaves, p_spec = _flatten(primals)
    t_leaves, t_spec = _flatten(tangents)
    if not isinstance(tangents, tuple) or len(p_leaves) != len(t_leaves) or _structure(p_spec) != _structure(t_spec):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python structure. For "
            "example, if primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
            f"{_structure(p_spec)} and tangents with structure {_structure(t_spec)}")
    lid = _fw._push_level()
    try:
        duals = [_fw._make_dual(p, t, lid) if _is_tensor(p) else p for p, t in zip(p_leaves, t_leaves)]
        result = func(*_unflatten(duals, p_spec))
        aux = None
        if has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError("jvp(f, primals, tangents): output of function f should be a tuple: (output, aux) "
                                   "if has_aux is True")
            result, aux = result
        out_leaves, out_spec = _flatten(result)
        primal_outs, tangent_outs = [], []
        for o in out_leaves:
            if not _is_tensor(o):
                raise RuntimeError(f"jvp(f, primals, tangents): expected f(*primals) to return only tensors, got "
                                   f"unsupported type {type(o)}")
            tangent = _fw.get_tangent(o, lid)
            primal_outs.append(_fw._alias_without(o, lid) if tangent is not None else o)
            tangent_outs.append(tangent if tangent is not None else _zeros_like(o))
    finally:
        _fw._pop_level(lid)
    outputs = (_unflatten(primal_outs, out_spec), _unflatten(tangent_outs, out_spec))
    return (*outputs, aux) if has_aux else outputs


def _zeros_like(x):
    from refgrad.tensor import Tensor
    return Tensor._make(np.zeros_like(x._data))


def linearize(func: Callable, *primals):
    """(func(*primals), jvp_fn) where ``jvp_fn(*tangents)`` is the JVP at ``primals`` (torch.func.linearize).

    torch traces the linearized function once; refgrad re-runs ``func`` in forward mode per call (same values)."""
    out = func(*primals)

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn


# --- Jacobians and Hessians --------------------------------------------------------------------------------

def _basis(x):
    """The unit tangents of ``x``, one per element, each shaped like ``x``."""
    from refgrad.tensor import Tensor
    eye = np.eye(x.numel(), dtype=x._data.dtype)
    return [Tensor._make(eye[k].reshape(x._data.shape)) for k in range(x.numel())]


def _stack_jacobian(rows, out_shape, in_shape, like, along_output: bool):
    """Stack per-element derivatives into an ``out_shape + in_shape`` Jacobian."""
    from refgrad import stack
    if not rows:
        return _zeros_like_shape(like, tuple(out_shape) + tuple(in_shape))
    stacked = stack(rows)
    if along_output:  # rows[k] = d out_k / d input, shaped like the input
        return stacked.reshape(tuple(out_shape) + tuple(in_shape))
    # rows[k] = d output / d in_k, shaped like the output: move the input axis last
    moved = stacked.reshape((len(rows), -1)).t() if stacked.dim() > 0 else stacked
    return moved.reshape(tuple(out_shape) + tuple(in_shape))


def _check_real(leaves, caller: str, what: str) -> None:
    """torch.func's Jacobians are real-only: a complex input or output raises its error (flat index)."""
    for index, x in enumerate(leaves):
        if _is_tensor(x) and x.is_complex():
            raise RuntimeError(f"{caller}: Expected all {what} to be real but received complex tensor at flattened "
                               f"input idx: {index}")


def _zeros_like_shape(like, shape):
    from refgrad.tensor import Tensor
    return Tensor._make(np.zeros(shape, dtype=like._data.dtype))


def jacrev(func: Callable, argnums=0, *, has_aux: bool = False, chunk_size: int | None = None,
           _preallocate_and_copy: bool = False) -> Callable:
    """The Jacobian of ``func`` w.r.t. ``argnums`` by reverse mode, one VJP per output element (torch.func)."""
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        numbers = _argnums(argnums, len(args))

        def restricted(*diff):
            full = list(args)
            for a, d in zip(numbers, diff):
                full[a] = d
            return func(*full, **kwargs)

        chosen = tuple(args[a] for a in numbers)
        in_leaves, in_spec = _flatten(chosen)
        _check_real(in_leaves, "jacrev", "inputs")
        result = vjp(restricted, *chosen, has_aux=has_aux)
        out, vjp_fn = result[0], result[1]
        out_leaves, out_spec = _flatten(out)
        _check_real(out_leaves, "jacrev", "outputs")
        blocks = []  # per output: per input leaf
        for k, o in enumerate(out_leaves):
            rows = [[] for _ in in_leaves]
            for unit in _basis(o):
                cot = [unit if j == k else _zeros_like(other) for j, other in enumerate(out_leaves)]
                grads = _flatten(vjp_fn(_unflatten(cot, out_spec)))[0]
                for j, g in enumerate(grads):
                    rows[j].append(g)
            blocks.append(_unflatten([_stack_jacobian(r, o.shape, x.shape, x, True)  # empty: the input's dtype
                                      for r, x in zip(rows, in_leaves)], in_spec))
        if isinstance(argnums, int):
            blocks = [b[0] for b in blocks]
        jac = _unflatten(blocks, out_spec)
        return (jac, result[2]) if has_aux else jac

    return wrapper


def jacfwd(func: Callable, argnums=0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """The Jacobian of ``func`` w.r.t. ``argnums`` by forward mode, one JVP per input element (torch.func)."""
    _check_randomness(randomness)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        numbers = _argnums(argnums, len(args))
        chosen = tuple(args[a] for a in numbers)
        in_leaves, in_spec = _flatten(chosen)
        _check_real(in_leaves, "jacfwd", "inputs")

        def restricted(*diff):
            full = list(args)
            for a, d in zip(numbers, _unflatten(list(diff), in_spec)):
                full[a] = d
            return func(*full, **kwargs)

        columns = [[] for _ in in_leaves]  # per input leaf: the JVPs along its basis
        out, aux = None, None
        with _randomness(randomness):
            for j, x in enumerate(in_leaves):
                for unit in _basis(x):
                    tangents = tuple(unit if i == j else _zeros_like(y) for i, y in enumerate(in_leaves))
                    result = jvp(restricted, tuple(in_leaves), tangents, has_aux=has_aux)
                    out = result[0]
                    aux = result[2] if has_aux else None
                    columns[j].append(result[1])
            if out is None:  # no input elements: evaluate once for the output structure
                out = restricted(*in_leaves)
                if has_aux:
                    out, aux = out
        out_leaves, out_spec = _flatten(out)
        _check_real(out_leaves, "jacfwd", "outputs")
        blocks = []
        for k, o in enumerate(out_leaves):
            per_input = [_stack_jacobian([_flatten(col)[0][k] for col in columns[j]], o.shape, x.shape, o, False)
                         for j, x in enumerate(in_leaves)]
            blocks.append(_unflatten(per_input, in_spec))
        if isinstance(argnums, int):
            blocks = [b[0] for b in blocks]
        jac = _unflatten(blocks, out_spec)
        return (jac, aux) if has_aux else jac

    return wrapper


def hessian(func: Callable, argnums=0) -> Callable:
    """The Hessian of a scalar function: forward-over-reverse, ``jacfwd(jacrev(func))`` (torch.func.hessian)."""
    return jacfwd(jacrev(func, argnums), argnums)


# --- functional_call ---------------------------------------------------------------------------------------

def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Call ``module(*args, **kwargs)`` with some attributes (dotted names) replaced by the given tensors, and
    restore them afterwards (torch.func.functional_call; refgrad has no nn.Module: any callable object works)."""
    dicts = parameter_and_buffer_dicts if isinstance(parameter_and_buffer_dicts, (list, tuple)) else \
        [parameter_and_buffer_dicts]
    merged: dict = {}
    for d in dicts:
        for key in d:
            if key in merged:
                raise ValueError(f"{key} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        merged.update(d)
    if strict:
        missing = [name for name in _tensor_attributes(module) if name not in merged]
        unexpected = [name for name in merged if not _has_path(module, name)]
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n"
                               + (f"\tUnexpected key(s): {', '.join(map(repr, unexpected))}.\n" if unexpected else "")
                               + (f"\tMissing key(s): {', '.join(map(repr, missing))}." if missing else ""))
    args = () if args is None else (args if isinstance(args, tuple) else (args,))
    saved = []
    try:
        for name, value in merged.items():
            owner, attr = _owner(module, name)
            saved.append((owner, attr, getattr(owner, attr, _MISSING)))
            setattr(owner, attr, value)
        return module(*args, **(kwargs or {}))
    finally:
        for owner, attr, old in reversed(saved):
            if old is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, old)


_MISSING = object()


def _owner(module, name: str):
    *path, attr = name.split(".")
    for part in path:
        module = getattr(module, part)
    return module, attr


def _has_path(module, name: str) -> bool:
    try:
        owner, attr = _owner(module, name)
    except AttributeError:
        return False
    return hasattr(owner, attr)


def _tensor_attributes(module, prefix: str = "") -> list:
    names = []
    for key, value in vars(module).items() if hasattr(module, "__dict__") else ():
        if _is_tensor(value):
            names.append(prefix + key)
    return names


# --- vmap ----------------------------------------------------------------------------------------------------

from refgrad._vmap import _check_randomness, _randomness, vmap  # noqa: E402,F401 - vmap uses the pytree helpers
