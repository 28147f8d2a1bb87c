/* test_engine2.c — the engine defects of issue 14 §5, each forced into view: a stop or free between start's
 * two steps, the post-burst trim, a slow handler behind deferred reads, failing asynchronous accepts, a stale
 * idle deadline on a re-armed instance, and pipelining clients that cost quadratic copying or hold a thread. */
#include "coretest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------------------- */
/* 1. A stop (or free) between ph_server_start marking the server STARTING and taking its life lock.        */

typedef struct life_race {
    ph_server *s;
    int use_free;
    volatile LONG start_rc;
    HANDLE started; /* manual-reset: ph_server_start returned */
    HANDLE stopped; /* manual-reset: ph_server_stop / ph_server_free returned */
} life_race;

static DWORD WINAPI race_start_main(LPVOID arg)
{
    life_race *r = arg;

    InterlockedExchange(&r->start_rc, ph_server_start(r->s));
    SetEvent(r->started);
    return 0;
}

static DWORD WINAPI race_stop_main(LPVOID arg)
{
    life_race *r = arg;

    if (r->use_free)
        ph_server_free(r->s);
    else
        ph_server_stop(r->s);
    SetEvent(r->stopped);
    return 0;
}

/* The defect: start sets STARTING under the state lock, releases it, and only then enters the life lock. A
 * stop arriving in between records stop_requested, takes the life lock first and waits in the join for a
 * drain that nothing will ever signal (the server is not STOPPING and start cannot run), while start waits
 * for the life lock: both threads hang. ph_server_free stops first, so it hangs the same way.
 * How the test catches it: the starting thread is held (ct_pause) at its first EnterCriticalSection on a lock
 * inside the server object, which today is the life lock right after STARTING was set; the stop (or free)
 * runs on another thread meanwhile; the starting thread is let go once the stop has returned or after
 * 300 ms. Both must then return within 10 s (today neither does: the test fails on the bound, and the two
 * hung threads are left behind), start must have failed with PH_ECANCELED or succeeded, and afterwards no
 * instance of the name may exist: a stop that returned leaves no server behind. */
static void run_life_race(int use_free)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    life_race r;
    HANDLE ta, tb, both[2];
    DWORD tid = 0, w;
    int paused, before;
    unsigned long long t0;

    memset(&r, 0, sizeof(r));
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), use_free ? "life-free" : "life-stop", &ctx, NULL);
    before = ct_thread_count();
    ck_assert_int_eq(ph_server_new(&cfg, &r.s), 0);
    ctx.server = r.s;
    r.use_free = use_free;
    r.started = CreateEventW(NULL, TRUE, FALSE, NULL);
    r.stopped = CreateEventW(NULL, TRUE, FALSE, NULL);
    ta = CreateThread(NULL, 0, race_start_main, &r, CREATE_SUSPENDED, &tid);
    ck_assert_ptr_nonnull(ta);
    /* The server object is one allocation; its locks lie in its first few hundred bytes. */
    ct_pause_arm(tid, r.s, 4096);
    ResumeThread(ta);
    paused = ct_pause_wait(5000);
    if (!paused)
        printf("the starting thread never took a lock inside the server object: no window to widen\n");
    t0 = ph_test_now_ms();
    tb = CreateThread(NULL, 0, race_stop_main, &r, 0, NULL);
    ck_assert_ptr_nonnull(tb);
    WaitForSingleObject(r.stopped, 300);
    ct_pause_release();
    both[0] = r.started;
    both[1] = r.stopped;
    w = WaitForMultipleObjects(2, both, TRUE, 10000);
    ck_assert_msg(w != WAIT_TIMEOUT, "%s from another thread while start was under way: after %llu ms start %s, %s %s "
                  "(a deadlock between the two)", use_free ? "ph_server_free" : "ph_server_stop", ph_test_now_ms() - t0,
                  WaitForSingleObject(r.started, 0) == WAIT_OBJECT_0 ? "returned" : "has not returned",
                  use_free ? "free" : "stop",
                  WaitForSingleObject(r.stopped, 0) == WAIT_OBJECT_0 ? "returned" : "has not returned");
    printf("start returned %s; both returned after %llu ms\n", ph_err_name((int)r.start_rc), ph_test_now_ms() - t0);
    ck_assert_msg(r.start_rc == 0 || r.start_rc == PH_ECANCELED || r.start_rc == PH_ESTATE, "start returned %s", ph_err_name((int)r.start_rc));
    ck_assert_uint_eq(WaitForSingleObject(ta, 5000), WAIT_OBJECT_0);
    ck_assert_uint_eq(WaitForSingleObject(tb, 5000), WAIT_OBJECT_0);
    CloseHandle(ta);
    CloseHandle(tb);
    ck_assert_msg(ct_pipe_gone(name), "an instance of the pipe outlived the stop");
    if (!use_free)
        ph_server_free(r.s);
    ck_assert_int_eq(ct_thread_count(), before);
    CloseHandle(r.started);
    CloseHandle(r.stopped);
    ct_ctx_free(&ctx);
}

START_TEST(stop_between_starting_and_life_lock)
{
    run_life_race(0);
}
END_TEST

START_TEST(free_between_starting_and_life_lock)
{
    run_life_race(1);
}
END_TEST

/* ------------------------------------------------------------------------------------------------------- */
/* 2. The post-burst trim and accepts that have already completed.                                          */

typedef struct burst {
    const char *name;
    ph_client *c[64];
    volatile LONG failed;
} burst;

static void burst_client(void *arg, unsigned index)
{
    burst *b = arg;
    ph_client *c = NULL;

    if (ph_client_new(&c) != 0 || ph_client_connect(c, b->name, 10000, 0) != 0) {
        InterlockedIncrement(&b->failed);
        ph_client_free(c);
        return;
    }
    b->c[index] = c;
}

typedef struct sleeper {
    ph_client *c;
    const char *req;
    volatile LONG rc;
    unsigned long long took;
} sleeper;

static void sleeper_client(void *arg, unsigned index)
{
    sleeper *sl = arg;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0 = ph_test_now_ms();

    (void)index;
    InterlockedExchange(&sl->rc, ct_transact(sl->c, sl->req, &m, &len, 30000));
    sl->took = ph_test_now_ms() - t0;
    ph_free(m);
}

/* The defect: about 5 s after the last burst the timer halves the waiting target and cancels waiting
 * instances beyond it (closing = TRIM, CancelIoEx). It picks instances by their state, ACCEPTING, which an
 * instance keeps until a pool thread runs its accept's completion. An instance whose client has already
 * connected is picked like any other; CancelIoEx finds nothing to cancel, but the completion then sees closing
 * set and disconnects the client, whose connect had succeeded: its first request fails with PH_EPIPE.
 * How the test catches it: one pool thread; a 48-client burst raises the waiting target (to 32 or 64); the
 * only pool thread is then held in an 8 s handler, and clients take every waiting instance: their connects
 * succeed, their completions wait in the port. The trim comes 5–6 s after the burst, while the thread is
 * still held, and today cancels half of those completed accepts. Every client whose connect succeeded must
 * then get its echo. (Today about half get PH_EPIPE.) */
START_TEST(trim_spares_completed_accepts)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    burst b;
    sleeper sl;
    ct_threads *hold;
    ph_client **late;
    uint64_t pending;
    unsigned i, nlate = 0, broken = 0, other = 0;
    unsigned long long t_burst;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "trim", &ctx, NULL);
    cfg.threads = 1;
    cfg.pending_instances = 1;
    s = ct_start(&cfg, &ctx);
    memset(&b, 0, sizeof(b));
    b.name = name;
    ck_assert(ct_run_threads(48, burst_client, &b, 20000));
    ck_assert_int_eq(b.failed, 0);
    ck_assert(CT_WAIT(s, connections_active, 48, 5000));
    t_burst = ph_test_now_ms(); /* the target last grew before this */
    ck_assert(CT_WAIT_GE(s, instances_pending, 8, 2000));
    ph_test_sleep_ms(100); /* the last refills settle */
    pending = CT_COUNTER(s, instances_pending);
    printf("after the burst: %llu instances waiting\n", (unsigned long long)pending);
    ck_assert_uint_ge(pending, 8);

    /* Hold the only pool thread past the trim (5–6 s after the burst). */
    memset(&sl, 0, sizeof(sl));
    sl.c = b.c[0];
    sl.req = "SLEEP 8000";
    hold = ct_spawn(1, sleeper_client, &sl);
    ck_assert_uint_eq(WaitForSingleObject(ctx.entered, 5000), WAIT_OBJECT_0);
    /* Take every waiting instance: the connects succeed; nothing runs their completions yet. */
    late = calloc((size_t)pending, sizeof(*late));
    ck_assert_ptr_nonnull(late);
    for (i = 0; i < pending; i++) {
        ph_client *c = NULL;
        ck_assert_int_eq(ph_client_new(&c), 0);
        if (ph_client_connect(c, name, 500, 0) != 0) {
            ph_client_free(c);
            break;
        }
        late[nlate++] = c;
    }
    printf("%u clients connected %llu ms after the burst, while the pool thread was held\n", nlate,
           ph_test_now_ms() - t_burst);
    ck_assert_uint_ge(nlate, 8);
    ck_assert_msg(ph_test_now_ms() - t_burst < 4500, "too slow to connect before the trim (%llu ms)",
                  ph_test_now_ms() - t_burst);
    ck_assert(ct_join(hold, 20000));
    ck_assert_int_eq(sl.rc, 0);
    printf("the held handler returned %llu ms after the burst\n", ph_test_now_ms() - t_burst);
    for (i = 0; i < nlate; i++) {
        unsigned char *m = NULL;
        size_t len = 0;
        int rc = ph_client_transact(late[i], "ping", 4, &m, &len, 10000, 0);
        if (rc == PH_EPIPE)
            broken++;
        else if (rc != 0 || len != 4 || memcmp(m, "ping", 4) != 0)
            other++;
        ph_free(m);
        ph_client_free(late[i]);
    }
    free(late);
    printf("%u of %u connected clients lost their connection, %u other failures\n", broken, nlate, other);
    ck_assert_msg(broken == 0 && other == 0,
                  "%u of %u clients whose connect had succeeded were disconnected before their first request "
                  "(the trim cancelled completed accepts), %u other failures", broken, nlate, other);
    for (i = 0; i < 48; i++)
        ph_client_free(b.c[i]);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------------------------------------- */
/* 3. A slow handler must not hold up other clients' quick requests.                                        */

typedef struct latency {
    const char *name;
    unsigned nslow;
    volatile LONG stop;
    volatile LONG failed;
    volatile LONG quick_requests;
    volatile LONG slow_requests;
    volatile LONG worst_ms;
    volatile LONG over; /* quick requests that took too long */
} latency;

static void note_worst(volatile LONG *worst, LONG ms)
{
    for (;;) {
        LONG seen = *worst;
        if (ms <= seen || InterlockedCompareExchange(worst, ms, seen) == seen)
            return;
    }
}

static void latency_client(void *arg, unsigned index)
{
    latency *l = arg;
    ph_client *c = NULL;
    int slow = index < l->nslow;

    if (ph_client_new(&c) != 0 || ph_client_connect(c, l->name, 5000, 0) != 0) {
        InterlockedIncrement(&l->failed);
        ph_client_free(c);
        return;
    }
    while (!l->stop) {
        unsigned char *m = NULL;
        size_t len = 0;
        unsigned long long t0 = ph_test_now_ms();
        int rc = ct_transact(c, slow ? "SLEEP 1000" : "quick", &m, &len, 10000);
        LONG took = (LONG)(ph_test_now_ms() - t0);

        ph_free(m);
        if (rc != 0) {
            InterlockedIncrement(&l->failed);
            break;
        }
        if (slow) {
            InterlockedIncrement(&l->slow_requests);
        } else {
            InterlockedIncrement(&l->quick_requests);
            note_worst(&l->worst_ms, took);
            if (took >= 800)
                InterlockedIncrement(&l->over);
        }
    }
    ph_client_free(c);
}

/* The defect: after writing a response at once a pool thread may keep the connection's next read (a deferred
 * read, pool.c), and before posting it, it takes what the port holds without waiting, which runs other
 * connections' handlers on the same thread, however slow. A quick client whose read is deferred behind a
 * 1 s handler waits a second for an answer it could have had in a millisecond, although other pool threads
 * are free.
 * How the test catches it: 8 pool threads, 6 clients sending SLEEP 1000 back to back (so 2 threads are
 * always free), 8 clients sending quick echoes back to back, for 5 s; no quick request may take 800 ms or
 * more. Which thread takes a slow request's packet is up to the port, so each slow request is a chance, not a
 * certainty, to land on a thread holding deferred reads: 30 of them make a miss of all unlikely. (Today
 * 6 to 11 quick requests take 1 to 3.7 s per run. With deferral switched off the worst was 440 ms on this
 * shared machine, hence 800 ms rather than the 700 of the issue.) */
START_TEST(slow_handler_does_not_delay_quick_clients)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    latency l;
    ct_threads *t;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "slowhandler", &ctx, NULL);
    cfg.threads = 8;
    cfg.pending_instances = 16;
    s = ct_start(&cfg, &ctx);
    memset(&l, 0, sizeof(l));
    l.name = name;
    l.nslow = 6;
    t = ct_spawn(14, latency_client, &l);
    ph_test_sleep_ms(5000);
    InterlockedExchange(&l.stop, 1);
    ck_assert(ct_join(t, 15000));
    printf("%ld quick requests (worst %ld ms, %ld took 800 ms or more), %ld slow ones, %ld failures\n",
           (long)l.quick_requests, (long)l.worst_ms, (long)l.over, (long)l.slow_requests, (long)l.failed);
    ck_assert_int_eq(l.failed, 0);
    ck_assert_int_ge(l.slow_requests, 12);
    ck_assert_int_ge(l.quick_requests, 100);
    ck_assert_msg(l.over == 0, "%ld quick requests waited 800 ms or more (worst %ld ms) behind another client's "
                  "slow handler", (long)l.over, (long)l.worst_ms);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* ------------------------------------------------------------------------------------------------------- */
/* 4. Accepts that fail asynchronously; the idle deadline of a re-armed instance; pipelining clients.       */

/* The defect: a ConnectNamedPipe that pends and then completes with an error (not a cancel) is logged at
 * WARN and the instance re-armed at once (conn_close re-arms it while the target wants it): no back-off, a
 * log line per attempt, a pool thread spinning on the failure for as long as it lasts.
 * How the test catches it: through the syscall table, every accept pends and then completes with
 * STATUS_INSUFFICIENT_RESOURCES (ERROR_NO_SYSTEM_RESOURCES, a transient failure) on the instance's port.
 * Over one second at most 50 accepts may be attempted and at most 5 warnings or errors logged (a back-off of
 * 10 ms doubling, like the refill's, makes about 7 attempts per instance and one line); once the failure
 * ends, a client must be served within 3 s. (Today: thousands of attempts and as many lines.) */
START_TEST(async_accept_failure_backs_off)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ct_log lg;
    ph_server *s;
    ph_client *c = NULL;
    LONG attempts, lines, warn0, err0;
    int rc;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_log_init(&lg);
    lg.quiet = 1;
    ct_config(&cfg, name, sizeof(name), "acceptasync", &ctx, &lg);
    cfg.pending_instances = 2;
    s = ct_start(&cfg, &ctx);
    warn0 = lg.by_level[PH_LOG_WARN];
    err0 = lg.by_level[PH_LOG_ERROR];
    ct_sys_state.fail_connect_async_status = (LONG)0xC000009AL; /* STATUS_INSUFFICIENT_RESOURCES */
    InterlockedExchange(&ct_sys_state.fail_connect_async, -1);
    /* A client takes a waiting instance and leaves: every accept from now on fails asynchronously. */
    c = ct_connect(name);
    ct_expect_str(c, "x", "x");
    ph_client_free(c);
    ck_assert(ct_wait_long(&ct_sys_state.connect_async_failed, 1, 5000));
    attempts = ct_sys_state.connect_async_failed;
    ph_test_sleep_ms(1000);
    attempts = ct_sys_state.connect_async_failed - attempts;
    lines = (lg.by_level[PH_LOG_WARN] - warn0) + (lg.by_level[PH_LOG_ERROR] - err0);
    InterlockedExchange(&ct_sys_state.fail_connect_async, 0);
    printf("in 1 s of failing accepts: %ld attempts, %ld warnings and errors logged\n", (long)attempts, (long)lines);
    ck_assert_int_eq(ph_client_new(&c), 0);
    rc = ph_client_connect(c, name, 3000, 0);
    ck_assert_msg(rc == 0, "no instance accepted a client within 3 s of the failure ending: %s", ph_err_name(rc));
    ct_expect_str(c, "back", "back");
    ph_client_free(c);
    ph_server_free(s);
    ct_sys_restore();
    ck_assert_msg(attempts <= 50, "%ld accepts attempted in 1 s of asynchronous failures: no back-off", (long)attempts);
    ck_assert_msg(lines <= 5, "%ld warnings and errors logged in 1 s of asynchronous accept failures", (long)lines);
    ct_log_free(&lg);
    ct_ctx_free(&ctx);
}
END_TEST

/* A log sink that, once armed, holds the thread that logs a new connection's acceptance for a while: a host
 * whose log is slow (a file, a pipe). Everything else goes to the capture. */
typedef struct slow_log {
    ct_log lg;
    volatile LONG armed;
    DWORD hold_ms;
    volatile LONG held;
} slow_log;

static void slow_log_fn(void *ctx, ph_log_level level, const char *message)
{
    slow_log *sl = ctx;

    ct_log_fn(&sl->lg, level, message);
    if (strstr(message, "accepted") != NULL && InterlockedExchange(&sl->armed, 0) == 1) {
        Sleep(sl->hold_ms);
        InterlockedExchange(&sl->held, 1);
    }
}

/* The defect: a client that leaves lets its instance be re-armed for the next client without removing the
 * instance's idle deadline, the old client's. When the next client connects, the instance is marked IDLE
 * before its own deadline is armed (on_connected refills, and logs, in between); if the old deadline comes
 * due in that gap, the timer cancels the new connection as idle, which has not even had time to send.
 * How the test catches it: one instance at most (so the next client lands on the re-armed one), idle timeout
 * 800 ms; client 1 sends a request at t and leaves, so its deadline is t + 800; client 2 connects at once,
 * and the log callback holds the acceptance of client 2 for 1.5 s (a slow log sink), past the stale deadline.
 * Client 2 then sends a request right away and must get its answer. (Today: PH_EPIPE and "idle timeout" for
 * connection 2, which was idle for no time at all.) */
START_TEST(rearmed_instance_does_not_keep_old_idle_deadline)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    slow_log sl;
    ph_server *s;
    ph_client *c1, *c2;
    unsigned char *m = NULL;
    size_t len = 0;
    int rc;

    ct_ctx_init(&ctx);
    memset(&sl, 0, sizeof(sl));
    ct_log_init(&sl.lg);
    sl.hold_ms = 1500;
    ct_config(&cfg, name, sizeof(name), "staledeadline", &ctx, NULL);
    cfg.max_instances = 1;
    cfg.pending_instances = 1;
    cfg.limits.idle_timeout_ms = 800;
    cfg.log = slow_log_fn;
    cfg.log_ctx = &sl;
    cfg.log_level = PH_LOG_DEBUG;
    s = ct_start(&cfg, &ctx);
    c1 = ct_connect(name);
    ct_expect_str(c1, "first", "first");
    ph_client_free(c1);
    ck_assert(CT_WAIT(s, connections_active, 0, 5000));
    InterlockedExchange(&sl.armed, 1);
    c2 = ct_connect(name);
    rc = ph_client_transact(c2, "second", 6, &m, &len, 10000, 0);
    ck_assert_msg(sl.held == 1 || sl.armed == 0, "the acceptance was not logged");
    ck_assert_msg(rc == 0, "the client on the re-armed instance got %s on its first request: closed by the "
                  "previous client's idle deadline", ph_err_name(rc));
    ck_assert_uint_eq(len, 6);
    ck_assert(memcmp(m, "second", 6) == 0);
    ph_free(m);
    ph_client_free(c2);
    ph_server_free(s);
    ct_log_free(&sl.lg);
    ct_ctx_free(&ctx);
}
END_TEST

/* Pipelining: a raw byte-mode client writes many tiny frames at once while another thread reads the
 * responses. */
typedef struct pipeliner {
    HANDLE h;
    size_t frames;        /* to send and receive */
    size_t chunk_frames;  /* frames per WriteFile */
    volatile LONG write_err, read_err;
    size_t received;      /* response frames read */
    unsigned long long end_ms;
} pipeliner;

#define TINY_BODY "tiny"
#define TINY_FRAME 8u /* 4-byte length + "tiny"; the echo is the same 8 bytes */

static DWORD WINAPI pipeline_writer(LPVOID arg)
{
    pipeliner *p = arg;
    size_t n = p->chunk_frames * TINY_FRAME, sent = 0, i;
    unsigned char *buf = malloc(n);

    if (buf == NULL) {
        InterlockedExchange(&p->write_err, ERROR_NOT_ENOUGH_MEMORY);
        return 0;
    }
    for (i = 0; i < p->chunk_frames; i++) {
        ct_put_le32(buf + i * TINY_FRAME, 4);
        memcpy(buf + i * TINY_FRAME + 4, TINY_BODY, 4);
    }
    while (sent < p->frames) {
        size_t k = p->frames - sent < p->chunk_frames ? p->frames - sent : p->chunk_frames;
        DWORD put = 0;
        if (!WriteFile(p->h, buf, (DWORD)(k * TINY_FRAME), &put, NULL) || put != k * TINY_FRAME) {
            InterlockedExchange(&p->write_err, (LONG)GetLastError());
            break;
        }
        sent += k;
    }
    free(buf);
    return 0;
}

/* Reads every response (all the same 8 bytes), in big reads; checks each. */
static DWORD WINAPI pipeline_reader(LPVOID arg)
{
    pipeliner *p = arg;
    size_t cap = 1u << 20, have = 0, want = p->frames * TINY_FRAME, i;
    unsigned char *buf = malloc(cap);

    if (buf == NULL) {
        InterlockedExchange(&p->read_err, ERROR_NOT_ENOUGH_MEMORY);
        return 0;
    }
    while (have < want) {
        DWORD got = 0, avail = 0, n = (DWORD)(want - have < cap ? want - have : cap);
        /* Read what has accumulated, not each response as it comes: a reader blocked in ReadFile would be
         * woken (a wineserver round trip) per 8-byte response. */
        if (!PeekNamedPipe(p->h, NULL, 0, NULL, &avail, NULL)) {
            InterlockedExchange(&p->read_err, (LONG)GetLastError());
            break;
        }
        if (avail == 0) {
            Sleep(2);
            continue;
        }
        if (avail < n)
            n = avail;
        if (!ReadFile(p->h, buf, n, &got, NULL)) {
            InterlockedExchange(&p->read_err, (LONG)GetLastError());
            break;
        }
        for (i = 0; i < got; i++) {
            size_t pos = (have + i) % TINY_FRAME;
            unsigned char expect = pos == 0 ? 4 : pos < 4 ? 0 : (unsigned char)TINY_BODY[pos - 4];
            if (buf[i] != expect) {
                InterlockedExchange(&p->read_err, ERROR_INVALID_DATA);
                break;
            }
        }
        have += got;
        if (p->read_err != 0)
            break;
    }
    p->received = have / TINY_FRAME;
    p->end_ms = ph_test_now_ms();
    free(buf);
    return 0;
}

/* User-mode CPU time, in ms, of the pool threads the handler has run on (ct_ctx records them). Copying
 * buffers is user time of those threads; a system call's cost is mostly the kernel's and, under Wine, the
 * wineserver's. */
static unsigned long long pool_user_ms(ct_ctx *ctx)
{
    unsigned long long total = 0;
    unsigned i;

    EnterCriticalSection(&ctx->lock);
    for (i = 0; i < ctx->nthreads; i++) {
        HANDLE t = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, ctx->threads[i]);
        FILETIME c, e, k, u;
        if (t == NULL)
            continue;
        if (GetThreadTimes(t, &c, &e, &k, &u))
            total += (((unsigned long long)u.dwHighDateTime << 32) | u.dwLowDateTime) / 10000u;
        CloseHandle(t);
    }
    LeaveCriticalSection(&ctx->lock);
    return total;
}

static ph_server *start_length_server(const char *tag, char *name, ct_ctx *ctx, unsigned threads)
{
    ph_server_config cfg;

    ct_config(&cfg, name, CT_NAME_MAX, tag, ctx, NULL);
    cfg.framing = PH_FRAMING_LENGTH;
    cfg.threads = threads;
    cfg.buffer_size = 1u << 20; /* the pipe takes a whole burst of frames: the server reads up to its hint */
    cfg.limits.max_message_bytes = 2u << 20;
    cfg.limits.write_timeout_ms = 30000;
    return ct_start(&cfg, ctx);
}

/* One echo of a 1 MiB frame on h: afterwards the connection's reads are sized for 1 MiB requests. */
static void big_echo(HANDLE h)
{
    size_t n = 1u << 20;
    unsigned char *f = malloc(4 + n), *r = malloc(4 + n);
    DWORD put = 0, err;

    ck_assert(f != NULL && r != NULL);
    ct_put_le32(f, (uint32_t)n);
    ct_fill(f + 4, n, 3);
    ck_assert(WriteFile(h, f, (DWORD)(4 + n), &put, NULL));
    err = ct_read_exact(h, r, 4 + n, 20000);
    ck_assert_msg(err == 0, "the 1 MiB echo: error %lu", err);
    ck_assert(memcmp(f, r, 4 + n) == 0);
    free(f);
    free(r);
}

/* Sends frames tiny frames pipelined on h (in writes of chunk frames) and reads every response; returns the
 * wall time in ms, and the user CPU time of the server's pool threads in *cpu_ms. */
static unsigned long long pipeline_run(ct_ctx *ctx, HANDLE h, size_t frames, size_t chunk, unsigned long long *cpu_ms,
                                       unsigned timeout_ms)
{
    pipeliner p;
    HANDLE tw, tr;
    unsigned long long t0 = ph_test_now_ms(), c0 = pool_user_ms(ctx);

    memset(&p, 0, sizeof(p));
    p.h = h;
    p.frames = frames;
    p.chunk_frames = chunk;
    tr = CreateThread(NULL, 0, pipeline_reader, &p, 0, NULL);
    tw = CreateThread(NULL, 0, pipeline_writer, &p, 0, NULL);
    ck_assert(tr != NULL && tw != NULL);
    ck_assert_msg(WaitForSingleObject(tr, timeout_ms) == WAIT_OBJECT_0,
                  "%lu pipelined tiny frames not answered within %u ms", (unsigned long)frames, timeout_ms);
    ck_assert_uint_eq(WaitForSingleObject(tw, 5000), WAIT_OBJECT_0);
    CloseHandle(tr);
    CloseHandle(tw);
    ck_assert_msg(p.write_err == 0 && p.read_err == 0, "pipelining: write error %ld, read error %ld",
                  (long)p.write_err, (long)p.read_err);
    ck_assert_uint_eq(p.received, frames);
    *cpu_ms = pool_user_ms(ctx) - c0;
    return p.end_ms - t0;
}

/* The defect: in length framing a connection's reads follow the size of its last request, up to 1 MiB; a
 * client that once sent a large frame and then pipelines tiny ones gets them read up to 1 MiB at a time, and
 * each frame consumed moves all the rest of the buffer to its front (memmove in conn_dispatch): about
 * n²·8/2 bytes copied for n frames of 8 bytes, 64 GiB for a single megabyte of them.
 * How the test catches it: under Wine a pipe write costs far more than moving even a megabyte in cache, so
 * time shows little; the bytes the server's pool thread copies are counted instead (ct_copy_count: memmove
 * and memcpy through the program's import table). One pool thread; a connection echoes a 1 MiB frame, then
 * pipelines 8,192 frames of 8 bytes (64 KiB) in one write, which the server reads in one piece. The pool
 * thread may copy at most 64 times the bytes it received in that run, plus 1 MiB. (Today 256 MiB.) */
START_TEST(pipelined_tiny_frames_cost_linear_time)
{
    char name[CT_NAME_MAX];
    ct_ctx ctx;
    ph_server *s;
    HANDLE primed;
    unsigned long long wall, cpu = 0, copied;
    size_t frames = 8192, input = frames * TINY_FRAME;
    DWORD pool_thread;

    ct_ctx_init(&ctx);
    s = start_length_server("tinyframes", name, &ctx, 1);
    primed = ct_byte_connect(name);
    big_echo(primed);
    EnterCriticalSection(&ctx.lock);
    ck_assert_uint_eq(ctx.nthreads, 1);
    pool_thread = ctx.threads[0];
    LeaveCriticalSection(&ctx.lock);
    ct_copy_count(pool_thread);
    wall = pipeline_run(&ctx, primed, frames, frames, &cpu, 60000);
    copied = ct_copy_bytes();
    ct_copy_count(0);
    printf("%lu pipelined 8-byte frames after a 1 MiB frame: %llu ms, pool thread CPU %llu ms, %llu bytes copied "
           "(%llu per byte received)\n", (unsigned long)frames, wall, cpu, copied, copied / input);
    ck_assert_msg(copied <= 64ull * input + (1u << 20),
                  "the server copied %llu bytes to handle %lu bytes of pipelined frames: the buffer is moved per "
                  "frame", copied, (unsigned long)input);
    CloseHandle(primed);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

typedef struct prober {
    const char *name;
    ph_client *c;
    volatile LONG stop;
    volatile LONG failed;
    volatile LONG requests;
    volatile LONG worst_ms;
} prober;

static void probe_client(void *arg, unsigned index)
{
    prober *p = arg;

    (void)index;
    while (!p->stop) {
        unsigned char *m = NULL;
        size_t len = 0;
        unsigned long long t0 = ph_test_now_ms();
        int rc = ph_client_transact(p->c, "probe", 5, &m, &len, 30000, 0);

        ph_free(m);
        if (rc != 0) {
            InterlockedIncrement(&p->failed);
            return;
        }
        InterlockedIncrement(&p->requests);
        note_worst(&p->worst_ms, (LONG)(ph_test_now_ms() - t0));
        ph_test_sleep_ms(20);
    }
}

/* The defect: a connection with pipelined frames buffered goes from one frame to the next in the same
 * completion loop (conn_start_request hands the next buffered frame back inline), and its reads complete at
 * once while the client keeps writing: the pool thread serving it never returns to the port for as long as
 * the client streams (in batches of up to 1 MiB of frames per read once its hint is large). With one pool
 * thread, every other client waits for the stream to end.
 * How the test catches it: one pool thread; one client primed with a 1 MiB frame pipelines 8,192 tiny
 * frames; another client, connected before, sends a small request every 20 ms meanwhile. None of its
 * requests may take 500 ms or more. (Today one waits for most of the stream, seconds.) */
START_TEST(pipelining_client_does_not_hold_the_thread)
{
    char name[CT_NAME_MAX];
    ct_ctx ctx;
    ph_server *s;
    HANDLE primed;
    prober p;
    ct_threads *t;
    unsigned long long wall, cpu = 0;

    ct_ctx_init(&ctx);
    s = start_length_server("pipehog", name, &ctx, 1);
    memset(&p, 0, sizeof(p));
    p.name = name;
    ck_assert_int_eq(ph_client_new(&p.c), 0);
    ck_assert_int_eq(ph_client_connect(p.c, name, 5000, PH_CLIENT_LENGTH_FRAMING), 0);
    ct_expect_str(p.c, "hello", "hello");
    primed = ct_byte_connect(name);
    big_echo(primed);
    t = ct_spawn(1, probe_client, &p);
    wall = pipeline_run(&ctx, primed, 8192, 8192, &cpu, 60000);
    InterlockedExchange(&p.stop, 1);
    ck_assert(ct_join(t, 35000));
    printf("8,192 pipelined frames took %llu ms; meanwhile the other client made %ld requests, worst %ld ms\n", wall,
           (long)p.requests, (long)p.worst_ms);
    ck_assert_int_eq(p.failed, 0);
    ck_assert_msg(p.worst_ms < 500, "a request waited %ld ms while another client pipelined", (long)p.worst_ms);
    CloseHandle(primed);
    ph_client_free(p.c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("engine2");
    TCase *tc;

    tc = tcase_create("stop_between_starting_and_life_lock");
    tcase_add_test(tc, stop_between_starting_and_life_lock);
    suite_add_tcase(s, tc);
    tc = tcase_create("free_between_starting_and_life_lock");
    tcase_add_test(tc, free_between_starting_and_life_lock);
    suite_add_tcase(s, tc);
    tc = tcase_create("trim_spares_completed_accepts");
    tcase_add_test(tc, trim_spares_completed_accepts);
    suite_add_tcase(s, tc);
    tc = tcase_create("slow_handler_does_not_delay_quick_clients");
    tcase_add_test(tc, slow_handler_does_not_delay_quick_clients);
    suite_add_tcase(s, tc);
    tc = tcase_create("async_accept_failure_backs_off");
    tcase_add_test(tc, async_accept_failure_backs_off);
    suite_add_tcase(s, tc);
    tc = tcase_create("rearmed_instance_does_not_keep_old_idle_deadline");
    tcase_add_test(tc, rearmed_instance_does_not_keep_old_idle_deadline);
    suite_add_tcase(s, tc);
    tc = tcase_create("pipelined_tiny_frames_cost_linear_time");
    tcase_add_test(tc, pipelined_tiny_frames_cost_linear_time);
    suite_add_tcase(s, tc);
    tc = tcase_create("pipelining_client_does_not_hold_the_thread");
    tcase_add_test(tc, pipelining_client_does_not_hold_the_thread);
    suite_add_tcase(s, tc);
    return s;
}
