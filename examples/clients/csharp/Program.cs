// Program.cs — a C# client for a pipehost endpoint in message mode (the default framing): one request, one answer.
//
// Run it on Windows with the .NET 8 SDK (any .NET 6 or later works: set TargetFramework in PipehostClient.csproj),
// against a running pipehost (the service, or `pipehost run` in another console):
//
//   dotnet run -- pipehost PING               -> OK PONG
//   dotnet run -- pipehost ECHO hello world   -> OK hello world
//
// Arguments: PIPE_NAME (the bare name, e.g. pipehost, or \\.\pipe\pipehost), then the request's words, joined with
// spaces (default PING). Exit code 0 for an OK answer, 1 for ERR or a connection failure, 2 for bad arguments.
//
// Not built or run where pipehost is developed (no .NET SDK there); see ../README.md.
using System;
using System.IO;
using System.IO.Pipes;
using System.Security.Principal;
using System.Text;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: dotnet run -- PIPE_NAME [VERB [PAYLOAD...]]");
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
catch (Exception e) when (e is IOException || e is TimeoutException || e is UnauthorizedAccessException)
{
    Console.Error.WriteLine($"{name}: {e.Message}");
    return 1;
}
