#!/usr/bin/env bash
# msi_template_tables.sh — read examples/myservice's MSI (built by ph_add_service_msi from cmake/service.wxs.in) back with msiinfo.
#
#   tests/installer/msi_template_tables.sh MSI UPGRADE_CODE
#
# Checks that the template gave the package its own identity (UpgradeCode, ProductName, Manufacturer, install
# folder, service name, configure action naming its own executable) and pipehost's hardening (strict configure
# step, no secure configuration property, same-version upgrade, configure step between InstallServices and
# StartServices). Exit status: 0 ok, 1 a check failed, 77 skipped (no msiinfo or no MSI).
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: msi_template_tables.sh MSI UPGRADE_CODE" >&2; exit 1; }
msi=$1 upgrade=$2
# shellcheck source=msi_check.sh
. "$(dirname "${BASH_SOURCE[0]}")/msi_check.sh"
up=$(printf '%s' "$upgrade" | sed 's/[{}]/\\&/g')

expect Property "^UpgradeCode${T}${up}$" "its own UpgradeCode $upgrade"
refuse Property "94850276-49B4-4718-926E-60740663863B" "not pipehost's UpgradeCode"
expect Property "^ProductName${T}My Service$" "ProductName My Service"
expect Property "^Manufacturer${T}Example Corp$" "Manufacturer Example Corp"
expect Property "^ProductVersion${T}1\.2\.3$" "ProductVersion 1.2.3"
expect Directory "^INSTALLDIR${T}ProgramFiles64Folder${T}(.*\|)?My Service$" "installed under Program Files\\My Service"
expect File "^ServiceExe${T}Service${T}myservice.exe${T}" "myservice.exe in the service's component"
expect ServiceInstall "^ServiceInstall${T}myservice${T}My Service${T}16${T}2${T}1${T}${T}${T}LocalSystem${T}" \
  "service myservice: own process, auto start, normal errors, LocalSystem"
refuse ServiceInstall "${T}pipehost${T}" "no service named pipehost"
expect ServiceControl "^ServiceControl${T}myservice${T}163${T}${T}1${T}Service$" \
  "service control of myservice: start at install, stop at install and uninstall, remove at uninstall, wait"
# 3090 = exe from an installed file (18) + deferred (1024) + no impersonation (2048), return code checked;
# the source is the File row ServiceExe, i.e. myservice.exe (checked above).
expect CustomAction "^ConfigureService${T}3090${T}ServiceExe${T}install --configure-only --set-unless-empty \"PipeName=\[PIPENAME\]\".*--set-unless-empty \"MaxInstances=\[MAXINSTANCES\]\"${T}" \
  "configure action: myservice.exe install --configure-only (strict form), deferred, as LocalSystem, checked"
expect CustomAction "^ConfigureServiceUnsafe${T}3090${T}ServiceExe${T}install --configure-only .* --allow-unsafe-location${T}" \
  "configure action with the location override"
expect InstallExecuteSequence "^ConfigureService${T}NOT REMOVE=\"ALL\" AND ALLOWUNSAFELOCATION<>\"1\"${T}" \
  "the configure action runs unless ALLOWUNSAFELOCATION=1"
expect Property "^SecureCustomProperties${T}WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED$" \
  "no configuration property is secure"
expect Registry "${T}2${T}SYSTEM\\\\CurrentControlSet\\\\Services\\\\EventLog\\\\Application\\\\myservice\\\\?${T}EventMessageFile${T}\[#ServiceExe\]" \
  "Event Log source myservice with its executable as message file"
expect RemoveFile "^RemoveLog${T}Service${T}myservice.log${T}LOGDIR${T}2$" "uninstall removes the default log"
expect Directory "^LOGDIR${T}CommonAppDataFolder${T}MyService$" "the log folder is %ProgramData%\\MyService"
expect Upgrade "^${up}${T}${T}1\.2\.3${T}${T}513${T}${T}WIX_UPGRADE_DETECTED$" \
  "major upgrade of older versions and of the same version"
expect Upgrade "^${up}${T}1\.2\.3${T}${T}${T}2${T}${T}WIX_DOWNGRADE_DETECTED$" "a newer version is detected (downgrade refused)"

expect_sequence
exit $fail
