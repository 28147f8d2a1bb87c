# pipehost-request.ps1 - a PowerShell client for a pipehost endpoint in message mode (the default framing): one
# request, one answer.
#
# For Windows PowerShell 5.1 (.NET Framework 4.x) and PowerShell 7.4 (.NET 8), against a running pipehost (the
# service, or `pipehost run` in another console):
#
#   powershell -ExecutionPolicy Bypass -File .\pipehost-request.ps1 -Pipe pipehost -Request PING      -> OK PONG
#   pwsh -File .\pipehost-request.ps1 -Pipe pipehost -Request 'ECHO hello world'                     -> OK hello world
#
# -Pipe is the bare name (pipehost) or \\.\pipe\pipehost. The answer is written to the output; the script throws
# (exit code 1 with -File) when the answer is ERR or the pipe cannot be reached within -TimeoutMs.
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
    [int]$TimeoutMs = 5000
)
$ErrorActionPreference = 'Stop'
$name = $Pipe -replace '^\\\\\.\\pipe\\', ''

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
