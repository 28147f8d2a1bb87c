# PipehostService.cmake — ph_add_service_executable: a Windows service executable on pipehost's service host.
#
# ph_add_service_executable(<target> SOURCES <main.c>... [PRODUCT <name>] [VERSION <1.2.3[.4]>]
#                           [DESCRIPTION <text>] [COMPANY <text>] [ICON <file.ico>])
#
# Builds <target>.exe from your sources (one of them defines wmain and calls ph_service_main), links
# pipehost::service (which brings pipehost::core) and compiles in the resources every pipehost service
# needs: the Event Log message table (the service registers its own executable as the message file, so
# Event Viewer can show its texts) and version information: ProductName PRODUCT (default <target>),
# FileVersion and ProductVersion VERSION (default the calling project's PROJECT_VERSION, else 0.0.0; one to
# four numbers 0..65535), FileDescription DESCRIPTION (default "<PRODUCT> service"), CompanyName COMPANY (left
# out when not given), and ICON as the executable's icon. The texts may not contain '"' or '\' (the resource
# compiler would read them as syntax); a bad VERSION or a missing ICON file stops the configure step.
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
  cmake_parse_arguments(E "" "PRODUCT;VERSION;DESCRIPTION;COMPANY;ICON" "SOURCES" ${ARGN})
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
  if(NOT DEFINED E_VERSION)
    set(E_VERSION "${PROJECT_VERSION}")
    if(E_VERSION STREQUAL "")
      set(E_VERSION "0.0.0")
    endif()
  endif()
  if(NOT E_VERSION MATCHES "^[0-9]+(\\.[0-9]+)?(\\.[0-9]+)?(\\.[0-9]+)?$")
    message(FATAL_ERROR "ph_add_service_executable(${target}): VERSION \"${E_VERSION}\" is not 1 to 4 numbers "
                        "separated by dots (e.g. 1.2.3)")
  endif()
  string(REPLACE "." ";" _parts "${E_VERSION}")
  foreach(_p IN LISTS _parts)
    if(_p GREATER 65535)
      message(FATAL_ERROR "ph_add_service_executable(${target}): VERSION \"${E_VERSION}\": each number is 0..65535")
    endif()
  endforeach()
  list(LENGTH _parts _n)
  while(_n LESS 4)
    list(APPEND _parts 0)
    math(EXPR _n "${_n} + 1")
  endwhile()
  list(JOIN _parts "," _commas)
  if(NOT DEFINED E_DESCRIPTION)
    set(E_DESCRIPTION "${E_PRODUCT} service")
  endif()
  foreach(_field IN ITEMS PRODUCT DESCRIPTION COMPANY)
    if(E_${_field} MATCHES "[\"\\\\]")
      message(FATAL_ERROR "ph_add_service_executable(${target}): ${_field} may not contain '\"' or '\\'")
    endif()
  endforeach()
  set(_rc_lines "#define PH_RC_PRODUCT \"${E_PRODUCT}\"\n"
                "#define PH_RC_APP_VERSION_COMMAS ${_commas}\n"
                "#define PH_RC_APP_VERSION_STRING \"${E_VERSION}\"\n"
                "#define PH_RC_DESCRIPTION \"${E_DESCRIPTION}\"\n")
  if(DEFINED E_COMPANY)
    list(APPEND _rc_lines "#define PH_RC_COMPANY \"${E_COMPANY}\"\n")
  endif()
  if(DEFINED E_ICON)
    get_filename_component(_icon "${E_ICON}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${_icon}")
      message(FATAL_ERROR "ph_add_service_executable(${target}): ICON ${_icon} does not exist")
    endif()
    if(_icon MATCHES "[\"]")
      message(FATAL_ERROR "ph_add_service_executable(${target}): the ICON path may not contain '\"'")
    endif()
    list(APPEND _rc_lines "#define PH_RC_ICON \"${_icon}\"\n")
  endif()
  list(JOIN _rc_lines "" _rc_text)
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
  # windres loses quotes in -D values, so the names and the version reach the script through a generated header.
  file(CONFIGURE OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/${target}_rc/ph_rc_product.h" CONTENT "${_rc_text}")
  if(DEFINED E_ICON)
    set_property(SOURCE "${rc_file}" TARGET_DIRECTORY ${target}_resources APPEND PROPERTY OBJECT_DEPENDS "${_icon}")
  endif()
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
