#!/usr/bin/env bash
# End-to-end test of the dsmooth command-line tool on tiny generated data sets:
#   run_cli_test.sh DSMOOTH WORKDIR [BUILD_DIR]
# trains tiny models for a few steps (MADE on CSV vectors; PixelCNN++ and PixelCNN on IDX
# images, gzip'd and not, with a non-Fashion-MNIST file name), evaluates, samples, denoises
# and inspects them, checks the .npy/PNG/JSON outputs, the usage errors (exit status 2 and
# the message naming flag and value), --help on every subcommand, plain progress lines in
# a log, bitwise reproducibility across thread counts, and (with BUILD_DIR) that
# `cmake --install --component tools` installs a dsmooth that runs from the prefix.
set -u
DSMOOTH=$1
WORK=$2
BUILD=${3:-}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
failures=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# expect STATUS NAME command...: run, check the exit status
expect() {
  local want=$1 name=$2
  shift 2
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" -eq "$want" ]; then pass "$name"; else
    fail "$name (exit $got, expected $want)"; sed 's/^/     | /' err.txt | head -20
  fi
}
# usage_error NAME 'expected message' command...: exit status 2 and the message on stderr
usage_error() {
  local name=$1 message=$2
  shift 2
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" -eq 2 ] && grep -qF -- "$message" err.txt; then pass "$name"; else
    fail "$name (exit $got, stderr:)"; sed 's/^/     | /' err.txt | head -5
  fi
}
# json_check NAME 'python expression over j' : the last stdout is one JSON object
json_check() {
  if "$PY" -c "import json,sys,math; j=json.load(open('out.txt')); sys.exit(0 if ($2) else 1)"; then
    pass "$1"; else fail "$1"; cat out.txt; fi
}

# ---- data: IDX images (8x8, gzip'd and not, unusual names), CSV points ----------------
"$PY" - <<'PY' || exit 1
import gzip, math, random, struct
random.seed(3)
n, H, W = 48, 8, 8
pixels = bytearray()
for i in range(n):
    for r in range(H):
        for c in range(W):
            pixels.append(255 if (r + c + i) % 4 < 2 else 0)
header = struct.pack(">BBBBIII", 0, 0, 8, 3, n, H, W)
open("test-images.idx3-ubyte", "wb").write(header + pixels)
gzip.open("my-train-images.bin", "wb").write(header + pixels)
with open("points.csv", "w") as f:
    f.write("x,y\n")
    for i in range(400):
        a = random.random() * 2 * math.pi
        f.write("%.5f,%.5f\n" % (2 * math.cos(a) + random.gauss(0, .1), 2 * math.sin(a) + random.gauss(0, .1)))
with open("points3.csv", "w") as f:
    for i in range(100):
        f.write("%.4f,%.4f,%.4f\n" % (random.random(), random.random(), random.random()))
with open("ragged.csv", "w") as f:
    f.write("1,2\n3,4\n5\n")
PY

# ---- --help everywhere: stdout, exit 0, per-flag text -------------------------------
expect 0 "dsmooth --help" "$DSMOOTH" --help
grep -q "Commands:" out.txt || fail "dsmooth --help lists the commands"
for cmd in train eval sample denoise inspect; do
  expect 0 "$cmd --help exits 0" "$DSMOOTH" $cmd --help
  if grep -q "^Usage: dsmooth $cmd" out.txt && [ ! -s err.txt ]; then pass "$cmd --help on stdout"
  else fail "$cmd --help on stdout"; fi
done
"$DSMOOTH" train --help >out.txt
grep -q -- "--steps N  *Adam steps to run now (default: 1000)" out.txt && pass "train --help: per-flag text with default" \
  || fail "train --help: per-flag text with default"
expect 0 "dsmooth --version" "$DSMOOTH" --version

# ---- usage errors: exit 2, the flag and the value named ------------------------------
usage_error "--steps abc" "--steps: 'abc' is not an integer" "$DSMOOTH" train --steps abc --data points.csv --out m.dsm
usage_error "--steps -5" "--steps: -5 is out of range: must be at least 1" "$DSMOOTH" train --steps -5 --data points.csv --out m.dsm
usage_error "--sigma 0" "--sigma: 0 is out of range: must be greater than 0" "$DSMOOTH" train --sigma 0 --stage 1 --data points.csv --out m.dsm
usage_error "--steps 12x" "--steps: '12x' is not an integer" "$DSMOOTH" train --steps 12x --data points.csv --out m.dsm
usage_error "--lr nan" "--lr: 'nan' is not a finite number" "$DSMOOTH" train --lr nan --data points.csv --out m.dsm
usage_error "--arch foo" "--arch: 'foo' is not one of auto/made/pixelcnnpp/pixelcnn" "$DSMOOTH" train --arch foo
usage_error "--steps without value" "--steps: needs a value (N)" "$DSMOOTH" train --data points.csv --steps
usage_error "unknown option" "unknown option '--bogus'" "$DSMOOTH" eval --bogus
usage_error "unknown command" "unknown command 'fit'" "$DSMOOTH" fit
usage_error "missing --data" "--data: is required" "$DSMOOTH" train --out m.dsm
usage_error "stage 1 without --sigma" "--sigma: is required for --stage 1" "$DSMOOTH" train --data points.csv --out m.dsm --stage 1
usage_error "--hidden 64,,64" "--hidden: needs an integer value, got an empty string" "$DSMOOTH" train --data points.csv --out m.dsm --hidden 64,,64
usage_error "--threads 1.5" "--threads: '1.5' is not an integer" "$DSMOOTH" sample --model m.dsm --out s.npy --threads 1.5
usage_error "--seed -1" "--seed: '-1' is not a non-negative integer" "$DSMOOTH" sample --model m.dsm --out s.npy --seed -1
usage_error "inspect without file" "missing operand" "$DSMOOTH" inspect
usage_error "--image 7x" "--image: '7x' is not HEIGHTxWIDTH" "$DSMOOTH" train --data points.csv --out m.dsm --image 7x

# ---- data errors: exit 1 with the file and line --------------------------------------
expect 1 "ragged CSV fails" "$DSMOOTH" train --data ragged.csv --out m.dsm --steps 1
grep -qF "ragged.csv:3: 1 columns, the first row has 2" err.txt && pass "ragged CSV message" || fail "ragged CSV message"
expect 1 "missing data file fails" "$DSMOOTH" train --data nothing.npy --out m.dsm --steps 1
grep -qF "cannot open nothing.npy" err.txt && pass "missing file message" || fail "missing file message"

printf '\x00\x00\x08\x03\x00\x00\x00\x05\x00\x00\x00\x08\x00\x00\x00\x08' > short.idx
expect 1 "truncated IDX fails" "$DSMOOTH" train --data short.idx --out m.dsm --steps 1
grep -qF "short.idx is truncated: 5 rows of 64 values need 320 bytes, 0 present" err.txt && pass "truncated IDX message" || fail "truncated IDX message"

# ---- vectors: MADE direct, stage 1, stage 2 on CSV -----------------------------------
common=(--steps 60 --batch 32 --hidden 16,16 --components 3 --threads 2)
expect 0 "train direct (CSV)" "$DSMOOTH" train --data points.csv --out direct.dsm "${common[@]}" --json
json_check "train --json" "j['command']=='train' and j['steps']==60 and j['dim']==2 and math.isfinite(j['last_loss_nats'])"
grep -q $'\r' err.txt && fail "progress into a log has no carriage returns" || pass "progress into a log has no carriage returns"
grep -q "^train: 60/60 (100%)" err.txt && pass "plain progress lines in a log" || fail "plain progress lines in a log"
if command -v script >/dev/null; then  # a terminal (pty): the bar is redrawn in place
  script -qec "'$DSMOOTH' train --data points.csv --out tty.dsm ${common[*]}" /dev/null >tty.txt 2>&1
  grep -q $'\r' tty.txt && grep -qF "train [########################] 100% 60/60" tty.txt &&
    pass "a progress bar on a terminal" || { fail "a progress bar on a terminal"; cat -v tty.txt | head -5; }
fi
expect 0 "train stage 1 (CSV)" "$DSMOOTH" train --data points.csv --out s1.dsm --stage 1 --sigma 0.3 "${common[@]}" --quiet
expect 0 "train stage 2 (CSV)" "$DSMOOTH" train --data points.csv --out s2.dsm --stage 2 --sigma 0.3 "${common[@]}" --quiet
expect 0 "train stage 1, 1 thread" "$DSMOOTH" train --data points.csv --out s1_t1.dsm --stage 1 --sigma 0.3 "${common[@]}" --threads 1 --quiet
cmp -s s1.dsm s1_t1.dsm && pass "checkpoints bitwise equal for 1 and 2 threads" || fail "checkpoints bitwise equal for 1 and 2 threads"
# in pieces: 30 steps, the state saved, 30 more resumed == 60 steps in one go, bitwise
expect 0 "train 30 of 60 steps with --state" "$DSMOOTH" train --data points.csv --out half.dsm --state half.state "${common[@]}" --steps 30 --total-steps 60 --quiet
expect 0 "--resume for the other 30" "$DSMOOTH" train --data points.csv --out resumed.dsm --resume half.state "${common[@]}" --steps 30 --total-steps 60 --quiet
cmp -s resumed.dsm direct.dsm && pass "resumed training is bitwise the uninterrupted run" || fail "resumed training is bitwise the uninterrupted run"
expect 1 "--val of another width is refused" "$DSMOOTH" train --data points.csv --out x.dsm "${common[@]}" --quiet --val points3.csv
grep -qF "has rows of 3 values" err.txt && pass "--val width message" || fail "--val width message"
expect 0 "--val reports a held-out NLL" "$DSMOOTH" train --data points.csv --out v.dsm "${common[@]}" --quiet --val points.csv --json
json_check "--val in the JSON" "math.isfinite(j['val_nll_nats']) and j['val_nll_nats'] > 0"
expect 0 "eval direct" "$DSMOOTH" eval --data points.csv --model direct.dsm --json --quiet
json_check "eval --json" "j['quantity']=='nll' and j['rows']==400 and abs(j['bits_per_dim'] - j['nll_nats']/(2*math.log(2))) < 1e-9"
expect 0 "eval two-stage bound" "$DSMOOTH" eval --data points.csv --stage1 s1.dsm --stage2 s2.dsm --sigma 0.3 --iw 8 --json --quiet
json_check "two-stage bound --json" "j['quantity']=='two_stage_bound' and j['iw']==8 and math.isfinite(j['nll_nats'])"
expect 0 "sample two-stage (vectors)" "$DSMOOTH" sample --model s1.dsm --stage2 s2.dsm --n 300 --out pts.npy --png pts.png --quiet
expect 0 "eval reads the .npy it wrote" "$DSMOOTH" eval --data pts.npy --model direct.dsm --json --quiet
json_check "sampled .npy has 300 rows" "j['rows']==300 and j['dim']==2"
expect 0 "sample + gradient denoiser" "$DSMOOTH" sample --model s1.dsm --denoise exact --sigma 0.3 --n 50 --out g.npy --quiet
expect 1 "direct model given as stage 2" "$DSMOOTH" sample --model s1.dsm --stage2 direct.dsm --n 5 --out x.npy
grep -qF "is not a stage-2 model" err.txt && pass "wrong stage-2 model message" || fail "wrong stage-2 model message"

# ---- images: PixelCNN++ and PixelCNN on IDX files -------------------------------------
img=(--steps 6 --batch 8 --filters 4 --components 2 --threads 2 --quiet)
expect 0 "train direct PixelCNN++ (gzip'd IDX, any name)" "$DSMOOTH" train --data my-train-images.bin --out idirect.dsm --resnets 1 "${img[@]}"
expect 0 "train stage 1 PixelCNN++ (plain IDX)" "$DSMOOTH" train --data test-images.idx3-ubyte --out is1.dsm --stage 1 --sigma 0.5 --resnets 1 "${img[@]}"
expect 0 "train stage 2 PixelCNN" "$DSMOOTH" train --data my-train-images.bin --out is2.dsm --stage 2 --sigma 0.5 --arch pixelcnn --layers 2 "${img[@]}"
expect 0 "inspect --json" "$DSMOOTH" inspect --json is2.dsm
json_check "inspect reports the network" "j['arch']=='pixelcnn' and j['height']==8 and j['width']==8 and j['cond_dim']==64 and j['head']=='discretized' and j['layers']==2 and j['check']=='ok'"
expect 0 "inspect (text)" "$DSMOOTH" inspect idirect.dsm
grep -q "pixelcnnpp" out.txt && grep -q "check         ok" out.txt && pass "inspect text" || fail "inspect text"
expect 0 "eval images (bits/dim)" "$DSMOOTH" eval --data test-images.idx3-ubyte --model idirect.dsm --json --quiet
json_check "image bits/dim is positive and finite" "j['dim']==64 and 0 < j['bits_per_dim'] < 20"
expect 0 "eval images two-stage" "$DSMOOTH" eval --data test-images.idx3-ubyte --stage1 is1.dsm --stage2 is2.dsm --sigma 0.5 --iw 2 --limit 8 --quiet
expect 0 "sample images" "$DSMOOTH" sample --model idirect.dsm --n 6 --out isamples.npy --png isamples.png --json --quiet
json_check "sample --json" "j['n']==6 and j['dim']==64"
"$PY" - <<'PY' && pass ".npy images are (6, 8, 8) float32" || fail ".npy images are (6, 8, 8) float32"
import ast, struct
b = open("isamples.npy", "rb").read()
assert b[:6] == b"\x93NUMPY"
hlen = struct.unpack("<H", b[8:10])[0]
h = ast.literal_eval(b[10:10 + hlen].decode())
assert h["descr"] == "<f4" and h["shape"] == (6, 8, 8) and not h["fortran_order"], h
assert len(b) == 10 + hlen + 6 * 64 * 4 and (10 + hlen) % 64 == 0
PY
"$PY" - <<'PY' && pass "PNG valid and deflate-compressed" || fail "PNG valid and deflate-compressed"
import struct, zlib
b = open("isamples.png", "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", b[16:24])
idat, o = b"", 8
while o < len(b):
    n = struct.unpack(">I", b[o:o + 4])[0]
    kind, data = b[o + 4:o + 8], b[o + 8:o + 8 + n]
    assert zlib.crc32(kind + data) == struct.unpack(">I", b[o + 8 + n:o + 12 + n])[0]
    if kind == b"IDAT": idat += data
    o += 12 + n
raw = zlib.decompress(idat)
assert len(raw) == h * (3 * w + 1)
assert len(idat) < len(raw) / 4, (len(idat), len(raw))  # compressed, not stored blocks
PY
expect 0 "denoise images with --add-noise" "$DSMOOTH" denoise --data test-images.idx3-ubyte --add-noise --sigma 0.5 --model is1.dsm --out den.npy --noisy-out noisy.npy --png den.png --limit 8 --json --quiet
json_check "denoise --json" "j['rows']==8 and j['mse_noisy'] > 0 and math.isfinite(j['mse_denoised'])"
expect 0 "denoise with stage 2" "$DSMOOTH" denoise --data noisy.npy --stage2 is2.dsm --out den2.npy --quiet
expect 0 "train on 3-D vectors" "$DSMOOTH" train --data points3.csv --out d3.dsm --steps 2 --quiet
usage_error "--png for 3-D vectors" "--png: a figure needs an image model or 2-D vectors" "$DSMOOTH" sample --model d3.dsm --n 3 --png x.png --quiet
expect 1 "a checkpoint is not data" "$DSMOOTH" eval --data idirect.dsm --model idirect.dsm
grep -qF "is not a .npy, IDX or CSV file" err.txt && pass "binary data message" || fail "binary data message"
head -c 200 idirect.dsm > truncated.dsm
expect 1 "inspect a truncated checkpoint" "$DSMOOTH" inspect truncated.dsm
grep -q "FAILED\|truncated" out.txt err.txt && pass "truncated checkpoint reported" || fail "truncated checkpoint reported"

# ---- installed: cmake --install puts a working dsmooth under the prefix --------------
if [ -n "$BUILD" ]; then
  prefix="$WORK/prefix"
  cmake --install "$BUILD" --prefix "$prefix" --component runtime >/dev/null &&
    cmake --install "$BUILD" --prefix "$prefix" --component tools >/dev/null
  if [ -x "$prefix/bin/dsmooth" ] && env -u LD_LIBRARY_PATH "$prefix/bin/dsmooth" --version >out.txt 2>&1 &&
     grep -q "libdsmooth" out.txt; then pass "installed dsmooth runs from the prefix"
  else fail "installed dsmooth runs from the prefix"; cat out.txt; fi
fi

# ---- the .deb: cpack puts dsmooth in its own package, which runs from an extracted tree --
if [ -n "$BUILD" ] && command -v cpack >/dev/null && command -v dpkg-deb >/dev/null; then
  if cpack -G DEB -B "$WORK/debs" --config "$BUILD/CPackConfig.cmake" >cpack.log 2>&1 &&
     deb=$(ls "$WORK"/debs/dsmooth_*.deb 2>/dev/null) && [ -n "$deb" ]; then
    dpkg-deb -f "$deb" Depends | grep -q "libdsmooth" && pass "dsmooth .deb depends on the library" \
      || fail "dsmooth .deb depends on the library"
    for d in "$WORK"/debs/*.deb; do dpkg-deb -x "$d" "$WORK/deb-root"; done
    if env -u LD_LIBRARY_PATH "$WORK/deb-root/usr/bin/dsmooth" --version >out.txt 2>&1; then
      pass "dsmooth from the .deb runs"
    else fail "dsmooth from the .deb runs"; cat out.txt; fi
  else
    fail "cpack writes a dsmooth .deb"; tail -n 5 cpack.log
  fi
fi

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
