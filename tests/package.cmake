# tests/package.cmake — the installed package as a separate project uses it: find_package and pkg-config
# consumers (static core and pipehost.dll) run under Wine, and a service built from the package runs under
# the SCM. Cross builds only: the steps run Windows programs through the Wine fixture.
if(NOT (WIN32 AND CMAKE_CROSSCOMPILING AND PH_WINEPREFIX))
  return()
endif()

set(PH_PKG_WORK "${CMAKE_BINARY_DIR}/package-test")
# package.static installs this build; package.shared configures and builds the tree again as a DLL (the
# longest step: a bounded build of the core, the service host and pipehost.exe with -j2).
foreach(mode IN ITEMS static shared)
  add_test(NAME package.${mode}
    COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/package/run.sh" ${mode} "${PROJECT_SOURCE_DIR}" "${CMAKE_BINARY_DIR}"
            "${PH_PKG_WORK}" "${PH_WINEPREFIX}")
  set_tests_properties(package.${mode} PROPERTIES
    ENVIRONMENT "PH_CMAKE=${CMAKE_COMMAND};PH_WINE_TIMEOUT=120"
    FIXTURES_SETUP package_${mode} FIXTURES_REQUIRED wine TIMEOUT 900)
endforeach()

ph_add_check_test(NAME test_package SOURCES package/test_package.c service/svctest.c
  LIBS pipehost::core advapi32 version TIMEOUT 120 FIXTURES ${PH_TEST_FIXTURES})
ph_service_test_target(test_package)
target_compile_definitions(test_package PRIVATE
  "PH_TEST_PIPEHOST_EXE=\"$<TARGET_FILE:pipehost>\""
  "PH_TEST_MYSERVICE_EXE=\"$<TARGET_FILE:myservice>\""
  "PH_TEST_HANGSVC_EXE=\"$<TARGET_FILE:hangsvc>\""
  "PH_TEST_PKG_STATIC_EXE=\"${PH_PKG_WORK}/static/myservice/myservice.exe\""
  "PH_TEST_PKG_SHARED_EXE=\"${PH_PKG_WORK}/shared/myservice/myservice.exe\"")
foreach(mode IN ITEMS static shared)
  set_tests_properties(test_package.custom_service_${mode} PROPERTIES
    FIXTURES_REQUIRED "${PH_TEST_FIXTURES};package_${mode}" RESOURCE_LOCK pipehost_scm)
endforeach()
set_tests_properties(test_package.custom_service_in_tree PROPERTIES RESOURCE_LOCK pipehost_scm)
add_dependencies(test_package myservice)

# `cmake --build --preset mingw --target NAME` builds every example from a clean tree.
get_property(_ph_examples GLOBAL PROPERTY PH_EXAMPLE_TARGETS)
if(_ph_examples)
  add_test(NAME examples.clean_build
    COMMAND bash "${CMAKE_CURRENT_SOURCE_DIR}/package/examples_clean.sh" "${PROJECT_SOURCE_DIR}"
            "${CMAKE_BINARY_DIR}/examples-clean" ${_ph_examples})
  set_tests_properties(examples.clean_build PROPERTIES
    ENVIRONMENT "PH_CMAKE=${CMAKE_COMMAND};PH_TOOLCHAIN=${CMAKE_TOOLCHAIN_FILE}" TIMEOUT 900)
endif()
