#!/usr/bin/env bash
# msi_template_args.sh — ph_add_service_msi refuses to configure without an UpgradeCode, with pipehost's, or a malformed one.
#
#   tests/installer/msi_template_args.sh SOURCE_DIR
#
# Configures scratch projects (host cmake and C compiler, a stand-in executable) that include cmake/PipehostService.cmake and call
# ph_add_service_msi, and checks the error each bad call gets. Exit status: 0 ok, 1 a check failed.
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: msi_template_args.sh SOURCE_DIR" >&2; exit 1; }
src=$(realpath -- "$1")
tmp=$(mktemp -d) || exit 1
trap 'rm -rf -- "$tmp"' EXIT
fail=0
# try NAME ARGS EXPECT: configuring a project calling ph_add_service_msi(svc ARGS) fails with a message matching EXPECT
# (or succeeds, for EXPECT "ok").
try() {
  local d="$tmp/$1"
  mkdir -p "$d"
  echo 'int main(void) { return 0; }' > "$d/main.c"
  cat > "$d/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.20)
project(t C)
include("$src/cmake/PipehostService.cmake")
add_executable(svc main.c)
ph_add_service_msi(svc $2)
EOT
  local out rc
  out=$(cmake -S "$d" -B "$d/b" 2>&1); rc=$?
  if [ "$3" = ok ]; then
    if [ $rc -eq 0 ]; then echo "ok: $1 configures"; else echo "FAILED: $1 does not configure:" >&2; echo "$out" >&2; fail=1; fi
  elif [ $rc -ne 0 ] && printf '%s' "$out" | tr '\n' ' ' | tr -s ' ' | grep -Eq -- "$3"; then
    echo "ok: $1 refused: $3"
  else
    echo "FAILED: $1 (exit $rc, wanted a refusal matching $3):" >&2; echo "$out" >&2; fail=1
  fi
}
base='PRODUCT "My Service" VENDOR "Example Corp" VERSION 1.2.3'
try missing "$base" "UPGRADE_CODE is required"
try pipehost "$base UPGRADE_CODE {94850276-49b4-4718-926e-60740663863b}" "UPGRADE_CODE is pipehost's own"
try malformed "$base UPGRADE_CODE 94850276-49B4-4718-926E-60740663863B" "is not a GUID in braces"
try version "PRODUCT P VENDOR V VERSION 1.2 UPGRADE_CODE {A22B33C5-0034-4D8A-AC7A-8AF81EF95524}" "is not major.minor.build"
try product "PRODUCT \"A/B\" VENDOR V VERSION 1.2.3 UPGRADE_CODE {A22B33C5-0034-4D8A-AC7A-8AF81EF95524}" "PRODUCT \"A/B\" may not contain"
try good "$base UPGRADE_CODE {A22B33C5-0034-4D8A-AC7A-8AF81EF95524}" ok
exit $fail
