#!/usr/bin/env bash
# location_dirs.sh — prepare the folders test_installer.cli_unsafe_location needs under Wine, then run the test.
#
#   tests/installer/location_dirs.sh DIR command [args...]
#
# Wine ignores the security descriptor a program gives a new file and reports one derived from the Unix mode
# (a mode writable by others is an Everyone ACE), so the test cannot make an unsafe folder itself: DIR/open
# (mode 777) and DIR/safe with a helper.dll anyone may write (mode 666) are made here, DIR is passed as
# PH_TEST_LOCATION_DIR, and removed afterwards. Exit status: the command's.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: location_dirs.sh DIR command [args...]" >&2; exit 125; }
dir=$1
shift
rm -rf "$dir"
mkdir -p "$dir/open" "$dir/safe" || exit 125
chmod 755 "$dir" "$dir/safe" && chmod 777 "$dir/open" || exit 125
: >"$dir/safe/helper.dll" && chmod 666 "$dir/safe/helper.dll" || exit 125
trap 'rm -rf "$dir"' EXIT
PH_TEST_LOCATION_DIR=$dir "$@"
