# pipehost-request.ps1 — a PowerShell client for a pipehost endpoint in message mode (the default framing): one
# request, one answer.
#
# Run it on Windows (Windows PowerShell 5.1 or PowerShell 7), against a running pipehost (the service, or
# `pipehost run` in another console):
#
#   powershell -ExecutionPolicy Bypass -File .\pipehost-request.ps1 -Pipe pipehost -Request PING          -> OK PONG
#   pwsh -File .\pipehost-request.ps1 -Pipe pipehost -Request 'ECHO hello world'                         -> OK hello world
#
# -Pipe is the bare name (pipehost) or \\.\pipe\pipehost. The answer is written to the output; the script throws
# (exit code 1 with -File) when the answer is ERR or the pipe cannot be reached within -TimeoutMs.
param(
    [string]$Pipe = 'pipehost',
    [string]$Request = 'PING',
    [int]$TimeoutMs = 5000
)
$ErrorActionPreference = 'Stop'
$name = $Pipe -replace '^\\\\\.\\pipe\\', ''

# Identification: the server may learn who we are (WHOAMI, per-verb authorization) but cannot act as us.
# The rights, not PipeDirection InOut: InOut asks for GENERIC_WRITE, which includes the right to create pipe
# instances; pipehost's default descriptor withholds that from ordinary users, so Windows would refuse them.
$rights = [System.IO.Pipes.PipeAccessRights]'ReadData, WriteData, ReadAttributes, WriteAttributes'
$client = [System.IO.Pipes.NamedPipeClientStream]::new(
    '.', $name, $rights,
    [System.IO.Pipes.PipeOptions]::None,
    [System.Security.Principal.TokenImpersonationLevel]::Identification,
    [System.IO.HandleInheritability]::None)
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
