"""Build hooks for the dsmooth wheel (metadata is in pyproject.toml).

The wheel carries its own libdsmooth: build_py configures and builds the shared library
with CMake from the repository this directory belongs to (../..; or $DSMOOTH_SOURCE_DIR)
and copies it to dsmooth/_lib/libdsmooth.so.0, where dsmooth._native finds it first. So
`pip install` needs no installed libdsmooth and no network, only cmake and a C compiler.
$DSMOOTH_BUNDLE=0 skips this: the package then loads $DSMOOTH_LIB_DIR's or the system's
library at import time. The CMake build directory is kept under build/ next to this
file, so a second build is incremental.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from wheel.bdist_wheel import bdist_wheel
except ImportError:  # no wheel package: pip's legacy path, nothing to tag
    bdist_wheel = None

HERE = Path(__file__).resolve().parent
SONAME = "libdsmooth.so.0"


def _bundle() -> bool:
    return os.environ.get("DSMOOTH_BUNDLE", "1") != "0"


def _source_dir() -> Path:
    src = Path(os.environ.get("DSMOOTH_SOURCE_DIR") or HERE.parents[1]).resolve()
    if not (src / "CMakeLists.txt").exists() or not (src / "include" / "dsmooth.h").exists():
        sys.exit("dsmooth: no libdsmooth source tree at %s (CMakeLists.txt and "
                 "include/dsmooth.h). Build from a checkout of the repository, set "
                 "DSMOOTH_SOURCE_DIR to one, or set DSMOOTH_BUNDLE=0 to use an installed "
                 "library." % src)
    return src


class BuildPyWithLibrary(build_py):
    """build_py, then libdsmooth.so built by CMake into the package's _lib/."""

    def run(self):
        super().run()
        if not _bundle():
            return
        cmake = shutil.which("cmake")
        if cmake is None:
            sys.exit("dsmooth: cmake not found (apt-get install cmake), or set "
                     "DSMOOTH_BUNDLE=0 to use an installed libdsmooth")
        src = _source_dir()
        build = HERE / "build" / "libdsmooth"
        subprocess.check_call([cmake, "-S", str(src), "-B", str(build),
                               "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=ON",
                               "-DDS_BUILD_TESTS=OFF", "-DDS_BUILD_EXAMPLES=OFF",
                               "-DDS_BUILD_BENCHMARKS=OFF"])
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.check_call([cmake, "--build", str(build), "--target", "dsmooth",
                               "-j", jobs])
        built = build / "lib" / SONAME
        if not built.exists():
            sys.exit("dsmooth: CMake built no %s in %s" % (SONAME, built.parent))
        dest = Path(self.build_lib) / "dsmooth" / "_lib"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built.resolve(), dest / SONAME)  # the file, not the symlink


class LibraryDistribution(Distribution):
    """Says the package holds native code (the bundled library), so the wheel installs
    it to platlib and is not tagged pure."""

    def has_ext_modules(self):
        return _bundle()


cmdclass = {"build_py": BuildPyWithLibrary}

if bdist_wheel is not None:
    class PlatformWheel(bdist_wheel):
        """A wheel for this platform (it holds a shared library), for any Python 3:
        the bindings use ctypes, not the CPython ABI."""

        def get_tag(self):
            if not _bundle():
                return super().get_tag()
            plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = PlatformWheel

setup(cmdclass=cmdclass, distclass=LibraryDistribution)
