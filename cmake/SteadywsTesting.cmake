include(GoogleTest)
find_package(GTest REQUIRED)

# steadyws_add_test(NAME core_tests SOURCES a.cpp b.cpp LIBS steadyws::core)
# One executable per layer; gtest_discover_tests makes every case a ctest test.
function(steadyws_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
                                          steadyws_warnings steadyws_sanitizers)
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
  target_compile_features(${T_NAME} PRIVATE cxx_std_20)
  # Line tables only: file:line in gdb and sanitizer stacks at half the build time of -g.
  target_compile_options(${T_NAME} PRIVATE -g1)
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  # The executable's name is a label too, so a stage can run the suites it built (TSan).
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS};${T_NAME}")
endfunction()
