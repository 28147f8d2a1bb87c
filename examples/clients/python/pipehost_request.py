"""pipehost_request.py — a Python client for a pipehost endpoint in message mode (the default framing) with pywin32.

Run it on Windows (Python 3.8 or later, `pip install pywin32`), against a running pipehost (the service, or
`pipehost run` in another console):

    py pipehost_request.py pipehost PING                          -> OK PONG
    py pipehost_request.py --service pipehost pipehost ECHO hi    -> OK hi
    py pipehost_request.py --any-server demo PING                 (a `pipehost run --pipe demo` of your own)

Arguments: [--service NAME | --any-server] PIPE_NAME (pipehost or \\\\.\\pipe\\pipehost), then the request's words,
joined with spaces (default PING). Exit code 0 for an OK answer, 1 for ERR, a connection failure or a server that is
not the expected one, 2 for bad arguments.

Before sending anything it checks who serves the pipe, as pipehost's own client does (a program that took the pipe
name first would otherwise receive the request): with --service NAME the serving process
(GetNamedPipeServerProcessId) must be that service's, as the Service Control Manager reports it; without it, the
serving process must run as a service account (SYSTEM, LocalService, NetworkService or a per-service SID S-1-5-80-...),
or, when its token may not be read (an ordinary user and a SYSTEM process), the pipe must be owned by one of those or by
Administrators. --any-server skips the check, for a server you started yourself.

Why pywin32 and not the standard library's multiprocessing.connection: on Windows,
`multiprocessing.connection.Client(r"\\\\.\\pipe\\pipehost")` (no authkey, so no handshake) does speak message mode
with raw bytes — its PipeClient sets PIPE_READMODE_MESSAGE, and PipeConnection.send_bytes is one WriteFile with no
length header, recv_bytes one message reassembled across ERROR_MORE_DATA — and it works for PING/ECHO. But it opens
the pipe without SECURITY_SQOS_PRESENT, i.e. at the default impersonation level: the server could act as you, not
just identify you. And raw message framing is CPython's implementation, not its documented contract (on other
platforms the same API adds a 4-byte big-endian length). pywin32 states both the open flags and the message
handling explicitly.
"""
import sys
import time

import ctypes
from ctypes import wintypes

import pywintypes
import win32api
import win32con
import win32file
import win32pipe
import win32security
import win32service
import winerror

SERVICE_ACCOUNTS = ("S-1-5-18", "S-1-5-19", "S-1-5-20")  # SYSTEM, LocalService, NetworkService
ADMINISTRATORS = "S-1-5-32-544"
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000


def is_service_account(sid: str) -> bool:
    return sid in SERVICE_ACCOUNTS or sid.startswith("S-1-5-80-")


def server_pid(handle) -> int:
    """The id of the process serving the pipe (pywin32 has no wrapper for GetNamedPipeServerProcessId)."""
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.GetNamedPipeServerProcessId.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.ULONG)]
    kernel32.GetNamedPipeServerProcessId.restype = wintypes.BOOL
    pid = wintypes.ULONG(0)
    if not kernel32.GetNamedPipeServerProcessId(int(handle), ctypes.byref(pid)):
        raise ctypes.WinError(ctypes.get_last_error())
    return pid.value


def service_pid(service: str) -> int:
    """The process id of a service, from the Service Control Manager (0 when it is not running)."""
    scm = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_CONNECT)
    try:
        svc = win32service.OpenService(scm, service, win32service.SERVICE_QUERY_STATUS)
        try:
            return win32service.QueryServiceStatusEx(svc)["ProcessId"]
        finally:
            win32service.CloseServiceHandle(svc)
    finally:
        win32service.CloseServiceHandle(scm)


def verify_server(handle, service) -> None:
    """Raises PermissionError unless the pipe is served by the expected server (see the top of this file)."""
    pid = server_pid(handle)
    if service is not None:
        expected = service_pid(service)
        if expected == 0:
            raise PermissionError(f"service {service} is not running: nothing was sent")
        if pid != expected:
            raise PermissionError(f"the pipe is served by process {pid}, not by service {service} "
                                  f"(pid {expected}): nothing was sent")
        return
    try:
        process = win32api.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        try:
            token = win32security.OpenProcessToken(process, win32con.TOKEN_QUERY)
            user = win32security.GetTokenInformation(token, win32security.TokenUser)[0]
        finally:
            win32api.CloseHandle(process)
        account = win32security.ConvertSidToStringSid(user)
        if not is_service_account(account):
            raise PermissionError(f"the pipe's server (process {pid}) runs as {account}, not as a service "
                                  "account: nothing was sent")
    except pywintypes.error:
        # The token of a service's process may not be readable by an ordinary user: the pipe's owner instead.
        sd = win32security.GetSecurityInfo(int(handle), win32security.SE_KERNEL_OBJECT,
                                           win32security.OWNER_SECURITY_INFORMATION)
        owner = win32security.ConvertSidToStringSid(sd.GetSecurityDescriptorOwner())
        if not is_service_account(owner) and owner != ADMINISTRATORS:
            raise PermissionError(f"the pipe is owned by {owner}, not by a service account: nothing was sent")


def request(pipe: str, data: bytes, service, verify: bool = True, timeout_s: float = 5.0) -> bytes:
    """Sends one request on a new connection, once the server is verified, and returns the whole answer."""
    path = pipe if pipe.startswith("\\\\") else "\\\\.\\pipe\\" + pipe
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            # GENERIC_READ | GENERIC_WRITE, what Python's own open() and multiprocessing ask: pipehost's default
            # configuration (a fixed pool) lets ordinary users ask for it. Against a server configured with
            # MaxInstances=255 (unlimited), an ordinary user must ask for GENERIC_READ | FILE_WRITE_DATA |
            # FILE_WRITE_ATTRIBUTES (0x2 | 0x100) instead: "Which rights a client needs" in ../README.md.
            # Identification: the server may learn who we are (WHOAMI, per-verb authorization) but cannot act as us.
            handle = win32file.CreateFile(
                path,
                win32file.GENERIC_READ | win32file.GENERIC_WRITE,
                0, None, win32file.OPEN_EXISTING,
                win32con.SECURITY_SQOS_PRESENT | win32file.SECURITY_IDENTIFICATION,
                None)
            break
        except pywintypes.error as e:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if e.winerror != winerror.ERROR_PIPE_BUSY or left_ms <= 0:
                raise
            # Every instance is busy: wait for one (raises ERROR_SEM_TIMEOUT when none frees up in time).
            win32pipe.WaitNamedPipe(path, left_ms)
    try:
        if verify:
            verify_server(handle, service)
        win32pipe.SetNamedPipeHandleState(handle, win32pipe.PIPE_READMODE_MESSAGE, None, None)
        win32file.WriteFile(handle, data)  # one write = one message = one request
        # Read one message to its end: ReadFile returns ERROR_MORE_DATA (not an exception) while more follows.
        parts = []
        while True:
            hr, chunk = win32file.ReadFile(handle, 4096)
            parts.append(chunk)
            if hr == 0:
                return b"".join(parts)
            if hr != winerror.ERROR_MORE_DATA:
                raise OSError(f"ReadFile returned {hr}")
    finally:
        win32file.CloseHandle(handle)


def main() -> int:
    args = sys.argv[1:]
    service, verify = None, True
    if args[:1] == ["--service"] and len(args) >= 2:
        service, args = args[1], args[2:]
    elif args[:1] == ["--any-server"]:
        verify, args = False, args[1:]
    if not args or args[0].startswith("--"):
        print("usage: pipehost_request.py [--service NAME | --any-server] PIPE_NAME [VERB [PAYLOAD...]]",
              file=sys.stderr)
        return 2
    text = " ".join(args[1:]) or "PING"
    try:
        answer = request(args[0], text.encode("utf-8"), service, verify)
    except pywintypes.error as e:  # e.g. ERROR_FILE_NOT_FOUND (2): no such pipe; ERROR_ACCESS_DENIED (5)
        print(f"{args[0]}: {e.funcname}: {e.strerror} ({e.winerror})", file=sys.stderr)
        return 1
    except OSError as e:  # PermissionError: not the expected server; nothing was sent
        print(f"{args[0]}: {e}", file=sys.stderr)
        return 1
    print(answer.decode("utf-8", errors="replace"))
    return 0 if answer.startswith(b"OK ") else 1  # b"ERR <code> <text>" otherwise


if __name__ == "__main__":
    sys.exit(main())
