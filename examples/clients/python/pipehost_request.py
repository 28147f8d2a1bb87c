"""pipehost_request.py — a Python client for a pipehost endpoint in message mode (the default framing) with pywin32.

Run it on Windows (Python 3.8 or later, `pip install pywin32`), against a running pipehost (the service, or
`pipehost run` in another console):

    py pipehost_request.py pipehost PING                -> OK PONG
    py pipehost_request.py pipehost ECHO hello world    -> OK hello world

Arguments: PIPE_NAME (pipehost or \\\\.\\pipe\\pipehost), then the request's words, joined with spaces (default PING).
Exit code 0 for an OK answer, 1 for ERR or a connection failure, 2 for bad arguments.

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

import pywintypes
import win32con
import win32file
import win32pipe
import winerror


def request(pipe: str, data: bytes, timeout_s: float = 5.0) -> bytes:
    """Sends one request on a new connection and returns the whole answer (one pipe message)."""
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
    if len(sys.argv) < 2:
        print("usage: pipehost_request.py PIPE_NAME [VERB [PAYLOAD...]]", file=sys.stderr)
        return 2
    text = " ".join(sys.argv[2:]) or "PING"
    try:
        answer = request(sys.argv[1], text.encode("utf-8"))
    except pywintypes.error as e:  # e.g. ERROR_FILE_NOT_FOUND (2): no such pipe; ERROR_ACCESS_DENIED (5)
        print(f"{sys.argv[1]}: {e.funcname}: {e.strerror} ({e.winerror})", file=sys.stderr)
        return 1
    print(answer.decode("utf-8", errors="replace"))
    return 0 if answer.startswith(b"OK ") else 1  # b"ERR <code> <text>" otherwise


if __name__ == "__main__":
    sys.exit(main())
