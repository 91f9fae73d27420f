#!/usr/bin/env bash
# The example programs' command lines: --help (stdout, exit 0, per-flag text) for each,
# checked values (exit 2 with the flag and the value named), and `images` on a tiny IDX data
# set with MNIST-style "test-" names: any file names, the data set named after its
# directory, samples written to files, a loaded checkpoint's settings logged, and
# --train-only not reading the test file.
#   run_examples_test.sh EXAMPLES_BUILD_DIR WORKDIR
set -u
BIN=$(cd "$1" && pwd)
WORK=$2
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
check() { # NAME STATUS 'text in stdout+stderr' command...
  local name=$1 want=$2 text=$3
  shift 3
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" -eq "$want" ] && cat out.txt err.txt | grep -qF -- "$text"; then pass "$name"
  else fail "$name (exit $got, expected $want)"; tail -n 5 out.txt err.txt | sed 's/^/     | /'; fi
}

for p in two_stage_demo smooth_demo sigma_sweep_1d images; do
  check "$p --help" 0 "Usage: $p" "$BIN/$p" --help
  [ -s err.txt ] && fail "$p --help writes nothing to stderr" || pass "$p --help writes nothing to stderr"
done
check "two_stage_demo --help has per-flag text" 0 "--steps N                 Adam steps per model (default: 4000)" "$BIN/two_stage_demo" --help
check "images --downsample x" 2 "--downsample: 'x' is not an integer" "$BIN/images" --downsample x
check "images --downsample 3" 2 "--downsample: 3 is out of range: must be in 1..2" "$BIN/images" --downsample 3
check "two_stage_demo --steps abc" 2 "--steps: 'abc' is not an integer" "$BIN/two_stage_demo" --steps abc
check "two_stage_demo --steps -5" 2 "--steps: -5 is out of range" "$BIN/two_stage_demo" --steps -5
check "two_stage_demo --sigma 0" 2 "--sigma: 0 is out of range: must be greater than 0" "$BIN/two_stage_demo" --sigma 0
check "smooth_demo --noise cauchy" 2 "--noise: 'cauchy' is not one of gaussian/laplace/uniform" "$BIN/smooth_demo" --noise cauchy
check "sigma_sweep_1d --sigmas 0.1,x" 2 "--sigmas: 'x' is not a number" "$BIN/sigma_sweep_1d" --sigmas 0.1,x
check "sigma_sweep_1d --quiet=1" 2 "--quiet: takes no value" "$BIN/sigma_sweep_1d" --quiet=1

# tiny IDX images with MNIST-style test- names, one gzip'd
mkdir -p tiny only-train
"$PY" - <<'PY' || exit 1
import gzip, struct
def idx(n, seed):
    px = bytearray()
    for i in range(n):
        for r in range(8):
            for c in range(8):
                px.append(255 if (r + c + i + seed) % 4 < 2 else 0)
    return struct.pack(">BBBBIII", 0, 0, 8, 3, n, 8, 8) + px
open("tiny/train-images.idx3-ubyte", "wb").write(idx(40, 0))
gzip.open("tiny/test-images-idx3-ubyte.gz", "wb").write(idx(12, 1))
open("only-train/train-images-idx3-ubyte", "wb").write(idx(40, 0))
PY
args=(--steps 3 --batch 8 --filters 4 --resnets 1 --components 2 --samples 4 --test 8 --threads 2)
check "images reads test- names" 0 "tiny: 40 train images (tiny/train-images.idx3-ubyte), 8 test images (tiny/test-images-idx3-ubyte.gz) of 8x8" \
  "$BIN/images" --data tiny "${args[@]}" --out run --save-samples
grep -q "Fashion-MNIST" out.txt && fail "no Fashion-MNIST label on other data" || pass "no Fashion-MNIST label on other data"
for f in run_data.png run_direct.png run_two_stage.png run_denoising.png run_direct.npy run_two_stage.npy run_direct.dsm; do
  [ -s "$f" ] && pass "images wrote $f" || fail "images wrote $f"
done
check "images logs a loaded checkpoint's network" 0 "direct: loaded run_direct.dsm: PixelCNN++ 8x8, 4 filters, 1 resnets/level, K = 2" \
  "$BIN/images" --data tiny "${args[@]}" --filters 16 --out run --load
check "images --train-file/--test-file and --name" 0 "toy: 40 train images" \
  "$BIN/images" --train-file tiny/train-images.idx3-ubyte --test-file tiny/test-images-idx3-ubyte.gz --name toy "${args[@]}" --out named
check "--train-only does not read the test file" 0 "test images (not read: --train-only)" \
  "$BIN/images" --data only-train "${args[@]}" --out tonly --train-only
check "a missing test file is named" 1 "no test images in only-train" "$BIN/images" --data only-train "${args[@]}" --out tonly

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
