/* test_timeouts.c — behaviour 9: idle and non-reading clients are closed on time, and never delay anyone else. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

/* A well-behaved client in the background: transacts every 20 ms and records its worst round trip. */
typedef struct steady {
    const char *name;
    volatile LONG stop;
    volatile LONG rounds, failures, worst_ms;
} steady;

static void steady_client(void *arg, unsigned index)
{
    steady *st = arg;
    ph_client *c = NULL;
    char req[32];

    (void)index;
    if (ph_client_new(&c) != 0 || ph_client_connect(c, st->name, 5000, 0) != 0) {
        InterlockedIncrement(&st->failures);
        ph_client_free(c);
        return;
    }
    while (!st->stop) {
        unsigned char *resp = NULL;
        size_t len = 0;
        unsigned long long t0 = ph_test_now_ms();
        LONG took;
        snprintf(req, sizeof(req), "steady %ld", st->rounds);
        if (ct_transact(c, req, &resp, &len, 5000) != 0 || len != strlen(req))
            InterlockedIncrement(&st->failures);
        took = (LONG)(ph_test_now_ms() - t0);
        if (took > st->worst_ms)
            InterlockedExchange(&st->worst_ms, took);
        InterlockedIncrement(&st->rounds);
        ph_free(resp);
        Sleep(20);
    }
    ph_client_free(c);
}

/* An idle connection is closed after the idle timeout: its pending read sees a broken pipe. Meanwhile another
 * client is served promptly. */
START_TEST(idle_connection_closed)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ct_log lg;
    ph_server *s;
    ph_client *idle;
    steady st;
    ct_threads *bg;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0, took;
    int rc;

    ct_ctx_init(&ctx);
    ct_log_init(&lg);
    ct_config(&cfg, name, sizeof(name), "to-idle", &ctx, &lg);
    cfg.limits.idle_timeout_ms = 400;
    s = ct_start(&cfg, &ctx);
    memset(&st, 0, sizeof(st));
    st.name = name;
    bg = ct_spawn(1, steady_client, &st);

    idle = ct_connect(name);
    ct_expect_str(idle, "once", "once");
    t0 = ph_test_now_ms();
    rc = ph_client_recv(idle, &m, &len, 5000, 0); /* nothing will come: only the close */
    took = ph_test_now_ms() - t0;
    printf("idle client closed after %llu ms (timeout 400)\n", took);
    ck_assert_msg(rc == PH_EPIPE, "idle client: %s after %lu ms", ph_err_name(rc), (unsigned long)took);
    ck_assert_uint_ge(took, 350);
    ck_assert_uint_lt(took, 1500);
    ph_client_free(idle);

    InterlockedExchange(&st.stop, 1);
    ck_assert(ct_join(bg, 10000));
    printf("steady client: %ld rounds, worst %ld ms\n", st.rounds, st.worst_ms);
    ck_assert_int_eq(st.failures, 0);
    ck_assert_int_ge(st.rounds, 10);
    ck_assert_int_lt(st.worst_ms, 250);
    ck_assert(ct_log_has(&lg, PH_LOG_INFO, "idle timeout"));
    ck_assert(CT_WAIT(s, connections_active, 0, 2000));
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 1); /* the idle close; the steady client left normally */
    ph_server_free(s);
    ct_log_free(&lg);
    ct_ctx_free(&ctx);
}
END_TEST

/* The idle clock restarts with each request, and PH_INFINITE means never. */
START_TEST(idle_clock_and_infinite)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    ph_limits l;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "to-clock", &ctx, NULL);
    cfg.limits.idle_timeout_ms = 300;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    for (i = 0; i < 6; i++) { /* 6 x 150 ms = 900 ms in all, three timeouts' worth, never 300 ms idle */
        ct_expect_str(c, "tick", "tick");
        ph_test_sleep_ms(150);
    }
    ct_expect_str(c, "alive", "alive");
    ph_client_free(c);

    ph_limits_init(&l);
    ck_assert_int_eq(ph_server_get_limits(s, &l), 0);
    l.idle_timeout_ms = PH_INFINITE;
    ck_assert_int_eq(ph_server_set_limits(s, &l), 0);
    c = ct_connect(name);
    ct_expect_str(c, "start", "start");
    ph_test_sleep_ms(700);
    ct_expect_str(c, "still here", "still here");
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 0);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* A client that asks for a response bigger than the pipe buffer and never reads it: the server's write cannot
 * finish, and the connection is closed after the write timeout, while another client is served promptly. */
START_TEST(non_reading_client_closed)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ct_log lg;
    ph_server *s;
    ph_client *sink;
    steady st;
    ct_threads *bg;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0, took;
    int rc;

    ct_ctx_init(&ctx);
    ct_log_init(&lg);
    ct_config(&cfg, name, sizeof(name), "to-write", &ctx, &lg);
    cfg.buffer_size = 4096;
    cfg.limits.write_timeout_ms = 400;
    s = ct_start(&cfg, &ctx);
    memset(&st, 0, sizeof(st));
    st.name = name;
    bg = ct_spawn(1, steady_client, &st);

    sink = ct_connect(name);
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ph_client_send(sink, "BIG 262144", 10, 5000), 0);
    ck_assert_msg(CT_WAIT(s, errors_total, 1, 3000), "the non-reading client was not closed");
    took = ph_test_now_ms() - t0;
    printf("non-reading client closed after %llu ms (write timeout 400)\n", took);
    ck_assert_uint_ge(took, 350);
    ck_assert_uint_lt(took, 1500);
    ck_assert(ct_log_has(&lg, PH_LOG_WARN, "did not read its response in time"));
    /* Its unread response was discarded with the connection. */
    rc = ph_client_recv(sink, &m, &len, 2000, 0);
    ck_assert_msg(rc == PH_EPIPE, "closed client's read: %s (%lu bytes)", ph_err_name(rc), (unsigned long)len);
    ph_client_free(sink);

    InterlockedExchange(&st.stop, 1);
    ck_assert(ct_join(bg, 10000));
    printf("steady client: %ld rounds, worst %ld ms\n", st.rounds, st.worst_ms);
    ck_assert_int_eq(st.failures, 0);
    ck_assert_int_ge(st.rounds, 10);
    ck_assert_int_lt(st.worst_ms, 250);
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 1);
    ph_server_free(s);
    ct_log_free(&lg);
    ct_ctx_free(&ctx);
}
END_TEST

/* Several responses that together overflow the buffer, requested without reading: the same outcome. */
START_TEST(non_reading_client_many_small)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *sink, *other;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "to-many", &ctx, NULL);
    cfg.buffer_size = 4096;
    cfg.limits.write_timeout_ms = 300;
    s = ct_start(&cfg, &ctx);
    sink = ct_connect(name);
    other = ct_connect(name);
    for (i = 0; i < 16; i++)
        ck_assert_int_eq(ph_client_send(sink, "BIG 1024", 8, 5000), 0);
    ct_expect_str(other, "meanwhile", "meanwhile");
    ck_assert(CT_WAIT(s, errors_total, 1, 3000));
    ct_expect_str(other, "after", "after");
    ph_client_free(sink);
    ph_client_free(other);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* A slow handler holds one pool thread, not the server: others are answered while it sleeps. */
START_TEST(slow_handler_does_not_delay_others)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *slow, *fast;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "to-slow", &ctx, NULL);
    cfg.threads = 2;
    s = ct_start(&cfg, &ctx);
    slow = ct_connect(name);
    fast = ct_connect(name);
    ck_assert_int_eq(ph_client_send(slow, "SLEEP 1000", 10, 5000), 0);
    ck_assert_uint_eq(WaitForSingleObject(ctx.entered, 5000), WAIT_OBJECT_0);
    t0 = ph_test_now_ms();
    for (i = 0; i < 20; i++)
        ct_expect_str(fast, "quick", "quick");
    ck_assert_uint_lt(ph_test_now_ms() - t0, 500);
    ck_assert_int_eq(ph_client_recv(slow, &m, &len, 5000, 0), 0);
    ck_assert_str_eq((char *)m, "SLEPT");
    ph_free(m);
    ph_client_free(slow);
    ph_client_free(fast);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("timeouts");
    TCase *tc;

    tc = tcase_create("idle_connection_closed");
    tcase_add_test(tc, idle_connection_closed);
    suite_add_tcase(s, tc);
    tc = tcase_create("idle_clock_and_infinite");
    tcase_add_test(tc, idle_clock_and_infinite);
    suite_add_tcase(s, tc);
    tc = tcase_create("non_reading_client_closed");
    tcase_add_test(tc, non_reading_client_closed);
    suite_add_tcase(s, tc);
    tc = tcase_create("non_reading_client_many_small");
    tcase_add_test(tc, non_reading_client_many_small);
    suite_add_tcase(s, tc);
    tc = tcase_create("slow_handler_does_not_delay_others");
    tcase_add_test(tc, slow_handler_does_not_delay_others);
    suite_add_tcase(s, tc);
    return s;
}
