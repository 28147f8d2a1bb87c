/* test_abi.c — the DLL-safety contract: struct size members set by the _init functions and checked by the
 * library, and the run-time version. */
#include "testsupport.h"

#include <pipehost/pipehost.h>
#include <stdio.h>
#include <string.h>

START_TEST(version)
{
    char want[32];

    ck_assert_uint_eq(ph_version(), PH_VERSION_HEX);
    ck_assert_uint_eq(ph_version(), ((unsigned)PH_VERSION_MAJOR << 16) | ((unsigned)PH_VERSION_MINOR << 8) |
                                        (unsigned)PH_VERSION_PATCH);
    ck_assert_str_eq(ph_version_string(), PH_VERSION_STRING);
    snprintf(want, sizeof(want), "%d.%d.%d", PH_VERSION_MAJOR, PH_VERSION_MINOR, PH_VERSION_PATCH);
    ck_assert_str_eq(ph_version_string(), want);
}
END_TEST

START_TEST(init_sets_sizes)
{
    ph_server_config cfg;
    ph_limits l;
    ph_counters k;

    memset(&cfg, 0xa5, sizeof(cfg));
    memset(&l, 0xa5, sizeof(l));
    memset(&k, 0xa5, sizeof(k));
    ph_server_config_init(&cfg);
    ph_limits_init(&l);
    ph_counters_init(&k);
    ck_assert_uint_eq(cfg.size, sizeof(ph_server_config));
    ck_assert_uint_eq(cfg.limits.size, sizeof(ph_limits));
    ck_assert_uint_eq(l.size, sizeof(ph_limits));
    ck_assert_uint_eq(k.size, sizeof(ph_counters));
    ck_assert_uint_eq(k.connections_total + k.connections_active + k.requests_total + k.errors_total + k.bytes_in +
                          k.bytes_out + k.instances_pending,
                      0);
}
END_TEST

/* Limits whose size member is not the library's are refused, whatever their values. */
START_TEST(limits_size_checked)
{
    ph_limits l;

    ph_limits_init(&l);
    ck_assert_int_eq(ph_limits_validate(&l), 0);
    l.size = 0;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);
    l.size = (uint32_t)sizeof(l) - 4;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);
    l.size = (uint32_t)sizeof(l) + 8;
    ck_assert_int_eq(ph_limits_validate(&l), PH_EINVAL);
}
END_TEST

#if defined(_WIN32)
static ph_handler_result never(void *ctx, const ph_request *req, ph_response *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return PH_NO_REPLY;
}

/* The server's entry points check the size of every struct they read or fill; none needs a started server. */
START_TEST(server_checks_sizes)
{
    char name[128];
    ph_server_config cfg;
    ph_server *s = NULL;
    ph_limits l;
    ph_counters k;

    ph_test_pipe_name(name, sizeof(name), "abi");
    ph_server_config_init(&cfg);
    cfg.pipe_name = name;
    cfg.handler = never;
    cfg.size = 0;
    ck_assert_int_eq(ph_server_new(&cfg, &s), PH_EINVAL);
    ck_assert_ptr_null(s);
    cfg.size = (uint32_t)sizeof(cfg) + 8;
    ck_assert_int_eq(ph_server_new(&cfg, &s), PH_EINVAL);
    cfg.size = (uint32_t)sizeof(cfg);
    cfg.limits.size = 0;
    ck_assert_int_eq(ph_server_new(&cfg, &s), PH_EINVAL);
    ck_assert_ptr_null(s);
    cfg.limits.size = (uint32_t)sizeof(cfg.limits);
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);

    ph_limits_init(&l);
    l.max_message_bytes = 4096;
    l.size = 0;
    ck_assert_int_eq(ph_server_set_limits(s, &l), PH_EINVAL);
    memset(&l, 0x5a, sizeof(l));
    l.size = 12;
    ck_assert_int_eq(ph_server_get_limits(s, &l), PH_EINVAL);
    ck_assert_uint_eq(l.idle_timeout_ms, 0x5a5a5a5au); /* not written */
    ph_limits_init(&l);
    ck_assert_int_eq(ph_server_get_limits(s, &l), 0);
    ck_assert_uint_eq(l.max_message_bytes, 65536);
    ck_assert_uint_eq(l.size, sizeof(l));

    memset(&k, 0x5a, sizeof(k));
    k.size = 0;
    ck_assert_int_eq(ph_server_counters(s, &k), PH_EINVAL);
    ck_assert_uint_eq(k.connections_total, 0x5a5a5a5a5a5a5a5aull); /* not written */
    ck_assert_int_eq(ph_server_counters(s, NULL), PH_EINVAL);
    ph_counters_init(&k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    ck_assert_uint_eq(k.size, sizeof(k));
    ph_server_free(s);
}
END_TEST
#else
START_TEST(server_checks_sizes)
{
    ph_test_skip("the server exists only in the Windows build");
}
END_TEST
#endif

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("abi");
    TCase *tc;

    tc = tcase_create("version");
    tcase_add_test(tc, version);
    suite_add_tcase(s, tc);
    tc = tcase_create("init_sets_sizes");
    tcase_add_test(tc, init_sets_sizes);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits_size_checked");
    tcase_add_test(tc, limits_size_checked);
    suite_add_tcase(s, tc);
    tc = tcase_create("server_checks_sizes");
    tcase_add_test(tc, server_checks_sizes);
    suite_add_tcase(s, tc);
    return s;
}
