#!/usr/bin/env bash
# examples_clean.sh — every example target builds on its own from a clean build tree.
#
#   tests/package/examples_clean.sh SRCDIR WORKDIR TARGET...
#
# For each TARGET: a fresh configure of SRCDIR in WORKDIR/TARGET (tests off, as a developer trying one
# example would get nothing else built), then `cmake --build --target TARGET` alone; the target's
# executable must exist afterwards. Env: PH_CMAKE (the cmake to use), PH_TOOLCHAIN (toolchain file).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: examples_clean.sh SRCDIR WORKDIR TARGET..." >&2; exit 2; }
src=$(realpath "$1") work=$(realpath -m "$2")
shift 2
cmake=${PH_CMAKE:-cmake}
args=()
[ -z "${PH_TOOLCHAIN:-}" ] || args+=(-DCMAKE_TOOLCHAIN_FILE="$PH_TOOLCHAIN")
for t in "$@"; do
  dir="$work/$t"
  rm -rf -- "$dir"
  mkdir -p -- "$work"
  printf '\n== examples.clean_build: %s\n' "$t"
  "$cmake" -S "$src" -B "$dir" "${args[@]}" -DCMAKE_BUILD_TYPE=Release -DPH_BUILD_TESTS=OFF >"$dir.configure.log" 2>&1 \
    || { cat "$dir.configure.log"; exit 1; }
  "$cmake" --build "$dir" -j2 --target "$t"
  exe=$(find "$dir" -name "$t.exe" -o -name "$t" -type f -perm -u+x | head -n 1)
  [ -n "$exe" ] || { echo "examples.clean_build: $t built nothing named $t(.exe)" >&2; exit 1; }
  echo "built $exe"
  rm -rf -- "$dir"
done
echo "examples.clean_build: every example builds alone from a clean tree"
