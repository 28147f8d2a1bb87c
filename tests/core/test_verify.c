/* test_verify.c — the client verifies the server's account before sending anything (squatting defence). */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

/* Under Wine every process runs as one user, so "our own SID" is the server's account, and any other SID is
 * the account a squatter would not have. */
START_TEST(required_sid_matches)
{
    char name[CT_NAME_MAX], me[200];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c = NULL;

    ct_self_sid(me, sizeof(me));
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "verify-ok", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_str_eq(ph_client_server_account(c), "");
    ck_assert_int_eq(ph_client_require_server(c, me), 0);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), 0);
    ck_assert_str_eq(ph_client_server_account(c), me);
    ct_expect_str(c, "hello", "hello");
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

START_TEST(other_sid_refused_before_sending)
{
    char name[CT_NAME_MAX], me[200];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c = NULL;
    int rc;

    ct_self_sid(me, sizeof(me));
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "verify-other", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_require_server(c, "s-1-5-21-1-2-3-4"), 0);
    rc = ph_client_connect(c, name, 5000, 0);
    ck_assert_msg(rc == PH_EUNTRUSTED, "connect: %s", ph_err_name(rc));
    ck_assert_str_eq(ph_strerror(rc), "the pipe's server does not run as the required account");
    ck_assert_str_eq(ph_client_server_account(c), me);
    /* Not connected: nothing can be sent, and the server never saw a request. */
    ck_assert_int_eq(ph_client_send(c, "x", 1, 1000), PH_ESTATE);
    ck_assert_uint_eq(CT_COUNTER(s, requests_total), 0);
    /* Back to the default (a service account): we are not one either. */
    ck_assert_int_eq(ph_client_require_server(c, NULL), 0);
    rc = ph_client_connect(c, name, 5000, PH_CLIENT_VERIFY_SERVER);
    if (strcmp(me, "S-1-5-18") != 0)
        ck_assert_msg(rc == PH_EUNTRUSTED, "connect with PH_CLIENT_VERIFY_SERVER: %s", ph_err_name(rc));
    /* Without verification the same server is fine. */
    ck_assert_int_eq(ph_client_connect(c, name, 5000, 0), 0);
    ct_expect_str(c, "hi", "hi");
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* ph_client_require_server_pid: only that process may serve the pipe, whatever account it runs as; the
 * refusal comes before anything is sent, and ph_client_server_pid names the process that was seen. */
START_TEST(required_pid)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c = NULL;
    unsigned long me = (unsigned long)GetCurrentProcessId();
    int rc;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "verify-pid", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_uint_eq(ph_client_server_pid(c), 0);
    ck_assert_int_eq(ph_client_require_server_pid(c, me + 4), 0);
    rc = ph_client_connect(c, name, 5000, PH_CLIENT_VERIFY_SERVER);
    ck_assert_msg(rc == PH_EUNTRUSTED, "connect: %s", ph_err_name(rc));
    ck_assert_uint_eq(ph_client_server_pid(c), me);
    ck_assert_int_eq(ph_client_send(c, "x", 1, 1000), PH_ESTATE);
    ck_assert_uint_eq(CT_COUNTER(s, requests_total), 0);
    ck_assert_int_eq(ph_client_require_server_pid(c, me), 0);
    ck_assert_int_eq(ph_client_connect(c, name, 5000, PH_CLIENT_VERIFY_SERVER), 0);
    ck_assert_uint_eq(ph_client_server_pid(c), me);
    ct_expect_str(c, "hello", "hello");
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

START_TEST(require_bad_sid)
{
    ph_client *c = NULL;

    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_require_server(c, "SYSTEM"), PH_EINVAL);
    ck_assert_int_eq(ph_client_require_server(c, "S-1-x"), PH_EINVAL);
    ck_assert_int_eq(ph_client_require_server(NULL, "S-1-5-18"), PH_EINVAL);
    ck_assert_int_eq(ph_client_require_server(c, "S-1-5-18"), 0);
    ph_client_free(c);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("verify");
    TCase *tc;

    tc = tcase_create("required_sid_matches");
    tcase_add_test(tc, required_sid_matches);
    suite_add_tcase(s, tc);
    tc = tcase_create("other_sid_refused_before_sending");
    tcase_add_test(tc, other_sid_refused_before_sending);
    suite_add_tcase(s, tc);
    tc = tcase_create("required_pid");
    tcase_add_test(tc, required_pid);
    suite_add_tcase(s, tc);
    tc = tcase_create("require_bad_sid");
    tcase_add_test(tc, require_bad_sid);
    suite_add_tcase(s, tc);
    return s;
}
