/* conn.c — one connection's life: accept, read and reassemble, dispatch, write, linger, then close or reuse.
 *
 * The rules; check every change against them.
 * - Ownership. A connection is owned by the system while an operation (ConnectNamedPipe, ReadFile,
 *   WriteFile) is outstanding, otherwise by the one thread that took its completion or whose operation
 *   completed at once, or, between a response and its next read, by the pool thread it was deferred to
 *   (pool.c; never across a wait). Only the owner changes its buffers, issues its next operation, closes,
 *   re-arms or frees it.
 * - c->lock guards state, closing, unread_reply and the linger fields. The owner issues every operation
 *   while holding it, after checking closing; the timer and the stop walk take it before they cancel. A
 *   cancel therefore either finds the operation outstanding (CancelIoEx ends it) or is seen by the owner
 *   before it issues the next one: no cancel is lost and none has to be repeated.
 * - Who may cancel: the timer thread (idle, write and linger deadlines) and the stop walk (stop rules and
 *   the drain deadline). Both set closing first. closing is cleared only when the owner re-arms the instance
 *   for a new client, under server->lock, which the stop walk also holds.
 * - Every completion checks closing first: a cancelled connection is closed whatever its operation returned.
 * - When an instance counts as gone: when conn_free has taken it out of the deadline heap, the list and the
 *   live count. server->live also counts reservations (instances being created), so a stop is drained only
 *   when no instance exists or is being created. An instance whose creation ends after the stop began is
 *   closed before it ever accepts.
 * - Who frees: the owner, with no operation outstanding. Others reach a connection only under a lock that
 *   keeps it alive: the timer under server->tlock (conn_free leaves the heap under it first), the stop walk
 *   under server->lock (conn_free leaves the list under it).
 * - Lock order: server->lock, then c->lock, then server->tlock. The timer thread, which holds tlock when it
 *   finds a connection due, only try-locks c->lock.
 * - Completions. With FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (when the probe at start found it well-behaved),
 *   an operation that completes at once queues no packet and its result is handled by the issuer, in the
 *   same loop; a read ending at once with ERROR_MORE_DATA is handled the way the probe found the system
 *   queues it. Accepts are never handled inline: a packet is posted instead, so that handlers run only on
 *   pool threads.
 * - Failures to create or arm an instance are reported to the refill, which backs off and logs once per
 *   change (failing, recovered); they never loop.
 * - Length framing (PH_FRAMING_LENGTH, a byte-mode pipe): in keeps what was read and not yet consumed, which
 *   may be part of a frame or several pipelined ones. A frame is consumed when its handler returns; the next
 *   buffered frame is dispatched only after the previous response is written, so responses go out in
 *   request order. Every request gets exactly one response frame (PH_NO_REPLY sends an empty one), since a
 *   pipelining client matches responses to requests by position. A declared length over the limit is
 *   answered without reading the body, and the connection closes. Buffered frames not yet dispatched when
 *   the stop begins are not in flight: they are refused like any new request.
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

/* A new connection's first read; later first reads follow the size of the last request (up to 1 MiB, and
 * never past max_message_bytes + 1), so a client that sends 64 KiB requests has each read in one piece, and
 * an idle connection pins only a buffer as large as its own requests. */
#define PH_FIRST_READ 1024u
#define PH_MAX_READ_HINT ((size_t)1024 * 1024)
#define PH_READ_SLACK 256u /* a little more than the last request: the next one may be a few bytes longer */
#define PH_DRAIN_CHUNK 65536u
/* A re-armed instance keeps its buffers unless a big message made them larger than this. */
#define PH_KEEP_BUFFER 65536u
/* How often a lingering connection looks whether its client has read the last reply (doubling). */
#define PH_LINGER_POLL_MIN 10u
#define PH_LINGER_POLL_MAX 250u
/* Reads are deferred (pool.c) only while handlers take less than this on average. */
#define PH_DEFER_MAX_HANDLER_US 200
/* Accepts are counted in windows this long to see a burst coming (see on_connected). */
#define PH_BURST_WINDOW_MS 50u

/* What issuing an operation led to. */
typedef enum op_result {
    OP_PENDING, /* a completion packet will come (or the connection is gone) */
    OP_INLINE   /* it completed at once: the caller handles *bytes / *err now */
} op_result;

static op_result conn_start_request(ph_conn *c, int replied, DWORD *bytes, DWORD *err);
static op_result conn_dispatch(ph_conn *c, DWORD *bytes, DWORD *err);
static DWORD conn_accept(ph_conn *c);

static void count(volatile LONG64 *counter, LONG64 delta)
{
    InterlockedExchangeAdd64(counter, delta);
}

static ULONGLONG deadline_after(ULONGLONG now, uint32_t ms)
{
    return ms == PH_INFINITE ? 0 : now + ms;
}

/* Under c->lock: the cancel used by the timer and the stop walk. */
static void cancel_locked(ph_conn *c, ph_close_reason why)
{
    if (c->closing == PH_CLOSE_NONE)
        c->closing = why;
    if (c->state != PH_CONN_DISPATCHING)
        CancelIoEx(c->pipe, &c->ov);
}

/* FILE_PIPE_LOCAL_INFORMATION (ntifs.h), queried with NtQueryInformationFile class 24. */
typedef struct ph_pipe_local_info {
    ULONG NamedPipeType, NamedPipeConfiguration, MaximumInstances, CurrentInstances, InboundQuota,
        ReadDataAvailable, OutboundQuota, WriteQuotaAvailable, NamedPipeState, NamedPipeEnd;
} ph_pipe_local_info;
typedef struct ph_io_status {
    union {
        LONG Status;
        PVOID Pointer;
    } u;
    ULONG_PTR Information;
} ph_io_status;
typedef LONG(WINAPI *ph_nt_query_file)(HANDLE, ph_io_status *, PVOID, ULONG, int);

/* Unread data in our outbound queue is charged to its quota, so the whole quota being available again means
 * the client has read every reply. An unknown answer (the query failing, or Wine, which reports no quota at
 * all) counts as "not yet": the caller then waits for the client to leave, never discarding a reply. */
static INIT_ONCE g_query_once = INIT_ONCE_STATIC_INIT;
static ph_nt_query_file g_query; /* written once, inside InitOnceExecuteOnce, which orders it before readers */

static BOOL CALLBACK resolve_query(PINIT_ONCE once, PVOID param, PVOID *context)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    FARPROC proc = ntdll ? GetProcAddress(ntdll, "NtQueryInformationFile") : NULL;

    (void)once;
    (void)param;
    (void)context;
    /* GetProcAddress hands out every export as a FARPROC; the real type is NtQueryInformationFile's. */
    g_query = proc ? (ph_nt_query_file)(void (*)(void))proc : NULL;
    return TRUE;
}

int ph__reply_consumed(HANDLE pipe)
{
    ph_pipe_local_info info;
    ph_io_status io;

    if (!InitOnceExecuteOnce(&g_query_once, resolve_query, NULL, NULL) || g_query == NULL)
        return 0;
    memset(&info, 0, sizeof(info));
    if (g_query(pipe, &io, &info, sizeof(info), 24 /* FilePipeLocalInformation */) < 0)
        return 0;
    return info.OutboundQuota != 0 && info.WriteQuotaAvailable == info.OutboundQuota;
}

/* Under s->lock: the server takes clients and requests (a client may connect to the first instance while
 * start is still creating the others). */
static int open_locked(const ph_server *s)
{
    return s->state == PH_SRV_RUNNING || (s->state == PH_SRV_STARTING && !s->stop_requested);
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

/* Under s->lock: a stop waits until no instance exists or is being created. */
static void release_live_locked(ph_server *s)
{
    s->live--;
    if (s->live == 0 && s->state == PH_SRV_STOPPING)
        SetEvent(s->drained);
}

/* The instance is gone: out of the heap, the list and the live count, then its handle and memory. The
 * caller has already taken it out of the instance and accepting counts. */
static void conn_free(ph_conn *c)
{
    ph_server *s = c->server;

    ph__timer_remove(s, c);
    AcquireSRWLockExclusive(&s->lock);
    unlink_locked(s, c);
    release_live_locked(s);
    ReleaseSRWLockExclusive(&s->lock);
    CloseHandle(c->pipe);
    ph__buf_free(&c->in);
    ph__buf_free(&c->out.buf);
    free(c);
}

/* An accepting instance given up (stop, or ConnectNamedPipe failing): uncount and free it. */
static void conn_drop_accepting(ph_conn *c)
{
    ph_server *s = c->server;

    AcquireSRWLockExclusive(&s->lock);
    s->accepting--;
    s->instances--;
    ReleaseSRWLockExclusive(&s->lock);
    conn_free(c);
}

/* Refill bookkeeping: a failure starts or extends the back-off and is logged when failing begins; the first
 * success afterwards is logged once with the count. */
static void refill_failed(ph_server *s, DWORD err, const char *call)
{
    ULONGLONG at;
    unsigned n;

    AcquireSRWLockExclusive(&s->lock);
    n = ++s->refill_failures;
    s->refill_error = err;
    s->refill_backoff = s->refill_backoff == 0 ? 10u : (s->refill_backoff >= 500u ? 1000u : 2u * s->refill_backoff);
    at = GetTickCount64() + s->refill_backoff;
    s->refill_at = at;
    ReleaseSRWLockExclusive(&s->lock);
    if (n == 1)
        ph__log_win32(&s->log, PH_LOG_ERROR, err, call,
                      "cannot add a waiting instance to %s; retrying every 10 ms to 1 s until it works",
                      s->pipe_name);
    ph__timer_kick(s, at);
}

/* Ends the current client's session on this instance. The instance is re-armed for the next client when
 * the server wants more waiting instances (saving a CreateNamedPipeW per reconnect), otherwise closed.
 * failed counts the connection in errors_total. The caller owns c; no operation is outstanding. */
static void conn_close(ph_conn *c, int failed)
{
    ph_server *s = c->server;
    int was_connected, reuse;
    DWORD err;

    AcquireSRWLockExclusive(&s->lock);
    was_connected = c->state != PH_CONN_ACCEPTING;
    if (!was_connected)
        s->accepting--;
    reuse = open_locked(s) && s->accepting < s->pending_target && s->refill_at == 0;
    /* Under s->lock, which the stop walk and the trim also hold: neither can slip between this decision and
     * the accept, whose closing check then sees them. */
    AcquireSRWLockExclusive(&c->lock);
    if (reuse && c->closing != PH_CLOSE_TRIM) {
        s->accepting++;
        c->state = PH_CONN_ACCEPTING;
        c->closing = PH_CLOSE_NONE;
        c->unread_reply = 0;
    } else {
        reuse = 0;
        s->instances--;
    }
    ReleaseSRWLockExclusive(&c->lock);
    ReleaseSRWLockExclusive(&s->lock);

    /* The error first: whoever sees this connection gone from connections_active also sees it counted. */
    if (failed)
        count(&s->c_errors, 1);
    if (was_connected) {
        count(&s->c_active, -1);
        ph__log(&s->log, PH_LOG_DEBUG, "connection %llu closed%s", (unsigned long long)c->id,
                failed ? " after an error" : "");
        /* Discards anything the client has not read; callers linger first when a reply must arrive. */
        ph__sys.DisconnectNamedPipe(c->pipe);
    }
    if (!reuse) {
        conn_free(c);
        return;
    }
    c->id = 0;
    c->draining = 0;
    c->msg_seen = 0;
    c->frame_len = 0;
    c->frame_limits = 0;
    c->close_after_write = 0;
    c->have_identity = 0;
    c->read_hint = PH_FIRST_READ;
    c->sid[0] = '\0';
    memset(&c->info, 0, sizeof(c->info));
    if (c->in.cap > PH_KEEP_BUFFER)
        ph__buf_free(&c->in);
    if (c->out.buf.cap > PH_KEEP_BUFFER)
        ph__buf_free(&c->out.buf);
    ph__buf_reset(&c->in);
    ph__buf_reset(&c->out.buf);
    err = conn_accept(c);
    if (err != 0)
        refill_failed(s, err, "ConnectNamedPipe");
}

/* A Win32 call on c failed (at once or in its completion): log it unless the client simply left. */
static void conn_fail(ph_conn *c, DWORD err, const char *call)
{
    ph_server *s = c->server;
    int client_left = err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA || err == ERROR_PIPE_NOT_CONNECTED;
    /* The client abandoned a request if it left while we read part of one or wrote its response. After the
     * last response (idle or lingering) leaving is exactly what it should do. */
    int mid_request = c->state == PH_CONN_READING || c->state == PH_CONN_WRITING;

    if (!client_left && err != ERROR_OPERATION_ABORTED)
        ph__log_win32(&s->log, PH_LOG_WARN, err, call, "connection %llu", (unsigned long long)c->id);
    else if (client_left && mid_request)
        ph__log(&s->log, PH_LOG_INFO, "connection %llu: client left in the middle of a request",
                (unsigned long long)c->id);
    conn_close(c, !client_left || mid_request);
}

/* Starts the accept on an instance counted as accepting. Returns 0 (pending, or given up because the server
 * is stopping) or the Win32 error of a failed ConnectNamedPipe, after dropping the instance. */
static DWORD conn_accept(ph_conn *c)
{
    ph_server *s = c->server;
    DWORD err = 0;
    int tries;

    AcquireSRWLockExclusive(&c->lock);
    if (c->closing != PH_CLOSE_NONE) {
        ReleaseSRWLockExclusive(&c->lock);
        conn_drop_accepting(c);
        return 0;
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
    if (err == 0)
        err = ERROR_GEN_FAILURE;
    conn_drop_accepting(c);
    return err;
}

DWORD ph__conn_add_instance(ph_server *s, int first)
{
    DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
    DWORD pipe_mode = (s->cfg.framing == PH_FRAMING_LENGTH ? PIPE_TYPE_BYTE | PIPE_READMODE_BYTE
                                                           : PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE) |
                      PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    DWORD max = s->cfg.max_instances >= 255 ? PIPE_UNLIMITED_INSTANCES : s->cfg.max_instances;
    DWORD err;
    ph_conn *c;
    int open;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        goto fail;
    }
    c->server = s;
    c->t_idx = -1;
    c->read_hint = PH_FIRST_READ;
    InitializeSRWLock(&c->lock);
    c->pipe = ph__sys.CreateNamedPipeW(s->wpipe_name, open_mode, pipe_mode, max, s->cfg.buffer_size,
                                       s->cfg.buffer_size, 0, &s->sa);
    if (c->pipe == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        if (err == 0)
            err = ERROR_GEN_FAILURE;
        goto fail;
    }
    if (ph__sys.CreateIoCompletionPort(c->pipe, s->iocp, 0, 0) == NULL ||
        (s->skip_on_success &&
         !SetFileCompletionNotificationModes(c->pipe, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE))) {
        err = GetLastError();
        goto fail;
    }
    AcquireSRWLockExclusive(&s->lock);
    /* A stop that began while this instance was being created must not find it accepting afterwards. */
    open = open_locked(s);
    c->state = PH_CONN_ACCEPTING;
    if (open)
        link_locked(s, c);
    ReleaseSRWLockExclusive(&s->lock);
    if (!open) {
        conn_drop_accepting(c);
        return 0;
    }
    return conn_accept(c);

fail:
    /* Release the reservation the caller made; the instance never existed. */
    if (c != NULL && c->pipe != INVALID_HANDLE_VALUE)
        CloseHandle(c->pipe);
    free(c);
    AcquireSRWLockExclusive(&s->lock);
    s->accepting--;
    s->instances--;
    release_live_locked(s);
    ReleaseSRWLockExclusive(&s->lock);
    return err;
}

DWORD ph__conn_refill(ph_server *s)
{
    for (;;) {
        unsigned recovered = 0;
        DWORD last = 0, err;
        int open;

        AcquireSRWLockExclusive(&s->lock);
        open = open_locked(s) && s->refill_at == 0 && s->accepting < s->pending_target &&
               (s->cfg.max_instances >= 255 || s->instances < s->cfg.max_instances);
        if (open) {
            s->live++;
            s->instances++;
            s->accepting++;
        }
        ReleaseSRWLockExclusive(&s->lock);
        if (!open)
            return 0;

        err = ph__conn_add_instance(s, 0);
        if (err != 0) {
            refill_failed(s, err, "CreateNamedPipeW/ConnectNamedPipe");
            return err;
        }
        AcquireSRWLockExclusive(&s->lock);
        if (s->refill_failures != 0) {
            recovered = s->refill_failures;
            last = s->refill_error;
            s->refill_failures = 0;
            s->refill_backoff = 0;
        }
        ReleaseSRWLockExclusive(&s->lock);
        if (recovered != 0)
            ph__log(&s->log, PH_LOG_INFO, "%s has waiting instances again, after %u failed attempts (last error %lu)",
                    s->pipe_name, recovered, (unsigned long)last);
    }
}

/* At a request's first bytes, in one look at the server: whether it still takes requests, and the limits
 * in force now, which are this request's (even if its read was posted before a ph_server_set_limits). */
static int take_request_limits(ph_conn *c)
{
    ph_server *s = c->server;
    int open;

    AcquireSRWLockShared(&s->lock);
    open = open_locked(s);
    c->msg_limit = s->limits.max_message_bytes;
    c->write_ms = s->limits.write_timeout_ms;
    ReleaseSRWLockShared(&s->lock);
    return open;
}

/* Issues a read into buf under c->lock (the caller checked closing and set the state). */
static op_result issue_read_locked(ph_conn *c, void *buf, DWORD want, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;

    memset(&c->ov, 0, sizeof(c->ov));
    if (ph__sys.ReadFile(c->pipe, buf, want, NULL, &c->ov)) {
        if (!s->skip_on_success)
            return OP_PENDING;
        *bytes = (DWORD)c->ov.InternalHigh;
        *err = 0;
        return OP_INLINE;
    }
    *err = GetLastError();
    if (*err == ERROR_IO_PENDING)
        return OP_PENDING;
    /* ERROR_MORE_DATA is a warning status: the read completed, and whether a packet follows when completions
     * skip the port on success is what the probe found out. */
    if (*err == ERROR_MORE_DATA && (!s->skip_on_success || s->more_data_queues))
        return OP_PENDING;
    *bytes = (DWORD)c->ov.InternalHigh;
    if (*err != ERROR_MORE_DATA)
        *bytes = 0;
    return OP_INLINE;
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

/* Waits for the next request, or, when the server is stopping, lingers until the client has taken its last
 * reply (or closes at once when there is none). replied: a response was just written. */
static op_result conn_start_request(ph_conn *c, int replied, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;
    ULONGLONG now = GetTickCount64();
    uint32_t idle_ms, write_ms;
    ULONGLONG stop_deadline;
    int running, framed = s->cfg.framing == PH_FRAMING_LENGTH;
    size_t want;
    op_result r;

    AcquireSRWLockShared(&s->lock);
    running = open_locked(s);
    idle_ms = s->limits.idle_timeout_ms;
    write_ms = s->limits.write_timeout_ms;
    c->msg_limit = s->limits.max_message_bytes;
    c->write_ms = write_ms;
    stop_deadline = s->stop_deadline;
    ReleaseSRWLockShared(&s->lock);

    c->draining = 0;
    c->msg_seen = 0;
    /* Length framing keeps pipelined bytes already read, unless lingering (they are refused). */
    if (!framed || !running)
        ph__buf_reset(&c->in);
    want = c->read_hint;
    if (want > c->msg_limit + (framed ? 4u : 1u))
        want = c->msg_limit + (framed ? 4u : 1u);
    if (!running)
        want = 1; /* lingering: the read only tells when the client leaves */
    if (ph__buf_reserve(&c->in, want) != 0) {
        ph__log(&s->log, PH_LOG_ERROR, "connection %llu: out of memory reading a request", (unsigned long long)c->id);
        conn_close(c, 1);
        return OP_PENDING;
    }

    AcquireSRWLockExclusive(&c->lock);
    if (replied)
        c->unread_reply = 1;
    if (c->closing != PH_CLOSE_NONE || (!running && !c->unread_reply)) {
        ReleaseSRWLockExclusive(&c->lock);
        conn_close(c, c->closing == PH_CLOSE_IDLE || c->closing == PH_CLOSE_WRITE_TIMEOUT);
        return OP_PENDING;
    }
    if (running && c->in.len > 0) {
        /* Length framing: the next request (or its start) is already here. It is handled as a read of no
         * bytes that completed at once (on_read, from the completion loop), so no call chain grows per
         * pipelined request. */
        c->state = PH_CONN_READING;
        ph__timer_arm_locked(s, c, PH_CONN_IDLE, deadline_after(now, idle_ms));
        ReleaseSRWLockExclusive(&c->lock);
        *bytes = 0;
        *err = 0;
        return OP_INLINE;
    }
    if (running) {
        ph_worker *w;

        c->state = PH_CONN_IDLE;
        ph__timer_arm_locked(s, c, PH_CONN_IDLE, deadline_after(now, idle_ms));
        /* Just answered, handlers are quick, and this pool thread has a slot free: leave the read to the
         * thread, which posts it after a look at the port (pool.c). */
        if (replied && (w = ph__current_worker()) != NULL && w->server == s && w->ndeferred < defer_slots(s) &&
            InterlockedCompareExchange(&s->handler_us, 0, 0) < PH_DEFER_MAX_HANDLER_US) {
            c->deferred_want = (DWORD)want;
            w->deferred[w->ndeferred++] = c;
            ReleaseSRWLockExclusive(&c->lock);
            return OP_PENDING;
        }
    } else {
        /* Stopping with a reply the client may not have read: wait for it to leave, bounded. */
        ULONGLONG end = deadline_after(now, write_ms);
        c->state = PH_CONN_LINGERING;
        c->linger_end = (end == 0 || end > stop_deadline) ? stop_deadline : end;
        c->linger_poll = PH_LINGER_POLL_MIN;
        ph__timer_arm_locked(s, c, PH_CONN_LINGERING, now + c->linger_poll);
    }
    r = issue_read_locked(c, c->in.data + c->in.len, (DWORD)want, bytes, err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

void ph__conn_post_deferred(ph_conn *c)
{
    DWORD bytes = 0, err = 0;
    op_result r;

    AcquireSRWLockExclusive(&c->lock);
    if (c->closing != PH_CLOSE_NONE) {
        ReleaseSRWLockExclusive(&c->lock);
        conn_close(c, c->closing == PH_CLOSE_IDLE || c->closing == PH_CLOSE_WRITE_TIMEOUT);
        return;
    }
    r = issue_read_locked(c, c->in.data + c->in.len, c->deferred_want, &bytes, &err);
    ReleaseSRWLockExclusive(&c->lock);
    if (r == OP_INLINE)
        ph__conn_on_completion(c, bytes, err);
}

/* Reads the rest of a message after ERROR_MORE_DATA, sized by what the pipe says is left of it. */
static op_result conn_continue_read(ph_conn *c, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;
    DWORD left = 0;
    size_t want;
    unsigned char *dst;
    op_result r;

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
    if (ph__buf_reserve(&c->in, want) != 0) {
        ph__log(&s->log, PH_LOG_ERROR, "connection %llu: out of memory reading a request", (unsigned long long)c->id);
        conn_close(c, 1);
        return OP_PENDING;
    }
    dst = c->in.data + c->in.len;
    AcquireSRWLockExclusive(&c->lock);
    if (c->closing != PH_CLOSE_NONE) {
        ReleaseSRWLockExclusive(&c->lock);
        conn_close(c, c->closing == PH_CLOSE_IDLE || c->closing == PH_CLOSE_WRITE_TIMEOUT);
        return OP_PENDING;
    }
    c->state = PH_CONN_READING;
    r = issue_read_locked(c, dst, (DWORD)want, bytes, err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

/* Length framing: reads more of the current frame (or the next one's header) after what is buffered. Once the
 * header is in, the read asks for the rest of the frame at least, so a frame arrives in as few reads as the
 * pipe allows; reading past it only takes pipelined frames early. */
static op_result frame_read_more(ph_conn *c, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;
    size_t want = c->in.len >= 4 ? 4 + c->frame_len - c->in.len : c->read_hint;
    op_result r;

    if (want < PH_FIRST_READ)
        want = PH_FIRST_READ;
    if (ph__buf_reserve(&c->in, want) != 0) {
        ph__log(&s->log, PH_LOG_ERROR, "connection %llu: out of memory reading a request", (unsigned long long)c->id);
        conn_close(c, 1);
        return OP_PENDING;
    }
    AcquireSRWLockExclusive(&c->lock);
    if (c->closing != PH_CLOSE_NONE) {
        ReleaseSRWLockExclusive(&c->lock);
        conn_close(c, c->closing == PH_CLOSE_IDLE || c->closing == PH_CLOSE_WRITE_TIMEOUT);
        return OP_PENDING;
    }
    /* Nothing of a request buffered is waiting, as in message mode: the client may leave without blame. */
    c->state = c->in.len > 0 ? PH_CONN_READING : PH_CONN_IDLE;
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
static op_result frame_next(ph_conn *c, DWORD *bytes, DWORD *err)
{
    if (c->in.len > 0 && !c->frame_limits) {
        /* A new request's first bytes: as in message mode, refused by closing once the stop began. */
        if (!take_request_limits(c)) {
            conn_close(c, 0);
            return OP_PENDING;
        }
        c->frame_limits = 1;
    }
    if (c->in.len >= 4) {
        c->frame_len = get_le32(c->in.data);
        if (c->frame_len > c->msg_limit) {
            c->draining = 1;
            return conn_dispatch(c, bytes, err);
        }
        if (c->in.len - 4 >= c->frame_len)
            return conn_dispatch(c, bytes, err);
    }
    return frame_read_more(c, bytes, err);
}

static op_result conn_write(ph_conn *c, DWORD *bytes, DWORD *err)
{
    static const unsigned char empty[1] = {0};
    ph_server *s = c->server;
    const unsigned char *data = c->out.buf.data ? c->out.buf.data : empty;

    if (c->out.buf.len > 0x7fffffffu) {
        ph__log(&s->log, PH_LOG_ERROR, "connection %llu: response of %zu bytes is too large to send",
                (unsigned long long)c->id, c->out.buf.len);
        conn_close(c, 1);
        return OP_PENDING;
    }
    AcquireSRWLockExclusive(&c->lock);
    if (c->closing != PH_CLOSE_NONE) {
        ReleaseSRWLockExclusive(&c->lock);
        conn_close(c, c->closing != PH_CLOSE_STOP);
        return OP_PENDING;
    }
    c->state = PH_CONN_WRITING;
    if (c->t_state == PH_CONN_WRITING && c->t_due != 0)
        ph__timer_arm_locked(s, c, PH_CONN_WRITING, 0); /* an earlier write's deadline must not match this one */
    memset(&c->ov, 0, sizeof(c->ov));
    if (ph__sys.WriteFile(c->pipe, data, (DWORD)c->out.buf.len, NULL, &c->ov)) {
        ReleaseSRWLockExclusive(&c->lock);
        if (!s->skip_on_success)
            return OP_PENDING;
        *bytes = (DWORD)c->ov.InternalHigh;
        *err = 0;
        return OP_INLINE;
    }
    *err = GetLastError();
    if (*err == ERROR_IO_PENDING) {
        /* The client is not reading: from now on the write timeout runs. */
        ph__timer_arm_locked(s, c, PH_CONN_WRITING, deadline_after(GetTickCount64(), c->write_ms));
        ReleaseSRWLockExclusive(&c->lock);
        return OP_PENDING;
    }
    ReleaseSRWLockExclusive(&c->lock);
    *bytes = 0;
    return OP_INLINE;
}

static op_result conn_dispatch(ph_conn *c, DWORD *bytes, DWORD *err)
{
    ph_server *s = c->server;
    int framed = s->cfg.framing == PH_FRAMING_LENGTH;
    unsigned char saved = 0;
    ph_request req;
    ph_handler_result result;
    LARGE_INTEGER t0, t1;

    AcquireSRWLockExclusive(&c->lock);
    if (c->closing != PH_CLOSE_NONE) {
        ReleaseSRWLockExclusive(&c->lock);
        conn_close(c, c->closing != PH_CLOSE_STOP);
        return OP_PENDING;
    }
    c->state = PH_CONN_DISPATCHING;
    c->unread_reply = 0;
    ReleaseSRWLockExclusive(&c->lock);

    if (framed)
        c->msg_seen = c->draining ? c->frame_len : 4 + c->frame_len;
    /* The next request's first read is as large as this one (within bounds), so it arrives in one piece. */
    c->read_hint = c->msg_seen + PH_READ_SLACK < PH_FIRST_READ ? PH_FIRST_READ
                   : c->msg_seen + PH_READ_SLACK > PH_MAX_READ_HINT ? PH_MAX_READ_HINT
                                                                    : c->msg_seen + PH_READ_SLACK;

    memset(&req, 0, sizeof(req));
    if (!framed) {
        req.data = c->draining ? NULL : c->in.data;
        req.len = c->draining ? c->msg_seen : c->in.len;
    } else {
        /* The frame's body, NUL-terminated in place for the handler's convenience (the byte after it, the
         * start of a pipelined frame or the buffer's own NUL, is put back afterwards). */
        req.data = c->draining ? NULL : c->in.data + 4;
        req.len = c->frame_len;
        if (!c->draining) {
            saved = c->in.data[4 + c->frame_len];
            c->in.data[4 + c->frame_len] = '\0';
        }
    }
    req.flags = c->draining ? PH_REQ_TOO_LARGE : 0u;
    req.max_message_bytes = c->msg_limit;
    req.connection_id = c->id;
    req.internal_ = c;
    ph__buf_reset(&c->out.buf);
    count(&s->c_requests, 1);

    QueryPerformanceCounter(&t0);
    result = s->cfg.handler(s->cfg.handler_ctx, &req, &c->out);
    QueryPerformanceCounter(&t1);
    {
        /* A moving average of handler run times (1/8 weight per call): deferring reads only pays off, and
         * only keeps latency low, while handlers are quick. */
        LONGLONG us = s->qpc_freq.QuadPart > 0 ? (t1.QuadPart - t0.QuadPart) * 1000000 / s->qpc_freq.QuadPart : 0;
        LONG old = InterlockedCompareExchange(&s->handler_us, 0, 0);
        LONG now_us = us > 10000000 ? 10000000 : (LONG)us;
        InterlockedExchange(&s->handler_us, old + (now_us - old) / 8);
    }
    if (framed && !c->draining) {
        /* The frame is consumed: what follows it moves to the front. */
        size_t end = 4 + c->frame_len;

        c->in.data[end] = saved;
        memmove(c->in.data, c->in.data + end, c->in.len - end);
        c->in.len -= end;
        c->in.data[c->in.len] = '\0';
        c->frame_len = 0;
        c->frame_limits = 0;
    }

    if (c->draining) {
        ph__log(&s->log, PH_LOG_WARN, "connection %llu: request of %zu bytes or more exceeds the limit of %zu; closing",
                (unsigned long long)c->id, c->msg_seen, c->msg_limit);
        count(&s->c_errors, 1);
        if (c->out.buf.len == 0)
            ph_response_err(&c->out, "too-large", "request of %zu bytes or more exceeds the limit of %zu bytes",
                            c->msg_seen, c->msg_limit);
        result = PH_REPLY_CLOSE;
    }
    if (framed) {
        /* One response frame per request, an empty one for PH_NO_REPLY: its 4-byte length goes in front. */
        ph_buf *out = &c->out.buf;

        if (result == PH_NO_REPLY) {
            ph__buf_reset(out);
            result = PH_REPLY;
        }
        if (out->len > 0x7fffffffu - 4u || ph__buf_reserve(out, 4) != 0) {
            ph__log(&s->log, PH_LOG_ERROR, "connection %llu: response of %zu bytes is too large to send",
                    (unsigned long long)c->id, out->len);
            conn_close(c, 1);
            return OP_PENDING;
        }
        memmove(out->data + 4, out->data, out->len + 1);
        out->data[0] = (unsigned char)(out->len & 0xff);
        out->data[1] = (unsigned char)((out->len >> 8) & 0xff);
        out->data[2] = (unsigned char)((out->len >> 16) & 0xff);
        out->data[3] = (unsigned char)((out->len >> 24) & 0xff);
        out->len += 4;
    }
    if (result == PH_NO_REPLY)
        return conn_start_request(c, 0, bytes, err);
    c->close_after_write = result == PH_REPLY_CLOSE;
    return conn_write(c, bytes, err);
}

const ph_client_info *ph_request_client(const ph_request *req)
{
    static const ph_client_info unknown = {0, 0, ""};
    ph_conn *c;

    if (req == NULL || req->internal_ == NULL)
        return &unknown;
    /* Only the pool thread dispatching this connection's request gets here, so no lock is needed. */
    c = req->internal_;
    if (!c->have_identity) {
        ph__client_identity(c->pipe, &c->info, c->sid, sizeof(c->sid), &c->server->log);
        c->have_identity = 1;
    }
    return &c->info;
}

static op_result on_connected(ph_conn *c, DWORD err, DWORD *bytes, DWORD *out_err)
{
    ph_server *s = c->server;
    ULONGLONG now = GetTickCount64();
    int running;

    if (err != 0) {
        if (err != ERROR_OPERATION_ABORTED)
            ph__log_win32(&s->log, PH_LOG_WARN, err, "ConnectNamedPipe", "accept on %s", s->pipe_name);
        conn_close(c, 0);
        return OP_PENDING;
    }
    AcquireSRWLockExclusive(&s->lock);
    running = open_locked(s);
    if (running) {
        s->accepting--;
        /* Clients are taking waiting instances faster than they are replaced: in a burst the next ones find
         * none and see ERROR_PIPE_BUSY. The server cannot see those refusals (and counts of waiting instances
         * lag behind queued accepts), so it judges by the rate: more accepts within PH_BURST_WINDOW_MS than
         * the target, or the last waiting instance taken, while at least as many clients as the target are
         * connected, double the target. (Clients that connect one after another, however fast, need no
         * more than one waiting instance.) */
        if (now - s->burst_start >= PH_BURST_WINDOW_MS) {
            s->burst_start = now;
            s->burst_accepts = 0;
        }
        s->burst_accepts++;
        if ((s->accepting == 0 || s->burst_accepts > s->pending_target) &&
            (uint64_t)InterlockedCompareExchange64(&s->c_active, 0, 0) + 1 >= s->pending_target) {
            s->last_starved = now;
            if (s->pending_target < s->pending_cap)
                s->pending_target = s->pending_target * 2 > s->pending_cap ? s->pending_cap : s->pending_target * 2;
            s->burst_start = now;
            s->burst_accepts = 0;
        }
        c->id = ++s->next_id;
        AcquireSRWLockExclusive(&c->lock);
        c->state = PH_CONN_IDLE; /* connected; conn_start_request arms the real deadline */
        ReleaseSRWLockExclusive(&c->lock);
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (!running) {
        conn_close(c, 0);
        return OP_PENDING;
    }
    count(&s->c_total, 1);
    count(&s->c_active, 1);
    ph__log(&s->log, PH_LOG_DEBUG, "connection %llu accepted", (unsigned long long)c->id);
    /* Refill before serving, so the next client of a burst finds a waiting instance. */
    ph__conn_refill(s);
    return conn_start_request(c, 0, bytes, out_err);
}

static op_result on_read(ph_conn *c, DWORD bytes, DWORD err, DWORD *out_bytes, DWORD *out_err)
{
    ph_server *s = c->server;

    if (err != 0 && err != ERROR_MORE_DATA) {
        conn_fail(c, err, "ReadFile");
        return OP_PENDING;
    }
    if (s->cfg.framing == PH_FRAMING_LENGTH) {
        count(&s->c_bytes_in, (LONG64)bytes);
        c->in.len += bytes;
        c->in.data[c->in.len] = '\0';
        return frame_next(c, out_bytes, out_err);
    }
    if (c->msg_seen == 0) {
        /* A new request after the stop began is not in flight: refuse it by closing. */
        if (!take_request_limits(c)) {
            conn_close(c, 0);
            return OP_PENDING;
        }
    }
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
        return conn_continue_read(c, out_bytes, out_err);
    return conn_dispatch(c, out_bytes, out_err);
}

static op_result on_written(ph_conn *c, DWORD bytes, DWORD err, DWORD *out_bytes, DWORD *out_err)
{
    ph_server *s = c->server;
    ULONGLONG now, end, stop_deadline;
    uint32_t write_ms;
    int stopping;
    op_result r;

    if (err != 0 || bytes != c->out.buf.len) {
        conn_fail(c, err ? err : ERROR_WRITE_FAULT, "WriteFile");
        return OP_PENDING;
    }
    count(&s->c_bytes_out, (LONG64)bytes);
    if (!c->close_after_write)
        return conn_start_request(c, 1, out_bytes, out_err);

    /* Closing now would discard the reply unread (DisconnectNamedPipe drops buffered data); wait, bounded by
     * the write timeout, for the client to read it and leave. */
    AcquireSRWLockShared(&s->lock);
    write_ms = s->limits.write_timeout_ms;
    stopping = s->state == PH_SRV_STOPPING;
    stop_deadline = s->stop_deadline;
    ReleaseSRWLockShared(&s->lock);
    now = GetTickCount64();
    end = deadline_after(now, write_ms);
    if (stopping && (end == 0 || end > stop_deadline))
        end = stop_deadline;
    ph__buf_reset(&c->in);
    if (ph__buf_reserve(&c->in, 1) != 0) {
        conn_close(c, 1);
        return OP_PENDING;
    }
    AcquireSRWLockExclusive(&c->lock);
    if (c->closing != PH_CLOSE_NONE) {
        ReleaseSRWLockExclusive(&c->lock);
        conn_close(c, 0);
        return OP_PENDING;
    }
    c->state = PH_CONN_LINGERING;
    c->linger_end = end;
    c->linger_poll = PH_LINGER_POLL_MIN;
    ph__timer_arm_locked(s, c, PH_CONN_LINGERING,
                         (end != 0 && end < now + c->linger_poll) ? end : now + c->linger_poll);
    r = issue_read_locked(c, c->in.data, 1, out_bytes, out_err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

/* Length framing, LINGERING: reads and drops whatever the client still sends, into the buffer as it is. */
static op_result linger_discard(ph_conn *c, DWORD *bytes, DWORD *err)
{
    op_result r;

    AcquireSRWLockExclusive(&c->lock);
    if (c->closing != PH_CLOSE_NONE) {
        ReleaseSRWLockExclusive(&c->lock);
        conn_close(c, 0);
        return OP_PENDING;
    }
    c->in.len = 0;
    r = issue_read_locked(c, c->in.data, (DWORD)(c->in.cap - 1), bytes, err);
    ReleaseSRWLockExclusive(&c->lock);
    return r;
}

void ph__conn_on_completion(ph_conn *c, DWORD bytes, DWORD err)
{
    ph_server *s = c->server;

    for (;;) {
        ph_conn_state state;
        ph_close_reason closing;
        op_result r = OP_PENDING;

        AcquireSRWLockShared(&c->lock);
        state = c->state;
        closing = c->closing;
        ReleaseSRWLockShared(&c->lock);

        /* Closing first: the timer or a stop cancelled this operation, whatever it completed with. */
        if (closing != PH_CLOSE_NONE) {
            if (closing == PH_CLOSE_IDLE)
                ph__log(&s->log, PH_LOG_INFO, "connection %llu: idle timeout", (unsigned long long)c->id);
            else if (closing == PH_CLOSE_WRITE_TIMEOUT)
                ph__log(&s->log, PH_LOG_WARN, "connection %llu: client did not read its response in time",
                        (unsigned long long)c->id);
            conn_close(c, state != PH_CONN_ACCEPTING &&
                              (closing == PH_CLOSE_IDLE || closing == PH_CLOSE_WRITE_TIMEOUT));
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
             * requests written before it saw the last reply). Closing now would discard that reply unread,
             * so what arrives is thrown away until the client leaves or the linger ends. */
            if (s->cfg.framing == PH_FRAMING_LENGTH && err == 0 && bytes > 0) {
                r = linger_discard(c, &bytes, &err);
                break;
            }
            /* The client left (or, during a stop, sent more): either way this connection is done. */
            conn_close(c, 0);
            return;
        case PH_CONN_WRITING:
            r = on_written(c, bytes, err, &bytes, &err);
            break;
        case PH_CONN_DISPATCHING:
            /* No operation is outstanding while dispatching: a packet here is a bug, not a client's doing. */
            ph__log(&s->log, PH_LOG_ERROR, "connection %llu: unexpected completion while dispatching",
                    (unsigned long long)c->id);
            return;
        }
        if (r != OP_INLINE)
            return;
    }
}

ULONGLONG ph__conn_on_deadline(ph_conn *c, ULONGLONG now)
{
    switch (c->state) {
    case PH_CONN_IDLE:
    case PH_CONN_READING:
        cancel_locked(c, PH_CLOSE_IDLE);
        return 0;
    case PH_CONN_WRITING:
        cancel_locked(c, PH_CLOSE_WRITE_TIMEOUT);
        return 0;
    case PH_CONN_LINGERING:
        if ((c->linger_end != 0 && now >= c->linger_end) || ph__reply_consumed(c->pipe)) {
            /* Lingering only to let the client read its last reply: it has, or its time is up. */
            cancel_locked(c, PH_CLOSE_LINGER_DONE);
            return 0;
        }
        c->linger_poll = c->linger_poll >= PH_LINGER_POLL_MAX / 2 ? PH_LINGER_POLL_MAX : 2 * c->linger_poll;
        return (c->linger_end != 0 && c->linger_end < now + c->linger_poll) ? c->linger_end : now + c->linger_poll;
    case PH_CONN_ACCEPTING:
    case PH_CONN_DISPATCHING:
        break;
    }
    return 0;
}

void ph__conn_trim_locked(ph_server *s, unsigned n)
{
    ph_conn *c;

    for (c = s->conns; c != NULL && n > 0; c = c->next) {
        AcquireSRWLockExclusive(&c->lock);
        if (c->state == PH_CONN_ACCEPTING && c->closing == PH_CLOSE_NONE) {
            cancel_locked(c, PH_CLOSE_TRIM);
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
        if (c->closing != PH_CLOSE_NONE) {
            /* Already cancelled; its owner closes it. */
        } else if (past || c->state == PH_CONN_ACCEPTING ||
                   (c->state == PH_CONN_IDLE && (!c->unread_reply || ph__reply_consumed(c->pipe)))) {
            /* At the drain deadline whatever is left goes (a handler still running finds closing set); before
             * it, accepts go, and so do connections waiting for a request that is refused anyway and owing
             * the client nothing. */
            cancel_locked(c, PH_CLOSE_STOP);
        }
        /* Idle with a reply maybe unread, lingering: wait for the client to leave or the deadline (the
         * lingering one's own timer checks the reply). Reading the rest of a request, dispatching or
         * writing: finish within the deadline. */
        ReleaseSRWLockExclusive(&c->lock);
    }
}
