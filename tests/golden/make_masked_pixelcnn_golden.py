#!/usr/bin/python3
"""Golden per-image log-probabilities of tiny masked PixelCNNs (DS_ARCH_PIXELCNN) from an
independent PyTorch reference built from torch.nn modules (run once with /usr/bin/python3;
the fixtures are committed, CI does not need torch).

The network follows van den Oord et al. 2016 as libdsmooth documents it in include/dsmooth.h
and lib/model/arch_pixelcnn_masked.c:
    in   = [x, 1]
    h    = MaskedConv2d('A', C + 1 -> F, 7x7)(in)
    L blocks: p = MaskedConv2d('B', F -> G, 3x3)(h) [+ Conv2d(C -> G, 1x1, no bias)(x~)]
              gated (G = 2F): h = h + tanh(p[:, :F]) * sigmoid(p[:, F:])
              plain (G = F):  h = h + act(p)
    head = Conv2d(F -> P, 1x1)(act(Conv2d(F -> F, 1x1)(act(h))))
with zero padding k // 2 ("same" size) and act = ReLU or ELU. The masks are written here
the classic way (rows below the centre and the centre row from the centre (A) or right of it
(B) zeroed), independently of libdsmooth's ds__mask_allows. Everything is computed in
float64 from float32 weights; masked taps are exactly zero in the weights.

The modules are listed in the order libdsmooth's flat parameter layout stores them (each
weight then its bias), so `flat` below is exactly what the C test loads.

Fixture pixelcnn_masked_<case>.bin, format DSGOLD1 (make_pixelcnn_golden.py's save):
tensors "config" [channels, height, width, filters, layers, K, head (0 continuous,
1 discretized), conditional, gated, activation (0 relu, 2 elu: ds_activation)], "params",
"x" (n, D) images raster order with channels inside a pixel, "cond" (n, D) when
conditional, "log_prob" (n).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

import make_pixelcnn_golden as ref  # log_prob (the heads) and save (DSGOLD1)

torch.set_default_dtype(torch.float64)


class MaskedConv2d(nn.Conv2d):
    """A k x k convolution with 'same' zero padding whose taps after the centre in raster
    order (mask 'B'), or at and after it (mask 'A'), are zero."""

    def __init__(self, mask_type, cin, cout, k):
        super().__init__(cin, cout, k, padding=k // 2)
        mask = torch.ones(k, k)
        mask[k // 2, k // 2 + (mask_type == "B"):] = 0
        mask[k // 2 + 1:, :] = 0
        self.register_buffer("mask", mask[None, None])

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class MaskedPixelCNN(nn.Module):
    def __init__(self, C, Fn, L, head_channels, conditional, gated, act):
        super().__init__()
        G = 2 * Fn if gated else Fn
        self.Fn, self.gated = Fn, gated
        self.act = nn.ReLU() if act == 0 else nn.ELU()
        self.first = MaskedConv2d("A", C + 1, Fn, 7)
        self.blocks = nn.ModuleList()
        self.conds = nn.ModuleList()
        for _ in range(L):
            self.blocks.append(MaskedConv2d("B", Fn, G, 3))
            if conditional:
                self.conds.append(nn.Conv2d(C, G, 1, bias=False))
        self.out1 = nn.Conv2d(Fn, Fn, 1)
        self.out2 = nn.Conv2d(Fn, head_channels, 1)

    def layout(self):
        """The convolutions in libdsmooth's flat parameter order."""
        mods = [self.first]
        for i, block in enumerate(self.blocks):
            mods.append(block)
            if len(self.conds):
                mods.append(self.conds[i])
        return mods + [self.out1, self.out2]

    def forward(self, x, cond):
        n, C, H, W = x.shape
        h = self.first(torch.cat([x, torch.ones(n, 1, H, W)], 1))
        for i, block in enumerate(self.blocks):
            p = block(h)
            if cond is not None:
                p = p + self.conds[i](cond)
            if self.gated:
                h = h + torch.tanh(p[:, : self.Fn]) * torch.sigmoid(p[:, self.Fn:])
            else:
                h = h + self.act(p)
        return self.out2(self.act(self.out1(self.act(h))))


def fill(net, gen):
    """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) float32 weights and biases in layout order,
    masked taps zero; returns the flat float32 parameter vector."""
    flat = []
    with torch.no_grad():
        for mod in net.layout():
            cout, cin, kh, kw = mod.weight.shape
            bound = 1.0 / (cin * kh * kw) ** 0.5
            w = (torch.rand(mod.weight.shape, generator=gen, dtype=torch.float32) * 2 - 1) * bound
            if isinstance(mod, MaskedConv2d):
                w = torch.where(mod.mask.to(torch.bool), w, torch.zeros((), dtype=torch.float32))
            mod.weight.copy_(w.to(torch.float64))
            flat.append(w.reshape(-1))
            if mod.bias is not None:
                b = (torch.rand((cout,), generator=gen, dtype=torch.float32) * 2 - 1) * bound
                mod.bias.copy_(b.to(torch.float64))
                flat.append(b)
    return torch.cat(flat)


def make(name, C, H, W, Fn, L, K, discretized, conditional, gated, act, n, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((n, C, H, W), generator=gen, dtype=torch.float32) * 1.8 - 0.9
    if discretized:
        x = torch.round((x + 1) * 127.5) / 127.5 - 1
    x = x.to(torch.float32).to(torch.float64)
    cond = None
    if conditional:
        cond = (x + 0.3 * torch.randn((n, C, H, W), generator=gen, dtype=torch.float32))
        cond = cond.to(torch.float32).to(torch.float64)
    net = MaskedPixelCNN(C, Fn, L, (10 if C == 3 else 3) * K, conditional, gated, act).double()
    flat = fill(net, gen)
    with torch.no_grad():
        lp = ref.log_prob(net(x, cond), x, K, discretized)
    tensors = {
        "config": torch.tensor([C, H, W, Fn, L, K, int(discretized), int(conditional),
                                int(gated), act], dtype=torch.float32),
        "params": flat,
        "x": x.permute(0, 2, 3, 1).reshape(n, -1),
    }
    if conditional:
        tensors["cond"] = cond.permute(0, 2, 3, 1).reshape(n, -1)
    tensors["log_prob"] = lp
    ref.save("masked_" + name, tensors)
    print(name, "params", flat.numel(), "log_prob", [round(v, 5) for v in lp.tolist()])


if __name__ == "__main__":
    make("gray_discretized_gated", 1, 8, 8, 4, 2, 2, True, False, True, 0, 3, 21)
    make("rgb_continuous_cond_gated", 3, 7, 6, 4, 2, 2, False, True, True, 2, 3, 22)
    make("gray_continuous_plain_relu", 1, 5, 9, 3, 3, 3, False, False, False, 0, 2, 23)
    make("rgb_discretized_cond_plain_elu", 3, 6, 5, 3, 1, 2, True, True, False, 2, 2, 24)
