#!/usr/bin/env bash
# scm_single.sh — make sure exactly one services.exe (the SCM) runs in a Wine test prefix.
#
#   tests/service/scm_single.sh PREFIXDIR
#
# Why: on a fresh prefix, `wineboot -i` leaves two services.exe processes running (Wine 8). Each serves
# \pipe\svcctl (Wine does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE), so every SCM call lands on either one at
# random: CreateServiceW registers a service with one, OpenServiceW then fails with 1060 on the other. If
# more than one is found, the prefix's own wineserver is restarted (`wineserver -k`, then `wineserver -p`
# and `wineboot`), which brings up a single SCM. Runs as a setup test of the `wine` fixture, after
# wine.prefix_up (it waits for the prefix's ready stamp) and before any test, under the same lock as
# tests/wine/prefix.sh.
# Exit status: 0 ok (one SCM), 1 failure.
set -uo pipefail
me="scm_single.sh"
say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $me PREFIXDIR"
pfx=$(realpath -m -- "$1")
# A setup test of the same fixture as wine.prefix_up may start alongside it: wait for the prefix to be ready
# (prefix.sh writes the stamp last, and holds the lock until it exits).
end=$(( $(date +%s) + 300 ))
until [ -f "$pfx/.pipehost-prefix-ready" ]; do
  [ "$(date +%s)" -lt "$end" ] || die "$pfx did not become ready within 300 s"
  sleep 0.2
done
export WINEPREFIX="$pfx" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

scm_pids() {
  local p
  for p in $(pgrep -f 'system32.services.exe' 2>/dev/null); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "WINEPREFIX=$pfx" && echo "$p"
  done
}
count() { scm_pids | wc -l; }

exec 9>"$pfx.lock" && flock -w 300 9 || die "cannot lock $pfx.lock"
n=$(count)
if [ "$n" -le 1 ]; then
  say "$n services.exe in $pfx: nothing to do"
  exit 0
fi
say "$n services.exe in $pfx (pids $(scm_pids | tr '\n' ' ')): restarting its wineserver"
timeout 30 wineserver -k </dev/null >/dev/null 2>&1 9>&-
end=$(( $(date +%s) + 20 ))
while [ "$(count)" -gt 0 ]; do
  if [ "$(date +%s)" -ge "$end" ]; then
    # Its server is gone, so it can only be asleep for good (Wine 8 leaves such an orphan now and then). It
    # is a services.exe of this private prefix (checked by scm_pids): end it, or every later run sees two SCMs.
    pids=$(scm_pids | tr '\n' ' ')
    say "services.exe (pids $pids) still running 20 s after wineserver -k: sending SIGKILL"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 1
    [ "$(count)" -eq 0 ] || die "services.exe still running after SIGKILL"
    break
  fi
  sleep 0.2
done
timeout 30 wineserver -p </dev/null >>"$pfx.server.log" 2>&1 9>&-
timeout -k 10 120 wineboot </dev/null >>"$pfx.boot.log" 2>&1 9>&- || die "wineboot failed (see $pfx.boot.log)"
n=$(count)
[ "$n" -eq 1 ] || die "$n services.exe after the restart"
say "one services.exe now (pid $(scm_pids))"
