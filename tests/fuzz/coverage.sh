#!/usr/bin/env bash
# Line coverage of the parsing code reached by a fuzz corpus:
#   tests/fuzz/coverage.sh SOURCE_DIR BUILD_DIR MODEL_CORPUS TRAINER_CORPUS
# builds the targets with clang source-based coverage (DS_SANITIZE=fuzzer-coverage), runs
# every corpus input once (-runs=0) and prints llvm-cov's report for the parser files.
set -euo pipefail
src=$1 build=$2 model=$3 trainer=$4
CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDS_SANITIZE=fuzzer-coverage -DBUILD_SHARED_LIBS=OFF -DDS_BUILD_EXAMPLES=OFF \
  -DDS_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target fuzz_model_load fuzz_trainer_resume >/dev/null
rm -f "$build"/fuzzcov-*.profraw
for t in "fuzz_model_load:$model" "fuzz_trainer_resume:$trainer"; do
  target=${t%%:*} corpus=${t#*:}
  LLVM_PROFILE_FILE="$build/fuzzcov-$target.profraw" \
    "$build/tests/fuzz/$target" -runs=0 "$corpus" >/dev/null 2>&1
done
llvm-profdata-14 merge -o "$build/fuzzcov.profdata" "$build"/fuzzcov-*.profraw
llvm-cov-14 report "$build/tests/fuzz/fuzz_model_load" -object "$build/tests/fuzz/fuzz_trainer_resume" \
  -instr-profile="$build/fuzzcov.profdata" \
  "$src/lib/model/checkpoint.c" "$src/lib/model/model_io.c" "$src/lib/model/trainer.c" \
  "$src/lib/model/config.c" "$src/lib/model/file_replace.c" "$src/lib/api/model_config.c" \
  "$src/lib/api/model.c"
