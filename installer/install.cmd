@echo off
rem install.cmd — installs pipehost.exe as a Windows service and starts it. Run from an elevated prompt.
rem   install.cmd [SERVICE_NAME] [PATH\TO\pipehost.exe]     (defaults: pipehost, pipehost.exe next to this script)
rem Configuration: HKLM\SYSTEM\CurrentControlSet\Services\SERVICE_NAME\Parameters (see the README).
setlocal
set "NAME=%~1"
if "%NAME%"=="" set "NAME=pipehost"
set "EXE=%~dp0pipehost.exe"
if not "%~2"=="" set "EXE=%~f2"
if not exist "%EXE%" (echo install: "%EXE%" not found & exit /b 1)
rem The path is quoted inside binPath: an unquoted path with spaces is a privilege-escalation hole.
sc create "%NAME%" binPath= "\"%EXE%\"" start= auto || exit /b 1
sc description "%NAME%" "Serves local requests on a named pipe (pipehost)"
rem Restart after a crash: twice after 5 s, then give up for the day.
sc failure "%NAME%" reset= 86400 actions= restart/5000/restart/5000//0
net start "%NAME%" || exit /b 1
echo install: %NAME% installed and started
