/* server_iocp.c — the minimal completion-port echo server: the design pipehost's engine is, with nothing else. */
#include "refstop.h"

#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

/* What a completion-port server is at its leanest, as issue 6 measured it: 8 threads on one port (under
 * Wine each thread blocks in system calls, so the pool must outnumber the cores), one instance at a time
 * waiting in ConnectNamedPipe on the main thread, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS so that operations
 * completing at once are handled by the thread that issued them, the next read posted as soon as the echo
 * is written, 64 KiB buffers; the bench's SLEEP request holds the pool thread that read it. No verbs,
 * limits, timeouts, identity or deferral. It is not in the default matrix (PH_BENCH_SERVERS adds it): it
 * answers whether a cell's ratio is the engine's or the platform's.
 * Usage: pipehost-bench-iocp \\.\pipe\NAME [EVENT] */
#define BUFSIZE 65536
#define NTHREADS 8
#define KEY_NEW ((ULONG_PTR)1) /* a connection just accepted: post its first read */

typedef struct conn {
    OVERLAPPED ov;
    HANDLE pipe;
    int writing; /* the outstanding operation is the echo, not a read */
    DWORD len;
    char buf[BUFSIZE];
} conn;

static HANDLE port;

static void drop(conn *c)
{
    DisconnectNamedPipe(c->pipe);
    CloseHandle(c->pipe);
    free(c);
}

/* Issues the read or the echo. Returns 1 when it completed at once (*n, *err hold its result), 0 when a
 * packet will come. */
static int issue(conn *c, int write, DWORD *n, DWORD *err)
{
    BOOL ok;

    ZeroMemory(&c->ov, sizeof(c->ov));
    c->writing = write;
    ok = write ? WriteFile(c->pipe, c->buf, c->len, n, &c->ov) : ReadFile(c->pipe, c->buf, BUFSIZE, n, &c->ov);
    *err = ok ? 0 : GetLastError();
    return ok || *err != ERROR_IO_PENDING;
}

/* Runs a connection from a completed operation until one pends or the client leaves. */
static void run(conn *c, DWORD n, DWORD err)
{
    for (;;) {
        int write;

        if (err == ERROR_MORE_DATA) {
            /* A request over 64 KiB, which the benchmark never sends: this echo server does not serve it.
             * The memory is kept: whether a packet follows a read that ended so at once is not settled. */
            CloseHandle(c->pipe);
            return;
        }
        if (err != 0 || (!c->writing && n == 0)) {
            drop(c);
            return;
        }
        write = !c->writing;
        if (write) {
            c->len = n;
            ref_maybe_sleep(c->buf, n); /* the slow-handler cell's request holds this pool thread */
        }
        if (!issue(c, write, &n, &err))
            return;
    }
}

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    for (;;) {
        DWORD n = 0, err = 0;
        ULONG_PTR key = 0;
        LPOVERLAPPED ov = NULL;

        if (!GetQueuedCompletionStatus(port, &n, &key, &ov, INFINITE)) {
            err = GetLastError();
            if (ov == NULL)
                return err; /* no packet: the port itself failed */
        }
        if (key == KEY_NEW) {
            conn *c = (conn *)ov;
            if (issue(c, 0, &n, &err))
                run(c, n, err);
            continue;
        }
        run((conn *)ov, n, err);
    }
}

int main(int argc, char **argv)
{
    unsigned i;
    int rc;

    if ((rc = ref_start(argc, argv)) != 0)
        return rc;
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (port == NULL) {
        fprintf(stderr, "CreateIoCompletionPort failed: error %lu\n", GetLastError());
        return 1;
    }
    for (i = 0; i < NTHREADS; i++) {
        HANDLE t = CreateThread(NULL, 0, worker, NULL, 0, NULL);
        if (t == NULL) {
            fprintf(stderr, "CreateThread failed: error %lu\n", GetLastError());
            return 1;
        }
        CloseHandle(t);
    }
    for (;;) {
        conn *c = calloc(1, sizeof(*c));
        OVERLAPPED ov;
        DWORD n;

        if (c == NULL) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        c->pipe = CreateNamedPipeA(argv[1], PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                   PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
                                   PIPE_UNLIMITED_INSTANCES, BUFSIZE, BUFSIZE, 0, NULL);
        if (c->pipe == INVALID_HANDLE_VALUE) {
            fprintf(stderr, "CreateNamedPipe failed: error %lu\n", GetLastError());
            return 1;
        }
        /* The accept waits on an event: the port is for the connections' reads and echoes. */
        ZeroMemory(&ov, sizeof(ov));
        ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (ov.hEvent == NULL ||
            (!ConnectNamedPipe(c->pipe, &ov) &&
             !(GetLastError() == ERROR_PIPE_CONNECTED ||
               (GetLastError() == ERROR_IO_PENDING && GetOverlappedResult(c->pipe, &ov, &n, TRUE))))) {
            if (ov.hEvent != NULL)
                CloseHandle(ov.hEvent);
            drop(c);
            continue;
        }
        CloseHandle(ov.hEvent);
        if (CreateIoCompletionPort(c->pipe, port, 0, 0) == NULL ||
            !SetFileCompletionNotificationModes(c->pipe, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) ||
            !PostQueuedCompletionStatus(port, 0, KEY_NEW, &c->ov)) {
            drop(c);
            continue;
        }
    }
}
