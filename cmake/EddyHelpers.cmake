# eddy_module_tests(<module> LIBS <targets...> [SOURCES <extra files...>])
# Builds <module>_tests from the unit tests beside the module's code (every
# *_test.cc in the calling directory) and registers it with ctest as
# "unit.<module>". Each module has its own test binary, so a module's tests
# build and run on their own.
function(eddy_module_tests module)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT EDDY_BUILD_TESTS)
    return()
  endif()
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(NOT tests AND NOT ARG_SOURCES)
    return()
  endif()
  add_executable(${module}_tests ${tests} ${ARG_SOURCES})
  target_link_libraries(${module}_tests PRIVATE ${ARG_LIBS} eddy_test_util GTest::gtest
                        GTest::gtest_main)
  set_target_properties(${module}_tests PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                        ${PROJECT_BINARY_DIR}/bin)
  add_test(NAME unit.${module} COMMAND ${module}_tests)
  set_tests_properties(unit.${module} PROPERTIES LABELS unit)
endfunction()
