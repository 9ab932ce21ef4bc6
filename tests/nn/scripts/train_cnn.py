"""A small CNN trained the way the PyTorch tutorials train (written for torch; run unchanged on refgrad)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        x = F.relu(self.bn(self.conv1(x)))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


rng = np.random.default_rng(0)
model = Net().double()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)) * 0.3))
images = torch.from_numpy(rng.standard_normal((16, 1, 8, 8)))
labels = torch.from_numpy(rng.integers(0, 3, 16))
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
for epoch in range(3):
    model.train()
    for batch in range(0, 16, 8):
        data, target = images[batch:batch + 8], labels[batch:batch + 8]
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        print(f"epoch {epoch} batch {batch} loss {loss.item():.10f}")
    scheduler.step()
    model.eval()
    with torch.no_grad():
        pred = model(images).argmax(dim=1, keepdim=True)
        correct = pred.eq(labels.view_as(pred)).sum().item()
    print(f"accuracy {correct}/16 lr {scheduler.get_last_lr()[0]}")
print(model)
print(sum(p.numel() for p in model.parameters() if p.requires_grad))
print(model.bn.running_mean)
