/* test_handler.c — behaviour 4: the handler API — many requests per connection in order, no-reply, reply-and-close. */
#include "coretest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(many_requests_in_order)
{
    char name[CT_NAME_MAX], req[32];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    unsigned i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "hnd-order", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    for (i = 0; i < 300; i++) {
        snprintf(req, sizeof(req), "request %u", i);
        ct_expect_str(c, req, req);
    }
    /* Pipelined: 20 requests sent before any response is read come back one each, in order. */
    for (i = 0; i < 20; i++) {
        snprintf(req, sizeof(req), "pipelined %u", i);
        ck_assert_int_eq(ph_client_send(c, req, strlen(req), 5000), 0);
    }
    for (i = 0; i < 20; i++) {
        unsigned char *m = NULL;
        size_t len = 0;
        snprintf(req, sizeof(req), "pipelined %u", i);
        ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 0), 0);
        ck_assert_uint_eq(len, strlen(req));
        ck_assert_int_eq(memcmp(m, req, len), 0);
        ph_free(m);
    }
    ck_assert_int_eq(ctx.calls, 320);
    ck_assert_int_eq(ctx.max_active, 1); /* one connection's requests never overlap */
    ck_assert_uint_eq(CT_COUNTER(s, connections_total), 1);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* PH_NO_REPLY sends nothing and keeps the connection: the next response is the next request's. */
START_TEST(no_reply_keeps_connection)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    ph_counters k;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "hnd-norep", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ck_assert_int_eq(ph_client_send(c, "NOREPLY", 7, 5000), 0);
    ck_assert_int_eq(ph_client_send(c, "NOREPLY", 7, 5000), 0);
    ct_expect_str(c, "next", "next");
    ck_assert_int_eq(ctx.calls, 3);
    /* The server counts a write when it completes, which may be just after the client has the data. */
    ck_assert(CT_WAIT(s, bytes_out, 4, 2000));
    ph_test_sleep_ms(50);
    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    ck_assert_uint_eq(k.bytes_out, 4);
    ck_assert_uint_eq(k.connections_active, 1);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* PH_REPLY_CLOSE: the response arrives, then the connection ends, without counting as an error. */
START_TEST(reply_close_delivers_then_closes)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 0;
    int rc, i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "hnd-close", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    for (i = 0; i < 5; i++) {
        c = ct_connect(name);
        ct_expect_str(c, "CLOSE", "BYE");
        rc = ph_client_transact(c, "more", 4, &m, &len, 5000, 0);
        ck_assert_msg(rc == PH_EPIPE, "after PH_REPLY_CLOSE: %s", ph_err_name(rc));
        ph_client_free(c);
    }
    /* A client that reads the reply and leaves at once is the normal end of such a connection. */
    for (i = 0; i < 5; i++) {
        c = ct_connect(name);
        ct_expect_str(c, "CLOSE", "BYE");
        ph_client_free(c);
    }
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 0);
    ck_assert_uint_eq(CT_COUNTER(s, requests_total), 10);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* The same when the client is gone before the server even starts waiting for it to leave (the server's read
 * is held until then, so its ReadFile fails at once): still the normal end, not an error. */
START_TEST(reply_close_client_gone_first)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "hnd-gone", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    InterlockedExchange(&ct_sys_state.hold_armed, 1); /* read 1: the request; read 2: waiting for the leave */
    c = ct_connect(name);
    ct_expect_str(c, "CLOSE", "BYE");
    ck_assert_uint_eq(WaitForSingleObject(ct_sys_state.hold_reached, 5000), WAIT_OBJECT_0);
    ph_client_free(c);
    SetEvent(ct_sys_state.hold_release);
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 0);
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* A closed-after-reply client that never leaves is disconnected once the write timeout passes. */
START_TEST(reply_close_lingers_bounded)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    unsigned long long t0;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "hnd-linger", &ctx, NULL);
    cfg.limits.write_timeout_ms = 300;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    t0 = ph_test_now_ms();
    ct_expect_str(c, "CLOSE", "BYE");
    ck_assert(CT_WAIT(s, connections_active, 0, 3000));
    ck_assert_uint_ge(ph_test_now_ms() - t0, 250);
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 0);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Connection ids are unique and rising; every request of one connection carries the same id. */
START_TEST(connection_ids)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *a, *b;
    unsigned char *r1 = NULL, *r2 = NULL, *r3 = NULL;
    size_t len = 0;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "hnd-ids", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    a = ct_connect(name);
    ck_assert_int_eq(ct_transact(a, "CONN", &r1, &len, 5000), 0);
    b = ct_connect(name);
    ck_assert_int_eq(ct_transact(b, "CONN", &r2, &len, 5000), 0);
    ck_assert_int_eq(ct_transact(a, "CONN", &r3, &len, 5000), 0);
    ck_assert_str_eq((char *)r1, (char *)r3);
    ck_assert_uint_gt(strtoull((char *)r1, NULL, 10), 0);
    ck_assert_uint_gt(strtoull((char *)r2, NULL, 10), strtoull((char *)r1, NULL, 10));
    ph_free(r1);
    ph_free(r2);
    ph_free(r3);
    ph_client_free(a);
    ph_client_free(b);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

static ph_handler_result verb_ping(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                   ph_response *resp)
{
    (void)ctx;
    (void)req;
    ph_response_ok(resp, payload, len);
    return PH_REPLY;
}

/* The router is an ordinary handler: verbs over a live pipe, the bare "\r\n" of `echo VERB>` unanswered. */
START_TEST(router_over_the_pipe)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ph_router *r = NULL;
    ph_server *s;
    ph_client *c;
    unsigned char *m = NULL;
    size_t len = 0;

    ck_assert_int_eq(ph_router_new(&r), 0);
    ck_assert_int_eq(ph_router_add(r, "PING", verb_ping, NULL), 0);
    ct_config(&cfg, name, sizeof(name), "hnd-router", NULL, NULL);
    cfg.handler = ph_router_handle;
    cfg.handler_ctx = r;
    s = ct_start(&cfg, NULL);
    c = ct_connect(name);
    ct_expect_str(c, "ping hello", "OK hello");
    ck_assert_int_eq(ph_client_send(c, "PING", 4, 5000), 0);
    ck_assert_int_eq(ph_client_send(c, "\r\n", 2, 5000), 0);
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 0), 0);
    ck_assert_str_eq((char *)m, "OK ");
    ph_free(m);
    ck_assert_int_eq(ct_transact(c, "NOPE", &m, &len, 5000), 0);
    ck_assert_int_eq(strncmp((char *)m, "ERR unknown-verb ", 17), 0);
    ph_free(m);
    ph_client_free(c);
    ph_server_free(s);
    ph_router_free(r);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("handler");
    TCase *tc;

    tc = tcase_create("many_requests_in_order");
    tcase_add_test(tc, many_requests_in_order);
    suite_add_tcase(s, tc);
    tc = tcase_create("no_reply_keeps_connection");
    tcase_add_test(tc, no_reply_keeps_connection);
    suite_add_tcase(s, tc);
    tc = tcase_create("reply_close_delivers_then_closes");
    tcase_add_test(tc, reply_close_delivers_then_closes);
    suite_add_tcase(s, tc);
    tc = tcase_create("reply_close_client_gone_first");
    tcase_add_test(tc, reply_close_client_gone_first);
    suite_add_tcase(s, tc);
    tc = tcase_create("reply_close_lingers_bounded");
    tcase_add_test(tc, reply_close_lingers_bounded);
    suite_add_tcase(s, tc);
    tc = tcase_create("connection_ids");
    tcase_add_test(tc, connection_ids);
    suite_add_tcase(s, tc);
    tc = tcase_create("router_over_the_pipe");
    tcase_add_test(tc, router_over_the_pipe);
    suite_add_tcase(s, tc);
    return s;
}
