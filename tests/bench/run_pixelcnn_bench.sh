#!/usr/bin/env bash
# PixelCNN++ benchmark, libdsmooth next to PyTorch in one run, at 1 and 2 threads, then the
# ratios (libdsmooth / PyTorch throughput; for sampling PyTorch's naive seconds over ours).
#   tests/bench/run_pixelcnn_bench.sh [BUILD_DIR] [extra pixelcnn_bench flags...]
# Defaults: 28x28, 2 resnets, 32 filters, K = 5, batch 32. Sampling: --sample 16 (cached
# sampler; PyTorch samples naively, pixel by pixel), --naive 1 (ours naively too, checked
# bit for bit against the cached sampler), --only-sample 1 (skip training/log-prob/score).
# Needs /usr/bin/python3 with python3-torch. Threads are pinned on both sides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
shift || true
bench="$build/tests/bench/pixelcnn_bench"
[ -x "$bench" ] || { echo "build $bench first (cmake --build $build)"; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in 1 2; do
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$bench" --threads "$t" "$@" | tee -a "$out"
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$here/peer_pixelcnn.py" --threads "$t" "$@" | tee -a "$out"
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  { side = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[side, kv[1]] = kv[2] }
    if (side == "pytorch") {
      t = v["pytorch", "threads"]; line = "ratio threads=" t
      n = split("train_images_per_s logprob_images_per_s exact_score_images_per_s", keys, " ")
      for (k = 1; k <= n; k++)
        if (v["pytorch", keys[k]] > 0 && v["libdsmooth", keys[k]] != "")
          line = line sprintf(" %s=%.2f", keys[k], v["libdsmooth", keys[k]] / v["pytorch", keys[k]])
      if (v["libdsmooth", "cached_sample_seconds"] > 0 && v["pytorch", "naive_sample_seconds"] != "")
        line = line sprintf(" pytorch_naive_over_cached_sampling=%.1f",
                            v["pytorch", "naive_sample_seconds"] / v["libdsmooth", "cached_sample_seconds"])
      if (v["libdsmooth", "naive_sample_seconds"] != "")
        line = line sprintf(" our_naive_over_cached_sampling=%.1f",
                            v["libdsmooth", "naive_sample_seconds"] / v["libdsmooth", "cached_sample_seconds"])
      print line
      delete v
    }
  }' "$out"
