#!/usr/bin/env bash
# msi_tables.sh — read the built MSIs back with msiinfo (msitools) and check the tables the installation relies on.
#
#   tests/installer/msi_tables.sh MSI_DIR VERSION
#
# Checks pipehost-VERSION-x64.msi (and the upgrade tests' pipehost-0.0.1-x64.msi and same-version rebuild): the
# service and how it is controlled, the configure custom actions, their conditions and where they run, which
# properties are secure, the upgrade's rows and scheduling, registry rows, the files removed at uninstall, the
# Add/Remove Programs properties, the file's folder, the product/upgrade codes.
# Exit status: 0 ok, 1 a check failed, 77 skipped (no msiinfo or no MSI).
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: msi_tables.sh MSI_DIR VERSION" >&2; exit 1; }
dir=$1 version=$2
msi="$dir/pipehost-$version-x64.msi" old="$dir/pipehost-0.0.1-x64.msi" rebuild="$dir/pipehost-$version-x64-rebuild.msi"
# shellcheck source=msi_check.sh
. "$(dirname "${BASH_SOURCE[0]}")/msi_check.sh"

expect ServiceInstall "^ServiceInstall${T}pipehost${T}pipehost${T}16${T}2${T}1${T}${T}${T}LocalSystem${T}" \
  "service pipehost: own process (16), auto start (2), normal errors (1), LocalSystem"
# 163 = start at install (1) + stop at install (2) + stop at uninstall (0x20) + delete at uninstall (0x80).
expect ServiceControl "^ServiceControl${T}pipehost${T}163${T}${T}1${T}Service$" \
  "service control: start at install, stop at install and uninstall, remove at uninstall, wait"
# 3090 = exe from an installed file (18) + deferred (1024) + no impersonation (2048), return code checked.
expect CustomAction "^ConfigureService${T}3090${T}pipehost.exe${T}install --configure-only" \
  "custom action: pipehost install --configure-only, deferred, as LocalSystem, checked"
expect Registry "${T}2${T}SYSTEM\\\\CurrentControlSet\\\\Services\\\\EventLog\\\\Application\\\\pipehost\\\\?${T}EventMessageFile${T}\[#pipehost.exe\]" \
  "Event Log source with the executable as message file"
expect Registry "${T}2${T}SYSTEM\\\\CurrentControlSet\\\\Services\\\\pipehost\\\\Parameters\\\\?${T}LogLevel${T}info${T}" \
  "default Parameters"
expect CustomAction "^ConfigureService${T}.*--set-unless-empty \"PipeName=\[PIPENAME\]\".*--set-unless-empty \"MaxInstances=\[MAXINSTANCES\]\"${T}" \
  "custom action: the public properties, each set only when given"
expect CustomAction "^ConfigureServiceUnsafe${T}3090${T}pipehost.exe${T}install --configure-only .*--set-unless-empty \"MaxInstances=\[MAXINSTANCES\]\" --allow-unsafe-location${T}" \
  "custom action with the location override: the same, plus --allow-unsafe-location"
expect InstallExecuteSequence "^ConfigureService${T}NOT REMOVE=\"ALL\" AND ALLOWUNSAFELOCATION<>\"1\"${T}" \
  "the configure action runs unless ALLOWUNSAFELOCATION=1"
expect InstallExecuteSequence "^ConfigureServiceUnsafe${T}NOT REMOVE=\"ALL\" AND ALLOWUNSAFELOCATION=\"1\"${T}" \
  "the overriding one only with ALLOWUNSAFELOCATION=1"
# Only MajorUpgrade's properties are secure: PIPENAME, SDDL, FRAMING, LOGLEVEL, MAXINSTANCES and
# ALLOWUNSAFELOCATION reach the LocalSystem custom action from administrators only.
expect Property "^SecureCustomProperties${T}WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED$" \
  "no configuration property is secure (an unelevated user's values never reach the installation)"
for ca in ConfigureService ConfigureServiceUnsafe; do
  len=$(msiinfo export "$msi" CustomAction | tr -d '\r' | awk -F'\t' -v a=$ca '$1 == a { print length($4) }')
  if [ -n "$len" ] && [ "$len" -le 255 ]; then
    echo "ok: $ca's command line fits its column ($len of 255 characters)"
  else
    echo "FAILED: $ca's command line is ${len:-missing} characters (column: 255)" >&2; fail=1
  fi
done
# 2 = on uninstall. The log folder row has no file name: the folder itself, if empty.
expect RemoveFile "^RemoveLog${T}Service${T}pipehost.log${T}LOGDIR${T}2$" "uninstall removes the default log"
expect RemoveFile "^RemoveLog1${T}Service${T}pipehost.log.1${T}LOGDIR${T}2$" "… and its rotated copy"
expect RemoveFile "^RemoveLogDir${T}Service${T}${T}LOGDIR${T}2$" "… and the log folder if it is empty"
expect Directory "^LOGDIR${T}CommonAppDataFolder${T}pipehost$" "the log folder is %ProgramData%\\pipehost"
expect Property "^ARPNOMODIFY${T}1$" "Add/Remove Programs: no Modify"
expect Property "^ARPCONTACT${T}pipehost$" "Add/Remove Programs: contact"
expect Property "^ARPCOMMENTS${T}." "Add/Remove Programs: comments"
expect Directory "^INSTALLDIR${T}ProgramFiles64Folder${T}pipehost$" "installed under Program Files\\pipehost"
expect File "^pipehost.exe${T}Service${T}pipehost.exe${T}" "pipehost.exe in the service's component"
# 513 = migrate features + maximum inclusive: a rebuild of the same version upgrades too (no second entry).
expect Upgrade "^\{94850276-49B4-4718-926E-60740663863B\}${T}${T}$version${T}${T}513${T}${T}WIX_UPGRADE_DETECTED$" \
  "major upgrade of older versions and of the same version"
expect Upgrade "^\{94850276-49B4-4718-926E-60740663863B\}${T}$version${T}${T}${T}2${T}${T}WIX_DOWNGRADE_DETECTED$" \
  "a newer version installed: only detected (the downgrade is refused)"

expect_sequence

# Product Id="*": every build has its own ProductCode, the UpgradeCode stays.
if [ -f "$old" ]; then
  code() { msiinfo export "$1" Property | tr -d '\r' | awk -F'\t' -v k="$2" '$1 == k { print $2 }'; }
  if [ -f "$rebuild" ] && [ "$(code "$msi" ProductCode)" = "$(code "$rebuild" ProductCode)" ]; then
    echo "FAILED: the same-version rebuild has the same ProductCode" >&2; fail=1
  fi
  if [ "$(code "$msi" ProductCode)" != "$(code "$old" ProductCode)" ] &&
     [ "$(code "$msi" UpgradeCode)" = "$(code "$old" UpgradeCode)" ] && [ -n "$(code "$msi" ProductCode)" ]; then
    echo "ok: a new ProductCode per build, the same UpgradeCode"
  else
    echo "FAILED: product/upgrade codes: $(code "$msi" ProductCode)/$(code "$old" ProductCode)" >&2; fail=1
  fi
fi
exit $fail
