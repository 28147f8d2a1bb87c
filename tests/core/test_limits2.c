/* test_limits2.c — issue 14 §4: one user cannot take the server. A deadline for a connection's first request
 * (ph_limits.first_request_timeout_ms) and a per-user connection limit (ph_limits.max_connections_per_user).
 *
 * Written against the two ph_limits fields the issue adds (uint32_t each; max_connections_per_user 0 = no
 * limit): it does not compile before they exist, so tests/core.cmake registers it only once they do. */
#include "coretest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The limits round-trip and are validated like the others. */
START_TEST(new_limits_round_trip)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_limits lim, got;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "lim2-rt", &ctx, NULL);
    cfg.limits.first_request_timeout_ms = 1500;
    cfg.limits.max_connections_per_user = 7;
    ck_assert_int_eq(ph_limits_validate(&cfg.limits), 0);
    s = ct_start(&cfg, &ctx);
    ph_limits_init(&got);
    ck_assert_int_eq(ph_server_get_limits(s, &got), 0);
    ck_assert_uint_eq(got.first_request_timeout_ms, 1500);
    ck_assert_uint_eq(got.max_connections_per_user, 7);
    lim = got;
    lim.first_request_timeout_ms = PH_INFINITE;
    lim.max_connections_per_user = 0;
    ck_assert_int_eq(ph_server_set_limits(s, &lim), 0);
    ph_limits_init(&got);
    ck_assert_int_eq(ph_server_get_limits(s, &got), 0);
    ck_assert_uint_eq(got.first_request_timeout_ms, PH_INFINITE);
    ck_assert_uint_eq(got.max_connections_per_user, 0);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* A connection that never sends its first request is closed after first_request_timeout_ms, although its
 * idle timeout is long; one that sends its first request in time is then governed by the idle timeout only
 * (it may stay quiet for longer than the first-request deadline). */
START_TEST(first_request_deadline_closes_silent_connection)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *silent, *talker;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0, took;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "lim2-first", &ctx, NULL);
    cfg.limits.first_request_timeout_ms = 300;
    cfg.limits.idle_timeout_ms = 60000;
    s = ct_start(&cfg, &ctx);
    talker = ct_connect(name);
    ct_expect_str(talker, "hello", "hello");
    t0 = ph_test_now_ms();
    silent = ct_connect(name);
    ck_assert(CT_WAIT(s, connections_active, 2, 2000));
    /* Closed by the server: the count falls back to the talker alone. */
    ck_assert_msg(CT_WAIT(s, connections_active, 1, 3000), "a connection that never sent a request is still open");
    took = ph_test_now_ms() - t0;
    printf("a silent connection was closed after %llu ms (first_request_timeout_ms 300)\n", took);
    ck_assert_uint_ge(took, 250);
    ck_assert_uint_lt(took, 2000);
    ck_assert_int_eq(ph_client_transact(silent, "late", 4, &m, &len, 2000, 0), PH_EPIPE);
    ph_free(m);
    /* The talker, quiet for longer than the first-request deadline, is still served. */
    ph_test_sleep_ms(700);
    ct_expect_str(talker, "still", "still");
    ph_client_free(silent);
    ph_client_free(talker);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* One user (the tests run as one) may hold max_connections_per_user connections: the next one connects (the
 * SID is known only at the first request), gets "ERR too-many-connections …" for its first request and is
 * closed; a new connection still connects within 100 ms while the user holds its limit (another user's
 * client would not wait either); once one of the user's connections leaves, a new one is served. */
START_TEST(per_user_connection_limit)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *held[2], *over, *next;
    unsigned char *m = NULL;
    size_t len = 0;
    unsigned long long t0, took;
    int rc, i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "lim2-user", &ctx, NULL);
    cfg.pending_instances = 4;
    cfg.limits.max_connections_per_user = 2;
    s = ct_start(&cfg, &ctx);
    for (i = 0; i < 2; i++) {
        held[i] = ct_connect(name);
        ct_expect_str(held[i], "mine", "mine");
    }
    /* Over the limit: connecting works and is prompt; the first request is refused, then the pipe closes. */
    ck_assert_int_eq(ph_client_new(&over), 0);
    t0 = ph_test_now_ms();
    rc = ph_client_connect(over, name, 5000, 0);
    took = ph_test_now_ms() - t0;
    ck_assert_msg(rc == 0, "connect while the user holds its limit: %s", ph_err_name(rc));
    printf("connect while the user holds its limit took %llu ms\n", took);
    ck_assert_uint_lt(took, 100);
    rc = ph_client_transact(over, "more", 4, &m, &len, 5000, 0);
    ck_assert_msg(rc == 0, "the over-limit connection got %s instead of an ERR reply", ph_err_name(rc));
    ck_assert_msg(len > 25 && memcmp(m, "ERR too-many-connections ", 25) == 0, "over-limit reply: %s", (char *)m);
    ph_free(m);
    m = NULL;
    ck_assert_int_eq(ph_client_transact(over, "again", 5, &m, &len, 3000, 0), PH_EPIPE);
    ph_free(m);
    m = NULL;
    ph_client_free(over);
    /* The refusal did not count against the two held connections. */
    ct_expect_str(held[0], "still", "still");
    ct_expect_str(held[1], "still", "still");
    /* Still prompt to connect, still refused. */
    ck_assert_int_eq(ph_client_new(&next), 0);
    t0 = ph_test_now_ms();
    ck_assert_int_eq(ph_client_connect(next, name, 5000, 0), 0);
    ck_assert_uint_lt(ph_test_now_ms() - t0, 100);
    ck_assert_int_eq(ph_client_transact(next, "more", 4, &m, &len, 5000, 0), 0);
    ck_assert(len > 25 && memcmp(m, "ERR too-many-connections ", 25) == 0);
    ph_free(m);
    m = NULL;
    ph_client_free(next);
    /* One leaves: a new connection is served. */
    ph_client_free(held[0]);
    ck_assert(CT_WAIT(s, connections_active, 1, 3000));
    next = ct_connect(name);
    ct_expect_str(next, "welcome", "welcome");
    ph_client_free(next);
    ph_client_free(held[1]);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("limits2");
    TCase *tc;

    tc = tcase_create("new_limits_round_trip");
    tcase_add_test(tc, new_limits_round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("first_request_deadline_closes_silent_connection");
    tcase_add_test(tc, first_request_deadline_closes_silent_connection);
    suite_add_tcase(s, tc);
    tc = tcase_create("per_user_connection_limit");
    tcase_add_test(tc, per_user_connection_limit);
    suite_add_tcase(s, tc);
    return s;
}
