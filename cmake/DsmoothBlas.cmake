# CBLAS provider. Debian ships CBLAS inside libblas.so.3 (reference), OpenBLAS and BLIS;
# find_package(BLAS) finds none of the headers, so look for cblas.h ourselves.
#   auto       whatever the system's libblas.so.3 alternative points to (-lblas)
#   openblas   libopenblas (pthread flavour)
#   reference  Netlib's reference CBLAS (libblas-dev)
#   blis       libblis (pthread flavour)
# Result: imported target ds::cblas and DS_BLAS_NAME.
set(_ds_blas_lib_names blas)
set(_ds_blas_hints "")
set(_ds_blas_inc_hints "")
if(DS_BLAS STREQUAL "openblas")
  set(_ds_blas_lib_names openblas)
  set(_ds_blas_inc_hints /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-pthread
                         /usr/include/openblas)
elseif(DS_BLAS STREQUAL "reference")
  set(_ds_blas_hints /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/blas)
  set(_ds_blas_inc_hints /usr/include/${CMAKE_LIBRARY_ARCHITECTURE})
elseif(DS_BLAS STREQUAL "blis")
  set(_ds_blas_lib_names blis)
  set(_ds_blas_inc_hints /usr/include/blis /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/blis)
elseif(NOT DS_BLAS STREQUAL "auto")
  message(FATAL_ERROR "DS_BLAS must be auto, openblas, reference or blis (got '${DS_BLAS}')")
endif()

find_library(DS_CBLAS_LIBRARY NAMES ${_ds_blas_lib_names} HINTS ${_ds_blas_hints}
             NO_CACHE REQUIRED)
find_path(DS_CBLAS_INCLUDE_DIR cblas.h HINTS ${_ds_blas_inc_hints} NO_CACHE REQUIRED)
set(DS_BLAS_NAME "${DS_BLAS}")
message(STATUS "libdsmooth: CBLAS '${DS_BLAS}' from ${DS_CBLAS_LIBRARY}, cblas.h in ${DS_CBLAS_INCLUDE_DIR}")

add_library(ds_cblas INTERFACE)
target_link_libraries(ds_cblas INTERFACE "${DS_CBLAS_LIBRARY}")
target_include_directories(ds_cblas INTERFACE "${DS_CBLAS_INCLUDE_DIR}")
# pkg-config's Libs.private for static consumers
get_filename_component(_ds_blas_file "${DS_CBLAS_LIBRARY}" NAME_WE)
string(REGEX REPLACE "^lib" "" DS_BLAS_LINK_NAME "${_ds_blas_file}")
