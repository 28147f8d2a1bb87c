/* server.c — the server's lifecycle: configuration, start (port, pool, timer, instances), stop and counters.
 *
 * The rules; check every change against them.
 * - States: CREATED -> STARTING -> RUNNING -> STOPPING -> STOPPED, changed only under s->lock. A failed
 *   start goes STARTING -> STOPPING -> STOPPED, and leaves nothing behind.
 * - Start and the join of a stop are serialised by s->life, which start takes before it leaves CREATED: so a
 *   stop that sees STARTING always finds life held by the start, never takes it first (and never waits for a
 *   drain that no stop began). A stop that arrives while the server is
 *   STARTING records stop_requested and then waits for start to end (on another thread) or returns at once
 *   (on the starting thread itself, e.g. from the log callback): start sees stop_requested, tears down what
 *   it built and fails with PH_ECANCELED. No instance is created after stop_requested or STOPPING is seen.
 * - Called on one of the server's own threads (a handler on a pool thread, or the log callback on the timer
 *   thread), stop only starts the stop: joining there would wait for itself. The join then happens in the
 *   next ph_server_stop or ph_server_free from another thread.
 * - "Drained" means no instance exists and none is being created (s->live, which counts reservations, is
 *   0). The join waits for it, then stops the timer and the pool and releases what start created.
 * - The events and the life lock live as long as the object (new to free), so nothing ever signals a closed
 *   handle, whatever thread calls what when.
 * - The instances (how many, the fixed pool's descriptor) are the listener's (listener.c): the stop narrows
 *   a fixed pool's DACL under s->lock before the state says STOPPING, so before any instance may close.
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define PH_PENDING_CAP 64u /* the adaptive waiting target never grows past this (or the floor, if larger) */

/* The worker (its server, its deferred reads) of a pool or timer thread, NULL on every other thread, in a TLS
 * slot taken once per process. (A Win32 slot rather than _Thread_local: MinGW implements that with emulated
 * TLS from libgcc's DLL, which a pipehost.dll must not depend on.) */
static INIT_ONCE g_tls_once = INIT_ONCE_STATIC_INIT;
static DWORD g_tls = TLS_OUT_OF_INDEXES;

static BOOL CALLBACK alloc_tls(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once;
    (void)param;
    (void)context;
    g_tls = TlsAlloc();
    return TRUE;
}

static DWORD tls_slot(void)
{
    if (!InitOnceExecuteOnce(&g_tls_once, alloc_tls, NULL, NULL))
        return TLS_OUT_OF_INDEXES;
    return g_tls;
}

void ph__mark_worker(ph_worker *w)
{
    DWORD slot = tls_slot();
    if (slot != TLS_OUT_OF_INDEXES)
        TlsSetValue(slot, w);
}

ph_worker *ph__current_worker(void)
{
    DWORD slot = tls_slot();
    return slot != TLS_OUT_OF_INDEXES ? (ph_worker *)TlsGetValue(slot) : NULL;
}

int ph__on_server_thread(const ph_server *s)
{
    const ph_worker *w = ph__current_worker();
    return w != NULL && w->server == s;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* The default pool: completion-port threads block in system calls (and in handlers), so a pool as small as
 * the CPU count leaves the CPUs idle while requests wait. Twice the CPUs, at least 8, at most 32. */
static unsigned default_threads(void)
{
    unsigned n = 2 * ph__cpu_count();
    return n < 8 ? 8 : (n > 32 ? 32 : n);
}

static void server_destroy(ph_server *s)
{
    if (s->timer_wake != NULL)
        CloseHandle(s->timer_wake);
    if (s->drained != NULL)
        CloseHandle(s->drained);
    if (s->park != NULL)
        CloseHandle(s->park);
    ph__timer_free(s);
    free(s->pipe_name);
    free(s->wpipe_name);
    free(s->sddl);
    free(s);
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
        cfg->pending_instances > 255 || cfg->threads > 64 ||
        (cfg->buffer_size != 0 && (cfg->buffer_size < 512 || cfg->buffer_size > 16u * 1024 * 1024)) ||
        cfg->log_level < PH_LOG_ERROR || cfg->log_level > PH_LOG_DEBUG ||
        (cfg->framing != PH_FRAMING_MESSAGE && cfg->framing != PH_FRAMING_LENGTH) ||
        !ph__sddl_use_valid(PH_SDDL_PIPE | cfg->sddl_flags) || (cfg->sddl_flags & PH_SDDL_USE_MASK) != 0)
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
    s->timer_wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    s->drained = CreateEventW(NULL, TRUE, FALSE, NULL);
    s->park = CreateSemaphoreW(NULL, 0, 1024, NULL);
    if (s->pipe_name == NULL || s->sddl == NULL || s->wpipe_name == NULL || s->timer_wake == NULL ||
        s->drained == NULL || s->park == NULL) {
        rc = err == ERROR_NO_UNICODE_TRANSLATION ? PH_EBADNAME : PH_ENOMEM;
        server_destroy(s);
        return rc;
    }
    s->cfg.pipe_name = s->pipe_name;
    s->cfg.sddl = s->sddl;
    if (s->cfg.buffer_size == 0)
        s->cfg.buffer_size = 65536;
    if (s->cfg.threads == 0)
        s->cfg.threads = default_threads();
    /* A fixed pool below 255; unlimited at 255, where the waiting target adapts between the configured floor
     * and this cap. */
    s->fixed = cfg->max_instances < 255;
    s->pending_cap = cfg->pending_instances > PH_PENDING_CAP ? cfg->pending_instances : PH_PENDING_CAP;
    s->log.fn = cfg->log;
    s->log.ctx = cfg->log_ctx;
    s->log.level = cfg->log_level;
    s->limits = cfg->limits;
    s->state = PH_SRV_CREATED;
    InitializeSRWLock(&s->lock);
    InitializeSRWLock(&s->plock);
    QueryPerformanceFrequency(&s->qpc_freq);
    InitializeCriticalSection(&s->life);
    ph__timer_init(s);
    *out = s;
    return 0;
}

/* Moves a starting or running server to STOPPING: no more accepts, idle connections closed, the rest get
 * until stop_deadline to be answered and read. Under s->lock (exclusive). */
static void begin_stop_locked(ph_server *s, uint32_t drain_ms)
{
    ULONGLONG now = GetTickCount64();

    /* A fixed pool's DACL goes back to the strict one before any instance may close (listener.c). */
    ph__listener_narrow_locked(s);
    s->state = PH_SRV_STOPPING;
    s->stop_deadline = now + drain_ms;
    ph__conn_stop_walk_locked(s, now);
    if (s->live == 0)
        SetEvent(s->drained);
    SetEvent(s->timer_wake); /* the timer thread repeats the walk until drained */
}

/* Frees what start created once no thread uses it (after the join, or before any thread ran). Under life. */
static void release_resources(ph_server *s)
{
    free(s->threads);
    s->threads = NULL;
    s->nthreads = 0;
    if (s->iocp != NULL)
        CloseHandle(s->iocp);
    s->iocp = NULL;
    if (s->sd != NULL)
        LocalFree(s->sd);
    s->sd = NULL;
    if (s->wide_sd != NULL)
        LocalFree(s->wide_sd);
    s->wide_sd = NULL;
    free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
    free(s->users);
    s->users = NULL;
    s->nusers = s->users_cap = 0;
    AcquireSRWLockExclusive(&s->lock);
    s->state = PH_SRV_STOPPED;
    s->joined = 1;
    ReleaseSRWLockExclusive(&s->lock);
}

/* Waits for every instance to go, then for every thread; frees the port and descriptor. Under life, with
 * the server STOPPING. */
static void join_all(ph_server *s)
{
    ULONGLONG warn_at;
    unsigned i;
    int warned = 0;

    AcquireSRWLockShared(&s->lock);
    warn_at = s->stop_deadline + 5000;
    ReleaseSRWLockShared(&s->lock);
    /* The timer cancels whatever is left at the deadline; only a handler that never returns can hold us
     * past it, and its connection cannot be freed under it, so we say so and keep waiting. Without a timer
     * thread (a start that failed early) this loop applies the stop rules itself. */
    while (WaitForSingleObject(s->drained, 25) == WAIT_TIMEOUT) {
        if (s->timer == NULL) {
            AcquireSRWLockShared(&s->lock);
            ph__conn_stop_walk_locked(s, GetTickCount64());
            ReleaseSRWLockShared(&s->lock);
        }
        if (!warned && GetTickCount64() > warn_at) {
            ph__log(&s->log, PH_LOG_ERROR, "stop: a request handler has not returned 5 s after the drain deadline");
            warned = 1;
        }
    }
    if (s->timer != NULL) {
        AcquireSRWLockExclusive(&s->lock);
        s->timer_quit = 1;
        ReleaseSRWLockExclusive(&s->lock);
        SetEvent(s->timer_wake);
        WaitForSingleObject(s->timer, INFINITE);
        CloseHandle(s->timer);
        s->timer = NULL;
    }
    ph__pool_quit(s);
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

/* Builds everything start needs; returns 0 or a PH_E code with *err set. Under life, STARTING. */
static int start_build(ph_server *s, DWORD *err)
{
    char why[512];
    unsigned i;
    int rc;

    /* A fixed pool may grant instance creation (it is widened to anyway); the unlimited pool may not. */
    rc = ph__security_parse(s->sddl, (s->fixed ? PH_SDDL_PIPE_FIXED : PH_SDDL_PIPE) | s->cfg.sddl_flags, &s->sd, err,
                            why, sizeof(why));
    if (rc != 0) {
        if (*err != 0 && *err != ERROR_INVALID_SECURITY_DESCR) /* that one is the checker's own refusal */
            ph__log_win32(&s->log, PH_LOG_ERROR, *err, "ConvertStringSecurityDescriptorToSecurityDescriptorW",
                          "refusing the SDDL \"%s\": %s", s->sddl, why);
        else
            ph__log(&s->log, PH_LOG_ERROR, "refusing the SDDL \"%s\": %s", s->sddl, why);
        return rc;
    }
    s->sa.nLength = sizeof(s->sa);
    s->sa.lpSecurityDescriptor = s->sd;
    s->sa.bInheritHandle = FALSE;

    if (name_in_use(s)) {
        *err = ERROR_PIPE_BUSY;
        ph__log(&s->log, PH_LOG_ERROR, "pipe name %s is already in use by another server", s->pipe_name);
        return PH_EADDRINUSE;
    }
    s->skip_on_success = ph__probe_skip_mode(&s->more_data_queues) == 0;

    s->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (s->iocp == NULL) {
        *err = GetLastError();
        return ph__map_win32(*err);
    }
    s->threads = calloc(s->cfg.threads, sizeof(HANDLE));
    s->workers = calloc(s->cfg.threads, sizeof(struct ph_worker *));
    if (s->threads == NULL || s->workers == NULL) {
        *err = ERROR_NOT_ENOUGH_MEMORY;
        return PH_ENOMEM;
    }
    for (i = 0; i < s->cfg.threads; i++) {
        s->threads[i] = CreateThread(NULL, 0, ph__pool_main, s, 0, NULL);
        if (s->threads[i] == NULL) {
            *err = GetLastError();
            return ph__map_win32(*err);
        }
        s->nthreads++;
    }
    s->timer = CreateThread(NULL, 0, ph__timer_main, s, 0, NULL);
    if (s->timer == NULL) {
        *err = GetLastError();
        return ph__map_win32(*err);
    }

    return ph__listener_start(s, err);
}

int ph_server_start(ph_server *s)
{
    DWORD err = 0;
    int rc;

    if (s == NULL)
        return PH_EINVAL;
    /* life first: a stop that sees STARTING must find it held (see the rules). */
    EnterCriticalSection(&s->life);
    AcquireSRWLockExclusive(&s->lock);
    if (s->state != PH_SRV_CREATED) {
        ReleaseSRWLockExclusive(&s->lock);
        LeaveCriticalSection(&s->life);
        return PH_ESTATE;
    }
    s->state = PH_SRV_STARTING;
    s->start_thread = GetCurrentThreadId();
    s->pending_target = s->cfg.pending_instances;
    ReleaseSRWLockExclusive(&s->lock);

    s->syserr = 0;
    rc = start_build(s, &err);
    AcquireSRWLockExclusive(&s->lock);
    if (rc == 0 && s->stop_requested) {
        rc = PH_ECANCELED;
        err = ERROR_OPERATION_ABORTED;
    }
    if (rc == 0)
        s->state = PH_SRV_RUNNING;
    else
        begin_stop_locked(s, 0); /* nothing to drain: no request was served */
    s->start_thread = 0;
    ReleaseSRWLockExclusive(&s->lock);
    if (rc != 0) {
        join_all(s);
        s->syserr = err;
        if (rc == PH_ECANCELED)
            ph__log(&s->log, PH_LOG_INFO, "start of %s cancelled by a stop", s->pipe_name);
    } else if (s->fixed) {
        ph__log(&s->log, PH_LOG_INFO, "serving %s with a fixed pool of %u instances and %u threads", s->pipe_name,
                s->cfg.max_instances, s->nthreads);
    } else {
        ph__log(&s->log, PH_LOG_INFO, "serving %s with %u waiting instances (unlimited pool) and %u threads",
                s->pipe_name, s->cfg.pending_instances, s->nthreads);
    }
    LeaveCriticalSection(&s->life);
    return rc;
}

/* The narrowing at stop failed: said once, outside the locks. */
static void log_narrow(ph_server *s)
{
    DWORD err;

    AcquireSRWLockExclusive(&s->lock);
    err = s->narrow_err;
    s->narrow_err = 0;
    ReleaseSRWLockExclusive(&s->lock);
    if (err != 0)
        ph__log_win32(&s->log, PH_LOG_ERROR, err, "SetSecurityInfo",
                      "stopping %s: cannot narrow the pipe's DACL back before closing its instances", s->pipe_name);
}

int ph_server_stop(ph_server *s)
{
    int began = 0, own;

    if (s == NULL)
        return PH_EINVAL;
    AcquireSRWLockExclusive(&s->lock);
    if (s->state == PH_SRV_CREATED) {
        s->state = PH_SRV_STOPPED;
        s->joined = 1;
    } else if (s->state == PH_SRV_STARTING) {
        s->stop_requested = 1;
    } else if (s->state == PH_SRV_RUNNING) {
        begin_stop_locked(s, s->limits.drain_timeout_ms);
        began = 1;
    }
    own = ph__on_server_thread(s) || s->start_thread == GetCurrentThreadId();
    ReleaseSRWLockExclusive(&s->lock);
    /* The host's callback runs outside our lock: it may well ask for the counters, or stop us. */
    if (began) {
        log_narrow(s);
        ph__log(&s->log, PH_LOG_INFO, "stopping %s", s->pipe_name);
    }
    if (own)
        return 0; /* joining here would wait for ourselves */

    EnterCriticalSection(&s->life);
    /* A start that was under way has ended: it either failed (and joined) or is running now. */
    AcquireSRWLockExclusive(&s->lock);
    began = s->state == PH_SRV_RUNNING;
    if (began)
        begin_stop_locked(s, s->limits.drain_timeout_ms);
    ReleaseSRWLockExclusive(&s->lock);
    if (began) {
        log_narrow(s);
        ph__log(&s->log, PH_LOG_INFO, "stopping %s", s->pipe_name);
    }
    if (!s->joined) {
        join_all(s);
        ph__log(&s->log, PH_LOG_INFO, "stopped %s", s->pipe_name);
    }
    LeaveCriticalSection(&s->life);
    return 0;
}

void ph_server_free(ph_server *s)
{
    if (s == NULL)
        return;
    ph_server_stop(s);
    DeleteCriticalSection(&s->life);
    server_destroy(s);
}

int ph_server_set_limits(ph_server *s, const ph_limits *limits)
{
    int rc;

    if (s == NULL)
        return PH_EINVAL;
    rc = ph_limits_validate(limits);
    if (rc != 0)
        return rc;
    /* Only stored: connections read them at their next request, and deadlines already armed keep theirs. */
    AcquireSRWLockExclusive(&s->lock);
    s->limits = *limits;
    ReleaseSRWLockExclusive(&s->lock);
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
    out->buffered_bytes = read64(&s->c_buffered);
    out->requests_held = read64(&s->c_held);
    AcquireSRWLockShared((PSRWLOCK)&s->lock);
    out->instances_pending = s->accepting;
    out->instances_total = s->instances;
    ReleaseSRWLockShared((PSRWLOCK)&s->lock);
    return 0;
}
