#!/usr/bin/env bash
# Install libdsmooth (shared and static) into temporary prefixes, then build and run
# consumers with find_package(dsmooth) and with pkg-config against each, after moving
# the shared install to prove the package files are relocatable.
#   run_install_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)

for kind in shared static; do
  shared=ON
  [ "$kind" = static ] && shared=OFF
  echo "== $kind library"
  cmake -S "$src" -B "$work/build-$kind" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=$shared -DDS_BUILD_TESTS=OFF -DDS_BUILD_EXAMPLES=OFF \
    -DDS_BUILD_BENCHMARKS=OFF >"$work/configure-$kind.log"
  cmake --build "$work/build-$kind" -j 2 >"$work/build-$kind.log"
  cmake --install "$work/build-$kind" --prefix "$work/staging-$kind" >/dev/null
  # move the install: nothing may refer to the first prefix
  mv "$work/staging-$kind" "$work/prefix-$kind"
  prefix="$work/prefix-$kind"
  libdir=$(dirname "$(find "$prefix" -name 'dsmooth.pc' | head -n 1)")/..

  echo "-- find_package consumer ($kind)"
  cmake -S "$src/tests/install/consumer" -B "$work/consumer-$kind" "${gen[@]}" \
    -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer-configure-$kind.log"
  cmake --build "$work/consumer-$kind" >"$work/consumer-build-$kind.log"
  LD_LIBRARY_PATH="$libdir" "$work/consumer-$kind/consumer"
  if [ -x "$work/consumer-$kind/consumer_cxx" ]; then
    LD_LIBRARY_PATH="$libdir" "$work/consumer-$kind/consumer_cxx"
    # the C++17 RAII header, installed next to dsmooth.h
    [ -f "$prefix/include/dsmooth.hpp" ] || { echo "dsmooth.hpp not installed"; exit 1; }
    LD_LIBRARY_PATH="$libdir" "$work/consumer-$kind/consumer_hpp" "$work"
  fi

  echo "-- pkg-config consumer ($kind)"
  export PKG_CONFIG_PATH="$libdir/pkgconfig"
  # a static prefix holds only libdsmooth.a, so -ldsmooth picks it and --static adds
  # the private dependencies (pthread, libm)
  static_flag=()
  [ "$kind" = static ] && static_flag=(--static)
  flags=$(pkg-config "${static_flag[@]}" --cflags --libs dsmooth)
  echo "   pkg-config ${static_flag[*]}: $flags"
  cc -std=c99 -Wall -o "$work/pc-$kind" "$src/tests/install/consumer/main.c" $flags
  LD_LIBRARY_PATH="$libdir" "$work/pc-$kind"
  if command -v c++ >/dev/null; then
    c++ -std=c++11 -Wall -o "$work/pc-cxx-$kind" "$src/tests/install/consumer/main.cpp" $flags
    LD_LIBRARY_PATH="$libdir" "$work/pc-cxx-$kind"
    c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -o "$work/pc-hpp-$kind" \
      "$src/tests/install/consumer/main_hpp.cpp" $flags
    LD_LIBRARY_PATH="$libdir" "$work/pc-hpp-$kind" "$work" >/dev/null
    c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -o "$work/pc-quickstart-cpp-$kind" \
      "$src/examples/cpp/quickstart.cpp" $flags   # the README's C++ start
    LD_LIBRARY_PATH="$libdir" "$work/pc-quickstart-cpp-$kind" >/dev/null
  fi
  if [ "$kind" = static ]; then
    # the static consumer carries the library: no libdsmooth.so needed at run time
    if readelf -d "$work/pc-$kind" | grep -q 'NEEDED.*libdsmooth'; then
      echo "static consumer still needs libdsmooth.so"; exit 1
    fi
    echo "   static consumer: no libdsmooth.so in NEEDED"
  else
    # --static on a shared prefix: the private dependencies resolve too
    sflags=$(pkg-config --static --cflags --libs dsmooth)
    echo "   pkg-config --static: $sflags"
    cc -std=c99 -Wall -o "$work/pc-static-flags-$kind" "$src/tests/install/consumer/main.c" $sflags
    LD_LIBRARY_PATH="$libdir" "$work/pc-static-flags-$kind" >/dev/null
  fi
done

echo "== Debian packages (cpack -G DEB, library + dev split)"
if command -v cpack >/dev/null && command -v dpkg-deb >/dev/null; then
  (cd "$work/build-shared" && cpack -G DEB >"$work/cpack.log")
  debs=("$work"/build-shared/*.deb)
  for d in "${debs[@]}"; do
    echo "   $(basename "$d"): $(dpkg-deb -f "$d" Depends)"
  done
  # unpack both into a scratch root (installing for real would change this machine;
  # set DS_DEB_INSTALL_TEST=1 on a throwaway CI machine to apt-get install them too)
  root=$work/deb-root
  for d in "${debs[@]}"; do dpkg-deb -x "$d" "$root"; done
  runtime=$(dpkg-deb -c "$work"/build-shared/libdsmooth[0-9]*.deb | awk '{print $6}')
  devfiles=$(dpkg-deb -c "$work"/build-shared/libdsmooth-dev_*.deb | awk '{print $6}')
  grep -q 'include/dsmooth\.hpp$' <<<"$devfiles" || { echo "the dev package lacks dsmooth.hpp"; exit 1; }
  if dpkg-deb -f "$work"/build-shared/libdsmooth[0-9]*.deb Depends | grep -qi blas; then
    echo "the runtime package still depends on a BLAS"; exit 1
  fi
  grep -q 'libdsmooth\.so\.[0-9]*$' <<<"$runtime" || { echo "runtime package lacks the library"; exit 1; }
  if grep -qE 'include/|\.pc$|libdsmooth\.so$' <<<"$runtime"; then
    echo "runtime package carries development files"; exit 1
  fi
  mpideb=$(ls "$work"/build-shared/libdsmooth-mpi[0-9]*.deb 2>/dev/null || true)
  if [ -n "$mpideb" ]; then
    mpifiles=$(dpkg-deb -c "$mpideb" | awk '{print $6}')
    for want in 'libdsmooth_mpi\.so\.[0-9]*$' 'include/dsmooth_mpi\.h$' 'dsmooth_mpi\.pc$' \
                'cmake/dsmooth_mpi/dsmooth_mpiConfig\.cmake$'; do
      grep -q "$want" <<<"$mpifiles" || { echo "the MPI package lacks $want"; exit 1; }
    done
    if grep -q 'libdsmooth\.so' <<<"$mpifiles"; then
      echo "the MPI package carries libdsmooth itself"; exit 1
    fi
  fi
  cmake -S "$src/tests/install/consumer" -B "$work/consumer-deb" "${gen[@]}" \
    -DCMAKE_PREFIX_PATH="$root/usr" >"$work/consumer-configure-deb.log"
  cmake --build "$work/consumer-deb" >"$work/consumer-build-deb.log"
  LD_LIBRARY_PATH="$root/usr/lib" "$work/consumer-deb/consumer"
  PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" cc -std=c99 -o "$work/pc-deb" \
    "$src/tests/install/consumer/main.c" $(PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" pkg-config --cflags --libs dsmooth)
  LD_LIBRARY_PATH="$root/usr/lib" "$work/pc-deb"
  if [ "${DS_DEB_INSTALL_TEST:-0}" = 1 ]; then
    apt-get install -y -qq "${debs[@]}" >/dev/null
    cc -std=c99 -o "$work/pc-deb-system" "$src/tests/install/consumer/main.c" \
      $(pkg-config --cflags --libs dsmooth)
    "$work/pc-deb-system"   # found by the loader: the package's ldconfig trigger ran
    apt-get remove -y -qq libdsmooth-dev "libdsmooth$(dpkg-deb -f "${debs[0]}" Version | cut -d. -f1)" >/dev/null || true
  fi
else
  echo "   skipped: cpack or dpkg-deb not found"
fi
echo "install test passed"
