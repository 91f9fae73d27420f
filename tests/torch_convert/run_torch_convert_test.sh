#!/usr/bin/env bash
# examples/python/convert_torch.py against PyTorch: converts the committed fixtures (made by
# make_fixture.py with torch: pixel-cnn-pp PixelCNN++ state_dicts, grayscale and RGB, with
# weight normalisation; pytorch-made-style MADEs, unconditional and conditional) into
# libdsmooth checkpoints, evaluates the fixture inputs with `dsmooth eval --log-prob-out`, and
# requires every log-probability to agree with PyTorch's to 1e-4 nats. Needs python3 with
# numpy, not torch.
#   run_torch_convert_test.sh DSMOOTH SOURCE_DIR WORKDIR
set -u
DSMOOTH=$1
SRC=$2
WORK=$3
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if ! "$PY" -c "import numpy" 2>/dev/null; then
  echo "SKIP: $PY has no numpy (apt-get install python3-numpy)"
  exit 77
fi
FIX=$SRC/tests/torch_convert
CONVERT=$SRC/examples/python/convert_torch.py
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
failures=0

compare() { # NAME got.npy expected.npy
  if "$PY" - "$2" "$3" <<'PY'; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
import sys
import numpy as np
got, want = np.load(sys.argv[1]), np.load(sys.argv[2])
err = np.abs(got - want).max() if got.shape == want.shape else float("inf")
print("     %d log-probs, max |libdsmooth - PyTorch| = %.3g nats" % (want.size, err))
sys.exit(0 if err <= 1e-4 else 1)
PY
}

run() { # NAME convert-args... -- eval-args...
  local name=$1
  shift
  local conv=() evalargs=()
  while [ "$1" != "--" ]; do conv+=("$1"); shift; done
  shift
  evalargs=("$@")
  if ! "$PY" "$CONVERT" "${conv[@]}" --out "$name.dsm"; then
    echo "FAIL $name: conversion"; failures=$((failures + 1)); return
  fi
  if ! "$DSMOOTH" eval --model "$name.dsm" "${evalargs[@]}" --log-prob-out "$name.lp.npy" --quiet >/dev/null; then
    echo "FAIL $name: dsmooth eval"; failures=$((failures + 1)); return
  fi
  compare "$name: log-probs agree with PyTorch" "$name.lp.npy" "$FIX/${name}_log_prob.npy"
}

run pixelcnnpp_gray pixelcnnpp "$FIX/pixelcnnpp_gray_state.npz" --height 8 --width 8 -- \
  --data "$FIX/pixelcnnpp_gray_x.npy"
run pixelcnnpp_rgb pixelcnnpp "$FIX/pixelcnnpp_rgb_state.npz" --height 8 --width 12 -- \
  --data "$FIX/pixelcnnpp_rgb_x.npy"
run made made "$FIX/made_state.npz" --output-order param-major -- --data "$FIX/made_x.npy"
run made_cond made "$FIX/made_cond_state.npz" --cond-dim 3 --activation tanh --output-order param-major -- \
  --data "$FIX/made_cond_x.npy" --cond "$FIX/made_cond_cond.npy"

# the converted checkpoints are ordinary ones: inspect checks them
"$DSMOOTH" inspect --json pixelcnnpp_rgb.dsm >inspect.json &&
  "$PY" -c "import json; j = json.load(open('inspect.json')); assert j['arch'] == 'pixelcnnpp' and j['channels'] == 3 and j['filters'] == 6 and j['resnets'] == 1 and j['components'] == 2 and j['check'] == 'ok', j" &&
  echo "ok   inspect reads the converted PixelCNN++" || { echo "FAIL inspect"; failures=$((failures + 1)); }

# wrong inputs are refused with a reason
if "$PY" "$CONVERT" pixelcnnpp "$FIX/made_state.npz" --height 8 --width 8 --out bad.dsm 2>err.txt; then
  echo "FAIL a MADE state_dict is not a PixelCNN++"; failures=$((failures + 1))
elif grep -q "no weight for u_init.conv" err.txt; then echo "ok   a MADE state_dict is not a PixelCNN++"
else echo "FAIL message: $(cat err.txt)"; failures=$((failures + 1)); fi
if "$PY" "$CONVERT" made "$FIX/made_state.npz" --out bad.dsm 2>err.txt; then
  echo "FAIL wrong output order is detected"; failures=$((failures + 1))
elif grep -q "not a MADE in the natural order" err.txt; then echo "ok   wrong output order is detected"
else echo "FAIL message: $(cat err.txt)"; failures=$((failures + 1)); fi

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
