# tests/installer.cmake — pipehost install/uninstall/status/reload, the sc scripts and the MSI, end to end.
if(NOT WIN32)
  return()
endif()

add_executable(test_installer installer/test_installer.c service/svctest.c)
target_link_libraries(test_installer PRIVATE ph_testsupport pipehost::service advapi32 shell32 ole32 uuid msi)
target_include_directories(test_installer PRIVATE "${PROJECT_SOURCE_DIR}/service" "${PROJECT_SOURCE_DIR}/installer"
                                                  "${CMAKE_CURRENT_SOURCE_DIR}/service")
target_compile_definitions(test_installer PRIVATE WIN32_LEAN_AND_MEAN UNICODE _UNICODE _WIN32_WINNT=0x0602
  "PH_TEST_PIPEHOST_EXE=\"$<TARGET_FILE:pipehost>\""
  "PH_TEST_MYSERVICE_EXE=\"$<TARGET_FILE:myservice>\""
  "PH_TEST_INSTALLER_DIR=\"${PROJECT_SOURCE_DIR}/installer\""
  "PH_TEST_MSI_DIR=\"${CMAKE_BINARY_DIR}/msi\"")
ph_target_warnings(test_installer)
add_dependencies(test_installer pipehost myservice)
if(TARGET pipehost_msi)
  add_dependencies(test_installer pipehost_msi pipehost_msi_previous)
endif()

# Cases that install something run in a fresh private Wine prefix each (tests/installer/in_prefix.sh), so
# services, HKLM keys and %ProgramData% start clean; the others share the suite's prefix.
set(_ph_private cli_lifecycle cli_reinstall_keeps cli_rollback cli_start_fails cli_uninstall_running cli_uninstall_absent cli_invalid_set
                cli_protected_name cli_log_folder sc_scripts msi_lifecycle msi_upgrade msi_rollback msi_properties)
set(_ph_shared cli_rough_edges service_sid log_dir_sddl)
foreach(_case IN LISTS _ph_private _ph_shared)
  if(_case IN_LIST _ph_private AND CMAKE_CROSSCOMPILING)
    add_test(NAME test_installer.${_case}
             COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/installer/in_prefix.sh"
                     "${CMAKE_BINARY_DIR}/wine-installer-${_case}" $<TARGET_FILE:test_installer>)
  else()
    add_test(NAME test_installer.${_case} COMMAND test_installer)
    set_tests_properties(test_installer.${_case} PROPERTIES FIXTURES_REQUIRED "${PH_TEST_FIXTURES}")
  endif()
  set_tests_properties(test_installer.${_case} PROPERTIES
    ENVIRONMENT "CK_RUN_CASE=${_case};CK_FORK=no;CK_DEFAULT_TIMEOUT=200;CK_VERBOSITY=normal"
    TIMEOUT 240 SKIP_RETURN_CODE 77)
endforeach()

# The MSI's tables, read back with msiinfo (host tool; skipped without it or without the MSI).
if(TARGET pipehost_msi)
  add_test(NAME installer.msi_tables
           COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/installer/msi_tables.sh" "${CMAKE_BINARY_DIR}/msi" "${PROJECT_VERSION}")
  set_tests_properties(installer.msi_tables PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
