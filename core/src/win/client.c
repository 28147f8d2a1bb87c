/* client.c — the client side: connect with busy-retry under a deadline, send, receive, transact. */
#include "ph_win.h"

#include <stdlib.h>
#include <string.h>

#define PH_RESPONSE_CEILING ((size_t)64 * 1024 * 1024)

struct ph_client {
    HANDLE pipe;
    HANDLE event;     /* manual-reset, for our own overlapped operations */
    OVERLAPPED ov;
    DWORD syserr;
    int broken;       /* a message was left half-read: the pipe is out of step and must not be used */
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
    DWORD mode = PIPE_READMODE_MESSAGE, err = 0;
    ULONGLONG deadline;
    wchar_t *wname = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;
    int rc;

    if (c == NULL || pipe_name == NULL)
        return PH_EINVAL;
    close_pipe(c);
    c->syserr = 0;
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

        h = ph__sys.CreateFileW(wname, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
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
    if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
        rc = fail(c, GetLastError());
        CloseHandle(h);
        goto cleanup;
    }
    c->pipe = h;
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

int ph_client_send(ph_client *c, const void *msg, size_t len, uint32_t timeout_ms)
{
    static const unsigned char empty[1] = {0};
    DWORD bytes = 0, err;
    BOOL ok;

    if (c == NULL || (msg == NULL && len > 0) || len > 0x7fffffffu)
        return PH_EINVAL;
    if (c->pipe == INVALID_HANDLE_VALUE || c->broken)
        return PH_ESTATE;
    ov_reset(c);
    ok = ph__sys.WriteFile(c->pipe, msg ? msg : empty, (DWORD)len, NULL, &c->ov);
    err = io_finish(c, ok, timeout_ms, &bytes);
    if (err == 0 && bytes != len)
        err = ERROR_WRITE_FAULT;
    if (err != 0) {
        c->broken = 1; /* the server may have a partial message */
        return fail(c, err);
    }
    return 0;
}

int ph_client_recv(ph_client *c, unsigned char **msg, size_t *len, uint32_t timeout_ms, size_t max_len)
{
    ph_buf b = {NULL, 0, 0};
    ULONGLONG deadline;
    int rc;

    if (c == NULL || msg == NULL || len == NULL)
        return PH_EINVAL;
    *msg = NULL;
    *len = 0;
    if (c->pipe == INVALID_HANDLE_VALUE || c->broken)
        return PH_ESTATE;
    if (max_len == 0 || max_len > PH_RESPONSE_CEILING)
        max_len = PH_RESPONSE_CEILING;
    deadline = GetTickCount64() + (timeout_ms == PH_INFINITE ? 0x7fffffffu : timeout_ms);
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
        err = io_finish(c, ok, timeout_ms == PH_INFINITE ? PH_INFINITE : remaining_ms(deadline), &bytes);
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
    return ph_client_recv(c, resp, resp_len, timeout_ms == PH_INFINITE ? PH_INFINITE : remaining_ms(deadline),
                          max_response);
}
