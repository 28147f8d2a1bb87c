// Program.cs — a C# client for a pipehost endpoint in message mode (the default framing): one request, one answer.
//
// Run it on Windows with the .NET 8 SDK (any .NET 6 or later works: set TargetFramework in PipehostClient.csproj),
// against a running pipehost (the service, or `pipehost run` in another console):
//
//   dotnet run -- pipehost PING                            -> OK PONG
//   dotnet run -- --service pipehost pipehost ECHO hello   -> OK hello
//   dotnet run -- --any-server demo PING                   (a `pipehost run --pipe demo` of your own)
//
// Arguments: [--service NAME | --any-server] PIPE_NAME (the bare name, e.g. pipehost, or \\.\pipe\pipehost), then the
// request's words, joined with spaces (default PING). Exit code 0 for an OK answer, 1 for ERR, a connection failure or
// a server that is not the expected one, 2 for bad arguments.
//
// Before sending anything it checks who serves the pipe, as pipehost's own client does (a program that took the pipe
// name first would otherwise receive the request): with --service NAME the serving process
// (GetNamedPipeServerProcessId) must be that service's, as the Service Control Manager reports it; without it, the
// serving process must run as a service account (SYSTEM, LocalService, NetworkService or a per-service SID
// S-1-5-80-...), or, when its token may not be read (an ordinary user and a SYSTEM process), the pipe must be owned by
// one of those or by Administrators. --any-server skips the check, for a server you started yourself.
//
// Not built or run where pipehost is developed (no .NET SDK there); see ../README.md.
using System;
using System.ComponentModel;
using System.IO;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Security.Principal;
using System.Text;

string? service = null;
bool verify = true;
if (args.Length >= 2 && args[0] == "--service")
{
    service = args[1];
    args = args[2..];
}
else if (args.Length >= 1 && args[0] == "--any-server")
{
    verify = false;
    args = args[1..];
}
if (args.Length < 1 || args[0].StartsWith("--", StringComparison.Ordinal))
{
    Console.Error.WriteLine("usage: dotnet run -- [--service NAME | --any-server] PIPE_NAME [VERB [PAYLOAD...]]");
    return 2;
}
string name = args[0].StartsWith(@"\\.\pipe\", StringComparison.OrdinalIgnoreCase) ? args[0].Substring(9) : args[0];
string request = args.Length > 1 ? string.Join(' ', args, 1, args.Length - 1) : "PING";

try
{
    // PipeDirection.InOut opens with GENERIC_READ | GENERIC_WRITE, as every .NET client does; pipehost's default
    // configuration (a fixed pool) lets ordinary users do that. Against a server configured with MaxInstances=255
    // (unlimited) an ordinary user is refused: see "Which rights a client needs" in ../README.md.
    // Identification: the server may learn who we are (WHOAMI, per-verb authorization) but cannot act as us; the
    // three-argument constructor would leave the default level, which lets the server impersonate us.
    // PipeOptions.None: synchronous I/O is enough for one request. Not PipeOptions.CurrentUserOnly: on a client it
    // requires the pipe to be owned by our own account, which a service running as LocalSystem is not.
    using var pipe = new NamedPipeClientStream(".", name, PipeDirection.InOut, PipeOptions.None,
                                               TokenImpersonationLevel.Identification);
    pipe.Connect(5000);                             // waits while every instance is busy; TimeoutException after 5 s
    pipe.ReadMode = PipeTransmissionMode.Message;   // only possible once connected
    if (verify)
        ServerCheck.Verify(pipe, service);          // before anything is sent

    byte[] req = Encoding.UTF8.GetBytes(request);
    pipe.Write(req, 0, req.Length);                 // one Write = one message = one request

    // Read one message to its end: a read that fills the buffer before the message ends leaves IsMessageComplete
    // false (ERROR_MORE_DATA underneath); keep reading until it is true.
    using var answer = new MemoryStream();
    byte[] buf = new byte[4096];
    do
    {
        int n = pipe.Read(buf, 0, buf.Length);
        if (n == 0)
            throw new EndOfStreamException("the server closed the connection before answering");
        answer.Write(buf, 0, n);
    } while (!pipe.IsMessageComplete);

    string text = Encoding.UTF8.GetString(answer.ToArray());
    Console.WriteLine(text);
    return text.StartsWith("OK ", StringComparison.Ordinal) ? 0 : 1;   // "ERR <code> <text>" otherwise
}
catch (Exception e) when (e is IOException || e is TimeoutException || e is UnauthorizedAccessException ||
                           e is Win32Exception)
{
    Console.Error.WriteLine($"{name}: {e.Message}");
    return 1;
}

// The server check described at the top of this file.
static class ServerCheck
{
    public static void Verify(NamedPipeClientStream pipe, string? service)
    {
        if (!GetNamedPipeServerProcessId(pipe.SafePipeHandle, out uint pid))
            throw new Win32Exception(Marshal.GetLastWin32Error(), "GetNamedPipeServerProcessId");
        if (service != null)
        {
            uint expected = ServicePid(service);
            if (expected == 0)
                throw new UnauthorizedAccessException($"service {service} is not running: nothing was sent");
            if (pid != expected)
                throw new UnauthorizedAccessException(
                    $"the pipe is served by process {pid}, not by service {service} (pid {expected}): nothing was sent");
            return;
        }
        string? account = ProcessAccount(pid);
        if (account != null)
        {
            if (!IsServiceAccount(account))
                throw new UnauthorizedAccessException(
                    $"the pipe's server (process {pid}) runs as {account}, not as a service account: nothing was sent");
            return;
        }
        // The token of a service's process may not be readable by an ordinary user: the pipe's owner instead.
        string owner = pipe.GetAccessControl().GetOwner(typeof(SecurityIdentifier))?.Value ?? "";
        if (!IsServiceAccount(owner) && owner != "S-1-5-32-544")
            throw new UnauthorizedAccessException($"the pipe is owned by {owner}, not by a service account: nothing was sent");
    }

    static bool IsServiceAccount(string sid) =>
        sid == "S-1-5-18" || sid == "S-1-5-19" || sid == "S-1-5-20" || sid.StartsWith("S-1-5-80-", StringComparison.Ordinal);

    // The user SID of a process, from its token; null when it may not be read.
    static string? ProcessAccount(uint pid)
    {
        IntPtr process = OpenProcess(0x1000 /* PROCESS_QUERY_LIMITED_INFORMATION */, false, pid);
        if (process == IntPtr.Zero)
            return null;
        try
        {
            if (!OpenProcessToken(process, 0x8 /* TOKEN_QUERY */, out IntPtr token))
                return null;
            try
            {
                using var identity = new WindowsIdentity(token);
                return identity.User?.Value;
            }
            finally
            {
                CloseHandle(token);
            }
        }
        finally
        {
            CloseHandle(process);
        }
    }

    // The process id of a service, from the Service Control Manager (0 when it is not running).
    static uint ServicePid(string service)
    {
        IntPtr scm = OpenSCManagerW(null, null, 0x1 /* SC_MANAGER_CONNECT */);
        if (scm == IntPtr.Zero)
            throw new Win32Exception(Marshal.GetLastWin32Error(), "OpenSCManager");
        try
        {
            IntPtr svc = OpenServiceW(scm, service, 0x4 /* SERVICE_QUERY_STATUS */);
            if (svc == IntPtr.Zero)
                throw new Win32Exception(Marshal.GetLastWin32Error(), $"service {service}");
            try
            {
                if (!QueryServiceStatusEx(svc, 0 /* SC_STATUS_PROCESS_INFO */, out ServiceStatusProcess st,
                                          (uint)Marshal.SizeOf<ServiceStatusProcess>(), out _))
                    throw new Win32Exception(Marshal.GetLastWin32Error(), "QueryServiceStatusEx");
                return st.ProcessId;
            }
            finally
            {
                CloseServiceHandle(svc);
            }
        }
        finally
        {
            CloseServiceHandle(scm);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    struct ServiceStatusProcess
    {
        public uint ServiceType, CurrentState, ControlsAccepted, Win32ExitCode, ServiceSpecificExitCode, CheckPoint,
                    WaitHint, ProcessId, ServiceFlags;
    }

    [DllImport("kernel32.dll", SetLastError = true)]
    static extern bool GetNamedPipeServerProcessId(Microsoft.Win32.SafeHandles.SafePipeHandle pipe, out uint pid);
    [DllImport("kernel32.dll", SetLastError = true)]
    static extern IntPtr OpenProcess(uint access, bool inherit, uint pid);
    [DllImport("advapi32.dll", SetLastError = true)]
    static extern bool OpenProcessToken(IntPtr process, uint access, out IntPtr token);
    [DllImport("kernel32.dll", SetLastError = true)]
    static extern bool CloseHandle(IntPtr handle);
    [DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
    static extern IntPtr OpenSCManagerW(string? machine, string? database, uint access);
    [DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
    static extern IntPtr OpenServiceW(IntPtr scm, string name, uint access);
    [DllImport("advapi32.dll", SetLastError = true)]
    static extern bool QueryServiceStatusEx(IntPtr service, int level, out ServiceStatusProcess status, uint size,
                                            out uint needed);
    [DllImport("advapi32.dll", SetLastError = true)]
    static extern bool CloseServiceHandle(IntPtr handle);
}
