"""A regression MLP with Adam, a cosine schedule and gradient clipping by hand (written for torch)."""
import numpy as np
import torch
from torch import nn


def build():
    return nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.LayerNorm(32), nn.Linear(32, 1))


rng = np.random.default_rng(1)
model = build().to(torch.float64)
model.load_state_dict({k: torch.tensor(rng.uniform(-0.5, 0.5, tuple(v.shape))) for k, v in model.state_dict().items()})
x = torch.tensor(rng.standard_normal((64, 3)))
y = (x ** 2).sum(dim=1, keepdim=True).sin()
loss_fn = nn.MSELoss()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-3)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=20)
for step in range(20):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    with torch.no_grad():
        norm = torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))
        for p in model.parameters():
            p.grad.mul_(min(1.0, 1.0 / norm.item()))
    optimizer.step()
    scheduler.step()
    if step % 5 == 4:
        print(f"step {step} loss {loss.item():.12f} grad norm {norm.item():.12f}")
checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
fresh = build().double()
fresh.load_state_dict(checkpoint["model"])
print(torch.equal(fresh(x), model(x)))
print(checkpoint["optimizer"]["param_groups"][0]["lr"])
print(list(checkpoint["optimizer"]["state"][0].keys()))
