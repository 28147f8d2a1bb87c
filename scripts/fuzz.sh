#!/usr/bin/env bash
# fuzz.sh — builds the libFuzzer targets (the `fuzz` preset: clang, ASan, UBSan) and fuzzes each for a bounded time.
#
#   scripts/fuzz.sh                      # every target, PH_FUZZ_SECONDS (default 120) shared between them
#   scripts/fuzz.sh router name          # only these targets
#   PH_FUZZ_SECONDS=600 scripts/fuzz.sh  # a longer run
#
# Targets are the directories of tests/fuzz/corpus/ (fuzz_<name>.c, see tests/fuzz/CMakeLists.txt). Each run
# starts from the seed corpus in the repository plus what earlier runs on this machine found (kept in
# build/fuzz/corpus/<name>, never written back to the repository), with tests/fuzz/<name>.dict when present.
# Exit 1 on any crash, sanitizer report, timeout or leak: the input is saved as build/fuzz/artifacts/<name>-*
# and can be replayed with build/fuzz/tests/fuzz/fuzz_<name> FILE. Add it to the seed corpus with the fix.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
total=${PH_FUZZ_SECONDS:-120}
case "$total" in ''|*[!0-9]*) echo "fuzz: PH_FUZZ_SECONDS must be a whole number of seconds" >&2; exit 2 ;; esac
command -v clang >/dev/null || { echo "fuzz: clang not found (scripts/setup.sh installs it)" >&2; exit 2; }

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(find tests/fuzz/corpus -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | LC_ALL=C sort)
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets" >&2; exit 2; }
per=$(( total / ${#targets[@]} ))
[ "$per" -ge 1 ] || per=1

t0=$(date +%s)
mkdir -p build
cmake --preset fuzz >build/fuzz-configure.log 2>&1 || { tail -n 30 build/fuzz-configure.log >&2; exit 2; }
cmake --build --preset fuzz -j2 >build/fuzz/build.log 2>&1 || { grep -E 'error' build/fuzz/build.log | head -n 20 >&2; exit 2; }
# The seed corpus replays as ordinary tests first: a known input that fails is reported before fuzzing.
ctest --preset fuzz >build/fuzz/replay.log 2>&1 || { cat build/fuzz/replay.log >&2; echo "fuzz: the seed corpus fails" >&2; exit 1; }

status=0
mkdir -p build/fuzz/artifacts
printf '%-10s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  bin=build/fuzz/tests/fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz: no target $bin" >&2; status=1; continue; }
  work=build/fuzz/corpus/$t
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  dict=()
  [ -f tests/fuzz/"$t".dict ] && dict=(-dict=tests/fuzz/"$t".dict)
  log=build/fuzz/$t.log
  rc=0
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb bounds memory; -max_len covers every parser's
  # realistic input (config values are at most 4096 characters, requests are capped by the server anyway).
  "$bin" -max_total_time="$per" -timeout=10 -rss_limit_mb=1024 -max_len=8192 -print_final_stats=1 \
         -artifact_prefix=build/fuzz/artifacts/"$t"- "${dict[@]}" "$work" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  size=$(find "$work" -type f | wc -l)
  if [ "$rc" -ne 0 ] || grep -qE '^==[0-9]+==ERROR|runtime error:|invariant violated' "$log"; then
    printf '%-10s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$size" "FAILED (exit $rc)"
    grep -E '==ERROR|runtime error:|invariant violated|Test unit written|SUMMARY' "$log" | head -n 10 >&2
    status=1
  else
    printf '%-10s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$size" ok
  fi
done
echo "fuzz: ${#targets[@]} targets, ${per}s each, done in $(( $(date +%s) - t0 ))s"
exit "$status"
