#!/usr/bin/env bash
# check_headers.sh INCLUDE_DIR WORK_DIR: every public header compiles on its own, first in
# its translation unit, as strict C99 and C11 and as C++11/C++17; in C++ its functions keep C
# linkage (extern "C" guards): the object must reference ds_version unmangled.
set -euo pipefail
inc=$(cd "$1" && pwd)
work=$2
mkdir -p "$work"
cc=${CC:-cc}
cxx=${CXX:-c++}
warn=(-Wall -Wextra -Wpedantic -Werror)
n=0
while IFS= read -r hdr; do
  rel=${hdr#"$inc"/}
  extra=() # dsmooth_mpi.h needs mpi.h: its directories as system headers (Open MPI's C++
  if grep -q '#include <mpi.h>' "$hdr"; then # bindings warn), or skip without MPI
    if ! flags=$(pkg-config --cflags-only-I ompi-c 2>/dev/null || mpicc --showme:incdirs 2>/dev/null); then
      echo "skipped: $rel (no MPI headers found)"
      continue
    fi
    for f in $flags; do extra+=(-isystem "${f#-I}"); done
  fi
  tu=$work/$(echo "$rel" | tr '/.' '__')
  printf '#include <%s>\n#include <%s>\nint ds_header_check_dummy;\n' "$rel" "$rel" >"$tu.c"
  for std in c99 c11; do
    "$cc" -std=$std "${warn[@]}" -I"$inc" "${extra[@]}" -c "$tu.c" -o "$tu.$std.o"
  done
  cp "$tu.c" "$tu.cpp"
  for std in c++11 c++17; do
    "$cxx" -std=$std "${warn[@]}" -I"$inc" "${extra[@]}" -c "$tu.cpp" -o "$tu.$std.o"
  done
  echo "ok: $rel (alone, included twice; C99, C11, C++11, C++17)"
  n=$((n + 1))
done < <(find "$inc" -name '*.h' | sort)
[ $n -ge 2 ] || { echo "only $n public headers found under $inc"; exit 1; }

# C++ headers (dsmooth.hpp): alone and included twice, as strict C++17 and C++20
while IFS= read -r hdr; do
  rel=${hdr#"$inc"/}
  tu=$work/$(echo "$rel" | tr '/.' '__')
  printf '#include <%s>\n#include <%s>\nint ds_header_check_dummy;\n' "$rel" "$rel" >"$tu.cpp"
  for std in c++17 c++20; do
    "$cxx" -std=$std "${warn[@]}" -I"$inc" -c "$tu.cpp" -o "$tu.$std.o"
  done
  echo "ok: $rel (alone, included twice; C++17, C++20)"
done < <(find "$inc" -name '*.hpp' | sort)

# C linkage from C++: call through the header and look at the symbol the object needs
cat >"$work/linkage.cpp" <<'CPP'
#include <dsmooth.h>
unsigned check_linkage() { return ds_version() + (ds_status_str(0) != nullptr); }
CPP
"$cxx" -std=c++11 "${warn[@]}" -I"$inc" -c "$work/linkage.cpp" -o "$work/linkage.o"
undef=$(nm -u "$work/linkage.o")
if ! grep -qw ds_version <<<"$undef" || grep -q '_Z.*ds_' <<<"$undef"; then
  echo "dsmooth.h functions lost C linkage in C++ (missing extern \"C\"?):"
  echo "$undef"
  exit 1
fi
echo "ok: C linkage from C++ ($(grep -c ds_ <<<"$undef") unmangled ds_ references)"
