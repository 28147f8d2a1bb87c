/* test_counters.c — behaviour 12: counters exact after a scripted sequence, readable before start and after stop. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

static void expect_counters(const ph_server *s, uint64_t total, uint64_t active, uint64_t requests, uint64_t errors,
                            uint64_t in, uint64_t out)
{
    ph_counters k;

    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    printf("counters: total %llu active %llu requests %llu errors %llu in %llu out %llu pending %llu\n",
           (unsigned long long)k.connections_total, (unsigned long long)k.connections_active,
           (unsigned long long)k.requests_total, (unsigned long long)k.errors_total, (unsigned long long)k.bytes_in,
           (unsigned long long)k.bytes_out, (unsigned long long)k.instances_pending);
    ck_assert_uint_eq(k.connections_total, total);
    ck_assert_uint_eq(k.connections_active, active);
    ck_assert_uint_eq(k.requests_total, requests);
    ck_assert_uint_eq(k.errors_total, errors);
    ck_assert_uint_eq(k.bytes_in, in);
    ck_assert_uint_eq(k.bytes_out, out);
}

START_TEST(exact_after_scripted_sequence)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;
    ph_client *a, *b, *c;
    unsigned char big[2000];
    unsigned char *m = NULL;
    size_t len = 0, err_len;
    ph_counters k;
    HANDLE raw;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cnt-script", &ctx, NULL);
    cfg.limits.max_message_bytes = 1024;
    cfg.pending_instances = 3;
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ctx.server = s;
    /* Before start: all zero, pending included. */
    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    ck_assert_uint_eq(k.connections_total + k.connections_active + k.requests_total + k.errors_total + k.bytes_in +
                          k.bytes_out + k.instances_pending,
                      0);
    ck_assert_int_eq(ph_server_start(s), 0);
    expect_counters(s, 0, 0, 0, 0, 0, 0);

    /* A: three requests (8 + 0 + 7 bytes in), two answered (8 + 0 out), one PH_NO_REPLY. */
    a = ct_connect(name);
    ct_expect_str(a, "ECHO abc", "ECHO abc");
    ct_expect(a, "", 0, "", 0);
    ck_assert_int_eq(ph_client_send(a, "NOREPLY", 7, 5000), 0);
    ck_assert(ct_wait_long(&ctx.calls, 3, 2000));
    /* B: one oversize request (2000 bytes in, drained), answered with an error of err_len bytes, then closed. */
    b = ct_connect(name);
    ck_assert(CT_WAIT(s, connections_active, 2, 2000));
    expect_counters(s, 2, 2, 3, 0, 15, 8);
    ct_fill(big, sizeof(big), 5);
    ck_assert_int_eq(ph_client_transact(b, big, sizeof(big), &m, &len, 5000, 0), 0);
    ck_assert_int_eq(memcmp(m, "ERR too-large ", 14), 0);
    err_len = len;
    ph_free(m);
    /* C: connects and leaves without a word. */
    raw = ct_raw_connect(name, GENERIC_READ | GENERIC_WRITE, 0);
    ck_assert(raw != INVALID_HANDLE_VALUE);
    ck_assert(CT_WAIT(s, connections_total, 3, 2000));
    CloseHandle(raw);
    /* A once more, with a response bigger than a pipe buffer: 70000 out. */
    c = a;
    ct_expect_str(c, "hi", "hi");
    ck_assert_int_eq(ct_transact(c, "BIG 70000", &m, &len, 5000), 0);
    ck_assert_uint_eq(len, 70000);
    ph_free(m);
    ph_client_free(a);
    ph_client_free(b);
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ph_test_sleep_ms(50); /* nothing may still be on its way */
    expect_counters(s, 3, 0, 6, 1, 15 + 2000 + 2 + 9, 8 + err_len + 2 + 70000);
    ck_assert_uint_ge(CT_COUNTER(s, instances_pending), 3);
    ck_assert_int_eq(ctx.calls, 6);

    /* After stop: still readable, pending instances gone, totals kept. */
    ck_assert_int_eq(ph_server_stop(s), 0);
    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    ck_assert_uint_eq(k.instances_pending, 0);
    ck_assert_uint_eq(k.connections_total, 3);
    ck_assert_uint_eq(k.requests_total, 6);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Errors count connections closed for a timeout as well, once each. */
START_TEST(errors_count_timeouts_once)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c[3];
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cnt-timeouts", &ctx, NULL);
    cfg.limits.idle_timeout_ms = 200;
    s = ct_start(&cfg, &ctx);
    for (i = 0; i < 3; i++) {
        c[i] = ct_connect(name);
        ct_expect_str(c[i], "x", "x");
    }
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ph_test_sleep_ms(300);
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 3);
    ck_assert_uint_eq(CT_COUNTER(s, connections_total), 3);
    for (i = 0; i < 3; i++)
        ph_client_free(c[i]);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

typedef struct hammer {
    const char *name;
    volatile LONG ok, failed;
} hammer;

static void hammer_client(void *arg, unsigned index)
{
    hammer *h = arg;
    char req[64];
    int i;

    for (i = 0; i < 20; i++) {
        ph_client *c = NULL;
        unsigned char *resp = NULL;
        size_t len = 0;
        snprintf(req, sizeof(req), "thread %02u request %02d", index, i); /* always 20 bytes */
        if (ph_client_new(&c) == 0 && ph_client_connect(c, h->name, 10000, 0) == 0 &&
            ct_transact(c, req, &resp, &len, 10000) == 0 && len == 20)
            InterlockedIncrement(&h->ok);
        else
            InterlockedIncrement(&h->failed);
        ph_free(resp);
        ph_client_free(c);
    }
}

/* Counted from many pool threads at once, nothing is lost. */
START_TEST(exact_under_concurrency)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    hammer h;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cnt-conc", &ctx, NULL);
    cfg.threads = 4;
    s = ct_start(&cfg, &ctx);
    memset(&h, 0, sizeof(h));
    h.name = name;
    ck_assert(ct_run_threads(8, hammer_client, &h, 60000));
    ck_assert_int_eq(h.failed, 0);
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ck_assert(CT_WAIT(s, bytes_out, 160 * 20, 2000));
    expect_counters(s, 160, 0, 160, 0, 160 * 20, 160 * 20);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("counters");
    TCase *tc;

    tc = tcase_create("exact_after_scripted_sequence");
    tcase_add_test(tc, exact_after_scripted_sequence);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors_count_timeouts_once");
    tcase_add_test(tc, errors_count_timeouts_once);
    suite_add_tcase(s, tc);
    tc = tcase_create("exact_under_concurrency");
    tcase_add_test(tc, exact_under_concurrency);
    suite_add_tcase(s, tc);
    return s;
}
