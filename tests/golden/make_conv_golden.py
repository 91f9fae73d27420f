#!/usr/bin/python3
"""Golden values for the convolution kernels from PyTorch (run once with /usr/bin/python3;
the fixtures are committed, CI does not need torch).

Every op in its PixelCNN++ configuration (pixel-cnn-pp's down_shifted_conv2d,
down_right_shifted_conv2d, their deconvs with output cropping, nin, concat_elu, gated
residual, shifts) plus PixelCNN's masked convs. Each fixture file conv_<op>.bin holds named
float32 tensors: the inputs, an upstream gradient dy, the output y and PyTorch's gradients.

Format (little-endian): b"DSGOLD1\\0", u32 count, then per tensor: u32 name length, name,
u32 ndim, u32 dims[ndim], float32 data.
"""
import os
import struct

import torch
import torch.nn.functional as F

OUT = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20261129)
B, C, H, W, FO = 2, 3, 6, 6, 4


def save(name, tensors):
    with open(os.path.join(OUT, "conv_%s.bin" % name), "wb") as f:
        f.write(b"DSGOLD1\0")
        f.write(struct.pack("<I", len(tensors)))
        for key, t in tensors.items():
            t = t.detach().to(torch.float32).contiguous()
            f.write(struct.pack("<I", len(key)) + key.encode())
            f.write(struct.pack("<I", t.dim()) + struct.pack("<%dI" % t.dim(), *t.shape))
            f.write(t.numpy().astype("<f4").tobytes())


def leaf(*shape, scale=1.0):
    return ((torch.rand(*shape) * 2 - 1) * scale).requires_grad_(True)


def run(name, fn, inputs):
    """inputs: dict of leaf tensors; fn(**inputs) -> y. Saves inputs, y, dy and d<input>."""
    y = fn(**inputs)
    dy = torch.rand_like(y) * 2 - 1
    y.backward(dy)
    out = dict(inputs)
    out["y"], out["dy"] = y, dy
    for k, v in inputs.items():
        out["d" + k] = v.grad
    save(name, out)


# pixel-cnn-pp layers (pads: left, right, top, bottom)
def down_shifted_conv(x, w, b, stride):
    kh, kw = w.shape[2:]
    return F.conv2d(F.pad(x, ((kw - 1) // 2, (kw - 1) // 2, kh - 1, 0)), w, b, stride=stride)


def down_right_shifted_conv(x, w, b, stride):
    kh, kw = w.shape[2:]
    return F.conv2d(F.pad(x, (kw - 1, 0, kh - 1, 0)), w, b, stride=stride)


def down_shifted_deconv(x, w, b):
    kh, kw = w.shape[2:]
    y = F.conv_transpose2d(x, w, b, stride=2, output_padding=1)
    hh, ww = y.shape[2:]
    return y[:, :, : hh - kh + 1, (kw - 1) // 2 : ww - (kw - 1) // 2]


def down_right_shifted_deconv(x, w, b):
    kh, kw = w.shape[2:]
    y = F.conv_transpose2d(x, w, b, stride=2, output_padding=1)
    hh, ww = y.shape[2:]
    return y[:, :, : hh - kh + 1, : ww - kw + 1]


def concat_elu(x):
    return F.elu(torch.cat([x, -x], dim=1))


for kh, kw, tag in ((2, 3, "ds23"), (1, 3, "ds13")):
    for s in (1, 2) if tag == "ds23" else (1,):
        run("%s_s%d" % (tag, s), lambda x, w, b, s=s: down_shifted_conv(x, w, b, s),
            dict(x=leaf(B, 2 * C, H, W), w=leaf(FO, 2 * C, kh, kw), b=leaf(FO)))
for kh, kw, tag in ((2, 2, "drs22"), (2, 1, "drs21")):
    for s in (1, 2) if tag == "drs22" else (1,):
        run("%s_s%d" % (tag, s), lambda x, w, b, s=s: down_right_shifted_conv(x, w, b, s),
            dict(x=leaf(B, 2 * C, H, W), w=leaf(FO, 2 * C, kh, kw), b=leaf(FO)))
run("deconv_ds23", down_shifted_deconv,
    dict(x=leaf(B, C, H // 2, W // 2), w=leaf(C, FO, 2, 3), b=leaf(FO)))
run("deconv_drs22", down_right_shifted_deconv,
    dict(x=leaf(B, C, H // 2, W // 2), w=leaf(C, FO, 2, 2), b=leaf(FO)))
run("nin_cond",
    lambda x, w, b, cond, wc: F.conv2d(x, w[:, :, None, None], b) + F.conv2d(cond, wc[:, :, None, None]),
    dict(x=leaf(B, 2 * C, H, W), w=leaf(FO, 2 * C), b=leaf(FO), cond=leaf(B, 2, H, W), wc=leaf(FO, 2)))
run("elu", lambda x: F.elu(x), dict(x=leaf(B, C, H, W, scale=3)))
run("concat_elu", lambda x: concat_elu(x), dict(x=leaf(B, C, H, W, scale=3)))


def gate(x, ab):
    a, g = torch.chunk(ab, 2, dim=1)
    return x + a * torch.sigmoid(g)


run("gate", gate, dict(x=leaf(B, C, H, W), ab=leaf(B, 2 * C, H, W, scale=3)))
run("down_shift", lambda x: F.pad(x[:, :, : H - 1, :], (0, 0, 1, 0)), dict(x=leaf(B, C, H, W)))
run("right_shift", lambda x: F.pad(x[:, :, :, : W - 1], (1, 0, 0, 0)), dict(x=leaf(B, C, H, W)))
run("concat", lambda a, b: torch.cat([a, b], dim=1), dict(a=leaf(B, C, H, W), b=leaf(B, 2, H, W)))


def masked(x, w, b, mask_type):
    kh, kw = w.shape[2:]
    m = torch.ones_like(w)
    m[:, :, kh // 2, kw // 2 + (mask_type == "B"):] = 0
    m[:, :, kh // 2 + 1:] = 0
    return F.conv2d(x, w * m, b, padding=(kh // 2, kw // 2))


for t in "AB":
    run("masked_" + t, lambda x, w, b, t=t: masked(x, w, b, t),
        dict(x=leaf(B, C, H, W), w=leaf(FO, C, 3, 3), b=leaf(FO)))
print("wrote fixtures to", OUT)
