# tests/docs.cmake — the docs against the code (issue 18): scripts/docs_check.py checks that the README's and docs'
# relative links and anchors resolve and that the configuration values, options and exit codes they name are the
# code's (and the other way round); docs.check_selftest proves it fails on a fixture with each kind of mistake.
# Host builds only (the native preset, which scripts/test.sh and so CI run): the check reads source files, so one
# run per test run is enough, and the MinGW build's tests stay Windows programs.
if(CMAKE_CROSSCOMPILING)
  return()
endif()
if(WIN32)
  find_package(Python3 COMPONENTS Interpreter)
  if(NOT Python3_Interpreter_FOUND)
    message(STATUS "docs.check: no Python 3 here; the docs check runs in the native (Linux) build")
    return()
  endif()
else()
  find_package(Python3 REQUIRED COMPONENTS Interpreter)  # scripts/setup.sh installs python3
endif()

add_test(NAME docs.check
         COMMAND "${Python3_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/scripts/docs_check.py" --root "${PROJECT_SOURCE_DIR}")
add_test(NAME docs.check_selftest
         COMMAND "${Python3_EXECUTABLE}" "${CMAKE_CURRENT_SOURCE_DIR}/docs/selftest.py"
                 "${PROJECT_SOURCE_DIR}/scripts/docs_check.py")
set_tests_properties(docs.check docs.check_selftest PROPERTIES TIMEOUT 60)
