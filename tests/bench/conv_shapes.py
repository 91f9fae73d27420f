#!/usr/bin/python3
"""Prints the convolution shapes of one PixelCNN++ training step (docs/method.md section 4) for
F filters, batch 32, 28x28x1 input plus a channel of ones, 2 resnets per level (down pass
2, 3, 3 as in pixel-cnn-pp), K = 5 mixture components (head 3K = 15 channels).

One line per distinct shape:
  name kind cin cout kh kw stride pad_t pad_b pad_l pad_r H W count need_dx
kind: conv (pads as given) or deconv (stride 2, PixelCNN++ crop; pad_l = 1 means the
down-shifted crop, 0 the down-right-shifted one). Used by conv_bench and peer_conv.py."""
import sys


def shapes(f, batch=32):
    out = []

    def add(name, kind, cin, cout, kh, kw, stride, pads, h, count, need_dx=1):
        out.append((name, kind, cin, cout, kh, kw, stride) + pads + (h, h, count, need_dx))

    ds, drs, one = (1, 0, 1, 1), (1, 0, 1, 0), (0, 0, 0, 0)
    add("in_ds2x3", "conv", 2, f, 2, 3, 1, ds, 28, 1, 0)
    add("in_ds1x3", "conv", 2, f, 1, 3, 1, (0, 0, 1, 1), 28, 1, 0)
    add("in_drs2x1", "conv", 2, f, 2, 1, 1, (1, 0, 0, 0), 28, 1, 0)
    # resnets per resolution: up 2 each; down 2 (7), 3 (14), 3 (28)
    for h, n, n_down in ((28, 5, 3), (14, 5, 3), (7, 4, 2)):
        add("ds2x3_%d_in" % h, "conv", 2 * f, f, 2, 3, 1, ds, h, n)
        add("ds2x3_%d_out" % h, "conv", 2 * f, 2 * f, 2, 3, 1, ds, h, n)
        add("drs2x2_%d_in" % h, "conv", 2 * f, f, 2, 2, 1, drs, h, n)
        add("drs2x2_%d_out" % h, "conv", 2 * f, 2 * f, 2, 2, 1, drs, h, n)
        # skips: ul up pass (u, 2F) + u down pass (2F); ul down pass (cat(u, ul), 4F)
        add("nin2F_%d" % h, "conv", 2 * f, f, 1, 1, 1, one, h, n)
        add("nin4F_%d" % h, "conv", 4 * f, f, 1, 1, 1, one, h, n_down)
    for h in (28, 14):
        add("ds2x3_s2_%d" % h, "conv", f, f, 2, 3, 2, ds, h, 1)
        add("drs2x2_s2_%d" % h, "conv", f, f, 2, 2, 2, drs, h, 1)
    for h in (7, 14):
        add("deconv2x3_%d" % h, "deconv", f, f, 2, 3, 2, (0, 0, 1, 0), h, 1)
        add("deconv2x2_%d" % h, "deconv", f, f, 2, 2, 2, (0, 0, 0, 0), h, 1)
    add("head_nin", "conv", f, 15, 1, 1, 1, one, 28, 1)
    return out


if __name__ == "__main__":
    f = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    for s in shapes(f):
        print(" ".join(str(v) for v in s))
