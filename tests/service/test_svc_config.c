/* test_svc_config.c — the service's configuration rules and command-line parsing (platform-neutral code). */
#include "testsupport.h"

#include "config.h"
#include "escape.h"
#include "exitcodes.h"
#include "options.h"

#include <pipehost/service.h>

#include <stdio.h>
#include <string.h>

static svc_config cfg;
static svc_cfg_errors errs;

static void setup(void)
{
    ph__svc_config_init(&cfg, "pipehost");
    memset(&errs, 0, sizeof(errs));
}

static void teardown(void)
{
    ph__svc_config_free(&cfg);
}

START_TEST(defaults)
{
    ph_server_config core;

    ph_server_config_init(&core);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\pipehost");
    ck_assert_uint_eq(cfg.max_message_bytes, 65536);
    /* The pool's defaults are the core's, whatever it picks. */
    ck_assert_uint_eq(cfg.max_instances, core.max_instances);
    ck_assert_uint_eq(cfg.pending_instances, core.pending_instances);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, core.limits.first_request_timeout_ms);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, 10000);
    ck_assert_uint_eq(cfg.max_connections_per_user, core.limits.max_connections_per_user);
    ck_assert_uint_eq(cfg.max_connections_per_user, 64);
    ck_assert_ptr_null(cfg.sddl);
    ck_assert_int_eq(cfg.log_level, PH_LOG_INFO);
    ck_assert_int_eq(ph__svc_config_check(&cfg, &errs), 0);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_OK);
}
END_TEST

START_TEST(dword_ranges)
{
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_MESSAGE, 1, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_MESSAGE, 64u * 1024 * 1024, "registry", &errs), 0);
    ck_assert_uint_eq(cfg.max_message_bytes, 64u * 1024 * 1024);
    ck_assert_uint_eq(errs.count, 0);
    /* Waiting instances up to 255, for a burst of that many simultaneous clients. */
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_PENDING, 255, "registry", &errs), 0);
    ck_assert_uint_eq(cfg.pending_instances, 255);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_PENDING, 256, "registry", &errs), PH_EINVAL);
    ck_assert_uint_eq(cfg.pending_instances, 255);
    memset(&errs, 0, sizeof(errs));

    /* Out of range: refused, unchanged, and the message names value, range and given value. */
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_MESSAGE, 64u * 1024 * 1024 + 1, "registry", &errs), PH_EINVAL);
    ck_assert_uint_eq(cfg.max_message_bytes, 64u * 1024 * 1024);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.text[0], "invalid configuration value MaxMessageBytes (registry): accepted range "
                                   "1..67108864 bytes, given 67108865");
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 0, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 256, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_IDLE_TIMEOUT, 99, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_IDLE_TIMEOUT, 0xFFFFFFFFu, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_WRITE_TIMEOUT, 0xFFFFFFFFu, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_DRAIN_TIMEOUT, 300001, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_LOG_MAX_BYTES, 1000, "registry", &errs), PH_EINVAL);
    /* A string value through the DWORD setter is a programming error, not a configuration one. */
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_PIPE_NAME, 1, "registry", &errs), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 7);
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
}
END_TEST

START_TEST(text_values)
{
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "0x1000", "--max-message", &errs), 0);
    ck_assert_uint_eq(cfg.max_message_bytes, 4096);
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_IDLE_TIMEOUT, "never", "--idle-timeout", &errs), 0);
    ck_assert_uint_eq(cfg.idle_timeout_ms, SVC_INFINITE);
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_DRAIN_TIMEOUT, "never", "--drain-timeout", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "12k", "--max-message", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "-1", "--max-message", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "4294967296", "--max-message", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, " 5", "--max-message", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "", "--max-message", &errs), PH_EINVAL);
    ck_assert_uint_eq(cfg.max_message_bytes, 4096);
    ck_assert_msg(strstr(errs.text[1], "MaxMessageBytes (--max-message): accepted a whole number in 1..67108864 bytes, "
                                       "given \"12k\"") != NULL, "%s", errs.text[1]);
}
END_TEST

START_TEST(strings)
{
    char big[300];

    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "mine", "registry", &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\mine");
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "\\\\.\\PIPE\\Full", "registry", &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\Full");
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "\\\\host\\pipe\\x", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "a/b", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "", "registry", &errs), PH_EINVAL);
    memset(big, 'n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, big, "registry", &errs), PH_EINVAL);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\Full");

    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_LOG_LEVEL, "DEBUG", "registry", &errs), 0);
    ck_assert_int_eq(cfg.log_level, PH_LOG_DEBUG);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_LOG_LEVEL, "warning", "registry", &errs), 0);
    ck_assert_int_eq(cfg.log_level, PH_LOG_WARN);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_LOG_LEVEL, "trace", "registry", &errs), PH_EINVAL);

    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_LOG_FILE, "C:\\logs\\p.log", "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_LOG_FILE, "p.log", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_LOG_FILE, "C:relative.log", "registry", &errs), PH_EINVAL);
    ck_assert_str_eq(cfg.log_file, "C:\\logs\\p.log");

    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, "D:P(A;;GA;;;SY)", "registry", &errs), 0);
    ck_assert_str_eq(cfg.sddl, "D:P(A;;GA;;;SY)");
    /* The SDDL rules are the core's checker's alone (ph__svc_config_check_sddl, Windows): here only the text. */
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, "D:P(A;;GA;;;SY)\n", "registry", &errs), PH_EINVAL);
    ck_assert_str_eq(cfg.sddl, "D:P(A;;GA;;;SY)");
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_SDDL, "d:no_access_control", "registry", &errs), 0);
    ck_assert_str_eq(cfg.sddl, "d:no_access_control");
}
END_TEST

START_TEST(cross_checks_and_exit_codes)
{
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 2, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_PENDING, 3, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_check(&cfg, &errs), 0); /* a fixed pool: PendingInstances does not apply */
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_PENDING, 2, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_DRAIN_TIMEOUT, 30000, "registry", &errs), 0);
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_config_check(&cfg, &errs), PH_EINVAL); /* preshutdown 30000 < drain + 1000 */
    ck_assert_msg(strstr(errs.text[0], "PreshutdownTimeoutMs") != NULL, "%s", errs.text[0]);

    /* Only Sddl wrong: the security exit code; anything else wrong too: configuration. */
    memset(&errs, 0, sizeof(errs));
    ph__svc_cfg_error(&errs, SVC_V_SDDL, "check", "bad");
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);
    ph__svc_cfg_error_other(&errs, "unknown value");
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
    /* A refused per-verb descriptor is a security error too; a bad verb name is not. */
    memset(&errs, 0, sizeof(errs));
    ph__svc_cfg_error_verb(&errs, SVC_CFG_KIND_VERB_SDDL, "ECHO", "check", "bad");
    ck_assert_str_eq(errs.text[0], "invalid per-verb security descriptor Verbs\\ECHO (check): bad");
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);
    ph__svc_cfg_error(&errs, SVC_V_SDDL, "check", "bad");
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);
    ph__svc_cfg_error_verb(&errs, SVC_CFG_KIND_OTHER, "E CHO", "registry", "bad name");
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
}
END_TEST

/* Per-verb descriptors: the verb's shape, the text's, replacement by name, deep copies. */
START_TEST(verb_sddls)
{
    svc_config copy;

    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "ECHO", "D:(A;;GA;;;BA)", "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "status", "D:(A;;GA;;;WD)", "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "echo", "D:(A;;GA;;;SY)", "registry", &errs), 0);
    ck_assert_uint_eq(cfg.verb_sddl_count, 2);
    ck_assert_str_eq(cfg.verb_sddls[0].verb, "echo");
    ck_assert_str_eq(cfg.verb_sddls[0].sddl, "D:(A;;GA;;;SY)");
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "TWO WORDS", "D:(A;;GA;;;SY)", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "", "D:(A;;GA;;;SY)", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "ECHO", "", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_verb_sddl(&cfg, "ECHO", "D:(A;;GA;;;SY)\n", "registry", &errs), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 4);
    ck_assert_msg(strstr(errs.text[0], "Verbs\\TWO WORDS") != NULL, "%s", errs.text[0]);
    ck_assert_uint_eq(cfg.verb_sddl_count, 2);
    ck_assert_int_eq(ph__svc_config_copy(&copy, &cfg), 0);
    ck_assert_uint_eq(copy.verb_sddl_count, 2);
    ck_assert_ptr_ne(copy.verb_sddls[1].sddl, cfg.verb_sddls[1].sddl);
    ck_assert_str_eq(copy.verb_sddls[1].sddl, "D:(A;;GA;;;WD)");
    ph__svc_config_free(&copy);
    ck_assert_uint_eq(copy.verb_sddl_count, 0);
}
END_TEST

static char diffs[400];

static void on_diff(void *ctx, const svc_value_def *def, const char *old_text, const char *new_text)
{
    size_t n = strlen(diffs);
    (*(int *)ctx)++;
    snprintf(diffs + n, sizeof(diffs) - n, "%s %s->%s %s;", def->name, old_text, new_text, def->live ? "live" : "restart");
}

START_TEST(lookup_and_diff)
{
    svc_config other;
    int n = 0;
    size_t i;

    ck_assert_ptr_eq(ph__svc_value_by_name("maxmessagebytes"), ph__svc_value_by_id(SVC_V_MAX_MESSAGE));
    ck_assert_ptr_eq(ph__svc_value_by_option("--pipe"), ph__svc_value_by_id(SVC_V_PIPE_NAME));
    ck_assert_ptr_null(ph__svc_value_by_name("MaxMesageBytes"));
    ck_assert_ptr_null(ph__svc_value_by_option("--Pipe"));
    for (i = 0; i < SVC_V_COUNT; i++)
        ck_assert_int_eq(ph__svc_value_by_id((svc_value_id)i)->id, (int)i);

    ck_assert_int_eq(ph__svc_config_copy(&other, &cfg), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&other, SVC_V_MAX_MESSAGE, 100, "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_string(&other, SVC_V_SDDL, "D:(A;;GA;;;SY)", "t", &errs), 0);
    ph__svc_config_diff(&cfg, &other, on_diff, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(diffs, "MaxMessageBytes 65536->100 live;Sddl (default)->D:(A;;GA;;;SY) restart;");
    ph__svc_config_free(&other);
}
END_TEST

START_TEST(run_options)
{
    char *argv[] = {"run", "--pipe", "dbg", "--max-message=1024", "--service", "svc1", "--stop-event", "Local\\x",
                    "--idle-timeout", "never"};
    char *bad[] = {"run", "--max-message", "0", "--frob", "x", "stray", "--pipe"};
    svc_run_options o;

    ck_assert_int_eq(ph__svc_parse_run_options(10, argv, 0, &cfg, &o, &errs), 0);
    ck_assert_str_eq(o.service, "svc1");
    ck_assert_str_eq(o.stop_event, "Local\\x");
    ck_assert_uint_eq(cfg.max_message_bytes, 65536); /* first pass applies nothing */
    ck_assert_int_eq(ph__svc_parse_run_options(10, argv, 1, &cfg, &o, &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\dbg");
    ck_assert_uint_eq(cfg.max_message_bytes, 1024);
    ck_assert_uint_eq(cfg.idle_timeout_ms, SVC_INFINITE);
    ck_assert_uint_eq(errs.count, 0);

    ck_assert_int_eq(ph__svc_parse_run_options(7, bad, 1, &cfg, &o, &errs), PH_EINVAL);
    /* range, unknown option, its would-be value and a stray argument (both unexpected), missing value */
    ck_assert_uint_eq(errs.count, 5);
    ck_assert_msg(strstr(errs.text[0], "MaxMessageBytes (--max-message)") != NULL, "%s", errs.text[0]);
    ck_assert_msg(strstr(errs.text[1], "--frob") != NULL, "%s", errs.text[1]);
    ck_assert_msg(strstr(errs.text[2], "\"x\"") != NULL, "%s", errs.text[2]);
    ck_assert_msg(strstr(errs.text[3], "stray") != NULL, "%s", errs.text[3]);
    ck_assert_msg(strstr(errs.text[4], "--pipe needs a value") != NULL, "%s", errs.text[4]);
}
END_TEST

static int cli(int argc, char **argv, svc_cli_options *o, char *why)
{
    return ph__svc_parse_cli(argc, argv, o, why, 200);
}

START_TEST(cli_options)
{
    svc_cli_options o;
    char why[200];
    char *ping[] = {"ping", "--pipe", "x", "--timeout=250"};
    char *send1[] = {"send", "ECHO", "hello", "--pipe", "x", "world"};
    char *send2[] = {"send", "ECHO", ""};
    char *send3[] = {"send", "--", "ECHO", "--pipe"};
    char *bad1[] = {"send"};
    char *bad2[] = {"ping", "extra"};
    char *bad3[] = {"send", "EC HO"};
    char *bad4[] = {"status", "--timeout", "0"};
    char *bad5[] = {"frob"};

    ck_assert_int_eq(cli(4, ping, &o, why), 0);
    ck_assert_str_eq(o.pipe, "x");
    ck_assert_uint_eq(o.timeout_ms, 250);
    ck_assert_uint_eq(o.request_len, 4);
    ck_assert_mem_eq(o.request, "PING", 4);
    ph__svc_cli_options_free(&o);

    ck_assert_int_eq(cli(6, send1, &o, why), 0);
    ck_assert_uint_eq(o.request_len, 16);
    ck_assert_mem_eq(o.request, "ECHO hello world", 16);
    ph__svc_cli_options_free(&o);

    ck_assert_int_eq(cli(3, send2, &o, why), 0);
    ck_assert_uint_eq(o.request_len, 5);
    ck_assert_mem_eq(o.request, "ECHO ", 5);
    ph__svc_cli_options_free(&o);

    ck_assert_int_eq(cli(4, send3, &o, why), 0);
    ck_assert_uint_eq(o.request_len, 11);
    ck_assert_mem_eq(o.request, "ECHO --pipe", 11);
    ck_assert_ptr_null(o.pipe);
    /* The server is verified by default. */
    ck_assert_int_eq(o.no_verify_server, 0);
    ck_assert_ptr_null(o.server_sid);
    ph__svc_cli_options_free(&o);

    {
        char *v1[] = {"ping", "--no-verify-server"};
        char *v2[] = {"ping", "--server-sid", "S-1-5-19"};
        char *v3[] = {"ping", "--server-sid=LocalService"};
        char *v4[] = {"ping", "--server-sid", "S-1-5-19", "--no-verify-server"};
        ck_assert_int_eq(cli(2, v1, &o, why), 0);
        ck_assert_int_eq(o.no_verify_server, 1);
        ph__svc_cli_options_free(&o);
        ck_assert_int_eq(cli(3, v2, &o, why), 0);
        ck_assert_str_eq(o.server_sid, "S-1-5-19");
        ph__svc_cli_options_free(&o);
        ck_assert_int_eq(cli(2, v3, &o, why), PH_EINVAL);
        ck_assert_msg(strstr(why, "--server-sid accepts a SID") != NULL, "%s", why);
        ck_assert_int_eq(cli(4, v4, &o, why), PH_EINVAL);
        ck_assert_msg(strstr(why, "contradict") != NULL, "%s", why);
    }

    ck_assert_int_eq(cli(1, bad1, &o, why), PH_EINVAL);
    ck_assert_msg(strstr(why, "needs a verb") != NULL, "%s", why);
    ck_assert_int_eq(cli(2, bad2, &o, why), PH_EINVAL);
    ck_assert_int_eq(cli(2, bad3, &o, why), PH_EINVAL);
    ck_assert_int_eq(cli(3, bad4, &o, why), PH_EINVAL);
    ck_assert_msg(strstr(why, "--timeout accepts 1..3600000 ms") != NULL, "%s", why);
    ck_assert_int_eq(cli(1, bad5, &o, why), PH_EINVAL);
    ck_assert_ptr_null(o.request);
}
END_TEST

/* FirstRequestTimeoutMs (100..3600000 ms, or never) and MaxConnectionsPerUser (0..255, 0 = no limit): set from
 * the registry and the command line, range-checked with messages naming them, live at PARAMCHANGE, and handed
 * to the core's limits, which accept whatever the service accepts. */
START_TEST(first_request_and_per_user_limits)
{
    const svc_value_def *first = ph__svc_value_by_name("firstrequesttimeoutms");
    const svc_value_def *per_user = ph__svc_value_by_name("MaxConnectionsPerUser");
    char *argv[] = {"run", "--first-request-timeout-ms", "250", "--max-connections-per-user=0"};
    svc_run_options o;
    svc_config other;
    ph_limits lim;
    char text[40];
    int n = 0;

    ck_assert_ptr_eq(first, ph__svc_value_by_id(SVC_V_FIRST_REQUEST_TIMEOUT));
    ck_assert_ptr_eq(per_user, ph__svc_value_by_id(SVC_V_MAX_CONN_PER_USER));
    ck_assert_ptr_eq(ph__svc_value_by_option("--first-request-timeout-ms"), first);
    ck_assert_ptr_eq(ph__svc_value_by_option("--max-connections-per-user"), per_user);
    ck_assert_int_eq(first->live, 1);
    ck_assert_int_eq(per_user->live, 1);

    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 100, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 3600000, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, SVC_INFINITE, "registry", &errs), 0);
    ph__svc_config_value_text(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, text, sizeof(text));
    ck_assert_str_eq(text, "never");
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, "2000", "--first-request-timeout-ms", &errs),
                     0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_CONN_PER_USER, 0, "registry", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_CONN_PER_USER, 255, "registry", &errs), 0);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, 2000);
    ck_assert_uint_eq(cfg.max_connections_per_user, 255);

    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 0, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 99, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 3600001, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_MAX_CONN_PER_USER, 256, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, SVC_V_MAX_CONN_PER_USER, "never", "--max-connections-per-user", &errs),
                     PH_EINVAL);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, 2000);
    ck_assert_uint_eq(cfg.max_connections_per_user, 255);
    ck_assert_uint_eq(errs.count, 5);
    ck_assert_str_eq(errs.text[0], "invalid configuration value FirstRequestTimeoutMs (registry): accepted range "
                                   "100..3600000 ms, or 4294967295 (never), given 0");
    ck_assert_str_eq(errs.text[3], "invalid configuration value MaxConnectionsPerUser (registry): accepted range "
                                   "0..255, given 256");
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);

    /* The command line; then the core's limits carry both, and accept them. */
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_parse_run_options(4, argv, 1, &cfg, &o, &errs), 0);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, 250);
    ck_assert_uint_eq(cfg.max_connections_per_user, 0);
    ph__svc_config_limits(&cfg, &lim);
    ck_assert_uint_eq(lim.first_request_timeout_ms, 250);
    ck_assert_uint_eq(lim.max_connections_per_user, 0);
    ck_assert_int_eq(ph_limits_validate(&lim), 0);

    /* A change applies at PARAMCHANGE, like the other limits. */
    ck_assert_int_eq(ph__svc_config_copy(&other, &cfg), 0);
    ck_assert_int_eq(ph__svc_config_set_text(&other, SVC_V_FIRST_REQUEST_TIMEOUT, "never", "t", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_text(&other, SVC_V_MAX_CONN_PER_USER, "8", "t", &errs), 0);
    diffs[0] = '\0';
    ph__svc_config_diff(&cfg, &other, on_diff, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(diffs, "FirstRequestTimeoutMs 250->never live;MaxConnectionsPerUser 0->8 live;");
    ph__svc_config_free(&other);
}
END_TEST

/* A pipe name under a protected prefix: PipeName and --pipe accept it (the prefix's words in any case, kept in
 * one spelling), and ph__svc_pipe_protected_prefix tells which account's it is. */
START_TEST(protected_pipe_names)
{
    char *argv[] = {"run", "--pipe", "\\\\.\\pipe\\ProtectedPrefix\\LocalService\\dbg"};
    char *ping[] = {"ping", "--pipe", "ProtectedPrefix\\Administrators\\pipehost"};
    svc_cli_options co;
    svc_run_options o;
    char why[200];

    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "protectedprefix\\administrators\\pipehost",
                                           "registry", &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\pipehost");
    ck_assert_str_eq(ph__svc_pipe_protected_prefix(cfg.pipe_name), "Administrators");
    ck_assert_int_eq(ph__svc_parse_run_options(3, argv, 1, &cfg, &o, &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\ProtectedPrefix\\LocalService\\dbg");
    ck_assert_str_eq(ph__svc_pipe_protected_prefix(cfg.pipe_name), "LocalService");
    ck_assert_str_eq(ph__svc_pipe_protected_prefix("ProtectedPrefix\\NetworkService\\x"), "NetworkService");
    ck_assert_ptr_null(ph__svc_pipe_protected_prefix("pipehost"));
    ck_assert_ptr_null(ph__svc_pipe_protected_prefix("\\\\.\\pipe\\ProtectedPrefixAdministrators"));
    ck_assert_ptr_null(ph__svc_pipe_protected_prefix("ProtectedPrefix\\Users\\x"));
    ck_assert_ptr_null(ph__svc_pipe_protected_prefix(NULL));
    ck_assert_uint_eq(errs.count, 0);

    /* Refused like any bad name, and the message says what is accepted. */
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "ProtectedPrefix\\Users\\x", "registry", &errs),
                     PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "ProtectedPrefix\\Administrators\\", "registry",
                                           &errs), PH_EINVAL);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\ProtectedPrefix\\LocalService\\dbg");
    ck_assert_msg(strstr(errs.text[0], "except after a protected prefix (\"ProtectedPrefix\\Administrators\\NAME\"") !=
                      NULL, "%s", errs.text[0]);

    /* The client's --pipe: taken as given, normalised where it is used. */
    ck_assert_int_eq(ph__svc_parse_cli(3, ping, &co, why, sizeof(why)), 0);
    ck_assert_str_eq(co.pipe, "ProtectedPrefix\\Administrators\\pipehost");
    ph__svc_cli_options_free(&co);
}
END_TEST

/* The pool as STATUS and `pipehost status` show it. */
START_TEST(pool_text)
{
    char text[32];

    ph__svc_config_pool_text(255, text, sizeof(text));
    ck_assert_str_eq(text, "unlimited");
    ph__svc_config_pool_text(64, text, sizeof(text));
    ck_assert_str_eq(text, "fixed 64");
    ph__svc_config_pool_text(1, text, sizeof(text));
    ck_assert_str_eq(text, "fixed 1");
    ph__svc_config_pool_text(254, text, 4); /* cut, never overrun */
    ck_assert_str_eq(text, "fix");
}
END_TEST

/* A command-line mistake exits 64 (usage), a bad value 1 (configuration). */
START_TEST(run_usage_exit_code)
{
    char *unknown[] = {"run", "--no-such-option", "1"};
    char *value[] = {"run", "--max-message", "0"};
    svc_run_options o;

    ck_assert_int_eq(ph__svc_parse_run_options(3, unknown, 1, &cfg, &o, &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_USAGE);
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_parse_run_options(3, value, 1, &cfg, &o, &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
}
END_TEST

/* One pipe-name length limit in every message: the core's 1..256. */
START_TEST(pipe_name_one_limit)
{
    char name[301];

    memset(name, 'p', 300);
    name[300] = '\0';
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, name, "--pipe", &errs), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_msg(strstr(errs.text[0], "1..256") != NULL && strstr(errs.text[0], "265") == NULL, "%s", errs.text[0]);
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "", "--pipe", &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[0], "1..256") != NULL, "%s", errs.text[0]);
}
END_TEST

/* --service NAME names the pipe through the service's configuration; not together with --pipe. */
START_TEST(cli_service_option)
{
    svc_cli_options o;
    char why[200];
    char *ok[] = {"ping", "--service", "svc1"};
    char *both[] = {"status", "--service=svc1", "--pipe", "x"};
    char *empty[] = {"whoami", "--service="};

    ck_assert_int_eq(cli(3, ok, &o, why), 0);
    ck_assert_str_eq(o.service, "svc1");
    ck_assert_ptr_null(o.pipe);
    ph__svc_cli_options_free(&o);
    ck_assert_int_eq(cli(4, both, &o, why), PH_EINVAL);
    ck_assert_msg(strstr(why, "--pipe and --service") != NULL, "%s", why);
    ck_assert_int_eq(cli(2, empty, &o, why), PH_EINVAL);
}
END_TEST

/* Framing: "message" (the default) or "length", in the registry, for run (--framing) and for the client
 * commands; anything else is refused with a message naming the value and the accepted ones. It needs a
 * restart, and reaches the core's server configuration. */
START_TEST(framing)
{
    char *run_ok[] = {"run", "--framing", "length"};
    char *run_bad[] = {"run", "--framing=stream"};
    char *cli_ok[] = {"send", "ECHO", "x", "--framing=LENGTH"};
    char *cli_msg[] = {"ping", "--framing", "message"};
    char *cli_bad[] = {"whoami", "--framing", "bytes"};
    char *cli_none[] = {"ping"};
    svc_run_options ro;
    svc_cli_options o;
    ph_server_config sc;
    svc_config other;
    char why[200], text[32];
    int n = 0;

    ck_assert_int_eq(cfg.framing, PH_FRAMING_MESSAGE);
    ck_assert_ptr_eq(ph__svc_value_by_name("framing"), ph__svc_value_by_id(SVC_V_FRAMING));
    ck_assert_ptr_eq(ph__svc_value_by_option("--framing"), ph__svc_value_by_id(SVC_V_FRAMING));
    ck_assert_int_eq(ph__svc_value_by_id(SVC_V_FRAMING)->live, 0);
    ph__svc_config_value_text(&cfg, SVC_V_FRAMING, text, sizeof(text));
    ck_assert_str_eq(text, "message");

    /* The registry's text, case-insensitively as LogLevel. */
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_FRAMING, "length", "registry", &errs), 0);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_LENGTH);
    ck_assert_uint_ne(cfg.set_mask & (1u << SVC_V_FRAMING), 0);
    ph__svc_config_value_text(&cfg, SVC_V_FRAMING, text, sizeof(text));
    ck_assert_str_eq(text, "length");
    ph__svc_config_server(&cfg, &sc);
    ck_assert_int_eq(sc.framing, PH_FRAMING_LENGTH);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_FRAMING, "Message", "registry", &errs), 0);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_MESSAGE);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_FRAMING, "bytes", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, SVC_V_FRAMING, "", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_MESSAGE);
    ck_assert_uint_eq(errs.count, 2);
    ck_assert_str_eq(errs.text[0], "invalid configuration value Framing (registry): accepted message or length, "
                                   "given \"bytes\"");
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, SVC_V_FRAMING, 1, "registry", &errs), PH_EINVAL);

    /* A change is reported as needing a restart (the pipe's type changes with it). */
    ck_assert_int_eq(ph__svc_config_copy(&other, &cfg), 0);
    ck_assert_int_eq(ph__svc_config_set_text(&other, SVC_V_FRAMING, "length", "t", &errs), 0);
    diffs[0] = '\0';
    ph__svc_config_diff(&cfg, &other, on_diff, &n);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(diffs, "Framing message->length restart;");
    ph__svc_config_free(&other);

    /* pipehost run --framing: a wrong value is a configuration error (exit code 1), as other values. */
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(ph__svc_parse_run_options(3, run_ok, 1, &cfg, &ro, &errs), 0);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_LENGTH);
    ck_assert_int_eq(ph__svc_parse_run_options(2, run_bad, 1, &cfg, &ro, &errs), PH_EINVAL);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_LENGTH);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.text[0], "invalid configuration value Framing (--framing): accepted message or length, "
                                   "given \"stream\"");
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);

    /* The client commands: --framing given or not (then the framing the pipe serves applies). */
    ck_assert_int_eq(cli(4, cli_ok, &o, why), 0);
    ck_assert_int_eq(o.framing_set, 1);
    ck_assert_int_eq(o.framing, PH_FRAMING_LENGTH);
    ck_assert_uint_eq(o.request_len, 6);
    ck_assert_mem_eq(o.request, "ECHO x", 6);
    ph__svc_cli_options_free(&o);
    ck_assert_int_eq(cli(3, cli_msg, &o, why), 0);
    ck_assert_int_eq(o.framing_set, 1);
    ck_assert_int_eq(o.framing, PH_FRAMING_MESSAGE);
    ph__svc_cli_options_free(&o);
    ck_assert_int_eq(cli(1, cli_none, &o, why), 0);
    ck_assert_int_eq(o.framing_set, 0);
    ck_assert_int_eq(o.framing, PH_FRAMING_MESSAGE);
    ph__svc_cli_options_free(&o);
    ck_assert_int_eq(cli(3, cli_bad, &o, why), PH_EINVAL);
    ck_assert_str_eq(why, "--framing accepts message or length, given \"bytes\"");
    ck_assert_ptr_null(o.request);

    ck_assert_int_eq(ph__svc_parse_framing("LENGTH", &sc.framing), 0);
    ck_assert_int_eq(sc.framing, PH_FRAMING_LENGTH);
    ck_assert_int_eq(ph__svc_parse_framing("length ", &sc.framing), PH_EINVAL);
    ck_assert_str_eq(ph__svc_framing_name(PH_FRAMING_MESSAGE), "message");
    ck_assert_str_eq(ph__svc_framing_name(PH_FRAMING_LENGTH), "length");
}
END_TEST

/* A server's text made safe to print (escape.h): what a terminal would act on is shown as \xNN, text of any
 * script stays as it is. */
static void expect_escaped(const char *in, size_t len, const char *want)
{
    char out[256];
    size_t n = ph__svc_escape((const unsigned char *)in, len, out, sizeof(out));

    ck_assert_msg(strcmp(out, want) == 0, "escaped \"%s\", want \"%s\"", out, want);
    ck_assert_uint_eq(n, strlen(want));
}

START_TEST(escape_server_text)
{
    char small[9];

    /* Kept: printable ASCII, tab, line feed, CR LF, a backslash, valid UTF-8 (é, €, 😀). */
    expect_escaped("pipe=\\\\.\\pipe\\x\tok\r\n", 20, "pipe=\\\\.\\pipe\\x\tok\r\n");
    expect_escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* Terminal escapes: ESC (a colour, a window title), BEL, a lone CR, DEL, NUL; C1 CSI (U+009B). */
    expect_escaped("\x1b[31mred\x1b]0;t\x07", 14, "\\x1b[31mred\\x1b]0;t\\x07");
    expect_escaped("a\rb\x7f\x00z", 6, "a\\x0db\\x7f\\x00z");
    expect_escaped("\xc2\x9b" "2J", 4, "\\xc2\\x9b2J");
    /* Bidirectional controls (U+202E, U+2066) reorder what is shown. */
    expect_escaped("\xe2\x80\xae" "x\xe2\x81\xa6", 7, "\\xe2\\x80\\xaex\\xe2\\x81\\xa6");
    /* Invalid UTF-8: a stray continuation, an overlong '/', a surrogate, beyond U+10FFFF, a cut sequence. */
    expect_escaped("\x80", 1, "\\x80");
    expect_escaped("\xc0\xaf", 2, "\\xc0\\xaf");
    expect_escaped("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
    expect_escaped("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80");
    expect_escaped("\xe2\x82", 2, "\\xe2\\x82");
    expect_escaped("\xe2\x82" "A", 3, "\\xe2\\x82A");
    /* A buffer too small gets whole escapes only, and the full length is returned. */
    ck_assert_uint_eq(ph__svc_escape((const unsigned char *)"ab\x1b\x1b", 4, small, sizeof(small)), 10);
    ck_assert_str_eq(small, "ab\\x1b");
    ck_assert_uint_eq(ph__svc_escape((const unsigned char *)"x", 1, NULL, 0), 1);
}
END_TEST

/* --raw: the answer's bytes as received, for a file or another program. */
START_TEST(cli_raw_option)
{
    char *argv[] = {"send", "ECHO", "x", "--raw", NULL};
    char why[200];
    svc_cli_options o;

    ck_assert_int_eq(ph__svc_parse_cli(4, argv, &o, why, sizeof(why)), 0);
    ck_assert_int_eq(o.raw, 1);
    ph__svc_cli_options_free(&o);
    argv[3] = "--raw=1";
    ck_assert_int_eq(ph__svc_parse_cli(4, argv, &o, why, sizeof(why)), PH_EINVAL);
    ph__svc_cli_options_free(&o);
}
END_TEST

/* LogFile: local drive paths only. The service runs as SYSTEM and creates, appends to and renames this file:
 * a UNC path would make it connect out, a pipe or device path would make it write to one. Each refusal names
 * the value and the reason. */
START_TEST(log_file_local_drive_only)
{
    static const struct {
        const char *value;
        const char *reason;
    } refused[] = {
        {"\\\\srv\\share\\p.log", "UNC"},
        {"//srv/share/p.log", "UNC"},
        {"\\\\.\\pipe\\evil", "device, pipe"},
        {"\\\\?\\C:\\logs\\p.log", "device, pipe"},
        {"\\\\.\\C:\\logs\\p.log", "device, pipe"},
        {"\\\\?\\UNC\\srv\\share\\p.log", "device, pipe"},
        {"\\logs\\p.log", "without a drive"},
        {"p.log", "relative"},
        {"C:p.log", "relative"},
        {"C:\\logs\\..\\Windows\\p.log", "\"..\""},
        {"C:\\logs\\.\\p.log", "\"..\""},
        {"C:\\logs\\\\p.log", "empty part"},
        {"C:\\logs\\", "names a folder"},
        {"C:\\logs\\p.log:stream", "characters"},
        {"C:\\logs\\p*.log", "characters"},
        {"C:\\logs\\p.log.", "dot or a space"},
        {"C:\\logs \\p.log", "dot or a space"},
        {"C:\\logs\\CON", "device name"},
        {"C:\\logs\\nul.txt", "device name"},
        {"C:\\logs\\com1.log", "device name"},
        {"C:\\LPT9\\p.log", "device name"},
        {"C:\\logs\\conout$", "device name"},
        {"C:\\logs\\COM\xc2\xb9.log", "device name"},
    };
    static const char *const accepted[] = {"C:\\logs\\p.log", "d:/logs/p.log", "C:\\a b\\my.service.log",
                                           "C:\\logs\\console.log", "C:\\logs\\COM10.log", "C:\\nul2\\x"};
    size_t i;

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        memset(&errs, 0, sizeof(errs));
        ck_assert_msg(ph__svc_config_set_string(&cfg, SVC_V_LOG_FILE, refused[i].value, "registry", &errs) == PH_EINVAL,
                      "accepted %s", refused[i].value);
        ck_assert_ptr_null(cfg.log_file);
        ck_assert_uint_eq(errs.count, 1);
        ck_assert_msg(strstr(errs.text[0], "LogFile") != NULL &&
                          strstr(errs.text[0], "accepted an absolute path on a local drive") != NULL &&
                          strstr(errs.text[0], refused[i].reason) != NULL,
                      "%s: %s", refused[i].value, errs.text[0]);
    }
    for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        memset(&errs, 0, sizeof(errs));
        ck_assert_msg(ph__svc_config_set_string(&cfg, SVC_V_LOG_FILE, accepted[i], "registry", &errs) == 0, "%s: %s",
                      accepted[i], errs.text[0]);
        ck_assert_str_eq(cfg.log_file, accepted[i]);
    }
}
END_TEST

/* The host program's own settings: declared in ph_service_app, they join the table and follow its rules. */
static const ph_service_setting app_settings[] = {
    {"Greeting", "--greeting", PH_SETTING_STRING, 1, 32, 0, "hello", 0, "what HELLO answers"},
    {"RetryCount", "--retry-count", PH_SETTING_DWORD, 1, 10, 3, NULL, 1, "how often to retry"},
    {"Quiet", NULL, PH_SETTING_DWORD, 0, 1, 0, NULL, 0, "1: say less"},
};

static void declare_app(void)
{
    char why[200];
    ck_assert_int_eq(ph__svc_config_declare_app_values(app_settings, 3, why, sizeof(why)), 0);
    ph__svc_config_free(&cfg);
    ph__svc_config_init(&cfg, "pipehost"); /* with the declared defaults */
}

static void undeclare_app(void)
{
    ck_assert_int_eq(ph__svc_config_declare_app_values(NULL, 0, NULL, 0), 0);
}

struct diff_seen {
    int n, greeting_live, retry_live;
    char retry_new[32];
};

static void note_diff(void *ctx, const svc_value_def *def, const char *old_text, const char *new_text)
{
    struct diff_seen *d = ctx;
    (void)old_text;
    d->n++;
    if (strcmp(def->name, "Greeting") == 0)
        d->greeting_live = def->live;
    if (strcmp(def->name, "RetryCount") == 0) {
        d->retry_live = def->live;
        snprintf(d->retry_new, sizeof(d->retry_new), "%s", new_text);
    }
}

START_TEST(app_settings_follow_the_table)
{
    const svc_value_def *g, *r, *q;
    svc_config copy, other;
    struct diff_seen seen;
    char text[64];

    declare_app();
    ck_assert_uint_eq(ph__svc_value_count(), SVC_V_COUNT + 3);
    g = ph__svc_value_by_name("greeting"); /* case-insensitive, as the registry */
    r = ph__svc_value_by_option("--retry-count");
    q = ph__svc_value_by_name("Quiet");
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(ph__svc_app_index(g->id), 0);
    ck_assert_int_eq(ph__svc_app_index(r->id), 1);
    ck_assert_int_eq(ph__svc_app_index(SVC_V_PIPE_NAME), -1);
    ck_assert_int_eq(g->type, SVC_T_STRING);
    ck_assert_int_eq(r->live, 0); /* restart 1 */
    ck_assert_int_eq(g->live, 1);
    ck_assert_ptr_null(ph__svc_value_by_option(NULL));
    ck_assert_ptr_null(ph__svc_value_by_name("Greeting2"));

    /* Defaults. */
    ph__svc_config_value_text(&cfg, g->id, text, sizeof(text));
    ck_assert_str_eq(text, "hello");
    ck_assert_uint_eq(cfg.app_dword[1], 3);

    /* The same checks and the same messages as the built-in values. */
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, r->id, 11, "registry", &errs), PH_EINVAL);
    ck_assert_str_eq(errs.text[0], "invalid configuration value RetryCount (registry): accepted range 1..10, given 11");
    ck_assert_int_eq(ph__svc_config_set_text(&cfg, r->id, "x", "--retry-count", &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[1], "RetryCount (--retry-count): accepted a whole number in 1..10") != NULL, "%s",
                  errs.text[1]);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, g->id, "", "registry", &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[2], "Greeting (registry): accepted length 1..32") != NULL, "%s", errs.text[2]);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, g->id, "a\tb", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, g->id, 1, "registry", &errs), PH_EINVAL); /* wrong type */
    ck_assert_uint_eq(errs.count, 4);
    ck_assert_int_eq(ph__svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
    ck_assert_uint_eq(cfg.set_mask, 0); /* nothing applied */

    ck_assert_int_eq(ph__svc_config_set_text(&cfg, r->id, "0x7", "--retry-count", &errs), 0);
    ck_assert_int_eq(ph__svc_config_set_string(&cfg, g->id, "good day", "registry", &errs), 0);
    ck_assert_uint_eq(cfg.app_dword[1], 7);
    ck_assert_uint_ne(cfg.set_mask & (1u << r->id), 0);
    ph__svc_config_value_text(&cfg, g->id, text, sizeof(text));
    ck_assert_str_eq(text, "good day");

    /* Copies are deep; a diff names the program's values with their live flag. */
    ck_assert_int_eq(ph__svc_config_copy(&copy, &cfg), 0);
    ck_assert_ptr_ne(copy.app_str[0], cfg.app_str[0]);
    ck_assert_str_eq(copy.app_str[0], "good day");
    ph__svc_config_init(&other, "pipehost");
    memset(&seen, 0, sizeof(seen));
    ph__svc_config_diff(&other, &copy, note_diff, &seen);
    ck_assert_int_eq(seen.n, 2);
    ck_assert_int_eq(seen.greeting_live, 1);
    ck_assert_int_eq(seen.retry_live, 0);
    ck_assert_str_eq(seen.retry_new, "7");
    ph__svc_config_free(&other);
    ph__svc_config_free(&copy);
    undeclare_app();
    ck_assert_uint_eq(ph__svc_value_count(), SVC_V_COUNT);
    ck_assert_ptr_null(ph__svc_value_by_name("Greeting"));
}
END_TEST

START_TEST(app_settings_run_options)
{
    char *argv[] = {"run", "--greeting", "hi there", "--retry-count=9"};
    char *bad[] = {"run", "--quiet", "1"};
    svc_run_options o;

    declare_app();
    ck_assert_int_eq(ph__svc_parse_run_options(4, argv, 1, &cfg, &o, &errs), 0);
    ck_assert_str_eq(cfg.app_str[0], "hi there");
    ck_assert_uint_eq(cfg.app_dword[1], 9);
    /* Quiet has no option: it is a registry value only. */
    ck_assert_int_eq(ph__svc_parse_run_options(3, bad, 1, &cfg, &o, &errs), PH_EINVAL);
    ck_assert_msg(strstr(errs.text[0], "unknown option --quiet") != NULL, "%s", errs.text[0]);
    undeclare_app();
}
END_TEST

START_TEST(app_settings_bad_declarations)
{
    static const ph_service_setting builtin[] = {
        {"maxinstances", NULL, PH_SETTING_DWORD, 0, 1, 0, NULL, 0, ""}};
    static const ph_service_setting twice[] = {
        {"A1", NULL, PH_SETTING_DWORD, 0, 1, 0, NULL, 0, ""}, {"a1", NULL, PH_SETTING_DWORD, 0, 1, 0, NULL, 0, ""}};
    static const ph_service_setting spaced[] = {{"My Value", NULL, PH_SETTING_DWORD, 0, 1, 0, NULL, 0, ""}};
    static const ph_service_setting option_taken[] = {{"X", "--pipe", PH_SETTING_DWORD, 0, 1, 0, NULL, 0, ""}};
    static const ph_service_setting option_bad[] = {{"X", "-x", PH_SETTING_DWORD, 0, 1, 0, NULL, 0, ""}};
    static const ph_service_setting default_out[] = {{"X", NULL, PH_SETTING_DWORD, 5, 9, 4, NULL, 0, ""}};
    static const ph_service_setting long_string[] = {{"X", NULL, PH_SETTING_STRING, 1, 1025, 0, NULL, 0, ""}};
    static const ph_service_setting bad_type[] = {{"X", NULL, (ph_setting_type)7, 0, 1, 0, NULL, 0, ""}};
    ph_service_setting many[PH_SERVICE_MAX_SETTINGS + 1];
    char why[200], names[PH_SERVICE_MAX_SETTINGS + 1][8];
    unsigned i;

    ck_assert_int_eq(ph__svc_config_declare_app_values(builtin, 1, why, sizeof(why)), PH_EINVAL);
    ck_assert_msg(strstr(why, "setting 1 (\"maxinstances\")") != NULL && strstr(why, "already") != NULL, "%s", why);
    ck_assert_int_eq(ph__svc_config_declare_app_values(twice, 2, why, sizeof(why)), PH_EINVAL);
    ck_assert_msg(strstr(why, "setting 2") != NULL, "%s", why);
    ck_assert_uint_eq(ph__svc_value_count(), SVC_V_COUNT); /* a refused declaration leaves none */
    ck_assert_int_eq(ph__svc_config_declare_app_values(spaced, 1, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_declare_app_values(option_taken, 1, why, sizeof(why)), PH_EINVAL);
    ck_assert_msg(strstr(why, "option is already taken") != NULL, "%s", why);
    ck_assert_int_eq(ph__svc_config_declare_app_values(option_bad, 1, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_declare_app_values(default_out, 1, why, sizeof(why)), PH_EINVAL);
    ck_assert_msg(strstr(why, "default is outside") != NULL, "%s", why);
    ck_assert_int_eq(ph__svc_config_declare_app_values(long_string, 1, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_declare_app_values(bad_type, 1, why, sizeof(why)), PH_EINVAL);
    for (i = 0; i <= PH_SERVICE_MAX_SETTINGS; i++) {
        snprintf(names[i], sizeof(names[i]), "V%u", i);
        memset(&many[i], 0, sizeof(many[i]));
        many[i].name = names[i];
        many[i].max = 1;
    }
    ck_assert_int_eq(ph__svc_config_declare_app_values(many, PH_SERVICE_MAX_SETTINGS + 1, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__svc_config_declare_app_values(many, PH_SERVICE_MAX_SETTINGS, why, sizeof(why)), 0);
    ck_assert_uint_eq(ph__svc_value_count(), SVC_V_COUNT + PH_SERVICE_MAX_SETTINGS);
    /* The last id still has its own error-kind bit, apart from the special kinds. */
    ck_assert_int_eq(ph__svc_config_set_dword(&cfg, (svc_value_id)(SVC_V_COUNT + PH_SERVICE_MAX_SETTINGS - 1), 2,
                                          "registry", &errs), PH_EINVAL);
    ck_assert_uint_eq(errs.kinds & (SVC_CFG_KIND_OTHER | SVC_CFG_KIND_VERB_SDDL | SVC_CFG_KIND_USAGE), 0);
    undeclare_app();
}
END_TEST

START_TEST(app_names)
{
    char why[200];

    ck_assert_int_eq(ph__svc_check_app_names(NULL, NULL, NULL, why, sizeof(why)), 0);
    ck_assert_int_eq(ph__svc_check_app_names("Contoso Widget", "Contoso_Widget-2", "widgetd", why, sizeof(why)), 0);
    ck_assert_int_eq(ph__svc_check_app_names("..", NULL, NULL, why, sizeof(why)), PH_EINVAL);
    ck_assert_msg(strstr(why, "log_folder") != NULL, "%s", why);
    ck_assert_int_eq(ph__svc_check_app_names("a\\b", NULL, NULL, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__svc_check_app_names("a/b", NULL, NULL, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__svc_check_app_names("", NULL, NULL, why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__svc_check_app_names(NULL, "x ", NULL, why, sizeof(why)), PH_EINVAL);
    ck_assert_msg(strstr(why, "registry_root") != NULL, "%s", why);
    ck_assert_int_eq(ph__svc_check_app_names(NULL, NULL, "", why, sizeof(why)), PH_EINVAL);
    ck_assert_int_eq(ph__svc_check_app_names(NULL, NULL, "a\nb", why, sizeof(why)), PH_EINVAL);
}
END_TEST

static void add(Suite *s, TCase *tc, const TTest *test)
{
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("svc_config");

    add(s, tcase_create("defaults"), defaults);
    add(s, tcase_create("dword_ranges"), dword_ranges);
    add(s, tcase_create("text_values"), text_values);
    add(s, tcase_create("strings"), strings);
    add(s, tcase_create("cross_checks_and_exit_codes"), cross_checks_and_exit_codes);
    add(s, tcase_create("verb_sddls"), verb_sddls);
    add(s, tcase_create("lookup_and_diff"), lookup_and_diff);
    add(s, tcase_create("run_options"), run_options);
    add(s, tcase_create("cli_options"), cli_options);
    add(s, tcase_create("run_usage_exit_code"), run_usage_exit_code);
    add(s, tcase_create("pipe_name_one_limit"), pipe_name_one_limit);
    add(s, tcase_create("cli_service_option"), cli_service_option);
    add(s, tcase_create("framing"), framing);
    add(s, tcase_create("first_request_and_per_user_limits"), first_request_and_per_user_limits);
    add(s, tcase_create("protected_pipe_names"), protected_pipe_names);
    add(s, tcase_create("pool_text"), pool_text);
    add(s, tcase_create("escape_server_text"), escape_server_text);
    add(s, tcase_create("cli_raw_option"), cli_raw_option);
    add(s, tcase_create("log_file_local_drive_only"), log_file_local_drive_only);
    add(s, tcase_create("app_settings_follow_the_table"), app_settings_follow_the_table);
    add(s, tcase_create("app_settings_run_options"), app_settings_run_options);
    add(s, tcase_create("app_settings_bad_declarations"), app_settings_bad_declarations);
    add(s, tcase_create("app_names"), app_names);
    return s;
}
