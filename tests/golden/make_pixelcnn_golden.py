#!/usr/bin/python3
"""Golden per-image log-probabilities of tiny PixelCNN++ networks from an independent
PyTorch reference (run once with /usr/bin/python3; the fixtures are committed, CI does not
need torch).

The reference follows Salimans et al. 2017 / docs/method.md section 4 as libdsmooth documents it
in lib/model/arch_pixelcnnpp.c: input plus a channel of ones; u and ul streams; gated resnets with
concat_elu; 3 levels with stride-2 shifted convs down and stride-2 transposed convs up
(cropped to the level above); skips from the up pass; head nin(elu(ul)). Conditional
models p(x | x~), by DS_MODEL_COND_LAYOUT:
  channels (0): a bias-free 1x1 conv of the conditioning features inside every gated
    resnet; the features are x~, or with DS_MODEL_COND_CONVS = n the output of n 3x3
    convs over x~ (padding 1, bias, concat_elu between), 2x2 average pooled per level;
  stacked (1): an unmodified unconditional PixelCNN++ on the (2H, W) image [x~; x]; the
    log-probability is the sum over the bottom half's pixels only.
Everything is computed in float64 from float32 weights.

Parameters are created lazily in the order the forward pass first uses them, which is
libdsmooth's flat layout, so `flat` below is exactly what the C test loads.

Fixture pixelcnn_<case>.bin, format DSGOLD1 (as make_conv_golden.py): tensors "config"
[channels, height, width, filters, resnets, K, head (0 continuous, 1 discretized),
conditional] followed by [cond layout, cond convs] when they are not the defaults (0, 0),
"params", "x" (n, D) images raster order with channels inside a pixel, "cond" (n, D) when
conditional, "log_prob" (n).
"""
import os
import struct

import torch
import torch.nn.functional as F

OUT = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)


class Params:
    """Weights created on first use, in use order, float32 values held as float64."""

    def __init__(self, gen):
        self.gen = gen
        self.flat = []

    def uniform(self, shape, fan_in):
        bound = 1.0 / fan_in ** 0.5
        t = (torch.rand(shape, generator=self.gen, dtype=torch.float32) * 2 - 1) * bound
        self.flat.append(t.reshape(-1))
        return t.to(torch.float64)

    def conv(self, cin, cout, kh, kw, bias=True):
        w = self.uniform((cout, cin, kh, kw), cin * kh * kw)
        b = self.uniform((cout,), cin * kh * kw) if bias else None
        return w, b

    def deconv(self, cin, cout, kh, kw):
        w = self.uniform((cin, cout, kh, kw), cin * kh * kw)
        b = self.uniform((cout,), cin * kh * kw)
        return w, b


def concat_elu(x):
    return F.elu(torch.cat([x, -x], 1))


def shifted_conv(P, x, cout, kind, stride=1):
    """kind: '2x3' down-shifted, '1x3' down-shifted, '2x1' / '2x2' down-right-shifted."""
    kh, kw = {"2x3": (2, 3), "1x3": (1, 3), "2x1": (2, 1), "2x2": (2, 2), "1x1": (1, 1)}[kind]
    w, b = P.conv(x.shape[1], cout, kh, kw)
    if kind in ("2x3", "1x3"):
        pad = ((kw - 1) // 2, (kw - 1) // 2, kh - 1, 0)
    else:
        pad = (kw - 1, 0, kh - 1, 0)
    return F.conv2d(F.pad(x, pad), w, b, stride=stride)


def shifted_deconv(P, x, kind, out_hw):
    kw = 3 if kind == "2x3" else 2
    w, b = P.deconv(x.shape[1], x.shape[1], 2, kw)
    y = F.conv_transpose2d(x, w, b, stride=2, output_padding=1)
    left = 1 if kind == "2x3" else 0
    return y[:, :, : out_hw[0], left : left + out_hw[1]]


def down_shift(x):
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1, :]


def right_shift(x):
    return F.pad(x, (1, 0, 0, 0))[:, :, :, :-1]


def gated_resnet(P, x, kind, skip, cond):
    Fn = x.shape[1]
    h = shifted_conv(P, concat_elu(x), Fn, kind)
    if skip is not None:
        w, b = P.conv(2 * skip.shape[1], Fn, 1, 1)
        h = h + F.conv2d(concat_elu(skip), w, b)
    if cond is not None:
        w, _ = P.conv(cond.shape[1], Fn, 1, 1, bias=False)
        h = h + F.conv2d(cond, w)
    ab = shifted_conv(P, concat_elu(h), 2 * Fn, kind)
    a, g = ab[:, :Fn], ab[:, Fn:]
    return x + a * torch.sigmoid(g)


def avg_pool_valid(c):
    """2x2 stride-2 average over the pixels each block has (odd sizes: edge blocks)."""
    n, ch, h, w = c.shape
    pad = (0, w % 2, 0, h % 2)
    s = F.avg_pool2d(F.pad(c, pad), 2, 2, divisor_override=1)
    cnt = F.avg_pool2d(F.pad(torch.ones(1, 1, h, w), pad), 2, 2, divisor_override=1)
    return s / cnt


def cond_features(P, cond, Fn, convs):
    """x~ -> conv3x3 -> (concat_elu -> conv3x3) * (convs - 1); x~ itself for convs = 0."""
    h = cond
    for i in range(convs):
        w, b = P.conv(h.shape[1] * (2 if i else 1), Fn, 3, 3)
        h = F.conv2d(concat_elu(h) if i else h, w, b, padding=1)
    return h


def pixelcnnpp(P, x, cond, Fn, R, head_channels, cond_convs=0):
    n, C, H, W = x.shape
    sizes = [(H, W)]
    for _ in range(2):
        sizes.append(((sizes[-1][0] - 1) // 2 + 1, (sizes[-1][1] - 1) // 2 + 1))
    conds = None
    if cond is not None:
        conds = [cond_features(P, cond, Fn, cond_convs)]
        for _ in range(2):
            conds.append(avg_pool_valid(conds[-1]))
    inp = torch.cat([x, torch.ones(n, 1, H, W)], 1)
    u = down_shift(shifted_conv(P, inp, Fn, "2x3"))
    ul = down_shift(shifted_conv(P, inp, Fn, "1x3")) + right_shift(shifted_conv(P, inp, Fn, "2x1"))
    us, uls = [u], [ul]
    for level in range(3):
        c = conds[level] if conds else None
        for _ in range(R):
            u = gated_resnet(P, u, "2x3", None, c)
            ul = gated_resnet(P, ul, "2x2", u, c)
            us.append(u)
            uls.append(ul)
        if level < 2:
            u = shifted_conv(P, u, Fn, "2x3", stride=2)
            ul = shifted_conv(P, ul, Fn, "2x2", stride=2)
            us.append(u)
            uls.append(ul)
    u, ul = us.pop(), uls.pop()
    for i in range(3):
        level = 2 - i
        c = conds[level] if conds else None
        for _ in range(R if i == 0 else R + 1):
            u = gated_resnet(P, u, "2x3", us.pop(), c)
            ul = gated_resnet(P, ul, "2x2", torch.cat([u, uls.pop()], 1), c)
        if i < 2:
            u = shifted_deconv(P, u, "2x3", sizes[level - 1])
            ul = shifted_deconv(P, ul, "2x2", sizes[level - 1])
    assert not us and not uls
    w, b = P.conv(Fn, head_channels, 1, 1)
    return F.conv2d(F.elu(ul), w, b)


def log_logistic(x, mu, log_s):
    z = (x - mu) * torch.exp(-log_s)
    return -z - log_s - 2 * F.softplus(-z)


def log_mass(x, mu, log_s):
    """PixelCNN++'s discretized logistic (256 bins over [-1, 1])."""
    centered = x - mu
    inv = torch.exp(-log_s)
    plus_in = inv * (centered + 1.0 / 255.0)
    min_in = inv * (centered - 1.0 / 255.0)
    cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)
    log_cdf_plus = plus_in - F.softplus(plus_in)
    log_one_minus_cdf_min = -F.softplus(min_in)
    mid_in = inv * centered
    log_pdf_mid = mid_in - log_s - 2.0 * F.softplus(mid_in)
    inner = torch.where(cdf_delta > 1e-5, torch.log(torch.clamp(cdf_delta, min=1e-12)),
                        log_pdf_mid - torch.log(torch.tensor(127.5)))
    return torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_min, inner))


def log_prob(out, x, K, discretized):
    """out (n, P, H, W), x (n, C, H, W) -> (n,) summed over pixels."""
    n, C, H, W = x.shape
    o = out.permute(0, 2, 3, 1)  # (n, H, W, P)
    xs = x.permute(0, 2, 3, 1)  # (n, H, W, C)
    dens = log_mass if discretized else log_logistic
    logits = o[..., :K]
    lw = torch.log_softmax(logits, -1)
    if C == 1:
        mu, ls = o[..., K : 2 * K], torch.clamp(o[..., 2 * K : 3 * K], min=-7.0)
        lp = torch.logsumexp(lw + dens(xs[..., :1], mu, ls), -1)
    else:
        blocks = [o[..., K + 3 * K * c : K + 3 * K * (c + 1)] for c in range(3)]
        mus = [bl[..., :K] for bl in blocks]
        lss = [torch.clamp(bl[..., K : 2 * K], min=-7.0) for bl in blocks]
        co = [torch.tanh(bl[..., 2 * K : 3 * K]) for bl in blocks]
        r, g, b = xs[..., 0:1], xs[..., 1:2], xs[..., 2:3]
        m_r = mus[0]
        m_g = mus[1] + co[0] * r
        m_b = mus[2] + co[1] * r + co[2] * g
        lp = torch.logsumexp(lw + dens(r, m_r, lss[0]) + dens(g, m_g, lss[1]) + dens(b, m_b, lss[2]), -1)
    return lp.sum(dim=(1, 2))


def save(name, tensors):
    with open(os.path.join(OUT, "pixelcnn_%s.bin" % name), "wb") as f:
        f.write(b"DSGOLD1\0")
        f.write(struct.pack("<I", len(tensors)))
        for key, t in tensors.items():
            t = t.detach().to(torch.float32).contiguous()
            f.write(struct.pack("<I", len(key)) + key.encode())
            f.write(struct.pack("<I", t.dim()))
            f.write(struct.pack("<%dI" % t.dim(), *t.shape))
            f.write(t.numpy().astype("<f4").tobytes())


def make(name, C, H, W, Fn, R, K, discretized, conditional, n, seed, layout=0, convs=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((n, C, H, W), generator=gen, dtype=torch.float32) * 1.8 - 0.9
    if discretized:
        x = torch.round((x + 1) * 127.5) / 127.5 - 1
    x = x.to(torch.float32).to(torch.float64)
    cond = None
    if conditional:
        cond = (x + 0.3 * torch.randn((n, C, H, W), generator=gen, dtype=torch.float32)).to(torch.float32).to(torch.float64)
    P = Params(gen)
    head = (10 if C == 3 else 3) * K
    if layout == 1:  # stacked: [x~; x] through the unconditional network, bottom half
        out = pixelcnnpp(P, torch.cat([cond, x], 2), None, Fn, R, head)[:, :, H:, :]
    else:
        out = pixelcnnpp(P, x, cond, Fn, R, head, convs)
    lp = log_prob(out, x, K, discretized)
    flat = torch.cat(P.flat)
    config = [C, H, W, Fn, R, K, int(discretized), int(conditional)]
    if layout or convs:
        config += [layout, convs]
    tensors = {
        "config": torch.tensor(config, dtype=torch.float32),
        "params": flat,
        "x": x.permute(0, 2, 3, 1).reshape(n, -1),
    }
    if conditional:
        tensors["cond"] = cond.permute(0, 2, 3, 1).reshape(n, -1)
    tensors["log_prob"] = lp
    save(name, tensors)
    print(name, "params", flat.numel(), "log_prob", [round(v, 5) for v in lp.tolist()])


if __name__ == "__main__":
    make("gray_discretized", 1, 8, 8, 4, 1, 2, True, False, 3, 11)
    make("rgb_continuous_cond", 3, 7, 6, 4, 1, 2, False, True, 3, 12)
    make("gray_continuous_r2", 1, 5, 9, 3, 2, 3, False, False, 2, 13)
    make("stacked_gray_discretized", 1, 5, 6, 4, 1, 2, True, True, 3, 14, layout=1)
    make("rgb_cond_convs2", 3, 6, 5, 4, 1, 2, True, True, 3, 15, convs=2)
