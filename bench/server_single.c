/* server_single.c — the single-instance echo server: one pipe instance, one client at a time, as users write it. */
#include "refstop.h"

#include <windows.h>

#include <stdio.h>

/* Create the instance (at most one may exist), wait for a client, echo its messages with synchronous
 * ReadFile/WriteFile until it leaves, flush, disconnect, close, and start over. While a client is served
 * every other client sees ERROR_PIPE_BUSY (or, between two instances, no pipe at all).
 * Usage: pipehost-bench-single \\.\pipe\NAME [EVENT] */
#define BUFSIZE 65536

int main(int argc, char **argv)
{
    static char buf[BUFSIZE];
    int rc;

    if ((rc = ref_start(argc, argv)) != 0)
        return rc;
    for (;;) {
        HANDLE pipe = CreateNamedPipeA(argv[1], PIPE_ACCESS_DUPLEX,
                                       PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1, BUFSIZE,
                                       BUFSIZE, 0, NULL);
        DWORD got, written;

        if (pipe == INVALID_HANDLE_VALUE) {
            fprintf(stderr, "CreateNamedPipe failed: error %lu\n", GetLastError());
            return 1;
        }
        if (ConnectNamedPipe(pipe, NULL) || GetLastError() == ERROR_PIPE_CONNECTED) {
            while (ReadFile(pipe, buf, BUFSIZE, &got, NULL) && got > 0 &&
                   WriteFile(pipe, buf, got, &written, NULL) && written == got)
                ;
            FlushFileBuffers(pipe);
            DisconnectNamedPipe(pipe);
        }
        CloseHandle(pipe);
    }
}
