/* client.c — the client side: connect with busy-retry under a deadline, verify the server's account, send, receive, transact. */
#include "ph_win.h"

/* Two framings (pipehost.h, ph_framing):
 *   - message (default): the pipe is read in message mode; one WriteFile is one request, a response is one
 *     pipe message, reassembled across ERROR_MORE_DATA.
 *   - length (PH_CLIENT_LENGTH_FRAMING): the pipe is a byte-type pipe read in byte mode; every request and
 *     response is a 4-byte little-endian length and that many bytes. A request goes out as one WriteFile of
 *     header and body together (one buffer), so the server never sees a header without its body because of
 *     us. A response is read as the header, then the body, each by as many byte-mode reads as the pipe
 *     hands out, all under one deadline, and never past the end of the frame: bytes after it belong to the
 *     next response of a pipelined caller (send N, then recv N).
 * Out of step: whenever a request or response was left half-written or half-read (an error, a timeout, a
 * response over max_len whose rest is not read), the connection is marked broken and every later
 * send/recv/transact fails with PH_ESTATE until the next connect. In length mode a response over max_len
 * is not read and discarded: its length comes from the server, and reading up to 4 GiB that nobody wants
 * under the caller's deadline would be worse than reconnecting. */

#include <aclapi.h>
#include <sddl.h>
#include <stdlib.h>
#include <string.h>

#define PH_RESPONSE_CEILING ((size_t)64 * 1024 * 1024)

struct ph_client {
    HANDLE pipe;
    HANDLE event;     /* manual-reset, for our own overlapped operations */
    OVERLAPPED ov;
    DWORD syserr;
    int broken;       /* a message was left half-read: the pipe is out of step and must not be used */
    int length_framing; /* PH_CLIENT_LENGTH_FRAMING at the last connect */
    char required[PH_SID_TEXT_MAX];     /* ph_client_require_server: the server's account; "" = a service account */
    char server_sid[PH_SID_TEXT_MAX];   /* the account seen at the last verified connect ("" = none) */
    unsigned long required_pid;         /* ph_client_require_server_pid: the serving process; 0 = by account */
    unsigned long server_pid;           /* the serving process seen at the last verified connect (0 = none) */
};

static int fail(ph_client *c, DWORD err)
{
    c->syserr = err;
    return ph__map_win32(err);
}

int ph_client_new(ph_client **out)
{
    ph_client *c;

    if (out == NULL)
        return PH_EINVAL;
    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return PH_ENOMEM;
    c->pipe = INVALID_HANDLE_VALUE;
    c->event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (c->event == NULL) {
        free(c);
        return PH_ESYS;
    }
    *out = c;
    return 0;
}

static void close_pipe(ph_client *c)
{
    if (c->pipe != INVALID_HANDLE_VALUE)
        CloseHandle(c->pipe);
    c->pipe = INVALID_HANDLE_VALUE;
    c->broken = 0;
    c->length_framing = 0;
}

void ph_client_free(ph_client *c)
{
    if (c == NULL)
        return;
    close_pipe(c);
    CloseHandle(c->event);
    free(c);
}

unsigned long ph_client_syserror(const ph_client *c)
{
    return c ? c->syserr : 0;
}

ph_framing ph_client_framing(const ph_client *c)
{
    return c != NULL && c->length_framing ? PH_FRAMING_LENGTH : PH_FRAMING_MESSAGE;
}

int ph_client_require_server(ph_client *c, const char *sid)
{
    PSID bin = NULL;
    LPSTR text = NULL;
    int rc = 0;

    if (c == NULL)
        return PH_EINVAL;
    if (sid == NULL || sid[0] == '\0') {
        c->required[0] = '\0';
        return 0;
    }
    /* Kept in the system's own spelling, so "s-1-5-18" and "S-1-5-18" compare equal. */
    if (!ConvertStringSidToSidA(sid, &bin))
        return PH_EINVAL;
    if (!ConvertSidToStringSidA(bin, &text))
        rc = PH_ENOMEM;
    else if (strlen(text) >= sizeof(c->required))
        rc = PH_EINVAL;
    else
        memcpy(c->required, text, strlen(text) + 1);
    if (text != NULL)
        LocalFree(text);
    LocalFree(bin);
    return rc;
}

int ph_client_require_server_pid(ph_client *c, unsigned long pid)
{
    if (c == NULL)
        return PH_EINVAL;
    c->required_pid = pid;
    return 0;
}

const char *ph_client_server_account(const ph_client *c)
{
    return c ? c->server_sid : "";
}

unsigned long ph_client_server_pid(const ph_client *c)
{
    return c ? c->server_pid : 0;
}

static int account_acceptable(const ph_client *c, const char *sid)
{
    return c->required[0] != '\0' ? strcmp(sid, c->required) == 0 : ph__sid_is_service_account(sid);
}

/* The account of the process serving the pipe, from its token. An ordinary user usually may not open the
 * token of a service's process; the caller then falls back to the pipe's owner. */
static DWORD server_process_sid(HANDLE pipe, char *sid, size_t sid_size)
{
    ULONG pid = 0;
    HANDLE proc, token = NULL;
    DWORD err = 0;

    if (!GetNamedPipeServerProcessId(pipe, &pid))
        return GetLastError();
    proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (proc == NULL)
        return GetLastError();
    if (!OpenProcessToken(proc, TOKEN_QUERY, &token))
        err = GetLastError();
    else if (!ph__token_user_sid(token, sid, sid_size))
        err = ERROR_INVALID_SID;
    if (token != NULL)
        CloseHandle(token);
    CloseHandle(proc);
    return err;
}

/* The owner of the pipe object (readable through our handle: GENERIC_READ includes READ_CONTROL). Only
 * SeRestorePrivilege lets a process name an owner it is not, so an ordinary user's squatting instance is
 * owned by that user; a pipe created by a service or an elevated administrator may be owned by
 * Administrators. */
static DWORD pipe_owner_sid(HANDLE pipe, char *sid, size_t sid_size)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PSID owner = NULL;
    LPSTR text = NULL;
    DWORD err;

    err = GetSecurityInfo(pipe, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL, NULL, &sd);
    if (err == 0 && (owner == NULL || !ConvertSidToStringSidA(owner, &text)))
        err = ERROR_INVALID_SID;
    if (err == 0 && strlen(text) >= sid_size)
        err = ERROR_INSUFFICIENT_BUFFER;
    if (err == 0)
        memcpy(sid, text, strlen(text) + 1);
    if (text != NULL)
        LocalFree(text);
    if (sd != NULL)
        LocalFree(sd);
    return err;
}

/* Squatting defence: before anything is sent, the server must run as the required account (or, with none
 * given, as SYSTEM, LocalService, NetworkService or a per-service SID). The process token is the proof
 * when we may read it; else the pipe's owner, where Administrators also passes when a service account is
 * what is required. Returns 0 or PH_EUNTRUSTED (syserr: the Win32 error when the account could not be
 * read, 0 when it was read and is not acceptable). */
static int verify_server(ph_client *c, HANDLE pipe)
{
    char owner[PH_SID_TEXT_MAX];
    DWORD err, pid_err = 0;
    ULONG pid = 0;

    c->server_sid[0] = '\0';
    c->server_pid = 0;
    if (GetNamedPipeServerProcessId(pipe, &pid))
        c->server_pid = pid;
    else
        pid_err = GetLastError();
    if (c->required_pid != 0) {
        /* The caller knows which process must serve the pipe (a service's, from the SCM): nothing else may. */
        if (c->server_pid == 0) {
            c->syserr = pid_err;
            return PH_EUNTRUSTED;
        }
        if (server_process_sid(pipe, c->server_sid, sizeof(c->server_sid)) != 0)
            c->server_sid[0] = '\0';
        return pid == c->required_pid ? 0 : PH_EUNTRUSTED;
    }
    err = server_process_sid(pipe, c->server_sid, sizeof(c->server_sid));
    if (err == 0)
        return account_acceptable(c, c->server_sid) ? 0 : PH_EUNTRUSTED;
    c->server_sid[0] = '\0';
    if (pipe_owner_sid(pipe, owner, sizeof(owner)) != 0) {
        c->syserr = err;
        return PH_EUNTRUSTED;
    }
    memcpy(c->server_sid, owner, sizeof(owner));
    if (account_acceptable(c, owner))
        return 0;
    if (strcmp(owner, "S-1-5-32-544") == 0 && (c->required[0] == '\0' || ph__sid_is_service_account(c->required)))
        return 0;
    return PH_EUNTRUSTED;
}

static DWORD remaining_ms(ULONGLONG deadline)
{
    ULONGLONG now = GetTickCount64();
    return now >= deadline ? 0 : (DWORD)(deadline - now);
}

int ph_client_connect(ph_client *c, const char *pipe_name, uint32_t timeout_ms, unsigned flags)
{
    char name[sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX];
    DWORD sqos = SECURITY_SQOS_PRESENT |
                 ((flags & PH_CLIENT_IMPERSONATION) ? SECURITY_IMPERSONATION : SECURITY_IDENTIFICATION);
    DWORD mode, err = 0;
    DWORD pipe_flags = 0;
    int length;
    ULONGLONG deadline;
    wchar_t *wname = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;
    int rc;

    if (c == NULL || pipe_name == NULL)
        return PH_EINVAL;
    close_pipe(c);
    c->syserr = 0;
    c->server_sid[0] = '\0';
    c->server_pid = 0;
    rc = ph_pipe_name_normalize(pipe_name, name, sizeof(name));
    if (rc != 0)
        return rc;
    wname = ph__utf8_to_wide(name, &err);
    if (wname == NULL) {
        rc = fail(c, err);
        goto cleanup;
    }
    deadline = GetTickCount64() + (timeout_ms == PH_INFINITE ? 0x7fffffffu : timeout_ms);
    for (;;) {
        DWORD wait;

        h = ph__sys.CreateFileW(wname, PH_CLIENT_PIPE_ACCESS, 0, NULL, OPEN_EXISTING,
                                FILE_FLAG_OVERLAPPED | sqos, NULL);
        if (h != INVALID_HANDLE_VALUE)
            break;
        err = GetLastError();
        if (err != ERROR_PIPE_BUSY) {
            rc = fail(c, err);
            goto cleanup;
        }
        /* Every instance is serving someone: wait for one to free up, within what is left of the deadline.
         * Another client may take it first, hence the loop. */
        wait = remaining_ms(deadline);
        if (wait == 0) {
            c->syserr = ERROR_PIPE_BUSY;
            rc = PH_ETIMEDOUT;
            goto cleanup;
        }
        if (!WaitNamedPipeW(wname, wait)) {
            err = GetLastError();
            if (err == ERROR_SEM_TIMEOUT) {
                c->syserr = err;
                rc = PH_ETIMEDOUT;
                goto cleanup;
            }
            if (err != ERROR_FILE_NOT_FOUND) {
                rc = fail(c, err);
                goto cleanup;
            }
            /* The instance went away between our calls; CreateFileW tells us whether the pipe did too. */
        }
    }
    if ((flags & PH_CLIENT_VERIFY_SERVER) || c->required[0] != '\0' || c->required_pid != 0) {
        rc = verify_server(c, h);
        if (rc != 0) {
            CloseHandle(h);
            goto cleanup;
        }
    }
    /* The framing asked for must be the server's: a pipehost server in length framing serves a byte-type
     * pipe, in message framing a message-type one. Talking length frames to a message server (or the
     * reverse) would get answers that cannot be parsed, say a reply "ERR …" read as a 542 MB length; the
     * system would refuse message reads on a byte pipe anyway (ERROR_INVALID_PARAMETER). So a mismatch is
     * refused here, before anything is sent, with PH_EINVAL. PH_CLIENT_ANY_FRAMING takes the pipe's. */
    if (!GetNamedPipeInfo(h, &pipe_flags, NULL, NULL, NULL)) {
        rc = fail(c, GetLastError());
        CloseHandle(h);
        goto cleanup;
    }
    length = (flags & PH_CLIENT_ANY_FRAMING) ? (pipe_flags & PIPE_TYPE_MESSAGE) == 0
                                              : (flags & PH_CLIENT_LENGTH_FRAMING) != 0;
    if (((pipe_flags & PIPE_TYPE_MESSAGE) != 0) == length) {
        rc = fail(c, ERROR_INVALID_PARAMETER);
        CloseHandle(h);
        goto cleanup;
    }
    mode = length ? PIPE_READMODE_BYTE : PIPE_READMODE_MESSAGE;
    if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
        rc = fail(c, GetLastError());
        CloseHandle(h);
        goto cleanup;
    }
    c->pipe = h;
    c->length_framing = length;
    rc = 0;

cleanup:
    free(wname);
    return rc;
}

/* Waits for the overlapped operation just issued on c (ok and the error as the call returned them).
 * On timeout the operation is cancelled and waited for, so c->ov is free again on return. */
static DWORD io_finish(ph_client *c, BOOL ok, uint32_t timeout_ms, DWORD *bytes)
{
    DWORD err = ok ? 0 : GetLastError();

    *bytes = 0;
    if (!ok && err != ERROR_IO_PENDING && err != ERROR_MORE_DATA)
        return err;
    if (err == ERROR_IO_PENDING &&
        WaitForSingleObject(c->event, timeout_ms == PH_INFINITE ? INFINITE : timeout_ms) == WAIT_TIMEOUT) {
        CancelIoEx(c->pipe, &c->ov);
        if (GetOverlappedResult(c->pipe, &c->ov, bytes, TRUE))
            return 0; /* it completed while we were cancelling */
        err = GetLastError();
        return err == ERROR_OPERATION_ABORTED ? WAIT_TIMEOUT : err;
    }
    if (GetOverlappedResult(c->pipe, &c->ov, bytes, TRUE))
        return 0;
    return GetLastError();
}

static void ov_reset(ph_client *c)
{
    memset(&c->ov, 0, sizeof(c->ov));
    ResetEvent(c->event);
    c->ov.hEvent = c->event;
}

/* The time an operation may still take: PH_INFINITE stays infinite, else what is left until deadline. */
static uint32_t left_ms(uint32_t timeout_ms, ULONGLONG deadline)
{
    return timeout_ms == PH_INFINITE ? PH_INFINITE : remaining_ms(deadline);
}

/* Length framing: the header is the body's length, 4 bytes little-endian. */
#define PH_FRAME_HEADER 4u

int ph_client_send(ph_client *c, const void *msg, size_t len, uint32_t timeout_ms)
{
    static const unsigned char empty[1] = {0};
    unsigned char small[512];
    unsigned char *frame = NULL;
    const void *out = msg ? msg : empty;
    size_t total = len;
    DWORD bytes = 0, err;
    BOOL ok;
    int rc;

    if (c == NULL || (msg == NULL && len > 0) || len > 0x7fffffffu)
        return PH_EINVAL;
    if (c->pipe == INVALID_HANDLE_VALUE || c->broken)
        return PH_ESTATE;
    if (c->length_framing) {
        /* Header and body in one buffer and one WriteFile, so they reach the pipe together. */
        if (len > 0x7fffffffu - PH_FRAME_HEADER)
            return PH_EINVAL;
        total = PH_FRAME_HEADER + len;
        frame = total <= sizeof(small) ? small : malloc(total);
        if (frame == NULL)
            return PH_ENOMEM;
        frame[0] = (unsigned char)(len & 0xffu);
        frame[1] = (unsigned char)((len >> 8) & 0xffu);
        frame[2] = (unsigned char)((len >> 16) & 0xffu);
        frame[3] = (unsigned char)((len >> 24) & 0xffu);
        if (len > 0)
            memcpy(frame + PH_FRAME_HEADER, msg, len);
        out = frame;
    }
    ov_reset(c);
    ok = ph__sys.WriteFile(c->pipe, out, (DWORD)total, NULL, &c->ov);
    err = io_finish(c, ok, timeout_ms, &bytes);
    if (err == 0 && bytes != total)
        err = ERROR_WRITE_FAULT;
    rc = 0;
    if (err != 0) {
        c->broken = 1; /* the server may have a partial message */
        rc = fail(c, err);
    }
    if (frame != small)
        free(frame);
    return rc;
}

/* Message framing: one pipe message, reassembled across ERROR_MORE_DATA. */
static int recv_message(ph_client *c, unsigned char **msg, size_t *len, uint32_t timeout_ms, ULONGLONG deadline,
                        size_t max_len)
{
    ph_buf b = {NULL, 0, 0};
    int rc;

    for (;;) {
        size_t want = b.len < 4096 ? 4096 : b.len;
        DWORD bytes = 0, err;
        BOOL ok;

        if (want > max_len + 1 - b.len)
            want = max_len + 1 - b.len;
        if (ph__buf_reserve(&b, want) != 0) {
            rc = PH_ENOMEM;
            c->broken = 1;
            goto cleanup;
        }
        ov_reset(c);
        ok = ph__sys.ReadFile(c->pipe, b.data + b.len, (DWORD)want, NULL, &c->ov);
        err = io_finish(c, ok, left_ms(timeout_ms, deadline), &bytes);
        b.len += bytes;
        b.data[b.len] = '\0';
        if (err == 0)
            break;
        if (err != ERROR_MORE_DATA) {
            c->broken = 1;
            rc = fail(c, err);
            goto cleanup;
        }
        if (b.len > max_len) {
            c->broken = 1;
            c->syserr = ERROR_MORE_DATA;
            rc = PH_ETOOBIG;
            goto cleanup;
        }
    }
    if (b.len > max_len) {
        rc = PH_ETOOBIG;
        goto cleanup;
    }
    *msg = ph__buf_detach(&b, len);
    rc = *msg ? 0 : PH_ENOMEM;

cleanup:
    ph__buf_free(&b);
    return rc;
}

/* Length framing: reads exactly n bytes into buf, by as many byte-mode reads as it takes, before deadline.
 * Never more: what follows belongs to the next frame. Returns 0 or the Win32 error (WAIT_TIMEOUT when the
 * deadline passed); a closed pipe mid-way is ERROR_BROKEN_PIPE whatever was read. */
static DWORD read_exact(ph_client *c, unsigned char *buf, size_t n, uint32_t timeout_ms, ULONGLONG deadline)
{
    size_t got = 0;

    while (got < n) {
        uint32_t wait = left_ms(timeout_ms, deadline);
        DWORD bytes = 0, err;
        BOOL ok;

        ov_reset(c);
        ok = ph__sys.ReadFile(c->pipe, buf + got, (DWORD)(n - got), NULL, &c->ov);
        err = io_finish(c, ok, wait, &bytes);
        got += bytes;
        if (err != 0)
            return err;
        /* A zero-byte read (a zero-length write by the server) gives nothing; the deadline still holds. */
        if (bytes == 0 && wait == 0)
            return WAIT_TIMEOUT;
    }
    return 0;
}

static int recv_frame(ph_client *c, unsigned char **msg, size_t *len, uint32_t timeout_ms, ULONGLONG deadline,
                      size_t max_len)
{
    unsigned char head[PH_FRAME_HEADER];
    ph_buf b = {NULL, 0, 0};
    size_t n = 0;
    DWORD err;
    int rc;

    err = read_exact(c, head, sizeof(head), timeout_ms, deadline);
    if (err == 0) {
        n = (size_t)head[0] | ((size_t)head[1] << 8) | ((size_t)head[2] << 16) | ((size_t)head[3] << 24);
        if (n > max_len) {
            /* The body stays unread: the connection is out of step (see the top of this file). */
            c->broken = 1;
            c->syserr = 0;
            rc = PH_ETOOBIG;
            goto cleanup;
        }
        if (ph__buf_reserve(&b, n) != 0) {
            c->broken = 1;
            rc = PH_ENOMEM;
            goto cleanup;
        }
        err = read_exact(c, b.data, n, timeout_ms, deadline);
    }
    if (err != 0) {
        c->broken = 1;
        rc = fail(c, err);
        goto cleanup;
    }
    b.len = n;
    b.data[n] = '\0';
    *msg = ph__buf_detach(&b, len);
    rc = *msg ? 0 : PH_ENOMEM;

cleanup:
    ph__buf_free(&b);
    return rc;
}

int ph_client_recv(ph_client *c, unsigned char **msg, size_t *len, uint32_t timeout_ms, size_t max_len)
{
    ULONGLONG deadline;

    if (c == NULL || msg == NULL || len == NULL)
        return PH_EINVAL;
    *msg = NULL;
    *len = 0;
    if (c->pipe == INVALID_HANDLE_VALUE || c->broken)
        return PH_ESTATE;
    if (max_len == 0 || max_len > PH_RESPONSE_CEILING)
        max_len = PH_RESPONSE_CEILING;
    deadline = GetTickCount64() + (timeout_ms == PH_INFINITE ? 0x7fffffffu : timeout_ms);
    if (c->length_framing)
        return recv_frame(c, msg, len, timeout_ms, deadline, max_len);
    return recv_message(c, msg, len, timeout_ms, deadline, max_len);
}

int ph_client_transact(ph_client *c, const void *req, size_t req_len, unsigned char **resp, size_t *resp_len,
                       uint32_t timeout_ms, size_t max_response)
{
    ULONGLONG deadline;
    int rc;

    if (resp == NULL || resp_len == NULL)
        return PH_EINVAL;
    *resp = NULL;
    *resp_len = 0;
    deadline = GetTickCount64() + (timeout_ms == PH_INFINITE ? 0x7fffffffu : timeout_ms);
    rc = ph_client_send(c, req, req_len, timeout_ms);
    if (rc != 0)
        return rc;
    return ph_client_recv(c, resp, resp_len, left_ms(timeout_ms, deadline), max_response);
}
