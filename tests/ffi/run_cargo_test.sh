#!/usr/bin/env bash
# run_cargo_test.sh CRATE_DIR TARGET_DIR [SOURCE_DIR]: `cargo test --offline` of the Rust
# crates (dsmooth-sys + dsmooth; zero dependencies, no registry), `cargo doc` with warnings
# as errors, then tests/ffi/rust_consumer — a program depending on the crates — built and
# run without LD_LIBRARY_PATH against the build tree (DSMOOTH_LIB_DIR, set by CTest) and
# against an installed, non-system prefix found by pkg-config; and the build script's
# message when DSMOOTH_LIB_DIR points nowhere. Exit 77 (skipped) when cargo is missing.
set -euo pipefail
crate=$1
target=$2
src=${3:-$(cd "$crate/../.." && pwd)}
cargo=$(command -v cargo || true)
for c in "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" /root/.cargo/bin/cargo; do
  [ -z "$cargo" ] && [ -x "$c" ] && cargo=$c
done
if [ -z "$cargo" ]; then
  echo "SKIPPED: cargo not found on PATH, in \$CARGO_HOME/bin or /root/.cargo/bin"
  exit 77
fi
export PATH="$(dirname "$cargo"):$PATH"
unset LD_LIBRARY_PATH
echo "$("$cargo" --version), DSMOOTH_LIB_DIR=${DSMOOTH_LIB_DIR:-unset}"
"$cargo" test --offline --quiet --workspace --manifest-path "$crate/Cargo.toml" --target-dir "$target"
echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" "$cargo" doc --offline --quiet --workspace --no-deps \
  --manifest-path "$crate/Cargo.toml" --target-dir "$target"

consumer=$src/tests/ffi/rust_consumer
echo "== dependent program, library from the build tree (DSMOOTH_LIB_DIR)"
"$cargo" build --offline --quiet --manifest-path "$consumer/Cargo.toml" --target-dir "$target/consumer"
"$target/consumer/debug/dsmooth-consumer"

if [ -n "${DSMOOTH_LIB_DIR:-}" ] && command -v pkg-config >/dev/null; then
  echo "== dependent program, library from an installed prefix (pkg-config)"
  build_dir=$(cd "$DSMOOTH_LIB_DIR/.." && pwd)
  prefix=$target/prefix
  rm -rf "$prefix"
  cmake --install "$build_dir" --prefix "$prefix" >/dev/null
  pc=$(dirname "$(find "$prefix" -name dsmooth.pc | head -n 1)")
  out=$(env -u DSMOOTH_LIB_DIR PKG_CONFIG_PATH="$pc" \
        "$cargo" build --offline --quiet --manifest-path "$consumer/Cargo.toml" \
        --target-dir "$target/consumer-prefix" 2>&1) || { echo "$out"; exit 1; }
  "$target/consumer-prefix/debug/dsmooth-consumer" | tee "$target/consumer-prefix.out"
  grep -q "linked from $prefix.*(pkg-config" "$target/consumer-prefix.out" \
    || { echo "the consumer was not linked through pkg-config from $prefix"; exit 1; }

  echo "== build script message without a library"
  if out=$(DSMOOTH_LIB_DIR=/nonexistent-dsmooth "$cargo" build --offline --quiet \
           --manifest-path "$consumer/Cargo.toml" --target-dir "$target/consumer-missing" 2>&1); then
    echo "the build succeeded without a library"; exit 1
  fi
  grep -q "DSMOOTH_LIB_DIR=/nonexistent-dsmooth holds neither libdsmooth.so nor libdsmooth.a" <<<"$out" \
    || { echo "unexpected failure:"; echo "$out"; exit 1; }
  echo "   stops with: DSMOOTH_LIB_DIR=/nonexistent-dsmooth holds neither libdsmooth.so nor libdsmooth.a"
fi
echo "rust test passed"
