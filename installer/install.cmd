@echo off
rem install.cmd — installs pipehost.exe as a Windows service with sc/reg/net, and starts it. Run elevated.
rem   install.cmd [SERVICE_NAME] [PATH\TO\pipehost.exe] [PIPE_NAME] [--allow-unsafe-location]
rem Defaults: pipehost, the pipehost.exe next to this script, and no PipeName (the service then serves
rem \\.\pipe\pipehost). More settings: reg add HKLM\SYSTEM\CurrentControlSet\Services\NAME\Parameters (docs/admin.md).
rem The same as `pipehost install --start-now`, with the tools administrators know. Every step checks its
rem error level with "if errorlevel 1" (never "||", which some cmd implementations run after success).
rem The executable must sit where only administrators can change it, the DLLs beside it and the folders above
rem it (pipehost.exe install --check-location says); --allow-unsafe-location goes on anyway, with a warning.
rem Exit code: 0 installed and running, 1 a required step failed (the service is removed again), 16 the
rem executable's location is unsafe (nothing was changed).
setlocal
set "NAME=%~1"
if "%NAME%"=="" set "NAME=pipehost"
set "EXE=%~dp0pipehost.exe"
if not "%~2"=="" set "EXE=%~f2"
set "PIPE=%~3"
set "KEY=HKLM\SYSTEM\CurrentControlSet\Services\%NAME%"
set "EVENTKEY=HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\%NAME%"
if not exist "%EXE%" (
  echo install: "%EXE%" not found
  exit /b 1
)
set "UNSAFE=%~4"
if "%UNSAFE%"=="" goto args_ok
if /i "%UNSAFE%"=="--allow-unsafe-location" goto args_ok
echo install: the 4th argument can only be --allow-unsafe-location, given "%UNSAFE%"
exit /b 1
:args_ok

rem Whoever can replace the executable, plant a DLL beside it or swap a folder above it runs code as the service.
"%EXE%" install --check-location
if not errorlevel 1 goto located
if "%UNSAFE%"=="" (
  echo install: refused: move "%EXE%" under %%ProgramFiles%%, or give --allow-unsafe-location as the 4th argument
  exit /b 16
)
echo install: WARNING: going on with an unsafe location as --allow-unsafe-location says
:located

rem The path is quoted inside binPath: an unquoted path with spaces is a privilege-escalation hole.
sc create "%NAME%" binPath= "\"%EXE%\"" start= auto DisplayName= "%NAME%" >nul
if errorlevel 1 (
  echo install: sc create %NAME% failed: is the name taken, or is this prompt not elevated?
  exit /b 1
)
echo install: created service %NAME% for "%EXE%", start auto, account LocalSystem

sc description "%NAME%" "Serves local requests on a named pipe (pipehost)" >nul
if errorlevel 1 (echo install: warning: sc description failed) else (echo install: description set)

rem Restart after 5 s, 10 s and 30 s, then nothing (it stays stopped: pipehost install's policy); forget the
rem failures after an hour without one; a non-zero exit code counts too. "" is the action "none".
sc failure "%NAME%" reset= 3600 actions= restart/5000/restart/10000/restart/30000/""/0 >nul
if errorlevel 1 (echo install: warning: sc failure failed: no recovery actions) else (echo install: recovery: restart after 5 s, 10 s, 30 s, then none)
sc failureflag "%NAME%" 1 >nul 2>&1
if errorlevel 1 (echo install: warning: sc failureflag is not supported here) else (echo install: a non-zero exit code counts as a failure)

if "%PIPE%"=="" goto events
reg add "%KEY%\Parameters" /v PipeName /t REG_SZ /d "%PIPE%" /f >nul
if errorlevel 1 (
  echo install: reg add PipeName failed
  goto undo
)
echo install: PipeName %PIPE%

:events
reg add "%EVENTKEY%" /v EventMessageFile /t REG_EXPAND_SZ /d "%EXE%" /f >nul
if errorlevel 1 (
  echo install: reg add %EVENTKEY% failed
  goto undo
)
reg add "%EVENTKEY%" /v TypesSupported /t REG_DWORD /d 7 /f >nul
if errorlevel 1 goto undo
echo install: Event Log source %NAME%

net start "%NAME%" >nul
if errorlevel 1 goto notstarted
rem net start may return while the service is still starting (or already failing): wait for RUNNING,
rem at most about 30 s, and stop waiting as soon as it is STOPPED.
set /a TRIES=0
:wait
sc query "%NAME%" | find "RUNNING" >nul
if not errorlevel 1 goto started
sc query "%NAME%" | find "STOPPED" >nul
if not errorlevel 1 goto notstarted
set /a TRIES+=1
if %TRIES% geq 30 goto notstarted
ping -n 2 127.0.0.1 >nul
goto wait

:started
echo install: %NAME% installed and started
exit /b 0

:notstarted
echo install: %NAME% did not start: see %ProgramData%\pipehost\%NAME%.log, sc query %NAME% and the Event Log

:undo
sc delete "%NAME%" >nul
reg delete "%EVENTKEY%" /f >nul 2>&1
echo install: rolled back: service %NAME% removed
exit /b 1
