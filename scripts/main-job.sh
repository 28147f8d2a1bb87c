#!/usr/bin/env bash
# main-job.sh — the README's main job: build pipehost, install it as a service in a private Wine prefix,
# net start it, send it real requests with its own client, net stop it, remove it.
#
#   bash scripts/main-job.sh
#
# Idempotent and non-interactive (run as root on a fresh Debian: scripts/setup.sh installs what is missing).
# Every step says what it does; the script stops at the first failure with a non-zero exit status, and
# always removes the service and the prefix it created.
# Env: PH_MAIN_JOB_PREFIX (default build/main-job-prefix), PH_MAIN_JOB_SERVICE (default pipehost).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

pfx=$(realpath -m -- "${PH_MAIN_JOB_PREFIX:-$repo/build/main-job-prefix}")
svc=${PH_MAIN_JOB_SERVICE:-pipehost}
exe_unix=$repo/build/mingw/service/pipehost.exe
# Wine maps / to Z:, so /work/x/pipehost.exe is Z:\work\x\pipehost.exe.
exe_win="Z:$(printf '%s' "$exe_unix" | tr '/' '\\')"

step() { printf '\n== %s\n' "$*"; }
say() { printf 'main-job: %s\n' "$*"; }
die() { printf 'main-job: FAILED: %s\n' "$*" >&2; exit 1; }

# wine with this prefix, quiet, bounded; prints the output without Wine's CRs and its wine32 nag, and
# returns the program's exit status.
w() {
  local t=$1 out rc
  shift
  # (no set +e/-e here: that would switch -e back on inside a caller's set +e)
  out=$(WINEPREFIX=$pfx WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" timeout -k 10 "$t" wine "$@" </dev/null 2>&1) &&
    rc=0 || rc=$?
  printf '%s\n' "$out" | tr -d '\r' |
    grep -v -e 'wine32 is missing' -e 'multiarch needs' -e 'dpkg --add-architecture' -e 'apt-get install wine32' -e '^$' ||
    true
  return "$rc"
}

# State from `sc query` (sc qc/queryex are not implemented by Wine; query is).
state() {
  w 30 sc query "$svc" | awk '/STATE/ { print $4; exit }'
}

wait_state() {  # wait_state STATE SECONDS
  local end=$(( $(date +%s) + $2 )) s=""
  while :; do
    s=$(state || true)
    [ "$s" = "$1" ] && return 0
    [ "$(date +%s)" -lt "$end" ] || { say "state is '${s:-unknown}', expected $1 after $2 s"; return 1; }
    sleep 0.5
  done
}

# The prefix's services.exe processes (a fresh `wineboot -i` can leave two, which answer SCM calls at random).
scm_count() {
  local n=0 p
  for p in $(pgrep -f 'system32.services.exe' 2>/dev/null); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "WINEPREFIX=$pfx" && n=$((n + 1))
  done
  echo "$n"
}

installed=0
cleanup() {
  local rc=$?
  set +e
  if [ "$installed" = 1 ]; then
    step "cleanup: stopping and removing the service $svc"
    w 60 net stop "$svc" >/dev/null
    w 30 sc delete "$svc"
    w 30 reg delete "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\$svc" /f >/dev/null
  fi
  if [ -d "$pfx" ]; then
    step "cleanup: removing the Wine prefix"
    bash tests/wine/prefix.sh down "$pfx"
  fi
  if [ "$rc" -eq 0 ]; then
    printf '\nmain-job: OK — built, installed, started, answered, stopped and removed.\n'
  else
    printf '\nmain-job: FAILED (exit %d)\n' "$rc" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT

step "setup: packages and Check for MinGW (scripts/setup.sh)"
bash scripts/setup.sh

step "build: cmake --preset mingw && cmake --build --preset mingw"
cmake --preset mingw >/dev/null
cmake --build --preset mingw -j2
[ -f "$exe_unix" ] || die "$exe_unix was not built"

step "wine: a private prefix at $pfx"
bash tests/wine/prefix.sh down "$pfx" >/dev/null 2>&1 || true   # idempotent: start from a clean prefix
bash tests/wine/prefix.sh up "$pfx"
if [ "$(scm_count)" -gt 1 ]; then
  say "the fresh prefix runs $(scm_count) services.exe; restarting its wineserver so exactly one SCM answers"
  WINEPREFIX=$pfx timeout 30 wineserver -k || true
  sleep 1
  WINEPREFIX=$pfx timeout 30 wineserver -p </dev/null >>"$pfx.server.log" 2>&1 9>&-
  WINEPREFIX=$pfx WINEDEBUG=-all timeout -k 10 120 wineboot </dev/null >>"$pfx.boot.log" 2>&1 9>&-
fi
[ "$(scm_count)" -eq 1 ] || die "expected one services.exe in $pfx, found $(scm_count)"

step "install: sc create $svc binPath= \"\\\"$exe_win\\\"\""
w 30 sc query "$svc" >/dev/null 2>&1 && { w 30 sc delete "$svc"; sleep 1; }
w 30 sc create "$svc" binPath= "\"$exe_win\"" start= demand ||
  die "sc create failed"
installed=1
w 30 sc description "$svc" "Serves local requests on \\\\.\\pipe\\pipehost" || true
# Configuration lives in Services\<name>\Parameters; defaults apply to what is not set.
w 30 reg add "HKLM\\SYSTEM\\CurrentControlSet\\Services\\$svc\\Parameters" /v MaxMessageBytes /t REG_DWORD /d 65536 /f ||
  die "reg add failed"

step "start: net start $svc"
w 60 net start "$svc" || die "net start failed"
# net returns before the pending state ends under Wine: poll.
wait_state RUNNING 30 || die "$svc did not reach RUNNING"
say "$svc is RUNNING"
w 30 sc query "$svc"

step "requests with the client: pipehost ping / send ECHO / status / whoami"
w 30 "$exe_unix" ping || die "pipehost ping failed"
w 30 "$exe_unix" send ECHO hello from main-job || die "pipehost send ECHO failed"
w 30 "$exe_unix" status || die "pipehost status failed"
w 30 "$exe_unix" whoami || die "pipehost whoami failed"
w 30 "$exe_unix" send NOSUCHVERB && rc=0 || rc=$?
[ "$rc" -eq 1 ] || die "an unknown verb should give exit code 1 (the server answered ERR), got $rc"
say "unknown verb: the server answered ERR and the client exited 1, as documented"

step "stop: net stop $svc"
w 60 net stop "$svc" || die "net stop failed"
wait_state STOPPED 30 || die "$svc did not reach STOPPED"
w 30 sc query "$svc"
w 30 sc query "$svc" | grep -q 'WIN32_EXIT_CODE *: 0 ' || die "$svc stopped with a non-zero exit code"
say "$svc is STOPPED with exit code 0"

step "log file (%ProgramData%\\pipehost\\$svc.log)"
cat "$pfx/drive_c/ProgramData/pipehost/$svc.log" 2>/dev/null | tr -d '\r' || say "(no log file found)"

step "remove: sc delete $svc"
w 30 sc delete "$svc" || die "sc delete failed"
w 30 reg delete "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\$svc" /f >/dev/null || true
installed=0
