# PipehostTesting.cmake — registers Check test programs so that each test case is its own ctest entry.
#
# ph_add_check_test(NAME prog SOURCES a.c… [LIBS lib…] [TIMEOUT seconds] [FIXTURES fixture…])
# Every tcase_create("name") found in the sources becomes the ctest entry "prog.name", run with
# CK_RUN_CASE=name in its own process (Check cannot fork under Windows), with a timeout, and with exit
# code 77 reported as skipped (a behaviour the platform cannot show), never as passed.
function(ph_add_check_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;FIXTURES" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ph_testsupport ${T_LIBS})
  ph_target_warnings(${T_NAME})
  ph_target_sanitize(${T_NAME})
  set(cases "")
  foreach(src IN LISTS T_SOURCES)
    get_filename_component(path "${src}" ABSOLUTE)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${path}")
    file(STRINGS "${path}" lines REGEX "tcase_create\\(\"[A-Za-z0-9_]+\"\\)")
    foreach(line IN LISTS lines)
      string(REGEX MATCHALL "tcase_create\\(\"[A-Za-z0-9_]+\"\\)" found "${line}")
      foreach(f IN LISTS found)
        string(REGEX REPLACE "tcase_create\\(\"([A-Za-z0-9_]+)\"\\)" "\\1" case "${f}")
        list(APPEND cases "${case}")
      endforeach()
    endforeach()
  endforeach()
  if(NOT cases)
    message(FATAL_ERROR "${T_NAME}: no tcase_create(\"…\") found in ${T_SOURCES}")
  endif()
  foreach(case IN LISTS cases)
    add_test(NAME ${T_NAME}.${case} COMMAND ${T_NAME})
    set_tests_properties(${T_NAME}.${case} PROPERTIES
      ENVIRONMENT "CK_RUN_CASE=${case};CK_FORK=no;CK_DEFAULT_TIMEOUT=${T_TIMEOUT};CK_VERBOSITY=normal"
      TIMEOUT ${T_TIMEOUT}
      SKIP_RETURN_CODE 77)
    if(T_FIXTURES)
      set_tests_properties(${T_NAME}.${case} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}")
    endif()
  endforeach()
endfunction()
