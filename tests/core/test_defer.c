/* test_defer.c — replies that come later (ph_request_defer) and connection hooks (conn_open, conn_close). */
#include "coretest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------------
 * The handler of these tests. Requests:
 *   ID            reply the connection id in decimal
 *   PING          reply "PONG"                       CLOSE      reply "BYE", PH_REPLY_CLOSE
 *   HOLD          defer; the handle goes to held[] (the test completes it), with the cancel callback
 *   QHOLD         defer; the handle goes to the completer thread's queue
 *   AFTER ms txt  defer and ph_deferred_complete_after(ms, txt)
 *   NOW txt       defer and complete at once, inside the handler
 *   TWICE         defer, check that a second defer and a bad completion are refused, then complete "twice"
 *   BADDEFER      return PH_DEFER without deferring
 *   (empty)       reply "EMPTY"; anything else is echoed
 * Every call, cancel, open and close is recorded as an event, in order. Callbacks run on server threads, so
 * they never ck_assert: what they find wrong is counted in bad, which the tests check.
 * ------------------------------------------------------------------------------------------------------- */
#define D_MAX_HELD 64
#define D_MAX_EVENTS 512
#define D_QUEUE 256

typedef struct d_event {
    char kind; /* 'h' handler call, 'o' open, 'c' cancel, 'x' close */
    uint64_t id;
    int why;
    ULONGLONG at;
    char req[16];
} d_event;

typedef struct dctx {
    CRITICAL_SECTION lock;
    ph_deferred *held[D_MAX_HELD];
    unsigned nheld;
    d_event ev[D_MAX_EVENTS];
    unsigned nev;
    volatile LONG calls, cancels, bad, marked_closes;
    int refuse_open;
    HANDLE cancel_event; /* auto-reset: set by each cancel callback */
    /* The completer thread's queue (QHOLD). */
    ph_deferred *queue[D_QUEUE];
    unsigned qhead, qtail;
    HANDLE qsem;
    volatile LONG qstop, completed, complete_failed;
    HANDLE completer;
} dctx;

static void record(dctx *d, char kind, uint64_t id, int why, const unsigned char *req, size_t len)
{
    EnterCriticalSection(&d->lock);
    if (d->nev < D_MAX_EVENTS) {
        d_event *e = &d->ev[d->nev++];
        size_t n = len < sizeof(e->req) - 1 ? len : sizeof(e->req) - 1;
        e->kind = kind;
        e->id = id;
        e->why = why;
        e->at = GetTickCount64();
        if (req != NULL)
            memcpy(e->req, req, n);
        e->req[req != NULL ? n : 0] = '\0';
    }
    LeaveCriticalSection(&d->lock);
}

static void on_cancel(void *ctx, ph_deferred *h)
{
    dctx *d = ctx;

    if (!ph_deferred_canceled(h))
        InterlockedIncrement(&d->bad);
    record(d, 'c', ph_deferred_connection_id(h), 0, NULL, 0);
    InterlockedIncrement(&d->cancels);
    SetEvent(d->cancel_event);
}

static int starts(const ph_request *req, const char *word)
{
    size_t n = strlen(word);
    return req->data != NULL && req->len >= n && memcmp(req->data, word, n) == 0;
}

static ph_handler_result dhandler(void *ctx, const ph_request *req, ph_response *resp)
{
    dctx *d = ctx;
    ph_deferred *h = NULL;

    InterlockedIncrement(&d->calls);
    record(d, 'h', req->connection_id, 0, req->data, req->len);
    if (req->flags & PH_REQ_TOO_LARGE) {
        if (ph_request_defer(req, &h) != PH_ESTATE || h != NULL)
            InterlockedIncrement(&d->bad); /* a too-large request is always answered at once */
        return PH_REPLY_CLOSE;
    }
    if (req->len == 0) {
        ph_response_append(resp, "EMPTY", 5);
        return PH_REPLY;
    }
    if (starts(req, "MARK")) {
        /* The host's data follows the connection: what conn_open set is here, and a change reaches conn_close. */
        if (ph_request_conn_data(req) != (void *)(uintptr_t)(req->connection_id * 16 + 1))
            InterlockedIncrement(&d->bad);
        ph_request_set_conn_data(req, (void *)(uintptr_t)(req->connection_id * 16 + 3));
        ph_response_append(resp, "MARKED", 6);
        return PH_REPLY;
    }
    if (starts(req, "ID")) {
        ph_response_appendf(resp, "%llu", (unsigned long long)req->connection_id);
        return PH_REPLY;
    }
    if (starts(req, "PING")) {
        ph_response_append(resp, "PONG", 4);
        return PH_REPLY;
    }
    if (starts(req, "CLOSE")) {
        ph_response_append(resp, "BYE", 3);
        return PH_REPLY_CLOSE;
    }
    if (starts(req, "BADDEFER"))
        return PH_DEFER;
    if (ph_request_defer(req, &h) != 0) {
        InterlockedIncrement(&d->bad);
        return PH_REPLY;
    }
    ph_response_append(resp, "discarded", 9); /* what a handler wrote before deferring is not sent */
    if (starts(req, "QHOLD")) {
        int full;
        EnterCriticalSection(&d->lock);
        full = d->qtail - d->qhead >= D_QUEUE;
        if (!full)
            d->queue[d->qtail++ % D_QUEUE] = h;
        LeaveCriticalSection(&d->lock);
        if (full) {
            InterlockedIncrement(&d->bad);
            ph_deferred_complete(h, PH_REPLY, "full", 4);
        } else {
            ReleaseSemaphore(d->qsem, 1, NULL);
        }
    } else if (starts(req, "HOLD")) {
        if (ph_deferred_on_cancel(h, on_cancel, d) != 0)
            InterlockedIncrement(&d->bad);
        EnterCriticalSection(&d->lock);
        if (d->nheld < D_MAX_HELD)
            d->held[d->nheld++] = h;
        else
            InterlockedIncrement(&d->bad);
        LeaveCriticalSection(&d->lock);
    } else if (starts(req, "AFTER ")) {
        const char *p = (const char *)req->data + 6, *text = strchr(p, ' ');
        uint32_t ms = (uint32_t)strtoul(p, NULL, 10);
        text = text != NULL ? text + 1 : "";
        if (ph_deferred_on_cancel(h, on_cancel, d) != 0 ||
            ph_deferred_complete_after(h, ms, PH_REPLY, text, strlen(text)) != 0)
            InterlockedIncrement(&d->bad);
    } else if (starts(req, "NOW")) {
        if (ph_deferred_complete(h, PH_REPLY, "now", 3) != 0)
            InterlockedIncrement(&d->bad);
    } else if (starts(req, "TWICE")) {
        ph_deferred *again = NULL;
        if (ph_request_defer(req, &again) != PH_ESTATE || again != NULL)
            InterlockedIncrement(&d->bad);
        /* Bad arguments change nothing: the handle is still ours afterwards. */
        if (ph_deferred_complete(h, (ph_handler_result)99, "x", 1) != PH_EINVAL ||
            ph_deferred_complete(h, PH_REPLY, NULL, 1) != PH_EINVAL ||
            ph_deferred_complete_after(h, PH_INFINITE, PH_REPLY, "x", 1) != PH_EINVAL)
            InterlockedIncrement(&d->bad);
        if (ph_response_append(ph_deferred_response(h), "tw", 2) != 0 ||
            ph_deferred_complete(h, PH_REPLY, "ice", 3) != 0)
            InterlockedIncrement(&d->bad);
    } else {
        ph_deferred_complete(h, PH_REPLY, req->data, req->len);
    }
    return PH_DEFER;
}

static int dopen(void *ctx, const ph_request *first, void **data)
{
    dctx *d = ctx;
    const ph_client_info *who = ph_request_client(first);

    /* The identity is there at open: every test client is this process. */
    if (who->pid != GetCurrentProcessId() || who->user_sid[0] == '\0' || *data != NULL)
        InterlockedIncrement(&d->bad);
    record(d, 'o', first->connection_id, 0, first->data, first->len);
    if (d->refuse_open)
        return -1;
    *data = (void *)(uintptr_t)(first->connection_id * 16 + 1);
    return 0;
}

static void dclose(void *ctx, uint64_t id, void *data, ph_close_reason why)
{
    dctx *d = ctx;

    if (data == (void *)(uintptr_t)(id * 16 + 3))
        InterlockedIncrement(&d->marked_closes);
    else if (data != (void *)(uintptr_t)(id * 16 + 1))
        InterlockedIncrement(&d->bad);
    record(d, 'x', id, (int)why, NULL, 0);
}

static DWORD WINAPI completer_main(LPVOID arg)
{
    dctx *d = arg;

    while (!d->qstop) {
        ph_deferred *h = NULL;
        if (WaitForSingleObject(d->qsem, 50) != WAIT_OBJECT_0)
            continue;
        EnterCriticalSection(&d->lock);
        if (d->qhead != d->qtail)
            h = d->queue[d->qhead++ % D_QUEUE];
        LeaveCriticalSection(&d->lock);
        if (h == NULL)
            continue;
        if (ph_deferred_complete(h, PH_REPLY, "done", 4) == 0)
            InterlockedIncrement(&d->completed);
        else
            InterlockedIncrement(&d->complete_failed);
    }
    return 0;
}

static void d_init(dctx *d)
{
    memset(d, 0, sizeof(*d));
    InitializeCriticalSection(&d->lock);
    d->cancel_event = CreateEventW(NULL, FALSE, FALSE, NULL);
    d->qsem = CreateSemaphoreW(NULL, 0, D_QUEUE, NULL);
    ck_assert_ptr_nonnull(d->cancel_event);
    ck_assert_ptr_nonnull(d->qsem);
}

static void d_start_completer(dctx *d)
{
    d->completer = CreateThread(NULL, 0, completer_main, d, 0, NULL);
    ck_assert_ptr_nonnull(d->completer);
}

static void d_free(dctx *d)
{
    if (d->completer != NULL) {
        InterlockedExchange(&d->qstop, 1);
        ck_assert_uint_eq(WaitForSingleObject(d->completer, 5000), WAIT_OBJECT_0);
        CloseHandle(d->completer);
    }
    CloseHandle(d->cancel_event);
    CloseHandle(d->qsem);
    DeleteCriticalSection(&d->lock);
}

static void d_config(ph_server_config *cfg, char *name, size_t size, const char *tag, dctx *d, ct_log *lg)
{
    ct_config(cfg, name, size, tag, NULL, lg);
    cfg->handler = dhandler;
    cfg->handler_ctx = d;
    cfg->conn_open = dopen;
    cfg->conn_close = dclose;
    cfg->conn_ctx = d;
}

/* Takes the oldest handle a HOLD left, waiting for it at most timeout_ms; NULL when none came. */
static ph_deferred *take_held(dctx *d, unsigned timeout_ms)
{
    ULONGLONG end = GetTickCount64() + timeout_ms;

    for (;;) {
        ph_deferred *h = NULL;
        EnterCriticalSection(&d->lock);
        if (d->nheld > 0) {
            h = d->held[0];
            memmove(d->held, d->held + 1, (d->nheld - 1) * sizeof(d->held[0]));
            d->nheld--;
        }
        LeaveCriticalSection(&d->lock);
        if (h != NULL || GetTickCount64() >= end)
            return h;
        Sleep(2);
    }
}

/* How many events of kind for connection id; the index of the first and last in *first / *last. */
static int events(dctx *d, char kind, uint64_t id, int *first, int *last)
{
    unsigned i;
    int n = 0;

    EnterCriticalSection(&d->lock);
    for (i = 0; i < d->nev; i++) {
        if (d->ev[i].kind == kind && d->ev[i].id == id) {
            if (n == 0 && first != NULL)
                *first = (int)i;
            if (last != NULL)
                *last = (int)i;
            n++;
        }
    }
    LeaveCriticalSection(&d->lock);
    return n;
}

/* Polls until a close event for id is recorded (1) or timeout_ms pass (0). */
static int wait_close(dctx *d, uint64_t id, unsigned timeout_ms)
{
    ULONGLONG end = GetTickCount64() + timeout_ms;

    while (events(d, 'x', id, NULL, NULL) == 0) {
        if (GetTickCount64() >= end)
            return 0;
        Sleep(5);
    }
    return 1;
}

static int close_reason_of(dctx *d, uint64_t id)
{
    int last = -1, why;

    ck_assert_int_eq(events(d, 'x', id, NULL, &last), 1);
    EnterCriticalSection(&d->lock);
    why = d->ev[last].why;
    LeaveCriticalSection(&d->lock);
    return why;
}

static uint64_t conn_id(ph_client *c)
{
    unsigned char *m = NULL;
    size_t len = 0;
    uint64_t id;

    ck_assert_int_eq(ct_transact(c, "ID", &m, &len, 5000), 0);
    id = strtoull((char *)m, NULL, 10);
    ph_free(m);
    ck_assert_uint_ne(id, 0);
    return id;
}

static void expect_recv(ph_client *c, const char *want, unsigned timeout_ms)
{
    unsigned char *m = NULL;
    size_t len = 0;
    int rc = ph_client_recv(c, &m, &len, timeout_ms, 0);

    ck_assert_msg(rc == 0, "waiting for \"%s\": %s", want, ph_err_name(rc));
    ck_assert_msg(len == strlen(want) && memcmp(m, want, len) == 0, "got \"%s\", want \"%s\"", (char *)m, want);
    ph_free(m);
}

static ph_client *connect_framed(const char *name)
{
    ph_client *c = NULL;

    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, PH_CLIENT_LENGTH_FRAMING), 0);
    return c;
}

/* ---------------------------------------------------------------------------------------------------------
 * The tests.
 * ------------------------------------------------------------------------------------------------------- */

typedef struct completer_job {
    ph_deferred *h[8];
    int rc[8];
} completer_job;

static DWORD WINAPI complete_all(LPVOID arg)
{
    completer_job *job = arg;
    char text[32];
    int i;

    for (i = 7; i >= 0; i--) {
        snprintf(text, sizeof(text), "done %llu", (unsigned long long)ph_deferred_connection_id(job->h[i]));
        job->rc[i] = ph_deferred_complete(job->h[i], PH_REPLY, text, strlen(text));
    }
    return 0;
}

/* Eight requests held on a pool of four threads: no thread waits for them (a ninth client is served
 * meanwhile), and another thread's completions reach each its own client. */
START_TEST(complete_from_another_thread)
{
    char name[CT_NAME_MAX], want[32];
    ph_server_config cfg;
    ph_client *c[8], *quick;
    uint64_t id[8];
    completer_job job;
    HANDLE t;
    dctx d;
    ph_server *s;
    int i;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-thread", &d, NULL);
    ck_assert_uint_eq(cfg.threads, 4);
    s = ct_start(&cfg, NULL);
    for (i = 0; i < 8; i++) {
        c[i] = ct_connect(name);
        id[i] = conn_id(c[i]);
        ck_assert_int_eq(ph_client_send(c[i], "HOLD", 4, 5000), 0);
    }
    ck_assert(CT_WAIT(s, requests_held, 8, 5000));
    quick = ct_connect(name);
    ct_expect_str(quick, "PING", "PONG");
    for (i = 0; i < 8; i++) {
        job.h[i] = take_held(&d, 1000);
        ck_assert_ptr_nonnull(job.h[i]);
    }
    t = CreateThread(NULL, 0, complete_all, &job, 0, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(WaitForSingleObject(t, 5000), WAIT_OBJECT_0);
    CloseHandle(t);
    for (i = 0; i < 8; i++) {
        ck_assert_int_eq(job.rc[i], 0);
        snprintf(want, sizeof(want), "done %llu", (unsigned long long)id[i]);
        expect_recv(c[i], want, 5000);
        ct_expect_str(c[i], "PING", "PONG"); /* the connection goes on after its held request */
    }
    ck_assert(CT_WAIT(s, requests_held, 0, 2000));
    ck_assert_int_eq(d.bad, 0);
    ck_assert_int_eq(d.cancels, 0);
    for (i = 0; i < 8; i++)
        ph_client_free(c[i]);
    ph_client_free(quick);
    ph_server_free(s);
    d_free(&d);
}
END_TEST

/* Completed inside the handler, before it returned: answered at once. Misuse is refused without harm. */
START_TEST(defer_rules)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ph_request fake;
    ph_deferred *h = (ph_deferred *)&fake;
    unsigned char *m = NULL;
    size_t len = 0;
    char big[200];
    ct_log lg;
    ph_client *c;
    ph_server *s;
    dctx d;

    /* Outside a handler there is nothing to defer. */
    memset(&fake, 0, sizeof(fake));
    ck_assert_int_eq(ph_request_defer(&fake, &h), PH_EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(ph_request_defer(NULL, &h), PH_EINVAL);
    ck_assert_int_eq(ph_deferred_complete(NULL, PH_REPLY, NULL, 0), PH_EINVAL);
    ck_assert_int_eq(ph_deferred_complete_after(NULL, 10, PH_REPLY, NULL, 0), PH_EINVAL);
    ck_assert_int_eq(ph_deferred_on_cancel(NULL, on_cancel, NULL), PH_EINVAL);

    d_init(&d);
    ct_log_init(&lg);
    d_config(&cfg, name, sizeof(name), "dfr-rules", &d, &lg);
    cfg.limits.max_message_bytes = 64;
    s = ct_start(&cfg, NULL);
    c = ct_connect(name);
    ct_expect_str(c, "NOW", "now");
    ct_expect_str(c, "TWICE", "twice");
    ck_assert_int_eq(ct_transact(c, "BADDEFER", &m, &len, 5000), 0);
    ck_assert_msg(strncmp((char *)m, "ERR internal ", 13) == 0, "got \"%s\"", (char *)m);
    ph_free(m);
    ck_assert(ct_log_has(&lg, PH_LOG_ERROR, "without deferring"));
    ct_expect_str(c, "after all that", "after all that");
    /* A request over the limit cannot be deferred: the handler's attempt is refused (checked in it). */
    memset(big, 'a', sizeof(big));
    ck_assert_int_eq(ph_client_transact(c, big, sizeof(big), &m, &len, 5000, 0), 0);
    ph_free(m);
    ck_assert_int_eq(d.bad, 0);
    ck_assert_uint_eq(CT_COUNTER(s, requests_held), 0);
    ph_client_free(c);
    ph_server_free(s);
    ct_log_free(&lg);
    d_free(&d);
}
END_TEST

/* Length framing, pipelined: a held request holds the frames behind it. They are dispatched only after its
 * reply, and the replies come in request order. */
START_TEST(pipelined_order_kept)
{
    static const char *reqs[] = {"AFTER 300 first", "PING", "AFTER 50 third", "last"};
    static const char *want[] = {"first", "PONG", "third", "last"};
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ULONGLONG first_at = 0, ping_at = 0;
    ph_client *c;
    ph_server *s;
    unsigned i;
    dctx d;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-pipe", &d, NULL);
    cfg.framing = PH_FRAMING_LENGTH;
    s = ct_start(&cfg, NULL);
    c = connect_framed(name);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(ph_client_send(c, reqs[i], strlen(reqs[i]), 5000), 0);
    for (i = 0; i < 4; i++)
        expect_recv(c, want[i], 5000);
    EnterCriticalSection(&d.lock);
    for (i = 0; i < d.nev; i++) {
        if (d.ev[i].kind == 'h' && strcmp(d.ev[i].req, "AFTER 300 first") == 0)
            first_at = d.ev[i].at;
        if (d.ev[i].kind == 'h' && strcmp(d.ev[i].req, "PING") == 0)
            ping_at = d.ev[i].at;
    }
    LeaveCriticalSection(&d.lock);
    ck_assert_uint_ne(first_at, 0);
    ck_assert_uint_ne(ping_at, 0);
    /* PING's handler ran only once the held request was answered, 300 ms after it was held. */
    ck_assert_msg(ping_at >= first_at + 250, "PING dispatched %llu ms after the held request",
                  (unsigned long long)(ping_at - first_at));
    ck_assert_int_eq(d.calls, 4);
    ck_assert_int_eq(d.bad, 0);
    ph_client_free(c);
    ph_server_free(s);
    d_free(&d);
}
END_TEST

/* The client leaves while its request is held: the holder's cancel callback runs, the handle reads as
 * cancelled, a late completion writes nothing, and conn_close follows the cancel. */
START_TEST(client_leaves_while_held)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    uint64_t id, out_before;
    int cancel_at = -1, close_at = -1;
    ph_deferred *h;
    ph_client *c;
    ph_server *s;
    dctx d;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-leave", &d, NULL);
    s = ct_start(&cfg, NULL);
    c = ct_connect(name);
    id = conn_id(c);
    ck_assert_int_eq(ph_client_send(c, "HOLD", 4, 5000), 0);
    h = take_held(&d, 5000);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(ph_deferred_canceled(h), 0);
    ck_assert(CT_WAIT_GE(s, bytes_out, 1, 2000)); /* the ID reply's write is counted when it completes */
    out_before = CT_COUNTER(s, bytes_out);
    ph_client_free(c);
    ck_assert_uint_eq(WaitForSingleObject(d.cancel_event, 5000), WAIT_OBJECT_0);
    ck_assert_int_eq(ph_deferred_canceled(h), 1);
    ck_assert_int_eq(ph_deferred_on_cancel(h, on_cancel, &d), PH_ECANCELED);
    ck_assert(wait_close(&d, id, 5000));
    ck_assert_int_eq(ph_deferred_complete(h, PH_REPLY, "late", 4), PH_ECANCELED);
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ck_assert_uint_eq(CT_COUNTER(s, requests_held), 0);
    ck_assert_uint_eq(CT_COUNTER(s, bytes_out), out_before);
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 1); /* a request abandoned, as a client leaving mid-request */
    ck_assert_int_eq(events(&d, 'c', id, &cancel_at, NULL), 1);
    ck_assert_int_eq(events(&d, 'x', id, &close_at, NULL), 1);
    ck_assert_int_lt(cancel_at, close_at);
    ck_assert_int_eq(close_reason_of(&d, id), PH_CLOSE_LEFT);
    ck_assert_int_eq(d.bad, 0);
    ph_server_free(s);
    d_free(&d);
}
END_TEST

/* Length framing: a client that pipelined a frame behind its held request and then left is seen leaving too
 * (the watch reads the frame ahead, without dispatching it, and goes on watching). */
START_TEST(client_leaves_after_pipelining)
{
    char name[CT_NAME_MAX];
    unsigned char frames[16];
    ph_server_config cfg;
    DWORD w = 0;
    ph_deferred *h;
    HANDLE raw;
    ph_server *s;
    dctx d;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-leavep", &d, NULL);
    cfg.framing = PH_FRAMING_LENGTH;
    s = ct_start(&cfg, NULL);
    raw = ct_byte_connect(name);
    ct_put_le32(frames, 4);
    memcpy(frames + 4, "HOLD", 4);
    ct_put_le32(frames + 8, 4);
    memcpy(frames + 12, "PING", 4);
    ck_assert(WriteFile(raw, frames, 8, &w, NULL) && w == 8);
    h = take_held(&d, 5000);
    ck_assert_ptr_nonnull(h);
    ck_assert(WriteFile(raw, frames + 8, 8, &w, NULL) && w == 8);
    ck_assert(CT_WAIT(s, bytes_in, 16, 3000));
    CloseHandle(raw);
    ck_assert_uint_eq(WaitForSingleObject(d.cancel_event, 5000), WAIT_OBJECT_0);
    ck_assert_int_eq(ph_deferred_complete(h, PH_REPLY, "late", 4), PH_ECANCELED);
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ck_assert_int_eq(d.calls, 1); /* the PING behind it was never dispatched */
    ck_assert_uint_eq(CT_COUNTER(s, bytes_out), 0);
    ck_assert_int_eq(d.bad, 0);
    ph_server_free(s);
    d_free(&d);
}
END_TEST

/* Message mode: an empty message sent while a request is held (which the zero-byte watch takes) is not lost:
 * it is the next request, answered after the held one. */
START_TEST(empty_message_while_held)
{
    char name[CT_NAME_MAX], buf[64];
    ph_server_config cfg;
    DWORD w = 0, got = 0;
    ph_deferred *h;
    HANDLE raw;
    ph_server *s;
    dctx d;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-empty", &d, NULL);
    s = ct_start(&cfg, NULL);
    raw = ct_raw_connect(name, GENERIC_READ | GENERIC_WRITE, 0);
    ck_assert(raw != INVALID_HANDLE_VALUE);
    ck_assert(WriteFile(raw, "HOLD", 4, &w, NULL));
    h = take_held(&d, 5000);
    ck_assert_ptr_nonnull(h);
    ck_assert(WriteFile(raw, "", 0, &w, NULL));
    ph_test_sleep_ms(100); /* the watch sees it (and takes it) */
    ck_assert_int_eq(ph_deferred_complete(h, PH_REPLY, "r1", 2), 0);
    ck_assert_uint_eq(ct_raw_read(raw, buf, sizeof(buf), &got, 5000), 0);
    ck_assert_uint_eq(got, 2);
    ck_assert_int_eq(memcmp(buf, "r1", 2), 0);
    ck_assert_uint_eq(ct_raw_read(raw, buf, sizeof(buf), &got, 5000), 0);
    ck_assert_uint_eq(got, 5);
    ck_assert_int_eq(memcmp(buf, "EMPTY", 5), 0);
    ck_assert_int_eq(d.calls, 2);
    CloseHandle(raw);
    ck_assert_int_eq(d.bad, 0);
    ph_server_free(s);
    d_free(&d);
}
END_TEST

typedef struct late_job {
    ph_deferred *h;
    unsigned delay_ms;
    int rc;
} late_job;

static DWORD WINAPI complete_later(LPVOID arg)
{
    late_job *job = arg;

    Sleep(job->delay_ms);
    job->rc = ph_deferred_complete(job->h, PH_REPLY, "drained", 7);
    return 0;
}

/* At stop, held requests are in flight: one completed during the drain is answered (the client reads it
 * after the close), one never completed is cancelled at the drain deadline (its holder told), and the stop
 * takes the drain time, not longer. */
START_TEST(stop_drains_then_cancels_held)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ph_client *a, *b, *idle;
    uint64_t ida, idb, idi;
    late_job job;
    ph_deferred *ha;
    unsigned char *m = NULL;
    size_t len = 0;
    ULONGLONG t0, took;
    HANDLE t;
    ph_server *s;
    dctx d;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-stop", &d, NULL);
    cfg.limits.drain_timeout_ms = 600;
    s = ct_start(&cfg, NULL);
    a = ct_connect(name);
    b = ct_connect(name);
    idle = ct_connect(name);
    ida = conn_id(a);
    idb = conn_id(b);
    idi = conn_id(idle);
    ck_assert_int_eq(ph_client_send(a, "HOLD", 4, 5000), 0);
    ha = take_held(&d, 5000);
    ck_assert_ptr_nonnull(ha);
    ck_assert_int_eq(ph_client_send(b, "HOLD", 4, 5000), 0);
    job.h = take_held(&d, 5000);
    ck_assert_ptr_nonnull(job.h);
    job.delay_ms = 200;
    job.rc = -100;
    t = CreateThread(NULL, 0, complete_later, &job, 0, NULL);
    ck_assert_ptr_nonnull(t);
    t0 = GetTickCount64();
    ck_assert_int_eq(ph_server_stop(s), 0);
    took = GetTickCount64() - t0;
    ck_assert_uint_eq(WaitForSingleObject(t, 5000), WAIT_OBJECT_0);
    CloseHandle(t);
    ck_assert_msg(took >= 550 && took < 600 + 2000, "stop took %llu ms with a drain of 600", (unsigned long long)took);
    ck_assert_int_eq(job.rc, 0);
    expect_recv(b, "drained", 2000);
    ck_assert_int_eq(ph_client_recv(a, &m, &len, 2000, 0), PH_EPIPE);
    ck_assert_int_eq(d.cancels, 1);
    ck_assert_int_eq(events(&d, 'c', ida, NULL, NULL), 1);
    ck_assert_int_eq(ph_deferred_canceled(ha), 1);
    ck_assert_int_eq(ph_deferred_complete(ha, PH_REPLY, "late", 4), PH_ECANCELED);
    ck_assert_int_eq(close_reason_of(&d, ida), PH_CLOSE_STOP);
    ck_assert_int_eq(close_reason_of(&d, idb), PH_CLOSE_STOP);
    ck_assert_int_eq(close_reason_of(&d, idi), PH_CLOSE_STOP);
    ck_assert_uint_eq(CT_COUNTER(s, requests_held), 0);
    ck_assert_int_eq(d.bad, 0);
    ph_client_free(a);
    ph_client_free(b);
    ph_client_free(idle);
    ph_server_free(s);
    d_free(&d);
}
END_TEST

/* ph_deferred_complete_after: the reply comes after the delay, from the server's timer, with other clients
 * served meanwhile; a client that leaves first gets nothing and holds nothing. */
START_TEST(timer_reply)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ph_client *c, *quick, *gone;
    uint64_t out_before;
    ULONGLONG t0, took;
    ph_server *s;
    dctx d;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-timer", &d, NULL);
    s = ct_start(&cfg, NULL);
    c = ct_connect(name);
    quick = ct_connect(name);
    t0 = GetTickCount64();
    ck_assert_int_eq(ph_client_send(c, "AFTER 300 later", 15, 5000), 0);
    ck_assert(CT_WAIT(s, requests_held, 1, 2000));
    ct_expect_str(quick, "PING", "PONG");
    expect_recv(c, "later", 5000);
    took = GetTickCount64() - t0;
    ck_assert_msg(took >= 280 && took < 300 + 1500, "a 300 ms timer reply took %llu ms", (unsigned long long)took);
    ck_assert(CT_WAIT(s, requests_held, 0, 2000));

    gone = ct_connect(name);
    ct_expect_str(gone, "PING", "PONG");
    /* "later" (5) + quick's PONG (4) + gone's PONG (4): a write is counted when its completion is handled,
     * which may come after the client has read it, so wait for all three before taking the baseline. */
    ck_assert(CT_WAIT_GE(s, bytes_out, 13, 2000));
    out_before = CT_COUNTER(s, bytes_out);
    ck_assert_int_eq(ph_client_send(gone, "AFTER 400 never", 15, 5000), 0);
    ck_assert(CT_WAIT(s, requests_held, 1, 2000));
    ph_client_free(gone);
    /* Seen leaving at once (the watch), long before the timer. */
    ck_assert(CT_WAIT(s, requests_held, 0, 300));
    ph_test_sleep_ms(400);
    ck_assert_uint_eq(CT_COUNTER(s, bytes_out), out_before);
    ck_assert_int_eq(d.cancels, 0); /* the holder handed it to the timer: nobody to tell */
    ct_expect_str(c, "PING", "PONG");
    ck_assert_int_eq(d.bad, 0);
    ph_client_free(c);
    ph_client_free(quick);
    ph_server_free(s);
    d_free(&d);
}
END_TEST

/* conn_close runs exactly once per opened connection, after its last handler call, with the reason of each
 * end: client left, idle timeout, too large, PH_REPLY_CLOSE, held then left, stop. A connection that never
 * sends gets neither hook. */
START_TEST(close_hook_once_per_reason)
{
    char name[CT_NAME_MAX], big[100];
    ph_server_config cfg;
    ph_client *left, *closer, *idle, *large, *held, *stopped, *silent;
    uint64_t id_left, id_closer, id_idle, id_large, id_held, id_stopped;
    uint64_t ids[6];
    unsigned char *m = NULL;
    size_t len = 0;
    ph_deferred *h;
    ph_server *s;
    unsigned i;
    dctx d;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-close", &d, NULL);
    cfg.limits.max_message_bytes = 64;
    s = ct_start(&cfg, NULL);
    silent = ct_connect(name);
    stopped = ct_connect(name);
    id_stopped = conn_id(stopped);

    left = ct_connect(name);
    id_left = conn_id(left);
    ct_expect_str(left, "MARK", "MARKED");
    ph_client_free(left);
    ck_assert(wait_close(&d, id_left, 3000));
    ck_assert_int_eq(close_reason_of(&d, id_left), PH_CLOSE_LEFT);
    ck_assert_int_eq(d.marked_closes, 1); /* conn_close got the data the handler set */

    closer = ct_connect(name);
    id_closer = conn_id(closer);
    ct_expect_str(closer, "CLOSE", "BYE");
    ph_client_free(closer);
    ck_assert(wait_close(&d, id_closer, 3000));
    ck_assert_int_eq(close_reason_of(&d, id_closer), PH_CLOSE_REPLY_CLOSE);

    large = ct_connect(name);
    id_large = conn_id(large);
    memset(big, 'a', sizeof(big));
    ck_assert_int_eq(ph_client_transact(large, big, sizeof(big), &m, &len, 5000, 0), 0);
    ck_assert_int_eq(strncmp((char *)m, "ERR too-large", 13), 0);
    ph_free(m);
    ph_client_free(large);
    ck_assert(wait_close(&d, id_large, 3000));
    ck_assert_int_eq(close_reason_of(&d, id_large), PH_CLOSE_TOO_LARGE);

    held = ct_connect(name);
    id_held = conn_id(held);
    ck_assert_int_eq(ph_client_send(held, "HOLD", 4, 5000), 0);
    h = take_held(&d, 5000);
    ck_assert_ptr_nonnull(h);
    ph_client_free(held);
    ck_assert(wait_close(&d, id_held, 3000));
    ck_assert_int_eq(close_reason_of(&d, id_held), PH_CLOSE_LEFT);
    ck_assert_int_eq(ph_deferred_complete(h, PH_REPLY, "late", 4), PH_ECANCELED);

    /* The idle timeout applies from the next request on: set it short now. */
    {
        ph_limits l;
        ph_limits_init(&l);
        ck_assert_int_eq(ph_server_get_limits(s, &l), 0);
        l.idle_timeout_ms = 300;
        ck_assert_int_eq(ph_server_set_limits(s, &l), 0);
    }
    idle = ct_connect(name);
    id_idle = conn_id(idle);
    ck_assert(wait_close(&d, id_idle, 3000));
    ck_assert_int_eq(close_reason_of(&d, id_idle), PH_CLOSE_TIMEOUT);
    ph_client_free(idle);

    ph_server_stop(s);
    ck_assert_int_eq(close_reason_of(&d, id_stopped), PH_CLOSE_STOP);

    ids[0] = id_left;
    ids[1] = id_closer;
    ids[2] = id_idle;
    ids[3] = id_large;
    ids[4] = id_held;
    ids[5] = id_stopped;
    for (i = 0; i < 6; i++) {
        int open_at = -1, last_call = -1, close_at = -1;
        ck_assert_int_eq(events(&d, 'o', ids[i], &open_at, NULL), 1);
        ck_assert_int_ge(events(&d, 'h', ids[i], NULL, &last_call), 1);
        ck_assert_int_eq(events(&d, 'x', ids[i], &close_at, NULL), 1);
        ck_assert_int_lt(open_at, last_call);
        ck_assert_int_lt(last_call, close_at);
    }
    /* The silent connection: six opens and six closes in all, none for it. */
    EnterCriticalSection(&d.lock);
    {
        unsigned opens = 0, closes = 0;
        for (i = 0; i < d.nev; i++) {
            opens += d.ev[i].kind == 'o';
            closes += d.ev[i].kind == 'x';
        }
        LeaveCriticalSection(&d.lock);
        ck_assert_uint_eq(opens, 6);
        ck_assert_uint_eq(closes, 6);
    }
    ck_assert_int_eq(d.bad, 0);
    ph_client_free(stopped);
    ph_client_free(silent);
    ph_server_free(s);
    d_free(&d);
}
END_TEST

/* conn_open may refuse: the first request is answered "ERR refused", the handler never runs, and no
 * conn_close follows. */
START_TEST(open_refuses)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    unsigned char *m = NULL;
    size_t len = 0;
    ph_client *c;
    ph_server *s;
    dctx d;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-refuse", &d, NULL);
    d.refuse_open = 1;
    s = ct_start(&cfg, NULL);
    c = ct_connect(name);
    ck_assert_int_eq(ct_transact(c, "PING", &m, &len, 5000), 0);
    ck_assert_msg(strncmp((char *)m, "ERR refused ", 12) == 0, "got \"%s\"", (char *)m);
    ph_free(m);
    ck_assert_int_eq(ct_transact(c, "PING", &m, &len, 5000), PH_EPIPE);
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ph_server_free(s);
    ck_assert_int_eq(d.calls, 0);
    EnterCriticalSection(&d.lock);
    ck_assert_uint_eq(d.nev, 1);
    ck_assert_int_eq(d.ev[0].kind, 'o');
    LeaveCriticalSection(&d.lock);
    ck_assert_int_eq(d.bad, 0);
    ph_client_free(c);
    d_free(&d);
}
END_TEST

#define FLAT_CLIENTS 4u

typedef struct flat_run {
    const char *name;
    unsigned per_client;
    volatile LONG failed;
} flat_run;

static void flat_client(void *arg, unsigned index)
{
    flat_run *run = arg;
    ph_client *c = NULL;
    unsigned i;

    (void)index;
    if (ph_client_new(&c) != 0 || ph_client_connect(c, run->name, 5000, 0) != 0) {
        InterlockedIncrement(&run->failed);
        ph_client_free(c);
        return;
    }
    for (i = 0; i < run->per_client; i++) {
        unsigned char *m = NULL;
        size_t len = 0;
        if (ph_client_transact(c, "QHOLD", 5, &m, &len, 5000, 0) != 0 || len != 4 || memcmp(m, "done", 4) != 0)
            InterlockedIncrement(&run->failed);
        ph_free(m);
    }
    ph_client_free(c);
}

/* 10,000 requests held and then completed by another thread leave handles, memory and the held count where
 * they were. */
START_TEST(ten_thousand_held_flat)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    flat_run run;
    long handles_before, handles_after;
    size_t mem_before, mem_after;
    ph_server *s;
    dctx d;

    d_init(&d);
    d_config(&cfg, name, sizeof(name), "dfr-flat", &d, NULL);
    cfg.conn_open = NULL; /* every connection is opened, without a hook; conn_close still runs */
    cfg.conn_close = NULL;
    s = ct_start(&cfg, NULL);
    d_start_completer(&d);
    run.name = name;
    run.failed = 0;
    /* Warm up: the heap, the clients' and the pool's first allocations. */
    run.per_client = 250;
    ck_assert(ct_run_threads(FLAT_CLIENTS, flat_client, &run, 60000));
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    handles_before = ct_handle_count();
    mem_before = ct_private_commit();
    run.per_client = 10000 / FLAT_CLIENTS;
    ck_assert(ct_run_threads(FLAT_CLIENTS, flat_client, &run, 60000));
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ph_test_sleep_ms(50);
    handles_after = ct_handle_count();
    mem_after = ct_private_commit();
    printf("10,000 held then completed: handles %ld -> %ld, private commit %llu -> %llu KiB\n", handles_before,
           handles_after, (unsigned long long)mem_before / 1024, (unsigned long long)mem_after / 1024);
    ck_assert_int_eq(run.failed, 0);
    ck_assert_int_eq(d.completed, 10000 + 250 * FLAT_CLIENTS);
    ck_assert_int_eq(d.complete_failed, 0);
    ck_assert_uint_eq(CT_COUNTER(s, requests_held), 0);
    ck_assert_uint_eq(CT_COUNTER(s, requests_total), 11000);
    if (handles_before >= 0)
        ck_assert_int_le(handles_after, handles_before + 2);
    /* A handle leaked per request would be 10,000 * about 100 bytes: 1 MB. */
    ck_assert_msg(mem_after <= mem_before + 256 * 1024, "private commit grew by %llu KiB",
                  (unsigned long long)(mem_after - mem_before) / 1024);
    ck_assert_int_eq(d.bad, 0);
    ph_server_free(s);
    d_free(&d);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("defer");
    TCase *tc;

    tc = tcase_create("complete_from_another_thread");
    tcase_add_test(tc, complete_from_another_thread);
    suite_add_tcase(s, tc);
    tc = tcase_create("defer_rules");
    tcase_add_test(tc, defer_rules);
    suite_add_tcase(s, tc);
    tc = tcase_create("pipelined_order_kept");
    tcase_add_test(tc, pipelined_order_kept);
    suite_add_tcase(s, tc);
    tc = tcase_create("client_leaves_while_held");
    tcase_add_test(tc, client_leaves_while_held);
    suite_add_tcase(s, tc);
    tc = tcase_create("client_leaves_after_pipelining");
    tcase_add_test(tc, client_leaves_after_pipelining);
    suite_add_tcase(s, tc);
    tc = tcase_create("empty_message_while_held");
    tcase_add_test(tc, empty_message_while_held);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_drains_then_cancels_held");
    tcase_add_test(tc, stop_drains_then_cancels_held);
    suite_add_tcase(s, tc);
    tc = tcase_create("timer_reply");
    tcase_add_test(tc, timer_reply);
    suite_add_tcase(s, tc);
    tc = tcase_create("close_hook_once_per_reason");
    tcase_add_test(tc, close_hook_once_per_reason);
    suite_add_tcase(s, tc);
    tc = tcase_create("open_refuses");
    tcase_add_test(tc, open_refuses);
    suite_add_tcase(s, tc);
    tc = tcase_create("ten_thousand_held_flat");
    tcase_add_test(tc, ten_thousand_held_flat);
    suite_add_tcase(s, tc);
    return s;
}
