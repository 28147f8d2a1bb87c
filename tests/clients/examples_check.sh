#!/usr/bin/env bash
# examples_check.sh — the client examples that cannot run here ask for what examples/clients/README.md says, and
# the PowerShell one stays readable by Windows PowerShell 5.1.
#
#   tests/clients/examples_check.sh SRCDIR
#
# No .NET SDK, PowerShell, Go toolchain or Windows Python exists here (the README says what each was checked with),
# so this checks the source text: each example's open call is the documented one (GENERIC_READ | GENERIC_WRITE, the
# runtime's default, with the identification level), and the PowerShell script is ASCII and free of syntax 5.1
# cannot parse. The JavaScript and Python files are also compiled by the host's node and python3 when present.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: examples_check.sh SRCDIR" >&2; exit 2; }
dir=$1/examples/clients
fails=0
fail() { printf 'examples_check: FAIL: %s\n' "$*" >&2; fails=$((fails + 1)); }
# has FILE TEXT: the fixed string TEXT occurs in FILE.
has() { grep -qF -- "$2" "$dir/$1" || fail "$1 does not contain: $2"; }
# lacks FILE TEXT COMMENT: TEXT is not in FILE's code, i.e. its lines cut at the comment marker COMMENT (none of the
# examples has that marker inside a string).
lacks() { ! sed -e "s|$3.*\$||" "$dir/$1" | grep -qF -- "$2" || fail "$1 uses: $2"; }

# C#: .NET 8, the plain PipeDirection.InOut constructor (with the identification level), message read mode.
has csharp/PipehostClient.csproj '<TargetFramework>net8.0</TargetFramework>'
has csharp/Program.cs 'new NamedPipeClientStream(".", name, PipeDirection.InOut, PipeOptions.None,'
has csharp/Program.cs 'TokenImpersonationLevel.Identification);'
has csharp/Program.cs 'pipe.ReadMode = PipeTransmissionMode.Message;'
lacks csharp/Program.cs 'PipeAccessRights' '//'

# PowerShell: the same constructor, which Windows PowerShell 5.1 (.NET Framework) and PowerShell 7.4 (.NET 8) share.
ps=powershell/pipehost-request.ps1
has $ps '[System.IO.Pipes.PipeDirection]::InOut,'
has $ps '[System.Security.Principal.TokenImpersonationLevel]::Identification)'
# shellcheck disable=SC2016 # PowerShell's $, not the shell's
has $ps '$client.ReadMode = [System.IO.Pipes.PipeTransmissionMode]::Message'
has $ps '[System.Text.Encoding]::UTF8.GetBytes('
lacks $ps 'PipeAccessRights' '#'
if LC_ALL=C grep -nP '[^\x00-\x7F]' "$dir/$ps" >&2; then
  fail "$ps has non-ASCII bytes (Windows PowerShell 5.1 reads a file without a BOM in the ANSI code page)"
fi
# PowerShell 7-only operators, in code lines.
for op in '??' '&&' '||' '?.' ' ? '; do lacks $ps "$op" '#'; done

# Go: DialPipe's own access, at the identification level.
has go/main.go 'winio.DialPipeAccessImpLevel(ctx, path, syscall.GENERIC_READ|syscall.GENERIC_WRITE,'
has go/main.go 'winio.PipeImpLevelIdentification)'

# Python: what open() and multiprocessing ask, at the identification level, in message read mode.
has python/pipehost_request.py 'win32file.GENERIC_READ | win32file.GENERIC_WRITE,'
has python/pipehost_request.py 'win32con.SECURITY_SQOS_PRESENT | win32file.SECURITY_IDENTIFICATION,'
has python/pipehost_request.py 'win32pipe.SetNamedPipeHandleState(handle, win32pipe.PIPE_READMODE_MESSAGE, None, None)'

# Each example but Node.js (whose net.connect gives no handle) verifies the server before sending, as ph_client does:
# the serving process (GetNamedPipeServerProcessId) against the service's pid from the SCM, or its account / the
# pipe's owner against the service accounts; --any-server (-AnyServer) opts out.
for f in csharp/Program.cs $ps go/main.go python/pipehost_request.py; do
  has "$f" 'GetNamedPipeServerProcessId'
  has "$f" 'S-1-5-80-'
  has "$f" 'S-1-5-32-544'
  has "$f" 'nothing was sent'
done
has csharp/Program.cs 'QueryServiceStatusEx(svc,'
has csharp/Program.cs 'if (verify)'
has go/main.go 'windows.QueryServiceStatusEx(svc, windows.SC_STATUS_PROCESS_INFO,'
has go/main.go 'if err := verifyServer(windows.Handle(f.Fd()), service); err != nil {'
has python/pipehost_request.py 'win32service.QueryServiceStatusEx(svc)["ProcessId"]'
has python/pipehost_request.py 'verify_server(handle, service)'
has $ps 'Get-CimInstance -ClassName Win32_Service'
# shellcheck disable=SC2016 # PowerShell's $, not the shell's
has $ps 'if (-not $AnyServer) { Assert-Server $client }'
# The check comes before the request is written.
before() { awk -v a="$2" -v b="$3" 'index($0, a) && !x { x = NR } index($0, b) && !y { y = NR } END { exit !(x && y && x < y) }' \
  "$dir/$1" || fail "$1: \"$2\" does not come before \"$3\""; }
before csharp/Program.cs 'ServerCheck.Verify(pipe, service);' 'pipe.Write(req, 0, req.Length);'
# shellcheck disable=SC2016 # PowerShell's $, not the shell's
before $ps 'Assert-Server $client' '$client.Write($req, 0, $req.Length)'
before go/main.go 'verifyServer(windows.Handle(f.Fd()), service)' 'answer, err := request(conn, []byte(req))'
before python/pipehost_request.py '            verify_server(handle, service)' '        win32file.WriteFile(handle, data)'

# Node.js: net.connect, i.e. libuv's GENERIC_READ | GENERIC_WRITE (no way to ask for less).
has node/pipelined.js "const socket = net.connect(path,"

if command -v node >/dev/null 2>&1; then
  node --check "$dir/node/pipelined.js" || fail "node --check node/pipelined.js"
fi
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import ast, sys; ast.parse(open(sys.argv[1], encoding="utf-8").read(), sys.argv[1])' \
    "$dir/python/pipehost_request.py" || fail "python/pipehost_request.py does not parse"
fi

if [ "$fails" -ne 0 ]; then
  echo "examples_check: $fails problem(s)" >&2
  exit 1
fi
echo "examples_check: the examples ask for what examples/clients/README.md says; the PowerShell script suits 5.1"
