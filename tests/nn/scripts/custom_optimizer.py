"""A user-written optimizer in the style of torch's documentation, with a closure (written for torch)."""
import numpy as np
import torch
from torch.optim import Optimizer


class SignSGD(Optimizer):
    """Momentum on the gradient, then a step of -lr·sign(momentum)."""

    def __init__(self, params, lr=0.01, momentum=0.9):
        defaults = dict(lr=lr, momentum=momentum)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["buf"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                buf = state["buf"]
                buf.mul_(group["momentum"]).add_(p.grad, alpha=1 - group["momentum"])
                p.add_(torch.sign(buf), alpha=-group["lr"])
        return loss


rng = np.random.default_rng(0)
w = torch.tensor(rng.standard_normal(3), requires_grad=True)
x = torch.tensor(rng.standard_normal((8, 3)))
opt = SignSGD([w], lr=0.1)
for _ in range(4):
    def closure():
        opt.zero_grad()
        loss = (x @ w).pow(2).mean()
        loss.backward()
        return loss
    print(f"{opt.step(closure).item():.12f}")
print(w)
