/* test_lifecycle.c — the server object: configuration checks, copies, start once, stop and free in any state. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

static int new_rc(const ph_server_config *cfg)
{
    ph_server *s = NULL;
    int rc = ph_server_new(cfg, &s);

    if (rc == 0)
        ph_server_free(s);
    else
        ck_assert_ptr_null(s);
    return rc;
}

START_TEST(config_checked)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg, base;
    ct_ctx ctx;
    ph_server *s = (ph_server *)&cfg;

    ct_ctx_init(&ctx);
    ct_config(&base, name, sizeof(name), "life-cfg", &ctx, NULL);
    ck_assert_int_eq(new_rc(&base), 0);
    ck_assert_int_eq(ph_server_new(NULL, &s), PH_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(ph_server_new(&base, NULL), PH_EINVAL);

    cfg = base;
    cfg.handler = NULL;
    ck_assert_int_eq(new_rc(&cfg), PH_EINVAL);
    cfg = base;
    cfg.pipe_name = "\\\\elsewhere\\pipe\\x";
    ck_assert_int_eq(new_rc(&cfg), PH_EBADNAME);
    cfg.pipe_name = "a/b";
    ck_assert_int_eq(new_rc(&cfg), PH_EBADNAME);
    cfg.pipe_name = "bad\xff\xfe utf8";
    ck_assert_int_eq(new_rc(&cfg), PH_EBADNAME);
    cfg = base;
    cfg.max_instances = 0;
    ck_assert_int_eq(new_rc(&cfg), PH_EINVAL);
    cfg.max_instances = 256;
    ck_assert_int_eq(new_rc(&cfg), PH_EINVAL);
    cfg.max_instances = 255;
    ck_assert_int_eq(new_rc(&cfg), 0);
    cfg = base;
    cfg.pending_instances = 0;
    ck_assert_int_eq(new_rc(&cfg), PH_EINVAL);
    cfg.pending_instances = 256;
    ck_assert_int_eq(new_rc(&cfg), PH_EINVAL);
    cfg.max_instances = 3; /* a fixed pool: its instances all wait, whatever pending_instances says */
    cfg.pending_instances = 4;
    ck_assert_int_eq(new_rc(&cfg), 0);
    cfg = base;
    cfg.buffer_size = 100;
    ck_assert_int_eq(new_rc(&cfg), PH_EINVAL);
    cfg.buffer_size = 0; /* the default */
    ck_assert_int_eq(new_rc(&cfg), 0);
    cfg = base;
    cfg.log_level = (ph_log_level)7;
    ck_assert_int_eq(new_rc(&cfg), PH_EINVAL);
    cfg = base;
    cfg.limits.idle_timeout_ms = 0;
    ck_assert_int_eq(new_rc(&cfg), PH_EINVAL);
    cfg = base;
    cfg.threads = 65;
    ck_assert_int_eq(new_rc(&cfg), PH_EINVAL);
    ct_ctx_free(&ctx);
}
END_TEST

/* The configuration is copied: the caller's strings may change or go once ph_server_new returns. */
START_TEST(config_copied)
{
    char name[CT_NAME_MAX], scratch[CT_NAME_MAX], sddl[128];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;
    ph_client *c;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "life-copy", &ctx, NULL);
    strcpy(scratch, name);
    strcpy(sddl, PH_DEFAULT_SDDL);
    cfg.pipe_name = scratch;
    cfg.sddl = sddl;
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ctx.server = s;
    memset(scratch, 'Z', sizeof(scratch) - 1);
    scratch[sizeof(scratch) - 1] = '\0';
    strcpy(sddl, "garbage");
    ck_assert_int_eq(ph_server_start(s), 0);
    ck_assert_int_eq(strncmp(ph_server_pipe_name(s), "\\\\.\\pipe\\", 9), 0);
    ck_assert_str_eq(ph_server_pipe_name(s) + 9, name);
    c = ct_connect(name);
    ct_expect_str(c, "copied", "copied");
    ph_client_free(c);
    ph_server_free(s);
    ck_assert_ptr_null(ph_server_pipe_name(NULL));
    ct_ctx_free(&ctx);
}
END_TEST

/* Free in every state: never started, started, stopped, failed. */
START_TEST(free_in_any_state)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;
    int before = ct_thread_count();

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "life-free", &ctx, NULL);
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ph_server_free(s);
    s = ct_start(&cfg, &ctx);
    ph_server_free(s);
    s = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_server_stop(s), 0);
    ph_server_free(s);
    cfg.sddl = "garbage";
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_EBADSDDL);
    ck_assert_int_eq(ph_server_stop(s), 0);
    ph_server_free(s);
    ck_assert_int_eq(ct_thread_count(), before);
    ct_ctx_free(&ctx);
}
END_TEST

/* Limits: validated when set, readable, and counters are safe before start. */
START_TEST(limits_and_counters_before_start)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;
    ph_limits l;
    ph_counters k;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "life-limits", &ctx, NULL);
    cfg.limits.max_message_bytes = 12345;
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ph_limits_init(&l);
    ck_assert_int_eq(ph_server_get_limits(s, &l), 0);
    ck_assert_uint_eq(l.max_message_bytes, 12345);
    l.write_timeout_ms = 0;
    ck_assert_int_eq(ph_server_set_limits(s, &l), PH_EINVAL);
    ck_assert_int_eq(ph_server_set_limits(s, NULL), PH_EINVAL);
    ck_assert_int_eq(ph_server_set_limits(NULL, &l), PH_EINVAL);
    l.write_timeout_ms = 777;
    ck_assert_int_eq(ph_server_set_limits(s, &l), 0); /* before start is fine */
    ph_limits_init(&l);
    ck_assert_int_eq(ph_server_get_limits(s, &l), 0);
    ck_assert_uint_eq(l.write_timeout_ms, 777);
    memset(&k, 0xff, sizeof(k));
    k.size = (uint32_t)sizeof(k);
    ck_assert_int_eq(ph_server_counters(s, &k), 0);
    ck_assert_uint_eq(k.connections_total, 0);
    ck_assert_uint_eq(k.instances_pending, 0);
    memset(&k, 0xff, sizeof(k));
    k.size = (uint32_t)sizeof(k);
    ck_assert_int_eq(ph_server_counters(NULL, &k), 0);
    ck_assert_uint_eq(k.bytes_out, 0);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* Start, stop, start again with new objects on the same name, many times: the name is released each time. */
START_TEST(restart_same_name)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    int i;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "life-restart", &ctx, NULL);
    for (i = 0; i < 20; i++) {
        ph_server *s = ct_start(&cfg, &ctx);
        ph_client *c = ct_connect(name);
        ct_expect_str(c, "round", "round");
        ph_client_free(c);
        ph_server_free(s);
        ck_assert(ct_pipe_gone(name));
    }
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc;

    tc = tcase_create("config_checked");
    tcase_add_test(tc, config_checked);
    suite_add_tcase(s, tc);
    tc = tcase_create("config_copied");
    tcase_add_test(tc, config_copied);
    suite_add_tcase(s, tc);
    tc = tcase_create("free_in_any_state");
    tcase_add_test(tc, free_in_any_state);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits_and_counters_before_start");
    tcase_add_test(tc, limits_and_counters_before_start);
    suite_add_tcase(s, tc);
    tc = tcase_create("restart_same_name");
    tcase_add_test(tc, restart_same_name);
    suite_add_tcase(s, tc);
    return s;
}
