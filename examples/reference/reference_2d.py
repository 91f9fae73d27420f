#!/usr/bin/python3
"""PyTorch reference of the 2-D experiment (issue 11): one autoregressive conditional per
dimension, each a 2 x 64 ReLU MLP (p(x1) has no input: its 3K mixture parameters are
learned directly), K-component logistic mixtures whose initial means are spread evenly
over [-3, 3] with unit scales and equal weights; Adam lr 1e-3 with a cosine schedule to
0, 6000 steps of batch 512 of fresh samples; test NLL on 20 000 fresh points. Stage 2 is
p(x | x~) with x~ = x + N(0, sigma^2): p(x1 | x~) and p(x2 | x1, x~), each a 2 x 64 MLP.

The data sets are those of examples/common/datasets.c (same distributions, numpy's
generator). Run with Debian's /usr/bin/python3 (python3-torch); one summary line per run:

  reference_2d.py --dataset rings --components 8 --seed 1 [--steps 6000] [--stage2 1]
"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F


def sample(name, n, rng):
    u = lambda: rng.random(n)
    if name == "checkerboard":
        x1 = u() * 4 - 2
        x2 = u() - np.where(u() < 0.5, 2.0, 0.0)
        parity = np.floor(x1) - 2 * np.floor(np.floor(x1) / 2)
        return np.stack([x1 * 2, (x2 + parity) * 2], 1)
    if name == "rings":
        radius = (np.floor(u() * 4) + 1) * 0.75
        angle = u() * 2 * math.pi
        return np.stack([radius * np.cos(angle) + 0.08 * rng.standard_normal(n),
                         radius * np.sin(angle) + 0.08 * rng.standard_normal(n)], 1)
    if name == "8gaussians":
        angle = np.floor(u() * 8) * math.pi / 4
        return np.stack([(4 * np.cos(angle) + 0.5 * rng.standard_normal(n)) / 1.414,
                         (4 * np.sin(angle) + 0.5 * rng.standard_normal(n)) / 1.414], 1)
    if name == "2spirals":
        t = np.sqrt(u()) * 540 * (2 * math.pi) / 360
        sign = np.where(u() < 0.5, -1.0, 1.0)
        dx = -np.cos(t) * t + u() * 0.5
        dy = np.sin(t) * t + u() * 0.5
        return np.stack([sign * dx / 3 + 0.1 * rng.standard_normal(n),
                         sign * dy / 3 + 0.1 * rng.standard_normal(n)], 1)
    raise SystemExit(f"unknown data set {name}")


def mixture_log_prob(p, x, K):
    """p (n, 3K) = [logits, means, log-scales]; x (n,): log density of the logistic mixture."""
    logits, mu, s = p[:, :K], p[:, K:2 * K], p[:, 2 * K:].clamp(min=-7)
    z = (x[:, None] - mu) * torch.exp(-s)
    lp = -z - s - 2 * F.softplus(-z)
    return torch.logsumexp(lp + F.log_softmax(logits, -1), -1)


def head_bias(K):
    return torch.cat([torch.zeros(K), torch.linspace(-3, 3, K), torch.zeros(K)])


def mlp(n_in, K, hidden=64):
    net = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, 3 * K))
    with torch.no_grad():
        net[-1].bias.copy_(head_bias(K))
    return net


class AR2(torch.nn.Module):
    """p(x1 | c) p(x2 | x1, c) with c of dimension C (0: the unconditional direct model)."""

    def __init__(self, K, C=0):
        super().__init__()
        self.K, self.C = K, C
        if C == 0:
            self.first = torch.nn.Parameter(head_bias(K).clone())
        else:
            self.first_net = mlp(C, K)
        self.second = mlp(1 + C, K)

    def log_prob(self, x, c=None):
        n = x.shape[0]
        p1 = self.first.expand(n, -1) if self.C == 0 else self.first_net(c)
        inp = x[:, :1] if self.C == 0 else torch.cat([x[:, :1], c], 1)
        return mixture_log_prob(p1, x[:, 0], self.K) + mixture_log_prob(self.second(inp), x[:, 1], self.K)


def train(model, name, steps, batch, lr, rng, sigma=None):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=0.0)
    for _ in range(steps):
        x = torch.tensor(sample(name, batch, rng), dtype=torch.float32)
        c = None if sigma is None else x + sigma * torch.randn_like(x)
        loss = -model.log_prob(x, c).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="rings")
    ap.add_argument("--components", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--n-test", type=int, default=20000)
    ap.add_argument("--stage2", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    test = torch.tensor(sample(a.dataset, a.n_test, np.random.default_rng(10_000 + a.seed)),
                        dtype=torch.float32)
    t0 = time.time()
    direct = AR2(a.components)
    train(direct, a.dataset, a.steps, a.batch, a.lr, rng)
    with torch.no_grad():
        nll = -direct.log_prob(test).mean().item()
    free = sum(p.numel() for p in direct.parameters())
    line = (f"summary dataset={a.dataset} K={a.components} seed={a.seed} steps={a.steps} "
            f"batch={a.batch} ref_nll_direct={nll:.5f} ref_params_direct={free} "
            f"time_direct={time.time() - t0:.1f}")
    if a.stage2:
        t0 = time.time()
        stage2 = AR2(a.components, C=2)
        train(stage2, a.dataset, a.steps, a.batch, a.lr, rng, sigma=a.sigma)
        gen = torch.Generator().manual_seed(20_000 + a.seed)
        with torch.no_grad():
            xt = test + a.sigma * torch.randn(test.shape, generator=gen)
            nll2 = -stage2.log_prob(test, xt).mean().item()
        line += (f" ref_nll_stage2={nll2:.5f} ref_params_stage2="
                 f"{sum(p.numel() for p in stage2.parameters())} time_stage2={time.time() - t0:.1f}")
    print(line, flush=True)


if __name__ == "__main__":
    main()
