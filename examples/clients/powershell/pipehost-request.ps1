# pipehost-request.ps1 - a PowerShell client for a pipehost endpoint in message mode (the default framing): one
# request, one answer.
#
# For Windows PowerShell 5.1 (.NET Framework 4.x) and PowerShell 7.4 (.NET 8), against a running pipehost (the
# service, or `pipehost run` in another console):
#
#   powershell -ExecutionPolicy Bypass -File .\pipehost-request.ps1 -Pipe pipehost -Request PING      -> OK PONG
#   pwsh -File .\pipehost-request.ps1 -Pipe pipehost -Service pipehost -Request 'ECHO hello world'   -> OK hello world
#   pwsh -File .\pipehost-request.ps1 -Pipe demo -AnyServer                  (a `pipehost run --pipe demo` of your own)
#
# -Pipe is the bare name (pipehost) or \\.\pipe\pipehost. The answer is written to the output; the script throws
# (exit code 1 with -File) when the answer is ERR, the pipe cannot be reached within -TimeoutMs, or its server is not
# the expected one.
#
# Before sending anything it checks who serves the pipe, as pipehost's own client does (a program that took the pipe
# name first would otherwise receive the request): with -Service NAME the serving process
# (GetNamedPipeServerProcessId) must be that service's, as Windows reports it (Win32_Service.ProcessId); without it,
# the serving process must run as a service account (SYSTEM, LocalService, NetworkService or a per-service SID
# S-1-5-80-...), or, when its account may not be read (an ordinary user and a SYSTEM process), the pipe must be owned
# by one of those or by Administrators. -AnyServer skips the check, for a server you started yourself.
#
# Not run where pipehost is developed: there is no PowerShell there. What keeps it right for both versions:
# - a NamedPipeClientStream constructor that both .NET Framework and .NET 8 have (PipeDirection, PipeOptions,
#   TokenImpersonationLevel); the PipeAccessRights one is missing from .NET Core and
#   .NET 5 to 8, so PowerShell 7.4 lacks it;
# - ::new() (PowerShell 5.0 and later) and nothing 5.1 cannot parse: no ??, no ternary ?:, no && or ||;
# - explicit UTF-8 for the bytes on the wire, and an ASCII-only file, since 5.1 reads a script that has no byte
#   order mark in the ANSI code page.
# tests/clients/examples_check.sh checks the constructor, the syntax and the ASCII.
param(
    [string]$Pipe = 'pipehost',
    [string]$Request = 'PING',
    [int]$TimeoutMs = 5000,
    [string]$Service = '',
    [switch]$AnyServer
)
$ErrorActionPreference = 'Stop'
$name = $Pipe -replace '^\\\\\.\\pipe\\', ''

Add-Type -Namespace PipehostExample -Name Native -MemberDefinition @'
[DllImport("kernel32.dll", SetLastError = true)]
public static extern bool GetNamedPipeServerProcessId(IntPtr pipe, out uint pid);
'@

function Test-ServiceAccount([string]$Sid) {
    ($Sid -eq 'S-1-5-18') -or ($Sid -eq 'S-1-5-19') -or ($Sid -eq 'S-1-5-20') -or $Sid.StartsWith('S-1-5-80-')
}

# Throws unless the pipe is served by the expected server (see the top of this file). Not $pid: PowerShell's own.
function Assert-Server($Client) {
    $serverPid = [uint32]0
    # An IntPtr, not the SafePipeHandle: in 5.1 its type lives in System.Core, which Add-Type does not reference.
    $handle = $Client.SafePipeHandle.DangerousGetHandle()
    if (-not [PipehostExample.Native]::GetNamedPipeServerProcessId($handle, [ref]$serverPid)) {
        throw "${name}: GetNamedPipeServerProcessId failed: error $([System.Runtime.InteropServices.Marshal]::GetLastWin32Error())"
    }
    if ($Service -ne '') {
        $svc = Get-CimInstance -ClassName Win32_Service -Filter ("Name='" + ($Service -replace "'", "\'") + "'")
        if ($null -eq $svc) { throw "${name}: no service named $Service" }
        if ($svc.ProcessId -eq 0) { throw "${name}: service $Service is not running: nothing was sent" }
        if ($svc.ProcessId -ne $serverPid) {
            throw "${name}: the pipe is served by process $serverPid, not by service $Service (pid $($svc.ProcessId)): nothing was sent"
        }
        return
    }
    $process = Get-CimInstance -ClassName Win32_Process -Filter "ProcessId=$serverPid"
    $owner = $null
    if ($null -ne $process) { $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwnerSid }
    if (($null -ne $owner) -and ($owner.ReturnValue -eq 0)) {
        if (-not (Test-ServiceAccount $owner.Sid)) {
            throw "${name}: the pipe's server (process $serverPid) runs as $($owner.Sid), not as a service account: nothing was sent"
        }
        return
    }
    # The account of a service's process may not be readable by an ordinary user: the pipe's owner instead.
    if ($PSVersionTable.PSVersion.Major -ge 6) {
        $acl = [System.IO.Pipes.PipesAclExtensions]::GetAccessControl($Client)     # .NET 8
    } else {
        $acl = $Client.GetAccessControl()                                          # .NET Framework
    }
    $pipeOwner = $acl.GetOwner([System.Security.Principal.SecurityIdentifier]).Value
    if (-not ((Test-ServiceAccount $pipeOwner) -or ($pipeOwner -eq 'S-1-5-32-544'))) {
        throw "${name}: the pipe is owned by $pipeOwner, not by a service account: nothing was sent"
    }
}

# PipeDirection InOut opens with GENERIC_READ | GENERIC_WRITE, as every .NET client does; pipehost's default
# configuration (a fixed pool) lets ordinary users do that. Against a server configured with MaxInstances=255
# (unlimited) an ordinary user is refused: see "Which rights a client needs" in ..\README.md.
# Identification: the server may learn who we are (WHOAMI, per-verb authorization) but cannot act as us.
$client = [System.IO.Pipes.NamedPipeClientStream]::new(
    '.', $name,
    [System.IO.Pipes.PipeDirection]::InOut,
    [System.IO.Pipes.PipeOptions]::None,
    [System.Security.Principal.TokenImpersonationLevel]::Identification)
try {
    $client.Connect($TimeoutMs)                                          # TimeoutException when busy or absent
    $client.ReadMode = [System.IO.Pipes.PipeTransmissionMode]::Message   # only possible once connected
    if (-not $AnyServer) { Assert-Server $client }                       # before anything is sent

    $req = [System.Text.Encoding]::UTF8.GetBytes($Request)
    $client.Write($req, 0, $req.Length)                                  # one Write = one message = one request

    # Read one message to its end: IsMessageComplete stays false while the message is longer than what was read.
    $answer = [System.IO.MemoryStream]::new()
    $buf = [byte[]]::new(4096)
    do {
        $n = $client.Read($buf, 0, $buf.Length)
        if ($n -eq 0) { throw "${name}: the server closed the connection before answering" }
        $answer.Write($buf, 0, $n)
    } while (-not $client.IsMessageComplete)

    $text = [System.Text.Encoding]::UTF8.GetString($answer.ToArray())
    if (-not $text.StartsWith('OK ', [System.StringComparison]::Ordinal)) { throw "${name}: $text" }   # ERR <code> <text>
    $text
}
finally {
    $client.Dispose()
}
