# PipehostWarnings.cmake — per-target warning flags: high and fatal on our own code, nothing global.
function(ph_target_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX /permissive-)
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Werror
      -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef
      -Wconversion -Wno-sign-conversion)
  endif()
  if(MINGW)
    # MinGW's own C99 printf family, so %zu and %llu mean the same as everywhere else.
    target_compile_definitions(${target} PRIVATE __USE_MINGW_ANSI_STDIO=1)
  endif()
  # C11 without extensions, so MSVC builds the same code.
  set_target_properties(${target} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
endfunction()

# Sanitizers for host-side (native) builds of the platform-neutral code. With PH_FUZZ the code is also
# instrumented for libFuzzer's coverage feedback (the fuzz targets themselves link libFuzzer).
function(ph_target_sanitize target)
  if(PH_FUZZ AND NOT MSVC)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(PH_SANITIZE AND NOT MSVC)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
