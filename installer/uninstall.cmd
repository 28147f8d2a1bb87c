@echo off
rem uninstall.cmd — stops and removes the pipehost service and its Event Log source with net/sc/reg. Run elevated.
rem   uninstall.cmd [SERVICE_NAME]     (default: pipehost). The log folder %ProgramData%\pipehost is kept.
rem Exit code: 0 removed (or nothing to remove), 1 a step failed.
setlocal
set "NAME=%~1"
if "%NAME%"=="" set "NAME=pipehost"
set "EVENTKEY=HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\%NAME%"

sc query "%NAME%" >nul 2>&1
if errorlevel 1 (
  reg delete "%EVENTKEY%" /f >nul 2>&1
  echo uninstall: service %NAME% is not installed: nothing to remove
  exit /b 0
)
rem net stop waits for STOPPED (bounded by the service's wait hints); a stopped service is fine.
net stop "%NAME%" >nul 2>&1
if errorlevel 1 (echo uninstall: %NAME% was not running) else (echo uninstall: %NAME% stopped)
sc delete "%NAME%" >nul
if errorlevel 1 (
  echo uninstall: sc delete %NAME% failed: is this prompt elevated? Is it marked for deletion already?
  exit /b 1
)
echo uninstall: service %NAME% deleted
reg delete "%EVENTKEY%" /f >nul 2>&1
if errorlevel 1 (echo uninstall: no Event Log source to remove) else (echo uninstall: Event Log source %NAME% removed)
echo uninstall: %NAME% removed
exit /b 0
