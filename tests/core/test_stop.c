/* test_stop.c — behaviour 10: graceful stop — prompt with only pending accepts, drains in-flight requests, idempotent. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

/* With nothing but instances waiting in ConnectNamedPipe, stop cancels them and returns at once (go-winio's
 * known hang is exactly this case). */
START_TEST(stop_with_only_pending_accepts_is_prompt)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    unsigned long long t0, took;
    int before;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "stop-idle", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES;
    cfg.pending_instances = 8;
    before = ct_thread_count();
    s = ct_start(&cfg, &ctx);
    ck_assert_uint_eq(CT_COUNTER(s, instances_pending), 8);
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ph_server_stop(s), 0);
    took = ph_test_now_ms() - t0;
    printf("stop with 8 pending accepts took %llu ms\n", took);
    ck_assert_uint_lt(took, 2000);
    ck_assert_uint_eq(CT_COUNTER(s, instances_pending), 0);
    ck_assert_int_eq(ct_thread_count(), before); /* joined */
    ck_assert(ct_pipe_gone(name));
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

typedef struct inflight {
    const char *name;
    volatile LONG ok, failed, connected;
} inflight;

static void inflight_client(void *arg, unsigned index)
{
    inflight *f = arg;
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    size_t len = 0;

    (void)index;
    if (ph_client_new(&c) != 0 || ph_client_connect(c, f->name, 5000, 0) != 0) {
        InterlockedIncrement(&f->failed);
        ph_client_free(c);
        return;
    }
    InterlockedIncrement(&f->connected);
    if (ct_transact(c, "SLEEP 600", &resp, &len, 10000) == 0 && len == 5 && memcmp(resp, "SLEPT", 5) == 0)
        InterlockedIncrement(&f->ok);
    else
        InterlockedIncrement(&f->failed);
    ph_free(resp);
    ph_client_free(c); /* having read its response, the client leaves: nothing more to wait for */
}

/* Requests being handled when stop is called are answered; an idle connection is closed at once; nothing new
 * is accepted; stop returns once the answered clients leave, well inside the drain bound. */
START_TEST(stop_with_requests_in_flight)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *idle, *late = NULL;
    inflight f;
    ct_threads *bg;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0, took;
    int rc;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "stop-flight", &ctx, NULL);
    cfg.threads = 4;
    cfg.limits.drain_timeout_ms = 5000;
    s = ct_start(&cfg, &ctx);
    idle = ct_connect(name);
    memset(&f, 0, sizeof(f));
    f.name = name;
    bg = ct_spawn(3, inflight_client, &f);
    ck_assert(ct_wait_long(&ctx.active, 3, 5000));

    t0 = ph_test_now_ms();
    ck_assert_int_eq(ph_server_stop(s), 0);
    took = ph_test_now_ms() - t0;
    printf("stop with 3 requests in flight took %llu ms\n", took);
    ck_assert(ct_join(bg, 10000));
    ck_assert_int_eq(f.failed, 0);
    ck_assert_int_eq(f.ok, 3);
    ck_assert_uint_ge(took, 300);  /* it did wait for the handlers… */
    ck_assert_uint_lt(took, 3000); /* …and not for the drain bound */
    /* The idle client was disconnected; the name is gone. */
    rc = ph_client_recv(idle, &m, &len, 2000, 0);
    ck_assert_msg(rc == PH_EPIPE, "idle client at stop: %s", ph_err_name(rc));
    ph_client_free(idle);
    ck_assert(ct_pipe_gone(name));
    ck_assert_int_eq(ph_client_new(&late), 0);
    ck_assert_int_eq(ph_client_connect(late, name, 200, 0), PH_ENOTFOUND);
    ph_client_free(late);
    ck_assert_uint_eq(CT_COUNTER(s, connections_active), 0);
    ck_assert_uint_eq(CT_COUNTER(s, requests_total), 3);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

typedef struct stop_later {
    ph_server *s;
    unsigned long long took;
} stop_later;

static void stop_now(void *arg, unsigned index)
{
    stop_later *sl = arg;
    unsigned long long t0 = ph_test_now_ms();

    (void)index;
    ph_server_stop(sl->s);
    sl->took = ph_test_now_ms() - t0;
}

/* An in-flight reply is delivered even to a client that is not reading when it is written: the server waits
 * for it to be taken (a disconnect right after the write would throw it away unread). */
START_TEST(stop_delivers_reply_to_late_reader)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    stop_later sl;
    ct_threads *t;
    unsigned char *m = NULL;
    size_t len = 0;
    int rc;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "stop-late", &ctx, NULL);
    cfg.limits.drain_timeout_ms = 5000;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ck_assert_int_eq(ph_client_send(c, "SLEEP 200", 9, 5000), 0);
    ck_assert_uint_eq(WaitForSingleObject(ctx.entered, 5000), WAIT_OBJECT_0);
    memset(&sl, 0, sizeof(sl));
    sl.s = s;
    t = ct_spawn(1, stop_now, &sl);
    ph_test_sleep_ms(600); /* the reply is written meanwhile, with nobody reading */
    rc = ph_client_recv(c, &m, &len, 5000, 0);
    ck_assert_msg(rc == 0, "the in-flight reply was lost at stop: %s", ph_err_name(rc));
    ck_assert_str_eq((char *)m, "SLEPT");
    ph_free(m);
    ph_client_free(c);
    ck_assert(ct_join(t, 10000));
    ck_assert_uint_lt(sl.took, 3000);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Stop is bounded by drain_timeout even when clients misbehave: one never reads its (large) response, another
 * holds its connection open after a reply. */
START_TEST(stop_bounded_by_drain_timeout)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *holder;
    HANDLE sink;
    DWORD wrote = 0, avail = 0;
    unsigned long long t0, took;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "stop-bound", &ctx, NULL);
    cfg.buffer_size = 4096;
    cfg.limits.drain_timeout_ms = 500;
    s = ct_start(&cfg, &ctx);
    sink = ct_raw_connect(name, GENERIC_READ | FILE_WRITE_DATA, 0);
    ck_assert(sink != INVALID_HANDLE_VALUE);
    holder = ct_connect(name);
    ct_expect_str(holder, "reply", "reply");
    ck_assert(WriteFile(sink, "BIG 200000", 10, &wrote, NULL) && wrote == 10);
    ck_assert(ct_wait_long(&ctx.calls, 2, 5000));
    /* The big write has started once its first bytes are in the sink's pipe (the sink never reads). */
    for (i = 0; i < 500 && avail == 0; i++) {
        ck_assert(PeekNamedPipe(sink, NULL, 0, NULL, &avail, NULL));
        if (avail == 0)
            ph_test_sleep_ms(10);
    }
    ck_assert_msg(avail > 0, "the 200,000-byte reply never started");
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ph_server_stop(s), 0);
    took = ph_test_now_ms() - t0;
    printf("stop with a non-reading and a lingering client took %llu ms (drain 500)\n", took);
    ck_assert_uint_ge(took, 400);
    ck_assert_uint_lt(took, 2000);
    ck_assert_uint_eq(CT_COUNTER(s, connections_active), 0);
    CloseHandle(sink);
    ph_client_free(holder);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* A client between requests holds nothing in flight: stop ends its connection at once, closing the instance
 * without a disconnect, so a reply the client has not read yet is still there for it, then the pipe is broken. */
START_TEST(stop_closes_idle_client_keeping_its_reply)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0, took;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "stop-idle-read", &ctx, NULL);
    cfg.limits.drain_timeout_ms = 5000;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ct_expect_str(c, "first", "first");
    ck_assert_int_eq(ph_client_send(c, "unread", 6, 5000), 0);
    ck_assert(CT_WAIT(s, bytes_out, 11, 5000)); /* both replies written; the second one is not read */
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ph_server_stop(s), 0);
    took = ph_test_now_ms() - t0;
    printf("stop with one idle client took %llu ms (drain 5000)\n", took);
    ck_assert_uint_lt(took, 1500);
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 2000, 0), 0);
    ck_assert_str_eq((char *)m, "unread");
    ph_free(m);
    m = NULL;
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 2000, 0), PH_EPIPE);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

START_TEST(stop_is_idempotent)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "stop-twice", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_server_stop(s), 0);
    ck_assert_int_eq(ph_server_stop(s), 0);
    ck_assert_int_eq(ph_server_stop(s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_ESTATE);
    ph_server_free(s);
    /* Before start: stop is allowed, and the object cannot be started afterwards. */
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_stop(s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_ESTATE);
    ck_assert(ct_pipe_gone(name));
    ph_server_free(s);
    ck_assert_int_eq(ph_server_stop(NULL), PH_EINVAL);
    ph_server_free(NULL);
    ct_ctx_free(&ctx);
}
END_TEST

typedef struct stoppers {
    ph_server *s;
    volatile LONG rc_sum;
    volatile LONG returned;
    unsigned long long t[2];
    ph_counters after[2];
} stoppers;

static void stopper(void *arg, unsigned index)
{
    stoppers *st = arg;
    LONG rc = ph_server_stop(st->s);

    InterlockedAdd(&st->rc_sum, rc < 0 ? -rc : rc);
    st->t[index] = ph_test_now_ms();
    ph_counters_init(&st->after[index]);
    ph_server_counters(st->s, &st->after[index]);
    InterlockedIncrement(&st->returned);
}

/* Two threads stop at once while a request is in flight: both return 0, and neither returns before the stop
 * is complete (the second waits for the first one's join). Repeated to give races a chance. */
START_TEST(stop_from_two_threads_at_once)
{
    int round;

    for (round = 0; round < 5; round++) {
        char name[CT_NAME_MAX];
        ph_server_config cfg;
        ct_ctx ctx;
        ph_server *s;
        ph_client *c;
        stoppers st;
        unsigned char *m = NULL;
        size_t len = 0;
        int i;

        ct_ctx_init(&ctx);
        ct_config(&cfg, name, sizeof(name), "stop-two", &ctx, NULL);
        s = ct_start(&cfg, &ctx);
        c = ct_connect(name);
        ck_assert_int_eq(ph_client_send(c, "SLEEP 200", 9, 5000), 0);
        ck_assert_uint_eq(WaitForSingleObject(ctx.entered, 5000), WAIT_OBJECT_0);
        memset(&st, 0, sizeof(st));
        st.s = s;
        {
            ct_threads *t = ct_spawn(2, stopper, &st);
            /* The in-flight reply still arrives; reading it and leaving lets the stop finish. */
            ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 0), 0);
            ck_assert_str_eq((char *)m, "SLEPT");
            ph_free(m);
            ph_client_free(c);
            ck_assert(ct_join(t, 10000));
        }
        ck_assert_int_eq(st.returned, 2);
        ck_assert_int_eq(st.rc_sum, 0);
        for (i = 0; i < 2; i++) {
            ck_assert_uint_eq(st.after[i].connections_active, 0);
            ck_assert_uint_eq(st.after[i].instances_pending, 0);
        }
        ck_assert(ct_pipe_gone(name));
        ph_server_free(s);
        ct_ctx_free(&ctx);
    }
}
END_TEST

/* A handler may stop its own server: the call returns at once (it cannot join its own thread), the reply is
 * delivered, nothing new is accepted, and free completes the join. */
START_TEST(stop_from_inside_a_handler)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c, *other = NULL;
    unsigned long long t0;
    int rc;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "stop-inside", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ct_expect_str(c, "STOP", "STOPPING");
    ck_assert_int_eq(ctx.stop_rc, 0);
    ck_assert_uint_lt(ctx.stop_ms, 200);
    /* No new client gets in. The pool closes the cancelled instances just after the call; until an instance is
     * closed a client may still open it (an instance is connectable from creation), but only to find it dead. */
    ck_assert(CT_WAIT(s, instances_pending, 0, 2000));
    ck_assert_int_eq(ph_client_new(&other), 0);
    rc = ph_client_connect(other, name, 300, 0);
    if (rc == 0) {
        unsigned char *m = NULL;
        size_t len = 0;
        rc = ph_client_transact(other, "sneak in", 8, &m, &len, 2000, 0);
        ck_assert_msg(rc == PH_EPIPE, "a client connected after stop was served: %s", ph_err_name(rc));
    } else {
        ck_assert_msg(rc == PH_ENOTFOUND || rc == PH_ETIMEDOUT, "connect after stop: %s", ph_err_name(rc));
    }
    ck_assert_int_eq(ctx.calls, 1);
    ph_client_free(other);
    ph_client_free(c);
    t0 = ph_test_now_ms();
    ph_server_free(s);
    ck_assert_uint_lt(ph_test_now_ms() - t0, 2000);
    ck_assert(ct_pipe_gone(name));
    ct_ctx_free(&ctx);
}
END_TEST

/* Free on a running server with a connected client stops it (promptly: the client is idle) and frees it. */
START_TEST(free_running_server)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0;
    int before;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "stop-free", &ctx, NULL);
    before = ct_thread_count();
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    t0 = ph_test_now_ms();
    ph_server_free(s);
    ck_assert_uint_lt(ph_test_now_ms() - t0, 2000);
    ck_assert_int_eq(ct_thread_count(), before);
    ck_assert_int_eq(ph_client_transact(c, "x", 1, &m, &len, 2000, 0), PH_EPIPE);
    ph_client_free(c);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("stop");
    TCase *tc;

    tc = tcase_create("stop_with_only_pending_accepts_is_prompt");
    tcase_add_test(tc, stop_with_only_pending_accepts_is_prompt);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_with_requests_in_flight");
    tcase_add_test(tc, stop_with_requests_in_flight);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_delivers_reply_to_late_reader");
    tcase_add_test(tc, stop_delivers_reply_to_late_reader);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_bounded_by_drain_timeout");
    tcase_add_test(tc, stop_bounded_by_drain_timeout);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_closes_idle_client_keeping_its_reply");
    tcase_add_test(tc, stop_closes_idle_client_keeping_its_reply);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_is_idempotent");
    tcase_add_test(tc, stop_is_idempotent);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_from_two_threads_at_once");
    tcase_add_test(tc, stop_from_two_threads_at_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_from_inside_a_handler");
    tcase_add_test(tc, stop_from_inside_a_handler);
    suite_add_tcase(s, tc);
    tc = tcase_create("free_running_server");
    tcase_add_test(tc, free_running_server);
    suite_add_tcase(s, tc);
    return s;
}
