#!/usr/bin/python3
"""peer_conv.py THREADS BATCH < shapes: PyTorch's side of the convolution benchmark.

Same shapes as conv_bench (from conv_shapes.py), written the way pixel-cnn-pp writes them:
F.pad + F.conv2d for the shifted convs, F.conv_transpose2d + crop for the deconvs, a 1x1
F.conv2d for nin. Times forward and backward (dx if needed, dw, db), median of repeats.
Prints "RESULT torch THREADS name count gflop fwd_seconds bwd_seconds cpu_seconds" per shape
(cpu_seconds: process CPU time of forward + backward)."""
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

REPS = 15


def main():
    threads, batch = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    for line in sys.stdin:
        f = line.split()
        if not f:
            continue
        name, kind = f[0], f[1]
        cin, cout, kh, kw, stride, pt, pb, pl, pr, h, w, count, need_dx = map(int, f[2:])
        x = torch.rand(batch, cin, h, w).requires_grad_(bool(need_dx))
        if kind == "deconv":
            wt = torch.rand(cin, cout, kh, kw, requires_grad=True)
            macs = batch * cin * h * w * cout * kh * kw
        else:
            wt = torch.rand(cout, cin, kh, kw, requires_grad=True)
            oh = (h + pt + pb - kh) // stride + 1
            ow = (w + pl + pr - kw) // stride + 1
            macs = batch * cout * oh * ow * cin * kh * kw
        b = torch.rand(cout, requires_grad=True)
        gflop = 2.0 * macs * (3 if need_dx else 2) * 1e-9

        def forward():
            if kind == "deconv":
                y = F.conv_transpose2d(x, wt, b, stride=2, output_padding=1)
                hh, ww = y.shape[2:]
                if pl:  # down-shifted crop
                    return y[:, :, : hh - kh + 1, (kw - 1) // 2 : ww - (kw - 1) // 2]
                return y[:, :, : hh - kh + 1, : ww - kw + 1]
            xp = F.pad(x, (pl, pr, pt, pb)) if pt + pb + pl + pr else x
            return F.conv2d(xp, wt, b, stride=stride)

        dy = None
        tf, tb, tc = [], [], []
        for r in range(REPS + 2):
            c0 = time.process_time()
            t0 = time.perf_counter()
            y = forward()
            t1 = time.perf_counter()
            if dy is None:
                dy = torch.rand_like(y)
            y.backward(dy)
            t2 = time.perf_counter()
            c2 = time.process_time()
            x.grad = wt.grad = b.grad = None
            if r >= 2:
                tf.append(t1 - t0)
                tb.append(t2 - t1)
                tc.append(c2 - c0)
        print("RESULT torch %d %s %d %.6f %.6e %.6e %.6e" % (
            threads, name, count, gflop, statistics.median(tf), statistics.median(tb),
            statistics.median(tc)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
