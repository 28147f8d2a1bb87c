@echo off
rem uninstall.cmd — stops and removes the pipehost service and its Event Log source. Run elevated.
rem   uninstall.cmd [SERVICE_NAME]     (default: pipehost). The log folder %ProgramData%\pipehost is kept.
setlocal
set "NAME=%~1"
if "%NAME%"=="" set "NAME=pipehost"
net stop "%NAME%" >nul 2>&1
sc delete "%NAME%" || exit /b 1
reg delete "HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\%NAME%" /f >nul 2>&1
echo uninstall: %NAME% removed
