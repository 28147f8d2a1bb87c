/* eventlog.c — the Windows Event Log: opens our event source and reports events with UTF-8 text. */
#include "eventlog.h"

#include "exitcodes.h"
#include "messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\"

static svc_eventlog_hook g_hook;
static void *g_hook_ctx;

void ph__svc_eventlog_set_hook(svc_eventlog_hook fn, void *ctx)
{
    g_hook_ctx = ctx;
    g_hook = fn;
}

/* Whether the source's key exists. Read only: registering belongs to install/uninstall. */
static int source_registered(const wchar_t *source)
{
    wchar_t key_path[sizeof(EVENTLOG_KEY) / sizeof(wchar_t) + 256];
    HKEY key = NULL;

    if (wcslen(source) > 255)
        return 0;
    swprintf(key_path, sizeof(key_path) / sizeof(key_path[0]), L"%ls%ls", EVENTLOG_KEY, source);
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, key_path, 0, KEY_QUERY_VALUE, &key) != ERROR_SUCCESS)
        return 0;
    RegCloseKey(key);
    return 1;
}

HANDLE ph__svc_eventlog_open(const wchar_t *source, int *registered, DWORD *err)
{
    HANDLE h;

    *err = 0;
    *registered = source_registered(source);
    h = RegisterEventSourceW(NULL, source);
    if (h == NULL)
        *err = GetLastError();
    return h;
}

void ph__svc_eventlog_report(HANDLE source, WORD type, DWORD event_id, const char *text)
{
    DWORD saved = GetLastError();
    wchar_t stack[512];
    wchar_t *w = stack;
    LPCWSTR strings[1];
    int n;

    if (source == NULL || text == NULL)
        return;
    if (g_hook != NULL) {
        g_hook(g_hook_ctx, type, event_id, text);
        goto out;
    }
    n = MultiByteToWideChar(CP_UTF8, 0, text, -1, NULL, 0);
    if (n <= 0)
        goto out;
    if ((size_t)n > sizeof(stack) / sizeof(stack[0])) {
        w = malloc((size_t)n * sizeof(wchar_t));
        if (w == NULL)
            goto out;
    }
    if (MultiByteToWideChar(CP_UTF8, 0, text, -1, w, n) == n) {
        strings[0] = w;
        ReportEventW(source, type, 0, event_id, NULL, 1, 0, strings, NULL);
    }
    if (w != stack)
        free(w);
out:
    SetLastError(saved);
}

void ph__svc_eventlog_close(HANDLE source)
{
    if (source != NULL)
        DeregisterEventSource(source);
}

DWORD ph__svc_eventlog_exit_event(int code)
{
    switch (code) {
    case PH_EXIT_OK: return PH_MSG_STOPPED;
    case PH_EXIT_CONFIG: return PH_MSG_CONFIG_ERROR;
    case PH_EXIT_PIPE_IN_USE: return PH_MSG_PIPE_IN_USE;
    case PH_EXIT_SECURITY: return PH_MSG_SECURITY_REFUSED;
    case PH_EXIT_START_FAILED: return PH_MSG_START_FAILED;
    case PH_EXIT_LOG: return PH_MSG_LOG_REFUSED;
    case PH_EXIT_WORKER_ENDED:
    case PH_EXIT_STOP_HUNG: return PH_MSG_ABNORMAL_STOP;
    default: return PH_MSG_ERROR;
    }
}
