"""Module behaviour that must read exactly as torch's: error messages, reprs, hook call order and arguments,
state_dict round trips, conversions. Each test runs the same script on torch and refgrad and compares a log."""
import warnings

import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")


def _text(value) -> str:
    if hasattr(value, "detach") and hasattr(value, "shape"):
        return f"T{tuple(value.shape)}:{np.round(value.detach().numpy().astype(float), 10).tolist()}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_text(v) for v in value) + ")"
    return repr(value)


def _outcome(fn, t):
    log = []
    try:
        fn(t, log)
    except Exception as error:  # noqa: BLE001 - the exception is the observable
        log.append(f"{type(error).__name__}: {error}")
    return log


def same(fn):
    """Run ``fn(t, log)`` on both engines and require the same log."""
    ref, got = _outcome(fn, torch), _outcome(fn, refgrad)
    assert got == ref


class Net:
    """A small model class written once against ``t.nn``."""

    @staticmethod
    def make(t):
        class Block(t.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = t.nn.Linear(3, 2)
                self.register_buffer("steps", t.zeros(1))
                self.register_buffer("scratch", t.ones(2), persistent=False)
                self.scale = t.nn.Parameter(t.ones(()))

            def forward(self, x):
                return self.fc(x) * self.scale

        model = t.nn.Sequential(Block(), t.nn.ReLU(), t.nn.ModuleDict({"head": t.nn.Linear(2, 1)}))
        model.shared = model[0].fc  # the same module twice: listed once
        return model


def _load_everything(t, state):
    return {k: t.tensor(v) for k, v in state.items()}


def test_names_keys_and_repr():
    def script(t, log):
        model = Net.make(t)
        log.append([n for n, _ in model.named_parameters()])
        log.append([n for n, _ in model.named_buffers()])
        log.append([n for n, _ in model.named_modules()])
        log.append([n for n, _ in model.named_children()])
        log.append(list(model.state_dict()))
        log.append(list(model.state_dict(prefix="m.")))
        log.append(repr(model))
        log.append(repr(t.nn.Parameter(t.tensor([1.0, 2.0]))))
        log.append(repr(t.nn.Parameter(t.tensor([1.0]), requires_grad=False)))
        log.append(str(t.nn.Parameter(t.tensor([[1.0], [2.0]], dtype=t.float64))))
        log.append(model.training)
        model.eval()
        log.append([m.training for m in model.modules()])
        log.append(type(model.state_dict()).__name__)
        log.append(model.get_submodule("0.fc").out_features)
        log.append(repr(model.get_parameter("0.scale")))
    same(script)


@pytest.mark.parametrize("change", ["missing", "unexpected", "shape", "non_strict", "not_tensor", "ok"])
def test_load_state_dict_messages(change):
    def script(t, log):
        model = Net.make(t)
        state = dict(model.state_dict())
        if change == "missing":
            del state["0.fc.bias"], state["2.head.weight"]
        elif change in ("unexpected", "non_strict"):
            state["0.extra"] = t.zeros(1)
            state["zzz"] = t.zeros(1)
            del state["0.steps"]
        elif change == "shape":
            state["0.fc.weight"] = t.zeros(3, 3)
        elif change == "not_tensor":
            state["0.scale"] = 2.0
        log.append(repr(model.load_state_dict(state, strict=change != "non_strict")))
    same(script)


def test_registration_errors():
    def script(t, log):
        model = t.nn.Linear(2, 2)
        for action in (lambda: setattr(model, "weight", t.zeros(2, 2)),
                       lambda: model.register_parameter("a.b", None),
                       lambda: model.register_parameter("", None),
                       lambda: model.register_parameter("x", t.zeros(1)),
                       lambda: model.register_buffer("weight", t.zeros(1)),
                       lambda: model.add_module("w", 3),
                       lambda: model.nothing,
                       lambda: t.nn.Linear(2, 2).load_state_dict([1])):
            try:
                action()
                log.append("no error")
            except Exception as error:  # noqa: BLE001
                log.append(f"{type(error).__name__}: {error}")
        model.weight = None
        log.append(list(model.state_dict()))
        model.extra = t.nn.Parameter(t.ones(1))
        del model.extra
        log.append([n for n, _ in model.named_parameters()])
    same(script)


def test_forward_hooks_order_arguments_and_replacement():
    def script(t, log):
        model = t.nn.Linear(2, 1)
        model.load_state_dict({"weight": t.tensor([[1.0, -1.0]]), "bias": t.tensor([0.5])})
        h1 = model.register_forward_pre_hook(lambda m, args: log.append(("pre", _text(args))))
        model.register_forward_pre_hook(lambda m, args: (args[0] * 2,), prepend=False)
        model.register_forward_pre_hook(lambda m, args, kwargs: log.append(("pre_kw", sorted(kwargs))),
                                        with_kwargs=True, prepend=True)
        model.register_forward_hook(lambda m, args, out: log.append(("post", _text(out))))
        model.register_forward_hook(lambda m, args, out: out + 1)
        model.register_forward_hook(lambda m, args, kwargs, out: log.append(("post_kw", _text(out))),
                                    with_kwargs=True)
        log.append(_text(model(t.tensor([[1.0, 3.0]]))))
        h1.remove()
        log.append(_text(model(t.tensor([[1.0, 3.0]]))))
    same(script)


@pytest.mark.parametrize("inputs_require_grad", [True, False])
def test_full_backward_hooks(inputs_require_grad):
    def script(t, log):
        model = t.nn.Linear(2, 2)
        model.load_state_dict({"weight": t.tensor([[1.0, -1.0], [2.0, 0.5]]), "bias": t.tensor([0.5, 0.0])})
        model.register_full_backward_pre_hook(lambda m, gout: log.append(("pre", _text(gout))))
        model.register_full_backward_pre_hook(lambda m, gout: (gout[0] * 10,))
        model.register_full_backward_hook(lambda m, gin, gout: log.append(("hook", _text(gin), _text(gout))))
        if inputs_require_grad:
            model.register_full_backward_hook(lambda m, gin, gout: (gin[0] + 1,))
        x = t.tensor([[1.0, 3.0]], requires_grad=inputs_require_grad)
        out = model(x)
        log.append(out.grad_fn.name())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.sum().backward()
        log.append(_text(model.weight.grad))
        log.append(_text(x.grad) if inputs_require_grad else "no grad")
    same(script)


def test_zero_grad_train_apply_and_conversions():
    def script(t, log):
        model = Net.make(t)
        model(t.ones(1, 3)).sum().backward()
        log.append([p.grad is None for p in model.parameters()])
        model.zero_grad(set_to_none=False)
        log.append([_text(p.grad) for p in model.parameters()])
        model.zero_grad()
        log.append([p.grad is None for p in model.parameters()])
        seen = []
        model.apply(lambda m: seen.append(type(m).__name__))
        log.append(seen)
        fc = model[0].fc.weight
        model.double()
        log.append([str(p.dtype) for p in model.parameters()] + [str(b.dtype) for b in model.buffers()])
        log.append(model[0].fc.weight is fc)
        model.float().requires_grad_(False)
        log.append([(str(p.dtype), p.requires_grad) for p in model.parameters()])
        log.append(model.to(t.float64) is model)
        log.append(model.train() is model)
    same(script)


def test_containers():
    def script(t, log):
        seq = t.nn.Sequential(t.nn.Linear(1, 2), t.nn.ReLU(), t.nn.Linear(2, 3))
        log.append(repr(seq[1:]))
        log.append(repr(seq[-1]))
        del seq[1]
        log.append(list(seq.state_dict()))
        seq.append(t.nn.Tanh())
        seq.insert(0, t.nn.Identity())
        log.append(repr(seq))
        layers = t.nn.ModuleList([t.nn.Linear(2, 2) for _ in range(3)])
        layers += [t.nn.ReLU()]
        log.append(repr(layers))
        log.append(len(layers[1:]))
        plist = t.nn.ParameterList([t.nn.Parameter(t.zeros(2)), t.zeros(1, 3)])
        plist.append(t.ones(1))
        log.append(repr(plist))
        log.append(list(plist.state_dict()))
        pdict = t.nn.ParameterDict({"a": t.nn.Parameter(t.zeros(2)), "b": t.ones(3)})
        log.append(repr(pdict))
        log.append(sorted(pdict.state_dict()))
        mdict = t.nn.ModuleDict({"x": t.nn.Linear(1, 1)})
        mdict["y"] = t.nn.ReLU()
        log.append(list(mdict.keys()))
        log.append(repr(mdict))
    same(script)


def test_always_call_forward_hooks_run_when_forward_raises():
    def script(t, log):
        model = t.nn.Linear(2, 1)
        model.register_forward_hook(lambda m, args, out: log.append(("plain", out)))
        model.register_forward_hook(lambda m, args, out: log.append(("always", out)), always_call=True)
        model(t.zeros(3, 5))
    same(script)
