#!/usr/bin/env bash
# msi_template_lifecycle.sh — install examples/myservice's MSI with Wine's msiexec, see its service run, uninstall it, see it all gone.
#
#   tests/installer/msi_template_lifecycle.sh SOURCE_DIR MSI PREFIXDIR
#
# In a private prefix of its own (PREFIXDIR, made and removed with tests/wine/prefix.sh): msiexec /i /qn
# installs myservice.exe under Program Files\My Service, and the service myservice is RUNNING (the configure
# step ran: a failure would have rolled the install back); then the service is stopped and its process left
# to exit (under Wine a process still exiting holds its files, as msi_lifecycle notes), and msiexec /x /qn
# removes the service, the executable, its folder and the Event Log source.
# Exit status: 0 ok, 1 a check failed, 77 skipped (no MSI or no wine).
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: msi_template_lifecycle.sh SOURCE_DIR MSI PREFIXDIR" >&2; exit 1; }
src=$1 msi=$2 pfx=$3
command -v wine >/dev/null || { echo "SKIPPED: wine not installed"; exit 77; }
[ -f "$msi" ] || { echo "SKIPPED: $msi was not built (wixl or msibuild missing at configure time)"; exit 77; }
bash "$src/tests/wine/prefix.sh" up "$pfx" >/dev/null || { echo "FAILED: cannot make the prefix $pfx" >&2; exit 1; }
trap 'bash "$src/tests/wine/prefix.sh" down "$pfx" >/dev/null' EXIT
export WINEPREFIX="$pfx" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
cp -- "$msi" "$pfx/drive_c/myservice.msi" || exit 1
fail=0
state() { timeout 30 wine sc query myservice 2>/dev/null </dev/null | tr -d '\r' | awk '/STATE/ { print $4 }'; }
# check WHAT: judges the exit status of the test just before it.
check() { if [ $? -eq 0 ]; then echo "ok: $1"; else echo "FAILED: $1" >&2; fail=1; fi; }

timeout 180 wine msiexec /i 'C:\myservice.msi' /qn </dev/null >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ]; check "msiexec /i exits 0 (got $rc)"
dir="$pfx/drive_c/Program Files/My Service"
[ -f "$dir/myservice.exe" ]; check "myservice.exe installed under Program Files\\My Service"
[ "$(state)" = RUNNING ]; check "the service myservice runs"

timeout 60 wine net stop myservice </dev/null >/dev/null 2>&1
for _ in $(seq 30); do [ "$(state)" = STOPPED ] && break; sleep 1; done
for _ in $(seq 30); do pgrep -f 'myservice\.exe' >/dev/null || break; sleep 1; done
timeout 180 wine msiexec /x 'C:\myservice.msi' /qn </dev/null >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ]; check "msiexec /x exits 0 (got $rc)"
[ -z "$(state)" ]; check "the service myservice is gone"
[ ! -e "$dir" ]; check "Program Files\\My Service is gone"
! timeout 30 wine reg query "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\myservice" </dev/null >/dev/null 2>&1; check \
  "the Event Log source is gone"
exit $fail
