/* test_limits.c — configuration defaults and the documented ranges of the run-time limits. */
#include "testsupport.h"

#include <pipehost/pipehost.h>
#include <string.h>

START_TEST(defaults)
{
    ph_server_config cfg;
    ph_limits l;

    memset(&cfg, 0xa5, sizeof(cfg));
    ph_server_config_init(&cfg);
    ck_assert_ptr_null(cfg.pipe_name);
    ck_assert_uint_eq(cfg.max_instances, PH_DEFAULT_MAX_INSTANCES);
    ck_assert_uint_lt(PH_DEFAULT_MAX_INSTANCES, PH_UNLIMITED_INSTANCES); /* the default is a fixed pool */
    ck_assert_uint_eq(cfg.limits.first_request_timeout_ms, 10000);
    ck_assert_uint_eq(cfg.limits.max_connections_per_user, 64);
    ck_assert_uint_eq(cfg.pending_instances, 4);
    ck_assert_uint_eq(cfg.threads, 0);
    ck_assert_uint_eq(cfg.buffer_size, 65536);
    ck_assert_ptr_null(cfg.sddl);
    ck_assert(cfg.handler == NULL);
    ck_assert_ptr_null(cfg.handler_ctx);
    ck_assert(cfg.log == NULL);
    ck_assert_int_eq(cfg.log_level, PH_LOG_INFO);
    ck_assert_uint_eq(cfg.limits.max_message_bytes, 65536);
    ck_assert_uint_eq(cfg.limits.idle_timeout_ms, 120000);
    ck_assert_uint_eq(cfg.limits.write_timeout_ms, 10000);
    ck_assert_uint_eq(cfg.limits.drain_timeout_ms, 5000);
    ck_assert_uint_eq(cfg.limits.first_request_timeout_ms, 10000);
    ck_assert_uint_eq(cfg.limits.max_connections_per_user, 64);
    ph_limits_init(&l);
    ck_assert_int_eq(memcmp(&l, &cfg.limits, sizeof(l)), 0);
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    /* The default descriptor is the documented one: network denied, SYSTEM/Administrators/owner full, AU 0x12019b. */
    ck_assert_str_eq(PH_DEFAULT_SDDL, "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)(A;;0x12019b;;;AU)");
    ck_assert_int_eq(0x12019b & 0x4 /* FILE_CREATE_PIPE_INSTANCE */, 0);
}
END_TEST

START_TEST(ranges)
{
    ph_limits l;

    ph_limits_init(&l);
    l.max_message_bytes = 0;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);
    l.max_message_bytes = 1;
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    l.max_message_bytes = (size_t)64 * 1024 * 1024;
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    l.max_message_bytes = (size_t)64 * 1024 * 1024 + 1;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);

    ph_limits_init(&l);
    l.idle_timeout_ms = 0;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);
    l.idle_timeout_ms = PH_INFINITE;
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    l.write_timeout_ms = 0;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);
    l.write_timeout_ms = PH_INFINITE;
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    /* A stop must be bounded: an infinite drain is refused, a zero one allowed. */
    l.drain_timeout_ms = PH_INFINITE;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);
    l.drain_timeout_ms = 0;
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    /* The first request's deadline: never 0 (every new connection would close at once), "never" allowed. */
    ph_limits_init(&l);
    l.first_request_timeout_ms = 0;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);
    l.first_request_timeout_ms = 1;
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    l.first_request_timeout_ms = PH_INFINITE;
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    /* Connections per user: 0 (no limit) .. 255. */
    l.max_connections_per_user = 0;
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    l.max_connections_per_user = 255;
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    l.max_connections_per_user = 256;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);
    ck_assert_int_eq(ph_limits_validate(NULL), PH_EINVAL);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc;

    tc = tcase_create("defaults");
    tcase_add_test(tc, defaults);
    suite_add_tcase(s, tc);
    tc = tcase_create("ranges");
    tcase_add_test(tc, ranges);
    suite_add_tcase(s, tc);
    return s;
}
