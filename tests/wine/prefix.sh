#!/usr/bin/env bash
# prefix.sh — create or remove a private Wine prefix with a persistent wineserver, for tests.
#
#   tests/wine/prefix.sh up   PREFIXDIR   # create (if needed) + start a persistent wineserver
#   tests/wine/prefix.sh down PREFIXDIR   # stop THAT prefix's wineserver, remove PREFIXDIR
#
# Made to run as a ctest fixture setup/cleanup test: no tty, no stdin, bounded in time, idempotent.
# up:   if PREFIXDIR is complete (stamp file) and its wineserver runs, nothing is done. Otherwise the
#       wineserver is started first with `wineserver -p` (persistent, output to PREFIXDIR.server.log) so it
#       never holds the caller's stdout/stderr, then `wineboot -i` (output to PREFIXDIR.boot.log) and
#       `wine winecfg -v win10`. Booting first also keeps services.exe & co. off the caller's fds.
#       An incomplete prefix (interrupted earlier `up`) is removed and created anew.
# down: `wineserver -k` with WINEPREFIX=PREFIXDIR (that server only), bounded wait for it to exit,
#       then the directory is removed. Logs (PREFIXDIR.boot.log, .server.log) are kept for post-mortems.
# Exit status: 0 ok, 1 failure, 2 usage.
# Env: PH_WINE_BOOT_TIMEOUT (s, default 300) bounds `wineboot -i`.
set -uo pipefail

me="prefix.sh"
say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

usage() { echo "usage: $me up|down PREFIXDIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
case "$action" in up|down) ;; *) usage ;; esac
[ -n "$2" ] || usage
pfx=$(realpath -m -- "$2") || die "bad path: $2"

# Never touch the user's own prefix, $HOME, or a top-level system directory.
home=$(realpath -m -- "${HOME:-/nonexistent}")
case "$pfx" in
  "$home" | "$home/.wine" | "$home/.wine"/* | / | /tmp | /root | /home | /home/*/.wine | /home/*/.wine/*)
    die "refusing to use $pfx as a test prefix" ;;
esac
[ "$(dirname -- "$pfx")" != /home ] || die "refusing to use $pfx as a test prefix"

{ command -v wine && command -v wineserver; } >/dev/null || die "wine/wineserver not found (run scripts/setup.sh)"

export WINEPREFIX="$pfx" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
stamp="$pfx/.pipehost-prefix-ready"

# PID of the wineserver serving $pfx, if any. A wineserver chdirs into its server dir, named
# server-<st_dev hex>-<st_ino hex> after the prefix directory: match on that.
server_pid() {
  [ -d "$pfx" ] || return 1
  local want pid cwd
  want=$(stat -L -c '%d %i' -- "$pfx" 2>/dev/null | awk '{ printf "server-%x-%x", $1, $2 }') || return 1
  for pid in $(pgrep -x 'wineserver(32|64)?' 2>/dev/null); do
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
    [ "${cwd##*/}" = "$want" ] && { echo "$pid"; return 0; }
  done
  return 1
}

wait_gone() {  # wait_gone SECONDS — until no wineserver serves $pfx
  local end=$(( $(date +%s) + $1 ))
  while server_pid >/dev/null; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# Wine processes of this prefix that outlived its wineserver (seen with services.exe: a process blocked in a
# call when the server goes can stay asleep forever). Nothing can serve them any more, and the next run would
# count a leftover services.exe as a second SCM. Only Wine executables whose environment names this prefix.
kill_orphans() {
  local d p exe n=0
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    exe=$(readlink "$d/exe" 2>/dev/null) || continue
    case "$exe" in */wine|*/wine64|*/wine-preloader|*/wine64-preloader) ;; *) continue ;; esac
    tr '\0' '\n' <"$d/environ" 2>/dev/null | grep -qxF "WINEPREFIX=$pfx" || continue
    kill -KILL "$p" 2>/dev/null && n=$((n + 1))
  done
  [ "$n" -eq 0 ] || say "killed $n Wine process(es) of $pfx left without their wineserver"
}

stop_server() {
  local pid
  pid=$(server_pid) || { kill_orphans; return 0; }
  timeout 20 wineserver -k </dev/null >/dev/null 2>&1 9>&-
  if ! wait_gone 20; then
    say "wineserver $pid for $pfx did not exit after wineserver -k; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    wait_gone 5 || die "wineserver $pid for $pfx will not die"
  fi
  kill_orphans
}

remove_prefix() {
  [ -e "$pfx" ] || return 0
  # Only remove what looks like a Wine prefix (or an empty/partial one we made).
  if [ -f "$stamp" ] || [ -f "$pfx/system.reg" ] || [ -d "$pfx/drive_c" ] || [ -d "$pfx/dosdevices" ] || [ -z "$(ls -A "$pfx" 2>/dev/null)" ]; then
    chmod -R u+w "$pfx" 2>/dev/null
    rm -rf --one-file-system -- "$pfx" || die "cannot remove $pfx"
  else
    die "$pfx does not look like a Wine prefix; not removing it"
  fi
}

# Serialise up/down on the same prefix (e.g. parallel ctest runs).
mkdir -p -- "$(dirname "$pfx")" || die "cannot create $(dirname "$pfx")"
exec 9>"$pfx.lock" || die "cannot open $pfx.lock"
flock -w 600 9 || die "timed out waiting for the lock $pfx.lock"

t0=$(now)
case "$action" in
up)
  if [ -f "$stamp" ] && pid=$(server_pid); then
    say "up: $pfx already up (wineserver $pid), nothing to do ($(since "$t0"))"
    exit 0
  fi
  if [ -e "$pfx" ] && [ ! -f "$stamp" ]; then
    say "up: $pfx is incomplete; recreating it"
    stop_server
    remove_prefix
  fi
  mkdir -p -- "$pfx" || die "cannot create $pfx"
  fresh=0; [ -f "$stamp" ] || fresh=1

  if ! server_pid >/dev/null; then
    t=$(now)
    # -p: persistent until wineserver -k. It daemonizes; its output must not reach our caller.
    timeout 30 wineserver -p </dev/null >"$pfx.server.log" 2>&1 9>&-
    end=$(( $(date +%s) + 15 ))
    until server_pid >/dev/null; do
      [ "$(date +%s)" -lt "$end" ] || die "wineserver for $pfx did not start (see $pfx.server.log)"
      sleep 0.1
    done
    say "up: wineserver $(server_pid) started persistent ($(since "$t"))"
  fi

  if [ "$fresh" = 1 ]; then
    # On a heavily loaded machine a first `wineboot -i` has been seen to return with the prefix half made
    # (no C:\windows\system32 yet, so winecfg cannot start). The prefix is then made again from nothing, once.
    attempt=1
    while :; do
      t=$(now)
      why=""
      if ! timeout -k 10 "${PH_WINE_BOOT_TIMEOUT:-300}" wineboot -i </dev/null >"$pfx.boot.log" 2>&1 9>&-; then
        why="wineboot -i failed or timed out"
      else
        say "up: wineboot -i done ($(since "$t"))"
        t=$(now)
        if ! timeout -k 10 120 wine winecfg -v win10 </dev/null >>"$pfx.boot.log" 2>&1 9>&-; then
          why="wine winecfg -v win10 failed or timed out"
        fi
      fi
      [ -n "$why" ] || break
      tail -n 20 "$pfx.boot.log" >&2
      stop_server
      [ "$attempt" -lt 2 ] || die "$why for $pfx (log: $pfx.boot.log), twice"
      say "up: $why for $pfx; making the prefix again"
      attempt=$((attempt + 1))
      remove_prefix
      mkdir -p -- "$pfx" || die "cannot create $pfx"
      timeout 30 wineserver -p </dev/null >"$pfx.server.log" 2>&1 9>&-
    done
    say "up: winecfg -v win10 done ($(since "$t"))"
    # A first `wineboot -i` can leave two services.exe running, each answering \pipe\svcctl, so SCM calls
    # land on either at random. One restart of this prefix's server brings up a single SCM.
    t=$(now)
    stop_server
    timeout 30 wineserver -p </dev/null >>"$pfx.server.log" 2>&1 9>&-
    timeout -k 10 120 wineboot </dev/null >>"$pfx.boot.log" 2>&1 9>&- \
      || die "wineboot after the restart failed or timed out for $pfx (log: $pfx.boot.log)"
    say "up: wineserver restarted for a single SCM ($(since "$t"))"
    date -u +%FT%TZ >"$stamp"
  else
    # Existing prefix, new server: the first wine command hands its stdout/stderr to services.exe & co,
    # so let a quiet wineboot be that command, not the caller's test.
    t=$(now)
    timeout -k 10 120 wineboot </dev/null >>"$pfx.boot.log" 2>&1 9>&- \
      || die "wineboot failed or timed out for $pfx (log: $pfx.boot.log)"
    say "up: existing prefix booted ($(since "$t"))"
  fi
  say "up: $pfx ready, wineserver $(server_pid) ($(since "$t0") total)"
  ;;
down)
  if pid=$(server_pid); then
    stop_server
    say "down: wineserver $pid stopped ($(since "$t0"))"
  else
    kill_orphans
  fi
  remove_prefix
  say "down: $pfx removed ($(since "$t0") total)"
  ;;
esac
exit 0
