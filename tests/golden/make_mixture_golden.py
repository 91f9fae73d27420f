"""Golden values for tests/test_logistic_mixture.c from an independent PyTorch reference.

Run once with a Python that has torch (here /usr/bin/python3); it writes the fixtures
mixture_golden.txt (scalar heads) and mixture_rgb_golden.txt (RGB joint mixture) next to
itself. They are committed and CI only reads them.

  /usr/bin/python3 tests/golden/make_mixture_golden.py

The discretized head follows the formulas of PixelCNN++'s discretized_mix_logistic_loss
(Salimans et al. 2017) for one grayscale value, written for a general bin grid (half-width h;
8-bit data on [-1, 1] has h = 1/255 and log(2h) = -log(127.5)). Everything is float64;
params and x are first rounded to float32 because the C side stores them as float.

Line format of mixture_golden.txt (whitespace separated):
  kind K count lo hi x logp p[0..3K) grad_p[0..3K) grad_x
kind c = continuous (count lo hi are 0 and grad_x is d log p / dx), d = discretized
(grad_x written as 0).
mixture_rgb_golden.txt, the PixelCNN++ RGB loss (one component choice per pixel, coupled
means), params in the official layout [logits K | per channel: means K, log-scales K, coeffs K]:
  kind K count lo hi x0 x1 x2 logp p[0..10K) grad_p[0..10K) gx0 gx1 gx2
kind C = continuous, D = discretized (gx written as 0).
"""
import os
import math
import sys

import torch

torch.set_default_dtype(torch.float64)
LOG_SCALE_MIN = -7.0


def split(p, K):
    return p[:K], p[K:2 * K], torch.clamp(p[2 * K:], min=LOG_SCALE_MIN)


def log_density(p, K, x):
    logits, means, log_scales = split(p, K)
    z = (x - means) * torch.exp(-log_scales)
    comp = -z - log_scales - 2.0 * torch.nn.functional.softplus(-z)
    return torch.logsumexp(comp + torch.log_softmax(logits, 0), 0)


def log_mass(p, K, x, h, lo, hi, branches=None):
    """x is a bin centre; mirrors discretized_mix_logistic_loss for one channel."""
    sp = torch.nn.functional.softplus
    logits, means, log_scales = split(p, K)
    centered = x - means
    inv_stdv = torch.exp(-log_scales)
    plus_in = inv_stdv * (centered + h)
    cdf_plus = torch.sigmoid(plus_in)
    min_in = inv_stdv * (centered - h)
    cdf_min = torch.sigmoid(min_in)
    log_cdf_plus = plus_in - sp(plus_in)          # left edge bin
    log_one_minus_cdf_min = -sp(min_in)           # right edge bin
    cdf_delta = cdf_plus - cdf_min
    mid_in = inv_stdv * centered
    log_pdf_mid = mid_in - log_scales - 2.0 * sp(mid_in)
    inner = torch.where(cdf_delta > 1e-5, torch.log(torch.clamp(cdf_delta, min=1e-12)),
                        log_pdf_mid + math.log(2.0 * h))
    if branches is not None:
        branches.append(cdf_delta.detach())
    log_probs = torch.where(x < lo + h, log_cdf_plus,
                            torch.where(x > hi - h, log_one_minus_cdf_min, inner))
    return torch.logsumexp(log_probs + torch.log_softmax(logits, 0), 0)


def f32(v):
    return torch.as_tensor(v).to(torch.float32).to(torch.float64)


def fmt(v):
    return "%.17g" % float(v)


def emit(out_f, kind, K, count, lo, hi, x, p):
    p = p.clone().requires_grad_(True)
    xt = x.clone().requires_grad_(True)
    if kind == "c":
        out = log_density(p, K, xt)
    else:
        step = (hi - lo) / (count - 1)
        b = min(max(int(math.floor((float(x) - lo) / step + 0.5)), 0), count - 1)
        centre = torch.tensor(lo + b * step)
        deltas = []
        out = log_mass(p, K, centre, step / 2, lo, hi, deltas)
        if b not in (0, count - 1):  # stay clear of the 1e-5 branch switch
            d = deltas[0].clamp(min=1e-300).log()
            if torch.any((d - math.log(1e-5)).abs() < 0.05):
                return False
    out.backward()
    gx = xt.grad if (kind == "c" and xt.grad is not None) else torch.tensor(0.0)
    cols = [kind, str(K), str(count), fmt(lo), fmt(hi), fmt(x), fmt(out)]
    cols += [fmt(v) for v in p.detach()] + [fmt(v) for v in p.grad] + [fmt(gx)]
    out_f.write(" ".join(cols) + "\n")
    return True


def params(g, K, scale_lo=-4.0, scale_hi=1.0):
    logits = torch.randn(K, generator=g) * 2.0
    means = torch.rand(K, generator=g) * 2.0 - 1.0
    ls = torch.rand(K, generator=g) * (scale_hi - scale_lo) + scale_lo
    return f32(torch.cat([logits, means, ls]))


def centre_of(x, count, lo, hi):
    step = (hi - lo) / (count - 1)
    b = min(max(int(math.floor((float(x) - lo) / step + 0.5)), 0), count - 1)
    return lo + b * step


def rgb_log_prob(p, K, x, bins):
    """PixelCNN++ RGB loss for one pixel; bins None = continuous channels. x: 3 values."""
    logits = p[:K]
    blk = [p[K + 3 * K * c: K + 3 * K * (c + 1)] for c in range(3)]
    means = [b[:K] for b in blk]
    log_scales = [b[K:2 * K] for b in blk]
    coeffs = [torch.tanh(b[2 * K:]) for b in blk]
    mu = [means[0], means[1] + coeffs[0] * x[0], means[2] + coeffs[1] * x[0] + coeffs[2] * x[1]]
    total = torch.log_softmax(logits, 0)
    for c in range(3):
        if bins is None:
            comp = component_log_pdf(mu[c], log_scales[c], x[c])
        else:
            count, lo, hi = bins
            h = (hi - lo) / (count - 1) / 2
            comp = component_log_mass(mu[c], log_scales[c], x[c], h, lo, hi)
        total = total + comp
    return torch.logsumexp(total, 0)


def component_log_pdf(means, log_scales, x):
    log_scales = torch.clamp(log_scales, min=LOG_SCALE_MIN)
    z = (x - means) * torch.exp(-log_scales)
    return -z - log_scales - 2.0 * torch.nn.functional.softplus(-z)


def component_log_mass(means, log_scales, x, h, lo, hi):
    sp = torch.nn.functional.softplus
    log_scales = torch.clamp(log_scales, min=LOG_SCALE_MIN)
    centered = x - means
    inv_stdv = torch.exp(-log_scales)
    plus_in = inv_stdv * (centered + h)
    min_in = inv_stdv * (centered - h)
    cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)
    mid_in = inv_stdv * centered
    log_pdf_mid = mid_in - log_scales - 2.0 * sp(mid_in)
    inner = torch.where(cdf_delta > 1e-5, torch.log(torch.clamp(cdf_delta, min=1e-12)),
                        log_pdf_mid + math.log(2.0 * h))
    if torch.any(((cdf_delta.clamp(min=1e-300).log() - math.log(1e-5)).abs() < 0.05)
                 & (x > lo + h) & (x < hi - h)):
        raise ValueError("near the branch switch")
    return torch.where(x < lo + h, plus_in - sp(plus_in), torch.where(x > hi - h, -sp(min_in), inner))


def emit_rgb(out_f, K, bins, x, p):
    p = p.clone().requires_grad_(True)
    if bins is None:
        xt = x.clone().requires_grad_(True)
        xs = [xt[0], xt[1], xt[2]]
        count, lo, hi = 0, 0.0, 0.0
    else:
        count, lo, hi = bins
        xt = torch.tensor([centre_of(v, count, lo, hi) for v in x])
        xs = [xt[0], xt[1], xt[2]]
    try:
        out = rgb_log_prob(p, K, xs, bins)
    except ValueError:
        return False
    out.backward()
    gx = xt.grad if bins is None else torch.zeros(3)
    cols = ["C" if bins is None else "D", str(K), str(count), fmt(lo), fmt(hi)]
    cols += [fmt(v) for v in x] + [fmt(out)]
    cols += [fmt(v) for v in p.detach()] + [fmt(v) for v in p.grad] + [fmt(v) for v in gx]
    out_f.write(" ".join(cols) + "\n")
    return True


def rgb_params(g, K, scale_lo=-4.0, scale_hi=0.5):
    parts = [torch.randn(K, generator=g) * 2.0]
    for _ in range(3):
        parts.append(torch.rand(K, generator=g) * 2.0 - 1.0)
        parts.append(torch.rand(K, generator=g) * (scale_hi - scale_lo) + scale_lo)
        parts.append(torch.randn(K, generator=g))
    return f32(torch.cat(parts))


def main():
    g = torch.Generator().manual_seed(20261129)
    here = os.path.dirname(os.path.abspath(__file__))
    header = ("# generated by tests/golden/make_mixture_golden.py (torch %s); see there for the format\n"
              % torch.__version__)
    f = open(os.path.join(here, "mixture_golden.txt"), "w")
    f.write(header)
    n = 0
    # continuous: bulk, tails, clamped log-scales
    for K in (1, 3, 5, 10):
        for x in (-0.3, 0.05, 0.9, 2.5, -6.0, 25.0):
            n += emit(f, "c", K, 0, 0.0, 0.0, f32(x), params(g, K))
    for K in (2, 4):
        for x in (0.0, 0.4, -3.0):
            n += emit(f, "c", K, 0, 0.0, 0.0, f32(x), params(g, K, -9.0, -5.0))
    # discretized 8-bit: interior, edges, far-from-mean (pdf fallback), clamped log-scales
    for K in (1, 3, 5, 10):
        for v in (0, 1, 77, 128, 200, 254, 255):
            n += emit(f, "d", K, 256, -1.0, 1.0, f32(v / 255.0 * 2.0 - 1.0), params(g, K))
    for K in (2, 5):
        for v in (3, 60, 130, 250):
            n += emit(f, "d", K, 256, -1.0, 1.0, f32(v / 255.0 * 2.0 - 1.0), params(g, K, -9.0, -4.5))
    # discretized, small grid {5, -2, 2}; x off-centre (snapped) and outside the range
    for K in (1, 3):
        for x in (-2.6, -1.2, 0.1, 0.9, 1.7, 3.0):
            n += emit(f, "d", K, 5, -2.0, 2.0, f32(x), params(g, K))
    f.write("# %d cases\n" % n)
    f.close()
    sys.stderr.write("mixture_golden.txt: %d cases\n" % n)

    g = torch.Generator().manual_seed(3)
    f = open(os.path.join(here, "mixture_rgb_golden.txt"), "w")
    f.write(header)
    n = 0
    for K in (1, 2, 5):
        for x in ((-0.2, 0.3, 0.7), (0.9, -0.95, 0.1), (2.5, -3.0, 0.0)):
            n += emit_rgb(f, K, None, f32(x), rgb_params(g, K))
    for K in (1, 3, 5):
        for v in ((0, 128, 255), (17, 200, 90), (255, 254, 1), (128, 128, 128)):
            x = f32([c / 255.0 * 2.0 - 1.0 for c in v])
            n += emit_rgb(f, K, (256, -1.0, 1.0), x, rgb_params(g, K))
            n += emit_rgb(f, K, (256, -1.0, 1.0), x, rgb_params(g, K, -9.0, -4.5))
    f.write("# %d cases\n" % n)
    f.close()
    sys.stderr.write("mixture_rgb_golden.txt: %d cases\n" % n)


if __name__ == "__main__":
    main()
