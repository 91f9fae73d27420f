#!/usr/bin/env bash
# MADE benchmark, libdsmooth next to PyTorch in one run, at 1 and 2 threads.
#   tests/bench/run_made_bench.sh [BUILD_DIR]   (default: build)
# Needs /usr/bin/python3 with python3-torch. Threads are pinned on both sides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bench="$build/tests/bench/made_bench"
[ -x "$bench" ] || { echo "build $bench first (cmake --build $build)"; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
printf '%-8s %-12s %16s %16s %8s %20s %20s %8s\n' threads side train_steps/s "" "" logprob_pts/s "" ""
for t in 1 2; do
  ours=$(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$bench" --threads "$t")
  peer=$(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$here/peer_made.py" --threads "$t")
  get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
  os=$(get "$ours" train_steps_per_s); ps=$(get "$peer" train_steps_per_s)
  ol=$(get "$ours" logprob_points_per_s); pl=$(get "$peer" logprob_points_per_s)
  printf '%-8s libdsmooth %8s steps/s  PyTorch %8s  ratio %5.2fx | libdsmooth %10s pts/s  PyTorch %10s  ratio %5.2fx\n' \
    "$t" "$os" "$ps" "$(echo "$os / $ps" | bc -l)" "$ol" "$pl" "$(echo "$ol / $pl" | bc -l)"
done
