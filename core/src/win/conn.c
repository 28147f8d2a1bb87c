/* conn.c — one connection's life: accept, read and reassemble, dispatch, write, linger, then close or reuse. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

/* Reads grow the request buffer geometrically from this size, so small requests cost one small read. */
#define PH_READ_CHUNK 4096u
#define PH_DRAIN_CHUNK 65536u
/* A reused instance keeps its buffers unless a big message made them larger than this. */
#define PH_KEEP_BUFFER 65536u

static void conn_read_next(ph_conn *c, int replied);
static void conn_issue_read(ph_conn *c);
static void conn_accept(ph_conn *c);

static ULONGLONG deadline_after(uint32_t ms)
{
    return ms == PH_INFINITE ? 0 : GetTickCount64() + ms;
}

static void count(volatile LONG64 *counter, LONG64 delta)
{
    InterlockedExchangeAdd64(counter, delta);
}

void ph__conn_cancel_locked(ph_conn *c, ph_close_reason why)
{
    if (c->closing == PH_CLOSE_NONE)
        c->closing = why;
    /* Nothing may be pending (dispatching, or between two operations): the flag is then seen at the next
     * transition, and the reaper repeats the cancel every tick until the connection is gone. */
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
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* Under s->lock: takes c off the server's list and out of the accepting count; true if it had a client. */
static int detach_locked(ph_server *s, ph_conn *c)
{
    unlink_locked(s, c);
    if (c->state != PH_CONN_ACCEPTING)
        return 1;
    s->accepting--;
    return 0;
}

/* Under s->lock: a stop waits for the last connection to go. */
static void signal_if_drained_locked(ph_server *s)
{
    if (s->state == PH_SRV_STOPPING && s->conns == NULL)
        SetEvent(s->drained);
}

static void conn_free(ph_conn *c)
{
    if (c->pipe != INVALID_HANDLE_VALUE && c->pipe != NULL)
        CloseHandle(c->pipe);
    ph__buf_free(&c->in);
    ph__buf_free(&c->out.buf);
    free(c);
}

/* Ends the current client's session on this instance. The instance is reused for the next client when the
 * server still wants pending instances (saving a CreateNamedPipeW per reconnect), otherwise closed.
 * failed counts the connection in errors_total. No operation may be outstanding on c. */
static void conn_close(ph_conn *c, int failed)
{
    ph_server *s = c->server;
    int was_connected, reuse;

    AcquireSRWLockExclusive(&s->lock);
    was_connected = detach_locked(s, c);
    /* Under steady reconnects the refill on accept has already replaced this instance, so reuse is allowed
     * up to twice the floor: otherwise every connection would cost a CreateNamedPipeW and a CloseHandle. */
    reuse = s->state == PH_SRV_RUNNING && s->accepting < 2 * s->cfg.pending_instances;
    if (reuse) {
        s->accepting++;
        c->state = PH_CONN_ACCEPTING;
        c->closing = PH_CLOSE_NONE;
        c->deadline = 0;
        c->unread_reply = 0;
        c->mid_request = 0;
        link_locked(s, c);
    } else {
        s->instances--;
    }
    signal_if_drained_locked(s);
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
    c->close_after_write = 0;
    c->have_identity = 0;
    c->sid[0] = '\0';
    memset(&c->info, 0, sizeof(c->info));
    if (c->in.cap > PH_KEEP_BUFFER)
        ph__buf_free(&c->in);
    if (c->out.buf.cap > PH_KEEP_BUFFER)
        ph__buf_free(&c->out.buf);
    ph__buf_reset(&c->in);
    ph__buf_reset(&c->out.buf);
    conn_accept(c);
}

/* A Win32 call on c failed synchronously (no completion will come): log it unless the client simply left. */
static void conn_fail(ph_conn *c, DWORD err, const char *call)
{
    ph_server *s = c->server;
    int client_left = err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA || err == ERROR_PIPE_NOT_CONNECTED;
    /* The client abandoned a request if it left while we read part of one or wrote its response. After the
     * last response (lingering) leaving is exactly what it should do; msg_seen still holds the size of the
     * request already answered then, so it cannot be the test. */
    int mid_request = (c->state == PH_CONN_READING && c->msg_seen > 0) || c->state == PH_CONN_WRITING;

    if (!client_left && err != ERROR_OPERATION_ABORTED)
        ph__log_win32(&s->log, PH_LOG_WARN, err, call, "connection %llu", (unsigned long long)c->id);
    else if (client_left && mid_request)
        ph__log(&s->log, PH_LOG_INFO, "connection %llu: client left in the middle of a request",
                (unsigned long long)c->id);
    conn_close(c, !client_left || mid_request);
}

/* Creates one pipe instance and starts it accepting. The caller has already counted it in s->instances
 * and s->accepting (a reservation), and undoes that on failure. Returns a Win32 error or 0. */
int ph__conn_add_instance(ph_server *s, int first)
{
    DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
    DWORD pipe_mode = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
    DWORD max = s->cfg.max_instances >= 255 ? PIPE_UNLIMITED_INSTANCES : s->cfg.max_instances;
    DWORD err;
    ph_conn *c;

    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    c->server = s;
    c->pipe = ph__sys.CreateNamedPipeW(s->wpipe_name, open_mode, pipe_mode, max, s->cfg.buffer_size,
                                       s->cfg.buffer_size, 0, &s->sa);
    if (c->pipe == INVALID_HANDLE_VALUE) {
        err = GetLastError();
        free(c);
        return err ? err : ERROR_GEN_FAILURE;
    }
    if (CreateIoCompletionPort(c->pipe, s->iocp, 0, 0) == NULL) {
        err = GetLastError();
        conn_free(c);
        return err;
    }
    AcquireSRWLockExclusive(&s->lock);
    c->state = PH_CONN_ACCEPTING;
    /* A stop that began while this instance was being created did not see it: mark it, so the reaper cancels
     * its accept on the next tick instead of leaving it to the drain deadline. */
    if (s->state != PH_SRV_RUNNING)
        c->closing = PH_CLOSE_STOP;
    link_locked(s, c);
    ReleaseSRWLockExclusive(&s->lock);
    conn_accept(c);
    return 0;
}

/* Keeps pending_instances instances waiting while the server runs. A failure is logged and retried by the
 * reaper on its next tick rather than here, so a persistent failure cannot spin. Returns the Win32 error of
 * a failed create, or 0 when nothing more was needed (enough wait, or max_instances exist). */
DWORD ph__conn_refill(ph_server *s)
{
    for (;;) {
        DWORD err;

        AcquireSRWLockExclusive(&s->lock);
        if (s->state != PH_SRV_RUNNING || s->accepting >= s->cfg.pending_instances ||
            s->instances >= s->cfg.max_instances) {
            ReleaseSRWLockExclusive(&s->lock);
            return 0;
        }
        s->accepting++;
        s->instances++;
        ReleaseSRWLockExclusive(&s->lock);

        err = ph__conn_add_instance(s, 0);
        if (err != 0) {
            AcquireSRWLockExclusive(&s->lock);
            s->accepting--;
            s->instances--;
            ReleaseSRWLockExclusive(&s->lock);
            ph__log_win32(&s->log, err == ERROR_PIPE_BUSY ? PH_LOG_DEBUG : PH_LOG_ERROR, err, "CreateNamedPipeW",
                          "cannot add a pending instance to %s", s->pipe_name);
            return err;
        }
    }
}

static void conn_accept(ph_conn *c)
{
    ph_server *s = c->server;
    int tries;

    for (tries = 0; tries < 3; tries++) {
        DWORD err;

        memset(&c->ov, 0, sizeof(c->ov));
        if (ph__sys.ConnectNamedPipe(c->pipe, &c->ov))
            return; /* connected already; the port gets the completion */
        err = GetLastError();
        if (err == ERROR_IO_PENDING)
            return;
        if (err == ERROR_PIPE_CONNECTED) {
            /* The client won the race between CreateNamedPipe and ConnectNamedPipe: no packet is queued for
             * this outcome, so queue one ourselves and keep a single completion path. */
            if (PostQueuedCompletionStatus(s->iocp, 0, 0, &c->ov))
                return;
            err = GetLastError();
        } else if (err == ERROR_NO_DATA) {
            /* A client connected and left before we listened: clear the instance and listen again. */
            ph__sys.DisconnectNamedPipe(c->pipe);
            continue;
        }
        ph__log_win32(&s->log, PH_LOG_ERROR, err, "ConnectNamedPipe", "instance of %s", s->pipe_name);
        break;
    }
    /* Give the instance up (conn_close would offer it for reuse); the reaper refills on its next tick. */
    AcquireSRWLockExclusive(&s->lock);
    detach_locked(s, c);
    s->instances--;
    signal_if_drained_locked(s);
    ReleaseSRWLockExclusive(&s->lock);
    conn_free(c);
}

static void on_connected(ph_conn *c, DWORD err)
{
    ph_server *s = c->server;

    if (err != 0) {
        if (err != ERROR_OPERATION_ABORTED)
            ph__log_win32(&s->log, PH_LOG_WARN, err, "ConnectNamedPipe", "accept on %s", s->pipe_name);
        conn_close(c, 0);
        return;
    }
    AcquireSRWLockExclusive(&s->lock);
    if (c->closing != PH_CLOSE_NONE) {
        ReleaseSRWLockExclusive(&s->lock);
        conn_close(c, 0);
        return;
    }
    s->accepting--;
    c->state = PH_CONN_READING; /* connected; conn_read_next sets the real deadline */
    c->id = ++s->next_id;
    ReleaseSRWLockExclusive(&s->lock);
    count(&s->c_total, 1);
    count(&s->c_active, 1);
    ph__log(&s->log, PH_LOG_DEBUG, "connection %llu accepted", (unsigned long long)c->id);
    /* Refill before serving, so the next client of a burst finds a waiting instance. */
    ph__conn_refill(s);
    conn_read_next(c, 0);
}

/* Waits for the next request, or, when the server is stopping, lingers until the client has taken its last
 * reply (or closes at once when there is none). replied: a response was just written. */
static void conn_read_next(ph_conn *c, int replied)
{
    ph_server *s = c->server;
    int close_now = 0;

    AcquireSRWLockExclusive(&s->lock);
    if (replied)
        c->unread_reply = 1;
    if (c->closing != PH_CLOSE_NONE) {
        close_now = 1;
    } else if (s->state == PH_SRV_STOPPING) {
        if (c->unread_reply) {
            ULONGLONG linger = deadline_after(s->limits.write_timeout_ms);
            c->state = PH_CONN_LINGERING;
            c->deadline = (linger == 0 || linger > s->stop_deadline) ? s->stop_deadline : linger;
        } else {
            close_now = 1;
        }
    } else {
        c->state = PH_CONN_READING;
        c->deadline = deadline_after(s->limits.idle_timeout_ms);
        c->msg_limit = s->limits.max_message_bytes;
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (close_now) {
        conn_close(c, c->closing == PH_CLOSE_IDLE || c->closing == PH_CLOSE_WRITE_TIMEOUT);
        return;
    }
    c->draining = 0;
    c->msg_seen = 0;
    ph__buf_reset(&c->in);
    conn_issue_read(c);
}

static void conn_issue_read(ph_conn *c)
{
    size_t want;
    DWORD err;

    if (c->draining || c->state == PH_CONN_LINGERING) {
        want = PH_DRAIN_CHUNK;
        ph__buf_reset(&c->in);
    } else {
        /* Never hold more than limit + 1 bytes: one byte past the limit proves a request too large. */
        size_t room = c->msg_limit + 1 - c->in.len;
        want = c->in.len < PH_READ_CHUNK ? PH_READ_CHUNK : c->in.len;
        if (want > room)
            want = room;
    }
    if (ph__buf_reserve(&c->in, want) != 0) {
        ph__log(&c->server->log, PH_LOG_ERROR, "connection %llu: out of memory reading a request",
                (unsigned long long)c->id);
        conn_close(c, 1);
        return;
    }
    memset(&c->ov, 0, sizeof(c->ov));
    if (ph__sys.ReadFile(c->pipe, c->in.data + c->in.len, (DWORD)want, NULL, &c->ov))
        return;
    err = GetLastError();
    /* ERROR_MORE_DATA is a warning status: the read completed and a packet is queued, as for success. */
    if (err == ERROR_IO_PENDING || err == ERROR_MORE_DATA)
        return;
    conn_fail(c, err, "ReadFile");
}

static void conn_write(ph_conn *c)
{
    static const unsigned char empty[1] = {0};
    ph_server *s = c->server;
    const unsigned char *data = c->out.buf.data ? c->out.buf.data : empty;
    int close_now = 0;
    DWORD err;

    if (c->out.buf.len > 0x7fffffffu) {
        ph__log(&s->log, PH_LOG_ERROR, "connection %llu: response of %zu bytes is too large to send",
                (unsigned long long)c->id, c->out.buf.len);
        conn_close(c, 1);
        return;
    }
    AcquireSRWLockExclusive(&s->lock);
    if (c->closing != PH_CLOSE_NONE)
        close_now = 1;
    c->state = PH_CONN_WRITING;
    c->deadline = deadline_after(s->limits.write_timeout_ms);
    ReleaseSRWLockExclusive(&s->lock);
    if (close_now) {
        conn_close(c, c->closing != PH_CLOSE_STOP);
        return;
    }
    memset(&c->ov, 0, sizeof(c->ov));
    if (ph__sys.WriteFile(c->pipe, data, (DWORD)c->out.buf.len, NULL, &c->ov))
        return;
    err = GetLastError();
    if (err == ERROR_IO_PENDING)
        return;
    conn_fail(c, err, "WriteFile");
}

static void conn_dispatch(ph_conn *c)
{
    ph_server *s = c->server;
    ph_request req;
    ph_handler_result result;
    int close_now = 0;

    AcquireSRWLockExclusive(&s->lock);
    if (c->closing != PH_CLOSE_NONE)
        close_now = 1;
    c->state = PH_CONN_DISPATCHING;
    c->deadline = 0;
    c->unread_reply = 0;
    c->mid_request = 0;
    ReleaseSRWLockExclusive(&s->lock);
    if (close_now) {
        conn_close(c, c->closing != PH_CLOSE_STOP);
        return;
    }
    memset(&req, 0, sizeof(req));
    req.data = c->draining ? NULL : c->in.data;
    req.len = c->draining ? c->msg_seen : c->in.len;
    req.flags = c->draining ? PH_REQ_TOO_LARGE : 0u;
    req.max_message_bytes = c->msg_limit;
    req.connection_id = c->id;
    req.internal_ = c;
    ph__buf_reset(&c->out.buf);
    count(&s->c_requests, 1);

    result = s->cfg.handler(s->cfg.handler_ctx, &req, &c->out);

    if (c->draining) {
        ph__log(&s->log, PH_LOG_WARN, "connection %llu: request of %zu bytes or more exceeds the limit of %zu; closing",
                (unsigned long long)c->id, c->msg_seen, c->msg_limit);
        count(&s->c_errors, 1);
        if (c->out.buf.len == 0)
            ph_response_err(&c->out, "too-large", "request of %zu bytes or more exceeds the limit of %zu bytes",
                            c->msg_seen, c->msg_limit);
        result = PH_REPLY_CLOSE;
    }
    if (result == PH_NO_REPLY) {
        conn_read_next(c, 0);
        return;
    }
    c->close_after_write = result == PH_REPLY_CLOSE;
    conn_write(c);
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

static void on_read(ph_conn *c, DWORD bytes, DWORD err)
{
    ph_server *s = c->server;
    int stopping;

    if (c->state == PH_CONN_LINGERING) {
        /* The client left (or, during a stop, sent more): either way this connection is done. */
        conn_close(c, 0);
        return;
    }
    if (err != 0 && err != ERROR_MORE_DATA) {
        conn_fail(c, err, "ReadFile");
        return;
    }
    AcquireSRWLockExclusive(&s->lock);
    stopping = s->state == PH_SRV_STOPPING;
    if (err == ERROR_MORE_DATA)
        c->mid_request = 1;
    /* The limit in force when a request's first bytes arrive is its limit, even if the read was posted
     * before a ph_server_set_limits. */
    if (c->msg_seen == 0)
        c->msg_limit = s->limits.max_message_bytes;
    ReleaseSRWLockExclusive(&s->lock);
    if (stopping && c->msg_seen == 0) {
        /* A new request after the stop began is not in flight: refuse it by closing. */
        conn_close(c, 0);
        return;
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
    if (err == ERROR_MORE_DATA) {
        conn_issue_read(c); /* the rest of the same message */
        return;
    }
    conn_dispatch(c);
}

static void on_written(ph_conn *c, DWORD bytes, DWORD err)
{
    ph_server *s = c->server;

    if (err != 0 || bytes != c->out.buf.len) {
        conn_fail(c, err ? err : ERROR_WRITE_FAULT, "WriteFile");
        return;
    }
    count(&s->c_bytes_out, (LONG64)bytes);
    if (c->close_after_write) {
        /* Closing now would discard the reply unread (DisconnectNamedPipe drops buffered data); wait,
         * bounded by the write timeout, for the client to read it and leave. */
        AcquireSRWLockExclusive(&s->lock);
        c->state = PH_CONN_LINGERING;
        c->deadline = deadline_after(s->limits.write_timeout_ms);
        if (s->state == PH_SRV_STOPPING && (c->deadline == 0 || c->deadline > s->stop_deadline))
            c->deadline = s->stop_deadline;
        ReleaseSRWLockExclusive(&s->lock);
        conn_issue_read(c);
        return;
    }
    conn_read_next(c, 1);
}

void ph__conn_on_completion(ph_conn *c, DWORD bytes, DWORD err)
{
    ph_server *s = c->server;
    ph_conn_state state;
    ph_close_reason closing;

    AcquireSRWLockShared(&s->lock);
    state = c->state;
    closing = c->closing;
    ReleaseSRWLockShared(&s->lock);

    /* Closing first: the reaper or a stop cancelled this operation, whatever it completed with. */
    if (closing != PH_CLOSE_NONE) {
        if (closing == PH_CLOSE_IDLE)
            ph__log(&s->log, PH_LOG_INFO, "connection %llu: idle timeout", (unsigned long long)c->id);
        else if (closing == PH_CLOSE_WRITE_TIMEOUT)
            ph__log(&s->log, PH_LOG_WARN, "connection %llu: client did not read its response in time",
                    (unsigned long long)c->id);
        conn_close(c, state != PH_CONN_ACCEPTING && (closing == PH_CLOSE_IDLE || closing == PH_CLOSE_WRITE_TIMEOUT));
        return;
    }
    switch (state) {
    case PH_CONN_ACCEPTING:
        on_connected(c, err);
        break;
    case PH_CONN_READING:
    case PH_CONN_LINGERING:
        on_read(c, bytes, err);
        break;
    case PH_CONN_WRITING:
        on_written(c, bytes, err);
        break;
    case PH_CONN_DISPATCHING:
        /* No operation is outstanding while dispatching: a packet here is a bug, not a client's doing. */
        ph__log(&s->log, PH_LOG_ERROR, "connection %llu: unexpected completion while dispatching",
                (unsigned long long)c->id);
        break;
    }
}
