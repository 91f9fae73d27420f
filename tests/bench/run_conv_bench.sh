#!/bin/sh
# Convolution benchmark, both sides in one run: the library (conv_bench) and PyTorch
# (peer_conv.py) over every conv of one PixelCNN++ training step (conv_shapes.py), 32 and
# 64 filters, at 1 and 2 threads, then one side-by-side table.
#
#   tests/bench/run_conv_bench.sh BUILD_DIR [BATCH=32]
#
# Threads are pinned on both sides (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
# torch.set_num_threads); OPENBLAS_CORETYPE is left as the caller has it (default: unset).
set -eu
BUILD=${1:?usage: run_conv_bench.sh BUILD_DIR [BATCH]}
BATCH=${2:-32}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

for T in 1 2; do
  echo "PEAK $T $("$BUILD/tests/bench/fma_peak" "$T")" >>"$OUT"
done
for F in 32 64; do
  for T in 1 2; do
    "$PY" "$HERE/conv_shapes.py" "$F" |
      OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T "$BUILD/tests/bench/conv_bench" "$T" "$BATCH" |
      sed "s/^RESULT/RESULT $F/" >>"$OUT"
    "$PY" "$HERE/conv_shapes.py" "$F" |
      OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T "$PY" "$HERE/peer_conv.py" "$T" "$BATCH" |
      sed "s/^RESULT/RESULT $F/" >>"$OUT"
  done
done

"$PY" - "$OUT" "$BATCH" <<'PYEOF'
import os, sys, collections
import torch
lines = open(sys.argv[1]).read().split("\n")
peak = {int(l.split()[1]): float(l.split()[2]) for l in lines if l.startswith("PEAK")}
res = collections.defaultdict(dict)   # (F, T) -> name -> side -> (count, gflop, seconds)
order = collections.defaultdict(list)
for l in lines:
    if not l.startswith("RESULT"):
        continue
    _, f, side, t, name, count, gflop, tf, tb, tc = l.split()
    key = (int(f), int(t))
    if name not in order[key]:
        order[key].append(name)
    res[key][name] = res[key].get(name, {})
    res[key][name][side] = (int(count), float(gflop), float(tf) + float(tb), float(tc))
cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
cfg = torch.__config__.show()
blas = [w.strip(" ,") for w in cfg.replace(",", " ").split() if w.startswith("BLAS_INFO=")]
isa = [l.strip() for l in cfg.split("\n") if "CPU capability" in l]
print("CPU: %s, %d cpus; FMA-loop peak %.0f GFLOP/s (1 thread), %.0f (2 threads)"
      % (cpu, os.cpu_count(), peak.get(1, 0), peak.get(2, 0)))
print("ours: own AVX2+FMA GEMM micro-kernel (no BLAS call in convolutions)")
print("torch %s: oneDNN convolutions; %s; %s; OPENBLAS_CORETYPE=%s"
      % (torch.__version__, blas[0] if blas else "BLAS ?", isa[0] if isa else "",
         os.environ.get("OPENBLAS_CORETYPE", "unset")))
print("batch %s; time = forward + backward (dx, dw, db) per call, median of 15" % sys.argv[2])
totals = {}
for (f, t) in sorted(res):
    print("\nF=%d filters, %d thread(s)" % (f, t))
    print("%-14s %5s %8s %10s %10s %7s %7s" % ("shape", "count", "GFLOP", "ours GF/s",
                                               "torch GF/s", "ratio", "%peak"))
    so = st = g = co = ct = 0.0
    for name in order[(f, t)]:
        r = res[(f, t)][name]
        if "ours" not in r or "torch" not in r:
            continue
        n, gf, to, cpo = r["ours"]
        _, _, tt, cpt = r["torch"]
        so += n * to; st += n * tt; g += n * gf; co += n * cpo; ct += n * cpt
        print("%-14s %5d %8.3f %10.1f %10.1f %7.2f %6.0f%%" % (name, n, n * gf, gf / to, gf / tt,
                                                             tt / to, 100 * gf / to / peak[t]))
    totals[(f, t)] = (so, st, g)
    print("%-14s %5s %8.3f %10.1f %10.1f %7.2f %6.0f%%   (ours %.1f ms, torch %.1f ms per step)"
          % ("TOTAL", "", g, g / so, g / st, st / so, 100 * g / so / peak[t], 1e3 * so, 1e3 * st))
    print("%-14s %5s %8s %10.1f %10.1f %7.2f          (GFLOP per CPU-second, all threads)"
          % ("TOTAL cpu", "", "", g / co, g / ct, ct / co))
print()
for f in (32, 64):
    if (f, 1) in totals and (f, 2) in totals:
        print("F=%d 1->2 thread scaling: ours %.2fx, torch %.2fx" % (
            f, totals[(f, 1)][0] / totals[(f, 2)][0], totals[(f, 1)][1] / totals[(f, 2)][1]))
PYEOF
