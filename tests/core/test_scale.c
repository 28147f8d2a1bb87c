/* test_scale.c — no connection cap, 2,000 idle connections, bursts and churn, the adaptive waiting target. */
#include "coretest.h"

#include <psapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wide_name(const char *name, wchar_t *out, size_t size)
{
    char full[CT_NAME_MAX + 16];
    size_t i;

    ck_assert_int_eq(ph_pipe_name_normalize(name, full, sizeof(full)), 0);
    for (i = 0; full[i] != '\0' && i + 1 < size; i++)
        out[i] = (wchar_t)(unsigned char)full[i];
    out[i] = L'\0';
}

/* Opens a message-mode client, retrying while every instance is busy (counted in *busy) for up to 10 s. */
static HANDLE open_counting(const wchar_t *wname, volatile LONG *busy)
{
    unsigned long long end = ph_test_now_ms() + 10000;
    DWORD mode = PIPE_READMODE_MESSAGE;

    for (;;) {
        HANDLE h = CreateFileW(wname, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            if (!SetNamedPipeHandleState(h, &mode, NULL, NULL)) {
                CloseHandle(h);
                return INVALID_HANDLE_VALUE;
            }
            return h;
        }
        if (GetLastError() != ERROR_PIPE_BUSY || ph_test_now_ms() > end)
            return INVALID_HANDLE_VALUE;
        if (busy != NULL)
            InterlockedIncrement(busy);
        WaitNamedPipeW(wname, 1000);
    }
}

/* One request on an open handle; 1 when the echo came back exactly. */
static int echo_on(HANDLE h, unsigned seed)
{
    unsigned char req[48], resp[64];
    DWORD n = 0;

    ct_fill(req, sizeof(req), seed);
    if (!WriteFile(h, req, sizeof(req), &n, NULL) || n != sizeof(req))
        return 0;
    if (ct_raw_read(h, resp, sizeof(resp), &n, 10000) != 0 || n != sizeof(req))
        return 0;
    return memcmp(req, resp, sizeof(req)) == 0;
}

static SIZE_T memory_now(void)
{
    PROCESS_MEMORY_COUNTERS pmc;

    memset(&pmc, 0, sizeof(pmc));
    pmc.cb = sizeof(pmc);
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc)))
        return 0;
    /* PagefileUsage: private committed bytes (PrivateUsage reads 0 under Wine). */
    return pmc.PagefileUsage;
}

/* max_instances = 255 means unlimited: 300 clients hold connections at once and every one is served
 * (before: PIPE_UNLIMITED_INSTANCES was passed, but a count check still refused client 256). */
START_TEST(client_256_and_beyond)
{
    enum { N = 300 };
    char name[CT_NAME_MAX];
    wchar_t wname[CT_NAME_MAX + 16];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    HANDLE *h;
    int i, ok = 0;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "scale-256", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    ck_assert_uint_eq(cfg.max_instances, PH_UNLIMITED_INSTANCES);
    s = ct_start(&cfg, &ctx);
    wide_name(name, wname, sizeof(wname) / sizeof(wname[0]));
    h = calloc(N, sizeof(*h));
    ck_assert_ptr_nonnull(h);
    for (i = 0; i < N; i++) {
        h[i] = open_counting(wname, NULL);
        ck_assert_msg(h[i] != INVALID_HANDLE_VALUE, "client %d could not connect", i + 1);
    }
    ck_assert(CT_WAIT(s, connections_active, N, 10000));
    for (i = N - 1; i >= 0; i--)
        ok += echo_on(h[i], (unsigned)i);
    ck_assert_int_eq(ok, N);
    for (i = 0; i < N; i++)
        CloseHandle(h[i]);
    free(h);
    ck_assert(CT_WAIT(s, connections_active, 0, 10000));
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* 2,000 idle connections at once: all connect, the server's memory grows by at most 16 KiB each (no large
 * read buffer pinned per idle connection), and a newcomer is answered while they are held. */
START_TEST(two_thousand_idle_connections)
{
    enum { N = 2000 };
    char name[CT_NAME_MAX];
    wchar_t wname[CT_NAME_MAX + 16];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *late;
    HANDLE *h;
    SIZE_T before, after;
    unsigned long long t0, took;
    double per;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "scale-idle", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    s = ct_start(&cfg, &ctx);
    wide_name(name, wname, sizeof(wname) / sizeof(wname[0]));
    h = calloc(N, sizeof(*h));
    ck_assert_ptr_nonnull(h);
    /* Warm up: one connection through the whole path, so first-use allocations are not counted. */
    h[0] = open_counting(wname, NULL);
    ck_assert(echo_on(h[0], 1));
    ck_assert(CT_WAIT(s, connections_active, 1, 5000));
    before = memory_now();
    for (i = 1; i < N; i++) {
        h[i] = open_counting(wname, NULL);
        ck_assert_msg(h[i] != INVALID_HANDLE_VALUE, "client %d could not connect", i + 1);
    }
    ck_assert(CT_WAIT(s, connections_active, N, 20000));
    Sleep(200); /* every connection's first read is posted */
    after = memory_now();
    per = (double)(after - before) / (N - 1);
    printf("%d idle connections: %.0f bytes of private memory each (client handles included)\n", N, per);
    ck_assert_msg(before != 0 && after != 0, "no memory figures from GetProcessMemoryInfo");
    ck_assert_msg(per <= 16384.0, "%.0f bytes per idle connection", per);

    t0 = ph_test_now_ms();
    late = ct_connect(name);
    ct_expect_str(late, "newcomer", "newcomer");
    took = ph_test_now_ms() - t0;
    printf("a newcomer was answered in %llu ms with %d connections held\n", took, N);
    ph_client_free(late);
    ck_assert(echo_on(h[N / 2], 7)); /* and an idle one still works */
    for (i = 0; i < N; i++)
        CloseHandle(h[i]);
    free(h);
    ck_assert(CT_WAIT(s, connections_active, 0, 20000));
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

typedef struct crowd {
    wchar_t wname[CT_NAME_MAX + 16];
    int per_thread; /* connect, one request, leave: this many times */
    volatile LONG busy, failed, ok;
    volatile LONG max_wait_ms;
} crowd;

static void crowd_main(void *arg, unsigned index)
{
    crowd *cr = arg;
    int i;

    for (i = 0; i < cr->per_thread; i++) {
        unsigned long long t0 = ph_test_now_ms();
        HANDLE h = open_counting(cr->wname, &cr->busy);
        LONG waited = (LONG)(ph_test_now_ms() - t0);

        for (;;) {
            LONG seen = cr->max_wait_ms;
            if (waited <= seen || InterlockedCompareExchange(&cr->max_wait_ms, waited, seen) == seen)
                break;
        }
        if (h == INVALID_HANDLE_VALUE) {
            InterlockedIncrement(&cr->failed);
            continue;
        }
        if (echo_on(h, index * 1000u + (unsigned)i))
            InterlockedIncrement(&cr->ok);
        else
            InterlockedIncrement(&cr->failed);
        CloseHandle(h);
    }
}

/* 256 clients connecting at the same moment are all served. The adaptive waiting target grows during the
 * burst and shrinks back to the configured floor once it is over. Busy retries and the longest connect wait
 * are printed (speed goals live in the benchmark). */
START_TEST(burst_of_256_then_target_shrinks)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    crowd cr;
    uint64_t grown;

    memset(&cr, 0, sizeof(cr));
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "scale-burst", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 4;
    s = ct_start(&cfg, &ctx);
    wide_name(name, cr.wname, sizeof(cr.wname) / sizeof(cr.wname[0]));
    cr.per_thread = 1;
    ck_assert(ct_run_threads(256, crowd_main, &cr, 60000));
    printf("burst of 256: %ld served, %ld failed, %ld busy retries, longest connect wait %ld ms\n", (long)cr.ok,
           (long)cr.failed, (long)cr.busy, (long)cr.max_wait_ms);
    ck_assert_int_eq(cr.ok, 256);
    ck_assert_int_eq(cr.failed, 0);
    grown = CT_COUNTER(s, instances_pending);
    printf("waiting instances after the burst: %llu\n", (unsigned long long)grown);
    ck_assert_uint_gt(grown, 4);
    ck_assert_msg(CT_WAIT(s, instances_pending, 4, 30000), "waiting instances stuck at %llu",
                  (unsigned long long)CT_COUNTER(s, instances_pending));
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Eight clients reconnecting for every request are all served; busy retries are printed. */
START_TEST(churn_of_8)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    crowd cr;

    memset(&cr, 0, sizeof(cr));
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "scale-churn", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 4;
    s = ct_start(&cfg, &ctx);
    wide_name(name, cr.wname, sizeof(cr.wname) / sizeof(cr.wname[0]));
    cr.per_thread = 100;
    ck_assert(ct_run_threads(8, crowd_main, &cr, 60000));
    printf("churn 8 x 100: %ld served, %ld failed, %ld busy retries\n", (long)cr.ok, (long)cr.failed, (long)cr.busy);
    ck_assert_int_eq(cr.ok, 800);
    ck_assert_int_eq(cr.failed, 0);
    ck_assert(CT_WAIT(s, connections_total, 800, 10000));
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("scale");
    TCase *tc;

    tc = tcase_create("client_256_and_beyond");
    tcase_add_test(tc, client_256_and_beyond);
    suite_add_tcase(s, tc);
    tc = tcase_create("two_thousand_idle_connections");
    tcase_add_test(tc, two_thousand_idle_connections);
    suite_add_tcase(s, tc);
    tc = tcase_create("burst_of_256_then_target_shrinks");
    tcase_add_test(tc, burst_of_256_then_target_shrinks);
    suite_add_tcase(s, tc);
    tc = tcase_create("churn_of_8");
    tcase_add_test(tc, churn_of_8);
    suite_add_tcase(s, tc);
    return s;
}
