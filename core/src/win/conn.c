/* conn.c — one connection's state machine: accept, read and reassemble, dispatch, write, linger, finish.
 *
 * The rules; check every change against them.
 * - Steps. Each step issues at most one operation and returns what came of it: pending (a completion packet
 *   will come), inline (it completed at once: the loop in ph__conn_on_completion handles the result now, so
 *   no call chain grows per request), or end (with a reason in c->ending). One function, conn_finish, acts
 *   on every end: its table says whether the end counts in errors_total and what is logged; the listener
 *   (listener.c) then re-arms or closes the instance.
 * - Ownership. A connection is owned by the system while an operation (ConnectNamedPipe, ReadFile,
 *   WriteFile) is outstanding, otherwise by the one thread that took its completion or whose operation
 *   completed at once, or, between a response and its next read, by the pool thread it was deferred to
 *   (pool.c; the timer thread's watch may take the deferred read over while that thread runs a
 *   handler). Only the owner changes its buffers, issues its next operation, finishes or frees it.
 * - c->lock guards state, cancel and the deadlines. The owner issues every operation while holding it,
 *   after checking cancel; the timer and the stop walk take it before they cancel. A cancel therefore
 *   either finds the operation outstanding (CancelIoEx ends it) or is seen by the owner before it issues
 *   the next one: none is lost and none has to be repeated.
 * - Who may cancel: the timer (idle, first-request, write and linger deadlines, and the shrink of a large
 *   idle buffer), the trim, and the stop walk. Every completion checks cancel first: a connection cancelled
 *   to end is finished whatever its operation returned; an accept that had already connected when a trim
 *   cancelled it is served (the client is there); a read cancelled to shrink is re-issued small unless it
 *   had completed with data.
 * - Unread replies. DisconnectNamedPipe discards what the client has not read; closing the handle does not.
 *   An end after a reply (PH_REPLY_CLOSE, too large, over the per-user limit) therefore closes the instance
 *   when the listener allows it (stopping, or the unlimited pool), and otherwise lingers: a read pending to
 *   see the client leave (or, in message mode, send again: it has read the reply), bounded by the write
 *   timeout, then the instance is disconnected and re-armed. At stop every connection between requests ends at once and its instance is
 *   closed: the client still reads its last reply.
 * - When an instance counts as gone: when ph__conn_free has taken it out of the deadline heap, the list and
 *   the live count. server->live also counts reservations (instances being created), so a stop is drained
 *   only when no instance exists or is being created.
 * - Lock order: server->lock, then c->lock, then server->tlock. The timer thread, which holds tlock when it
 *   finds a connection due, only try-locks c->lock. Nothing logs while holding a lock (a log callback may
 *   call back into the server).
 * - Completions. With FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (when the probe at start found it well-behaved),
 *   an operation that completes at once queues no packet and its result is handled by the issuer; a read
 *   ending at once with ERROR_MORE_DATA is handled the way the probe found the system queues it. Accepts are
 *   never handled inline: a packet is posted instead, so that handlers run only on pool threads.
 * - Memory. A connection's buffers follow its own requests (the next read is as large as the last request),
 *   and are given back after PH_SHRINK_IDLE_MS without a request; a declared length grows the buffer only
 *   with the bytes that arrive. c_buffered counts what connections hold.
 * - Length framing (a byte-mode pipe): in keeps what was read and not yet consumed (from in_off), possibly
 *   part of a frame or several pipelined ones. The next buffered frame is dispatched only after the
 *   previous response is written, so responses go out in request order; every request gets exactly one
 *   response frame (PH_NO_REPLY sends an empty one). After PH_PIPELINE_TURN frames in a row the connection
 *   goes back through the port, so one pipelining client cannot hold a pool thread. A declared length over
 *   the limit is answered without reading the body, and the connection ends. Buffered frames not yet
 *   dispatched when the stop begins are refused like any new request.
 * - Held requests (ph_request_defer). A connection whose handler deferred its request is HELD: nobody owns
 *   it, and no request is dispatched until the reply, so replies keep request order. A read (the watch) is
 *   pending so that a client leaving is seen: in message mode a zero-byte read, which consumes nothing
 *   (data arriving just ends it, and nothing watches after that, except that an empty message is taken: it
 *   becomes the next request, held_empty); in length framing a read ahead into `in` of what a pipelining
 *   client sends, up to one frame of the largest size (held_room), dispatched after the reply. Whoever needs the owner back — the holder's
 *   completion, the timer of a delayed reply, a cancel — calls wake_held_locked under c->lock, which makes
 *   exactly one packet come: cancelling the watch, or posting one when no watch is pending (held_io). The
 *   pool thread that takes it owns the connection again: it takes the reply (held_ready) or, cancelled or
 *   the client gone, finishes. A held request is in flight for the stop: cancelled at the drain deadline.
 * - The handle (struct ph_deferred) outlives whichever of the holder and the connection lets go last
 *   (refs). The connection's side runs on the owner only; d->lock comes before c->lock. Once the
 *   connection let go (d->conn NULL), nothing the holder does reaches the connection.
 * - Hooks. conn_open runs before the first handler call (the identity is known then), conn_close once, in
 *   conn_finish, after any held request was taken or cancelled; both on the owner, with no lock held. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

/* A new connection's first read; later first reads follow the size of the last request (up to 1 MiB, and
 * never past max_message_bytes + 1), so a client that sends 64 KiB requests has each read in one piece. */
#define PH_FIRST_READ 1024u
#define PH_MAX_READ_HINT ((size_t)1024 * 1024)
#define PH_READ_SLACK 256u /* a little more than the last request: the next one may be a few bytes longer */
#define PH_DRAIN_CHUNK 65536u
/* An idle connection whose buffers hold more than this gives them back after PH_SHRINK_IDLE_MS. */
#define PH_IDLE_KEEP 16384u
#define PH_SHRINK_IDLE_MS 1000u
/* Reads are deferred (pool.c) only while handlers take less than this on average. */
#define PH_DEFER_MAX_HANDLER_US 200
/* Pipelined frames dispatched back to back before the connection yields its thread. */
#define PH_PIPELINE_TURN 16u

/* What a step led to. */
typedef enum step {
    STEP_PENDING, /* a completion packet will come (or another thread owns the connection now) */
    STEP_INLINE,  /* it completed at once: the caller handles *bytes / *err now */
    STEP_END      /* the connection ends, for the reason in c->ending */
} step;

static step start_request(ph_conn *c, int replied, DWORD *bytes, DWORD *err);
static step dispatch(ph_conn *c, DWORD *bytes, DWORD *err);
static step respond(ph_conn *c, ph_handler_result result, DWORD *bytes, DWORD *err);
static step hold(ph_conn *c, DWORD *bytes, DWORD *err);
static step take_reply(ph_conn *c, DWORD *bytes, DWORD *err);
static void wake_held_locked(ph_conn *c);

static void count(volatile LONG64 *counter, LONG64 delta)
{
    InterlockedExchangeAdd64(counter, delta);
}

static ULONGLONG deadline_after(ULONGLONG now, uint32_t ms)
{
    return ms == PH_INFINITE ? 0 : now + ms;
}

static step end(ph_conn *c, ph_end why)
{
    c->ending = why;
    return STEP_END;
}

/* Takes c->lock to issue the next operation, unless the connection was cancelled to end: then it returns 0
 * with the lock not held and c->ending set, and the caller returns STEP_END. */
static int lock_unless_ending(ph_conn *c)
{
    AcquireSRWLockExclusive(&c->lock);
    if (c->cancel != PH_CANCEL_END)
        return 1;
    c->ending = c->cancel_why;
    ReleaseSRWLockExclusive(&c->lock);
    return 0;
}

/* Keeps c_buffered in step with what c's buffers hold. */
static void account(ph_conn *c)
{
    size_t now = c->in.cap + c->out.buf.cap;

    if (now != c->buffered) {
        count(&c->server->c_buffered, (LONG64)now - (LONG64)c->buffered);
        c->buffered = now;
    }
}

static void free_buffers(ph_conn *c)
{
    ph__buf_free(&c->in);
    ph__buf_free(&c->out.buf);
    c->in_off = 0;
    account(c);
}

/* Under c->lock, HELD: makes exactly one packet come to a pool thread (see the rules), once. */
static void wake_held_locked(ph_conn *c)
{
    if (c->held_io == PH_HELD_WATCHING) {
        c->held_io = PH_HELD_WAKING;
        CancelIoEx(c->pipe, &c->ov);
    } else if (c->held_io == PH_HELD_QUIET) {
        c->held_io = PH_HELD_WAKING;
        c->post_bytes = 0;
        c->post_err = ERROR_OPERATION_ABORTED;
        if (!PostQueuedCompletionStatus(c->server->iocp, 0, PH_KEY_RESULT, &c->ov))
            c->held_io = PH_HELD_QUIET; /* no packet: a later wake (at the latest the stop's) tries again */
    }
}

/* Under c->lock: the cancel used by the timer, the trim and the stop walk. */
static void cancel_locked(ph_conn *c, ph_end why)
{
    if (c->cancel != PH_CANCEL_END) {
        c->cancel = PH_CANCEL_END;
        c->cancel_why = why;
    }
    if (c->state == PH_CONN_PARKED)
        PostQueuedCompletionStatus(c->server->iocp, 0, 0, &c->ov); /* nobody owns it: a pool thread ends it */
    else if (c->state == PH_CONN_HELD)
        wake_held_locked(c);
    else if (c->state != PH_CONN_DISPATCHING)
        CancelIoEx(c->pipe, &c->ov);
}

static void link_locked(ph_server *s, ph_conn *c)
{
    c->prev = NULL;
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
}

static void unlink_locked(ph_server *s, ph_conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (s->conns == c)
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

void ph__conn_free(ph_conn *c)
{
    ph_server *s = c->server;

    ph__timer_remove(s, c);
    free_buffers(c);
    AcquireSRWLockExclusive(&s->lock);
    unlink_locked(s, c);
    s->live--;
    if (s->live == 0 && s->state == PH_SRV_STOPPING)
        SetEvent(s->drained);
    ReleaseSRWLockExclusive(&s->lock);
    CloseHandle(c->pipe); /* never a disconnect: the client may still read what was written */
    free(c);
}

void ph__conn_reset(ph_conn *c)
{
    /* Its deadlines belong to the client that left: the next one must not inherit them. */
    ph__timer_remove(c->server, c);
    AcquireSRWLockExclusive(&c->lock);
    c->idle_due = c->shrink_due = c->linger_end = 0;
    c->held_ready = 0;
    c->held_due = 0;
    ReleaseSRWLockExclusive(&c->lock);
    c->id = 0;
    c->requests = 0;
    c->draining = 0;
    c->msg_seen = 0;
    c->frame_len = 0;
    c->frame_limits = 0;
    c->pipelined = 0;
    c->close_after_write = 0;
    c->close_why = PH_END_NONE;
    c->close_too_large = 0;
    c->opened = 0;
    c->conn_data = NULL;
    c->held_empty = 0;
    c->ending = PH_END_NONE;
    c->have_identity = 0;
    c->last_err = 0;
    c->read_hint = PH_FIRST_READ;
    c->sid[0] = '\0';
    memset(&c->info, 0, sizeof(c->info));
    if (c->in.cap > PH_IDLE_KEEP || c->out.buf.cap > PH_IDLE_KEEP)
        free_buffers(c);
    ph__buf_reset(&c->in);
    ph__buf_reset(&c->out.buf);
    c->in_off = 0;
}

/* ---------------------------------------------------------------------------------------------------------
 * Per-user connection counts (max_connections_per_user), under s->lock.
 * ------------------------------------------------------------------------------------------------------- */

/* Counts c under its client's SID; 0, or -1 when the user already holds limit connections (or no memory). */
static int user_add(ph_server *s, ph_conn *c, unsigned limit)
{
    ph_user_count *free_slot = NULL;
    unsigned i;
    int rc = -1;

    AcquireSRWLockExclusive(&s->lock);
    for (i = 0; i < s->nusers; i++) {
        ph_user_count *u = &s->users[i];
        if (u->n > 0 && strcmp(u->sid, c->sid) == 0) {
            if (u->n < limit) {
                u->n++;
                rc = 0;
            }
            goto done;
        }
        if (u->n == 0 && free_slot == NULL)
            free_slot = u;
    }
    if (free_slot == NULL) {
        if (s->nusers == s->users_cap) {
            unsigned cap = s->users_cap ? 2 * s->users_cap : 16;
            ph_user_count *p = realloc(s->users, cap * sizeof(*p));
            if (p == NULL)
                goto done;
            s->users = p;
            s->users_cap = cap;
        }
        free_slot = &s->users[s->nusers++];
    }
    memcpy(free_slot->sid, c->sid, sizeof(free_slot->sid));
    free_slot->n = 1;
    rc = 0;
done:
    ReleaseSRWLockExclusive(&s->lock);
    c->user_counted = rc == 0;
    return rc;
}

static void user_remove(ph_server *s, ph_conn *c)
{
    unsigned i;

    AcquireSRWLockExclusive(&s->lock);
    for (i = 0; i < s->nusers; i++) {
        if (s->users[i].n > 0 && strcmp(s->users[i].sid, c->sid) == 0) {
            s->users[i].n--;
            break;
        }
    }
    ReleaseSRWLockExclusive(&s->lock);
    c->user_counted = 0;
}

static void need_identity(ph_conn *c)
{
    if (!c->have_identity) {
        ph__client_identity(c->pipe, &c->info, c->sid, sizeof(c->sid), &c->server->log);
        c->have_identity = 1;
    }
}

/* ---------------------------------------------------------------------------------------------------------
 * The finish: one table from reason to accounting.
 * ------------------------------------------------------------------------------------------------------- */

static const struct end_rule {
    int error;          /* counted in errors_total */
    ph_log_level level; /* logged at this level (with text), when connected */
    const char *text;
} g_end_rules[] = {
    [PH_END_NONE] = {0, PH_LOG_DEBUG, NULL},
    [PH_END_LEFT] = {0, PH_LOG_DEBUG, NULL},
    [PH_END_LEFT_MID] = {1, PH_LOG_INFO, "client left in the middle of a request"},
    [PH_END_IO_ERROR] = {1, PH_LOG_DEBUG, NULL}, /* logged with the failing call where it happened */
    [PH_END_IDLE] = {1, PH_LOG_INFO, "idle timeout"},
    [PH_END_FIRST_REQUEST] = {1, PH_LOG_INFO, "no request within the first-request timeout"},
    [PH_END_WRITE_TIMEOUT] = {1, PH_LOG_WARN, "client did not read its response in time"},
    [PH_END_REPLIED_CLOSE] = {0, PH_LOG_DEBUG, NULL},
    [PH_END_LINGER_DONE] = {0, PH_LOG_DEBUG, NULL},
    [PH_END_STOP] = {0, PH_LOG_DEBUG, NULL},
    [PH_END_NOMEM] = {1, PH_LOG_ERROR, "out of memory"},
    [PH_END_ACCEPT_FAILED] = {0, PH_LOG_DEBUG, NULL}, /* the listener logs failing accepts, once a streak */
    [PH_END_TRIM] = {0, PH_LOG_DEBUG, NULL},
};

/* The connection lets go of its held request without a reply: the handle is cancelled, and its holder told
 * (the callback, unless it completed it already). The caller owns c, with no lock held. */
static void cancel_held(ph_conn *c)
{
    ph_deferred *d = c->held;
    ph_deferred_cancel_fn fn = NULL;
    void *ctx = NULL;

    c->held = NULL;
    AcquireSRWLockExclusive(&d->lock);
    d->conn = NULL;
    d->canceled = 1;
    if (!d->holder_done) {
        fn = d->on_cancel;
        ctx = d->cancel_ctx;
    }
    ReleaseSRWLockExclusive(&d->lock);
    AcquireSRWLockExclusive(&c->lock);
    c->held_ready = 0;
    c->held_due = 0;
    ReleaseSRWLockExclusive(&c->lock);
    count(&c->server->c_held, -1);
    if (fn != NULL)
        fn(ctx, d); /* the connection's reference keeps d alive through the call */
    ph__deferred_unref(d);
}

/* What conn_close is told for an end. */
static ph_close_reason close_reason(const ph_conn *c, ph_end why)
{
    switch (why) {
    case PH_END_LEFT:
    case PH_END_LEFT_MID:
        return PH_CLOSE_LEFT;
    case PH_END_IDLE:
    case PH_END_FIRST_REQUEST:
    case PH_END_WRITE_TIMEOUT:
        return PH_CLOSE_TIMEOUT;
    case PH_END_REPLIED_CLOSE:
    case PH_END_LINGER_DONE:
        return c->close_too_large ? PH_CLOSE_TOO_LARGE : PH_CLOSE_REPLY_CLOSE;
    case PH_END_STOP:
        return PH_CLOSE_STOP;
    case PH_END_NONE:
    case PH_END_IO_ERROR:
    case PH_END_NOMEM:
    case PH_END_ACCEPT_FAILED:
    case PH_END_TRIM:
        break;
    }
    return PH_CLOSE_ERROR;
}

/* Ends the current client's session on this instance (if any) and hands the instance to the listener. The
 * caller owns c; no operation is outstanding. */
static void conn_finish(ph_conn *c, ph_end why)
{
    ph_server *s = c->server;
    const struct end_rule *rule = &g_end_rules[why];
    int was_connected = c->counted_active;

    if (c->held != NULL)
        cancel_held(c);
    if (c->opened) {
        /* Once, after the last handler call and after the held request (if any) went. */
        c->opened = 0;
        if (s->cfg.conn_close != NULL)
            s->cfg.conn_close(s->cfg.conn_ctx, c->id, c->conn_data, close_reason(c, why));
        c->conn_data = NULL;
    }

    if (c->user_counted)
        user_remove(s, c);
    if (was_connected) {
        /* The error first: whoever sees this connection gone from connections_active also sees it counted. */
        if (rule->error)
            count(&s->c_errors, 1);
        count(&s->c_active, -1);
        c->counted_active = 0;
        if (rule->text != NULL)
            ph__log(&s->log, rule->level, "connection %llu: %s", (unsigned long long)c->id, rule->text);
        ph__log(&s->log, PH_LOG_DEBUG, "connection %llu closed%s", (unsigned long long)c->id,
                rule->error ? " after an error" : "");
    }
    ph__listener_release(c, why, was_connected);
}

/* A Win32 call on c failed (at once or in its completion): the reason, logged unless the client left. */
static step io_failed(ph_conn *c, DWORD err, const char *call)
{
    int client_left = err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA || err == ERROR_PIPE_NOT_CONNECTED;
    /* Leaving while we read part of a request, held it or wrote its response abandons it; after the last
     * response (idle or lingering) leaving is exactly what a client should do. */
    int mid_request = c->state == PH_CONN_READING || c->state == PH_CONN_WRITING || c->state == PH_CONN_HELD;

    c->last_err = err;
    if (client_left)
        return end(c, mid_request ? PH_END_LEFT_MID : PH_END_LEFT);
    if (err != ERROR_OPERATION_ABORTED)
        ph__log_win32(&c->server->log, PH_LOG_WARN, err, call, "connection %llu", (unsigned long long)c->id);
    return end(c, PH_END_IO_ERROR);
}

/* ---------------------------------------------------------------------------------------------------------
 * Instances and accepts.
 * ------------------------------------------------------------------------------------------------------- */

DWORD ph__conn_accept(ph_conn *c)
{
    ph_server *s = c->server;
    DWORD err = 0;
    int tries;

    AcquireSRWLockExclusive(&c->lock);
    if (c->cancel == PH_CANCEL_END) {
        ReleaseSRWLockExclusive(&c->lock);
        return ERROR_OPERATION_ABORTED;
    }
    for (tries = 0; tries < 3; tries++) {
        memset(&c->ov, 0, sizeof(c->ov));
        if (ph__sys.ConnectNamedPipe(c->pipe, &c->ov)) {
            /* Connected at once. A packet is queued unless completions skip the port on success: then post
             * one, so the connection is served by a pool thread like any other. */
            if (!s->skip_on_success || PostQueuedCompletionStatus(s->iocp, 0, 0, &c->ov)) {
                ReleaseSRWLockExclusive(&c->lock);
                return 0;
            }
            err = GetLastError();
            break;
        }
        err = GetLastError();
        if (err == ERROR_IO_PENDING) {
            ReleaseSRWLockExclusive(&c->lock);
            return 0;
        }
        if (err == ERROR_PIPE_CONNECTED) {
            /* The client won the race between CreateNamedPipe and ConnectNamedPipe: no packet is queued for
             * this outcome, so queue one ourselves and keep a single completion path. */
            if (PostQueuedCompletionStatus(s->iocp, 0, 0, &c->ov)) {
                ReleaseSRWLockExclusive(&c->lock);
                return 0;
            }
            err = GetLastError();
            break;
        }
        if (err != ERROR_NO_DATA)
            break;
        /* A client connected and left before we listened: clear the instance and listen again. */
        ph__sys.DisconnectNamedPipe(c->pipe);
    }
    ReleaseSRWLockExclusive(&c->lock);
    c->last_err = err != 0 ? err : ERROR_GEN_FAILURE;
    return c->last_err;
}

DWORD ph__conn_start_instance(ph_server *s, HANDLE pipe)
{
    DWORD err = 0;
    ph_conn *c;
    int open;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto fail;
    }
    c->server = s;
    c->pipe = pipe;
    c->t_idx = -1;
    c->read_hint = PH_FIRST_READ;
    InitializeSRWLock(&c->lock);
    if (ph__sys.CreateIoCompletionPort(pipe, s->iocp, 0, 0) == NULL ||
        (s->skip_on_success &&
         !SetFileCompletionNotificationModes(pipe, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE))) {
        err = GetLastError();
        goto fail;
    }
    /* Room for its deadline now, so that arming it never allocates under a lock. */
    AcquireSRWLockShared(&s->lock);
    err = ph__timer_reserve(s, (long)s->instances) == 0 ? 0 : ERROR_NOT_ENOUGH_MEMORY;
    ReleaseSRWLockShared(&s->lock);
    if (err != 0)
        goto fail;
    AcquireSRWLockExclusive(&s->lock);
    /* A stop that began while this instance was being created must not find it accepting afterwards. */
    open = ph__open_locked(s);
    c->state = PH_CONN_ACCEPTING;
    link_locked(s, c);
    ReleaseSRWLockExclusive(&s->lock);
    if (!open) {
        ph__listener_release(c, PH_END_STOP, 0);
        return 0;
    }
    err = ph__conn_accept(c);
    if (err != 0) {
        /* Its reservation stays counted until it is closed here. */
        AcquireSRWLockExclusive(&s->lock);
        s->accepting--;
        s->instances--;
        ReleaseSRWLockExclusive(&s->lock);
        ph__conn_free(c);
    }
    return err;

fail:
    CloseHandle(pipe);
    free(c);
    ph__listener_unreserve(s);
    return err;
}

/* ---------------------------------------------------------------------------------------------------------
 * Reading.
 * ------------------------------------------------------------------------------------------------------- */

/* At a request's first bytes, in one look at the server: whether it still takes requests, and the limits
 * in force now, which are this request's (even if its read was posted before a ph_server_set_limits). */
static int take_request_limits(ph_conn *c)
{
    ph_server *s = c->server;
    int open;

    AcquireSRWLockShared(&s->lock);
    open = ph__open_locked(s);
    c->msg_limit = s->limits.max_message_bytes;
    c->write_ms = s->limits.write_timeout_ms;
    ReleaseSRWLockShared(&s->lock);
    return open;
}

/* Issues a read into buf under c->lock (the caller checked cancel and set the state). */
static step issue_read_locked(ph_conn *c, void *buf, DWORD want, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;

    memset(&c->ov, 0, sizeof(c->ov));
    if (ph__sys.ReadFile(c->pipe, buf, want, NULL, &c->ov)) {
        if (!s->skip_on_success)
            return STEP_PENDING;
        *bytes = (DWORD)c->ov.InternalHigh;
        *err = 0;
        return STEP_INLINE;
    }
    *err = GetLastError();
    if (*err == ERROR_IO_PENDING)
        return STEP_PENDING;
    /* ERROR_MORE_DATA is a warning status: the read completed, and whether a packet follows when completions
     * skip the port on success is what the probe found out. */
    if (*err == ERROR_MORE_DATA && (!s->skip_on_success || s->more_data_queues))
        return STEP_PENDING;
    *bytes = (DWORD)c->ov.InternalHigh;
    if (*err != ERROR_MORE_DATA)
        *bytes = 0;
    return STEP_INLINE;
}

/* How many reads a pool thread may hold back: one per thread's share of the connected clients, 1 to
 * PH_DEFER_SLOTS. Holding more than its share only delays those clients (with 8 clients on 8 threads one
 * slot does best). Measured under Wine, 5 rounds against thread-per-client: a cap of 4 gave 0.96x at 200
 * clients and 1.00x at 64; 16 gave 1.13x / 1.24x; 32 gave 1.32x / 1.21x (p99 63 ms against 77); 64 no more
 * than 32. At 200 clients a thread's share is 25: its reads are posted in larger batches, later, and more of
 * them find their requests already there instead of pending. */
static unsigned defer_slots(ph_server *s)
{
    uint64_t n = (uint64_t)InterlockedCompareExchange64(&s->c_active, 0, 0) / (s->nthreads ? s->nthreads : 1);
    return n < 1 ? 1u : (n > PH_DEFER_SLOTS ? PH_DEFER_SLOTS : (unsigned)n);
}

/* Length framing: the unconsumed bytes move to the front (once per read, so tiny pipelined frames cost
 * linear time, not quadratic). */
static void compact(ph_conn *c)
{
    if (c->in_off == 0)
        return;
    memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
    c->in.len -= c->in_off;
    c->in.data[c->in.len] = '\0';
    c->in_off = 0;
}

/* Waits for the next request (replied: a response was just written); when the server is stopping, ends.
 * Length framing: a next frame already buffered is handled without a read. */
static step start_request(ph_conn *c, int replied, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;
    ULONGLONG now = GetTickCount64(), idle_due, shrink_due = 0;
    uint32_t idle_ms, first_ms;
    int running, framed = s->cfg.framing == PH_FRAMING_LENGTH;
    size_t want;
    step r;

    AcquireSRWLockShared(&s->lock);
    running = ph__open_locked(s);
    idle_ms = s->limits.idle_timeout_ms;
    first_ms = s->limits.first_request_timeout_ms;
    c->msg_limit = s->limits.max_message_bytes;
    c->write_ms = s->limits.write_timeout_ms;
    ReleaseSRWLockShared(&s->lock);
    /* Stopping: nothing is in flight between requests, and closing (never disconnecting) leaves the last
     * reply readable. */
    if (!running)
        return end(c, PH_END_STOP);

    c->draining = 0;
    c->msg_seen = 0;
    idle_due = deadline_after(now, idle_ms);
    if (c->requests == 0) {
        ULONGLONG first_due = deadline_after(now, first_ms);
        if (first_due != 0 && (idle_due == 0 || first_due < idle_due))
            idle_due = first_due;
    }
    if (framed && c->in.len > c->in_off) {
        /* The next request (or its start) is already here: handled as a read of no bytes that completed at
         * once, from the completion loop; after PH_PIPELINE_TURN in a row, through the port, so that other
         * connections get the thread too. */
        if (!lock_unless_ending(c))
            return STEP_END;
        c->state = PH_CONN_READING;
        c->idle_due = idle_due;
        ph__timer_arm_locked(s, c, PH_CONN_IDLE, idle_due);
        if (++c->pipelined >= PH_PIPELINE_TURN) {
            c->pipelined = 0;
            c->post_bytes = 0;
            c->post_err = 0;
            if (PostQueuedCompletionStatus(s->iocp, 0, PH_KEY_RESULT, &c->ov)) {
                ReleaseSRWLockExclusive(&c->lock);
                return STEP_PENDING;
            }
        }
        ReleaseSRWLockExclusive(&c->lock);
        *bytes = 0;
        *err = 0;
        return STEP_INLINE;
    }
    c->pipelined = 0;
    if (framed) {
        ph__buf_reset(&c->in);
        c->in_off = 0;
    } else {
        ph__buf_reset(&c->in);
    }
    want = c->read_hint;
    if (want > c->msg_limit + (framed ? 4u : 1u))
        want = c->msg_limit + (framed ? 4u : 1u);
    if (ph__buf_reserve(&c->in, want) != 0)
        return end(c, PH_END_NOMEM);
    account(c);
    if (c->in.cap + c->out.buf.cap > PH_IDLE_KEEP)
        shrink_due = now + PH_SHRINK_IDLE_MS;

    if (!lock_unless_ending(c))
        return STEP_END;
    c->cancel = PH_CANCEL_NONE; /* a shrink asked of an earlier read is moot */
    c->state = PH_CONN_IDLE;
    c->idle_due = idle_due;
    c->shrink_due = shrink_due;
    ph__timer_arm_locked(s, c, PH_CONN_IDLE,
                         (shrink_due != 0 && (idle_due == 0 || shrink_due < idle_due)) ? shrink_due : idle_due);
    if (c->held_empty) {
        /* Message mode: an empty message that the watch of a held request took is this request. */
        c->held_empty = 0;
        ReleaseSRWLockExclusive(&c->lock);
        *bytes = 0;
        *err = 0;
        return STEP_INLINE;
    }
    if (replied) {
        /* Just answered, handlers are quick, and this pool thread has a slot free: leave the read to the
         * thread, which posts it after a look at the port (pool.c). */
        ph_worker *w = ph__current_worker();
        if (w != NULL && w->server == s && InterlockedCompareExchange(&s->handler_us, 0, 0) < PH_DEFER_MAX_HANDLER_US &&
            ph__pool_defer(w, c, defer_slots(s))) {
            c->deferred_want = (DWORD)want;
            ReleaseSRWLockExclusive(&c->lock);
            return STEP_PENDING;
        }
    }
    r = issue_read_locked(c, c->in.data + c->in.len, (DWORD)want, bytes, err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

void ph__conn_post_deferred(ph_conn *c, int post)
{
    DWORD bytes = 0, err = 0;
    step r;

    AcquireSRWLockExclusive(&c->lock);
    if (c->cancel == PH_CANCEL_END) {
        ph_end why = c->cancel_why;
        ReleaseSRWLockExclusive(&c->lock);
        if (post) {
            /* Another thread's connection: its end is run by a pool thread, through the port. */
            c->post_bytes = 0;
            c->post_err = ERROR_OPERATION_ABORTED;
            if (PostQueuedCompletionStatus(c->server->iocp, 0, PH_KEY_RESULT, &c->ov))
                return;
        }
        conn_finish(c, why);
        return;
    }
    r = issue_read_locked(c, c->in.data + c->in.len, c->deferred_want, &bytes, &err);
    if (r == STEP_INLINE && post) {
        c->post_bytes = bytes;
        c->post_err = err;
        if (PostQueuedCompletionStatus(c->server->iocp, 0, PH_KEY_RESULT, &c->ov)) {
            ReleaseSRWLockExclusive(&c->lock);
            return;
        }
    }
    ReleaseSRWLockExclusive(&c->lock);
    if (r == STEP_INLINE)
        ph__conn_on_completion(c, bytes, err);
}

/* Reads the rest of a message after ERROR_MORE_DATA, sized by what the pipe says is left of it (bytes that
 * are there, not a size anyone declared). */
static step continue_read(ph_conn *c, DWORD *bytes, DWORD *err)
{
    DWORD left = 0;
    size_t want;
    unsigned char *dst;
    step r;

    if (!PeekNamedPipe(c->pipe, NULL, 0, NULL, NULL, &left))
        left = 0;
    if (c->draining) {
        want = (left == 0 || left > PH_DRAIN_CHUNK) ? PH_DRAIN_CHUNK : left;
        ph__buf_reset(&c->in);
    } else {
        /* Never hold more than limit + 1 bytes: one byte past the limit proves a request too large. */
        size_t room = c->msg_limit + 1 - c->in.len;
        want = left != 0 ? left : (c->in.len < 4096 ? 4096 : c->in.len);
        if (want > room)
            want = room;
    }
    if (ph__buf_reserve(&c->in, want) != 0)
        return end(c, PH_END_NOMEM);
    account(c);
    dst = c->in.data + c->in.len;
    if (!lock_unless_ending(c))
        return STEP_END;
    c->state = PH_CONN_READING;
    r = issue_read_locked(c, dst, (DWORD)want, bytes, err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

/* Length framing: reads more of the current frame (or the next one's header) after what is buffered. The
 * read grows with what has arrived (doubling), never with what a header declares: a header alone commits
 * no memory. */
static step frame_read_more(ph_conn *c, DWORD *bytes, DWORD *err)
{
    size_t avail, want;
    step r;

    compact(c);
    avail = c->in.len;
    want = c->read_hint > avail ? c->read_hint : avail;
    if (want < PH_FIRST_READ)
        want = PH_FIRST_READ;
    if (avail >= 4 && want > 4 + c->frame_len - avail)
        want = 4 + c->frame_len - avail; /* the rest of this frame is enough */
    if (ph__buf_reserve(&c->in, want) != 0)
        return end(c, PH_END_NOMEM);
    account(c);
    if (!lock_unless_ending(c))
        return STEP_END;
    /* Nothing of a request buffered is waiting, as in message mode: the client may leave without blame. */
    c->state = avail > 0 ? PH_CONN_READING : PH_CONN_IDLE;
    r = issue_read_locked(c, c->in.data + c->in.len, (DWORD)want, bytes, err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Length framing: dispatches the first buffered frame if it is complete (or declares a length over the
 * limit), otherwise reads more. */
static step frame_next(ph_conn *c, DWORD *bytes, DWORD *err)
{
    size_t avail = c->in.len - c->in_off;

    if (avail > 0 && !c->frame_limits) {
        /* A new request's first bytes: as in message mode, refused once the stop began. */
        if (!take_request_limits(c))
            return end(c, PH_END_STOP);
        c->frame_limits = 1;
    }
    if (avail >= 4) {
        c->frame_len = get_le32(c->in.data + c->in_off);
        if (c->frame_len > c->msg_limit) {
            c->draining = 1;
            return dispatch(c, bytes, err);
        }
        if (avail - 4 >= c->frame_len)
            return dispatch(c, bytes, err);
    }
    return frame_read_more(c, bytes, err);
}

static step on_read(ph_conn *c, DWORD bytes, DWORD err, DWORD *out_bytes, DWORD *out_err)
{
    ph_server *s = c->server;

    if (err != 0 && err != ERROR_MORE_DATA)
        return io_failed(c, err, "ReadFile");
    if (s->cfg.framing == PH_FRAMING_LENGTH) {
        count(&s->c_bytes_in, (LONG64)bytes);
        c->in.len += bytes;
        c->in.data[c->in.len] = '\0';
        return frame_next(c, out_bytes, out_err);
    }
    if (c->msg_seen == 0 && !take_request_limits(c))
        return end(c, PH_END_STOP); /* a new request after the stop began is not in flight: refused */
    count(&s->c_bytes_in, (LONG64)bytes);
    c->msg_seen += bytes;
    if (!c->draining) {
        c->in.len += bytes;
        c->in.data[c->in.len] = '\0';
        if (c->in.len > c->msg_limit) {
            c->draining = 1;
            ph__buf_reset(&c->in);
        }
    }
    if (err == ERROR_MORE_DATA)
        return continue_read(c, out_bytes, out_err);
    return dispatch(c, out_bytes, out_err);
}

/* A read cancelled to give back a large idle buffer (it had not completed with data): read again, small. */
static step shrink_and_read(ph_conn *c, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;
    step r;

    free_buffers(c);
    c->read_hint = PH_FIRST_READ;
    if (ph__buf_reserve(&c->in, PH_FIRST_READ) != 0)
        return end(c, PH_END_NOMEM);
    account(c);
    if (!lock_unless_ending(c))
        return STEP_END;
    c->cancel = PH_CANCEL_NONE;
    c->shrink_due = 0;
    c->state = PH_CONN_IDLE;
    ph__timer_arm_locked(s, c, PH_CONN_IDLE, c->idle_due);
    r = issue_read_locked(c, c->in.data, PH_FIRST_READ, bytes, err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

/* ---------------------------------------------------------------------------------------------------------
 * Dispatching and writing.
 * ------------------------------------------------------------------------------------------------------- */

static step write_response(ph_conn *c, DWORD *bytes, DWORD *err)
{
    static const unsigned char empty[1] = {0};
    ph_server *s = c->server;
    const unsigned char *data = c->out.buf.data ? c->out.buf.data : empty;

    account(c);
    if (c->out.buf.len > 0x7fffffffu) {
        ph__log(&s->log, PH_LOG_ERROR, "connection %llu: response of %zu bytes is too large to send",
                (unsigned long long)c->id, c->out.buf.len);
        return end(c, PH_END_IO_ERROR);
    }
    if (!lock_unless_ending(c))
        return STEP_END;
    c->state = PH_CONN_WRITING;
    if (c->t_state == PH_CONN_WRITING && c->t_due != 0)
        ph__timer_arm_locked(s, c, PH_CONN_WRITING, 0); /* an earlier write's deadline must not match this one */
    memset(&c->ov, 0, sizeof(c->ov));
    if (ph__sys.WriteFile(c->pipe, data, (DWORD)c->out.buf.len, NULL, &c->ov)) {
        ReleaseSRWLockExclusive(&c->lock);
        if (!s->skip_on_success)
            return STEP_PENDING;
        *bytes = (DWORD)c->ov.InternalHigh;
        *err = 0;
        return STEP_INLINE;
    }
    *err = GetLastError();
    if (*err == ERROR_IO_PENDING) {
        /* The client is not reading: from now on the write timeout runs. */
        ph__timer_arm_locked(s, c, PH_CONN_WRITING, deadline_after(GetTickCount64(), c->write_ms));
        ReleaseSRWLockExclusive(&c->lock);
        return STEP_PENDING;
    }
    ReleaseSRWLockExclusive(&c->lock);
    *bytes = 0;
    return STEP_INLINE;
}

/* Runs the handler (or refuses the request) and starts the write of its response. */
static step dispatch(ph_conn *c, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;
    int framed = s->cfg.framing == PH_FRAMING_LENGTH;
    unsigned char *frame = framed ? c->in.data + c->in_off : c->in.data;
    unsigned char saved = 0;
    unsigned user_limit;
    ph_request req;
    ph_handler_result result;
    LARGE_INTEGER t0, t1;
    int refused = 0;

    if (!lock_unless_ending(c))
        return STEP_END;
    c->state = PH_CONN_DISPATCHING;
    ReleaseSRWLockExclusive(&c->lock);

    if (framed)
        c->msg_seen = c->draining ? c->frame_len : 4 + c->frame_len;
    /* The next request's first read is as large as this one (within bounds), so it arrives in one piece. */
    c->read_hint = c->msg_seen + PH_READ_SLACK < PH_FIRST_READ ? PH_FIRST_READ
                   : c->msg_seen + PH_READ_SLACK > PH_MAX_READ_HINT ? PH_MAX_READ_HINT
                                                                    : c->msg_seen + PH_READ_SLACK;
    ph__buf_reset(&c->out.buf);
    count(&s->c_requests, 1);

    /* The first request of a connection: its client's identity counts it against the per-user limit. */
    AcquireSRWLockShared(&s->lock);
    user_limit = s->limits.max_connections_per_user;
    ReleaseSRWLockShared(&s->lock);
    if (c->requests++ == 0 && user_limit != 0) {
        need_identity(c);
        if (user_add(s, c, user_limit) != 0) {
            refused = 1;
            count(&s->c_errors, 1);
            ph__log(&s->log, PH_LOG_WARN, "connection %llu: user %s already has %u connections; refusing it",
                    (unsigned long long)c->id, c->sid[0] ? c->sid : "(unknown)", user_limit);
            ph_response_err(&c->out, "too-many-connections",
                            "this user already has %u connections to the server, its limit", user_limit);
        }
    }

    memset(&req, 0, sizeof(req));
    req.data = c->draining ? NULL : (framed ? frame + 4 : frame);
    req.len = framed ? c->frame_len : (c->draining ? c->msg_seen : c->in.len);
    if (framed && !c->draining) {
        /* The frame's body, NUL-terminated in place for the handler's convenience (the byte after it, the
         * start of a pipelined frame or the buffer's own NUL, is put back afterwards). */
        saved = frame[4 + c->frame_len];
        frame[4 + c->frame_len] = '\0';
    }
    req.flags = c->draining ? PH_REQ_TOO_LARGE : 0u;
    req.max_message_bytes = c->msg_limit;
    req.connection_id = c->id;
    req.internal_ = c;

    if (c->requests == 1 && !refused) {
        /* The first request of the connection: conn_open sees it (the identity is known now) before the
         * handler does. */
        if (s->cfg.conn_open != NULL && s->cfg.conn_open(s->cfg.conn_ctx, &req, &c->conn_data) != 0) {
            refused = 1;
            c->conn_data = NULL;
            ph__log(&s->log, PH_LOG_INFO, "connection %llu: refused by the host's conn_open", (unsigned long long)c->id);
            ph_response_err(&c->out, "refused", "the server refused this connection");
        } else {
            c->opened = 1;
        }
    }
    if (refused) {
        result = PH_REPLY_CLOSE;
    } else {
        ph_worker *w = ph__current_worker();

        /* Reads this thread holds back for other connections must not wait for this handler. */
        if (w != NULL && w->server == s)
            ph__pool_handler_begin(w);
        c->in_handler = 1;
        QueryPerformanceCounter(&t0);
        result = s->cfg.handler(s->cfg.handler_ctx, &req, &c->out);
        QueryPerformanceCounter(&t1);
        c->in_handler = 0;
        if (w != NULL && w->server == s)
            ph__pool_handler_end(w);
        {
            /* A moving average of handler run times (1/8 weight per call): deferring reads only pays off,
             * and only keeps latency low, while handlers are quick. */
            LONGLONG us = s->qpc_freq.QuadPart > 0 ? (t1.QuadPart - t0.QuadPart) * 1000000 / s->qpc_freq.QuadPart : 0;
            LONG old = InterlockedCompareExchange(&s->handler_us, 0, 0);
            LONG now_us = us > 10000000 ? 10000000 : (LONG)us;
            InterlockedExchange(&s->handler_us, old + (now_us - old) / 8);
        }
    }
    if (framed && !c->draining) {
        /* The frame is consumed: the next one starts after it. */
        frame[4 + c->frame_len] = saved;
        c->in_off += 4 + c->frame_len;
        if (c->in_off == c->in.len) {
            c->in_off = 0;
            ph__buf_reset(&c->in);
        }
        c->frame_len = 0;
        c->frame_limits = 0;
    }

    c->close_why = PH_END_REPLIED_CLOSE;
    if (c->draining) {
        ph__log(&s->log, PH_LOG_WARN, "connection %llu: request of %zu bytes or more exceeds the limit of %zu; closing",
                (unsigned long long)c->id, c->msg_seen, c->msg_limit);
        count(&s->c_errors, 1);
        if (c->out.buf.len == 0)
            ph_response_err(&c->out, "too-large", "request of %zu bytes or more exceeds the limit of %zu bytes",
                            c->msg_seen, c->msg_limit);
        result = PH_REPLY_CLOSE;
        c->close_too_large = 1;
    }
    if (c->held != NULL) {
        if (result != PH_DEFER)
            ph__log(&s->log, PH_LOG_ERROR, "connection %llu: the handler deferred its request but returned %d; "
                    "the request stays held", (unsigned long long)c->id, (int)result);
        return hold(c, bytes, err);
    }
    if (result == PH_DEFER) {
        ph__log(&s->log, PH_LOG_ERROR, "connection %llu: the handler returned %d without deferring its request",
                (unsigned long long)c->id, (int)result);
        ph_response_err(&c->out, "internal", "the handler did not answer this request");
        result = PH_REPLY;
    }
    return respond(c, result, bytes, err);
}

/* Sends the response in c->out as result says (PH_REPLY, PH_NO_REPLY, PH_REPLY_CLOSE): the framing's length
 * first, then the write; PH_NO_REPLY goes on to the next request (in length framing it sends an empty frame). */
static step respond(ph_conn *c, ph_handler_result result, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;

    if (s->cfg.framing == PH_FRAMING_LENGTH) {
        /* One response frame per request, an empty one for PH_NO_REPLY: its 4-byte length goes in front. */
        ph_buf *out = &c->out.buf;

        if (result == PH_NO_REPLY) {
            ph__buf_reset(out);
            result = PH_REPLY;
        }
        if (out->len > 0x7fffffffu - 4u || ph__buf_reserve(out, 4) != 0) {
            ph__log(&s->log, PH_LOG_ERROR, "connection %llu: response of %zu bytes is too large to send",
                    (unsigned long long)c->id, out->len);
            return end(c, PH_END_IO_ERROR);
        }
        memmove(out->data + 4, out->data, out->len + 1);
        out->data[0] = (unsigned char)(out->len & 0xff);
        out->data[1] = (unsigned char)((out->len >> 8) & 0xff);
        out->data[2] = (unsigned char)((out->len >> 16) & 0xff);
        out->data[3] = (unsigned char)((out->len >> 24) & 0xff);
        out->len += 4;
    }
    if (result == PH_NO_REPLY)
        return start_request(c, 0, bytes, err);
    c->close_after_write = result == PH_REPLY_CLOSE;
    return write_response(c, bytes, err);
}

/* Length framing: makes room in `in` for the watch of a held request, which reads ahead what a pipelining
 * client sends (dispatched only after the reply), up to one frame of the largest size; the bytes to read, 0
 * when the buffer is full (or no memory: then nothing watches). Message mode watches with zero bytes. */
static DWORD held_room(ph_conn *c)
{
    size_t most = c->msg_limit + 4, want;

    if (c->server->cfg.framing != PH_FRAMING_LENGTH)
        return 0;
    compact(c);
    if (c->in.len >= most)
        return 0;
    want = c->read_hint < PH_FIRST_READ ? PH_FIRST_READ : c->read_hint;
    if (want > most - c->in.len)
        want = most - c->in.len;
    if (ph__buf_reserve(&c->in, want) != 0)
        return 0;
    account(c);
    return (DWORD)want;
}

/* Under c->lock, HELD: issues the watch (see the rules), into the room held_room made in length framing;
 * with no room there, nothing is pending and a wake posts a packet. */
static step watch_locked(ph_conn *c, DWORD room, DWORD *bytes, DWORD *err)
{
    static unsigned char nothing[1];
    step r;

    if (room == 0 && c->server->cfg.framing == PH_FRAMING_LENGTH) {
        c->held_io = PH_HELD_QUIET;
        return STEP_PENDING;
    }
    c->held_io = PH_HELD_WATCHING;
    r = issue_read_locked(c, room != 0 ? c->in.data + c->in.len : nothing, room, bytes, err);
    if (r == STEP_INLINE)
        c->held_io = PH_HELD_WAKING; /* it ended at once: this thread looks at it now (on_held) */
    return r;
}

/* Holds c for its deferred request: the reply may already be ready (completed during the handler);
 * otherwise HELD, watched, with a delayed reply's deadline armed. */
static step hold(ph_conn *c, DWORD *bytes, DWORD *err)
{
    DWORD room = held_room(c);
    step r;

    if (!lock_unless_ending(c))
        return STEP_END;
    if (c->held_ready) {
        ReleaseSRWLockExclusive(&c->lock);
        return take_reply(c, bytes, err);
    }
    c->state = PH_CONN_HELD;
    if (c->held_due != 0)
        ph__timer_arm_locked(c->server, c, PH_CONN_HELD, c->held_due);
    r = watch_locked(c, room, bytes, err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

/* The held connection's one packet (or its watch's inline end): take the reply, end, or watch on. A posted
 * wake carries ERROR_OPERATION_ABORTED, as does a cancelled watch. A zero-byte watch that ended with data
 * (ERROR_MORE_DATA, or 0 in byte mode) consumed nothing, except an empty message in message mode (0). */
static step on_held(ph_conn *c, DWORD bytes, DWORD err, DWORD *out_bytes, DWORD *out_err)
{
    ph_server *s = c->server;
    int framed = s->cfg.framing == PH_FRAMING_LENGTH;
    DWORD room = 0;
    step r;

    if (err != 0 && err != ERROR_MORE_DATA && err != ERROR_OPERATION_ABORTED)
        return io_failed(c, err, "ReadFile"); /* the client left: the finish cancels the held request */
    if (framed && bytes > 0) {
        count(&s->c_bytes_in, (LONG64)bytes);
        c->in.len += bytes;
        c->in.data[c->in.len] = '\0';
    }
    if (!framed && err == 0)
        c->held_empty = 1;
    if (framed && err == 0)
        room = held_room(c); /* read ahead on, while there is room */
    if (!lock_unless_ending(c))
        return STEP_END;
    if (c->held_ready) {
        ReleaseSRWLockExclusive(&c->lock);
        return take_reply(c, out_bytes, out_err);
    }
    if (framed && err == 0) {
        r = watch_locked(c, room, out_bytes, out_err);
    } else {
        /* The client sent before its reply in message mode (a zero-byte watch would end at once again), or
         * a wake found nothing to do: nothing watches now; the next wake posts a packet. */
        c->held_io = PH_HELD_QUIET;
        r = STEP_PENDING;
    }
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

/* The held request's reply is ready: it becomes c's response (the holder's buffer is swapped in), and the
 * handle is let go. The caller owns c, with no lock held. */
static step take_reply(ph_conn *c, DWORD *bytes, DWORD *err)
{
    ph_deferred *d = c->held;
    ph_handler_result result;
    ph_buf mine;

    c->held = NULL;
    AcquireSRWLockExclusive(&d->lock);
    result = d->result;
    mine = c->out.buf;
    c->out.buf = d->resp.buf;
    d->resp.buf = mine; /* what the handler wrote before it deferred goes, with the handle */
    d->conn = NULL;
    ReleaseSRWLockExclusive(&d->lock);
    AcquireSRWLockExclusive(&c->lock);
    c->state = PH_CONN_DISPATCHING; /* owned again; a cancel is seen before the write */
    c->held_ready = 0;
    c->held_due = 0;
    ReleaseSRWLockExclusive(&c->lock);
    count(&c->server->c_held, -1);
    ph__deferred_unref(d);
    return respond(c, result, bytes, err);
}

int ph__conn_reply_ready_locked(ph_conn *c, ULONGLONG due)
{
    if (c->cancel == PH_CANCEL_END)
        return PH_ECANCELED; /* it ends without a reply: its finish is under way */
    if (due == 0) {
        c->held_ready = 1;
        if (c->state == PH_CONN_HELD)
            wake_held_locked(c);
    } else {
        /* Still dispatching: hold() arms it when the handler has returned. */
        c->held_due = due;
        if (c->state == PH_CONN_HELD)
            ph__timer_arm_locked(c->server, c, PH_CONN_HELD, due);
    }
    return 0;
}
const ph_client_info *ph_request_client(const ph_request *req)
{
    static const ph_client_info unknown = {0, 0, ""};
    ph_conn *c;

    if (req == NULL || req->internal_ == NULL)
        return &unknown;
    /* Only the pool thread dispatching this connection's request gets here, so no lock is needed. */
    c = req->internal_;
    need_identity(c);
    return &c->info;
}

/* Lingers after a last reply on an instance that will be re-armed: a read pending to see the client leave
 * (what it still sends is discarded), until the linger's end. */
static step linger(ph_conn *c, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;
    ULONGLONG now = GetTickCount64();
    uint32_t idle_ms;
    step r;

    ph__buf_reset(&c->in);
    c->in_off = 0;
    if (ph__buf_reserve(&c->in, PH_FIRST_READ) != 0)
        return end(c, PH_END_NOMEM);
    account(c);
    AcquireSRWLockShared(&s->lock);
    idle_ms = s->limits.idle_timeout_ms;
    ReleaseSRWLockShared(&s->lock);
    if (!lock_unless_ending(c))
        return STEP_END;
    if (c->state != PH_CONN_LINGERING) {
        /* Bounded by the write timeout (the time a client has to read a reply), or else the idle one. */
        c->state = PH_CONN_LINGERING;
        c->linger_end = deadline_after(now, c->write_ms != PH_INFINITE ? c->write_ms : idle_ms);
        ph__timer_arm_locked(s, c, PH_CONN_LINGERING, c->linger_end);
    }
    r = issue_read_locked(c, c->in.data, (DWORD)(c->in.cap - 1), bytes, err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

static step on_written(ph_conn *c, DWORD bytes, DWORD err, DWORD *out_bytes, DWORD *out_err)
{
    ph_server *s = c->server;

    if (err != 0 || bytes != c->out.buf.len)
        return io_failed(c, err ? err : ERROR_WRITE_FAULT, "WriteFile");
    count(&s->c_bytes_out, (LONG64)bytes);
    if (!c->close_after_write)
        return start_request(c, 1, out_bytes, out_err);
    /* The reply must reach the client: closing the instance keeps it readable; re-arming it would discard
     * it, so then wait for the client to leave first. */
    if (ph__listener_may_close(s))
        return end(c, c->close_why);
    return linger(c, out_bytes, out_err);
}

static step on_connected(ph_conn *c, DWORD err, DWORD *bytes, DWORD *out_err)
{
    ph_server *s = c->server;

    if (err != 0) {
        c->last_err = err;
        return end(c, PH_END_ACCEPT_FAILED);
    }
    if (ph__listener_accepted(s, c) != 0)
        return end(c, PH_END_STOP);
    AcquireSRWLockExclusive(&c->lock);
    c->state = PH_CONN_IDLE; /* connected; start_request arms the real deadline */
    ReleaseSRWLockExclusive(&c->lock);
    c->counted_active = 1;
    count(&s->c_total, 1);
    count(&s->c_active, 1);
    ph__log(&s->log, PH_LOG_DEBUG, "connection %llu accepted", (unsigned long long)c->id);
    return start_request(c, 0, bytes, out_err);
}

void ph__conn_on_completion(ph_conn *c, DWORD bytes, DWORD err)
{
    ph_server *s = c->server;

    for (;;) {
        ph_conn_state state;
        ph_cancel cancel;
        ph_end why;
        step r = STEP_PENDING;

        AcquireSRWLockExclusive(&c->lock);
        state = c->state;
        cancel = c->cancel;
        why = c->cancel_why;
        if (cancel == PH_CANCEL_END && why == PH_END_TRIM && state == PH_CONN_ACCEPTING && err == 0) {
            /* Trimmed after its client had connected: the client is there, serve it. */
            c->cancel = cancel = PH_CANCEL_NONE;
            c->cancel_why = PH_END_NONE;
        }
        if (cancel == PH_CANCEL_SHRINK && state == PH_CONN_IDLE && err == ERROR_OPERATION_ABORTED) {
            ReleaseSRWLockExclusive(&c->lock);
            r = shrink_and_read(c, &bytes, &err);
            goto next;
        }
        if (cancel == PH_CANCEL_SHRINK)
            c->cancel = cancel = PH_CANCEL_NONE; /* the read had completed with data: nothing to shrink now */
        ReleaseSRWLockExclusive(&c->lock);

        /* Ending first: the timer, the trim or a stop cancelled this operation, whatever it completed with. */
        if (cancel == PH_CANCEL_END) {
            conn_finish(c, why);
            return;
        }
        switch (state) {
        case PH_CONN_ACCEPTING:
            r = on_connected(c, err, &bytes, &err);
            break;
        case PH_CONN_IDLE:
        case PH_CONN_READING:
            r = on_read(c, bytes, err, &bytes, &err);
            break;
        case PH_CONN_LINGERING:
            /* Length framing: a pipelining client may still be sending (the rest of an oversized frame, or
             * requests written before it saw the last reply): discard it and keep waiting. A message-mode
             * client sends after it has read the reply, so anything it sends ends the linger, as its leaving
             * does. */
            if (s->cfg.framing == PH_FRAMING_LENGTH && err == 0 && bytes > 0) {
                r = linger(c, &bytes, &err);
                break;
            }
            r = end(c, PH_END_LINGER_DONE);
            break;
        case PH_CONN_WRITING:
            r = on_written(c, bytes, err, &bytes, &err);
            break;
        case PH_CONN_HELD:
            r = on_held(c, bytes, err, &bytes, &err);
            break;
        case PH_CONN_PARKED:
        case PH_CONN_DISPATCHING:
            /* No operation is outstanding: a packet here without a cancel is a bug, not a client's doing. */
            ph__log(&s->log, PH_LOG_ERROR, "connection %llu: unexpected completion in state %d",
                    (unsigned long long)c->id, (int)state);
            return;
        }
    next:
        if (r == STEP_END) {
            conn_finish(c, c->ending);
            return;
        }
        if (r != STEP_INLINE)
            return;
    }
}

ULONGLONG ph__conn_on_deadline(ph_conn *c, ULONGLONG now)
{
    switch (c->state) {
    case PH_CONN_IDLE:
    case PH_CONN_READING:
        if (c->idle_due != 0 && now >= c->idle_due) {
            cancel_locked(c, c->requests == 0 ? PH_END_FIRST_REQUEST : PH_END_IDLE);
            return 0;
        }
        if (c->state == PH_CONN_IDLE && c->shrink_due != 0 && now >= c->shrink_due && c->cancel == PH_CANCEL_NONE) {
            /* Idle with large buffers: cancel the read to give them back (shrink_and_read). */
            c->shrink_due = 0;
            c->cancel = PH_CANCEL_SHRINK;
            CancelIoEx(c->pipe, &c->ov);
        }
        return c->idle_due;
    case PH_CONN_WRITING:
        cancel_locked(c, PH_END_WRITE_TIMEOUT);
        return 0;
    case PH_CONN_LINGERING:
        cancel_locked(c, PH_END_LINGER_DONE);
        return 0;
    case PH_CONN_HELD:
        /* A delayed reply (ph_deferred_complete_after) is due: the owner takes it. Cancelled, it is moot
         * (never return a due tick already past: the timer would find it due again at once). */
        if (c->held_due == 0 || c->cancel == PH_CANCEL_END)
            return 0;
        if (now < c->held_due)
            return c->held_due;
        c->held_due = 0;
        c->held_ready = 1;
        wake_held_locked(c);
        return 0;
    case PH_CONN_ACCEPTING:
    case PH_CONN_DISPATCHING:
    case PH_CONN_PARKED:
        break;
    }
    return 0;
}

void ph__conn_trim_locked(ph_server *s, unsigned n)
{
    ph_conn *c;

    for (c = s->conns; c != NULL && n > 0; c = c->next) {
        AcquireSRWLockExclusive(&c->lock);
        if (c->state == PH_CONN_ACCEPTING && c->cancel == PH_CANCEL_NONE) {
            cancel_locked(c, PH_END_TRIM);
            n--;
        }
        ReleaseSRWLockExclusive(&c->lock);
    }
}

void ph__conn_stop_walk_locked(ph_server *s, ULONGLONG now)
{
    int past = now >= s->stop_deadline;
    ph_conn *c;

    for (c = s->conns; c != NULL; c = c->next) {
        AcquireSRWLockExclusive(&c->lock);
        if (c->cancel == PH_CANCEL_END) {
            /* Already cancelled; its owner ends it. */
        } else if (past || c->state == PH_CONN_ACCEPTING || c->state == PH_CONN_IDLE ||
                   c->state == PH_CONN_LINGERING || c->state == PH_CONN_PARKED) {
            /* Between requests nothing is in flight: the connection ends now, and its instance is closed
             * (never disconnected), so a reply the client has not read yet stays readable. At the drain
             * deadline whatever is left goes (a handler still running finds the cancel when it returns). */
            cancel_locked(c, PH_END_STOP);
        }
        /* Reading the rest of a request, dispatching or writing: finish within the deadline. */
        ReleaseSRWLockExclusive(&c->lock);
    }
}
