#!/usr/bin/env bash
# run_python_package_test.sh PYTHON SOURCE_DIR WORK_DIR: the Python package as a user
# installs it, offline, with Debian's tools: build a wheel (python3 -m build --no-isolation,
# which compiles libdsmooth with CMake into the wheel), install it into a fresh venv that
# sees Debian's numpy (--system-site-packages), run the binding tests against that
# installed package (not the source tree, not the build tree's library), then `pip install`
# the package directory into a second venv. Exit 77 (skipped) when a tool is missing.
set -euo pipefail
py=$1
src=$2
work=$3
missing=()
for m in venv numpy pytest setuptools wheel build; do
  "$py" -c "import $m" 2>/dev/null || missing+=("$m")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "SKIPPED: $py cannot import ${missing[*]} (apt-get install python3-venv python3-numpy python3-pytest python3-setuptools python3-wheel python3-build)"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
# a copy of the package directory: the build writes build/ and *.egg-info next to setup.py
cp -r "$src/examples/python" "$work/pkg"
rm -rf "$work/pkg/build" "$work/pkg"/*.egg-info "$work/pkg/tests"
export DSMOOTH_SOURCE_DIR=$src PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1
unset DSMOOTH_LIB_DIR DSMOOTH_LIBRARY

echo "== wheel: $py -m build --no-isolation --wheel"
"$py" -m build --no-isolation --wheel --outdir "$work/dist" "$work/pkg" >"$work/build-wheel.log" 2>&1 \
  || { tail -n 30 "$work/build-wheel.log"; exit 1; }
wheel=$(ls "$work"/dist/dsmooth-*.whl)
echo "   $(basename "$wheel")"

echo "== venv A: pip install the wheel, run the tests against it"
"$py" -m venv --system-site-packages "$work/venv-wheel"
"$work/venv-wheel/bin/python" -m pip install -q --no-deps "$wheel"
cd "$work"   # nowhere near the source package
lib=$("$work/venv-wheel/bin/python" -c 'import dsmooth; print(dsmooth.library_path)')
echo "   library: $lib"
case "$lib" in
  "$work/venv-wheel/"*/dsmooth/_lib/libdsmooth.so.0) ;;
  *) echo "the installed package did not load its bundled library"; exit 1 ;;
esac
DSMOOTH_TEST_INSTALLED=1 bash "$src/tests/ffi/run_python_tests.sh" \
  "$work/venv-wheel/bin/python" "$src/examples/python/tests"

echo "== venv B: pip install --no-build-isolation <package directory>"
"$py" -m venv --system-site-packages "$work/venv-dir"
"$work/venv-dir/bin/python" -m pip install -q --no-build-isolation "$work/pkg" \
  >"$work/pip-dir.log" 2>&1 || { tail -n 30 "$work/pip-dir.log"; exit 1; }
"$work/venv-dir/bin/python" - "$work/venv-dir" <<'PY'
import sys
import numpy as np
import dsmooth
assert dsmooth.library_path.startswith(sys.argv[1]), dsmooth.library_path
with dsmooth.Context(threads=1, seed=1) as ctx:
    x = dsmooth.Smoother(ctx, "gaussian", 0.5).apply(np.zeros((3, 2), np.float32))
print("   dsmooth %s from %s: smoothed %s" % (dsmooth.version_string(), dsmooth.library_path,
                                             x.shape))
PY
echo "python package test passed"
