# tests/service.cmake — the service's test programs: its configuration rules, its Windows parts, and
# pipehost.exe itself through the real Service Control Manager (under Wine in the cross build).

set(PH_SVC_SRC_DIR "${PROJECT_SOURCE_DIR}/service")

function(ph_service_test_target target)
  target_include_directories(${target} PRIVATE "${PH_SVC_SRC_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/service")
  target_compile_definitions(${target} PRIVATE WIN32_LEAN_AND_MEAN UNICODE _UNICODE _WIN32_WINNT=0x0602)
endfunction()

# Configuration values and command-line parsing: platform-neutral, so also run natively under sanitizers.
ph_add_check_test(NAME test_svc_config SOURCES service/test_svc_config.c
  LIBS pipehost_service_config TIMEOUT 30 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_svc_config)

# The log rate limit (service/lograte.c): platform-neutral.
ph_add_check_test(NAME test_lograte SOURCES service/test_lograte.c
  LIBS pipehost_service_config TIMEOUT 30 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_lograte)

# Command verbs: argument quoting and the environment block (platform-neutral).
ph_add_check_test(NAME test_cmdrun_line SOURCES service/test_cmdrun_line.c
  LIBS pipehost_service_config TIMEOUT 30 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_cmdrun_line)
if(NOT WIN32)
  return()
endif()

# Log file rotation, registry loading, SDDL checks.
ph_add_check_test(NAME test_svc_win SOURCES service/test_svc_win.c
  LIBS pipehost::service TIMEOUT 60 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_svc_win)

# The pipe's default descriptor per service account: the per-service SID instead of OWNER RIGHTS.
ph_add_check_test(NAME test_svcsid SOURCES service/test_svcsid.c
  LIBS pipehost::service TIMEOUT 60 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_svcsid)

# A service whose HANG verb never returns: the stop deadline test. No message table: its Event Log texts
# are not read by any test.
add_executable(hangsvc service/hangsvc.c)
target_link_libraries(hangsvc PRIVATE pipehost::service)
target_compile_definitions(hangsvc PRIVATE WIN32_LEAN_AND_MEAN UNICODE _UNICODE _WIN32_WINNT=0x0602)
ph_target_warnings(hangsvc)
if(MINGW)
  target_link_options(hangsvc PRIVATE -municode)
endif()

# The built-in verbs added with one call (ph_service_add_builtin_verbs) to a server built on the core alone.
ph_add_check_test(NAME test_svc_verbs SOURCES service/test_svc_verbs.c
  LIBS pipehost::service TIMEOUT 60 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_svc_verbs)

# Command verbs: programs run for requests (cmdchild plays the program), their configuration from the registry.
add_executable(cmdchild service/cmdchild.c)
target_link_libraries(cmdchild PRIVATE shell32)
target_compile_definitions(cmdchild PRIVATE WIN32_LEAN_AND_MEAN UNICODE _UNICODE _WIN32_WINNT=0x0602)
ph_target_warnings(cmdchild)
ph_add_check_test(NAME test_cmdrun SOURCES service/test_cmdrun.c
  LIBS pipehost::service TIMEOUT 90 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_cmdrun)
target_compile_definitions(test_cmdrun PRIVATE "PH_TEST_CMDCHILD_EXE=\"$<TARGET_FILE:cmdchild>\"")
add_dependencies(test_cmdrun cmdchild)

# Command verbs through the SCM: pipehost.exe with Parameters\Commands, cmdchild as the program.
ph_add_check_test(NAME test_svc_commands SOURCES service/test_svc_commands.c service/svctest.c
  LIBS pipehost::core advapi32 shell32 ole32 uuid TIMEOUT 120 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_svc_commands)
target_compile_definitions(test_svc_commands PRIVATE
  "PH_TEST_PIPEHOST_EXE=\"$<TARGET_FILE:pipehost>\""
  "PH_TEST_MYSERVICE_EXE=\"$<TARGET_FILE:myservice>\""
  "PH_TEST_HANGSVC_EXE=\"$<TARGET_FILE:hangsvc>\""
  "PH_TEST_CMDCHILD_EXE=\"$<TARGET_FILE:cmdchild>\"")
add_dependencies(test_svc_commands pipehost myservice hangsvc cmdchild)

# pipehost.exe and the example myservice.exe installed with CreateServiceW under a unique name per test.
ph_add_check_test(NAME test_service SOURCES service/test_service.c service/svctest.c
  LIBS pipehost::core advapi32 shell32 ole32 uuid TIMEOUT 180 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_service)
target_compile_definitions(test_service PRIVATE
  "PH_TEST_PIPEHOST_EXE=\"$<TARGET_FILE:pipehost>\""
  "PH_TEST_MYSERVICE_EXE=\"$<TARGET_FILE:myservice>\""
  "PH_TEST_HANGSVC_EXE=\"$<TARGET_FILE:hangsvc>\"")
add_dependencies(test_service pipehost myservice hangsvc)

# A fresh Wine prefix can run two SCMs (services.exe) that answer at random; this setup step of the `wine`
# fixture leaves exactly one, before any test starts (tests requiring a fixture wait for all its setups).
if(WIN32 AND CMAKE_CROSSCOMPILING AND PH_WINEPREFIX)
  add_test(NAME wine.scm_single COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/service/scm_single.sh" "${PH_WINEPREFIX}")
  set_tests_properties(wine.scm_single PROPERTIES FIXTURES_SETUP wine DEPENDS wine.prefix_up TIMEOUT 200)
endif()

# Under Wine a process that calls StartServiceCtrlDispatcherW without having been started by the SCM joins
# the control pipe of whichever service the SCM started last: console_usage (which runs pipehost.exe without
# arguments) must not overlap a service start. The SCM tests are short, so they simply take turns.
get_property(_ph_all_tests DIRECTORY PROPERTY TESTS)
foreach(_t IN LISTS _ph_all_tests)
  if((_t MATCHES "^test_service\\." AND NOT _t STREQUAL "test_service.console_ctrl_break") OR _t MATCHES "^test_svc_commands\\.")
    set_tests_properties(${_t} PROPERTIES RESOURCE_LOCK pipehost_scm)
  endif()
endforeach()

# The service libraries export ph_ names only (issue: a consumer's own svc_dispatch, log_init… must link):
# every global symbol is checked, and a program defining the once-exported names links and runs.
ph_add_service_executable(namesvc SOURCES service/namesvc.c)
add_test(NAME service.symbols_prefixed
         COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/service/symbols.sh" "${CMAKE_NM}"
                 $<TARGET_FILE:pipehost_service> $<TARGET_FILE:pipehost_service_config>)
add_test(NAME service.consumer_names_link COMMAND namesvc version)
set_tests_properties(service.consumer_names_link PROPERTIES FIXTURES_REQUIRED "${PH_TEST_FIXTURES}")
