/* test_instances.c — behaviour 2: K instances always waiting, refilled as clients connect; bursts; accept races. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

START_TEST(pending_after_start_and_refilled)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *a, *b;
    ph_counters k;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "inst-refill", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 3;
    s = ct_start(&cfg, &ctx);
    /* On return from start the K instances already wait: no settling time. */
    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    ck_assert_uint_eq(k.instances_pending, 3);
    ck_assert_uint_eq(k.connections_active, 0);

    a = ct_connect(name);
    b = ct_connect(name);
    ct_expect_str(a, "a", "a");
    ct_expect_str(b, "b", "b");
    ck_assert(CT_WAIT(s, connections_active, 2, 2000));
    ck_assert_msg(CT_WAIT(s, instances_pending, 3, 2000), "pending is %lu, not refilled to 3",
                  (unsigned long)CT_COUNTER(s, instances_pending));
    ph_client_free(a);
    ph_client_free(b);
    /* Instances freed by leaving clients are re-armed (saving a create and a close each) or closed: never
     * fewer than K wait, never more than 2K. */
    ck_assert(CT_WAIT(s, connections_active, 0, 2000));
    ph_test_sleep_ms(50);
    ck_assert_uint_ge(CT_COUNTER(s, instances_pending), 3);
    ck_assert_uint_le(CT_COUNTER(s, instances_pending), 6);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

START_TEST(default_pending_is_four)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "inst-default", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    {
        ph_server_config d;
        ph_server_config_init(&d);
        cfg.pending_instances = d.pending_instances;
    }
    s = ct_start(&cfg, &ctx);
    ck_assert_uint_eq(CT_COUNTER(s, instances_pending), 4);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* The refill happens as the client is accepted, on the pool thread that accepts it, not later when the reaper
 * notices a shortfall (a burst would find no instance in between). One pool thread makes this visible: it is
 * the thread that runs the handler. */
START_TEST(refill_happens_on_accept)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    LONG i, n;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "inst-onaccept", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.threads = 1;
    cfg.pending_instances = 2;
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ct_sys_state.npipes, 2);
    for (i = 0; i < 3; i++) {
        c = ct_connect(name);
        ct_expect_str(c, "x", "x");
        ck_assert(CT_WAIT(s, instances_pending, 2, 2000));
        ph_client_free(c);
        ck_assert(CT_WAIT(s, connections_active, 0, 2000));
    }
    ck_assert_uint_eq(ctx.nthreads, 1);
    n = ct_sys_state.npipes;
    ck_assert_int_gt(n, 2);
    for (i = 2; i < n && i < CT_PIPE_RECORDS; i++)
        ck_assert_msg(ct_sys_state.pipes[i].thread == ctx.threads[0],
                      "instance %ld was made by thread %lu, not the pool", (long)i, ct_sys_state.pipes[i].thread);
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* A fixed pool of max_instances: all of them exist from the start and wait (whatever pending_instances
 * says), none is ever closed while the server runs (a client that leaves gives its instance back), and a
 * client beyond the pool waits for one: busy, then served when another leaves. */
START_TEST(pending_bounded_by_max_instances)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c[4], *extra;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "inst-max", &ctx, NULL);
    cfg.max_instances = 4;
    cfg.pending_instances = 2;
    s = ct_start(&cfg, &ctx);
    ck_assert_uint_eq(CT_COUNTER(s, instances_pending), 4);
    ck_assert_uint_eq(CT_COUNTER(s, instances_total), 4);
    for (i = 0; i < 2; i++) {
        c[i] = ct_connect(name);
        ct_expect_str(c[i], "hold", "hold");
    }
    ck_assert_uint_eq(CT_COUNTER(s, instances_pending), 2);
    ck_assert_uint_eq(CT_COUNTER(s, instances_total), 4);
    ph_client_free(c[0]);
    ck_assert(CT_WAIT(s, instances_pending, 3, 2000));
    ck_assert_uint_eq(CT_COUNTER(s, instances_total), 4);
    c[0] = ct_connect(name);
    for (i = 2; i < 4; i++)
        c[i] = ct_connect(name);
    for (i = 0; i < 4; i++)
        ct_expect_str(c[i], "full", "full");
    ck_assert_uint_eq(CT_COUNTER(s, instances_pending), 0);
    ck_assert_int_eq(ph_client_new(&extra), 0);
    ck_assert_int_eq(ph_client_connect(extra, name, 300, 0), PH_ETIMEDOUT); /* busy: the pool is full */
    ph_client_free(c[3]);
    ck_assert_int_eq(ph_client_connect(extra, name, 5000, 0), 0);
    ct_expect_str(extra, "in", "in");
    ck_assert_uint_eq(CT_COUNTER(s, instances_total), 4);
    ph_client_free(extra);
    for (i = 0; i < 3; i++)
        ph_client_free(c[i]);
    ck_assert(CT_WAIT(s, instances_pending, 4, 2000));
    ck_assert_uint_eq(CT_COUNTER(s, instances_total), 4);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

typedef struct burst {
    const char *name;
    volatile LONG ok, connect_failed, transact_failed;
    volatile LONG first_rc;
} burst;

static void burst_client(void *arg, unsigned index)
{
    burst *b = arg;
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    size_t len = 0;
    char req[32];
    int rc;

    snprintf(req, sizeof(req), "client %u", index);
    if (ph_client_new(&c) != 0 || (rc = ph_client_connect(c, b->name, 20000, 0)) != 0) {
        InterlockedIncrement(&b->connect_failed);
        InterlockedCompareExchange(&b->first_rc, (LONG)ph_client_syserror(c), 0);
    } else if ((rc = ct_transact(c, req, &resp, &len, 20000)) != 0 || len != strlen(req) ||
               memcmp(resp, req, len) != 0) {
        InterlockedIncrement(&b->transact_failed);
    } else {
        InterlockedIncrement(&b->ok);
    }
    ph_free(resp);
    ph_client_free(c);
}

/* 64 clients connect at the same instant against 4 pending instances: the client's busy-retry and the
 * server's immediate refill together serve every one of them. */
START_TEST(burst_of_64_clients)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    burst b;
    ph_counters k;
    unsigned long long t0;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "inst-burst", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 4;
    cfg.threads = 4;
    s = ct_start(&cfg, &ctx);
    memset(&b, 0, sizeof(b));
    b.name = name;
    t0 = ph_test_now_ms();
    ck_assert(ct_run_threads(64, burst_client, &b, 40000));
    printf("64-client burst: %ld ok, %ld connect failures (first Win32 error %ld), %ld transact failures, %llu ms\n",
           b.ok, b.connect_failed, b.first_rc, b.transact_failed, ph_test_now_ms() - t0);
    ck_assert_int_eq(b.connect_failed, 0);
    ck_assert_int_eq(b.transact_failed, 0);
    ck_assert_int_eq(b.ok, 64);
    ck_assert(CT_WAIT(s, connections_active, 0, 5000));
    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    ck_assert_uint_eq(k.connections_total, 64);
    ck_assert_uint_eq(k.requests_total, 64);
    ck_assert_uint_eq(k.errors_total, 0);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* A failed refill is retried (by the reaper) until K instances wait again. */
START_TEST(failed_refill_is_retried)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ct_log lg;
    ph_server *s;
    ph_client *a;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_log_init(&lg);
    ct_config(&cfg, name, sizeof(name), "inst-retry", &ctx, &lg);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 2;
    s = ct_start(&cfg, &ctx);
    ct_sys_state.fail_next_err = ERROR_NOT_ENOUGH_MEMORY;
    InterlockedExchange(&ct_sys_state.fail_next, 5);
    a = ct_connect(name);
    ct_expect_str(a, "x", "x");
    /* Every injected failure is met by another try (the count includes the one being created, so wait for
     * the tries first)… */
    ck_assert_msg(ct_wait_long(&ct_sys_state.failed, 5, 3000), "only %ld refill attempts", ct_sys_state.failed);
    /* …and the next one succeeds. */
    ck_assert_msg(CT_WAIT(s, instances_pending, 2, 3000), "pending stuck at %lu after refill failures",
                  (unsigned long)CT_COUNTER(s, instances_pending));
    ck_assert_int_eq(ct_sys_state.failed, 5);
    /* Logged once when failing began and once when it cleared, not once per retry. */
    ck_assert(ct_wait_log(&lg, PH_LOG_INFO, "has waiting instances again", 3000));
    ck_assert_int_eq(ct_log_count(&lg, PH_LOG_ERROR, "cannot add a waiting instance"), 1);
    ck_assert_int_eq(ct_log_count(&lg, PH_LOG_INFO, "has waiting instances again, after 5 failed attempts"), 1);
    ph_client_free(a);
    ph_server_free(s);
    ct_sys_restore();
    ct_log_free(&lg);
    ct_ctx_free(&ctx);
}
END_TEST

/* A client that opens an instance before the server's ConnectNamedPipe (ERROR_PIPE_CONNECTED, no completion
 * packet of its own) is served like any other. */
START_TEST(client_before_connect_is_served)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    DWORD n = 0;
    char buf[64];

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "inst-race", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 1;
    cfg.max_instances = 1;
    ct_sys_arm_race(name, CT_RACE_CONNECTED);
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ct_sys_state.race_result, ERROR_PIPE_CONNECTED);
    ck_assert_ptr_nonnull(ct_sys_state.race_client);
    ck_assert(CT_WAIT(s, connections_active, 1, 2000));
    ck_assert(WriteFile(ct_sys_state.race_client, "early bird", 10, &n, NULL));
    ck_assert_uint_eq(ct_raw_read(ct_sys_state.race_client, buf, sizeof(buf), &n, 5000), 0);
    ck_assert_uint_eq(n, 10);
    ck_assert_int_eq(memcmp(buf, "early bird", 10), 0);
    CloseHandle(ct_sys_state.race_client); /* leave, so the stop need not wait for us */
    ct_sys_state.race_client = NULL;
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* A client that takes the first instance while start is still creating the others does not make start fail:
 * start judges by whether the creates worked, not by how many instances are still free when it looks. */
START_TEST(client_during_start)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;
    DWORD n = 0;
    char buf[64];
    int rc;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "inst-during", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 2;
    cfg.max_instances = 2;
    ct_sys_arm_race(name, CT_RACE_CONNECTED);
    ct_sys_state.next_delay_ms = 200; /* the client's accept is handled while the second instance is made */
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ctx.server = s;
    rc = ph_server_start(s);
    ck_assert_msg(rc == 0, "start with a client arriving: %s, Win32 error %lu", ph_err_name(rc), ph_server_syserror(s));
    ck_assert(CT_WAIT(s, connections_active, 1, 2000));
    ck_assert_uint_eq(CT_COUNTER(s, instances_pending), 1);
    ck_assert(WriteFile(ct_sys_state.race_client, "served", 6, &n, NULL));
    ck_assert_uint_eq(ct_raw_read(ct_sys_state.race_client, buf, sizeof(buf), &n, 5000), 0);
    ck_assert_uint_eq(n, 6);
    CloseHandle(ct_sys_state.race_client);
    ct_sys_state.race_client = NULL;
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* A client that opened and closed an instance before ConnectNamedPipe (ERROR_NO_DATA) leaves the instance
 * needing a disconnect; the server clears it and keeps listening. */
START_TEST(client_gone_before_connect)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "inst-nodata", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 1;
    cfg.max_instances = 1;
    ct_sys_arm_race(name, CT_RACE_NO_DATA);
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ct_sys_state.race_result, ERROR_NO_DATA);
    ck_assert_uint_eq(CT_COUNTER(s, instances_pending), 1);
    c = ct_connect(name);
    ct_expect_str(c, "still listening", "still listening");
    ck_assert_uint_eq(CT_COUNTER(s, connections_total), 1);
    ph_client_free(c);
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("instances");
    TCase *tc;

    tc = tcase_create("pending_after_start_and_refilled");
    tcase_add_test(tc, pending_after_start_and_refilled);
    suite_add_tcase(s, tc);
    tc = tcase_create("default_pending_is_four");
    tcase_add_test(tc, default_pending_is_four);
    suite_add_tcase(s, tc);
    tc = tcase_create("refill_happens_on_accept");
    tcase_add_test(tc, refill_happens_on_accept);
    suite_add_tcase(s, tc);
    tc = tcase_create("pending_bounded_by_max_instances");
    tcase_add_test(tc, pending_bounded_by_max_instances);
    suite_add_tcase(s, tc);
    tc = tcase_create("burst_of_64_clients");
    tcase_add_test(tc, burst_of_64_clients);
    suite_add_tcase(s, tc);
    tc = tcase_create("failed_refill_is_retried");
    tcase_add_test(tc, failed_refill_is_retried);
    suite_add_tcase(s, tc);
    tc = tcase_create("client_before_connect_is_served");
    tcase_add_test(tc, client_before_connect_is_served);
    suite_add_tcase(s, tc);
    tc = tcase_create("client_during_start");
    tcase_add_test(tc, client_during_start);
    suite_add_tcase(s, tc);
    tc = tcase_create("client_gone_before_connect");
    tcase_add_test(tc, client_gone_before_connect);
    suite_add_tcase(s, tc);
    return s;
}
