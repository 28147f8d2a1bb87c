/* refstop.c — what the reference servers share: command line, exit on a named event, the slow request. */
#include "refstop.h"

#include <stdio.h>
#include <string.h>

static DWORD WINAPI stop_watcher(LPVOID arg)
{
    WaitForSingleObject((HANDLE)arg, INFINITE);
    ExitProcess(0);
}

DWORD ref_watch_stop_event(const char *event_name)
{
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, event_name), t;
    DWORD err;

    if (ev == NULL)
        return GetLastError();
    t = CreateThread(NULL, 0, stop_watcher, ev, 0, NULL);
    if (t == NULL) {
        err = GetLastError();
        CloseHandle(ev);
        return err;
    }
    CloseHandle(t);
    return 0;
}

int ref_start(int argc, char **argv)
{
    DWORD err;

    if (argc < 2) {
        fprintf(stderr, "usage: %s \\\\.\\pipe\\NAME [STOP_EVENT]\n", argv[0]);
        return 64;
    }
    if (argc > 2 && (err = ref_watch_stop_event(argv[2])) != 0) {
        fprintf(stderr, "stop event %s: error %lu\n", argv[2], err);
        return 1;
    }
    return 0;
}

void ref_maybe_sleep(const char *msg, DWORD len)
{
    DWORD ms = 0, i;

    if (len < 7 || memcmp(msg, "SLEEP ", 6) != 0)
        return;
    for (i = 6; i < len && msg[i] >= '0' && msg[i] <= '9' && ms <= 10000; i++)
        ms = ms * 10 + (DWORD)(msg[i] - '0');
    if (i == len && ms <= 10000)
        Sleep(ms);
}
