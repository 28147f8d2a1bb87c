/* eventlog.c — the Windows Event Log: registers our event source and reports events with UTF-8 text. */
#include "eventlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\"

/* Writes EventMessageFile and TypesSupported under the source's key if they are not already right. Needs
 * write access to HKLM (the service runs as LocalSystem); a console user without it simply skips this. */
static DWORD ensure_source(const wchar_t *source)
{
    wchar_t exe[MAX_PATH + 1], current[MAX_PATH + 1];
    wchar_t key_path[sizeof(EVENTLOG_KEY) / sizeof(wchar_t) + 256];
    DWORD n, type = 0, size = sizeof(current), types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE |
                                                       EVENTLOG_INFORMATION_TYPE;
    HKEY key = NULL;
    LSTATUS st;

    n = GetModuleFileNameW(NULL, exe, MAX_PATH + 1);
    if (n == 0 || n > MAX_PATH)
        return n == 0 ? GetLastError() : ERROR_INSUFFICIENT_BUFFER;
    if (wcslen(source) > 255)
        return ERROR_INVALID_NAME;
    swprintf(key_path, sizeof(key_path) / sizeof(key_path[0]), L"%ls%ls", EVENTLOG_KEY, source);

    st = RegOpenKeyExW(HKEY_LOCAL_MACHINE, key_path, 0, KEY_QUERY_VALUE, &key);
    if (st == ERROR_SUCCESS) {
        st = RegQueryValueExW(key, L"EventMessageFile", NULL, &type, (LPBYTE)current, &size);
        RegCloseKey(key);
        key = NULL;
        if (st == ERROR_SUCCESS && (type == REG_SZ || type == REG_EXPAND_SZ) && size >= sizeof(wchar_t)) {
            current[size / sizeof(wchar_t) - 1] = L'\0';
            if (_wcsicmp(current, exe) == 0)
                return 0;
        }
    }
    st = RegCreateKeyExW(HKEY_LOCAL_MACHINE, key_path, 0, NULL, REG_OPTION_NON_VOLATILE, KEY_SET_VALUE, NULL, &key,
                         NULL);
    if (st != ERROR_SUCCESS)
        return (DWORD)st;
    st = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)exe,
                        (DWORD)((wcslen(exe) + 1) * sizeof(wchar_t)));
    if (st == ERROR_SUCCESS)
        st = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types, sizeof(types));
    RegCloseKey(key);
    return (DWORD)st;
}

HANDLE svc_eventlog_open(const wchar_t *source, DWORD *err)
{
    HANDLE h;

    /* Without the registry entry the events are still recorded, only without our texts: go on. */
    *err = ensure_source(source);
    h = RegisterEventSourceW(NULL, source);
    if (h == NULL)
        *err = GetLastError();
    return h;
}

void svc_eventlog_report(HANDLE source, WORD type, DWORD event_id, const char *text)
{
    DWORD saved = GetLastError();
    wchar_t stack[512];
    wchar_t *w = stack;
    LPCWSTR strings[1];
    int n;

    if (source == NULL || text == NULL)
        return;
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

void svc_eventlog_close(HANDLE source)
{
    if (source != NULL)
        DeregisterEventSource(source);
}
