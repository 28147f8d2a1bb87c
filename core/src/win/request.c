/* request.c — what code outside the engine may do with a request: learn its connection, keep host data on
 * it, and hold it to answer later (the handle's side of deferred replies; the connection's is in conn.c). */
#include "server.h"

#include <stdlib.h>

HANDLE ph__request_pipe(const ph_request *req, const ph_logger **log)
{
    const ph_conn *c;

    if (req == NULL || req->internal_ == NULL) {
        *log = NULL;
        return INVALID_HANDLE_VALUE;
    }
    /* Only the pool thread dispatching this request gets here: the connection and its pipe stay put. */
    c = req->internal_;
    *log = &c->server->log;
    return c->pipe;
}

/* The connection's host data is the owner's, like everything a handler reaches through req. */
void *ph_request_conn_data(const ph_request *req)
{
    const ph_conn *c = req != NULL ? req->internal_ : NULL;
    return c != NULL ? c->conn_data : NULL;
}

void ph_request_set_conn_data(const ph_request *req, void *data)
{
    ph_conn *c = req != NULL ? req->internal_ : NULL;
    if (c != NULL)
        c->conn_data = data;
}

/* ---------------------------------------------------------------------------------------------------------
 * Held requests. The rules are at the top of conn.c: the handle has two references (the holder's and the
 * connection's); d->lock guards the link to the connection and comes before c->lock, so the holder reaches
 * the connection only while it is still linked, and never after the connection let go of the handle.
 * ------------------------------------------------------------------------------------------------------- */

void ph__deferred_unref(ph_deferred *d)
{
    if (InterlockedDecrement(&d->refs) == 0) {
        ph__buf_free(&d->resp.buf);
        free(d);
    }
}

int ph_request_defer(const ph_request *req, ph_deferred **out)
{
    ph_conn *c;
    ph_deferred *d;

    if (out != NULL)
        *out = NULL;
    if (req == NULL || req->internal_ == NULL || out == NULL)
        return PH_EINVAL;
    c = req->internal_;
    /* Only the handler's thread gets here with in_handler set: the connection is its to change. */
    if (!c->in_handler)
        return PH_EINVAL;
    if (c->held != NULL || (req->flags & PH_REQ_TOO_LARGE) != 0)
        return PH_ESTATE;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return PH_ENOMEM;
    InitializeSRWLock(&d->lock);
    d->conn = c;
    d->refs = 2;
    d->conn_id = c->id;
    c->held = d;
    InterlockedExchangeAdd64(&c->server->c_held, 1);
    *out = d;
    return 0;
}

int ph_deferred_on_cancel(ph_deferred *d, ph_deferred_cancel_fn fn, void *ctx)
{
    int rc = 0;

    if (d == NULL)
        return PH_EINVAL;
    AcquireSRWLockExclusive(&d->lock);
    if (d->canceled) {
        rc = PH_ECANCELED;
    } else {
        d->on_cancel = fn;
        d->cancel_ctx = ctx;
    }
    ReleaseSRWLockExclusive(&d->lock);
    return rc;
}

int ph_deferred_canceled(ph_deferred *d)
{
    int canceled;

    if (d == NULL)
        return 0;
    AcquireSRWLockShared(&d->lock);
    canceled = d->canceled;
    ReleaseSRWLockShared(&d->lock);
    return canceled;
}

uint64_t ph_deferred_connection_id(const ph_deferred *d)
{
    return d != NULL ? d->conn_id : 0;
}

ph_response *ph_deferred_response(ph_deferred *d)
{
    return d != NULL ? &d->resp : NULL;
}

/* Both completions: delay_ms 0 makes the reply ready now, otherwise the timer does at the deadline. */
static int complete(ph_deferred *d, uint32_t delay_ms, ph_handler_result result, const void *data, size_t len)
{
    ph_conn *c;
    int rc;

    if (d == NULL || (data == NULL && len > 0) || delay_ms == PH_INFINITE ||
        (result != PH_REPLY && result != PH_NO_REPLY && result != PH_REPLY_CLOSE))
        return PH_EINVAL;
    AcquireSRWLockExclusive(&d->lock);
    c = d->conn;
    if (c == NULL) {
        /* The connection has ended: nothing to write to. */
        rc = PH_ECANCELED;
    } else {
        if (len > 0 && ph__buf_append(&d->resp.buf, data, len) != 0) {
            ReleaseSRWLockExclusive(&d->lock);
            return PH_ENOMEM; /* nothing changed: the handle is still the caller's */
        }
        d->result = result;
        AcquireSRWLockExclusive(&c->lock);
        rc = ph__conn_reply_ready_locked(c, delay_ms == 0 ? 0 : GetTickCount64() + delay_ms);
        ReleaseSRWLockExclusive(&c->lock);
    }
    d->holder_done = 1;
    ReleaseSRWLockExclusive(&d->lock);
    ph__deferred_unref(d);
    return rc;
}

int ph_deferred_complete(ph_deferred *d, ph_handler_result result, const void *data, size_t len)
{
    return complete(d, 0, result, data, len);
}

int ph_deferred_complete_after(ph_deferred *d, uint32_t delay_ms, ph_handler_result result, const void *data,
                               size_t len)
{
    return complete(d, delay_ms, result, data, len);
}
