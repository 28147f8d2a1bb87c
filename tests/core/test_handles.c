/* test_handles.c — no handle leaks: the process handle count returns exactly to its start value after 1,000
 * connect/transact/disconnect cycles, and after stop and free. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

/* The counting itself must work, or the comparisons below would pass vacuously. */
static void check_counting_works(void)
{
    long before = ct_handle_count(), during;
    HANDLE e;

    if (before < 0)
        ph_test_skip("no way to count this process's handles on this system");
    e = CreateEventW(NULL, TRUE, FALSE, NULL);
    during = ct_handle_count();
    CloseHandle(e);
    ck_assert_int_eq(during, before + 1);
    ck_assert_int_eq(ct_handle_count(), before);
}

static void cycles(const char *name, unsigned n)
{
    unsigned i;
    char req[32];

    for (i = 0; i < n; i++) {
        ph_client *c = NULL;
        unsigned char *m = NULL;
        size_t len = 0;
        int rc;
        snprintf(req, sizeof(req), "cycle %u", i);
        ck_assert_int_eq(ph_client_new(&c), 0);
        rc = ph_client_connect(c, name, 5000, 0);
        ck_assert_msg(rc == 0, "cycle %u: connect %s", i, ph_err_name(rc));
        rc = ct_transact(c, req, &m, &len, 5000);
        ck_assert_msg(rc == 0 && len == strlen(req), "cycle %u: transact %s", i, ph_err_name(rc));
        ph_free(m);
        ph_client_free(c);
    }
}

/* Waits until the server is back at rest: total connections served, none active, and the number of waiting
 * instances steady (at least K; instances freed by leaving clients may be re-armed, up to 2K). Returns it. */
static uint64_t settle(ph_server *s, uint64_t total, unsigned k)
{
    uint64_t pending;

    ck_assert(CT_WAIT(s, connections_total, total, 5000));
    ck_assert(CT_WAIT(s, connections_active, 0, 5000));
    ph_test_sleep_ms(50); /* the last closer may still be inside conn_close */
    pending = CT_COUNTER(s, instances_pending);
    ck_assert_uint_ge(pending, k);
    ck_assert_uint_le(pending, 2 * k);
    return pending;
}

START_TEST(thousand_cycles_then_stop)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    long base, running, after_cycles, after_free;
    uint64_t pending, pending_after;
    ph_counters k;

    check_counting_works();
    ct_ctx_init(&ctx);
    /* Warm up once: the first server, client and pipe make the runtime open what it keeps for good. */
    ct_config(&cfg, name, sizeof(name), "hdl-warm", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    s = ct_start(&cfg, &ctx);
    cycles(name, 3);
    ph_server_free(s);

    base = ct_handle_count();
    ct_config(&cfg, name, sizeof(name), "hdl-cycles", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 4;
    s = ct_start(&cfg, &ctx);
    cycles(name, 5);
    pending = settle(s, 5, 4);
    running = ct_handle_count();
    cycles(name, 1000);
    pending_after = settle(s, 1005, 4);
    after_cycles = ct_handle_count();
    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    printf("handles: %ld before start, %ld running with %lu instances waiting, %ld after 1000 cycles with %lu\n", base,
           running, (unsigned long)pending, after_cycles, (unsigned long)pending_after);
    ck_assert_uint_eq(k.requests_total, 1005);
    ck_assert_uint_eq(k.errors_total, 0);
    /* Each waiting instance is one pipe handle, and how many wait (K..2K) depends on how closes and accepts
     * interleaved; everything else must be exactly as before. */
    ck_assert_int_eq(after_cycles - (long)pending_after, running - (long)pending);
    ck_assert_uint_eq(CT_COUNTER(s, instances_pending), pending_after); /* it was at rest while counted */
    ph_server_free(s);
    after_free = ct_handle_count();
    printf("handles: %ld after stop and free\n", after_free);
    ck_assert_int_eq(after_free, base);
    ct_ctx_free(&ctx);
}
END_TEST

/* Stop with everything in play — connected clients, one mid-response, idle ones, refills — and free: every
 * handle the server made is closed, clients' own handles aside. */
START_TEST(stop_with_clients_releases_everything)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c[6];
    long base, after;
    int i, round;

    check_counting_works();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "hdl-warm2", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    s = ct_start(&cfg, &ctx);
    cycles(name, 2);
    ph_server_free(s);

    for (round = 0; round < 3; round++) {
        ck_assert_int_eq(ph_client_new(&c[0]), 0); /* created before the base count: clients are ours */
        for (i = 1; i < 6; i++)
            ck_assert_int_eq(ph_client_new(&c[i]), 0);
        base = ct_handle_count();
        ct_config(&cfg, name, sizeof(name), "hdl-stop", &ctx, NULL);
        cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
        cfg.buffer_size = 4096;
        cfg.limits.drain_timeout_ms = 300;
        s = ct_start(&cfg, &ctx);
        for (i = 0; i < 6; i++)
            ck_assert_int_eq(ph_client_connect(c[i], name, 5000, 0), 0);
        ct_expect_str(c[0], "answered", "answered");
        ck_assert_int_eq(ph_client_send(c[1], "BIG 100000", 10, 5000), 0); /* never read */
        ck_assert_int_eq(ph_client_send(c[2], "SLEEP 100", 9, 5000), 0);
        ck_assert(ct_wait_long(&ctx.calls, 3 * (round + 1), 5000));
        ph_server_free(s);
        for (i = 0; i < 6; i++) /* disconnect, keep the objects: their handles are not the server's */
            ck_assert_int_eq(ph_client_connect(c[i], name, 0, 0), PH_ENOTFOUND);
        after = ct_handle_count();
        printf("round %d: handles %ld before start, %ld after free\n", round, base, after);
        ck_assert_int_eq(after, base);
        for (i = 0; i < 6; i++)
            ph_client_free(c[i]);
    }
    ct_ctx_free(&ctx);
}
END_TEST

/* A start that fails leaves nothing open either. */
START_TEST(failed_start_releases_everything)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *first, *s = NULL;
    long base;
    int i;

    check_counting_works();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "hdl-fail", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    first = ct_start(&cfg, &ctx);
    /* Warm-up of the failure path itself. */
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_EADDRINUSE);
    ph_server_free(s);
    base = ct_handle_count();
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
        ck_assert_int_eq(ph_server_start(s), PH_EADDRINUSE);
        ph_server_free(s);
    }
    cfg.sddl = "garbage";
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
        ck_assert_int_eq(ph_server_start(s), PH_EBADSDDL);
        ph_server_free(s);
    }
    ck_assert_int_eq(ct_handle_count(), base);
    ph_server_free(first);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("handles");
    TCase *tc;

    tc = tcase_create("thousand_cycles_then_stop");
    tcase_add_test(tc, thousand_cycles_then_stop);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_with_clients_releases_everything");
    tcase_add_test(tc, stop_with_clients_releases_everything);
    suite_add_tcase(s, tc);
    tc = tcase_create("failed_start_releases_everything");
    tcase_add_test(tc, failed_start_releases_everything);
    suite_add_tcase(s, tc);
    return s;
}
