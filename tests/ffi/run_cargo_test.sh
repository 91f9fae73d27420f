#!/usr/bin/env bash
# run_cargo_test.sh CRATE_DIR TARGET_DIR: `cargo test --offline` of the Rust bindings
# (zero dependencies, no registry), or exit 77 (skipped) when no cargo is installed.
# DSMOOTH_LIB_DIR (set by CTest) tells build.rs which libdsmooth to link.
set -euo pipefail
crate=$1
target=$2
cargo=$(command -v cargo || true)
for c in "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" /root/.cargo/bin/cargo; do
  [ -z "$cargo" ] && [ -x "$c" ] && cargo=$c
done
if [ -z "$cargo" ]; then
  echo "SKIPPED: cargo not found on PATH, in \$CARGO_HOME/bin or /root/.cargo/bin"
  exit 77
fi
export PATH="$(dirname "$cargo"):$PATH"
echo "$("$cargo" --version), DSMOOTH_LIB_DIR=${DSMOOTH_LIB_DIR:-unset}"
exec "$cargo" test --offline --quiet --manifest-path "$crate/Cargo.toml" --target-dir "$target"
