/* server_raw.c — the raw-pipe floor: one instance echoing one client's messages, no server logic at all. */
#include "refstop.h"

#include <windows.h>

#include <stdio.h>

/* The cheapest echo two processes can do over a message pipe: the instance is created once and reused
 * (DisconnectNamedPipe + ConnectNamedPipe) for the next client. Only the 1-client cells use it.
 * Usage: pipehost-bench-raw \\.\pipe\NAME [EVENT] */
#define BUFSIZE 65536

int main(int argc, char **argv)
{
    static char buf[BUFSIZE];
    HANDLE pipe;
    DWORD got, written;
    int rc;

    if ((rc = ref_start(argc, argv)) != 0)
        return rc;
    pipe = CreateNamedPipeA(argv[1], PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1,
                            BUFSIZE, BUFSIZE, 0, NULL);
    if (pipe == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "CreateNamedPipe failed: error %lu\n", GetLastError());
        return 1;
    }
    for (;;) {
        if (ConnectNamedPipe(pipe, NULL) || GetLastError() == ERROR_PIPE_CONNECTED) {
            while (ReadFile(pipe, buf, BUFSIZE, &got, NULL) && got > 0 &&
                   WriteFile(pipe, buf, got, &written, NULL) && written == got)
                ;
        }
        DisconnectNamedPipe(pipe);
    }
}
