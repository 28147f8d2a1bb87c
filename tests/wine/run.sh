#!/usr/bin/env bash
# run.sh — CMAKE_CROSSCOMPILING_EMULATOR wrapper: run a Windows program under Wine in a test prefix.
#
#   tests/wine/run.sh PREFIXDIR program.exe [args...]
#
# Runs `wine program.exe args...` with WINEPREFIX=PREFIXDIR, WINEDEBUG=-all,
# WINEDLLOVERRIDES="mscoree,mshtml=" and passes the program's exit code through (Wine reports it mod 256).
# The program's stdout/stderr go straight to the caller (ctest captures them); Wine turns "\n" from the
# console C runtime into "\r\n" — match output with that in mind.
#
# The prefix is NOT created here: tests/wine/prefix.sh up PREFIXDIR (the ctest fixture) does that and
# starts the prefix's wineserver persistent with its output redirected. If that server is gone
# (e.g. killed), one is started the same way before the program runs, so the program's own stdout/stderr
# never end up held by the wineserver or services.exe (which would make ctest wait for them).
#
# Exit status: the program's, or 125 if the prefix is missing / the wrapper itself fails. A Check test that
# died before its main() ran is run again (see the end of this file).
# Env: PH_WINE_TIMEOUT (seconds, default 1800) bounds the run; on expiry the exit status is 124
#      (ctest's own TIMEOUT normally fires first).
set -uo pipefail

me="run.sh"
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 125; }

[ $# -ge 2 ] || { echo "usage: $me PREFIXDIR program.exe [args...]" >&2; exit 125; }
pfx=$(realpath -m -- "$1") || die "bad prefix path: $1"
shift

if [ ! -f "$pfx/.pipehost-prefix-ready" ] || [ ! -d "$pfx/drive_c" ]; then
  die "Wine prefix $pfx is not set up; create it with: tests/wine/prefix.sh up $pfx (the ctest wine fixture does this)"
fi
command -v wine >/dev/null || die "wine not found (run scripts/setup.sh)"

export WINEPREFIX="$pfx" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

# Is the prefix's wineserver up? It chdirs into server-<dev hex>-<ino hex> named after the prefix dir.
server_up() {
  local want pid cwd
  want=$(stat -L -c '%d %i' -- "$pfx" | awk '{ printf "server-%x-%x", $1, $2 }') || return 1
  for pid in $(pgrep -x 'wineserver(32|64)?' 2>/dev/null); do
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
    [ "${cwd##*/}" = "$want" ] && return 0
  done
  return 1
}

if ! server_up; then
  # Same lock as prefix.sh, so parallel tests start one server, not several.
  { exec 9>"$pfx.lock" && flock -w 300 9; } || die "cannot lock $pfx.lock"
  if ! server_up; then
    echo "$me: wineserver for $pfx was not running; starting it (persistent)" >&2
    timeout 30 wineserver -p </dev/null >>"$pfx.server.log" 2>&1 9>&-
    timeout -k 10 120 wineboot </dev/null >>"$pfx.boot.log" 2>&1 9>&- || die "wineboot failed for $pfx (see $pfx.boot.log)"
    server_up || die "wineserver for $pfx did not start (see $pfx.server.log)"
  fi
  exec 9>&-
fi

# A Check test (ctest sets CK_RUN_CASE) creates the file PH_TEST_STARTED names as its main() begins
# (tests/support/testsupport.c). Under a loaded Wine a process now and then dies before any of its code runs
# (svct_create_process retries the same failure inside Wine): a test that failed without that file never ran,
# so it is run again, at most 3 times in all, each retry noted on stderr. A test that started is never rerun.
if [ -n "${CK_RUN_CASE:-}" ]; then
  marker=$(mktemp -u "${TMPDIR:-/tmp}/ph-started.XXXXXXXX") || die "mktemp failed"
  export PH_TEST_STARTED="Z:${marker//\//\\}"
  for attempt in 1 2 3; do
    timeout -k 10 "${PH_WINE_TIMEOUT:-1800}" wine "$@"
    rc=$?
    if [ "$rc" = 0 ] || [ "$rc" = 124 ] || [ -e "$marker" ]; then
      rm -f "$marker"
      [ "$rc" = 0 ] || [ "$rc" = 77 ] || echo "$me: $1 ($CK_RUN_CASE) exited with $rc" >&2
      exit "$rc"
    fi
    echo "$me: $1 ($CK_RUN_CASE) exited with $rc before its main() ran (attempt $attempt of 3)" >&2
  done
  exit "$rc"
fi
exec timeout -k 10 "${PH_WINE_TIMEOUT:-1800}" wine "$@"
