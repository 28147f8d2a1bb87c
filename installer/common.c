/* common.c — shared by the administrator's commands: errors with hints, SCM access, waits, pipe questions. */
#include "admin_int.h"
#include "appstate.h"

#include "exitcodes.h"
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

int ph__adm_fail(const char *what, const char *call, DWORD err)
{
    char text[256];

    ph_syserror_text(err, text, sizeof(text));
    ph__svc_err(": %s: %s failed: error %lu (%s)\n", what, call, (unsigned long)err, text);
    switch (err) {
    case ERROR_ACCESS_DENIED:
        ph__svc_err(": this needs an administrator: run it from an elevated prompt "
                        "(Run as administrator)\n");
        return PH_ADMIN_DENIED;
    case ERROR_SERVICE_MARKED_FOR_DELETE:
        ph__svc_err(": the service is marked for deletion: Windows removes it once every program "
                        "that has it open (services.msc, Event Viewer, another sc or pipehost) is closed; "
                        "close them, or restart, then try again\n");
        return PH_ADMIN_CONFLICT;
    case ERROR_SERVICE_EXISTS:
        ph__svc_err(": a service with this name already exists\n");
        return PH_ADMIN_CONFLICT;
    case ERROR_DUPLICATE_SERVICE_NAME:
        ph__svc_err(": the name or the display name is already used by another service: choose "
                        "another with --name or --display-name\n");
        return PH_ADMIN_CONFLICT;
    case ERROR_SERVICE_DOES_NOT_EXIST:
        ph__svc_err(": no such service is installed (see: %s install)\n", ph__svc_program());
        return PH_ADMIN_NOT_INSTALLED;
    default:
        return PH_ADMIN_FAILED;
    }
}

wchar_t *ph__adm_service_name(const char *name)
{
    size_t n = strlen(name);
    wchar_t *w;

    if (n == 0 || n > 256 || strpbrk(name, "\\/") != NULL) {
        ph__svc_err(": invalid service name \"%.80s\": 1..256 characters without '\\' or '/'\n", name);
        return NULL;
    }
    w = ph__svc_to_wide(name, NULL);
    if (w == NULL)
        ph__svc_err(": invalid service name \"%.80s\": not valid text\n", name);
    return w;
}

SC_HANDLE ph__adm_open_scm(DWORD access, int *code)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, access);

    if (scm == NULL)
        *code = ph__adm_fail("cannot reach the Service Control Manager", "OpenSCManagerW", GetLastError());
    return scm;
}

int ph__adm_wait_state(SC_HANDLE svc, DWORD state, unsigned timeout_ms, SERVICE_STATUS_PROCESS *st)
{
    ULONGLONG end = GetTickCount64() + timeout_ms;
    DWORD need = 0;

    for (;;) {
        memset(st, 0, sizeof(*st));
        if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)st, sizeof(*st), &need))
            return 0;
        if (st->dwCurrentState == state)
            return 1;
        /* A start that ends in STOPPED will not reach RUNNING: no need to wait out the timeout. */
        if (state == SERVICE_RUNNING && st->dwCurrentState == SERVICE_STOPPED)
            return 0;
        if (GetTickCount64() >= end)
            return 0;
        Sleep(100);
    }
}

int ph__adm_wait_deleted(SC_HANDLE scm, const wchar_t *name, unsigned timeout_ms)
{
    ULONGLONG end = GetTickCount64() + timeout_ms;
    SC_HANDLE svc;

    for (;;) {
        svc = OpenServiceW(scm, name, SERVICE_QUERY_STATUS);
        if (svc == NULL && GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST)
            return 1;
        if (svc != NULL)
            CloseServiceHandle(svc);
        if (GetTickCount64() >= end)
            return 0;
        Sleep(100);
    }
}

const char *ph__adm_state_name(DWORD state)
{
    switch (state) {
    case SERVICE_STOPPED: return "STOPPED";
    case SERVICE_START_PENDING: return "START_PENDING";
    case SERVICE_STOP_PENDING: return "STOP_PENDING";
    case SERVICE_RUNNING: return "RUNNING";
    case SERVICE_CONTINUE_PENDING: return "CONTINUE_PENDING";
    case SERVICE_PAUSE_PENDING: return "PAUSE_PENDING";
    case SERVICE_PAUSED: return "PAUSED";
    default: return "UNKNOWN";
    }
}

const char *ph__svc_admin_state_name(DWORD state)
{
    return ph__adm_state_name(state);
}

wchar_t *ph__adm_key_path(const wchar_t *prefix, const wchar_t *name)
{
    size_t a = wcslen(prefix), b = wcslen(name);
    wchar_t *p = malloc((a + b + 1) * sizeof(wchar_t));

    if (p != NULL) {
        memcpy(p, prefix, a * sizeof(wchar_t));
        memcpy(p + a, name, (b + 1) * sizeof(wchar_t));
    }
    return p;
}

wchar_t *ph__adm_saved_key(const wchar_t *name, int parent_only)
{
    const wchar_t *root = ph__svc_registry_root();
    size_t n = wcslen(L"SOFTWARE\\") + wcslen(root) + wcslen(L"\\SavedParameters\\") + wcslen(name) + 1;
    wchar_t *p = malloc(n * sizeof(wchar_t));

    if (p != NULL)
        swprintf(p, n, L"SOFTWARE\\%ls\\SavedParameters%ls%ls", root, parent_only ? L"" : L"\\",
                 parent_only ? L"" : name);
    return p;
}

int ph__adm_key_exists(const wchar_t *path)
{
    HKEY key;

    if (path == NULL || RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_QUERY_VALUE, &key) != ERROR_SUCCESS)
        return 0;
    RegCloseKey(key);
    return 1;
}

int ph__adm_ask(const char *pipe, const ph_framing *framing, unsigned long service_pid, const char *request,
            uint32_t timeout_ms, unsigned char **resp, size_t *resp_len)
{
    ph_client *c = NULL;
    char text[256];
    int rc, code = PH_CLI_FAILED;

    *resp = NULL;
    *resp_len = 0;
    rc = ph_client_new(&c);
    /* Only the service's own process may answer: a squatter on the pipe name gets nothing from us, and nothing
     * it says reaches an administrator's console. */
    if (rc == 0)
        rc = ph_client_require_server_pid(c, service_pid);
    if (rc == 0)
        rc = ph_client_connect(c, pipe, timeout_ms,
                               PH_CLIENT_VERIFY_SERVER |
                                   (framing == NULL                ? PH_CLIENT_ANY_FRAMING
                                    : *framing == PH_FRAMING_LENGTH ? PH_CLIENT_LENGTH_FRAMING
                                                                    : 0u));
    if (rc == 0)
        rc = ph_client_transact(c, request, strlen(request), resp, resp_len, timeout_ms, 0);
    if (rc == 0) {
        ph_client_free(c);
        return 0;
    }
    ph_syserror_text(c ? ph_client_syserror(c) : 0, text, sizeof(text));
    if (rc == PH_EUNTRUSTED) {
        if (ph_client_server_pid(c) != 0)
            ph__svc_err(": refusing %s: it is served by process %lu, not by the service's process "
                            "(pid %lu); nothing was sent. Another program may have taken the pipe name (a PipeName "
                            "changed since the service started is served only after a restart)\n",
                    pipe, ph_client_server_pid(c), service_pid);
        else
            ph__svc_err(": refusing %s: the process serving it cannot be read (Win32 error %lu: %s), "
                            "so it cannot be shown to be the service's (pid %lu); nothing was sent\n",
                    pipe, (unsigned long)ph_client_syserror(c), text, service_pid);
        ph_client_free(c);
        return PH_CLI_UNTRUSTED;
    }
    if (rc == PH_ENOTFOUND)
        code = PH_CLI_NOT_FOUND;
    else if (rc == PH_ETIMEDOUT)
        code = PH_CLI_BUSY;
    else if (rc == PH_EACCESS)
        code = PH_CLI_ACCESS;
    ph__svc_err(": %s on %s: %s (Win32 error %lu: %s)\n", request, pipe, ph_strerror(rc),
            c ? (unsigned long)ph_client_syserror(c) : 0ul, text);
    ph_client_free(c);
    return code;
}

void ph__adm_status_value(const unsigned char *resp, size_t len, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key), i = 0, n;

    out[0] = '\0';
    while (i < len) {
        size_t end = i;
        while (end < len && resp[end] != '\n')
            end++;
        /* Lines start after "OK " (the first) or a line break. */
        if (i == 0 && len >= 3 && memcmp(resp, "OK ", 3) == 0)
            i = 3;
        if (end - i > klen && memcmp(resp + i, key, klen) == 0 && resp[i + klen] == '=') {
            n = end - (i + klen + 1);
            if (n >= size)
                n = size - 1;
            memcpy(out, resp + i + klen + 1, n);
            out[n] = '\0';
            return;
        }
        i = end + 1;
    }
}
