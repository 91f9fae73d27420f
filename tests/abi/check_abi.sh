#!/usr/bin/env bash
# ABI guard: compare a fresh -g build of libdsmooth.so with the committed baseline.
#   check_abi.sh SOURCE_DIR WORK_DIR            check (exit 1 on any ABI break)
#   check_abi.sh SOURCE_DIR WORK_DIR --update   regenerate the baseline (see docs/abi.md)
# Two checks, both allowing additions and nothing else:
#  1. abidiff --no-added-syms on the ELF/DWARF of the public interface (types reachable
#     from include/, opaque structs are private): removed or changed functions, changed
#     signatures, changed typedefs and enumerator values of ds_status fail. Added functions
#     are not reported (--no-added-syms) and appended enumerators are "harmless" changes
#     that abidiff filters out by default (exit 0): both are minor-version additions.
#  2. the value of every DS_* enumerator in include/dsmooth.h: most enums travel as
#     int32_t in the signatures, so abidiff cannot see them; each baseline NAME = VALUE
#     must still be in the header (new names may appear).
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
mode=${3:-check}
base_abi="$src/tests/abi/libdsmooth.abi"
base_enums="$src/tests/abi/enumerators.txt"

for tool in abidw abidiff; do
  command -v $tool >/dev/null || { echo "$tool not found: apt-get install abigail-tools"; exit 1; }
done

mkdir -p "$work"
# Debug = -g -O0: full type information, and the quickest build
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Debug -DBUILD_SHARED_LIBS=ON \
  -DDS_BUILD_TESTS=OFF -DDS_BUILD_EXAMPLES=OFF -DDS_BUILD_BENCHMARKS=OFF >"$work/configure.log"
cmake --build "$work/build" -j 2 --target dsmooth >"$work/build.log"
lib=$(readlink -f "$work/build/lib/libdsmooth.so")

enumerators() {
  # "DS_NAME = VALUE" for every explicitly valued enumerator of the public header
  sed -n 's/^[[:space:]]*\(DS_[A-Z0-9_]*\)[[:space:]]*=[[:space:]]*\(-\{0,1\}[0-9][0-9]*\).*/\1 = \2/p' \
    "$src/include/dsmooth.h"
}

if [ "$mode" = --update ]; then
  abidw --headers-dir "$src/include" --drop-private-types --exported-interfaces-only \
    --no-corpus-path --no-comp-dir-path --no-show-locs --type-id-style hash \
    --out-file "$base_abi" "$lib"
  # translation units are named by absolute path: make them relative to the source tree
  sed -i "s|path='$src/|path='|g" "$base_abi"
  enumerators >"$base_enums"
  echo "baseline written: $base_abi ($(grep -c '<elf-symbol ' "$base_abi") symbols)," \
       "$base_enums ($(wc -l <"$base_enums") enumerators)"
  exit 0
fi

status=0
echo "-- abidiff --no-added-syms $(basename "$base_abi") $(basename "$lib")"
if abidiff --no-added-syms --drop-private-types --hd2 "$src/include" \
     "$base_abi" "$lib" >"$work/abidiff.txt" 2>&1; then
  grep -E "summary" "$work/abidiff.txt" || true
else
  rc=$?
  cat "$work/abidiff.txt"
  echo "ABI CHECK FAILED: abidiff exit $rc (4 = ABI change, 8 = incompatible change)."
  echo "Existing functions and types must not change in a minor release. If this is a"
  echo "deliberate break, bump DS_VERSION_MAJOR (SONAME) and regenerate the baseline in"
  echo "the same commit: tests/abi/check_abi.sh . build/abi --update  (docs/abi.md)"
  status=1
fi

echo "-- enumerator values ($(wc -l <"$base_enums") in the baseline)"
current=$(enumerators)
while IFS= read -r line; do
  [ -z "$line" ] && continue
  if ! grep -qxF "$line" <<<"$current"; then
    name=${line%% =*}
    now=$(grep -E "^$name = " <<<"$current" || echo "$name: removed")
    echo "ENUMERATOR CHANGED: baseline '$line', now '$now'"
    status=1
  fi
done <"$base_enums"
added=$(( $(wc -l <<<"$current") - $(wc -l <"$base_enums") ))
[ $status = 0 ] && echo "ABI check passed ($added enumerators added since the baseline)"
exit $status
