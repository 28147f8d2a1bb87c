/* test_disconnect.c — clients that leave at awkward moments: before a word, mid-request, while being answered. */
#include "coretest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Connect and leave without sending: an accepted connection, closed normally, and the server goes on. */
START_TEST(connect_and_leave)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    uint64_t total;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "dis-silent", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    /* Leaving once the server has accepted. */
    for (i = 0; i < 25; i++) {
        HANDLE raw = ct_raw_connect(name, GENERIC_READ | GENERIC_WRITE, 0);
        ck_assert(raw != INVALID_HANDLE_VALUE);
        ck_assert(CT_WAIT(s, connections_total, i + 1, 2000));
        CloseHandle(raw);
    }
    ck_assert(CT_WAIT(s, connections_active, 0, 5000));
    /* Leaving at once: a client that opens an instance before the server listens on it and is gone by then
     * is never accepted (ERROR_NO_DATA), so it may or may not be counted. */
    for (i = 0; i < 25; i++) {
        HANDLE raw = ct_raw_connect(name, GENERIC_READ | GENERIC_WRITE, 0);
        ck_assert(raw != INVALID_HANDLE_VALUE);
        CloseHandle(raw);
    }
    ck_assert(CT_WAIT(s, connections_active, 0, 5000));
    ph_test_sleep_ms(50);
    total = CT_COUNTER(s, connections_total);
    ck_assert_uint_ge(total, 25);
    ck_assert_uint_le(total, 50);
    c = ct_connect(name);
    ct_expect_str(c, "unaffected", "unaffected");
    ph_client_free(c);
    ck_assert(CT_WAIT(s, connections_active, 0, 2000));
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 0);
    ck_assert_uint_eq(CT_COUNTER(s, requests_total), 1);
    ck_assert_int_eq(ctx.calls, 1);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* The client writes part of a large message and leaves: the server has read some of it (the continuation read
 * is held until the client is gone, so this is certain), must not hand the fragment to the handler, counts an
 * error for the abandoned request, and goes on serving. */
START_TEST(leave_mid_request)
{
    enum { BIG = 200000 };
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    HANDLE raw;
    OVERLAPPED ov;
    unsigned char *big;
    DWORD n = 0;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "dis-mid", &ctx, NULL);
    cfg.limits.max_message_bytes = 256 * 1024;
    s = ct_start(&cfg, &ctx);
    big = malloc(BIG);
    ck_assert_ptr_nonnull(big);
    ct_fill(big, BIG, 1);

    InterlockedExchange(&ct_sys_state.hold_armed, 1); /* read 1: the first piece; read 2: the rest, held */
    raw = ct_raw_connect(name, GENERIC_READ | GENERIC_WRITE, 1);
    ck_assert(raw != INVALID_HANDLE_VALUE);
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!WriteFile(raw, big, BIG, NULL, &ov))
        ck_assert_uint_eq(GetLastError(), ERROR_IO_PENDING);
    ck_assert_uint_eq(WaitForSingleObject(ct_sys_state.hold_reached, 5000), WAIT_OBJECT_0);
    /* The server holds a first piece; abandon the rest of the message and the connection. */
    CancelIoEx(raw, &ov);
    GetOverlappedResult(raw, &ov, &n, TRUE);
    CloseHandle(raw);
    CloseHandle(ov.hEvent);
    SetEvent(ct_sys_state.hold_release);

    ck_assert(CT_WAIT(s, connections_active, 0, 5000));
    ck_assert(CT_WAIT(s, errors_total, 1, 2000));
    ck_assert_msg(ctx.calls == 0, "the handler was given a fragment of %lu bytes", (unsigned long)ctx.last_len);
    ck_assert_uint_eq(CT_COUNTER(s, requests_total), 0);
    ck_assert_uint_gt(CT_COUNTER(s, bytes_in), 0);
    ck_assert_uint_lt(CT_COUNTER(s, bytes_in), BIG);
    c = ct_connect(name);
    ct_expect_str(c, "unaffected", "unaffected");
    ck_assert_int_eq(ctx.calls, 1);
    ph_client_free(c);
    ph_server_free(s);
    ct_sys_restore();
    free(big);
    ct_ctx_free(&ctx);
}
END_TEST

/* Counts requests that are neither the bystander's nor a whole big message, then handles as usual. */
static volatile LONG fragments;
static ph_handler_result whole_only(void *ctx, const ph_request *req, ph_response *resp)
{
    if (req->len != 10 && req->len != 150000)
        InterlockedIncrement(&fragments);
    return ct_handler(ctx, req, resp);
}

/* The same race left to chance, many times, with a bystander: whatever the timing, the handler sees whole
 * messages only, every connection ends, and the bystander is served throughout. */
START_TEST(leave_mid_request_races)
{
    enum { BIG = 150000, ROUNDS = 30 };
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *bystander;
    unsigned char *big;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "dis-race", &ctx, NULL);
    cfg.limits.max_message_bytes = 256 * 1024;
    cfg.handler = whole_only;
    s = ct_start(&cfg, &ctx);
    bystander = ct_connect(name);
    big = malloc(BIG);
    ck_assert_ptr_nonnull(big);
    ct_fill(big, BIG, 2);
    for (i = 0; i < ROUNDS; i++) {
        HANDLE raw = ct_raw_connect(name, GENERIC_READ | GENERIC_WRITE, 1);
        OVERLAPPED ov;
        DWORD n = 0;
        ck_assert(raw != INVALID_HANDLE_VALUE);
        memset(&ov, 0, sizeof(ov));
        ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
        WriteFile(raw, big, BIG, NULL, &ov);
        if (i % 3 == 1)
            Sleep(1);
        CancelIoEx(raw, &ov);
        GetOverlappedResult(raw, &ov, &n, TRUE);
        CloseHandle(raw);
        CloseHandle(ov.hEvent);
        ct_expect_str(bystander, "still here", "still here");
    }
    ck_assert(CT_WAIT(s, connections_active, 1, 5000));
    /* Any request the handler saw besides the bystander's was a complete message. */
    ck_assert_int_eq(fragments, 0);
    ck_assert_int_eq(ctx.bad, 0);
    ck_assert_uint_le(CT_COUNTER(s, errors_total), ROUNDS);
    /* A client that opens an instance and leaves before the server listens on it again (a re-armed
     * instance, ERROR_NO_DATA) is not counted (test_instances.client_gone_before_connect): at most every
     * round was accepted, and the races did reach the server. */
    ck_assert_uint_le(CT_COUNTER(s, connections_total), ROUNDS + 1);
    ck_assert_uint_ge(CT_COUNTER(s, connections_total), 2);
    ph_client_free(bystander);
    ph_server_free(s);
    free(big);
    ct_ctx_free(&ctx);
}
END_TEST

/* The client leaves while its request is being handled: the reply has nowhere to go; the server cleans up. */
START_TEST(leave_while_answered)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "dis-answer", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    for (i = 0; i < 5; i++) {
        c = ct_connect(name);
        ck_assert_int_eq(ph_client_send(c, "SLEEP 100", 9, 5000), 0);
        ck_assert_uint_eq(WaitForSingleObject(ctx.entered, 5000), WAIT_OBJECT_0);
        ph_client_free(c);
    }
    ck_assert(CT_WAIT(s, connections_active, 0, 5000));
    ck_assert_uint_eq(CT_COUNTER(s, connections_total), 5);
    ck_assert_uint_eq(CT_COUNTER(s, requests_total), 5);
    ck_assert_uint_eq(CT_COUNTER(s, errors_total), 5); /* each abandoned its request */
    ck_assert_uint_eq(CT_COUNTER(s, bytes_out), 0);
    c = ct_connect(name);
    ct_expect_str(c, "unaffected", "unaffected");
    ph_client_free(c);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("disconnect");
    TCase *tc;

    tc = tcase_create("connect_and_leave");
    tcase_add_test(tc, connect_and_leave);
    suite_add_tcase(s, tc);
    tc = tcase_create("leave_mid_request");
    tcase_add_test(tc, leave_mid_request);
    suite_add_tcase(s, tc);
    tc = tcase_create("leave_mid_request_races");
    tcase_add_test(tc, leave_mid_request_races);
    suite_add_tcase(s, tc);
    tc = tcase_create("leave_while_answered");
    tcase_add_test(tc, leave_while_answered);
    suite_add_tcase(s, tc);
    return s;
}
