# Install rules: headers, library, CMake package (dsmooth::dsmooth) and pkg-config file.
include(CMakePackageConfigHelpers)

# Components (used by the Debian packages, cmake/DsmoothPackaging.cmake): `runtime` is the
# versioned shared library (libdsmooth.so.MAJOR...), `dev` everything needed to build
# against it: headers, the libdsmooth.so link, the static archive, CMake and pkg-config files.
install(TARGETS dsmooth EXPORT dsmoothTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES include/dsmooth.h include/dsmooth.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev)
install(FILES include/dsmooth/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dsmooth
        COMPONENT dev)

set(DS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/dsmooth)
install(EXPORT dsmoothTargets NAMESPACE dsmooth:: DESTINATION ${DS_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/dsmoothConfig.cmake.in
  ${PROJECT_BINARY_DIR}/dsmoothConfig.cmake INSTALL_DESTINATION ${DS_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dsmoothConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dsmoothConfig.cmake
              ${PROJECT_BINARY_DIR}/dsmoothConfigVersion.cmake
        DESTINATION ${DS_CMAKE_DIR} COMPONENT dev)

# pkg-config: prefix is derived from the .pc file's own location so the install can be
# moved (cmake --install build --prefix /any/where does not reconfigure).
file(RELATIVE_PATH DS_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" DS_PC_TO_PREFIX "${DS_PC_TO_PREFIX}")
configure_file(cmake/dsmooth.pc.in ${PROJECT_BINARY_DIR}/dsmooth.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/dsmooth.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)
