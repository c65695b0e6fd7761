# The installed MLIR-style package: `cmake --install <build> --prefix P` puts
#   P/include/mhc/...            headers, .td files and the generated .inc
#   P/lib/libMHC*.a              the compiler's libraries (over libMLIR.so)
#   P/lib/libmhc_compiler.so     the compiler C API
#   P/lib/libmhc_runtime.so      the runtime (where cuda.h was found)
#   P/lib/cmake/mhc/             MHCConfig.cmake, MHCTargets.cmake
# and a downstream project uses it with find_package(MHC CONFIG) and the
# imported targets MHC::MHCDialect, MHC::MHCTransforms, MHC::MHCPipelines,
# MHC::MHCInit (examples/downstream/).
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mhc
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT mhc-dev
  FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
install(DIRECTORY ${PROJECT_BINARY_DIR}/include/mhc
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT mhc-dev
  FILES_MATCHING PATTERN "*.inc"
  PATTERN "CMakeFiles" EXCLUDE)

set(MHC_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/mhc)
install(EXPORT MHCTargets NAMESPACE MHC::
  DESTINATION ${MHC_INSTALL_CMAKEDIR} COMPONENT mhc-dev)
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/MHCConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lib/cmake/mhc/MHCConfig.cmake
  INSTALL_DESTINATION ${MHC_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/lib/cmake/mhc/MHCConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/lib/cmake/mhc/MHCConfig.cmake
  ${PROJECT_BINARY_DIR}/lib/cmake/mhc/MHCConfigVersion.cmake
  DESTINATION ${MHC_INSTALL_CMAKEDIR} COMPONENT mhc-dev)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mhc-c
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT mhc-dev)
