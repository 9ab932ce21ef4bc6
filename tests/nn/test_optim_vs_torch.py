"""Optimizers and schedulers against torch 2.13: the same updates (float64 to rounding, float32 to a few ulps),
the same state and state_dict layout, reprs, errors and learning-rate sequences."""
import math

import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

GRID = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.5, 0.8), "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.5, "momentum": 0.8, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.2, "weight_decay": 0.1, "initial_accumulator_value": 0.5,
                 "maximize": True}),
]


def _steps(t, name, options, dtype, steps=4):
    """Two parameter groups (the second with its own lr), a quartic loss so gradients change every step."""
    rng = np.random.default_rng(1)
    w = t.nn.Parameter(t.tensor(rng.standard_normal((3, 2)), dtype=dtype))
    b = t.nn.Parameter(t.tensor(rng.standard_normal(2), dtype=dtype))
    frozen = t.nn.Parameter(t.tensor(rng.standard_normal(2), dtype=dtype))  # never gets a gradient
    x = t.tensor(rng.standard_normal((5, 3)), dtype=dtype)
    opt = getattr(t.optim, name)([{"params": [w, frozen]}, {"params": b, "lr": options["lr"] / 2}], **options)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ w + b) ** 2).pow(2).mean()
        loss.backward()
        opt.step()
    return [w, b, frozen], opt


def _state_text(opt):
    packed = opt.state_dict()
    state = {index: {k: (v.dtype, tuple(v.shape)) if hasattr(v, "shape") else v for k, v in entry.items()}
             for index, entry in packed["state"].items()}
    return repr(state).replace("refgrad.", "torch."), repr(packed["param_groups"])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "options"), GRID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GRID)])
def test_updates_match_torch(name, options, dtype):
    ref_params, ref_opt = _steps(torch, name, options, getattr(torch, dtype))
    params, opt = _steps(refgrad, name, options, getattr(refgrad, dtype))
    rtol, atol = (1e-12, 1e-14) if dtype == "float64" else (2e-5, 2e-6)
    for got, want in zip(params, ref_params):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=atol)
    assert _state_text(opt) == _state_text(ref_opt)
    for index, entry in ref_opt.state_dict()["state"].items():
        for key, value in entry.items():
            mine = opt.state_dict()["state"][index][key]
            np.testing.assert_allclose(np.asarray(mine), value.numpy(), rtol=rtol, atol=atol, err_msg=key)
    assert repr(opt) == repr(ref_opt)


@pytest.mark.parametrize(("name", "options"), GRID[1::2], ids=[n for n, _ in GRID[1::2]])
def test_resuming_from_state_dict_continues_the_same_run(name, options):
    """Save after two steps, load into a fresh optimizer: the next steps equal the uninterrupted run."""
    straight, _ = _steps(refgrad, name, options, refgrad.float64, steps=4)
    params, opt = _steps(refgrad, name, options, refgrad.float64, steps=2)
    saved = opt.state_dict()
    fresh = getattr(refgrad.optim, name)([{"params": params[0:3:2]}, {"params": params[1], "lr": 1.0}], **options)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[1]["lr"] == options["lr"] / 2
    rng = np.random.default_rng(1)
    rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal(2)
    x = refgrad.tensor(rng.standard_normal((5, 3)))
    for _ in range(2):
        fresh.zero_grad()
        ((x @ params[0] + params[1]) ** 2).pow(2).mean().backward()
        fresh.step()
    for got, want in zip(params, straight):
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())


def _errors(t):
    p = t.nn.Parameter(t.zeros(2))
    actions = [lambda: t.optim.SGD([], lr=0.1), lambda: t.optim.SGD(p, lr=0.1),
               lambda: t.optim.SGD([p * 2], lr=0.1), lambda: t.optim.SGD([p, p], lr=0.1),
               lambda: t.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1),
               lambda: t.optim.SGD([p], lr=-1.0), lambda: t.optim.SGD([p], lr=0.1, nesterov=True),
               lambda: t.optim.Adam([p], betas=(1.0, 0.9)), lambda: t.optim.Adam([p], eps=-1),
               lambda: t.optim.SGD([p], lr=0.1).load_state_dict({"state": {}, "param_groups": []}),
               lambda: t.optim.SGD([2.0], lr=0.1)]
    out = []
    for action in actions:
        try:
            action()
            out.append("no error")
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}")
    return out


def test_errors_match_torch():
    with pytest.warns(UserWarning, match="duplicate parameters"):
        ref = _errors(torch)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        got = _errors(refgrad)
    assert got == ref


SCHEDULERS = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 2, 5], "gamma": 0.1}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 3, "eta_min": 0.01}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 1 / (epoch + 1)}),
    ("LinearLR", {"start_factor": 0.25, "total_iters": 4}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 3}),
]


def _lrs(t, name, options, chained):
    params = [t.nn.Parameter(t.zeros(1)), t.nn.Parameter(t.zeros(1))]
    opt = t.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.3}], lr=1.0)
    scheduler = getattr(t.optim.lr_scheduler, name)(opt, **options)
    extra = t.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5) if chained else None
    sequence = [scheduler.get_last_lr()]
    for _ in range(9):
        opt.step()
        scheduler.step()
        if extra is not None:
            extra.step()
        sequence.append([group["lr"] for group in opt.param_groups])
    keys = sorted(k for k in scheduler.state_dict() if not k.startswith("_get_lr"))
    return sequence, keys


@pytest.mark.parametrize("chained", [False, True])
@pytest.mark.parametrize(("name", "options"), SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_sequences_match_torch(name, options, chained):
    (ref, ref_keys), (got, keys) = _lrs(torch, name, options, chained), _lrs(refgrad, name, options, chained)
    for want, have in zip(ref, got):
        assert all(math.isclose(a, b, rel_tol=1e-14, abs_tol=1e-16) for a, b in zip(want, have)), (ref, got)
    assert set(keys) <= set(ref_keys)


def _clipped(t, norm_type):
    rng = np.random.default_rng(0)
    params = [t.nn.Parameter(t.tensor(rng.standard_normal(shape), dtype=t.float32)) for shape in [(3, 2), (4,)]]
    params.append(t.nn.Parameter(t.zeros(2)))  # no gradient: skipped
    for p in params[:2]:
        p.grad = t.tensor(rng.standard_normal(tuple(p.shape)), dtype=t.float32)
    total = t.nn.utils.clip_grad_norm_(params, 0.5, norm_type)
    t.nn.utils.clip_grad_value_(params, 0.1)
    vector = t.nn.utils.parameters_to_vector(params)
    t.nn.utils.vector_to_parameters(vector * 2, params)
    return [repr(total), vector.grad_fn is not None] + [repr(p) for p in params], \
        [p.grad.numpy().copy() for p in params[:2]]


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, float("inf")])
def test_grad_clipping_and_vectors_match_torch(norm_type):
    (text, grads), (ref_text, ref_grads) = _clipped(refgrad, norm_type), _clipped(torch, norm_type)
    assert text == ref_text
    for got, want in zip(grads, ref_grads):  # float32: torch's p-norm rounds differently in the last bit
        np.testing.assert_allclose(got, want, rtol=1e-6)


def _plateau(t, options):
    opt = t.optim.SGD([{"params": [t.nn.Parameter(t.zeros(1))]}, {"params": [t.nn.Parameter(t.zeros(1))],
                                                                   "lr": 0.5}], lr=1.0)
    scheduler = t.optim.lr_scheduler.ReduceLROnPlateau(opt, **options)
    metrics = [5.0, 4.0, 4.0, 3.9999, 4.5, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.5, 2.5, 2.5, 2.5]
    lrs = []
    for value in metrics:
        scheduler.step(value if options.get("mode") != "max" else -value)
        lrs.append(scheduler.get_last_lr())
    return lrs, scheduler.num_bad_epochs, scheduler.best


@pytest.mark.parametrize("options", [{"patience": 1}, {"patience": 0, "cooldown": 2, "factor": 0.5, "min_lr": 0.2},
                                     {"mode": "max", "threshold_mode": "abs", "threshold": 0.5, "patience": 1,
                                      "min_lr": [0.0, 0.4]}])
def test_reduce_lr_on_plateau_matches_torch(options):
    assert _plateau(refgrad, options) == _plateau(torch, options)


def _one_cycle(t, optimizer, options):
    params = [t.nn.Parameter(t.zeros(1)), t.nn.Parameter(t.zeros(1))]
    opt = getattr(t.optim, optimizer)([{"params": params[:1]}, {"params": params[1:]}], lr=1.0)
    scheduler = t.optim.lr_scheduler.OneCycleLR(opt, **options)
    trace = []
    for _ in range(options.get("total_steps", 12) - 1):
        opt.step()
        scheduler.step()
        trace.append([(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups])
    return trace


@pytest.mark.parametrize(("optimizer", "options"), [
    ("SGD", {"max_lr": 0.5, "total_steps": 12}),
    ("Adam", {"max_lr": [0.5, 0.1], "epochs": 3, "steps_per_epoch": 4, "anneal_strategy": "linear",
              "three_phase": True}),
    ("SGD", {"max_lr": 1.0, "total_steps": 10, "pct_start": 0.5, "cycle_momentum": False, "div_factor": 5.0})])
def test_one_cycle_matches_torch(optimizer, options):
    got, want = _one_cycle(refgrad, optimizer, options), _one_cycle(torch, optimizer, options)
    assert len(got) == len(want)
    for row, ref_row in zip(got, want):
        for (lr, momentum, betas), (ref_lr, ref_momentum, ref_betas) in zip(row, ref_row):
            assert math.isclose(lr, ref_lr, rel_tol=1e-13, abs_tol=1e-16)
            assert (momentum is None) == (ref_momentum is None) and (betas is None) == (ref_betas is None)
            if momentum is not None:
                assert math.isclose(momentum, ref_momentum, rel_tol=1e-13)
            if betas is not None:
                assert all(math.isclose(a, b, rel_tol=1e-13) for a, b in zip(betas, ref_betas))
