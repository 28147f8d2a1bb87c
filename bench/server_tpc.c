/* server_tpc.c — the thread-per-client echo server as the Win32 "multithreaded pipe server" sample writes it. */
#include "refstop.h"

#include <windows.h>

#include <stdio.h>

/* Written plainly, the way users copy it: one instance at a time waits in ConnectNamedPipe, each client
 * gets its own thread with synchronous ReadFile/WriteFile and 64 KiB buffers, message mode, and the thread
 * flushes, disconnects and closes when the client leaves. The bench's SLEEP request is slept on the
 * client's own thread. Usage: pipehost-bench-tpc \\.\pipe\NAME [EVENT] */
#define BUFSIZE 65536

static DWORD WINAPI instance_thread(LPVOID param)
{
    HANDLE pipe = (HANDLE)param;
    HANDLE heap = GetProcessHeap();
    char *request = HeapAlloc(heap, 0, BUFSIZE);
    char *reply = HeapAlloc(heap, 0, BUFSIZE);
    DWORD got = 0, written = 0;

    if (request == NULL || reply == NULL)
        goto cleanup;
    for (;;) {
        if (!ReadFile(pipe, request, BUFSIZE, &got, NULL) || got == 0)
            break;
        ref_maybe_sleep(request, got); /* the slow-handler cell's request: this thread does the work */
        CopyMemory(reply, request, got);
        if (!WriteFile(pipe, reply, got, &written, NULL) || written != got)
            break;
    }

cleanup:
    FlushFileBuffers(pipe);
    DisconnectNamedPipe(pipe);
    CloseHandle(pipe);
    if (request != NULL)
        HeapFree(heap, 0, request);
    if (reply != NULL)
        HeapFree(heap, 0, reply);
    return 0;
}

int main(int argc, char **argv)
{
    int rc;

    if ((rc = ref_start(argc, argv)) != 0)
        return rc;
    for (;;) {
        HANDLE pipe = CreateNamedPipeA(argv[1], PIPE_ACCESS_DUPLEX,
                                       PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                                       PIPE_UNLIMITED_INSTANCES, BUFSIZE, BUFSIZE, 0, NULL);
        HANDLE thread;

        if (pipe == INVALID_HANDLE_VALUE) {
            fprintf(stderr, "CreateNamedPipe failed: error %lu\n", GetLastError());
            return 1;
        }
        if (!(ConnectNamedPipe(pipe, NULL) || GetLastError() == ERROR_PIPE_CONNECTED)) {
            CloseHandle(pipe);
            continue;
        }
        thread = CreateThread(NULL, 0, instance_thread, pipe, 0, NULL);
        if (thread == NULL) {
            fprintf(stderr, "CreateThread failed: error %lu\n", GetLastError());
            DisconnectNamedPipe(pipe);
            CloseHandle(pipe);
            continue;
        }
        CloseHandle(thread);
    }
}
