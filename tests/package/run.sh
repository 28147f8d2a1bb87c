#!/usr/bin/env bash
# run.sh — the installed package as a user meets it: install, then build and run separate projects on it.
#
#   tests/package/run.sh static|shared SRCDIR BUILDDIR WORKDIR WINEPREFIX
#
# static: installs BUILDDIR (this build, static core) into WORKDIR/static/prefix.
# shared: configures and builds SRCDIR again with -DBUILD_SHARED_LIBS=ON (tests off) in WORKDIR/shared/build
#         and installs that into WORKDIR/shared/prefix; the prefix must hold pipehost.dll and its import
#         library.
# Then, in both modes, against the prefix only (CMAKE_PREFIX_PATH):
#   1. tests/package/consumer (find_package + pipehost::core) is configured, built, and run under Wine:
#      it serves and calls a verb, and checks PH_USING_DLL and the loaded DLL match the mode;
#   2. the same consumer.c is compiled and linked with nothing but `pkg-config --cflags --libs pipehost`
#      from the installed pipehost.pc, and run;
#   3. examples/myservice is configured on its own (find_package(pipehost COMPONENTS service) and
#      ph_add_service_executable) and built into WORKDIR/<mode>/myservice/myservice.exe, which
#      test_package then installs and runs under the SCM; here it only has to answer `version`.
# Env: PH_CMAKE, the cmake to use (ctest passes its own).
# Exit status 0 when every step passed; the first failing step stops the run with its output shown.
set -euo pipefail

[ $# -eq 5 ] || { echo "usage: run.sh static|shared SRCDIR BUILDDIR WORKDIR WINEPREFIX" >&2; exit 2; }
mode=$1 src=$(realpath "$2") build=$(realpath "$3") work=$(realpath -m "$4") pfx=$5
case "$mode" in static) want=static ;; shared) want=dll ;; *) echo "run.sh: bad mode $mode" >&2; exit 2 ;; esac
toolchain="$src/cmake/toolchain-mingw64.cmake"
cmake=${PH_CMAKE:-cmake}
wine_run=(bash "$src/tests/wine/run.sh" "$pfx")
dir="$work/$mode"
prefix="$dir/prefix"
step() { printf '\n== package.%s: %s\n' "$mode" "$*"; }

rm -rf -- "$dir"
mkdir -p -- "$dir"

if [ "$mode" = static ]; then
  step "install $build into $prefix"
  "$cmake" --install "$build" --prefix "$prefix"
  test -f "$prefix/lib/libpipehost.a"
else
  step "configure and build the shared library in $dir/build"
  "$cmake" -S "$src" -B "$dir/build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DPH_BUILD_TESTS=OFF >"$dir/configure.log" || { cat "$dir/configure.log"; exit 1; }
  "$cmake" --build "$dir/build" -j2 --target pipehost pipehost_service
  step "install into $prefix"
  "$cmake" --install "$dir/build" --prefix "$prefix"
  for f in bin/pipehost.dll lib/libpipehost.dll.a; do
    test -f "$prefix/$f" || { echo "missing $prefix/$f" >&2; ls -R "$prefix" >&2; exit 1; }
  done
  if [ -e "$prefix/lib/libpipehost.a" ]; then echo "a static libpipehost.a was installed too" >&2; exit 1; fi
fi
for f in include/pipehost/pipehost.h include/pipehost/service.h lib/pkgconfig/pipehost.pc \
         lib/cmake/pipehost/pipehostConfig.cmake lib/cmake/pipehost/PipehostService.cmake \
         lib/cmake/pipehost/resources/MSG00409.bin share/doc/pipehost/LICENSE; do
  test -f "$prefix/$f" || { echo "missing $prefix/$f" >&2; exit 1; }
done

step "consumer project with find_package(pipehost)"
"$cmake" -S "$src/tests/package/consumer" -B "$dir/consumer" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$dir/consumer-configure.log" \
  || { cat "$dir/consumer-configure.log"; exit 1; }
"$cmake" --build "$dir/consumer"
"${wine_run[@]}" "$dir/consumer/consumer.exe" "$want"

step "consumer built with pkg-config"
pcflags=$(PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" PKG_CONFIG_PATH= pkg-config --cflags --libs pipehost)
echo "pkg-config --cflags --libs pipehost: $pcflags"
mkdir -p "$dir/pkgconfig"
# shellcheck disable=SC2086 # the flags are words
x86_64-w64-mingw32-gcc -std=c11 -Wall -Werror -o "$dir/pkgconfig/consumer.exe" "$src/tests/package/consumer/consumer.c" $pcflags
[ "$mode" = static ] || cp "$prefix/bin/pipehost.dll" "$dir/pkgconfig/"
"${wine_run[@]}" "$dir/pkgconfig/consumer.exe" "$want"

step "a custom service (examples/myservice) built from the installed package"
"$cmake" -S "$src/examples/myservice" -B "$dir/myservice" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$dir/myservice-configure.log" \
  || { cat "$dir/myservice-configure.log"; exit 1; }
"$cmake" --build "$dir/myservice"
# Its MSI, from the template installed with the package (ph_add_service_msi), when wixl and msibuild are here.
if command -v wixl >/dev/null && command -v msibuild >/dev/null; then
  test -f "$dir/myservice/msi/myservice-1.2.3-x64.msi"
fi
[ "$mode" = static ] || test -f "$dir/myservice/pipehost.dll"
out=$("${wine_run[@]}" "$dir/myservice/myservice.exe" version | tr -d '\r')
echo "$out"
[ "$out" = "My Service $(sed -n 's/^#define PH_VERSION_STRING "\(.*\)"$/\1/p' "$src/core/include/pipehost/pipehost.h")" ]
# The version resource carries the names given to ph_add_service_executable (test_package reads it whole).
grep -aq "E.x.a.m.p.l.e. .C.o.r.p" "$dir/myservice/myservice.exe"
step "passed"
