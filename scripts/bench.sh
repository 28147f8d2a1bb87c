#!/usr/bin/env bash
# bench.sh — the benchmark matrix: build, boot private Wine prefixes, drive every server with the same client, report.
#
#   bash scripts/bench.sh                    # full run: 3 rounds, about 5½ minutes on 2 cores
#   PH_BENCH_QUICK=1 bash scripts/bench.sh   # smoke run: tiny counts, 1 round, short trace; checks correctness
#
# What it does:
#  1. Builds the `bench` target of the mingw preset (pipehost.exe, the load driver bench/load.c, the
#     reference servers bench/server_*.c and pipehost-bench-host.exe, pipehost's host with a bench-only SLEEP
#     verb, bench/server_host.c). Configures the preset first if needed, running scripts/setup.sh
#     (idempotent) when the toolchain is missing. Installs gnuplot-nox with apt-get when it is missing.
#  2. Boots a private prefix (build/bench/prefix, kept between runs; its wineserver is stopped at the end,
#     on failure and on Ctrl+C too) and runs the matrix: a round is one run of the driver, which starts
#     every server and runs each cell against every server in turn, in an order that rotates from cell to
#     cell and from round to round (bench/load.c lists the cells). pipehost runs in its default
#     configuration (`pipehost.exe run --pipe NAME --stop-event EVENT --max-message 131072
#     --max-connections-per-user 0`: every bench client is the same user), except in two
#     cells that start a pipehost process of their own: the 2,000 idle connections run it with
#     `--max-instances 255` (the unlimited pool: a fixed pool cannot hold 2,000 clients), and the slow-handler
#     cell (4 clients whose requests take 1 s in the handler, 8 quick ones) runs pipehost-bench-host.exe
#     with the same options, since pipehost.exe has no verb that sleeps. The cells: keep-alive (1..200
#     clients, 64 B and 64 KiB), churn (8, 32), a 256-client burst (p99 and max connect wait, failures),
#     2,000 idle connections, slow handlers, and stop with 64 clients (time to exit; whether each client
#     still reads its unread answer and then sees the pipe closed).
#     Then the command-verb cell, once: pipehost-cmdbench (bench/cmd.c), a command verb running a tiny
#     program against a thread-per-request server calling CreateProcess (8 clients; req/s, p99, ratios), and
#     PING p99 beside 32 commands of 1 s against the idle server's; printed under the table.
#  3. Counts wineserver requests per round trip: a second prefix (build/bench/trace-prefix) whose
#     wineserver is started here as `wineserver -f -p -d1`; one client does N1 and then N2 round trips
#     against each server, everything pinned to one CPU so that the count does not depend on scheduling,
#     and the trace lines of those two processes are counted (bench/trace.awk):
#     (lines(N2) - lines(N1)) / (N2 - N1), so start-up and connect costs cancel; as many N1/N2 pairs as
#     rounds, and the median is shown.
#  4. Prints a markdown table (medians over the rounds; bench/report.awk) and writes it with the raw
#     figures and a chart to $PH_BENCH_OUT: latest.md, latest.png, latest.raw.
#
# Env: PH_BENCH_ROUNDS (default 3, quick 1), PH_BENCH_WINDOW_MS (each cell's measured window, default 1000,
#      quick 200), PH_BENCH_TRACE_N (N2 of the trace runs, default 500, quick 200; N1 is a tenth),
#      PH_BENCH_OUT (default bench/results), PH_BENCH_QUICK=1 (smoke mode), PH_BENCH_SKIP_BUILD=1,
#      PH_BENCH_README=1 (also put the table and chart into bench/README.md's results block),
#      PH_BENCH_SERVERS (default "raw single tpc pipehost"; add iocp, bench/server_iocp.c, the minimal
#      completion-port server, to see what the platform allows that design; it adds about a fifth to the run).
# Exit status: 0 when every cell ran and every answer was correct (a server that cannot hold a cell's
# clients is a result, not a failure), 1 otherwise, 2 when the set-up failed.
set -uo pipefail

me=bench.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0fs", b - a }'; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 2
quick=${PH_BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  rounds=${PH_BENCH_ROUNDS:-1} window=${PH_BENCH_WINDOW_MS:-200} trace_n=${PH_BENCH_TRACE_N:-200}
else
  rounds=${PH_BENCH_ROUNDS:-3} window=${PH_BENCH_WINDOW_MS:-1000} trace_n=${PH_BENCH_TRACE_N:-500}
fi
trace_pairs=$rounds
out=${PH_BENCH_OUT:-$repo/bench/results}
for v in "$rounds" "$window" "$trace_n"; do
  case "$v" in ''|*[!0-9]*) die "PH_BENCH_ROUNDS, PH_BENCH_WINDOW_MS and PH_BENCH_TRACE_N take whole numbers" ;; esac
done
[ "$rounds" -ge 1 ] && [ "$rounds" -le 20 ] || die "PH_BENCH_ROUNDS: 1..20, given $rounds"
[ "$window" -ge 50 ] && [ "$window" -le 10000 ] || die "PH_BENCH_WINDOW_MS: 50..10000, given $window"
[ "$trace_n" -ge 20 ] && [ "$trace_n" -le 100000 ] || die "PH_BENCH_TRACE_N: 20..100000, given $trace_n"
trace_n1=$((trace_n / 10))

work=$repo/build/bench
pfx=$work/prefix
tpfx=$work/trace-prefix
bin=$repo/build/mingw/bench
mkdir -p "$work/logs" "$out" || die "cannot create $work or $out"
raw=$work/results.raw
: >"$raw"
t_start=$(now)

# ------------------------------------------------------------------------------------------ clean-up
trace_pid=
bg_pids=()
stop_prefix() {  # stop_prefix DIR: that prefix's wineserver only
  [ -d "$1" ] || return 0
  WINEPREFIX=$1 timeout 20 wineserver -k </dev/null >/dev/null 2>&1
  WINEPREFIX=$1 timeout 20 wineserver -w </dev/null >/dev/null 2>&1 || true
}
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  stop_prefix "$pfx"
  stop_prefix "$tpfx"
  if [ -n "$trace_pid" ]; then
    kill "$trace_pid" 2>/dev/null
    timeout 10 tail --pid="$trace_pid" -f /dev/null 2>/dev/null || kill -KILL "$trace_pid" 2>/dev/null
  fi
  rm -f "$work/trace.log"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Runs a long command in the background and waits for it: bash runs a trap only between commands, and
# `wait` is one it interrupts, so Ctrl+C stops the run at once instead of after the command.
fg_wait() {
  "$@" &
  local p=$! rc
  bg_pids+=("$p")
  wait "$p"
  rc=$?
  unset 'bg_pids[${#bg_pids[@]}-1]'
  return $rc
}

# ------------------------------------------------------------------------------------------ 1. build
if [ "${PH_BENCH_SKIP_BUILD:-0}" != 1 ]; then
  t=$(now)
  if [ ! -f build/mingw/CMakeCache.txt ]; then
    if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null || ! command -v cmake >/dev/null \
       || [ ! -d "$(bash scripts/setup.sh --print-deps-dir)" ]; then
      say "toolchain missing: running scripts/setup.sh"
      bash scripts/setup.sh >"$work/logs/setup.log" 2>&1 || die "scripts/setup.sh failed (see $work/logs/setup.log)"
    fi
    cmake --preset mingw >"$work/logs/build.log" 2>&1 || die "cmake --preset mingw failed (see $work/logs/build.log)"
  fi
  cmake --build --preset mingw -j2 --target bench >>"$work/logs/build.log" 2>&1 \
    || die "build failed (see $work/logs/build.log)"
  say "built ($(since "$t"))"
fi
for f in "$bin/pipehost-bench.exe" "$bin/pipehost-bench-raw.exe" "$bin/pipehost-bench-single.exe" \
         "$bin/pipehost-bench-tpc.exe" "$bin/pipehost-bench-iocp.exe" "$bin/pipehost-bench-host.exe" \
         "$bin/pipehost-cmdbench.exe" "$bin/pipehost-cmdtiny.exe" build/mingw/service/pipehost.exe; do
  [ -f "$f" ] || die "$f is missing (build the bench target of the mingw preset)"
done
if ! command -v gnuplot >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    say "installing gnuplot-nox"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q -o DPkg::Lock::Timeout=300 gnuplot-nox \
      </dev/null >"$work/logs/apt.log" 2>&1 \
      || { DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -q >>"$work/logs/apt.log" 2>&1 \
           && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q -o DPkg::Lock::Timeout=300 gnuplot-nox \
                </dev/null >>"$work/logs/apt.log" 2>&1; } \
      || say "could not install gnuplot-nox (see $work/logs/apt.log): no chart this time"
  else
    say "gnuplot is missing and we are not root: no chart this time (apt-get install gnuplot-nox)"
  fi
fi

# ------------------------------------------------------------------------------------------ helpers
winpath() { local p; p=$(realpath -m -- "$1"); printf 'Z:%s' "${p//\//\\}"; }
server_exe() {  # server_exe KIND -> host path
  case "$1" in
    pipehost) echo "$repo/build/mingw/service/pipehost.exe" ;;
    *) echo "$bin/pipehost-bench-$1.exe" ;;
  esac
}
read -r -a servers <<<"${PH_BENCH_SERVERS:-raw single tpc pipehost}"
for k in "${servers[@]}"; do
  case "$k" in raw|single|tpc|iocp|pipehost) ;; *) die "PH_BENCH_SERVERS: raw, single, tpc, iocp, pipehost; given $k" ;; esac
done
qflag=(); [ "$quick" = 1 ] && qflag=(--quick)
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY

# ------------------------------------------------------------------------------------------ 2. the matrix
t=$(now)
fg_wait bash tests/wine/prefix.sh up "$pfx" >"$work/logs/prefix.log" 2>&1 || die "cannot boot $pfx (see $work/logs/prefix.log)"
say "prefix $pfx up ($(since "$t"))"
export WINEPREFIX=$pfx
failed=0
srv_args=()
for k in "${servers[@]}"; do srv_args+=(--server "$k=$(winpath "$(server_exe "$k")")"); done
for ((r = 1; r <= rounds; r++)); do
  t=$(now)
  mkdir -p "$work/logs/round$r"
  # Every cell bounds itself; this bounds the whole driver in case the driver itself hangs.
  fg_wait timeout -k 5 "$([ "$quick" = 1 ] && echo 180 || echo 420)" \
    wine "$bin/pipehost-bench.exe" "${srv_args[@]}" --bench-host "$(winpath "$bin/pipehost-bench-host.exe")" \
      --rotate "$r" --duration "$window" "${qflag[@]}" \
      --log-dir "$(winpath "$work/logs/round$r")" </dev/null >"$work/driver.out" 2>"$work/logs/round$r/driver.err"
  rc=$?
  tr -d '\r' <"$work/driver.out" | sed -n "s/^CELL /CELL round=$r /p" >>"$raw"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    say "round $r: the driver overran its bound; restarting the prefix's wineserver"
    echo "CELL round=$r id=driver server=all status=timeout" >>"$raw"
    stop_prefix "$pfx"
    bash tests/wine/prefix.sh up "$pfx" >>"$work/logs/prefix.log" 2>&1 || die "cannot restart $pfx"
    failed=1
  elif [ "$rc" != 0 ]; then
    say "round $r: the driver exited with $rc (see $work/logs/round$r/driver.err)"
    failed=1
  fi
  say "round $r of $rounds done ($(since "$t"))"
done
# The command-verb cell: pipehost-cmdbench (bench/cmd.c) runs its servers and clients in one process; one run,
# each throughput window twice the matrix's, its lines printed under the table.
t=$(now)
cmd_args=(--duration "$((window * 2))"); [ "$quick" = 1 ] && cmd_args=(--quick)
fg_wait timeout -k 5 180 wine "$bin/pipehost-cmdbench.exe" "${cmd_args[@]}" </dev/null >"$work/cmdbench.out" \
  2>"$work/logs/cmdbench.err"
rc=$?
tr -d '\r' <"$work/cmdbench.out" >"$work/cmdbench.txt"
[ "$rc" = 0 ] || { say "command-verb cell: exit $rc (see $work/logs/cmdbench.err)"; failed=1; }
say "command-verb cell done ($(since "$t"))"
stop_prefix "$pfx"

# ------------------------------------------------------------------------------------------ 3. wineserver trace
t=$(now)
fg_wait bash tests/wine/prefix.sh up "$tpfx" >>"$work/logs/prefix.log" 2>&1 || die "cannot boot $tpfx"
stop_prefix "$tpfx"
export WINEPREFIX=$tpfx
trace=$work/trace.log
# Everything of the traced prefix runs on one CPU: then whether a read finds its answer already there does
# not depend on how the two processes happen to be scheduled, and the count is the same run after run
# (unpinned, one round trip of the same server costs 22 to 30 lines, depending on timing).
pin=(taskset -c 0)
command -v taskset >/dev/null || { pin=(); say "taskset not found: trace counts will vary with scheduling"; }
"${pin[@]}" wineserver -f -p -d1 </dev/null >/dev/null 2>"$trace" &
trace_pid=$!
"${pin[@]}" timeout -k 5 120 wine wineboot </dev/null >>"$work/logs/prefix.log" 2>&1 || die "cannot boot the traced $tpfx"
[ -s "$trace" ] || die "the traced wineserver of $tpfx wrote no trace (another wineserver still serving it?)"
for k in "${servers[@]}"; do
  name=phtrace-$k-$$ ev="Local\\phtrace-$k-$$-stop"
  start=$(stat -c %s "$trace")
  if [ "$k" = pipehost ]; then
    "${pin[@]}" wine "$(server_exe "$k")" run --pipe "$name" --stop-event "$ev" --max-message 131072 \
      --max-connections-per-user 0 </dev/null >"$work/logs/trace-$k.log" 2>&1 &
  else
    "${pin[@]}" wine "$(server_exe "$k")" "\\\\.\\pipe\\$name" "$ev" </dev/null >"$work/logs/trace-$k.log" 2>&1 &
  fi
  spid=$!
  bg_pids+=("$spid")
  drv() { "${pin[@]}" timeout -k 5 60 wine "$bin/pipehost-bench.exe" --kind "$k" --name "$name" "$@" </dev/null 2>>"$work/logs/trace-$k.log" | tr -d '\r'; }
  drv --fixed 5 >/dev/null  # waits for the pipe; loads what the first client loads
  for ((pair = 1; pair <= trace_pairs; pair++)); do
    for size in 64 65536; do
      for n in "$trace_n1" "$trace_n"; do
        a=$(stat -c %s "$trace")
        line=$(drv --fixed "$n" --size "$size")
        sleep 0.2  # the wineserver logs the client's exit a moment after it is gone
        b=$(stat -c %s "$trace")
        cpid=$(sed -n 's/.*client_pid=\([0-9a-f]*\).*/\1/p' <<<"$line")
        sp=$(sed -n 's/.*server_pid=\([0-9a-f]*\).*/\1/p' <<<"$line")
        okn=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$line")
        if [ -z "$cpid" ] || [ "$okn" != "$n" ]; then
          say "trace: $k at $size B: the client failed ($line)"
          echo "TRACE server=$k pair=$pair size=$size n=$n lines=-1" >>"$raw"
          failed=1
          continue
        fi
        lines=$(tail -c +"$((start + 1))" "$trace" | head -c "$((b - start))" \
                | LC_ALL=C awk -v from="$((a - start))" -v pids="$cpid $sp" -f bench/trace.awk)
        echo "TRACE server=$k pair=$pair size=$size n=$n lines=$lines" >>"$raw"
      done
    done
  done
  drv --fixed 1 --stop-event "$ev" >/dev/null
  timeout 15 tail --pid="$spid" -f /dev/null 2>/dev/null || kill -KILL "$spid" 2>/dev/null
done
stop_prefix "$tpfx"
kill "$trace_pid" 2>/dev/null
timeout 10 tail --pid="$trace_pid" -f /dev/null 2>/dev/null
trace_pid=
rm -f "$trace"
say "wineserver trace done ($(since "$t"))"

# ------------------------------------------------------------------------------------------ 4. report
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine="$(nproc) cores ($cpu), $(free -g | awk '/^Mem:/ { print $2 }') GB, $(wine --version 2>/dev/null), Linux $(uname -r)"
when=$(date -u +'%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cp "$raw" "$out/latest.raw"
LC_ALL=C awk -v rounds="$rounds" -v window="$window" -v machine="$machine" -v when="$when" -v commit="$commit" \
  -v quick="$quick" -v n1="$trace_n1" -v n2="$trace_n" -v plotdata="$work/plot.dat" -f bench/report.awk "$raw" \
  >"$out/latest.md" || die "bench/report.awk failed"
if command -v gnuplot >/dev/null && [ -s "$work/plot.dat" ]; then
  gnuplot -e "datafile='$work/plot.dat'; outfile='$out/latest.png'; subtitle='$when, $(nproc) cores, $(wine --version 2>/dev/null), medians of $rounds round(s)'" \
    bench/chart.gp 2>"$work/logs/gnuplot.log" || say "gnuplot failed (see $work/logs/gnuplot.log)"
fi
{ printf '\n#### Command verbs (pipehost-cmdbench, one run)\n\n```\n'; cat "$work/cmdbench.txt"; printf '```\n'; } >>"$out/latest.md"
cat "$out/latest.md"
if [ "${PH_BENCH_README:-0}" = 1 ]; then
  # Replace the results block of bench/README.md (its "Latest results") with this run's table and chart.
  rel=$(realpath --relative-to="$repo/bench" "$out")
  { sed '1,2d' "$out/latest.md"; [ -f "$out/latest.png" ] && printf '\n![requests/s against clients](%s/latest.png)\n' "$rel"; } \
    >"$work/readme-block.md"
  awk -v block="$work/readme-block.md" '
    /^<!-- bench-results:begin -->$/ { print; while ((getline l < block) > 0) print l; skip = 1; next }
    /^<!-- bench-results:end -->$/ { skip = 0 }
    !skip { print }' bench/README.md >"$work/README.md.new" && mv "$work/README.md.new" bench/README.md \
    && say "bench/README.md: results block updated"
fi
grep -q 'status=\(timeout\|skipped\)' "$raw" && failed=1
grep -q 'mismatch=[1-9]' "$raw" && failed=1
say "done in $(since "$t_start"): $out/latest.md$([ -f "$out/latest.png" ] && echo ", $out/latest.png")"
exit "$failed"
