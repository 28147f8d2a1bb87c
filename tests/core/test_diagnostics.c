/* test_diagnostics.c — behaviour 11 on Windows: the raw Win32 error behind a failure, and the log callback. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

/* Each failure keeps the Win32 code that caused it, reachable through the object. */
START_TEST(server_syserror_reachable)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *first, *s = NULL;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "diag-srv", &ctx, NULL);
    ck_assert_uint_eq(ph_server_syserror(NULL), 0);

    cfg.sddl = "D:(A;;GA;;;XX)";
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_uint_eq(ph_server_syserror(s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_EBADSDDL);
    ck_assert_uint_eq(ph_server_syserror(s), ERROR_INVALID_ACL); /* what the SDDL parser says of an unknown SID */
    ph_server_free(s);

    cfg.sddl = "O:SY";
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_EBADSDDL);
    ck_assert_uint_eq(ph_server_syserror(s), ERROR_INVALID_SECURITY_DESCR);
    ph_server_free(s);

    cfg.sddl = NULL;
    first = ct_start(&cfg, &ctx);
    ck_assert_uint_eq(ph_server_syserror(first), 0);
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_EADDRINUSE);
    ck_assert_uint_eq(ph_server_syserror(s), ERROR_PIPE_BUSY);
    ph_server_free(s);
    ph_server_free(first);
    ct_ctx_free(&ctx);
}
END_TEST

START_TEST(client_syserror_reachable)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *hold, *c = NULL;
    DWORD e;

    ck_assert_uint_eq(ph_client_syserror(NULL), 0);
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "diag-cli", &ctx, NULL);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_uint_eq(ph_client_syserror(c), 0);
    ck_assert_int_eq(ph_client_connect(c, name, 100, 0), PH_ENOTFOUND);
    ck_assert_uint_eq(ph_client_syserror(c), ERROR_FILE_NOT_FOUND);

    cfg.max_instances = 1;
    cfg.pending_instances = 1;
    s = ct_start(&cfg, &ctx);
    hold = ct_connect(name);
    ct_expect_str(hold, "x", "x");
    ck_assert_int_eq(ph_client_connect(c, name, 100, 0), PH_ETIMEDOUT);
    e = ph_client_syserror(c);
    ck_assert_msg(e == ERROR_SEM_TIMEOUT || e == ERROR_PIPE_BUSY, "busy timeout kept Win32 error %lu", e);
    ph_client_free(hold);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), 0);
    ck_assert_uint_eq(ph_client_syserror(c), 0); /* a success clears it */
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* The log callback gets every message at or below the configured level, each with its level, and none above;
 * Win32 failures carry the code and its text. */
START_TEST(log_callback_levels)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ct_log lg;
    ph_server *s;
    ph_client *c;
    unsigned char big[3000];
    unsigned char *m = NULL;
    size_t len = 0;

    ct_ctx_init(&ctx);
    ct_log_init(&lg);
    ct_config(&cfg, name, sizeof(name), "diag-log", &ctx, &lg);
    cfg.log_level = PH_LOG_DEBUG;
    cfg.limits.max_message_bytes = 1000;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ct_expect_str(c, "hello", "hello");
    ct_fill(big, sizeof(big), 1);
    ck_assert_int_eq(ph_client_transact(c, big, sizeof(big), &m, &len, 5000, 0), 0);
    ph_free(m);
    ph_client_free(c);
    ck_assert(CT_WAIT(s, connections_active, 0, 2000));
    ph_server_free(s);

    ck_assert_int_eq(lg.out_of_range, 0);
    ck_assert(ct_log_has(&lg, PH_LOG_INFO, "serving"));
    ck_assert(ct_log_has(&lg, PH_LOG_INFO, "stopped"));
    ck_assert(ct_log_has(&lg, PH_LOG_DEBUG, "accepted"));
    ck_assert(ct_log_has(&lg, PH_LOG_WARN, "exceeds the limit"));
    ck_assert_int_gt(lg.by_level[PH_LOG_DEBUG], 0);
    ck_assert_int_gt(lg.by_level[PH_LOG_WARN], 0);

    /* At PH_LOG_WARN, nothing chattier is produced. */
    ct_log_free(&lg);
    ct_log_init(&lg);
    ct_config(&cfg, name, sizeof(name), "diag-warn", &ctx, &lg);
    cfg.log_level = PH_LOG_WARN;
    cfg.limits.max_message_bytes = 1000;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ck_assert_int_eq(ph_client_transact(c, big, sizeof(big), &m, &len, 5000, 0), 0);
    ph_free(m);
    ph_client_free(c);
    ph_server_free(s);
    ck_assert_int_eq(lg.by_level[PH_LOG_INFO], 0);
    ck_assert_int_eq(lg.by_level[PH_LOG_DEBUG], 0);
    ck_assert_int_gt(lg.by_level[PH_LOG_WARN], 0);

    /* A Win32 failure names the call, the code and the system's text. */
    ct_log_free(&lg);
    ct_log_init(&lg);
    ct_config(&cfg, name, sizeof(name), "diag-w32", &ctx, &lg);
    cfg.log_level = PH_LOG_ERROR;
    cfg.sddl = "D:(A;;GA;;;XX)";
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_EBADSDDL);
    ph_server_free(s);
    ck_assert(
        ct_log_has(&lg, PH_LOG_ERROR, "ConvertStringSecurityDescriptorToSecurityDescriptorW failed: error 1336 ("));
    ck_assert_int_eq(lg.by_level[PH_LOG_INFO], 0);
    ct_log_free(&lg);
    ct_ctx_free(&ctx);
}
END_TEST

/* The log formatter must not disturb GetLastError for the code around it. */
static void last_error_clobbering_log(void *ctx, ph_log_level level, const char *message)
{
    (void)level;
    (void)message;
    InterlockedIncrement((volatile LONG *)ctx);
    SetLastError(ERROR_GEN_FAILURE); /* a host callback may do anything */
}

/* A host callback may ask for the counters: no library lock is held while it runs. */
typedef struct reentrant {
    ph_server *s;
    volatile LONG calls;
} reentrant;

static void counters_in_log(void *ctx, ph_log_level level, const char *message)
{
    reentrant *r = ctx;
    ph_counters k;

    (void)level;
    (void)message;
    if (r->s != NULL) {
        ph_counters_init(&k);
        ph_server_counters(r->s, &k);
    }
    InterlockedIncrement(&r->calls);
}

START_TEST(log_callback_may_reenter)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    reentrant r;
    ph_server *s = NULL;
    ph_client *c;
    volatile LONG n = 0;

    ct_ctx_init(&ctx);
    memset(&r, 0, sizeof(r));
    ct_config(&cfg, name, sizeof(name), "diag-reent", &ctx, NULL);
    cfg.log = counters_in_log;
    cfg.log_ctx = &r;
    cfg.log_level = PH_LOG_DEBUG;
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    r.s = s;
    ctx.server = s;
    ck_assert_int_eq(ph_server_start(s), 0);
    c = ct_connect(name);
    ct_expect_str(c, "x", "x");
    ph_client_free(c);
    ck_assert(CT_WAIT(s, connections_active, 0, 2000));
    ck_assert_int_eq(ph_server_stop(s), 0); /* logs "stopping" and "stopped" */
    ph_server_free(s);
    ck_assert_int_gt(r.calls, 3);

    /* And one that clobbers the last error does not break the server. */
    ct_config(&cfg, name, sizeof(name), "diag-lasterr", &ctx, NULL);
    cfg.log = last_error_clobbering_log;
    cfg.log_ctx = (void *)&n;
    cfg.log_level = PH_LOG_DEBUG;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ct_expect_str(c, "y", "y");
    ph_client_free(c);
    ph_server_free(s);
    ck_assert_int_gt(n, 0);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("diagnostics");
    TCase *tc;

    tc = tcase_create("server_syserror_reachable");
    tcase_add_test(tc, server_syserror_reachable);
    suite_add_tcase(s, tc);
    tc = tcase_create("client_syserror_reachable");
    tcase_add_test(tc, client_syserror_reachable);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_callback_levels");
    tcase_add_test(tc, log_callback_levels);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_callback_may_reenter");
    tcase_add_test(tc, log_callback_may_reenter);
    suite_add_tcase(s, tc);
    return s;
}
