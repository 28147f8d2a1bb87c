/* test_message.c — behaviour 3: message mode, requests reassembled across ERROR_MORE_DATA, the size cap and its drain. */
#include "coretest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sends payload of n bytes (ct_fill pattern, seed) and expects it echoed exactly. */
static void echo_exact(ph_client *c, size_t n, unsigned seed)
{
    unsigned char *req = malloc(n ? n : 1);
    unsigned char *resp = NULL;
    size_t len = 0;
    int rc;

    ck_assert_ptr_nonnull(req);
    ct_fill(req, n, seed);
    rc = ph_client_transact(c, req, n, &resp, &len, 10000, 0);
    ck_assert_msg(rc == 0, "%lu-byte request: %s, Win32 error %lu", (unsigned long)n, ph_err_name(rc),
                  ph_client_syserror(c));
    ck_assert_msg(len == n, "%lu-byte request answered with %lu bytes", (unsigned long)n, (unsigned long)len);
    ck_assert_msg(ct_check(resp, len, seed), "%lu-byte request came back altered", (unsigned long)n);
    ph_free(resp);
    free(req);
}

/* A 200 KB request, many times the first read and the pipe buffer, arrives whole as one request. */
START_TEST(large_request_reassembled)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    ph_counters k;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "msg-large", &ctx, NULL);
    cfg.limits.max_message_bytes = 256 * 1024;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    echo_exact(c, 200000, 3);
    ck_assert_int_eq(ctx.calls, 1);
    ck_assert_uint_eq(ctx.last_len, 200000);
    echo_exact(c, 256 * 1024, 4); /* exactly the cap is allowed */
    ck_assert_int_eq(ctx.calls, 2);
    ck_assert_int_eq(ctx.too_large, 0);
    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    ck_assert_uint_eq(k.bytes_in, 200000 + 256 * 1024);
    ck_assert_uint_eq(k.errors_total, 0);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Sizes around the server's 4 KiB first read and its growth steps, and the default 64 KiB cap. */
START_TEST(exact_boundaries)
{
    static const size_t sizes[] = {1, 2, 4095, 4096, 4097, 8191, 8192, 8193, 16385, 65535, 65536};
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    size_t i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "msg-bounds", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    ck_assert_uint_eq(cfg.limits.max_message_bytes, 65536);
    c = ct_connect(name);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        echo_exact(c, sizes[i], (unsigned)i);
        ck_assert_uint_eq(ctx.last_len, sizes[i]);
    }
    ck_assert_int_eq(ctx.too_large, 0);
    ck_assert_int_eq(ctx.bad, 0);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* A zero-length message is a request of its own (and the empty echo a response of its own). */
START_TEST(zero_length_message)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "msg-zero", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ct_expect(c, "", 0, "", 0);
    ck_assert_int_eq(ctx.calls, 1);
    ck_assert_uint_eq(ctx.last_len, 0);
    ct_expect_str(c, "after", "after");
    ct_expect(c, "", 0, "", 0);
    ck_assert_int_eq(ctx.calls, 3);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Messages sent back to back stay separate: a byte-mode pipe would merge them into one request. */
START_TEST(back_to_back_messages_keep_boundaries)
{
    static const char *const msgs[] = {"one", "", "three 3", "four\r\n", "5"};
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    size_t i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "msg-b2b", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        ck_assert_int_eq(ph_client_send(c, msgs[i], strlen(msgs[i]), 5000), 0);
    for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        unsigned char *m = NULL;
        size_t len = 0;
        ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 0), 0);
        ck_assert_uint_eq(len, strlen(msgs[i]));
        ck_assert_int_eq(memcmp(m, msgs[i], len), 0);
        ph_free(m);
    }
    ck_assert_int_eq(ctx.calls, 5);
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Sends n bytes and returns the response (which must come), leaving the connection as the server left it. */
static unsigned char *send_oversize(ph_client *c, size_t n, size_t *len)
{
    unsigned char *req = malloc(n);
    unsigned char *resp = NULL;
    int rc;

    ck_assert_ptr_nonnull(req);
    ct_fill(req, n, 9);
    rc = ph_client_transact(c, req, n, &resp, len, 10000, 0);
    free(req);
    ck_assert_msg(rc == 0, "oversize %lu-byte request: %s, Win32 error %lu", (unsigned long)n, ph_err_name(rc),
                  ph_client_syserror(c));
    return resp;
}

/* Over the cap: the request is read to its end and discarded, answered "ERR too-large …", and that connection
 * is closed; a client connected all along is not disturbed. One byte over is over; the cap itself is not. */
START_TEST(oversize_drained_answered_closed)
{
    static const size_t over[] = {1025, 5000, 1024 * 1024};
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *bystander, *c;
    unsigned char *resp, *m = NULL;
    size_t len = 0, i;
    ph_counters k;
    int rc;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "msg-over", &ctx, NULL);
    cfg.limits.max_message_bytes = 1024;
    s = ct_start(&cfg, &ctx);
    bystander = ct_connect(name);
    ct_expect_str(bystander, "before", "before");

    c = ct_connect(name);
    echo_exact(c, 1024, 1); /* the cap itself is fine */
    ph_client_free(c);

    for (i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        c = ct_connect(name);
        resp = send_oversize(c, over[i], &len);
        ck_assert_msg(len > 14 && memcmp(resp, "ERR too-large ", 14) == 0, "oversize answered with \"%s\"", resp);
        ph_free(resp);
        /* The server closes after the answer: the next request fails with a broken pipe. */
        rc = ph_client_transact(c, "again", 5, &m, &len, 5000, 0);
        ck_assert_msg(rc == PH_EPIPE, "request after an oversize one: %s", ph_err_name(rc));
        ck_assert_int_eq(ctx.too_large, (LONG)(i + 1));
        ck_assert_uint_eq(ctx.too_large_len, over[i]); /* drained to its end, all of it seen */
        ph_client_free(c);
        ct_expect_str(bystander, "during", "during");
    }
    ck_assert_int_eq(ctx.bad, 0);
    ck_assert(CT_WAIT(s, connections_active, 1, 3000));
    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    ck_assert_uint_eq(k.errors_total, 3);
    /* Drained bytes are read bytes: the whole oversize requests count. */
    ck_assert_uint_eq(k.bytes_in, 6 + 3 * 6 + 1024 + 1025 + 5000 + 1024 * 1024);
    ph_client_free(bystander);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Limits changed at run time apply to requests read afterwards. */
START_TEST(limit_change_applies_to_new_requests)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    ph_limits l;
    unsigned char *resp;
    size_t len = 0;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "msg-setlim", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    echo_exact(c, 3000, 2);
    ph_limits_init(&l);
    ck_assert_int_eq(ph_server_get_limits(s, &l), 0);
    ck_assert_uint_eq(l.max_message_bytes, 65536);
    l.max_message_bytes = 2000;
    ck_assert_int_eq(ph_server_set_limits(s, &l), 0);
    ph_limits_init(&l);
    ck_assert_int_eq(ph_server_get_limits(s, &l), 0);
    ck_assert_uint_eq(l.max_message_bytes, 2000);
    /* The next request is under the new limit, even on this connection whose read was already posted. */
    resp = send_oversize(c, 3000, &len);
    ck_assert_int_eq(memcmp(resp, "ERR too-large ", 14), 0);
    ph_free(resp);
    ph_client_free(c);
    c = ct_connect(name);
    echo_exact(c, 2000, 5);
    ph_client_free(c);
    l.max_message_bytes = 0;
    ck_assert_int_eq(ph_server_set_limits(s, &l), PH_EINVAL);
    ph_limits_init(&l);
    ck_assert_int_eq(ph_server_get_limits(s, &l), 0);
    ck_assert_uint_eq(l.max_message_bytes, 2000);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Every instance is created in message mode (type and read mode), as read back from the live handles. */
START_TEST(message_mode_read_back)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *a, *b;
    HANDLE raw;
    DWORD flags = 0;
    LONG i, n;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "msg-flags", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* refills create instances: more records to check */
    s = ct_start(&cfg, &ctx);
    a = ct_connect(name);
    b = ct_connect(name);
    ct_expect_str(a, "a", "a");
    ct_expect_str(b, "b", "b");
    ck_assert(CT_WAIT(s, instances_pending, 2, 2000));
    n = ct_sys_state.npipes;
    ck_assert_int_ge(n, 4); /* two at start, two refills */
    for (i = 0; i < n && i < CT_PIPE_RECORDS; i++) {
        const ct_pipe_record *r = &ct_sys_state.pipes[i];
        ck_assert(r->created);
        ck_assert_uint_eq(r->pipe_mode & (PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE),
                          PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE);
        ck_assert_uint_eq(r->open_mode & (PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED),
                          PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED);
        ck_assert_uint_eq(r->info_flags, PIPE_SERVER_END | PIPE_TYPE_MESSAGE);
        ck_assert_uint_eq(r->state & PIPE_READMODE_MESSAGE, PIPE_READMODE_MESSAGE);
        ck_assert_uint_eq(r->in_size, 65536);
        ck_assert_uint_eq(r->out_size, 65536);
    }
    /* And from the client's side of a live connection. */
    raw = ct_raw_connect(name, GENERIC_READ, 0);
    ck_assert(raw != INVALID_HANDLE_VALUE);
    ck_assert(GetNamedPipeInfo(raw, &flags, NULL, NULL, NULL));
    ck_assert_uint_eq(flags, PIPE_CLIENT_END | PIPE_TYPE_MESSAGE);
    CloseHandle(raw);
    ph_client_free(a);
    ph_client_free(b);
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("message");
    TCase *tc;

    tc = tcase_create("large_request_reassembled");
    tcase_add_test(tc, large_request_reassembled);
    suite_add_tcase(s, tc);
    tc = tcase_create("exact_boundaries");
    tcase_add_test(tc, exact_boundaries);
    suite_add_tcase(s, tc);
    tc = tcase_create("zero_length_message");
    tcase_add_test(tc, zero_length_message);
    suite_add_tcase(s, tc);
    tc = tcase_create("back_to_back_messages_keep_boundaries");
    tcase_add_test(tc, back_to_back_messages_keep_boundaries);
    suite_add_tcase(s, tc);
    tc = tcase_create("oversize_drained_answered_closed");
    tcase_add_test(tc, oversize_drained_answered_closed);
    suite_add_tcase(s, tc);
    tc = tcase_create("limit_change_applies_to_new_requests");
    tcase_add_test(tc, limit_change_applies_to_new_requests);
    suite_add_tcase(s, tc);
    tc = tcase_create("message_mode_read_back");
    tcase_add_test(tc, message_mode_read_back);
    suite_add_tcase(s, tc);
    return s;
}
