/* test_router.c — the verb router: splitting, case-insensitive matching, CRLF handling, unknown verbs, table growth. */
#include "testsupport.h"

#include <pipehost/pipehost.h>
#include <stdio.h>
#include <string.h>

static ph_handler_result verb_echo(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                   ph_response *resp)
{
    (void)ctx;
    (void)req;
    ph_response_ok(resp, payload, len);
    return PH_REPLY;
}

/* The response a router gives to one request, as a ph_response the test can inspect. */
static ph_handler_result route(ph_router *r, const void *data, size_t len, unsigned flags, ph_response **out);

START_TEST(split_and_match)
{
    ph_router *r = NULL;
    ph_response *resp = NULL;
    ck_assert_int_eq(ph_router_new(&r), 0);
    ck_assert_int_eq(ph_router_add(r, "ECHO", verb_echo, NULL), 0);
    ck_assert_int_eq(route(r, "echo hi there", 13, 0, &resp), PH_REPLY);
    ck_assert_uint_eq(ph_response_len(resp), 11);
    ck_assert_mem_eq(ph_response_data(resp), "OK hi there", 11);
    ck_assert_int_eq(route(r, "EcHo\r\n", 6, 0, &resp), PH_REPLY);
    ck_assert_str_eq((const char *)ph_response_data(resp), "OK ");
    ck_assert_int_eq(route(r, "\r\n", 2, 0, &resp), PH_NO_REPLY);
    ck_assert_int_eq(route(r, "NOPE x", 6, 0, &resp), PH_REPLY);
    ck_assert_int_eq(strncmp((const char *)ph_response_data(resp), "ERR unknown-verb ", 17), 0);
    ck_assert_int_eq(route(r, "x", 1, PH_REQ_TOO_LARGE, &resp), PH_REPLY_CLOSE);
    ck_assert_int_eq(strncmp((const char *)ph_response_data(resp), "ERR too-large ", 14), 0);
    ph_router_free(r);
}
END_TEST

/* route() keeps one response object alive across calls; the library has no public constructor for it, so
 * the test builds one through the router itself. */
#include "../../core/src/ph_internal.h"
static struct ph_response g_resp;
static ph_handler_result route(ph_router *r, const void *data, size_t len, unsigned flags, ph_response **out)
{
    ph_request req;
    memset(&req, 0, sizeof(req));
    req.data = data;
    req.len = len;
    req.flags = flags;
    req.max_message_bytes = 10;
    ph_response_clear(&g_resp);
    *out = &g_resp;
    return ph_router_handle(r, &req, &g_resp);
}

static ph_handler_result verb_tag(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                  ph_response *resp)
{
    (void)req;
    (void)payload;
    (void)len;
    ph_response_appendf(resp, "%s", (const char *)ctx);
    return PH_REPLY;
}

START_TEST(table_growth_and_replace)
{
    static const char *const tags[20] = {"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9",
                                         "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19"};
    ph_router *r = NULL;
    ph_response *resp = NULL;
    char verb[16];
    int i;

    ck_assert_int_eq(ph_router_new(&r), 0);
    /* More verbs than the first table allocation holds: every one stays reachable after each growth. */
    for (i = 0; i < 20; i++) {
        snprintf(verb, sizeof(verb), "VERB%d", i);
        ck_assert_int_eq(ph_router_add(r, verb, verb_tag, (void *)tags[i]), 0);
    }
    for (i = 0; i < 20; i++) {
        snprintf(verb, sizeof(verb), "verb%d", i);
        ck_assert_int_eq(route(r, verb, strlen(verb), 0, &resp), PH_REPLY);
        ck_assert_str_eq((const char *)ph_response_data(resp), tags[i]);
    }
    /* Adding an existing verb (in any case) replaces it rather than shadowing it. */
    ck_assert_int_eq(ph_router_add(r, "verb3", verb_tag, (void *)"new"), 0);
    ck_assert_int_eq(route(r, "VERB3 x", 7, 0, &resp), PH_REPLY);
    ck_assert_str_eq((const char *)ph_response_data(resp), "new");
    /* A verb is matched whole: a prefix or an extension of a known verb is unknown. */
    ck_assert_int_eq(route(r, "VERB", 4, 0, &resp), PH_REPLY);
    ck_assert_int_eq(strncmp((const char *)ph_response_data(resp), "ERR unknown-verb ", 17), 0);
    ck_assert_int_eq(route(r, "VERB199", 7, 0, &resp), PH_REPLY);
    ck_assert_int_eq(strncmp((const char *)ph_response_data(resp), "ERR unknown-verb ", 17), 0);
    ph_router_free(r);
}
END_TEST

START_TEST(invalid_verbs_and_requests)
{
    static const char *const bad[] = {"", "HAS SPACE", "TAB\there", "NL\n", "DEL\x7f", "HIGH\xc3\xa9",
                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"}; /* 33 characters: one too many */
    static const char evil[] = "EVIL\r\nERR\x01" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    ph_router *r = NULL;
    ph_response *resp = NULL;
    const char *text;
    size_t i;

    ck_assert_int_eq(ph_router_new(&r), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(ph_router_add(r, bad[i], verb_echo, NULL) == PH_EINVAL, "accepted bad verb #%lu",
                      (unsigned long)i);
    ck_assert_int_eq(ph_router_add(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", verb_echo, NULL), 0); /* 32: the most */
    ck_assert_int_eq(ph_router_add(r, NULL, verb_echo, NULL), PH_EINVAL);
    ck_assert_int_eq(ph_router_add(r, "X", NULL, NULL), PH_EINVAL);
    ck_assert_int_eq(ph_router_add(NULL, "X", verb_echo, NULL), PH_EINVAL);
    ck_assert_int_eq(ph_router_new(NULL), PH_EINVAL);

    ck_assert_int_eq(route(r, "", 0, 0, &resp), PH_REPLY);
    ck_assert_int_eq(strncmp((const char *)ph_response_data(resp), "ERR empty-request ", 18), 0);
    ck_assert_int_eq(route(r, "\n", 1, 0, &resp), PH_NO_REPLY);
    /* An unknown verb is echoed in the error sanitised and cut, so a hostile request cannot forge lines. */
    ck_assert_int_eq(route(r, evil, sizeof(evil) - 1, 0, &resp), PH_REPLY);
    text = (const char *)ph_response_data(resp);
    ck_assert_int_eq(strncmp(text, "ERR unknown-verb ", 17), 0);
    ck_assert_ptr_null(strchr(text, '\n'));
    ck_assert_ptr_null(strchr(text, '\x01'));
    ck_assert_uint_lt(strlen(text), 17 + 2 + 32 + 3 + 30);
    ph_router_free(r);
    ph_router_free(NULL);
}
END_TEST

/* ph_router_restrict: only verbs that exist; without Win32 (the native build) there is no AccessCheck, so a
 * restriction is refused rather than silently ignored. The Win32 behaviour is in test_authz. */
START_TEST(restrict_arguments)
{
    ph_router *r = NULL;

    ck_assert_int_eq(ph_router_new(&r), 0);
    ck_assert_int_eq(ph_router_add(r, "PING", verb_echo, NULL), 0);
    ck_assert_int_eq(ph_router_restrict(r, "PONG", "D:(A;;GA;;;WD)"), PH_EINVAL);
    ck_assert_int_eq(ph_router_restrict(r, "PING", NULL), PH_EINVAL);
    ck_assert_int_eq(ph_router_restrict(NULL, "PING", "D:(A;;GA;;;WD)"), PH_EINVAL);
#if defined(_WIN32)
    ck_assert_int_eq(ph_router_restrict(r, "ping", "D:(A;;GA;;;WD)"), 0);
#else
    ck_assert_int_eq(ph_router_restrict(r, "ping", "D:(A;;GA;;;WD)"), PH_ENOTSUP);
#endif
    ph_router_free(r);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("split_and_match");
    tcase_add_test(tc, split_and_match);
    suite_add_tcase(s, tc);
    tc = tcase_create("table_growth_and_replace");
    tcase_add_test(tc, table_growth_and_replace);
    suite_add_tcase(s, tc);
    tc = tcase_create("invalid_verbs_and_requests");
    tcase_add_test(tc, invalid_verbs_and_requests);
    suite_add_tcase(s, tc);
    tc = tcase_create("restrict_arguments");
    tcase_add_test(tc, restrict_arguments);
    suite_add_tcase(s, tc);
    return s;
}
