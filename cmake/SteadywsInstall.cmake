# `cmake --install`: the client library (steadyws::client and the static layers it is made
# of), its public headers, the steadyws binary, and a package config so that a program
# outside the tree can say find_package(steadyws) (tests/install/check.sh does).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_steadyws_installed core protocol auth asio client)
foreach(layer IN LISTS _steadyws_installed)
  set_target_properties(steadyws_${layer} PROPERTIES EXPORT_NAME ${layer})
endforeach()
list(TRANSFORM _steadyws_installed PREPEND steadyws_)

install(TARGETS ${_steadyws_installed} EXPORT steadywsTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS steadyws RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/steadyws
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(_steadyws_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/steadyws)
install(EXPORT steadywsTargets NAMESPACE steadyws:: DESTINATION ${_steadyws_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/steadywsConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/steadywsConfig.cmake
                              INSTALL_DESTINATION ${_steadyws_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/steadywsConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/steadywsConfig.cmake
              ${PROJECT_BINARY_DIR}/steadywsConfigVersion.cmake
        DESTINATION ${_steadyws_cmake_dir})
