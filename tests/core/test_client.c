/* test_client.c — the client: connect with a deadline and busy-retry, SQOS, transact, reassembly, clear errors. */
#include "coretest.h"

#include <sddl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(connect_missing_pipe_fails_fast)
{
    char name[CT_NAME_MAX];
    ph_client *c = NULL;
    unsigned long long t0, took;

    ph_test_pipe_name(name, sizeof(name), "cli-missing");
    ck_assert_int_eq(ph_client_new(&c), 0);
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), PH_ENOTFOUND);
    took = ph_test_now_ms() - t0;
    ck_assert_uint_lt(took, 1000); /* not the 5 s deadline: a missing pipe is not a busy one */
    ck_assert_uint_eq(ph_client_syserror(c), ERROR_FILE_NOT_FOUND);
    ph_client_free(c);
}
END_TEST

/* The only instance is held by another client: the connect waits for its deadline, then PH_ETIMEDOUT. */
START_TEST(connect_busy_times_out)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *hold, *c = NULL;
    unsigned long long t0, took;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cli-busy", &ctx, NULL);
    cfg.max_instances = 1;
    cfg.pending_instances = 1;
    s = ct_start(&cfg, &ctx);
    hold = ct_connect(name);
    ct_expect_str(hold, "mine", "mine");
    ck_assert_int_eq(ph_client_new(&c), 0);
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ph_client_connect(c, name, 400, 0), PH_ETIMEDOUT);
    took = ph_test_now_ms() - t0;
    printf("busy connect gave up after %llu ms (deadline 400)\n", took);
    ck_assert_uint_ge(took, 350);
    ck_assert_uint_lt(took, 2000);
    /* A zero deadline tries once. */
    ck_assert_int_eq(ph_client_connect(c, name, 0, 0), PH_ETIMEDOUT);
    ph_client_free(c);
    ph_client_free(hold);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

typedef struct releaser {
    ph_client *hold;
    unsigned delay_ms;
} releaser;

static void release_later(void *arg, unsigned index)
{
    releaser *r = arg;

    (void)index;
    Sleep(r->delay_ms);
    ph_client_free(r->hold);
}

/* Busy, then free before the deadline: the connect succeeds as soon as the instance is released. */
START_TEST(connect_busy_then_released)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c = NULL;
    releaser r;
    ct_threads *t;
    unsigned long long t0, took;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cli-retry", &ctx, NULL);
    cfg.max_instances = 1;
    cfg.pending_instances = 1;
    s = ct_start(&cfg, &ctx);
    r.hold = ct_connect(name);
    r.delay_ms = 300;
    ct_expect_str(r.hold, "mine", "mine");
    ck_assert_int_eq(ph_client_new(&c), 0);
    t0 = ph_test_now_ms();
    t = ct_spawn(1, release_later, &r);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), 0);
    took = ph_test_now_ms() - t0;
    printf("busy connect succeeded after %llu ms (released at 300)\n", took);
    ck_assert_uint_ge(took, 250);
    ck_assert_uint_lt(took, 3000);
    ck_assert(ct_join(t, 5000));
    ct_expect_str(c, "finally", "finally");
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* After the server is gone, a transact on the old connection is a broken pipe; then the client is unusable
 * (PH_ESTATE) until it connects again. */
START_TEST(transact_after_server_closed)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 0;
    int rc;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cli-gone", &ctx, NULL);
    cfg.limits.drain_timeout_ms = 200;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ct_expect_str(c, "before", "before");
    ph_server_free(s);
    rc = ph_client_transact(c, "after", 5, &m, &len, 2000, 0);
    ck_assert_msg(rc == PH_EPIPE, "transact after the server closed: %s (Win32 %lu)", ph_err_name(rc),
                  ph_client_syserror(c));
    ck_assert_ptr_null(m);
    ck_assert_int_eq(ph_client_transact(c, "again", 5, &m, &len, 2000, 0), PH_ESTATE);
    /* A fresh server under the same name: the same client object reconnects. */
    ctx.server = NULL;
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), 0);
    ct_expect_str(c, "back", "back");
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* A response over max_response is PH_ETOOBIG (the rest is not read, so the connection is then unusable); at
 * exactly max_response it is fine. */
START_TEST(response_too_big)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 0;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cli-toobig", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ck_assert_int_eq(ph_client_transact(c, "BIG 1000", 8, &m, &len, 5000, 1000), 0);
    ck_assert_uint_eq(len, 1000);
    ck_assert(ct_check(m, len, 0));
    ph_free(m);
    ck_assert_int_eq(ph_client_transact(c, "BIG 1001", 8, &m, &len, 5000, 1000), PH_ETOOBIG);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(ph_client_transact(c, "BIG 100000", 10, &m, &len, 5000, 1000), PH_ETOOBIG);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(ph_client_transact(c, "x", 1, &m, &len, 5000, 0), PH_ESTATE);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Responses many times the pipe buffer are reassembled whole, and NUL-terminated for convenience. */
START_TEST(large_response_reassembled)
{
    static const size_t sizes[] = {0, 1, 4095, 4096, 4097, 65536, 65537, 3 * 1024 * 1024 + 7};
    char name[CT_NAME_MAX], req[32];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    size_t i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cli-large", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *m = NULL;
        size_t len = 1;
        snprintf(req, sizeof(req), "BIG %zu", sizes[i]);
        ck_assert_int_eq(ct_transact(c, req, &m, &len, 10000), 0);
        ck_assert_uint_eq(len, sizes[i]);
        ck_assert(ct_check(m, len, 0));
        ck_assert_int_eq(m[len], 0);
        ph_free(m);
    }
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* A response that does not come within the deadline is PH_ETIMEDOUT, in about that time. */
START_TEST(transact_times_out)
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
    ct_config(&cfg, name, sizeof(name), "cli-slow", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ct_transact(c, "SLEEP 1500", &m, &len, 300), PH_ETIMEDOUT);
    took = ph_test_now_ms() - t0;
    ck_assert_uint_ge(took, 250);
    ck_assert_uint_lt(took, 1200);
    ck_assert_ptr_null(m);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

START_TEST(bad_arguments_and_state)
{
    ph_client *c = NULL;
    unsigned char *m = NULL;
    size_t len = 0;

    ck_assert_int_eq(ph_client_new(NULL), PH_EINVAL);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_transact(c, "x", 1, &m, &len, 100, 0), PH_ESTATE);
    ck_assert_int_eq(ph_client_send(c, "x", 1, 100), PH_ESTATE);
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 100, 0), PH_ESTATE);
    ck_assert_int_eq(ph_client_connect(c, NULL, 100, 0), PH_EINVAL);
    ck_assert_int_eq(ph_client_connect(NULL, "x", 100, 0), PH_EINVAL);
    ck_assert_int_eq(ph_client_connect(c, "\\\\otherhost\\pipe\\x", 100, 0), PH_EBADNAME);
    ck_assert_int_eq(ph_client_connect(c, "", 100, 0), PH_EBADNAME);
    ck_assert_int_eq(ph_client_transact(c, "x", 1, NULL, &len, 100, 0), PH_EINVAL);
    ck_assert_int_eq(ph_client_send(c, NULL, 1, 100), PH_EINVAL);
    ph_client_free(c);
    ph_client_free(NULL);
}
END_TEST

/* By construction: the client opens with SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION unless asked to allow
 * impersonation, and asks for read/write only. */
START_TEST(sqos_identification_by_default)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c = NULL;
    const DWORD level_mask =
        SECURITY_ANONYMOUS | SECURITY_IDENTIFICATION | SECURITY_IMPERSONATION | SECURITY_DELEGATION;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cli-sqos", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), 0);
    ck_assert_int_ge(ct_sys_state.nopens, 1);
    ck_assert_uint_ne(ct_sys_state.open_flags & SECURITY_SQOS_PRESENT, 0);
    ck_assert_uint_eq(ct_sys_state.open_flags & level_mask, SECURITY_IDENTIFICATION);
    ck_assert_uint_eq(ct_sys_state.open_access, GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES);
    ct_expect_str(c, "x", "x");
    ck_assert_int_eq(ph_client_connect(c, name, 5000, PH_CLIENT_IMPERSONATION), 0);
    ck_assert_uint_ne(ct_sys_state.open_flags & SECURITY_SQOS_PRESENT, 0);
    ck_assert_uint_eq(ct_sys_state.open_flags & level_mask, SECURITY_IMPERSONATION);
    ct_expect_str(c, "y", "y");
    ph_client_free(c);
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* What the client asks for at open is granted by the default descriptor's entry for ordinary users
 * (Authenticated Users, which this process's token holds; the entries for Administrators and the rest are
 * left out, since the test may run as one). GENERIC_WRITE would not be: it includes FILE_CREATE_PIPE_INSTANCE,
 * which that entry withholds. Wine does not check pipe opens against the DACL, so the check is AccessCheck's. */
START_TEST(client_access_fits_the_default_descriptor)
{
    static const char users_only[] = "O:SYG:SYD:P(A;;0x12019b;;;AU)"; /* AccessCheck wants an owner */
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c = NULL;

    ck_assert_msg(strstr(PH_DEFAULT_SDDL, "(A;;0x12019b;;;AU)") != NULL, "the default descriptor changed");
    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "cli-access", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), 0);
    ck_assert_msg(ph_test_descriptor_grants(users_only, ct_sys_state.open_access),
                  "an ordinary user would be refused the client's access 0x%lx", ct_sys_state.open_access);
    ck_assert_msg(!ph_test_descriptor_grants(users_only, GENERIC_READ | GENERIC_WRITE),
                  "GENERIC_WRITE granted: the entry lets users create instances");
    ck_assert_int_eq(ph_client_connect(c, name, 5000, PH_CLIENT_LENGTH_FRAMING) == PH_EINVAL, 1);
    ck_assert_msg(ph_test_descriptor_grants(users_only, ct_sys_state.open_access), "length framing asks for more");
    ph_client_free(c);
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* The system's side: a default client gives the server an identification-level token only. */
START_TEST(server_gets_identification_token)
{
    char name[CT_NAME_MAX], full[CT_NAME_MAX + 16];
    wchar_t wname[CT_NAME_MAX + 16];
    HANDLE srv, token = NULL;
    ph_client *c = NULL;
    OVERLAPPED ov;
    SECURITY_IMPERSONATION_LEVEL level = SecurityAnonymous;
    DWORD got = 0, n = 0;
    char buf[16];
    size_t i;

    if (ph_test_on_wine())
        ph_test_skip("Wine ignores SQOS impersonation levels: an IDENTIFICATION client still gives an impersonation "
                     "token (WINE.md)");
    ph_test_pipe_name(name, sizeof(name), "cli-level");
    ck_assert_int_eq(ph_pipe_name_normalize(name, full, sizeof(full)), 0);
    for (i = 0; full[i] != '\0'; i++)
        wname[i] = (wchar_t)full[i];
    wname[i] = L'\0';
    srv = CreateNamedPipeW(wname, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE,
                           1, 4096, 4096, 0, NULL);
    ck_assert(srv != INVALID_HANDLE_VALUE);
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ConnectNamedPipe(srv, &ov);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), 0);
    ck_assert_uint_eq(WaitForSingleObject(ov.hEvent, 5000), WAIT_OBJECT_0);
    ck_assert_int_eq(ph_client_send(c, "hi", 2, 5000), 0);
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ReadFile(srv, buf, sizeof(buf), NULL, &ov))
        ck_assert_uint_eq(GetLastError(), ERROR_IO_PENDING);
    ck_assert(GetOverlappedResult(srv, &ov, &n, TRUE));
    ck_assert(ImpersonateNamedPipeClient(srv));
    ck_assert(OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &token));
    ck_assert(GetTokenInformation(token, TokenImpersonationLevel, &level, sizeof(level), &got));
    ck_assert(RevertToSelf());
    ck_assert_int_eq(level, SecurityIdentification);
    CloseHandle(token);
    ph_client_free(c);
    CloseHandle(srv);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc;

    tc = tcase_create("connect_missing_pipe_fails_fast");
    tcase_add_test(tc, connect_missing_pipe_fails_fast);
    suite_add_tcase(s, tc);
    tc = tcase_create("connect_busy_times_out");
    tcase_add_test(tc, connect_busy_times_out);
    suite_add_tcase(s, tc);
    tc = tcase_create("connect_busy_then_released");
    tcase_add_test(tc, connect_busy_then_released);
    suite_add_tcase(s, tc);
    tc = tcase_create("transact_after_server_closed");
    tcase_add_test(tc, transact_after_server_closed);
    suite_add_tcase(s, tc);
    tc = tcase_create("response_too_big");
    tcase_add_test(tc, response_too_big);
    suite_add_tcase(s, tc);
    tc = tcase_create("large_response_reassembled");
    tcase_add_test(tc, large_response_reassembled);
    suite_add_tcase(s, tc);
    tc = tcase_create("transact_times_out");
    tcase_add_test(tc, transact_times_out);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_arguments_and_state");
    tcase_add_test(tc, bad_arguments_and_state);
    suite_add_tcase(s, tc);
    tc = tcase_create("sqos_identification_by_default");
    tcase_add_test(tc, sqos_identification_by_default);
    suite_add_tcase(s, tc);
    tc = tcase_create("client_access_fits_the_default_descriptor");
    tcase_add_test(tc, client_access_fits_the_default_descriptor);
    suite_add_tcase(s, tc);
    tc = tcase_create("server_gets_identification_token");
    tcase_add_test(tc, server_gets_identification_token);
    suite_add_tcase(s, tc);
    return s;
}
