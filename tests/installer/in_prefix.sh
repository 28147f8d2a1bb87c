#!/usr/bin/env bash
# in_prefix.sh — run one Windows test program under Wine in a fresh private prefix of its own, then remove it.
#
#   tests/installer/in_prefix.sh PREFIXDIR program.exe [args...]
#
# Installer tests change machine-wide state (services, HKLM keys, %ProgramData%, installed products): each
# gets a prefix nobody else uses. A prefix left by an earlier, interrupted run is removed first, so every run
# starts from a freshly booted Wine (tests/wine/prefix.sh up: one SCM, win10). The prefix is removed on exit,
# also when the program fails (its logs PREFIXDIR.boot.log/.server.log stay for post-mortems).
# Exit status: the program's (77 = skipped), or 125 if the prefix cannot be made.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: in_prefix.sh PREFIXDIR program.exe [args...]" >&2; exit 125; }
here=$(cd "$(dirname "$0")/.." && pwd)
pfx=$1
shift
bash "$here/wine/prefix.sh" down "$pfx" >/dev/null 2>&1
trap 'bash "$here/wine/prefix.sh" down "$pfx" >/dev/null 2>&1' EXIT
trap 'exit 143' INT TERM
bash "$here/wine/prefix.sh" up "$pfx" >&2 || exit 125
bash "$here/service/scm_single.sh" "$pfx" >&2 || exit 125
bash "$here/wine/run.sh" "$pfx" "$@"
