# toolchain-mingw64.cmake — cross-compile for 64-bit Windows with Debian's MinGW-w64 (gcc-mingw-w64-x86-64).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(PH_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${PH_MINGW_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${PH_MINGW_TRIPLE}-g++)
set(CMAKE_RC_COMPILER ${PH_MINGW_TRIPLE}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${PH_MINGW_TRIPLE})
# Programs come from the host; libraries and headers only from the target root or CMAKE_PREFIX_PATH.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
