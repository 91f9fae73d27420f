#!/usr/bin/env bash
# PixelCNN++ benchmark, libdsmooth next to PyTorch in one interleaved run, at 1 and 2
# threads and batch 32 and 1 (latency), then the ratios (libdsmooth / PyTorch throughput;
# for sampling PyTorch's naive seconds over ours).
#   tests/bench/run_pixelcnn_bench.sh [BUILD_DIR] [extra pixelcnn_bench flags...]
# Both sides time the same way: the first call of each operation alone (first_*_ms), one
# warm-up call, then --reps (default 7) steady-state calls; images/s = batch / median wall
# seconds; images_per_cpu_s = batch / median CPU seconds of the process (all threads), the
# figure a loaded machine distorts least.
# Peak resident memory of each process is printed beside (PyTorch's includes its runtime).
# Defaults: 28x28, 2 resnets, 32 filters, K = 5. Environment: BATCHES="32 1", THREADS="1 2".
# Sampling: --sample 16 --only-sample 1 (cached sampler vs PyTorch's naive pixel-by-pixel
# sampler; --naive 1 also times ours naively and checks the bits are identical).
# DS_GEMM_KERNEL=avx2|avx512|generic forces a micro-kernel (default: the widest the CPU has).
# Needs /usr/bin/python3 with python3-torch. Thread counts are set on both sides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
shift || true
bench="$build/tests/bench/pixelcnn_bench"
[ -x "$bench" ] || { echo "build $bench first (cmake --build $build)"; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cpu flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|avx512_fp16)$' | xargs)"
echo "PyTorch $(/usr/bin/python3 -c 'import re, torch; c = torch.__config__.show(); print(torch.__version__, "|", "; ".join(l.strip("- ") for l in c.splitlines() if "capability" in l), "|", " ".join(re.findall(r"(?:BLAS_INFO|USE_MKLDNN)=\w+", c)))')"
echo "OPENBLAS env: $(env | grep OPENBLAS | xargs || true) (set per run below: OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=threads)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in ${THREADS:-1 2}; do
  for b in ${BATCHES:-32 1}; do
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$bench" --threads "$t" --batch "$b" "$@" | tee -a "$out"
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$here/peer_pixelcnn.py" --threads "$t" --batch "$b" "$@" | tee -a "$out"
  done
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  { side = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); v[side, kv[1]] = kv[2] }
    if (side == "pytorch") {
      line = "ratio threads=" v["pytorch", "threads"] " batch=" v["pytorch", "batch"]
      n = split("train_images_per_s logprob_images_per_s exact_score_images_per_s " \
                "train_images_per_cpu_s logprob_images_per_cpu_s exact_score_images_per_cpu_s", keys, " ")
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
