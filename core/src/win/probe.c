/* probe.c — finds out once per process how FILE_SKIP_COMPLETION_PORT_ON_SUCCESS behaves for pipe reads here.
 *
 * Skipping the port for operations that complete at once saves a completion round trip per write. The
 * documentation does not settle one case: a read that completes at once with ERROR_MORE_DATA (a warning
 * status). Wine 8 queues no packet for it; if a system did queue one, handling the result inline would
 * process it twice, and waiting for a packet that never comes would hang the connection. So we ask the
 * system, on a private pipe pair, before the first server uses the mode; if anything about the answer is
 * unclear, the mode is not used at all and every completion goes through the port. */
#include "server.h"

#include <stdio.h>

static INIT_ONCE g_probe_once = INIT_ONCE_STATIC_INIT;
static int g_usable;
static int g_more_data_queues;

/* True when a packet for ov arrives on port within ms. */
static int packet_for(HANDLE port, const OVERLAPPED *ov, DWORD ms)
{
    DWORD n = 0;
    ULONG_PTR key = 0;
    LPOVERLAPPED got = NULL;

    GetQueuedCompletionStatus(port, &n, &key, &got, ms);
    return got == ov;
}

static BOOL CALLBACK run_probe(PINIT_ONCE once, PVOID param, PVOID *context)
{
    static const char msg[2] = {'a', 'b'};
    wchar_t name[96];
    HANDLE server = INVALID_HANDLE_VALUE, client = INVALID_HANDLE_VALUE, port = NULL;
    OVERLAPPED ov;
    DWORD n = 0, mode = PIPE_READMODE_MESSAGE;
    char buf[4];
    BOOL ok;

    (void)once;
    (void)param;
    (void)context;
    g_usable = 0;
    /* A private name, and an instance limit of one: nobody else can be on the other end. */
    swprintf(name, sizeof(name) / sizeof(name[0]), L"\\\\.\\pipe\\pipehost-probe-%lu-%llu",
             (unsigned long)GetCurrentProcessId(), (unsigned long long)GetTickCount64());
    server = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                              PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
                              4096, 4096, 0, NULL);
    if (server == INVALID_HANDLE_VALUE)
        goto done;
    port = CreateIoCompletionPort(server, NULL, 0, 1);
    if (port == NULL ||
        !SetFileCompletionNotificationModes(server, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE))
        goto done;
    client = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (client == INVALID_HANDLE_VALUE || !SetNamedPipeHandleState(client, &mode, NULL, NULL))
        goto done;
    memset(&ov, 0, sizeof(ov));
    if (!ConnectNamedPipe(server, &ov) && GetLastError() != ERROR_PIPE_CONNECTED)
        goto done;
    if (!WriteFile(client, msg, sizeof(msg), &n, NULL) || n != sizeof(msg))
        goto done;

    /* A one-byte read of a two-byte message that is already there: must end at once with ERROR_MORE_DATA. */
    memset(&ov, 0, sizeof(ov));
    ok = ReadFile(server, buf, 1, NULL, &ov);
    if (ok || GetLastError() != ERROR_MORE_DATA)
        goto done;
    g_more_data_queues = packet_for(port, &ov, 20);

    /* The rest completes at once with success: with the mode working, no packet may follow. */
    memset(&ov, 0, sizeof(ov));
    if (!ReadFile(server, buf, sizeof(buf), NULL, &ov) || packet_for(port, &ov, 20))
        goto done;
    g_usable = 1;

done:
    if (client != INVALID_HANDLE_VALUE)
        CloseHandle(client);
    if (server != INVALID_HANDLE_VALUE)
        CloseHandle(server);
    if (port != NULL)
        CloseHandle(port);
    return TRUE;
}

int ph__probe_skip_mode(int *more_data_queues)
{
    *more_data_queues = 1;
    if (!InitOnceExecuteOnce(&g_probe_once, run_probe, NULL, NULL) || !g_usable)
        return -1;
    *more_data_queues = g_more_data_queues;
    return 0;
}
