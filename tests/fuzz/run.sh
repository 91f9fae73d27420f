#!/usr/bin/env bash
# Build the fuzz targets with clang (ASan + UBSan + libFuzzer), make their seed corpora
# through the public API, and run each for a fixed number of executions:
#   tests/fuzz/run.sh SOURCE_DIR BUILD_DIR [RUNS]      (RUNS default 20000 per target)
# Exits 0 with a message when clang or its fuzzer runtime is missing (CI installs them).
set -euo pipefail
src=$1 build=$2 runs=${3:-20000}
if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: clang not found, fuzz targets skipped (apt-get install clang libclang-rt-14-dev)"
  exit 0
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}' |
     clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "fuzz: clang has no libFuzzer runtime, fuzz targets skipped (libclang-rt-14-dev)"
  exit 0
fi
CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDS_SANITIZE=fuzzer \
  -DBUILD_SHARED_LIBS=OFF -DDS_BUILD_EXAMPLES=OFF -DDS_BUILD_BENCHMARKS=OFF \
  -DDS_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target fuzz_model_load fuzz_trainer_resume make_fuzz_corpus
corpus="$build/fuzz-corpus"
rm -rf "$corpus"
"$build/tests/fuzz/make_fuzz_corpus" "$corpus"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for t in model:fuzz_model_load trainer:fuzz_trainer_resume; do
  kind=${t%%:*} target=${t#*:}
  work="$build/fuzz-work/$kind"
  rm -rf "$work" && mkdir -p "$work"
  echo "fuzz: $target, $runs executions from $(ls "$corpus/$kind" | wc -l) seeds"
  (cd "$work" && "../../tests/fuzz/$target" -runs="$runs" -seed=1 -max_len=65536 \
     -dict="$src/tests/fuzz/checkpoint.dict" -print_final_stats=1 "$work" "$corpus/$kind" \
     2>&1 | tail -n 12)
done
# reached only when both targets ran their executions without a finding (set -e)
echo "fuzz: 2 passed, 0 failed"
