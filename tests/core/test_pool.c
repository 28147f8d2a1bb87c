/* test_pool.c — behaviour 1: one completion port served by a small, fixed pool of threads, not a thread per client. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

typedef struct sleepers {
    const char *name;
    volatile LONG ok, failed;
} sleepers;

static void sleeper(void *arg, unsigned index)
{
    sleepers *sl = arg;
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    size_t len = 0;

    (void)index;
    if (ph_client_new(&c) == 0 && ph_client_connect(c, sl->name, 5000, 0) == 0 &&
        ct_transact(c, "SLEEP 400", &resp, &len, 10000) == 0 && len == 5 && memcmp(resp, "SLEPT", 5) == 0)
        InterlockedIncrement(&sl->ok);
    else
        InterlockedIncrement(&sl->failed);
    ph_free(resp);
    ph_client_free(c);
}

/* Four slow handlers on four pool threads overlap: the wall time is about one handler's, not four. */
START_TEST(slow_handlers_run_concurrently)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    sleepers sl = {name, 0, 0};
    unsigned long long t0, took;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "pool-conc", &ctx, NULL);
    cfg.threads = 4;
    cfg.pending_instances = 4;
    s = ct_start(&cfg, &ctx);

    t0 = ph_test_now_ms();
    ck_assert(ct_run_threads(4, sleeper, &sl, 15000));
    took = ph_test_now_ms() - t0;
    printf("4 x 400 ms handlers on 4 threads took %llu ms; %u distinct pool threads\n", took, ctx.nthreads);
    ck_assert_int_eq(sl.ok, 4);
    ck_assert_int_eq(sl.failed, 0);
    ck_assert_int_eq(ctx.max_active, 4);
    ck_assert_uint_eq(ctx.nthreads, 4);
    ck_assert_uint_ge(took, 390);
    ck_assert_uint_lt(took, 1200); /* serial would be 1600 ms */
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* The pool is the bound: with 2 threads, 4 slow handlers run 2 at a time, never more. */
START_TEST(pool_bounds_concurrency)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    sleepers sl = {name, 0, 0};
    unsigned long long t0, took;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "pool-bound", &ctx, NULL);
    cfg.threads = 2;
    cfg.pending_instances = 4;
    s = ct_start(&cfg, &ctx);

    t0 = ph_test_now_ms();
    ck_assert(ct_run_threads(4, sleeper, &sl, 15000));
    took = ph_test_now_ms() - t0;
    printf("4 x 400 ms handlers on 2 threads took %llu ms\n", took);
    ck_assert_int_eq(sl.ok, 4);
    ck_assert_int_eq(ctx.max_active, 2);
    ck_assert_uint_le(ctx.nthreads, 2);
    ck_assert_uint_ge(took, 790);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Many connections, few threads: 40 clients held open at once by this one thread are all served, and the
 * process gains exactly the pool and the reaper at start and not one thread more per connection. */
START_TEST(threads_much_fewer_than_connections)
{
    enum { NCLIENTS = 40, ROUNDS = 3 };
    char name[CT_NAME_MAX], req[32];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c[NCLIENTS];
    int before, started, busy;
    unsigned i, r;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "pool-many", &ctx, NULL);
    cfg.threads = 2;
    cfg.pending_instances = 4;
    before = ct_thread_count();
    ck_assert_int_gt(before, 0);
    s = ct_start(&cfg, &ctx);
    started = ct_thread_count();
    ck_assert_int_eq(started - before, 2 + 1); /* the pool and the reaper */

    for (i = 0; i < NCLIENTS; i++)
        c[i] = ct_connect(name);
    ck_assert(CT_WAIT(s, connections_active, NCLIENTS, 5000));
    for (r = 0; r < ROUNDS; r++) {
        for (i = 0; i < NCLIENTS; i++) {
            snprintf(req, sizeof(req), "req %u.%u", i, r);
            ct_expect_str(c[i], req, req);
        }
    }
    busy = ct_thread_count();
    printf("threads: %d before start, %d running, %d with %d clients connected\n", before, started, busy, NCLIENTS);
    ck_assert_int_eq(busy, started);
    ck_assert_int_eq(ctx.calls, NCLIENTS * ROUNDS);
    ck_assert_uint_le(ctx.nthreads, 2);
    for (i = 0; i < NCLIENTS; i++)
        ph_client_free(c[i]);
    ph_server_free(s);
    /* Every thread the server made is gone after free. */
    ck_assert_int_eq(ct_thread_count(), before);
    ct_ctx_free(&ctx);
}
END_TEST

/* threads = 0 picks twice the CPU count, clamped to 8..32. */
START_TEST(default_pool_size)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    SYSTEM_INFO si;
    int before, want;

    GetSystemInfo(&si);
    want = 2 * (int)si.dwNumberOfProcessors;
    want = want < 8 ? 8 : (want > 32 ? 32 : want);
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "pool-default", &ctx, NULL);
    cfg.threads = 0;
    before = ct_thread_count();
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ct_thread_count() - before, want + 1);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc;

    tc = tcase_create("slow_handlers_run_concurrently");
    tcase_add_test(tc, slow_handlers_run_concurrently);
    suite_add_tcase(s, tc);
    tc = tcase_create("pool_bounds_concurrency");
    tcase_add_test(tc, pool_bounds_concurrency);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads_much_fewer_than_connections");
    tcase_add_test(tc, threads_much_fewer_than_connections);
    suite_add_tcase(s, tc);
    tc = tcase_create("default_pool_size");
    tcase_add_test(tc, default_pool_size);
    suite_add_tcase(s, tc);
    return s;
}
