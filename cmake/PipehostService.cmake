# PipehostService.cmake — ph_add_service_executable: a Windows service executable on pipehost's service host.
#
# ph_add_service_executable(<target> SOURCES <main.c>... [PRODUCT <name>])
#
# Builds <target>.exe from your sources (one of them defines wmain and calls ph_service_main), links
# pipehost::service (which brings pipehost::core) and compiles in the resources every pipehost service
# needs: the Event Log message table (the service registers its own executable as the message file, so
# Event Viewer can show its texts) and version information whose ProductName is PRODUCT (default <target>).
# When pipehost::core is pipehost.dll, the DLL is copied next to the executable after each build.
#
# The message table is installed precompiled (messages.rc + MSG00409.bin, produced by mc/windmc from
# service/messages.mc when pipehost was built), so a consumer needs only a resource compiler (windres or
# rc.exe), which CMake's RC language provides; this module enables it. The same function builds
# pipehost.exe and the examples inside the pipehost tree, where the build sets the global properties
# PH_SERVICE_RC_FILE, PH_SERVICE_RC_INCLUDES and PH_SERVICE_RC_DEPENDS to the freshly generated files.

if(WIN32)
  get_property(_ph_languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(NOT "RC" IN_LIST _ph_languages)
    enable_language(RC)
  endif()
  unset(_ph_languages)
endif()

function(ph_add_service_executable target)
  cmake_parse_arguments(E "" "PRODUCT" "SOURCES" ${ARGN})
  if(NOT E_SOURCES)
    message(FATAL_ERROR "ph_add_service_executable(${target}): SOURCES is required")
  endif()
  if(E_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ph_add_service_executable(${target}): unexpected arguments: ${E_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT WIN32)
    message(FATAL_ERROR "ph_add_service_executable(${target}): a pipehost service is a Windows program")
  endif()
  if(NOT E_PRODUCT)
    set(E_PRODUCT "${target}")
  endif()
  get_property(rc_file GLOBAL PROPERTY PH_SERVICE_RC_FILE)
  get_property(rc_includes GLOBAL PROPERTY PH_SERVICE_RC_INCLUDES)
  get_property(rc_depends GLOBAL PROPERTY PH_SERVICE_RC_DEPENDS)
  if(NOT rc_file)
    # Installed layout: this file sits next to resources/ in <prefix>/lib/cmake/pipehost.
    set(rc_file "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/resources/pipehost.rc")
    set(rc_includes "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/resources")
  endif()

  # The resources compile in their own object library, so that C compile options given to the executable
  # never reach the resource compiler.
  add_library(${target}_resources OBJECT "${rc_file}")
  if(rc_depends)
    add_dependencies(${target}_resources ${rc_depends})
  endif()
  # windres loses quotes in -D values, so the product name reaches the script through a generated header.
  file(CONFIGURE OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${target}_rc/ph_rc_product.h"
       CONTENT "#define PH_RC_PRODUCT \"${E_PRODUCT}\"\n")
  target_include_directories(${target}_resources PRIVATE ${rc_includes} "${CMAKE_CURRENT_BINARY_DIR}/${target}_rc")

  add_executable(${target} ${E_SOURCES} $<TARGET_OBJECTS:${target}_resources>)
  target_link_libraries(${target} PRIVATE pipehost::service)
  if(MINGW)
    target_link_options(${target} PRIVATE -municode) # the entry point is wmain
  endif()
  # With pipehost.dll, put it next to the service: the SCM starts services with the system directory as
  # their working directory, so the executable's own folder is where the loader reliably looks.
  get_target_property(core_type pipehost::core TYPE)
  if(core_type STREQUAL "SHARED_LIBRARY")
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E copy_if_different $<TARGET_FILE:pipehost::core> $<TARGET_FILE_DIR:${target}>
      VERBATIM)
  endif()
endfunction()
