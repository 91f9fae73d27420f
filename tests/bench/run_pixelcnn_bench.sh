#!/usr/bin/env bash
# PixelCNN++ benchmark, libdsmooth next to PyTorch in one run, at 1 and 2 threads.
#   tests/bench/run_pixelcnn_bench.sh [BUILD_DIR] [extra pixelcnn_bench flags...]
# Defaults: 28x28, 2 resnets, 32 filters, K = 5, batch 32. Needs /usr/bin/python3 with
# python3-torch. Threads are pinned on both sides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
shift || true
bench="$build/tests/bench/pixelcnn_bench"
[ -x "$bench" ] || { echo "build $bench first (cmake --build $build)"; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
for t in 1 2; do
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$bench" --threads "$t" "$@"
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$here/peer_pixelcnn.py" --threads "$t" "$@"
done
