# Debian packages with CPack: `cd build && cpack -G DEB` writes
#   libdsmooth<MAJOR>_<version>_<arch>.deb   the shared library (component runtime)
#   libdsmooth-dev_<version>_<arch>.deb      headers, libdsmooth.so link, CMake and
#                                            pkg-config files (component dev)
# installing under /usr. tests/install/run_install_test.sh builds and checks them.
set(CPACK_PACKAGE_NAME libdsmooth)
set(CPACK_PACKAGE_VENDOR "libdsmooth")
set(CPACK_PACKAGE_CONTACT "libdsmooth maintainers <libdsmooth@invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libdsmooth${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
# only libc (libm and libpthread are part of it since glibc 2.34); no BLAS
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "libc6 (>= 2.34)")
# shlibs file + ldconfig trigger: no manual ldconfig after installing the .deb
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libdsmooth-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libdsmooth${PROJECT_VERSION_MAJOR} (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "libdsmooth: autoregressive density models with distribution smoothing (shared library)")
set(CPACK_COMPONENT_DEV_DESCRIPTION "libdsmooth: headers, CMake package and pkg-config file")
# The dsmooth command-line tool (examples/dsmooth, component `tools`) when it is built.
if(TARGET dsmooth_cli)
  list(APPEND CPACK_COMPONENTS_ALL tools)
  set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME dsmooth)
  set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION science)
  set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS
      "libdsmooth${PROJECT_VERSION_MAJOR} (= ${PROJECT_VERSION}), zlib1g (>= 1:1.2.11), libc6 (>= 2.34)")
  set(CPACK_COMPONENT_TOOLS_DESCRIPTION "dsmooth: train, evaluate, sample and denoise with libdsmooth from the command line")
endif()
# libdsmooth_mpi (lib/mpi, component `mpi`) when MPI was found: one package with the
# library, its header, CMake package and pkg-config file (it is small and only useful to
# developers of MPI programs, so no runtime/dev split).
if(TARGET dsmooth_mpi)
  list(APPEND CPACK_COMPONENTS_ALL mpi)
  set(CPACK_DEBIAN_MPI_PACKAGE_NAME libdsmooth-mpi${PROJECT_VERSION_MAJOR})
  set(CPACK_DEBIAN_MPI_PACKAGE_SECTION libdevel)
  set(CPACK_DEBIAN_MPI_PACKAGE_DEPENDS
      "libdsmooth${PROJECT_VERSION_MAJOR} (= ${PROJECT_VERSION}), libdsmooth-dev (= ${PROJECT_VERSION}), libopenmpi-dev, libc6 (>= 2.34)")
  set(CPACK_COMPONENT_MPI_DESCRIPTION "libdsmooth_mpi: data-parallel training of libdsmooth models on MPI (library, header, CMake and pkg-config files)")
endif()
include(CPack)
