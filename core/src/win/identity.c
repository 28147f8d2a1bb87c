/* identity.c — who is on the other end of a server pipe: process id, session id and user SID. */
#include "ph_win.h"

#include <sddl.h>
#include <stdio.h>
#include <string.h>

static int sid_from_token(HANDLE token, char *sid, size_t sid_size)
{
    union {
        TOKEN_USER user;
        unsigned char raw[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    } buf;
    DWORD len = 0;
    LPSTR text = NULL;
    int ok = 0;

    if (!GetTokenInformation(token, TokenUser, &buf, sizeof(buf), &len))
        return 0;
    if (ConvertSidToStringSidA(buf.user.User.Sid, &text)) {
        ok = strlen(text) < sid_size;
        if (ok)
            memcpy(sid, text, strlen(text) + 1);
        LocalFree(text);
    }
    return ok;
}

/* Impersonating the client gives its token even when its process cannot be opened; RevertToSelf must
 * succeed or the thread would keep running as the client, so failure there ends the process. */
static int sid_by_impersonation(HANDLE pipe, char *sid, size_t sid_size, DWORD *err)
{
    HANDLE token = NULL;
    int ok = 0;

    if (!ImpersonateNamedPipeClient(pipe)) {
        *err = GetLastError();
        return 0;
    }
    if (OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &token))
        ok = sid_from_token(token, sid, sid_size);
    else
        *err = GetLastError();
    if (!RevertToSelf())
        FatalExit(1);
    if (token != NULL)
        CloseHandle(token);
    return ok;
}

static int sid_by_process(DWORD pid, char *sid, size_t sid_size, DWORD *err)
{
    HANDLE proc, token = NULL;
    int ok = 0;

    proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (proc == NULL) {
        *err = GetLastError();
        return 0;
    }
    if (OpenProcessToken(proc, TOKEN_QUERY, &token)) {
        ok = sid_from_token(token, sid, sid_size);
        CloseHandle(token);
    } else {
        *err = GetLastError();
    }
    CloseHandle(proc);
    return ok;
}

void ph__client_identity(HANDLE pipe, ph_client_info *info, char *sid, size_t sid_size, const ph_logger *lg)
{
    ULONG pid = 0, session = 0;
    DWORD err = 0;

    sid[0] = '\0';
    if (!GetNamedPipeClientProcessId(pipe, &pid))
        ph__log_win32(lg, PH_LOG_DEBUG, GetLastError(), "GetNamedPipeClientProcessId", "client identity");
    if (!GetNamedPipeClientSessionId(pipe, &session))
        ph__log_win32(lg, PH_LOG_DEBUG, GetLastError(), "GetNamedPipeClientSessionId", "client identity");
    if (!sid_by_impersonation(pipe, sid, sid_size, &err) && !(pid != 0 && sid_by_process(pid, sid, sid_size, &err)))
        ph__log_win32(lg, PH_LOG_DEBUG, err, "token query", "client identity of pid %lu", (unsigned long)pid);
    info->pid = pid;
    info->session_id = session;
    info->user_sid = sid;
}
