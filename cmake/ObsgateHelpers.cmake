# Helpers shared by every folder's CMakeLists.txt.

# Adds every direct child folder of the current source dir that has a CMakeLists.txt, so that
# a new module (filters/logql, authz/jwt, ...) needs no edit to its parent's list.
# OBSGATE_SKIP_DIRS (folder names) leaves some out: for a local build while a module someone is
# editing in the same checkout does not compile. CI never sets it.
set(OBSGATE_SKIP_DIRS "" CACHE STRING "child folder names obsgate_add_child_dirs() skips")
function(obsgate_add_child_dirs)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child IN LISTS children)
    if(child IN_LIST OBSGATE_SKIP_DIRS)
      message(STATUS "obsgate: skipping ${CMAKE_CURRENT_SOURCE_DIR}/${child} (OBSGATE_SKIP_DIRS)")
    elseif(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child}
       AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()

# obsgate_unit_test(NAME SOURCES a_test.cpp ... LIBS lib ...)
# One Catch2 executable per test file group, linked to the shared Catch2 main; each TEST_CASE
# becomes a CTest test through catch_discover_tests.
function(obsgate_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT OBSGATE_BUILD_TESTS OR OBSGATE_FUZZ)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE obsgate_catch_main obsgate_warnings ${T_LIBS})
  target_compile_definitions(${name} PRIVATE
    OBSGATE_TESTDATA_DIR="${CMAKE_SOURCE_DIR}/tests/testdata")
  catch_discover_tests(${name} TEST_PREFIX "${name}:" PROPERTIES LABELS unit)
endfunction()

# obsgate_fuzz_target(NAME LIBS lib ...)
# The folder holds fuzz.cpp (defining LLVMFuzzerTestOneInput) and corpus/.
# Normal build: NAME_replay runs every corpus file through the same entry point, as a CTest test.
# OBSGATE_FUZZ build (clang): NAME_fuzz is a libFuzzer binary with ASan+UBSan.
function(obsgate_fuzz_target name)
  cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/fuzz.cpp)
  if(OBSGATE_FUZZ)
    add_executable(${name}_fuzz ${src})
    target_link_libraries(${name}_fuzz PRIVATE ${F_LIBS})
    target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
  elseif(OBSGATE_BUILD_TESTS)
    add_executable(${name}_replay ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
    target_link_libraries(${name}_replay PRIVATE obsgate_warnings ${F_LIBS})
    add_test(NAME fuzz_replay:${name}
             COMMAND ${name}_replay ${CMAKE_CURRENT_SOURCE_DIR}/corpus)
    set_tests_properties(fuzz_replay:${name} PROPERTIES LABELS fuzz)
  endif()
endfunction()
