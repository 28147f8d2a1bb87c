/* server.c — the server's lifecycle: configuration, start (port, pool, reaper, instances), stop and counters. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

int ph_server_new(const ph_server_config *cfg, ph_server **out)
{
    char name[sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX];
    ph_server *s = NULL;
    DWORD err = 0;
    int rc;

    if (out == NULL)
        return PH_EINVAL;
    *out = NULL;
    if (cfg == NULL || cfg->handler == NULL || ph__config_check(cfg) != 0)
        return PH_EINVAL;
    rc = ph_pipe_name_normalize(cfg->pipe_name ? cfg->pipe_name : "pipehost", name, sizeof(name));
    if (rc != 0)
        return rc;
    if (cfg->max_instances < 1 || cfg->max_instances > 255 || cfg->pending_instances < 1 ||
        cfg->pending_instances > cfg->max_instances || cfg->threads > 64 ||
        (cfg->buffer_size != 0 && (cfg->buffer_size < 512 || cfg->buffer_size > 16u * 1024 * 1024)) ||
        cfg->log_level < PH_LOG_ERROR || cfg->log_level > PH_LOG_DEBUG)
        return PH_EINVAL;
    rc = ph_limits_validate(&cfg->limits);
    if (rc != 0)
        return rc;

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return PH_ENOMEM;
    s->cfg = *cfg;
    s->pipe_name = dup_str(name);
    s->sddl = dup_str(cfg->sddl ? cfg->sddl : PH_DEFAULT_SDDL);
    s->wpipe_name = s->pipe_name ? ph__utf8_to_wide(s->pipe_name, &err) : NULL;
    if (s->pipe_name == NULL || s->sddl == NULL || s->wpipe_name == NULL) {
        free(s->pipe_name);
        free(s->sddl);
        free(s->wpipe_name);
        free(s);
        return err == ERROR_NO_UNICODE_TRANSLATION ? PH_EBADNAME : PH_ENOMEM;
    }
    s->cfg.pipe_name = s->pipe_name;
    s->cfg.sddl = s->sddl;
    if (s->cfg.buffer_size == 0)
        s->cfg.buffer_size = 65536;
    if (s->cfg.threads == 0) {
        unsigned n = ph__cpu_count();
        s->cfg.threads = n < 2 ? 2 : (n > 16 ? 16 : n);
    }
    s->log.fn = cfg->log;
    s->log.ctx = cfg->log_ctx;
    s->log.level = cfg->log_level;
    s->limits = cfg->limits;
    s->state = PH_SRV_CREATED;
    InitializeSRWLock(&s->lock);
    InitializeCriticalSection(&s->stop_lock);
    *out = s;
    return 0;
}

static DWORD WINAPI pool_main(LPVOID arg)
{
    ph_server *s = arg;

    for (;;) {
        DWORD bytes = 0, err = 0;
        ULONG_PTR key = 0;
        LPOVERLAPPED ov = NULL;
        BOOL ok = GetQueuedCompletionStatus(s->iocp, &bytes, &key, &ov, INFINITE);

        if (!ok)
            err = GetLastError();
        if (ov == NULL) {
            if (key == PH_KEY_QUIT)
                break;
            if (!ok) {
                ph__log_win32(&s->log, PH_LOG_ERROR, err, "GetQueuedCompletionStatus", "pool thread");
                break;
            }
            continue;
        }
        ph__conn_on_completion(ph__container_of(ov, ph_conn, ov), bytes, err);
    }
    return 0;
}

/* How often the reaper looks: fine enough for the shortest timeout in force, never busier than 100 Hz. */
static DWORD reaper_tick_locked(const ph_server *s)
{
    uint32_t shortest = s->limits.idle_timeout_ms;
    if (s->limits.write_timeout_ms < shortest)
        shortest = s->limits.write_timeout_ms;
    if (s->limits.drain_timeout_ms < shortest && s->limits.drain_timeout_ms > 0)
        shortest = s->limits.drain_timeout_ms;
    shortest /= 4;
    return shortest < 10 ? 10 : (shortest > 100 ? 100 : shortest);
}

/* The reaper enforces deadlines (idle, write, linger, drain) by cancelling the pending operation; the
 * completion path then closes the connection. It also retries refills that failed. */
static DWORD WINAPI reaper_main(LPVOID arg)
{
    ph_server *s = arg;

    for (;;) {
        DWORD tick;
        ULONGLONG now;
        ph_conn *c;
        int refill;

        AcquireSRWLockShared(&s->lock);
        tick = reaper_tick_locked(s);
        ReleaseSRWLockShared(&s->lock);
        WaitForSingleObject(s->reaper_wake, tick);
        now = GetTickCount64();

        AcquireSRWLockExclusive(&s->lock);
        if (s->reaper_quit) {
            ReleaseSRWLockExclusive(&s->lock);
            break;
        }
        for (c = s->conns; c != NULL; c = c->next) {
            if (c->closing != PH_CLOSE_NONE)
                ph__conn_cancel_locked(c, c->closing); /* again: it may have been between operations */
            else if (s->state == PH_SRV_STOPPING && now >= s->stop_deadline)
                ph__conn_cancel_locked(c, PH_CLOSE_STOP);
            else if ((c->state == PH_CONN_LINGERING ||
                      (s->state == PH_SRV_STOPPING && c->state == PH_CONN_READING && !c->mid_request)) &&
                     ph__reply_consumed(c->pipe))
                /* Lingering only to let the client read its last reply: it has, so close now. */
                ph__conn_cancel_locked(c, c->state == PH_CONN_LINGERING ? PH_CLOSE_LINGER_DONE : PH_CLOSE_STOP);
            else if (c->deadline != 0 && now >= c->deadline)
                ph__conn_cancel_locked(c, c->state == PH_CONN_READING   ? PH_CLOSE_IDLE
                                          : c->state == PH_CONN_WRITING ? PH_CLOSE_WRITE_TIMEOUT
                                                                        : PH_CLOSE_LINGER_DONE);
        }
        refill = s->state == PH_SRV_RUNNING && s->accepting < s->cfg.pending_instances;
        ReleaseSRWLockExclusive(&s->lock);
        if (refill)
            ph__conn_refill(s);
    }
    return 0;
}

/* Under s->lock (shared is enough): join_all frees the id list under the exclusive lock, so a second
 * stopper running this while the first one joins never reads freed memory. */
static int on_pool_thread_locked(const ph_server *s)
{
    DWORD self = GetCurrentThreadId();
    unsigned i;

    for (i = 0; i < s->nthreads; i++)
        if (s->thread_ids[i] == self)
            return 1;
    return 0;
}

/* Moves a running server to STOPPING: no more accepts, idle connections closed, the rest get until
 * stop_deadline to be answered and read. Under s->lock. */
static void begin_stop_locked(ph_server *s)
{
    ph_conn *c;

    s->state = PH_SRV_STOPPING;
    s->stop_deadline = GetTickCount64() + s->limits.drain_timeout_ms;
    for (c = s->conns; c != NULL; c = c->next) {
        if (c->state == PH_CONN_ACCEPTING ||
            (c->state == PH_CONN_READING && !c->mid_request && (!c->unread_reply || ph__reply_consumed(c->pipe)))) {
            ph__conn_cancel_locked(c, PH_CLOSE_STOP);
        } else if ((c->state == PH_CONN_READING && !c->mid_request) || c->state == PH_CONN_LINGERING) {
            /* Its last reply may still be unread: keep the pending read, which ends when the client leaves
             * (a new request is refused), or at the deadline. */
            if (c->deadline == 0 || c->deadline > s->stop_deadline)
                c->deadline = s->stop_deadline;
        }
        /* Reading the rest of a request, dispatching or writing: finish within the deadline. */
    }
    if (s->conns == NULL)
        SetEvent(s->drained);
}

/* Frees what start created once no thread uses it (after the join, or before any thread ran), and marks
 * the server stopped. The thread id list goes under the lock: a concurrent stopper reads it there. */
static void release_resources(ph_server *s)
{
    AcquireSRWLockExclusive(&s->lock);
    s->nthreads = 0;
    free(s->threads);
    free(s->thread_ids);
    s->threads = NULL;
    s->thread_ids = NULL;
    ReleaseSRWLockExclusive(&s->lock);
    if (s->iocp != NULL)
        CloseHandle(s->iocp);
    if (s->reaper_wake != NULL)
        CloseHandle(s->reaper_wake);
    if (s->drained != NULL)
        CloseHandle(s->drained);
    if (s->sd != NULL)
        LocalFree(s->sd);
    s->iocp = s->reaper_wake = s->drained = NULL;
    s->sd = NULL;
    AcquireSRWLockExclusive(&s->lock);
    s->state = PH_SRV_STOPPED;
    ReleaseSRWLockExclusive(&s->lock);
    s->joined = 1;
}

/* Waits for every connection to go, then for every thread; frees the port and descriptor. */
static void join_all(ph_server *s)
{
    ULONGLONG warn_at;
    unsigned i;
    int warned = 0;

    SetEvent(s->reaper_wake);
    AcquireSRWLockShared(&s->lock);
    warn_at = s->stop_deadline + 5000;
    ReleaseSRWLockShared(&s->lock);
    /* The reaper cancels whatever is left at the deadline; only a handler that never returns can hold
     * us past it, and its connection cannot be freed under it, so we say so and keep waiting. */
    while (WaitForSingleObject(s->drained, 250) == WAIT_TIMEOUT) {
        if (!warned && GetTickCount64() > warn_at) {
            ph__log(&s->log, PH_LOG_ERROR, "stop: a request handler has not returned 5 s after the drain deadline");
            warned = 1;
        }
    }
    AcquireSRWLockExclusive(&s->lock);
    s->reaper_quit = 1;
    ReleaseSRWLockExclusive(&s->lock);
    SetEvent(s->reaper_wake);
    if (s->reaper != NULL) {
        WaitForSingleObject(s->reaper, INFINITE);
        CloseHandle(s->reaper);
        s->reaper = NULL;
    }
    for (i = 0; i < s->nthreads; i++)
        PostQueuedCompletionStatus(s->iocp, 0, PH_KEY_QUIT, NULL);
    for (i = 0; i < s->nthreads; i++) {
        WaitForSingleObject(s->threads[i], INFINITE);
        CloseHandle(s->threads[i]);
    }
    release_resources(s);
}

/* True when some process already serves the name. FILE_FLAG_FIRST_PIPE_INSTANCE is the real guard on
 * Windows; this probe gives the same clear answer where the flag is not enforced (Wine). */
static int name_in_use(const ph_server *s)
{
    if (WaitNamedPipeW(s->wpipe_name, 1))
        return 1;
    return GetLastError() == ERROR_SEM_TIMEOUT;
}

int ph_server_start(ph_server *s)
{
    unsigned i;
    DWORD err = 0;
    int rc = 0;

    if (s == NULL)
        return PH_EINVAL;
    AcquireSRWLockExclusive(&s->lock);
    if (s->state != PH_SRV_CREATED) {
        ReleaseSRWLockExclusive(&s->lock);
        return PH_ESTATE;
    }
    s->state = PH_SRV_RUNNING; /* claimed; reset below on failure */
    ReleaseSRWLockExclusive(&s->lock);
    s->syserr = 0;

    rc = ph__security_from_sddl(s->sddl, &s->sd, &err);
    if (rc != 0) {
        ph__log_win32(&s->log, PH_LOG_ERROR, err, "ConvertStringSecurityDescriptorToSecurityDescriptorW",
                      "invalid SDDL \"%s\"", s->sddl);
        goto fail_early;
    }
    s->sa.nLength = sizeof(s->sa);
    s->sa.lpSecurityDescriptor = s->sd;
    s->sa.bInheritHandle = FALSE;

    if (name_in_use(s)) {
        err = ERROR_PIPE_BUSY;
        rc = PH_EADDRINUSE;
        ph__log(&s->log, PH_LOG_ERROR, "pipe name %s is already in use by another server", s->pipe_name);
        goto fail_early;
    }

    s->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    s->reaper_wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    s->drained = CreateEventW(NULL, TRUE, FALSE, NULL);
    s->threads = calloc(s->cfg.threads, sizeof(HANDLE));
    s->thread_ids = calloc(s->cfg.threads, sizeof(DWORD));
    if (s->iocp == NULL || s->reaper_wake == NULL || s->drained == NULL) {
        err = GetLastError();
        rc = ph__map_win32(err);
        goto fail_early;
    }
    if (s->threads == NULL || s->thread_ids == NULL) {
        err = ERROR_NOT_ENOUGH_MEMORY;
        rc = PH_ENOMEM;
        goto fail_early;
    }
    for (i = 0; i < s->cfg.threads; i++) {
        s->threads[i] = CreateThread(NULL, 0, pool_main, s, 0, &s->thread_ids[i]);
        if (s->threads[i] == NULL) {
            err = GetLastError();
            rc = ph__map_win32(err);
            goto fail_running;
        }
        s->nthreads++;
    }
    s->reaper = CreateThread(NULL, 0, reaper_main, s, 0, NULL);
    if (s->reaper == NULL) {
        err = GetLastError();
        rc = ph__map_win32(err);
        goto fail_running;
    }

    /* The first instance claims the name: if someone else holds it, we must not share it with them. */
    AcquireSRWLockExclusive(&s->lock);
    s->accepting++;
    s->instances++;
    ReleaseSRWLockExclusive(&s->lock);
    err = (DWORD)ph__conn_add_instance(s, 1);
    if (err != 0) {
        AcquireSRWLockExclusive(&s->lock);
        s->accepting--;
        s->instances--;
        ReleaseSRWLockExclusive(&s->lock);
        rc = (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY) ? PH_EADDRINUSE : ph__map_win32(err);
        ph__log_win32(&s->log, PH_LOG_ERROR, err, "CreateNamedPipeW", "cannot create %s", s->pipe_name);
        goto fail_running;
    }
    /* Judge by whether a create failed, not by how many instances wait now: clients may already be taking
     * them (the first one is connectable from the moment it exists), and each of those refills its own. */
    err = ph__conn_refill(s);
    if (err != 0) {
        rc = ph__map_win32(err);
        if (rc == PH_EBUSY)
            rc = PH_ESYS; /* more instances than the system allows: not a transient "busy" */
        ph__log(&s->log, PH_LOG_ERROR, "cannot create %u pending instances of %s", s->cfg.pending_instances,
                s->pipe_name);
        goto fail_running;
    }
    ph__log(&s->log, PH_LOG_INFO, "serving %s with %u pending instances and %u threads", s->pipe_name,
            s->cfg.pending_instances, s->nthreads);
    return 0;

fail_running:
    AcquireSRWLockExclusive(&s->lock);
    begin_stop_locked(s);
    s->stop_deadline = GetTickCount64(); /* nothing to drain */
    ReleaseSRWLockExclusive(&s->lock);
    join_all(s);
    s->syserr = err;
    return rc;

fail_early:
    /* No thread or instance exists yet: only the port, events, arrays and descriptor to release. */
    release_resources(s);
    s->syserr = err;
    return rc;
}

int ph_server_stop(ph_server *s)
{
    int began = 0, pool;

    if (s == NULL)
        return PH_EINVAL;
    AcquireSRWLockExclusive(&s->lock);
    if (s->state == PH_SRV_CREATED) {
        s->state = PH_SRV_STOPPED;
        s->joined = 1;
    } else if (s->state == PH_SRV_RUNNING) {
        begin_stop_locked(s);
        began = 1;
    }
    pool = on_pool_thread_locked(s);
    if (pool && began)
        SetEvent(s->reaper_wake); /* the port and events live until join_all, which cannot have run yet */
    ReleaseSRWLockExclusive(&s->lock);
    /* The host's callback runs outside our lock: it may well ask for the counters. */
    if (began)
        ph__log(&s->log, PH_LOG_INFO, "stopping %s", s->pipe_name);
    if (pool)
        return 0; /* joining here would wait for ourselves */
    EnterCriticalSection(&s->stop_lock);
    if (!s->joined) {
        join_all(s);
        ph__log(&s->log, PH_LOG_INFO, "stopped %s", s->pipe_name);
    }
    LeaveCriticalSection(&s->stop_lock);
    return 0;
}

void ph_server_free(ph_server *s)
{
    if (s == NULL)
        return;
    ph_server_stop(s);
    DeleteCriticalSection(&s->stop_lock);
    free(s->pipe_name);
    free(s->wpipe_name);
    free(s->sddl);
    free(s);
}

int ph_server_set_limits(ph_server *s, const ph_limits *limits)
{
    int rc;

    if (s == NULL)
        return PH_EINVAL;
    rc = ph_limits_validate(limits);
    if (rc != 0)
        return rc;
    AcquireSRWLockExclusive(&s->lock);
    s->limits = *limits;
    ReleaseSRWLockExclusive(&s->lock);
    if (s->reaper_wake != NULL)
        SetEvent(s->reaper_wake);
    return 0;
}

int ph_server_get_limits(const ph_server *s, ph_limits *out)
{
    if (s == NULL || ph__limits_check(out) != 0)
        return PH_EINVAL;
    AcquireSRWLockShared((PSRWLOCK)&s->lock);
    *out = s->limits;
    ReleaseSRWLockShared((PSRWLOCK)&s->lock);
    return 0;
}

const char *ph_server_pipe_name(const ph_server *s)
{
    return s ? s->pipe_name : NULL;
}

unsigned long ph_server_syserror(const ph_server *s)
{
    return s ? s->syserr : 0;
}

static uint64_t read64(const volatile LONG64 *v)
{
    return (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)v, 0, 0);
}

int ph_server_counters(const ph_server *s, ph_counters *out)
{
    if (ph__counters_check(out) != 0)
        return PH_EINVAL;
    ph_counters_init(out);
    if (s == NULL)
        return 0;
    out->connections_total = read64(&s->c_total);
    out->connections_active = read64(&s->c_active);
    out->requests_total = read64(&s->c_requests);
    out->errors_total = read64(&s->c_errors);
    out->bytes_in = read64(&s->c_bytes_in);
    out->bytes_out = read64(&s->c_bytes_out);
    AcquireSRWLockShared((PSRWLOCK)&s->lock);
    out->instances_pending = s->accepting;
    ReleaseSRWLockShared((PSRWLOCK)&s->lock);
    return 0;
}
