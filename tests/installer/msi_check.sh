# msi_check.sh — sourced by the MSI table tests: skips without msiinfo or without the MSI, and checks rows of $msi.
#
# The caller sets msi (the package) before sourcing this file; fail ends up 1 when a check failed.

command -v msiinfo >/dev/null || { echo "SKIPPED: msiinfo not installed (Debian: msitools)"; exit 77; }
[ -f "$msi" ] || { echo "SKIPPED: $msi was not built (wixl or msibuild missing at configure time)"; exit 77; }

fail=0
# expect TABLE PATTERN WHAT: a row of TABLE (tab-separated, as msiinfo exports it) matches the extended regex.
expect() {
  if msiinfo export "$msi" "$1" | tr -d '\r' | grep -Eq -- "$2"; then
    echo "ok: $3"
  else
    echo "FAILED: $3 (table $1, pattern $2):" >&2
    msiinfo export "$msi" "$1" >&2
    fail=1
  fi
}
# refuse TABLE PATTERN WHAT: no row of TABLE matches.
refuse() {
  if msiinfo export "$msi" "$1" | tr -d '\r' | grep -Eq -- "$2"; then
    echo "FAILED: $3 (table $1 has a row matching $2)" >&2; fail=1
  else
    echo "ok: $3"
  fi
}
# seq_of ACTION: the action's sequence number in InstallExecuteSequence.
seq_of() { msiinfo export "$msi" InstallExecuteSequence | tr -d '\r' | awk -F'\t' -v a="$1" '$1 == a { print $3 }'; }
# expect_sequence: the configure step runs between InstallServices and StartServices (the service exists, is
# configured, then starts), and an older product is removed only after InstallFinalize.
expect_sequence() {
  local i c s f r
  i=$(seq_of InstallServices) c=$(seq_of ConfigureService) s=$(seq_of StartServices)
  f=$(seq_of InstallFinalize) r=$(seq_of RemoveExistingProducts)
  if [ -n "$i" ] && [ -n "$c" ] && [ -n "$s" ] && [ "$i" -lt "$c" ] && [ "$c" -lt "$s" ]; then
    echo "ok: the configure action runs between InstallServices ($i) and StartServices ($s): $c"
  else
    echo "FAILED: ConfigureService ($c) not between InstallServices ($i) and StartServices ($s)" >&2; fail=1
  fi
  if [ -n "$r" ] && [ -n "$f" ] && [ "$r" -gt "$f" ]; then
    echo "ok: the old product is removed after InstallFinalize ($f): $r"
  else
    echo "FAILED: RemoveExistingProducts ($r) not after InstallFinalize ($f)" >&2; fail=1
  fi
}
T=$'\t'
