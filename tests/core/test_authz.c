/* test_authz.c — per-verb authorization: the router checks the client's token against a verb's SDDL before calling it. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

static volatile LONG g_calls;

static ph_handler_result verb_count(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                    ph_response *resp)
{
    (void)ctx;
    (void)req;
    InterlockedIncrement(&g_calls);
    ph_response_ok(resp, payload, len);
    return PH_REPLY;
}

typedef struct authz {
    char name[CT_NAME_MAX];
    char me[200];
    ph_router *router;
    ph_server *server;
    ct_log log;
} authz;

/* A router with OPEN (unrestricted), MINE (granted to our own SID), OTHER (granted only to another SID),
 * DENIED (everyone allowed, our SID denied first) and WORLD (GX to Everyone); served on a fresh pipe. */
static void authz_start(authz *a)
{
    ph_server_config cfg;
    char sddl[400];

    ct_self_sid(a->me, sizeof(a->me));
    ck_assert_int_eq(ph_router_new(&a->router), 0);
    ck_assert_int_eq(ph_router_add(a->router, "OPEN", verb_count, NULL), 0);
    ck_assert_int_eq(ph_router_add(a->router, "MINE", verb_count, NULL), 0);
    ck_assert_int_eq(ph_router_add(a->router, "OTHER", verb_count, NULL), 0);
    ck_assert_int_eq(ph_router_add(a->router, "DENIED", verb_count, NULL), 0);
    ck_assert_int_eq(ph_router_add(a->router, "WORLD", verb_count, NULL), 0);
    snprintf(sddl, sizeof(sddl), "D:(A;;0x1;;;%s)", a->me);
    ck_assert_int_eq(ph_router_restrict(a->router, "mine", sddl), 0); /* verbs match case-insensitively */
    ck_assert_int_eq(ph_router_restrict(a->router, "OTHER", "D:(A;;GA;;;S-1-5-21-1-2-3-4)"), 0);
    snprintf(sddl, sizeof(sddl), "D:(D;;GA;;;%s)(A;;GA;;;WD)", a->me);
    ck_assert_int_eq(ph_router_restrict(a->router, "DENIED", sddl), 0);
    ck_assert_int_eq(ph_router_restrict(a->router, "WORLD", "D:(A;;GX;;;WD)"), 0);
    ct_log_init(&a->log);
    ct_config(&cfg, a->name, sizeof(a->name), "authz", NULL, &a->log);
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = a->router;
    a->server = ct_start(&cfg, NULL);
}

static void authz_stop(authz *a)
{
    ph_server_free(a->server);
    ph_router_free(a->router);
    ct_log_free(&a->log);
}

static void expect_forbidden(ph_client *c, const char *req, const char *verb)
{
    unsigned char *m = NULL;
    size_t len = 0;
    char want[100];

    ck_assert_int_eq(ct_transact(c, req, &m, &len, 5000), 0);
    snprintf(want, sizeof(want), "ERR forbidden you are not allowed to call %s", verb);
    ck_assert_msg(strcmp((char *)m, want) == 0, "%s: got \"%s\"", req, (char *)m);
    ph_free(m);
}

START_TEST(allowed_and_denied_by_sid)
{
    authz a;
    ph_client *c;
    char logged[300];

    g_calls = 0;
    authz_start(&a);
    c = ct_connect(a.name);
    ct_expect_str(c, "OPEN a", "OK a");
    ct_expect_str(c, "MINE b", "OK b");
    ct_expect_str(c, "world c", "OK c");
    ck_assert_int_eq(g_calls, 3);
    expect_forbidden(c, "OTHER x", "OTHER");
    expect_forbidden(c, "denied y", "DENIED");
    /* A forbidden verb is never called, and the connection stays usable. */
    ck_assert_int_eq(g_calls, 3);
    ct_expect_str(c, "MINE d", "OK d");
    ck_assert_int_eq(g_calls, 4);
    /* Each denial is logged with the client's SID. */
    snprintf(logged, sizeof(logged), "OTHER forbidden for user %s", a.me);
    ck_assert_msg(ct_log_has(&a.log, PH_LOG_WARN, logged), "no warning \"%s\"", logged);
    snprintf(logged, sizeof(logged), "DENIED forbidden for user %s", a.me);
    ck_assert_msg(ct_log_has(&a.log, PH_LOG_WARN, logged), "no warning \"%s\"", logged);
    ph_client_free(c);
    authz_stop(&a);
}
END_TEST

/* Replacing a restricted verb's function keeps the restriction; a new restriction replaces the old one. */
START_TEST(restriction_survives_replace)
{
    authz a;
    ph_client *c;
    char sddl[300];

    g_calls = 0;
    authz_start(&a);
    ck_assert_int_eq(ph_router_add(a.router, "OTHER", verb_count, NULL), 0);
    c = ct_connect(a.name);
    expect_forbidden(c, "OTHER", "OTHER");
    snprintf(sddl, sizeof(sddl), "D:(A;;GA;;;%s)", a.me);
    ck_assert_int_eq(ph_router_restrict(a.router, "OTHER", sddl), 0);
    ct_expect_str(c, "OTHER z", "OK z");
    ph_client_free(c);
    authz_stop(&a);
}
END_TEST

START_TEST(restrict_bad_arguments)
{
    ph_router *r = NULL;

    ck_assert_int_eq(ph_router_new(&r), 0);
    ck_assert_int_eq(ph_router_add(r, "PING", verb_count, NULL), 0);
    ck_assert_int_eq(ph_router_restrict(r, "NOPE", "D:(A;;GA;;;WD)"), PH_EINVAL);
    ck_assert_int_eq(ph_router_restrict(r, "", "D:(A;;GA;;;WD)"), PH_EINVAL);
    ck_assert_int_eq(ph_router_restrict(NULL, "PING", "D:(A;;GA;;;WD)"), PH_EINVAL);
    ck_assert_int_eq(ph_router_restrict(r, "PING", NULL), PH_EINVAL);
    /* The checker's rules: a NULL or empty DACL would open or close the verb by accident. */
    ck_assert_int_eq(ph_router_restrict(r, "PING", "D:NO_ACCESS_CONTROL"), PH_EBADSDDL);
    ck_assert_int_eq(ph_router_restrict(r, "PING", "D:"), PH_EBADSDDL);
    ck_assert_int_eq(ph_router_restrict(r, "PING", "O:SY"), PH_EBADSDDL);
    ck_assert_int_eq(ph_router_restrict(r, "PING", "garbage"), PH_EBADSDDL);
    ph_router_free(r);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("authz");
    TCase *tc;

    tc = tcase_create("allowed_and_denied_by_sid");
    tcase_add_test(tc, allowed_and_denied_by_sid);
    suite_add_tcase(s, tc);
    tc = tcase_create("restriction_survives_replace");
    tcase_add_test(tc, restriction_survives_replace);
    suite_add_tcase(s, tc);
    tc = tcase_create("restrict_bad_arguments");
    tcase_add_test(tc, restrict_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
