"""The programs each property runs, identically, on torch and on the engine.

Every function here is self-contained (uses only ``np``, builtins and the other functions of this module):
reproducers paste their source verbatim, so a snippet runs exactly what the harness ran. A program receives
the module ``t``, the spec's ``fn``, the inputs as plain data (see :func:`make_input`), the kwargs, an
``extra`` dict (cotangents, scenario) and ``obs``, a dict it fills with observables (see :func:`observe`).
``obs["_step"]`` names the stage in progress, so an exception is attributed to a step.
"""
import numpy as np

UNUSED_LEAF = {"kind": "tensor", "data": [1.0, 2.0], "shape": [2], "dtype": "float64", "requires_grad": True}


def make_input(t, item):
    """Build one input on module ``t``: a Python scalar, or a tensor from nested-list data.

    ``item`` is ``{"kind": "scalar", "value": v}`` or ``{"kind": "tensor", "data": nested list, "shape": [...],
    "dtype": "float32", "requires_grad": bool}``, optionally with ``"layout"``: ``"contiguous"`` (the default),
    ``"transposed"`` (the dimensions' order reversed in memory: Fortran order, ``x.mT`` of a matrix) or
    ``"sliced"`` (every other element of a buffer twice as long in the last dimension, ``buffer[..., ::2]``).
    A non-contiguous input is still a leaf and not a view (its buffer is built without grad and detached), so
    only its strides differ from a contiguous one's. Size-0 tensors are built with ``t.zeros``.
    """
    if item["kind"] == "scalar":
        return item["value"]
    dtype = getattr(t, item["dtype"])
    if 0 in item["shape"]:
        return t.zeros(tuple(item["shape"]), dtype=dtype, requires_grad=item["requires_grad"])
    layout = item.get("layout", "contiguous")
    if layout == "contiguous":
        return t.tensor(item["data"], dtype=dtype, requires_grad=item["requires_grad"])
    values = np.array(item["data"], dtype=object)
    if layout == "transposed":
        order = tuple(reversed(range(values.ndim)))
        x = t.tensor(values.transpose(order).tolist(), dtype=dtype).permute(order)
    elif layout == "sliced":
        buffer = np.zeros(values.shape[:-1] + (2 * values.shape[-1],), dtype=object)
        buffer[..., ::2] = values
        x = t.tensor(buffer.tolist(), dtype=dtype)[..., ::2]
    else:
        raise ValueError("unknown input layout " + repr(layout))
    return x.detach().requires_grad_(item["requires_grad"])


def flatten_outputs(t, result):
    """The outputs of an op as a flat list (tuples, lists and named tuples are unpacked)."""
    if isinstance(result, (tuple, list)):
        flat = []
        for part in result:
            flat.extend(flatten_outputs(t, part))
        return flat
    return [result]


def to_numpy(x):
    """``x.detach().numpy()`` copied; falls back to ``numpy(force=True)`` (torch's ZeroTensor gradients refuse
    plain conversion)."""
    try:
        return np.array(x.detach().numpy(), copy=True)
    except RuntimeError:
        return np.array(x.detach().numpy(force=True), copy=True)


def layout(x):
    """A tensor's memory layout as far as torch defines it: its strides with None for the dimensions of size 1
    (torch's strides there are arbitrary: ``is_contiguous``, ``view`` and every kernel ignore them) and whether
    it is contiguous; ``"empty"`` for a tensor without elements (torch calls every one contiguous and its strides
    are conventions). What decides whether a later ``view`` raises, and where a kernel's output layout differs."""
    if x.numel() == 0:
        return "empty"
    strides = tuple(None if n == 1 else int(s) for n, s in zip(x.shape, x.stride()))
    return str(strides) + (" contiguous" if x.is_contiguous() else " non-contiguous")


def observe(t, obs, key, x, full=True, with_layout=False):
    """Record what a user can see of ``x`` under ``key``: None, a non-tensor's repr, or a tensor's shape,
    dtype, requires_grad, value (and with ``full``: is_leaf and the grad_fn's class name; with ``with_layout``:
    its :func:`layout`). An observable whose access raises is recorded as ``"!error <Type>: <message>"``."""
    if isinstance(x, np.ndarray):
        obs[key + ".value"] = x.copy()
        return
    if x is None or not isinstance(x, t.Tensor):
        plain = x is None or isinstance(x, (bool, int, float, str))
        obs[key] = x if plain else "<" + type(x).__name__ + ">"  # reprs hold addresses
        return
    getters = {
        "shape": lambda: tuple(int(n) for n in x.shape),
        "dtype": lambda: str(x.dtype),
        "requires_grad": lambda: bool(x.requires_grad),
        "value": lambda: to_numpy(x),
    }
    if full:
        getters["is_leaf"] = lambda: bool(x.is_leaf)
        getters["grad_fn"] = lambda: None if x.grad_fn is None else type(x.grad_fn).__name__
    if with_layout:
        getters["layout"] = lambda: layout(x)
    for name, getter in getters.items():
        try:
            obs[key + "." + name] = getter()
        except Exception as error:  # an engine failing to expose an observable is itself a finding
            obs[key + "." + name] = "!error " + type(error).__name__ + ": " + str(error)


def differentiable_outputs(t, outs, cotangent_items):
    """The outputs that receive a cotangent, and the cotangent tensors (items aligned with ``outs``)."""
    selected, cotangents = [], []
    for out, item in zip(outs, cotangent_items):
        if item is not None:
            selected.append(out)
            cotangents.append(make_input(t, item))
    return selected, cotangents


def program_forward(t, fn, inputs, kwargs, extra, obs):
    """Forward: outputs' values, shape, dtype, requires_grad, is_leaf, grad_fn name and memory layout, whatever the
    inputs' layouts (a transposed input's order, a sliced one's gaps: see ``python -m conformance.survey_layouts``)."""
    obs["_step"] = "forward"
    args = [make_input(t, item) for item in inputs]
    outs = flatten_outputs(t, fn(t, *args, **kwargs))
    obs["outputs"] = len(outs)
    for index, out in enumerate(outs):
        observe(t, obs, "out[" + str(index) + "]", out, with_layout=True)


def program_vjp(t, fn, inputs, kwargs, extra, obs):
    """VJP with random cotangents, via autograd.grad (allow_unused, plus an unused leaf) and via backward."""
    obs["_step"] = "forward"
    args = [make_input(t, item) for item in inputs]
    outs = flatten_outputs(t, fn(t, *args, **kwargs))
    selected, cotangents = differentiable_outputs(t, outs, extra["cotangents"])
    unused = make_input(t, UNUSED_LEAF)
    wrt = [a for a in args if isinstance(a, t.Tensor) and a.requires_grad]
    obs["_step"] = "autograd.grad"
    grads = t.autograd.grad(selected, wrt + [unused], grad_outputs=cotangents, allow_unused=True)
    for index, grad in enumerate(grads):
        observe(t, obs, "grad[" + str(index) + "]", grad, full=False)
    obs["_step"] = "backward"
    args = [make_input(t, item) for item in inputs]
    outs = flatten_outputs(t, fn(t, *args, **kwargs))
    selected, cotangents = differentiable_outputs(t, outs, extra["cotangents"])
    if len(selected) == 1:
        selected[0].backward(gradient=cotangents[0])
    else:
        t.autograd.backward(selected, grad_tensors=cotangents)
    for index, arg in enumerate(args):
        if isinstance(arg, t.Tensor):
            observe(t, obs, "x" + str(index) + ".grad", arg.grad, full=False)


def program_double_backward(t, fn, inputs, kwargs, extra, obs):
    """Second order: autograd.grad with create_graph=True and a cotangent v that requires grad, then the VJP
    of those gradients with a second cotangent u, with respect to the inputs and v. The first-order gradients'
    grad_fn names (the nodes the second order runs through) are observed too, unless ``extra["grad_fn"]`` is
    False."""
    obs["_step"] = "forward"
    args = [make_input(t, item) for item in inputs]
    outs = flatten_outputs(t, fn(t, *args, **kwargs))
    selected, cotangents = differentiable_outputs(t, outs, extra["cotangents"])
    wrt = [a for a in args if isinstance(a, t.Tensor) and a.requires_grad]
    obs["_step"] = "first order"
    grads = t.autograd.grad(selected, wrt, grad_outputs=cotangents, create_graph=True, allow_unused=True)
    names = extra.get("grad_fn", True)  # False: a spec whose gradient nodes are not compared (see the trial)
    for index, grad in enumerate(grads):
        observe(t, obs, "grad[" + str(index) + "]", grad, full=False)
        if names and isinstance(grad, t.Tensor):
            obs["grad[" + str(index) + "].grad_fn"] = None if grad.grad_fn is None else type(grad.grad_fn).__name__
    targets, second = [], []
    for grad, item in zip(grads, extra["second_cotangents"]):
        if grad is not None and grad.requires_grad:
            targets.append(grad)
            second.append(make_input(t, item))
    obs["second order targets"] = len(targets)
    if not targets:
        return
    obs["_step"] = "second order"
    gradgrads = t.autograd.grad(targets, wrt + cotangents, grad_outputs=second, allow_unused=True)
    for index, gradgrad in enumerate(gradgrads):
        observe(t, obs, "gradgrad[" + str(index) + "]", gradgrad, full=False)


def program_errors(t, fn, inputs, kwargs, extra, obs):
    """One misuse scenario (``extra["scenario"]``); the exception it raises, if any, is the observable."""
    scenario = extra["scenario"]
    obs["_step"] = "forward"
    leaves = [make_input(t, item) for item in inputs]
    args = leaves
    if scenario == "inplace_input":
        args = [a.clone() if isinstance(a, t.Tensor) else a for a in leaves]
    outs = flatten_outputs(t, fn(t, *args, **kwargs))
    obs["outputs"] = len(outs)
    if scenario == "call":
        for index, out in enumerate(outs):
            observe(t, obs, "out[" + str(index) + "]", out)
        return
    selected, cotangents = differentiable_outputs(t, outs, extra["cotangents"])
    first = outs[0]
    obs["_step"] = scenario
    if scenario == "implicit_backward":
        first.backward()
    elif scenario == "backward_twice":
        t.autograd.backward(selected, grad_tensors=cotangents)
        obs["_step"] = "second backward"
        t.autograd.backward(selected, grad_tensors=cotangents)
    elif scenario == "grad_unused_strict":
        leaves = [a for a in args if isinstance(a, t.Tensor) and a.requires_grad]
        t.autograd.grad(selected, leaves + [make_input(t, UNUSED_LEAF)], grad_outputs=cotangents)
    elif scenario == "grad_output_shape":
        wrong = t.zeros(tuple(first.shape) + (2,), dtype=first.dtype)
        first.backward(gradient=wrong)
    elif scenario == "inplace_input":
        target = [a for a in args if isinstance(a, t.Tensor)][extra["target"]]
        target.add_(1)
        obs["_step"] = "backward after in-place"
        t.autograd.backward(selected, grad_tensors=cotangents)
    elif scenario == "inplace_output":
        first.mul_(2)
        obs["_step"] = "backward after in-place"
        t.autograd.backward(selected, grad_tensors=cotangents)
    elif scenario == "numpy_on_output":
        observe(t, obs, "numpy()", first.numpy(), full=False)
    obs["_step"] = "done"
    for index, leaf in enumerate(leaves):
        if isinstance(leaf, t.Tensor):
            observe(t, obs, "x" + str(index) + ".grad", leaf.grad, full=False)


def program_jvp(t, fn, inputs, kwargs, extra, obs):
    """Forward mode: random tangents on the inputs that require grad, through ``autograd.forward_ad``; then the
    transpose identity Re<w, J v> = Re<J^T w, v> against the module's own reverse mode (observed: whether the two sums
    agree within ``extra["identity_tol"]`` relative to the sum of the terms' magnitudes)."""
    obs["_step"] = "forward AD"
    fwad = t.autograd.forward_ad
    tangent_values = []
    with fwad.dual_level():
        args = []
        for item, tangent in zip(inputs, extra["tangents"]):
            x = make_input(t, item)
            args.append(x if tangent is None else fwad.make_dual(x, make_input(t, tangent)))
        outs = flatten_outputs(t, fn(t, *args, **kwargs))
        obs["outputs"] = len(outs)
        for index, out in enumerate(outs):
            tangent = fwad.unpack_dual(out).tangent if isinstance(out, t.Tensor) else None
            observe(t, obs, "tangent[" + str(index) + "]", tangent, full=False)
            tangent_values.append(None if tangent is None else to_numpy(tangent).astype(
                np.complex128 if tangent.is_complex() else np.float64))
    obs["_step"] = "transpose identity"
    args = [make_input(t, item) for item in inputs]
    outs = flatten_outputs(t, fn(t, *args, **kwargs))
    pairs = [(out, item, tangent) for out, item, tangent in zip(outs, extra["cotangents"], tangent_values)
             if item is not None]
    wrt = [(a, tangent) for a, tangent in zip(args, extra["tangents"]) if tangent is not None]
    if not pairs or not wrt:
        return
    grads = t.autograd.grad([out for out, _, _ in pairs], [a for a, _ in wrt],
                            grad_outputs=[make_input(t, item) for _, item, _ in pairs], allow_unused=True)
    # complex tensors: the real inner product Re sum(conj(a) * b), in which torch's VJP is the JVP's transpose
    forward_terms = [np.real(np.conj(np.asarray(item["data"])) * (0.0 if tangent is None else tangent))
                     for _, item, tangent in pairs]
    reverse_terms = [np.real(np.conj(to_numpy(g)) * np.asarray(tangent["data"]))
                     for g, (_, tangent) in zip(grads, wrt) if g is not None]
    forward = float(sum(np.sum(term) for term in forward_terms))
    reverse = float(sum(np.sum(term) for term in reverse_terms))
    if not (np.isfinite(forward) and np.isfinite(reverse)):
        obs["transpose identity"] = "non-finite"
        return
    scale = sum(float(np.sum(np.abs(term))) for term in forward_terms + reverse_terms)
    rtol, atol = extra["identity_tol"]
    obs["transpose identity"] = bool(abs(forward - reverse) <= atol + rtol * scale)


def program_func(t, fn, inputs, kwargs, extra, obs):
    """torch.func on the op: jacrev and jacfwd of the same function of the inputs that require grad (and whether
    they agree), the hessian of <w, f> w.r.t. the first such input, and vmap over a batch of two (the input and
    its elements reversed) against a loop. ``extra["steps"]`` selects jacobians/hessian/vmap."""
    args = [make_input(t, item) for item in inputs]
    plain = [a.detach() if isinstance(a, t.Tensor) else a for a in args]
    positions = [i for i, item in enumerate(inputs) if item["kind"] == "tensor" and item["requires_grad"]]
    chosen = [k for k, item in enumerate(extra["cotangents"]) if item is not None]

    def substituted(diff):
        full = list(plain)
        for p, d in zip(positions, diff):
            full[p] = d
        return full

    def f(*diff):
        outs = flatten_outputs(t, fn(t, *substituted(diff), **kwargs))
        return tuple(outs[k] for k in chosen)

    if positions and chosen and "jacobians" in extra["steps"]:
        diff = [plain[p] for p in positions]
        argnums = tuple(range(len(diff)))
        obs["_step"] = "jacrev"
        rev = t.func.jacrev(f, argnums=argnums)(*diff)
        obs["_step"] = "jacfwd"
        fwd = t.func.jacfwd(f, argnums=argnums)(*diff)
        agree = True
        for k in range(len(chosen)):
            for j in range(len(diff)):
                observe(t, obs, "jacrev[" + str(k) + "][" + str(j) + "]", rev[k][j], full=False)
                a, b = to_numpy(rev[k][j]), to_numpy(fwd[k][j])
                agree = agree and bool(np.allclose(a, b, rtol=extra["identity_tol"][0], atol=extra["identity_tol"][1],
                                                   equal_nan=True))
        obs["jacrev == jacfwd"] = agree
        if "hessian" in extra["steps"]:
            obs["_step"] = "hessian"
            ws = [make_input(t, extra["cotangents"][k]) for k in chosen]

            def scalar(x):
                outs = f(x, *diff[1:])
                return sum((o * w).sum() for o, w in zip(outs, ws))

            observe(t, obs, "hessian", t.func.hessian(scalar)(diff[0]), full=False)
    tensors = [i for i, a in enumerate(plain) if isinstance(a, t.Tensor) and a.dim() > 0]
    if "vmap" in extra["steps"] and tensors:
        obs["_step"] = "vmap"
        where = tensors[0]
        x = plain[where]
        second = x.reshape(-1).flip(0).reshape(x.shape)

        def g(entry):
            full = list(plain)
            full[where] = entry
            return tuple(flatten_outputs(t, fn(t, *full, **kwargs)))

        mapped = t.func.vmap(g)(t.stack([x, second]))
        looped = [g(x), g(second)]
        same = True
        for k, out in enumerate(mapped):
            observe(t, obs, "vmap[" + str(k) + "]", out, full=False)
            expected = np.stack([to_numpy(looped[0][k]), to_numpy(looped[1][k])])
            same = same and bool(np.allclose(to_numpy(out), expected, rtol=extra["identity_tol"][0],
                                             atol=extra["identity_tol"][1], equal_nan=True))
        obs["vmap == loop"] = same


def execute(t, program, fn, inputs, kwargs, extra):
    """Run ``program`` on module ``t``; return ``{"obs": {...}, "error": None | {...}}``, never raising
    (except KeyboardInterrupt/SystemExit). The error holds the type, its nearest builtin base, the message
    and the step in progress."""
    obs = {}
    try:
        program(t, fn, inputs, kwargs, extra, obs)
        error = None
    except Exception as exc:
        base = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
        error = {"type": type(exc).__module__ + "." + type(exc).__qualname__, "base": base.__name__,
                 "message": str(exc), "step": obs.get("_step")}
    obs.pop("_step", None)
    return {"obs": obs, "error": error}


def run_statement(namespace, statement):
    """Execute one statement of a graph-state program; return None or an error dict (as ``execute``)."""
    try:
        exec(statement, namespace)
        return None
    except Exception as exc:
        base = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
        return {"type": type(exc).__module__ + "." + type(exc).__qualname__, "base": base.__name__,
                "message": str(exc), "step": None}


def observe_zerotensor(obs, key, x):
    """Record ``x._is_zerotensor()`` (torch's flag of its efficient all-zero gradients) under ``key``."""
    try:
        obs[key] = bool(x._is_zerotensor())
    except Exception as error:
        obs[key] = "!error " + type(error).__name__ + ": " + str(error)


def without_zerotensor(outcome):
    """``outcome`` without its ``.zerotensor`` observables: what is compared with an engine whose Tensor has no
    ``_is_zerotensor`` (a private torch method a torch-like module need not have; its ZeroTensors' behaviour,
    immutability and 0 * inf, is still compared through its effects)."""
    obs = {key: value for key, value in outcome["obs"].items() if not key.endswith(".zerotensor")}
    return dict(outcome, obs=obs)


def observe_namespace(t, namespace, names):
    """Every observable of a graph-state program: grad modes, hook calls, and for each variable its
    observables plus its ``.grad``, and of both their ``_is_zerotensor()`` where the module's Tensor has it
    (see :func:`without_zerotensor`)."""
    obs = {}
    zerotensor = hasattr(t.Tensor, "_is_zerotensor")
    for flag in ("is_grad_enabled", "is_inference_mode_enabled"):
        try:
            obs[flag] = bool(getattr(t, flag)())
        except Exception as error:
            obs[flag] = "!error " + type(error).__name__ + ": " + str(error)
    obs["hook calls"] = repr(namespace.get("calls"))
    for name in names:
        if name not in namespace:
            obs[name] = "<undefined>"
            continue
        value = namespace[name]
        observe(t, obs, name, value)
        if isinstance(value, t.Tensor):
            try:
                grad = value.grad
            except Exception as error:
                grad = "!error " + type(error).__name__ + ": " + str(error)
            observe(t, obs, name + ".grad", grad, full=False)
            if zerotensor:
                observe_zerotensor(obs, name + ".zerotensor", value)
                if isinstance(grad, t.Tensor):
                    observe_zerotensor(obs, name + ".grad.zerotensor", grad)
    return obs
