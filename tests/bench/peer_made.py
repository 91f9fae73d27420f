#!/usr/bin/python3
"""PyTorch peer of made_bench: the same MADE (D=2, hidden 64-64, K=5, logistic-mixture
conditionals, the same mask degrees), Adam training steps/s at batch 1024 and log-density
points/s, at the thread count given. Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse
import math
import time

import torch
import torch.nn.functional as F


def masks(D, hidden, K):
    deg_in = torch.arange(1, D + 1)
    lo = 1 if D > 1 else 0
    degs = [deg_in]
    for h in hidden:
        span = max(D - lo, 1)
        degs.append(lo + torch.arange(h) % span)
    out_deg = torch.arange(1, D + 1).repeat_interleave(3 * K)
    ms = [(degs[l + 1][:, None] >= degs[l][None, :]).float() for l in range(len(hidden))]
    ms.append((out_deg[:, None] > degs[-1][None, :]).float())
    return ms


class MADE(torch.nn.Module):
    def __init__(self, D=2, hidden=(64, 64), K=5):
        super().__init__()
        self.D, self.K = D, K
        dims = [D, *hidden, 3 * K * D]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        for l, m in zip(self.layers, masks(D, hidden, K)):
            l.register_buffer("mask", m)

    def forward(self, x):
        h = x
        for i, l in enumerate(self.layers):
            h = F.linear(h, l.weight * l.mask, l.bias)
            if i < len(self.layers) - 1:
                h = torch.relu(h)
        return h.view(-1, self.D, 3, self.K)

    def log_prob(self, x):
        p = self.forward(x)
        logits, mu, s = p[:, :, 0], p[:, :, 1], p[:, :, 2].clamp(min=-7)
        z = (x[..., None] - mu) * torch.exp(-s)
        lp = -z - s - 2 * F.softplus(-z)
        return torch.logsumexp(lp + F.log_softmax(logits, -1), -1).sum(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--points", type=int, default=262144)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = MADE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(a.batch * 8, 2) * 4 - 2
    def step(i):
        b = x[(i % 8) * a.batch:(i % 8 + 1) * a.batch]
        opt.zero_grad()
        loss = -model.log_prob(b).mean()
        loss.backward()
        opt.step()
    for i in range(20):
        step(i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        step(i)
    train_s = time.perf_counter() - t0
    pts = torch.rand(a.points, 2) * 4 - 2
    with torch.no_grad():
        model.log_prob(pts)
        t0 = time.perf_counter()
        for _ in range(3):
            model.log_prob(pts)
        eval_s = (time.perf_counter() - t0) / 3
    print(f"pytorch threads={a.threads} train_steps_per_s={a.steps / train_s:.1f} batch={a.batch} "
          f"logprob_points_per_s={a.points / eval_s:.0f}")


if __name__ == "__main__":
    main()
