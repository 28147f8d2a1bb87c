#!/usr/bin/env bash
# test.sh — the README's test command: set up what is missing, then build and run every test suite.
# Host-side (platform-neutral code under ASan/UBSan, the fuzz corpus replayed) first, then a bounded fuzzing run
# and static analysis, then the Windows build under Wine. A stage that finds a failure fails the run; the stages
# after it still run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

bash scripts/setup.sh

status=0
echo "== native: platform-neutral code under AddressSanitizer and UBSan"
cmake --preset native >/dev/null
cmake --build --preset native -j2
ctest --preset native || status=1

echo "== fuzz: libFuzzer targets for the platform-neutral parsers, ${PH_FUZZ_SECONDS:-120}s in total"
bash scripts/fuzz.sh || status=1

echo "== lint: clang-tidy and cppcheck over core/, service/, installer/ and program/"
bash scripts/lint.sh || status=1

echo "== mingw: Windows build, tests under Wine"
cmake --preset mingw >/dev/null
cmake --build --preset mingw -j2
ctest --preset mingw || status=1

if [ "$status" -ne 0 ]; then
  echo "test.sh: some tests failed" >&2
fi
exit "$status"
