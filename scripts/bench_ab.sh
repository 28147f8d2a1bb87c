#!/usr/bin/env bash
# bench_ab.sh — this tree's pipehost against an older build of it and thread-per-client, in the same driver run.
#
#   bash scripts/bench_ab.sh [COMMIT]   # default d635d59, the commit of the README's original speed targets
#
# Why: a ratio against thread-per-client moves with the machine and its load (d635d59's own build measured
# 1.13× at one client when its targets were written, about 0.9× on a later day here). Whether a change made
# pipehost slower is answered only by running the old build beside the new one, in the same command.
#
# What it does: exports COMMIT (git archive) to build/bench/ab/<commit>, builds its pipehost.exe there with the
# mingw preset (kept for the next run), builds this tree's bench target, boots a private prefix
# (build/bench/ab/prefix) and runs PH_AB_ROUNDS rounds of the driver (bench/load.c) with three servers:
# tpc (bench/server_tpc.c), pipehost:base (COMMIT's) and pipehost:new (this tree's), the cell order rotating
# from round to round. The base runs with the options every version knows (PH_BENCH_OLD_base=1: no
# --max-connections-per-user). Prints, per cell, the medians over the rounds of base/tpc, new/tpc and new/base,
# and keeps the raw lines in build/bench/ab/ab.raw.
#
# Env: PH_AB_ROUNDS (1..10, default 3), PH_AB_WINDOW_MS (each cell's window, 200..10000, default 3000),
#      PH_AB_CELLS (default ka1,ka8,ka32,ka64,ka200,ka8big,churn8,churn32).
# Exit status: 0 when every cell ran against all three servers, 1 otherwise, 2 when the set-up failed.
set -uo pipefail

me=bench_ab.sh
say() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 2
base=${1:-d635d59}
rounds=${PH_AB_ROUNDS:-3}
window=${PH_AB_WINDOW_MS:-3000}
cells=${PH_AB_CELLS:-ka1,ka8,ka32,ka64,ka200,ka8big,churn8,churn32}
case "$rounds" in ''|*[!0-9]*) die "PH_AB_ROUNDS takes a whole number, given $rounds" ;; esac
case "$window" in ''|*[!0-9]*) die "PH_AB_WINDOW_MS takes a whole number, given $window" ;; esac
[ "$rounds" -ge 1 ] && [ "$rounds" -le 10 ] || die "PH_AB_ROUNDS: 1..10, given $rounds"
[ "$window" -ge 200 ] && [ "$window" -le 10000 ] || die "PH_AB_WINDOW_MS: 200..10000, given $window"
case "$cells" in ''|*[!a-z0-9,]*) die "PH_AB_CELLS: cell names separated by commas, given $cells" ;; esac
sha=$(git rev-parse --verify --quiet "$base^{commit}") || die "$base is not a commit of this repository"
short=$(git rev-parse --short "$sha")

work=$repo/build/bench/ab
src=$work/$short
pfx=$work/prefix
raw=$work/ab.raw
mkdir -p "$work/logs" || die "cannot create $work"
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY

stop_prefix() { WINEPREFIX=$pfx timeout 20 wineserver -k </dev/null >/dev/null 2>&1; WINEPREFIX=$pfx timeout 20 wineserver -w </dev/null >/dev/null 2>&1 || true; }
trap 'stop_prefix' EXIT
trap 'exit 130' INT TERM

# ---- build both
if [ ! -f "$src/build/mingw/service/pipehost.exe" ]; then
  say "building $short's pipehost.exe in $src"
  rm -rf "$src" && mkdir -p "$src" || die "cannot create $src"
  git archive "$sha" | tar -x -C "$src" || die "git archive $short failed"
  (cd "$src" && cmake --preset mingw && cmake --build build/mingw -j2 --target pipehost) >"$work/logs/build-$short.log" 2>&1 \
    || die "cannot build $short's pipehost (see $work/logs/build-$short.log)"
fi
[ -f build/mingw/CMakeCache.txt ] || cmake --preset mingw >"$work/logs/build.log" 2>&1 || die "cmake --preset mingw failed"
cmake --build --preset mingw -j2 --target bench >>"$work/logs/build.log" 2>&1 || die "build failed (see $work/logs/build.log)"

winpath() { local p; p=$(realpath -m -- "$1"); printf 'Z:%s' "${p//\//\\}"; }
bash tests/wine/prefix.sh up "$pfx" >"$work/logs/prefix.log" 2>&1 || die "cannot boot $pfx (see $work/logs/prefix.log)"
export WINEPREFIX=$pfx PH_BENCH_OLD_base=1

# ---- the rounds
: >"$raw"
failed=0
for ((r = 1; r <= rounds; r++)); do
  mkdir -p "$work/logs/round$r"
  timeout -k 5 900 wine build/mingw/bench/pipehost-bench.exe \
    --server "tpc=$(winpath build/mingw/bench/pipehost-bench-tpc.exe)" \
    --server "pipehost:base=$(winpath "$src/build/mingw/service/pipehost.exe")" \
    --server "pipehost:new=$(winpath build/mingw/service/pipehost.exe)" \
    --cells "$cells" --rotate "$r" --duration "$window" --log-dir "$(winpath "$work/logs/round$r")" \
    </dev/null >"$work/driver.out" 2>"$work/logs/round$r/driver.err"
  rc=$?
  tr -d '\r' <"$work/driver.out" | sed -n "s/^CELL /CELL round=$r /p" >>"$raw"
  [ "$rc" = 0 ] || { say "round $r: the driver exited with $rc (see $work/logs/round$r/driver.err)"; failed=1; }
  say "round $r of $rounds done"
done

# ---- the table: medians over the rounds of each ratio
echo "pipehost $short (base) and this tree (new, $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- core service 2>/dev/null || echo ', modified')) against thread per client; requests/s ratios, medians of $rounds round(s), ${window} ms windows"
echo
echo "| cell | base/tpc | new/tpc | new/base |"
echo "|---|---|---|---|"
LC_ALL=C awk -v cells="$cells" '
  function med(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n == 0 ? "" : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
  }
  /^CELL / && / status=ok / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    rps[f["id"], f["server"], f["round"]] = f["rps"]; rounds[f["round"]] = 1
  }
  END {
    bad = 0; n = split(cells, cs, ",")
    for (c = 1; c <= n; c++) {
      id = cs[c]; lb = ln = lnb = ""
      for (r in rounds) {
        t = rps[id, "tpc", r]; b = rps[id, "pipehost:base", r]; w = rps[id, "pipehost:new", r]
        if (t > 0 && b > 0 && w > 0) { lb = lb " " b / t; ln = ln " " w / t; lnb = lnb " " w / b }
      }
      if (lb == "") { printf "| %s | — | — | — |\n", id; bad = 1; continue }
      printf "| %s | %.2f× | %.2f× | %.2f× |\n", id, med(lb), med(ln), med(lnb)
    }
    exit bad
  }' "$raw" || failed=1
exit "$failed"
