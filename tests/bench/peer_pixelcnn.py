#!/usr/bin/python3
"""PyTorch peer of pixelcnn_bench: the same PixelCNN++ (the reference network of
tests/golden/make_pixelcnn_golden.py, float32 here), the same sizes, at the thread count
given: Adam training images/s (discretized head), log-prob images/s, exact-score images/s
(continuous head, backprop to the input), optionally naive pixel-by-pixel sampling time.
Timing as pixelcnn_bench: the first call of each operation timed alone (first_*_ms), one
more warm-up call, then --reps steady-state calls on one batch; images/s = batch / median
wall seconds, images/cpu_s = batch / median CPU seconds of the process.
peak_rss_mib is the process's peak resident memory (includes the PyTorch runtime).
Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
torch.set_default_dtype(torch.float32)
import make_pixelcnn_golden as ref  # noqa: E402

torch.set_default_dtype(torch.float32)


class Replay(ref.Params):
    """Creates the weights on the first pass, hands out the same tensors afterwards."""

    def __init__(self, gen):
        super().__init__(gen)
        self.store, self.cursor = [], None

    def uniform(self, shape, fan_in):
        if self.cursor is None:
            bound = 1.0 / fan_in ** 0.5
            t = ((torch.rand(shape, generator=self.gen) * 2 - 1) * bound).requires_grad_()
            self.store.append(t)
            return t
        t = self.store[self.cursor]
        self.cursor += 1
        return t


def network(P, x, Fn, R, K):
    if P.store:
        P.cursor = 0
    out = ref.pixelcnnpp(P, x, None, Fn, R, 3 * K)
    if P.cursor is None:
        P.cursor = 0
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--filters", type=int, default=32)
    ap.add_argument("--resnets", type=int, default=2)
    ap.add_argument("--components", type=int, default=5)
    ap.add_argument("--reps", "--steps", type=int, default=7)
    ap.add_argument("--only", default="")
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--naive", type=int, default=0)  # libdsmooth's flag; PyTorch is always naive
    ap.add_argument("--only-sample", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    B, S, Fn, R, K = a.batch, a.size, a.filters, a.resnets, a.components
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (2 * B, 1, S, S), generator=gen).float() / 127.5 - 1
    P = Replay(gen)
    network(P, x[:1], Fn, R, K)
    opt = torch.optim.Adam(P.store, lr=2e-4)

    line = "pytorch threads=%d batch=%d reps=%d" % (a.threads, B, a.reps)

    def timed(name, fn):
        """first call alone, one warm-up, then a.reps timed calls: batch / median"""
        nonlocal line
        t0 = time.perf_counter()
        fn()
        first = time.perf_counter() - t0
        fn()
        sec, cpu = [], []
        for _ in range(a.reps):
            c0 = time.process_time()
            t0 = time.perf_counter()
            fn()
            sec.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        line += " %s_images_per_s=%.1f %s_images_per_cpu_s=%.1f first_%s_ms=%.1f" % (
            name, B / statistics.median(sec), name, B / statistics.median(cpu), name, 1e3 * first)

    if not a.only_sample:
        calls = [0]

        def train_step():
            s = calls[0] % 2
            calls[0] += 1
            xb = x[s * B : (s + 1) * B]
            opt.zero_grad()
            loss = -ref.log_prob(network(P, xb, Fn, R, K), xb, K, True).mean()
            loss.backward()
            opt.step()

        def log_prob():
            with torch.no_grad():
                ref.log_prob(network(P, x[:B], Fn, R, K), x[:B], K, True)

        def score():
            xs = x[:B].clone().requires_grad_()
            lp = ref.log_prob(network(P, xs, Fn, R, K), xs, K, False).sum()
            torch.autograd.grad(lp, xs)

        if a.only in ("", "train"):
            timed("train", train_step)
        if a.only in ("", "logprob"):
            timed("logprob", log_prob)
        if a.only in ("", "score"):
            timed("exact_score", score)
    if a.sample > 0:
        with torch.no_grad():
            img = torch.zeros(a.sample, 1, S, S)
            t0 = time.time()
            for i in range(S):
                for j in range(S):
                    out = network(P, img, Fn, R, K)[:, :, i, j]
                    logits, mu = out[:, :K], out[:, K : 2 * K]
                    ls = torch.clamp(out[:, 2 * K : 3 * K], min=-7)
                    k = torch.distributions.Categorical(logits=logits).sample()
                    u = torch.rand(a.sample).clamp(1e-5, 1 - 1e-5)
                    m, s = mu.gather(1, k[:, None])[:, 0], ls.gather(1, k[:, None])[:, 0]
                    v = m + torch.exp(s) * (torch.log(u) - torch.log1p(-u))
                    img[:, 0, i, j] = torch.clamp(torch.round((v + 1) * 127.5), 0, 255) / 127.5 - 1
            line += " sample_images=%d naive_sample_seconds=%.1f" % (a.sample, time.time() - t0)
    line += " peak_rss_mib=%.0f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    print(line, flush=True)


if __name__ == "__main__":
    main()
