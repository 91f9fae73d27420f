# Layering of lib/ (docs/design.md): api -> model -> kernels -> core, data flowing down.
# Fails on an upward #include "dir/...": core/ includes only core/, kernels/ only kernels/
# and core/, model/ anything but api/. And on a skipped layer: api/ holds thin entry points
# (argument checks, error details, handles) that reach the algorithms through model/, so
# it includes api/, model/ and core/ but not kernels/. The public header "dsmooth.h" (and
# include/dsmooth/) is allowed everywhere; other directories (mpi/) are not restricted.
#   cmake -DLIB_DIR=<repo>/lib -P check_layering.cmake
cmake_minimum_required(VERSION 3.16)
if(NOT LIB_DIR OR NOT IS_DIRECTORY "${LIB_DIR}")
  message(FATAL_ERROR "give -DLIB_DIR=<repo>/lib (got '${LIB_DIR}')")
endif()

# directory -> the lib/ directories its files may include
set(allowed_core core)
set(allowed_kernels kernels core)
set(allowed_model model kernels core)
set(allowed_api api model core)

set(violations "")
set(checked 0)
foreach(layer core kernels model api)
  file(GLOB_RECURSE sources "${LIB_DIR}/${layer}/*.c" "${LIB_DIR}/${layer}/*.h")
  foreach(src IN LISTS sources)
    math(EXPR checked "${checked} + 1")
    file(STRINGS "${src}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1" target "${line}")
      if(target MATCHES "^dsmooth(\\.h|/)")
        continue()
      endif()
      if(NOT target MATCHES "^([a-z_]+)/")
        # a path without a directory would hide which layer it reaches
        list(APPEND violations "${src}: #include \"${target}\" names no lib/ directory")
        continue()
      endif()
      set(dir "${CMAKE_MATCH_1}")
      if(NOT dir IN_LIST allowed_${layer})
        string(REPLACE ";" ", " may "${allowed_${layer}}")
        file(RELATIVE_PATH rel "${LIB_DIR}" "${src}")
        list(APPEND violations "lib/${rel}: #include \"${target}\" (${layer}/ may include only ${may})")
      endif()
    endforeach()
  endforeach()
endforeach()

if(checked LESS 10)
  message(FATAL_ERROR "only ${checked} files under ${LIB_DIR}/{core,kernels,model,api}: wrong LIB_DIR?")
endif()
list(LENGTH violations n)
if(n GREATER 0)
  string(REPLACE ";" "\n  " text "${violations}")
  message(FATAL_ERROR "${n} upward or layer-skipping include(s):\n  ${text}")
endif()
message(STATUS "layering: ${checked} files of core/, kernels/, model/, api/ include only their own or lower layers (api/ not kernels/)")
