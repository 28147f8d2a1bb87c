/* identity.c — who is on the other end of a pipe (pid, session, user SID proven by its token) and AccessCheck of a server pipe's client. */
#include "ph_win.h"

#include <sddl.h>
#include <stdio.h>
#include <string.h>

int ph__token_user_sid(HANDLE token, char *sid, size_t sid_size)
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

/* The client's token, taken by impersonating it: the only proof of who it is. (Its process id is no proof:
 * the process may have exited and the id been reused by another user's process.) RevertToSelf must succeed
 * or the thread would keep running as the client, so failure there ends the process. */
static DWORD client_token(HANDLE pipe, HANDLE *token)
{
    DWORD err = 0;

    *token = NULL;
    if (!ImpersonateNamedPipeClient(pipe))
        return GetLastError();
    if (!OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, token)) {
        err = GetLastError();
        *token = NULL;
    }
    if (!RevertToSelf())
        FatalExit(1);
    return err;
}

DWORD ph__pipe_client_access(HANDLE pipe, PSECURITY_DESCRIPTOR sd, DWORD desired, const GENERIC_MAPPING *mapping,
                             int *granted)
{
    PRIVILEGE_SET privileges;
    DWORD privileges_len = sizeof(privileges), got = 0, err;
    BOOL status = FALSE;
    HANDLE token = NULL;

    *granted = 0;
    err = client_token(pipe, &token);
    if (err != 0)
        return err;
    if (!AccessCheck(sd, token, desired, (PGENERIC_MAPPING)mapping, &privileges, &privileges_len, &got, &status))
        err = GetLastError();
    else
        *granted = status && (got & desired) == desired;
    CloseHandle(token);
    return err;
}

void ph__client_identity(HANDLE pipe, ph_client_info *info, char *sid, size_t sid_size, const ph_logger *lg)
{
    ULONG pid = 0, session = 0;
    HANDLE token = NULL;
    DWORD err;

    sid[0] = '\0';
    if (!GetNamedPipeClientProcessId(pipe, &pid))
        ph__log_win32(lg, PH_LOG_DEBUG, GetLastError(), "GetNamedPipeClientProcessId", "client identity");
    if (!GetNamedPipeClientSessionId(pipe, &session))
        ph__log_win32(lg, PH_LOG_DEBUG, GetLastError(), "GetNamedPipeClientSessionId", "client identity");
    /* No fallback to the process behind pid: an unproven identity is reported as unknown (""). */
    err = client_token(pipe, &token);
    if (err == 0 && !ph__token_user_sid(token, sid, sid_size))
        err = ERROR_INVALID_SID;
    if (err != 0) {
        sid[0] = '\0';
        ph__log_win32(lg, PH_LOG_DEBUG, err, "client token", "client identity of pid %lu unknown", (unsigned long)pid);
    }
    if (token != NULL)
        CloseHandle(token);
    info->pid = pid;
    info->session_id = session;
    info->user_sid = sid;
}

int ph_request_client_token(const ph_request *req, void **token)
{
    const ph_logger *lg = NULL;
    HANDLE pipe = ph__request_pipe(req, &lg), t = NULL;
    SECURITY_IMPERSONATION_LEVEL level = SecurityAnonymous;
    DWORD len = 0;
    int rc = 0;

    if (token == NULL || pipe == INVALID_HANDLE_VALUE)
        return PH_EINVAL;
    *token = NULL;
    if (!ImpersonateNamedPipeClient(pipe))
        return PH_ESYS;
    if (!OpenThreadToken(GetCurrentThread(), TOKEN_QUERY | TOKEN_DUPLICATE | TOKEN_IMPERSONATE | TOKEN_ASSIGN_PRIMARY,
                         TRUE, &t)) {
        ph__log_win32(lg, PH_LOG_DEBUG, GetLastError(), "OpenThreadToken", "client token");
        t = NULL;
        rc = PH_ESYS;
    }
    if (!RevertToSelf())
        FatalExit(1); /* the thread would go on as the client */
    /* An identification-level token only says who the client is: it may not be used to act as the client. */
    if (rc == 0 && (!GetTokenInformation(t, TokenImpersonationLevel, &level, sizeof(level), &len) ||
                    level < SecurityImpersonation))
        rc = PH_EACCESS;
    if (rc != 0) {
        if (t != NULL)
            CloseHandle(t);
        return rc;
    }
    *token = t;
    return 0;
}
