# PipehostService.cmake — ph_add_service_executable and ph_add_service_msi: a service executable on pipehost, and its MSI.
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

# ph_add_service_msi(<exe target> PRODUCT <name> VENDOR <text> VERSION <1.2.3> UPGRADE_CODE <{GUID}>
#                    [SERVICE_NAME <name>] [LOG_FOLDER <name>] [DESCRIPTION <text>] [OUTPUT_NAME <file>] [ALL])
#
# Builds <target>_msi: an MSI (<build>/msi/<OUTPUT_NAME, default <target>-<VERSION>-x64>.msi) that installs the
# executable under Program Files\<PRODUCT>, registers and starts it as the service SERVICE_NAME (default: the
# target's name; it must be the program name your ph_service_app gives, since the package's configure step,
# `<exe> install --configure-only …`, configures the program's own service), with Manufacturer VENDOR, and
# removes it at uninstall with its log files in %ProgramData%\<LOG_FOLDER> (default PRODUCT). The package is
# hardened as pipehost's own (cmake/service.wxs.in): the configure step in its strict form, no secure
# configuration property (PIPENAME, SDDL, FRAMING, LOGLEVEL, MAXINSTANCES, ALLOWUNSAFELOCATION are taken from
# elevated administrators only), a rebuild of the same version upgrades the installed one.
# UPGRADE_CODE is required and is your product's for good: every version of your package keeps it, and no
# other product may use it (pipehost's own is refused). Make one once (uuidgen, or python3 -c "import uuid; print(uuid.uuid4())") and commit it.
# Needs Debian's wixl and msibuild (packages wixl, msitools): without them a warning and no target.
function(ph_add_service_msi target)
  cmake_parse_arguments(M "ALL" "PRODUCT;VENDOR;VERSION;UPGRADE_CODE;SERVICE_NAME;LOG_FOLDER;DESCRIPTION;OUTPUT_NAME"
                        "" ${ARGN})
  set(_fn "ph_add_service_msi(${target})")
  if(M_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${_fn}: unexpected arguments: ${M_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "${_fn}: ${target} is not a target (call ph_add_service_executable first)")
  endif()
  if(NOT M_UPGRADE_CODE)
    message(FATAL_ERROR "${_fn}: UPGRADE_CODE is required: your product's own GUID, e.g. "
                        "UPGRADE_CODE {01234567-89AB-CDEF-0123-456789ABCDEF} (make one once with uuidgen and keep it)")
  endif()
  string(TOUPPER "${M_UPGRADE_CODE}" M_UPGRADE_CODE)
  # CMake's regular expressions have no {n}: the hex digits are spelled out.
  string(REPEAT "[0-9A-F]" 4 _h4)
  if(NOT M_UPGRADE_CODE MATCHES "^{${_h4}${_h4}-${_h4}-${_h4}-${_h4}-${_h4}${_h4}${_h4}}$")
    message(FATAL_ERROR "${_fn}: UPGRADE_CODE \"${M_UPGRADE_CODE}\" is not a GUID in braces "
                        "({XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX})")
  endif()
  if(M_UPGRADE_CODE STREQUAL "{94850276-49B4-4718-926E-60740663863B}")
    message(FATAL_ERROR "${_fn}: UPGRADE_CODE is pipehost's own: your package would upgrade (remove) pipehost "
                        "and be removed by it; make your own with uuidgen")
  endif()
  foreach(_req IN ITEMS PRODUCT VENDOR VERSION)
    if(NOT M_${_req})
      message(FATAL_ERROR "${_fn}: ${_req} is required")
    endif()
  endforeach()
  # Windows Installer's ProductVersion: three numbers (major.minor.build, 255.255.65535 at most); the fourth is ignored by upgrades.
  if(NOT M_VERSION MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)$" OR CMAKE_MATCH_1 GREATER 255 OR CMAKE_MATCH_2 GREATER 255
     OR CMAKE_MATCH_3 GREATER 65535)
    message(FATAL_ERROR "${_fn}: VERSION \"${M_VERSION}\" is not major.minor.build (255.255.65535 at most)")
  endif()
  if(NOT M_SERVICE_NAME)
    set(M_SERVICE_NAME "${target}")
  endif()
  if(NOT M_LOG_FOLDER)
    set(M_LOG_FOLDER "${M_PRODUCT}")
  endif()
  if(NOT DEFINED M_DESCRIPTION)
    set(M_DESCRIPTION "${M_PRODUCT} service")
  endif()
  if(NOT M_OUTPUT_NAME)
    set(M_OUTPUT_NAME "${target}-${M_VERSION}-x64")
  endif()
  # The texts go into XML attributes, SQL strings and MSI formatted fields ([…] and $ are MSI syntax); the
  # names are also file or folder names.
  foreach(_field IN ITEMS VENDOR DESCRIPTION)
    if(M_${_field} MATCHES "[<>&\"'\\\\$[]")
      message(FATAL_ERROR "${_fn}: ${_field} \"${M_${_field}}\" may not contain < > & \" ' \\ $ [")
    endif()
  endforeach()
  foreach(_field IN ITEMS PRODUCT SERVICE_NAME LOG_FOLDER OUTPUT_NAME)
    if(M_${_field} MATCHES "[<>&\"'\\\\/:*?|$[]")
      message(FATAL_ERROR "${_fn}: ${_field} \"${M_${_field}}\" may not contain < > & \" ' \\ / : * ? | $ [")
    endif()
  endforeach()

  find_program(PH_WIXL wixl)
  find_program(PH_MSIBUILD msibuild)
  if(NOT PH_WIXL OR NOT PH_MSIBUILD)
    message(WARNING "${_fn}: wixl or msibuild not found: no MSI (Debian: apt-get install wixl msitools)")
    return()
  endif()

  # The component's GUID must stay the same across versions of one product and differ between products:
  # derived from the UpgradeCode.
  string(REGEX REPLACE "[{}]" "" _ns "${M_UPGRADE_CODE}")
  string(UUID M_COMPONENT_GUID NAMESPACE "${_ns}" NAME "pipehost service component" TYPE SHA1 UPPER)
  set(PH_MSI_PRODUCT "${M_PRODUCT}")
  set(PH_MSI_VENDOR "${M_VENDOR}")
  set(PH_MSI_VERSION "${M_VERSION}")
  set(PH_MSI_UPGRADE_CODE "${M_UPGRADE_CODE}")
  set(PH_MSI_SERVICE_NAME "${M_SERVICE_NAME}")
  set(PH_MSI_LOG_FOLDER "${M_LOG_FOLDER}")
  set(PH_MSI_DESCRIPTION "${M_DESCRIPTION}")
  set(PH_MSI_COMPONENT_GUID "${M_COMPONENT_GUID}")
  set(_wxs "${CMAKE_CURRENT_BINARY_DIR}/${target}_msi/${M_OUTPUT_NAME}.wxs")
  configure_file("${CMAKE_CURRENT_FUNCTION_LIST_DIR}/service.wxs.in" "${_wxs}" @ONLY)

  set(_out "${CMAKE_BINARY_DIR}/msi/${M_OUTPUT_NAME}.msi")
  # The rows wixl cannot write (as in installer/CMakeLists.txt for pipehost's package): only MajorUpgrade's
  # properties secure; the default log files removed at uninstall (install mode 2); the Upgrade row's
  # maximum made inclusive (513 = migrate features + 0x200), so a same-version rebuild upgrades.
  set(_sql
    "INSERT INTO `RemoveFile` (`FileKey`, `Component_`, `FileName`, `DirProperty`, `InstallMode`) VALUES ('RemoveLog', 'Service', '${M_SERVICE_NAME}.log', 'LOGDIR', 2)"
    "INSERT INTO `RemoveFile` (`FileKey`, `Component_`, `FileName`, `DirProperty`, `InstallMode`) VALUES ('RemoveLog1', 'Service', '${M_SERVICE_NAME}.log.1', 'LOGDIR', 2)"
    "INSERT INTO `RemoveFile` (`FileKey`, `Component_`, `DirProperty`, `InstallMode`) VALUES ('RemoveLogDir', 'Service', 'LOGDIR', 2)"
    "DELETE FROM `Upgrade` WHERE `ActionProperty` = 'WIX_UPGRADE_DETECTED'"
    "INSERT INTO `Upgrade` (`UpgradeCode`, `VersionMax`, `Attributes`, `ActionProperty`) VALUES ('${M_UPGRADE_CODE}', '${M_VERSION}', 513, 'WIX_UPGRADE_DETECTED')")
  set(_steps "")
  foreach(_q IN LISTS _sql)
    list(APPEND _steps COMMAND "${PH_MSIBUILD}" "${_out}" -q "${_q}")
  endforeach()
  add_custom_command(OUTPUT "${_out}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_BINARY_DIR}/msi"
    COMMAND ${CMAKE_COMMAND} -E rm -f "${_out}"
    # wixl resolves File/@Source against the working directory (an absolute path trips it).
    COMMAND "${PH_WIXL}" -a x64 -D "Exe=$<TARGET_FILE_NAME:${target}>" -o "${_out}" "${_wxs}"
    # (The secure list holds a ';', so it cannot be an element of the CMake list above.)
    COMMAND "${PH_MSIBUILD}" "${_out}" -q
            "UPDATE `Property` SET `Value` = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED' WHERE `Property` = 'SecureCustomProperties'"
    ${_steps}
    WORKING_DIRECTORY "$<TARGET_FILE_DIR:${target}>"
    DEPENDS ${target} "${_wxs}" "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/service.wxs.in"
    COMMENT "Building ${_out} with wixl"
    VERBATIM)
  if(M_ALL)
    add_custom_target(${target}_msi ALL DEPENDS "${_out}")
  else()
    add_custom_target(${target}_msi DEPENDS "${_out}")
  endif()
endfunction()
