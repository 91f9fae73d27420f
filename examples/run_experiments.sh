#!/bin/sh
# Reproduce docs/results.md: the 2-D experiments (four data sets x K = 8, 3 x seeds) and the
# 1-D sigma sweep, then print the tables.
#
#   examples/run_experiments.sh [BUILD_DIR] [OUT_DIR]      run everything, then summarize
#   examples/run_experiments.sh --summarize OUT_DIR         only print the tables of OUT_DIR
#   examples/run_experiments.sh --reference [BUILD_DIR] [OUT_DIR]
#       the issue-11 comparison at the PyTorch reference's settings (fresh samples every step,
#       6000 steps of batch 512, Adam 1e-3 cosine to 0, 2 x 64, sigma 0.5): direct models of
#       every set and K with build/examples/train_2d, stage 2 on rings K = 8, and the same
#       with examples/reference/reference_2d.py (/usr/bin/python3 + torch) unless
#       REFERENCE=0; then the table. STAGE2_ARGS (default "--stage2-hidden 64") sizes stage 2.
#   examples/run_experiments.sh --reference-summary OUT_DIR   only print that table
#
# Environment: STEPS (3000) training steps per model, SEEDS ("1 2 3"), SETS (the four 2-D
# sets), KS ("8 3"), JOBS (2) runs in parallel, each with THREADS (1) threads (the numbers do
# not depend on JOBS or THREADS, only the time does), SWEEP_1D (1; 0 skips the 1-D sweep). Every run writes OUT_DIR/<set>-K<k>-s<seed>.log
# and .png; the sweep writes OUT_DIR/sweep1d.log.
set -eu

summarize() {
  out=$1
  for k in 8 3; do for set in checkerboard rings 8gaussians 2spirals; do
    cat "$out/$set-K$k"-s*.log 2>/dev/null || true
  done; done | grep '^summary ' | awk '
  function v(key,   i, kv) { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) return kv[2] } return "" }
  {
    g = v("dataset") " " v("K"); n[g]++; seeds[g] = seeds[g] (seeds[g] == "" ? "" : ",") v("seed"); steps[g] = v("steps")
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[2] ~ /^-?[0-9.]+(e-?[0-9]+)?$/) s[g, kv[1]] += kv[2] }
    if (!(g in seen)) { seen[g] = 1; order[++m] = g }
  }
  function a(g, key) { return s[g, key] / n[g] }
  END {
    print "NLL (nats, mean over seeds; quad = quadrature on the first grid_n test points, with direct and IW-100 on the same points)"
    print "| set | K | steps | seeds | direct | IW-1 (ELBO) | IW-100 | IW-100 - direct | direct (subset) | IW-100 (subset) | quadrature (subset) |"
    print "|---|---|---|---|---|---|---|---|---|---|---|"
    for (j = 1; j <= m; j++) { g = order[j]; split(g, p, " ")
      printf "| %s | %s | %s | %s | %.3f | %.3f | %.3f | %+.3f | %.3f | %.3f | %.3f |\n", p[1], p[2], steps[g], seeds[g],
        a(g, "nll_direct"), a(g, "iw1"), a(g, "iw100"), a(g, "iw100") - a(g, "nll_direct"), a(g, "quad_direct"), a(g, "quad_iw100"), a(g, "quad") }
    print ""
    print "Sample quality: MMD^2 (x 1e-3, RBF bandwidth 0.2, unbiased, 2000 vs 2000) and TV (40x40 bins on [-4.5,4.5]^2 + outside, 20000 vs 20000)"
    print "| set | K | MMD2 data floor | direct | stage 1 | grad (exact) | grad (local) | two-stage | TV data floor | direct | stage 1 | grad (exact) | grad (local) | two-stage |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for (j = 1; j <= m; j++) { g = order[j]; split(g, p, " ")
      printf "| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", p[1], p[2],
        1e3 * a(g, "mmd_floor"), 1e3 * a(g, "mmd_direct"), 1e3 * a(g, "mmd_stage1"), 1e3 * a(g, "mmd_grad_exact"), 1e3 * a(g, "mmd_grad_local"), 1e3 * a(g, "mmd_two_stage"),
        a(g, "tv_floor"), a(g, "tv_direct"), a(g, "tv_stage1"), a(g, "tv_grad_exact"), a(g, "tv_grad_local"), a(g, "tv_two_stage") }
    print ""
    print "Checkerboard: fraction of samples inside the squares"
    print "| K | data | direct | stage 1 | grad (exact) | grad (local) | two-stage |"
    print "|---|---|---|---|---|---|---|"
    for (j = 1; j <= m; j++) { g = order[j]; split(g, p, " "); if (p[1] != "checkerboard") continue
      printf "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", p[2], a(g, "in_floor"), a(g, "in_direct"), a(g, "in_stage1"), a(g, "in_grad_exact"), a(g, "in_grad_local"), a(g, "in_two_stage") }
    print ""
    print "Single-step denoising of smoothed test points: mean squared error per dimension to the clean points (sigma^2 = 0.25)"
    print "| set | K | x~ (no denoising) | gradient, exact score | gradient, local score | stage-2 greedy mean | oracle E[x given x~] |"
    print "|---|---|---|---|---|---|---|"
    for (j = 1; j <= m; j++) { g = order[j]; split(g, p, " ")
      printf "| %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f |\n", p[1], p[2], a(g, "mse_noisy"), a(g, "mse_exact"), a(g, "mse_local"), a(g, "mse_cmean"), a(g, "mse_oracle") }
  }'
  if [ -f "$out/sweep1d.log" ]; then
    echo
    echo "1-D sigma sweep ($out/sweep1d.log)"
    sed -n '/^Test NLL/,$p' "$out/sweep1d.log"
  fi
}

# Mean over seeds of each key of the summary lines, per (set, K), library and reference.
reference_summary() {
  out=$1
  cat "$out"/lib-*.log "$out"/ref-*.log 2>/dev/null | grep '^summary ' | awk '
  function v(key,   i, kv) { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) return kv[2] } return "" }
  {
    g = v("dataset") " " v("K")
    if (!(g in seen)) { seen[g] = 1; order[++m] = g }
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] ~ /nll/) { s[g, kv[1]] += kv[2]; c[g, kv[1]]++
      seeds[g, kv[1]] = seeds[g, kv[1]] (seeds[g, kv[1]] == "" ? "" : ",") v("seed") } }
  }
  function a(g, k) { return c[g, k] ? sprintf("%.3f", s[g, k] / c[g, k]) : "-" }
  function n(g, k) { return c[g, k] ? c[g, k] : 0 }
  END {
    print "| set | K | library direct | seeds | reference direct | seeds | library - reference |"
    print "|---|---|---:|---|---:|---|---:|"
    for (j = 1; j <= m; j++) { g = order[j]; split(g, p, " ")
      d = (c[g, "nll_direct"] && c[g, "ref_nll_direct"]) ? sprintf("%+.3f", s[g, "nll_direct"] / c[g, "nll_direct"] - s[g, "ref_nll_direct"] / c[g, "ref_nll_direct"]) : "-"
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", p[1], p[2], a(g, "nll_direct"), seeds[g, "nll_direct"], a(g, "ref_nll_direct"), seeds[g, "ref_nll_direct"], d }
    print ""
    print "| set | K | library stage 2 -log p(x given x~) | seeds | reference stage 2 | seeds |"
    print "|---|---|---:|---|---:|---|"
    for (j = 1; j <= m; j++) { g = order[j]; split(g, p, " ")
      if (c[g, "nll_stage2"] || c[g, "ref_nll_stage2"])
        printf "| %s | %s | %s | %s | %s | %s |\n", p[1], p[2], a(g, "nll_stage2"), seeds[g, "nll_stage2"], a(g, "ref_nll_stage2"), seeds[g, "ref_nll_stage2"] }
  }'
}

if [ "${1:-}" = "--reference-summary" ]; then
  reference_summary "${2:?usage: $0 --reference-summary OUT_DIR}"
  exit 0
fi

if [ "${1:-}" = "--reference" ]; then
  BUILD_DIR=${2:-build}
  OUT=${3:-experiments-reference}
  SEEDS=${SEEDS:-"1 2 3"}
  SETS=${SETS:-"checkerboard rings 8gaussians 2spirals"}
  KS=${KS:-"8 3"}
  JOBS=${JOBS:-2}
  STAGE2_ARGS=${STAGE2_ARGS:-"--stage2-hidden 64"}
  TRAIN=$BUILD_DIR/examples/train_2d
  REF=$(dirname "$0")/reference/reference_2d.py
  [ -x "$TRAIN" ] || { echo "build the examples first ($TRAIN)" >&2; exit 1; }
  mkdir -p "$OUT"
  for seed in $SEEDS; do for k in $KS; do for set in $SETS; do
    s2=0; [ "$set" = rings ] && [ "$k" = 8 ] && s2=1
    echo "lib $set $k $seed $s2"
    [ "${REFERENCE:-1}" = 1 ] && echo "ref $set $k $seed $s2"
  done; done; done | xargs -P "$JOBS" -L 1 sh -c '
    name="$0-$1-K$2-s$3"
    if [ "$0" = lib ]; then
      "'"$TRAIN"'" --dataset "$1" --components "$2" --seed "$3" --stage2 "$4" --threads 1 '"$STAGE2_ARGS"' > "'"$OUT"'/$name.log" 2>&1
    else
      /usr/bin/python3 "'"$REF"'" --dataset "$1" --components "$2" --seed "$3" --stage2 "$4" > "'"$OUT"'/$name.log" 2>&1
    fi || echo "FAILED $name" >&2
    echo "$(date -u +%H:%M:%S) done $name" >&2'
  reference_summary "$OUT"
  exit 0
fi

if [ "${1:-}" = "--summarize" ]; then
  summarize "${2:?usage: $0 --summarize OUT_DIR}"
  exit 0
fi

BUILD_DIR=${1:-build}
OUT=${2:-experiments}
STEPS=${STEPS:-3000}
SEEDS=${SEEDS:-"1 2 3"}
SETS=${SETS:-"checkerboard rings 8gaussians 2spirals"}
KS=${KS:-"8 3"}
JOBS=${JOBS:-2}
THREADS=${THREADS:-1}
DEMO=$BUILD_DIR/examples/two_stage_demo
SWEEP=$BUILD_DIR/examples/sigma_sweep_1d
[ -x "$DEMO" ] && [ -x "$SWEEP" ] || { echo "build the examples first ($DEMO, $SWEEP)" >&2; exit 1; }
mkdir -p "$OUT"

start=$(date +%s)
# one line per run: set K seed; JOBS of them at a time
for seed in $SEEDS; do for k in $KS; do for set in $SETS; do echo "$set $k $seed"; done; done; done |
  xargs -P "$JOBS" -L 1 sh -c '
    name="$0-K$1-s$2"
    echo "$(date -u +%H:%M:%S) start $name" >&2
    "'"$DEMO"'" --dataset "$0" --components "$1" --seed "$2" --steps "'"$STEPS"'" --threads "'"$THREADS"'" \
      --grid-n 200 --quiet --png-scale 1 --out "'"$OUT"'/$name.png" > "'"$OUT"'/$name.log" 2>&1 ||
      echo "FAILED $name (see '"$OUT"'/$name.log)" >&2
    echo "$(date -u +%H:%M:%S) done  $name" >&2'
if [ "${SWEEP_1D:-1}" = 1 ]; then
  echo "$(date -u +%H:%M:%S) start sweep1d" >&2
  "$SWEEP" --threads "$((THREADS * JOBS))" --quiet --out "$OUT/sweep1d.png" > "$OUT/sweep1d.log" 2>&1 || echo "FAILED sweep1d" >&2
fi
echo "all done in $(( $(date +%s) - start )) s" >&2
summarize "$OUT"
