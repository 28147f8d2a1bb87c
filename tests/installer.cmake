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
  add_dependencies(test_installer pipehost_msi pipehost_msi_previous pipehost_msi_rebuild)
endif()

# Cases that install something run in a fresh private Wine prefix each (tests/installer/in_prefix.sh), so
# services, HKLM keys and %ProgramData% start clean; the others share the suite's prefix.
set(_ph_private cli_lifecycle cli_reinstall_keeps cli_rollback cli_start_fails cli_uninstall_running cli_uninstall_absent cli_invalid_set
                cli_protected_name cli_log_folder cli_log_folder_foreign_moved_aside cli_package_args cli_unsafe_location
                sc_scripts msi_lifecycle msi_upgrade msi_rollback msi_properties msi_property_injection msi_same_version
                msi_uninstall_traces)
set(_ph_shared cli_rough_edges service_sid log_dir_sddl)
foreach(_case IN LISTS _ph_private _ph_shared)
  if(_case STREQUAL "cli_unsafe_location" AND CMAKE_CROSSCOMPILING)
    # Wine derives file descriptors from Unix modes: the unsafe folder and DLL are made on the host side.
    add_test(NAME test_installer.${_case}
             COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/installer/location_dirs.sh" "${CMAKE_BINARY_DIR}/location-test"
                     bash "${CMAKE_CURRENT_SOURCE_DIR}/installer/in_prefix.sh"
                     "${CMAKE_BINARY_DIR}/wine-installer-${_case}" $<TARGET_FILE:test_installer>)
  elseif(_case IN_LIST _ph_private AND CMAKE_CROSSCOMPILING)
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
# examples/myservice's MSI, from ph_add_service_msi's template: its own identity, pipehost's hardening. The
# UpgradeCode is the one examples/myservice/CMakeLists.txt commits to.
if(TARGET myservice_msi)
  add_test(NAME installer.msi_template_tables
           COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/installer/msi_template_tables.sh"
                   "${CMAKE_BINARY_DIR}/msi/myservice-1.2.3-x64.msi" "{A22B33C5-0034-4D8A-AC7A-8AF81EF95524}")
  set_tests_properties(installer.msi_template_tables PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77)
  # And installed, run and removed by Wine's msiexec, in a private prefix of its own.
  add_test(NAME installer.msi_template_lifecycle
           COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/installer/msi_template_lifecycle.sh" "${PROJECT_SOURCE_DIR}"
                   "${CMAKE_BINARY_DIR}/msi/myservice-1.2.3-x64.msi" "${CMAKE_BINARY_DIR}/wineprefix-msi-template")
  set_tests_properties(installer.msi_template_lifecycle PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)
endif()
# ph_add_service_msi's refusals (no UpgradeCode, pipehost's, a malformed one, a bad version or name), checked
# by configuring scratch projects with the host's cmake.
add_test(NAME installer.msi_template_args
         COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/installer/msi_template_args.sh" "${PROJECT_SOURCE_DIR}")
set_tests_properties(installer.msi_template_args PROPERTIES TIMEOUT 120)

# An administrator's commands that never surprise (install over a service, config, --help, Event Log ids, the
# recovery policy): tests/installer/test_admin.c. Cases that install a service run in a private prefix each.
add_executable(test_admin installer/test_admin.c service/svctest.c)
target_link_libraries(test_admin PRIVATE ph_testsupport pipehost::service advapi32 shell32 ole32 uuid)
target_include_directories(test_admin PRIVATE "${PROJECT_SOURCE_DIR}/service" "${PROJECT_SOURCE_DIR}/installer"
                                              "${CMAKE_CURRENT_SOURCE_DIR}/service")
target_compile_definitions(test_admin PRIVATE WIN32_LEAN_AND_MEAN UNICODE _UNICODE _WIN32_WINNT=0x0602
  "PH_TEST_PIPEHOST_EXE=\"$<TARGET_FILE:pipehost>\""
  "PH_TEST_MYSERVICE_EXE=\"$<TARGET_FILE:myservice>\"")
ph_target_warnings(test_admin)
add_dependencies(test_admin pipehost myservice)
set(_ph_admin_private install_keeps_existing config_roundtrip event_source_kept failure_actions_stored events_written)
set(_ph_admin_shared help_per_command failure_policy event_ids event_plumbing)
foreach(_case IN LISTS _ph_admin_private _ph_admin_shared)
  if(_case IN_LIST _ph_admin_private AND CMAKE_CROSSCOMPILING)
    add_test(NAME test_admin.${_case}
             COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/installer/in_prefix.sh"
                     "${CMAKE_BINARY_DIR}/wine-admin-${_case}" $<TARGET_FILE:test_admin>)
  else()
    add_test(NAME test_admin.${_case} COMMAND test_admin)
    set_tests_properties(test_admin.${_case} PROPERTIES FIXTURES_REQUIRED "${PH_TEST_FIXTURES}")
  endif()
  set_tests_properties(test_admin.${_case} PROPERTIES
    ENVIRONMENT "CK_RUN_CASE=${_case};CK_FORK=no;CK_DEFAULT_TIMEOUT=200;CK_VERBOSITY=normal"
    TIMEOUT 240 SKIP_RETURN_CODE 77)
endforeach()
