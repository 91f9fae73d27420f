#!/usr/bin/python3
"""Fixtures for examples/python/convert_torch.py: PyTorch models, their state_dicts as .npz,
inputs and PyTorch's log-probabilities. Run once with torch (Debian's python3-torch):

    /usr/bin/python3 tests/torch_convert/make_fixture.py

CI does not install torch: run_torch_convert_test.sh converts the committed .npz files and
compares libdsmooth's log-probabilities with the ones saved here.

PixelCNN++: the module tree of pixel-cnn-pp (github.com/pclucas14/pixel-cnn-pp, model.py and
layers.py), so the state_dict has its key names: weight-normalised shifted convolutions and
transposed convolutions, nin layers as weight-normalised Linear maps over channels, gated
resnets with concat_elu and Dropout2d, the u/ul streams with nr_resnet resnets per level up
and nr_resnet, nr_resnet + 1, nr_resnet + 1 down. Log-probabilities are pixel-cnn-pp's
discretized_mix_logistic_loss (and _1d for grayscale), per image instead of summed, in
float64 from the float32 weights, with weight_g set away from ||weight_v|| so that folding
the normalisation matters.

MADE: masked linear layers in pytorch-made's style (a `mask` buffer per layer, random
hidden-unit degrees, outputs ordered parameter-major: output o is dimension o % D), a
logistic mixture of K components per dimension ([logits, means, log-scales], log-scales
clamped below at -7), unconditional and conditional on c (stage 2).
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm as wn

HERE = os.path.dirname(os.path.abspath(__file__))


def concat_elu(x):
    return F.elu(torch.cat([x, -x], 1))


def down_shift(x):
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1, :]


def right_shift(x):
    return F.pad(x, (1, 0, 0, 0))[:, :, :, :-1]


class nin(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.lin_a = wn(nn.Linear(dim_in, dim_out))

    def forward(self, x):
        return self.lin_a(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class down_shifted_conv2d(nn.Module):
    def __init__(self, cin, cout, filter_size=(2, 3), stride=(1, 1), shift_output_down=False):
        super().__init__()
        self.conv = wn(nn.Conv2d(cin, cout, filter_size, stride))
        self.pad = ((filter_size[1] - 1) // 2, (filter_size[1] - 1) // 2, filter_size[0] - 1, 0)
        self.shift = shift_output_down

    def forward(self, x):
        x = self.conv(F.pad(x, self.pad))
        return down_shift(x) if self.shift else x


class down_right_shifted_conv2d(nn.Module):
    def __init__(self, cin, cout, filter_size=(2, 2), stride=(1, 1), shift_output_right=False):
        super().__init__()
        self.conv = wn(nn.Conv2d(cin, cout, filter_size, stride))
        self.pad = (filter_size[1] - 1, 0, filter_size[0] - 1, 0)
        self.shift = shift_output_right

    def forward(self, x):
        x = self.conv(F.pad(x, self.pad))
        return right_shift(x) if self.shift else x


class down_shifted_deconv2d(nn.Module):
    def __init__(self, cin, cout, filter_size=(2, 3), stride=(2, 2)):
        super().__init__()
        self.deconv = wn(nn.ConvTranspose2d(cin, cout, filter_size, stride, output_padding=1))
        self.fs = filter_size

    def forward(self, x):
        x = self.deconv(x)
        h, w = x.shape[2], x.shape[3]
        c = (self.fs[1] - 1) // 2
        return x[:, :, : h - self.fs[0] + 1, c : w - c]


class down_right_shifted_deconv2d(nn.Module):
    def __init__(self, cin, cout, filter_size=(2, 2), stride=(2, 2)):
        super().__init__()
        self.deconv = wn(nn.ConvTranspose2d(cin, cout, filter_size, stride, output_padding=1))
        self.fs = filter_size

    def forward(self, x):
        x = self.deconv(x)
        h, w = x.shape[2], x.shape[3]
        return x[:, :, : h - self.fs[0] + 1, : w - self.fs[1] + 1]


class gated_resnet(nn.Module):
    def __init__(self, nf, conv_op, skip_connection=0):
        super().__init__()
        self.conv_input = conv_op(2 * nf, nf)
        if skip_connection:
            self.nin_skip = nin(2 * skip_connection * nf, nf)
        self.dropout = nn.Dropout2d(0.5)
        self.conv_out = conv_op(2 * nf, 2 * nf)

    def forward(self, og_x, a=None):
        x = self.conv_input(concat_elu(og_x))
        if a is not None:
            x = x + self.nin_skip(concat_elu(a))
        x = self.conv_out(self.dropout(concat_elu(x)))
        a, b = torch.chunk(x, 2, dim=1)
        return og_x + a * torch.sigmoid(b)


class PixelCNNLayer_up(nn.Module):
    def __init__(self, nr_resnet, nf):
        super().__init__()
        self.u_stream = nn.ModuleList([gated_resnet(nf, down_shifted_conv2d, 0) for _ in range(nr_resnet)])
        self.ul_stream = nn.ModuleList([gated_resnet(nf, down_right_shifted_conv2d, 1) for _ in range(nr_resnet)])

    def forward(self, u, ul):
        us, uls = [], []
        for su, sul in zip(self.u_stream, self.ul_stream):
            u = su(u)
            ul = sul(ul, a=u)
            us.append(u)
            uls.append(ul)
        return us, uls


class PixelCNNLayer_down(nn.Module):
    def __init__(self, nr_resnet, nf):
        super().__init__()
        self.u_stream = nn.ModuleList([gated_resnet(nf, down_shifted_conv2d, 1) for _ in range(nr_resnet)])
        self.ul_stream = nn.ModuleList([gated_resnet(nf, down_right_shifted_conv2d, 2) for _ in range(nr_resnet)])

    def forward(self, u, ul, us, uls):
        for su, sul in zip(self.u_stream, self.ul_stream):
            u = su(u, a=us.pop())
            ul = sul(ul, a=torch.cat((u, uls.pop()), 1))
        return u, ul


class PixelCNN(nn.Module):
    def __init__(self, nr_resnet, nf, nr_logistic_mix, input_channels):
        super().__init__()
        self.down_layers = nn.ModuleList([PixelCNNLayer_down(n, nf) for n in [nr_resnet] + [nr_resnet + 1] * 2])
        self.up_layers = nn.ModuleList([PixelCNNLayer_up(nr_resnet, nf) for _ in range(3)])
        self.downsize_u_stream = nn.ModuleList([down_shifted_conv2d(nf, nf, stride=(2, 2)) for _ in range(2)])
        self.downsize_ul_stream = nn.ModuleList([down_right_shifted_conv2d(nf, nf, stride=(2, 2)) for _ in range(2)])
        self.upsize_u_stream = nn.ModuleList([down_shifted_deconv2d(nf, nf) for _ in range(2)])
        self.upsize_ul_stream = nn.ModuleList([down_right_shifted_deconv2d(nf, nf) for _ in range(2)])
        self.u_init = down_shifted_conv2d(input_channels + 1, nf, (2, 3), shift_output_down=True)
        self.ul_init = nn.ModuleList([
            down_shifted_conv2d(input_channels + 1, nf, (1, 3), shift_output_down=True),
            down_right_shifted_conv2d(input_channels + 1, nf, (2, 1), shift_output_right=True)])
        self.nin_out = nin(nf, (3 if input_channels == 1 else 10) * nr_logistic_mix)

    def forward(self, x):
        x = torch.cat((x, torch.ones_like(x[:, :1])), 1)
        us = [self.u_init(x)]
        uls = [self.ul_init[0](x) + self.ul_init[1](x)]
        for i in range(3):
            u_out, ul_out = self.up_layers[i](us[-1], uls[-1])
            us += u_out
            uls += ul_out
            if i != 2:
                us.append(self.downsize_u_stream[i](us[-1]))
                uls.append(self.downsize_ul_stream[i](uls[-1]))
        u, ul = us.pop(), uls.pop()
        for i in range(3):
            u, ul = self.down_layers[i](u, ul, us, uls)
            if i != 2:
                u = self.upsize_u_stream[i](u)
                ul = self.upsize_ul_stream[i](ul)
        assert not us and not uls
        return self.nin_out(F.elu(ul))


def log_sum_exp(x):
    m = x.max(-1, keepdim=True)[0]
    return m.squeeze(-1) + torch.log(torch.sum(torch.exp(x - m), -1))


def log_prob_from_logits(x):
    m = x.max(-1, keepdim=True)[0]
    return x - m - torch.log(torch.sum(torch.exp(x - m), -1, keepdim=True))


def discretized_log_prob(x, l):
    """pixel-cnn-pp's discretized_mix_logistic_loss(_1d), per image (n,): x (n, C, H, W)."""
    x = x.permute(0, 2, 3, 1)
    l = l.permute(0, 2, 3, 1)
    C = x.shape[-1]
    K = l.shape[-1] // (3 if C == 1 else 10)
    logit_probs = l[..., :K]
    l = l[..., K:].contiguous().view(list(x.shape) + [K * (2 if C == 1 else 3)])
    means = l[..., :K]
    log_scales = torch.clamp(l[..., K : 2 * K], min=-7.0)
    x = x.unsqueeze(-1) + torch.zeros(list(x.shape) + [K], dtype=x.dtype)
    if C == 3:
        coeffs = torch.tanh(l[..., 2 * K : 3 * K])
        m2 = (means[..., 1, :] + coeffs[..., 0, :] * x[..., 0, :]).unsqueeze(-2)
        m3 = (means[..., 2, :] + coeffs[..., 1, :] * x[..., 0, :] + coeffs[..., 2, :] * x[..., 1, :]).unsqueeze(-2)
        means = torch.cat((means[..., 0:1, :], m2, m3), dim=-2)
    centered = x - means
    inv = torch.exp(-log_scales)
    plus_in = inv * (centered + 1.0 / 255.0)
    min_in = inv * (centered - 1.0 / 255.0)
    cdf_plus, cdf_min = torch.sigmoid(plus_in), torch.sigmoid(min_in)
    log_cdf_plus = plus_in - F.softplus(plus_in)
    log_one_minus_cdf_min = -F.softplus(min_in)
    cdf_delta = cdf_plus - cdf_min
    mid_in = inv * centered
    log_pdf_mid = mid_in - log_scales - 2.0 * F.softplus(mid_in)
    inner_inner = torch.where(cdf_delta > 1e-5, torch.log(torch.clamp(cdf_delta, min=1e-12)),
                              log_pdf_mid - np.log(127.5))
    inner = torch.where(x > 0.999, log_one_minus_cdf_min, inner_inner)
    lp = torch.where(x < -0.999, log_cdf_plus, inner)
    lp = torch.sum(lp, dim=3) + log_prob_from_logits(logit_probs)
    return log_sum_exp(lp).sum(dim=(1, 2))


def state_arrays(model):
    return {k: v.detach().to(torch.float32).numpy() for k, v in model.state_dict().items()}


def make_pixelcnnpp(name, C, H, W, nf, R, K, n, seed):
    torch.manual_seed(seed)
    model = PixelCNN(R, nf, K, C)
    with torch.no_grad():  # g away from ||v||: folding the normalisation must matter
        for k, p in model.named_parameters():
            if k.endswith("weight_g"):
                p.mul_(torch.empty_like(p).uniform_(0.5, 1.5))
            elif k.endswith("bias"):
                p.uniform_(-0.3, 0.3)
    state = state_arrays(model)  # float32, what a checkpoint holds
    model = model.double().eval()
    x = torch.randint(0, 256, (n, C, H, W), dtype=torch.int64).double() / 127.5 - 1
    with torch.no_grad():
        lp = discretized_log_prob(x, model(x))
    np.savez_compressed(os.path.join(HERE, name + "_state.npz"), **state)
    np.save(os.path.join(HERE, name + "_x.npy"), x.permute(0, 2, 3, 1).numpy().astype(np.float32))
    np.save(os.path.join(HERE, name + "_log_prob.npy"), lp.numpy())
    print(name, sum(v.size for v in state.values()), "values; log p", lp.numpy().round(4))


class MaskedLinear(nn.Linear):
    def __init__(self, nin, nout):
        super().__init__(nin, nout)
        self.register_buffer("mask", torch.ones(nout, nin))

    def forward(self, x):
        return F.linear(x, self.mask * self.weight, self.bias)


class MADE(nn.Module):
    """pytorch-made's structure: hidden degrees drawn at random, outputs parameter-major."""

    def __init__(self, D, cond_dim, hidden, K, act, seed):
        super().__init__()
        rng = np.random.RandomState(seed)
        sizes = [D + cond_dim] + hidden + [3 * K * D]
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [MaskedLinear(a, b), act()]
        self.net = nn.Sequential(*layers[:-1])
        # degrees: x_d -> d, c -> -1 (seen by every unit); hidden in [min, D - 2]
        deg = [np.concatenate([np.arange(D), -np.ones(cond_dim, dtype=int)])]
        for h in hidden:
            deg.append(rng.randint(deg[-1].min() if cond_dim == 0 else -1, D - 1, size=h))
        masks = [deg[l][None, :] <= deg[l + 1][:, None] for l in range(len(hidden))]
        out = deg[-1][None, :] < np.arange(D)[:, None]  # (D, last hidden)
        masks.append(np.concatenate([out] * (3 * K), axis=0))  # output o is dimension o % D
        linear = [m for m in self.net if isinstance(m, MaskedLinear)]
        for lin, m in zip(linear, masks):
            lin.mask.copy_(torch.from_numpy(m.astype(np.float32)))
        self.D, self.K = D, K

    def forward(self, x):
        return self.net(x)


def made_log_prob(model, x, c):
    D, K = model.D, model.K
    out = model(torch.cat([x, c], 1) if c is not None else x)  # (n, 3K D), param-major
    p = out.view(-1, 3 * K, D).permute(0, 2, 1)  # (n, D, 3K)
    logits, mu, ls = p[..., :K], p[..., K : 2 * K], torch.clamp(p[..., 2 * K :], min=-7.0)
    z = (x.unsqueeze(-1) - mu) * torch.exp(-ls)
    comp = -z - ls - 2 * F.softplus(-z)
    return torch.logsumexp(torch.log_softmax(logits, -1) + comp, -1).sum(-1)


def make_made(name, D, cond_dim, hidden, K, act, n, seed):
    torch.manual_seed(seed)
    model = MADE(D, cond_dim, hidden, K, act, seed)
    state = state_arrays(model)
    model = model.double()
    x = torch.randn(n, D, dtype=torch.float64).float().double()
    c = (x + 0.3 * torch.randn(n, D, dtype=torch.float64)).float().double() if cond_dim else None
    with torch.no_grad():
        lp = made_log_prob(model, x, c)
    np.savez_compressed(os.path.join(HERE, name + "_state.npz"), **state)
    np.save(os.path.join(HERE, name + "_x.npy"), x.numpy().astype(np.float32))
    if cond_dim:
        np.save(os.path.join(HERE, name + "_cond.npy"), c.numpy().astype(np.float32))
    np.save(os.path.join(HERE, name + "_log_prob.npy"), lp.numpy())
    print(name, "log p", lp.numpy().round(4))


if __name__ == "__main__":
    make_pixelcnnpp("pixelcnnpp_gray", 1, 8, 8, 8, 1, 3, 4, 1)
    make_pixelcnnpp("pixelcnnpp_rgb", 3, 8, 12, 6, 1, 2, 3, 2)
    make_made("made", 4, 0, [24, 24], 3, nn.ReLU, 16, 3)
    make_made("made_cond", 3, 3, [20, 20], 2, nn.Tanh, 16, 4)
