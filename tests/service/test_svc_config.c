/* test_svc_config.c — the service's configuration rules and command-line parsing (platform-neutral code). */
#include "testsupport.h"

#include "config.h"
#include "escape.h"
#include "exitcodes.h"
#include "options.h"

#include <stdio.h>
#include <string.h>

static svc_config cfg;
static svc_cfg_errors errs;

static void setup(void)
{
    svc_config_init(&cfg, "pipehost");
    memset(&errs, 0, sizeof(errs));
}

static void teardown(void)
{
    svc_config_free(&cfg);
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
    ck_assert_int_eq(svc_config_check(&cfg, &errs), 0);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_OK);
}
END_TEST

START_TEST(dword_ranges)
{
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_MAX_MESSAGE, 1, "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_MAX_MESSAGE, 64u * 1024 * 1024, "registry", &errs), 0);
    ck_assert_uint_eq(cfg.max_message_bytes, 64u * 1024 * 1024);
    ck_assert_uint_eq(errs.count, 0);
    /* Waiting instances up to 255, for a burst of that many simultaneous clients. */
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_PENDING, 255, "registry", &errs), 0);
    ck_assert_uint_eq(cfg.pending_instances, 255);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_PENDING, 256, "registry", &errs), PH_EINVAL);
    ck_assert_uint_eq(cfg.pending_instances, 255);
    memset(&errs, 0, sizeof(errs));

    /* Out of range: refused, unchanged, and the message names value, range and given value. */
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_MAX_MESSAGE, 64u * 1024 * 1024 + 1, "registry", &errs), PH_EINVAL);
    ck_assert_uint_eq(cfg.max_message_bytes, 64u * 1024 * 1024);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.text[0], "invalid configuration value MaxMessageBytes (registry): accepted range "
                                   "1..67108864 bytes, given 67108865");
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 0, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 256, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_IDLE_TIMEOUT, 99, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_IDLE_TIMEOUT, 0xFFFFFFFFu, "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_WRITE_TIMEOUT, 0xFFFFFFFFu, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_DRAIN_TIMEOUT, 300001, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_LOG_MAX_BYTES, 1000, "registry", &errs), PH_EINVAL);
    /* A string value through the DWORD setter is a programming error, not a configuration one. */
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_PIPE_NAME, 1, "registry", &errs), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 7);
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
}
END_TEST

START_TEST(text_values)
{
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "0x1000", "--max-message", &errs), 0);
    ck_assert_uint_eq(cfg.max_message_bytes, 4096);
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_IDLE_TIMEOUT, "never", "--idle-timeout", &errs), 0);
    ck_assert_uint_eq(cfg.idle_timeout_ms, SVC_INFINITE);
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_DRAIN_TIMEOUT, "never", "--drain-timeout", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "12k", "--max-message", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "-1", "--max-message", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "4294967296", "--max-message", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, " 5", "--max-message", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_MAX_MESSAGE, "", "--max-message", &errs), PH_EINVAL);
    ck_assert_uint_eq(cfg.max_message_bytes, 4096);
    ck_assert_msg(strstr(errs.text[1], "MaxMessageBytes (--max-message): accepted a whole number in 1..67108864 bytes, "
                                       "given \"12k\"") != NULL, "%s", errs.text[1]);
}
END_TEST

START_TEST(strings)
{
    char big[300];

    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "mine", "registry", &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\mine");
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "\\\\.\\PIPE\\Full", "registry", &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\Full");
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "\\\\host\\pipe\\x", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "a/b", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "", "registry", &errs), PH_EINVAL);
    memset(big, 'n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, big, "registry", &errs), PH_EINVAL);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\Full");

    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_LOG_LEVEL, "DEBUG", "registry", &errs), 0);
    ck_assert_int_eq(cfg.log_level, PH_LOG_DEBUG);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_LOG_LEVEL, "warning", "registry", &errs), 0);
    ck_assert_int_eq(cfg.log_level, PH_LOG_WARN);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_LOG_LEVEL, "trace", "registry", &errs), PH_EINVAL);

    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_LOG_FILE, "C:\\logs\\p.log", "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_LOG_FILE, "\\\\srv\\share\\p.log", "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_LOG_FILE, "p.log", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_LOG_FILE, "C:relative.log", "registry", &errs), PH_EINVAL);
    ck_assert_str_eq(cfg.log_file, "\\\\srv\\share\\p.log");

    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_SDDL, "D:P(A;;GA;;;SY)", "registry", &errs), 0);
    ck_assert_str_eq(cfg.sddl, "D:P(A;;GA;;;SY)");
    /* The SDDL rules are the core's checker's alone (svc_config_check_sddl, Windows): here only the text. */
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_SDDL, "D:P(A;;GA;;;SY)\n", "registry", &errs), PH_EINVAL);
    ck_assert_str_eq(cfg.sddl, "D:P(A;;GA;;;SY)");
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_SDDL, "d:no_access_control", "registry", &errs), 0);
    ck_assert_str_eq(cfg.sddl, "d:no_access_control");
}
END_TEST

START_TEST(cross_checks_and_exit_codes)
{
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_MAX_INSTANCES, 2, "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_PENDING, 3, "registry", &errs), 0);
    ck_assert_int_eq(svc_config_check(&cfg, &errs), 0); /* a fixed pool: PendingInstances does not apply */
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_PENDING, 2, "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_DRAIN_TIMEOUT, 30000, "registry", &errs), 0);
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(svc_config_check(&cfg, &errs), PH_EINVAL); /* preshutdown 30000 < drain + 1000 */
    ck_assert_msg(strstr(errs.text[0], "PreshutdownTimeoutMs") != NULL, "%s", errs.text[0]);

    /* Only Sddl wrong: the security exit code; anything else wrong too: configuration. */
    memset(&errs, 0, sizeof(errs));
    svc_cfg_error(&errs, SVC_V_SDDL, "check", "bad");
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);
    svc_cfg_error_other(&errs, "unknown value");
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
    /* A refused per-verb descriptor is a security error too; a bad verb name is not. */
    memset(&errs, 0, sizeof(errs));
    svc_cfg_error_verb(&errs, SVC_CFG_KIND_VERB_SDDL, "ECHO", "check", "bad");
    ck_assert_str_eq(errs.text[0], "invalid per-verb security descriptor Verbs\\ECHO (check): bad");
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);
    svc_cfg_error(&errs, SVC_V_SDDL, "check", "bad");
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_SECURITY);
    svc_cfg_error_verb(&errs, SVC_CFG_KIND_OTHER, "E CHO", "registry", "bad name");
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
}
END_TEST

/* Per-verb descriptors: the verb's shape, the text's, replacement by name, deep copies. */
START_TEST(verb_sddls)
{
    svc_config copy;

    ck_assert_int_eq(svc_config_set_verb_sddl(&cfg, "ECHO", "D:(A;;GA;;;BA)", "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_verb_sddl(&cfg, "status", "D:(A;;GA;;;WD)", "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_verb_sddl(&cfg, "echo", "D:(A;;GA;;;SY)", "registry", &errs), 0);
    ck_assert_uint_eq(cfg.verb_sddl_count, 2);
    ck_assert_str_eq(cfg.verb_sddls[0].verb, "echo");
    ck_assert_str_eq(cfg.verb_sddls[0].sddl, "D:(A;;GA;;;SY)");
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_int_eq(svc_config_set_verb_sddl(&cfg, "TWO WORDS", "D:(A;;GA;;;SY)", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_verb_sddl(&cfg, "", "D:(A;;GA;;;SY)", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_verb_sddl(&cfg, "ECHO", "", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_verb_sddl(&cfg, "ECHO", "D:(A;;GA;;;SY)\n", "registry", &errs), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 4);
    ck_assert_msg(strstr(errs.text[0], "Verbs\\TWO WORDS") != NULL, "%s", errs.text[0]);
    ck_assert_uint_eq(cfg.verb_sddl_count, 2);
    ck_assert_int_eq(svc_config_copy(&copy, &cfg), 0);
    ck_assert_uint_eq(copy.verb_sddl_count, 2);
    ck_assert_ptr_ne(copy.verb_sddls[1].sddl, cfg.verb_sddls[1].sddl);
    ck_assert_str_eq(copy.verb_sddls[1].sddl, "D:(A;;GA;;;WD)");
    svc_config_free(&copy);
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

    ck_assert_ptr_eq(svc_value_by_name("maxmessagebytes"), svc_value_by_id(SVC_V_MAX_MESSAGE));
    ck_assert_ptr_eq(svc_value_by_option("--pipe"), svc_value_by_id(SVC_V_PIPE_NAME));
    ck_assert_ptr_null(svc_value_by_name("MaxMesageBytes"));
    ck_assert_ptr_null(svc_value_by_option("--Pipe"));
    for (i = 0; i < SVC_V_COUNT; i++)
        ck_assert_int_eq(svc_value_by_id((svc_value_id)i)->id, (int)i);

    ck_assert_int_eq(svc_config_copy(&other, &cfg), 0);
    ck_assert_int_eq(svc_config_set_dword(&other, SVC_V_MAX_MESSAGE, 100, "t", &errs), 0);
    ck_assert_int_eq(svc_config_set_string(&other, SVC_V_SDDL, "D:(A;;GA;;;SY)", "t", &errs), 0);
    svc_config_diff(&cfg, &other, on_diff, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(diffs, "MaxMessageBytes 65536->100 live;Sddl (default)->D:(A;;GA;;;SY) restart;");
    svc_config_free(&other);
}
END_TEST

START_TEST(run_options)
{
    char *argv[] = {"run", "--pipe", "dbg", "--max-message=1024", "--service", "svc1", "--stop-event", "Local\\x",
                    "--idle-timeout", "never"};
    char *bad[] = {"run", "--max-message", "0", "--frob", "x", "stray", "--pipe"};
    svc_run_options o;

    ck_assert_int_eq(svc_parse_run_options(10, argv, 0, &cfg, &o, &errs), 0);
    ck_assert_str_eq(o.service, "svc1");
    ck_assert_str_eq(o.stop_event, "Local\\x");
    ck_assert_uint_eq(cfg.max_message_bytes, 65536); /* first pass applies nothing */
    ck_assert_int_eq(svc_parse_run_options(10, argv, 1, &cfg, &o, &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\dbg");
    ck_assert_uint_eq(cfg.max_message_bytes, 1024);
    ck_assert_uint_eq(cfg.idle_timeout_ms, SVC_INFINITE);
    ck_assert_uint_eq(errs.count, 0);

    ck_assert_int_eq(svc_parse_run_options(7, bad, 1, &cfg, &o, &errs), PH_EINVAL);
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
    return svc_parse_cli(argc, argv, o, why, 200);
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
    svc_cli_options_free(&o);

    ck_assert_int_eq(cli(6, send1, &o, why), 0);
    ck_assert_uint_eq(o.request_len, 16);
    ck_assert_mem_eq(o.request, "ECHO hello world", 16);
    svc_cli_options_free(&o);

    ck_assert_int_eq(cli(3, send2, &o, why), 0);
    ck_assert_uint_eq(o.request_len, 5);
    ck_assert_mem_eq(o.request, "ECHO ", 5);
    svc_cli_options_free(&o);

    ck_assert_int_eq(cli(4, send3, &o, why), 0);
    ck_assert_uint_eq(o.request_len, 11);
    ck_assert_mem_eq(o.request, "ECHO --pipe", 11);
    ck_assert_ptr_null(o.pipe);
    /* The server is verified by default. */
    ck_assert_int_eq(o.no_verify_server, 0);
    ck_assert_ptr_null(o.server_sid);
    svc_cli_options_free(&o);

    {
        char *v1[] = {"ping", "--no-verify-server"};
        char *v2[] = {"ping", "--server-sid", "S-1-5-19"};
        char *v3[] = {"ping", "--server-sid=LocalService"};
        char *v4[] = {"ping", "--server-sid", "S-1-5-19", "--no-verify-server"};
        ck_assert_int_eq(cli(2, v1, &o, why), 0);
        ck_assert_int_eq(o.no_verify_server, 1);
        svc_cli_options_free(&o);
        ck_assert_int_eq(cli(3, v2, &o, why), 0);
        ck_assert_str_eq(o.server_sid, "S-1-5-19");
        svc_cli_options_free(&o);
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
    const svc_value_def *first = svc_value_by_name("firstrequesttimeoutms");
    const svc_value_def *per_user = svc_value_by_name("MaxConnectionsPerUser");
    char *argv[] = {"run", "--first-request-timeout-ms", "250", "--max-connections-per-user=0"};
    svc_run_options o;
    svc_config other;
    ph_limits lim;
    char text[40];
    int n = 0;

    ck_assert_ptr_eq(first, svc_value_by_id(SVC_V_FIRST_REQUEST_TIMEOUT));
    ck_assert_ptr_eq(per_user, svc_value_by_id(SVC_V_MAX_CONN_PER_USER));
    ck_assert_ptr_eq(svc_value_by_option("--first-request-timeout-ms"), first);
    ck_assert_ptr_eq(svc_value_by_option("--max-connections-per-user"), per_user);
    ck_assert_int_eq(first->live, 1);
    ck_assert_int_eq(per_user->live, 1);

    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 100, "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 3600000, "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, SVC_INFINITE, "registry", &errs), 0);
    svc_config_value_text(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, text, sizeof(text));
    ck_assert_str_eq(text, "never");
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, "2000", "--first-request-timeout-ms", &errs),
                     0);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_MAX_CONN_PER_USER, 0, "registry", &errs), 0);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_MAX_CONN_PER_USER, 255, "registry", &errs), 0);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, 2000);
    ck_assert_uint_eq(cfg.max_connections_per_user, 255);

    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 0, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 99, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_FIRST_REQUEST_TIMEOUT, 3600001, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_MAX_CONN_PER_USER, 256, "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_text(&cfg, SVC_V_MAX_CONN_PER_USER, "never", "--max-connections-per-user", &errs),
                     PH_EINVAL);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, 2000);
    ck_assert_uint_eq(cfg.max_connections_per_user, 255);
    ck_assert_uint_eq(errs.count, 5);
    ck_assert_str_eq(errs.text[0], "invalid configuration value FirstRequestTimeoutMs (registry): accepted range "
                                   "100..3600000 ms, or 4294967295 (never), given 0");
    ck_assert_str_eq(errs.text[3], "invalid configuration value MaxConnectionsPerUser (registry): accepted range "
                                   "0..255, given 256");
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);

    /* The command line; then the core's limits carry both, and accept them. */
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(svc_parse_run_options(4, argv, 1, &cfg, &o, &errs), 0);
    ck_assert_uint_eq(cfg.first_request_timeout_ms, 250);
    ck_assert_uint_eq(cfg.max_connections_per_user, 0);
    svc_config_limits(&cfg, &lim);
    ck_assert_uint_eq(lim.first_request_timeout_ms, 250);
    ck_assert_uint_eq(lim.max_connections_per_user, 0);
    ck_assert_int_eq(ph_limits_validate(&lim), 0);

    /* A change applies at PARAMCHANGE, like the other limits. */
    ck_assert_int_eq(svc_config_copy(&other, &cfg), 0);
    ck_assert_int_eq(svc_config_set_text(&other, SVC_V_FIRST_REQUEST_TIMEOUT, "never", "t", &errs), 0);
    ck_assert_int_eq(svc_config_set_text(&other, SVC_V_MAX_CONN_PER_USER, "8", "t", &errs), 0);
    diffs[0] = '\0';
    svc_config_diff(&cfg, &other, on_diff, &n);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(diffs, "FirstRequestTimeoutMs 250->never live;MaxConnectionsPerUser 0->8 live;");
    svc_config_free(&other);
}
END_TEST

/* A pipe name under a protected prefix: PipeName and --pipe accept it (the prefix's words in any case, kept in
 * one spelling), and svc_pipe_protected_prefix tells which account's it is. */
START_TEST(protected_pipe_names)
{
    char *argv[] = {"run", "--pipe", "\\\\.\\pipe\\ProtectedPrefix\\LocalService\\dbg"};
    char *ping[] = {"ping", "--pipe", "ProtectedPrefix\\Administrators\\pipehost"};
    svc_cli_options co;
    svc_run_options o;
    char why[200];

    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "protectedprefix\\administrators\\pipehost",
                                           "registry", &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\pipehost");
    ck_assert_str_eq(svc_pipe_protected_prefix(cfg.pipe_name), "Administrators");
    ck_assert_int_eq(svc_parse_run_options(3, argv, 1, &cfg, &o, &errs), 0);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\ProtectedPrefix\\LocalService\\dbg");
    ck_assert_str_eq(svc_pipe_protected_prefix(cfg.pipe_name), "LocalService");
    ck_assert_str_eq(svc_pipe_protected_prefix("ProtectedPrefix\\NetworkService\\x"), "NetworkService");
    ck_assert_ptr_null(svc_pipe_protected_prefix("pipehost"));
    ck_assert_ptr_null(svc_pipe_protected_prefix("\\\\.\\pipe\\ProtectedPrefixAdministrators"));
    ck_assert_ptr_null(svc_pipe_protected_prefix("ProtectedPrefix\\Users\\x"));
    ck_assert_ptr_null(svc_pipe_protected_prefix(NULL));
    ck_assert_uint_eq(errs.count, 0);

    /* Refused like any bad name, and the message says what is accepted. */
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "ProtectedPrefix\\Users\\x", "registry", &errs),
                     PH_EINVAL);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "ProtectedPrefix\\Administrators\\", "registry",
                                           &errs), PH_EINVAL);
    ck_assert_str_eq(cfg.pipe_name, "\\\\.\\pipe\\ProtectedPrefix\\LocalService\\dbg");
    ck_assert_msg(strstr(errs.text[0], "except after a protected prefix (\"ProtectedPrefix\\Administrators\\NAME\"") !=
                      NULL, "%s", errs.text[0]);

    /* The client's --pipe: taken as given, normalised where it is used. */
    ck_assert_int_eq(svc_parse_cli(3, ping, &co, why, sizeof(why)), 0);
    ck_assert_str_eq(co.pipe, "ProtectedPrefix\\Administrators\\pipehost");
    svc_cli_options_free(&co);
}
END_TEST

/* The pool as STATUS and `pipehost status` show it. */
START_TEST(pool_text)
{
    char text[32];

    svc_config_pool_text(255, text, sizeof(text));
    ck_assert_str_eq(text, "unlimited");
    svc_config_pool_text(64, text, sizeof(text));
    ck_assert_str_eq(text, "fixed 64");
    svc_config_pool_text(1, text, sizeof(text));
    ck_assert_str_eq(text, "fixed 1");
    svc_config_pool_text(254, text, 4); /* cut, never overrun */
    ck_assert_str_eq(text, "fix");
}
END_TEST

/* A command-line mistake exits 64 (usage), a bad value 1 (configuration). */
START_TEST(run_usage_exit_code)
{
    char *unknown[] = {"run", "--no-such-option", "1"};
    char *value[] = {"run", "--max-message", "0"};
    svc_run_options o;

    ck_assert_int_eq(svc_parse_run_options(3, unknown, 1, &cfg, &o, &errs), PH_EINVAL);
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_USAGE);
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(svc_parse_run_options(3, value, 1, &cfg, &o, &errs), PH_EINVAL);
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
}
END_TEST

/* One pipe-name length limit in every message: the core's 1..256. */
START_TEST(pipe_name_one_limit)
{
    char name[301];

    memset(name, 'p', 300);
    name[300] = '\0';
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, name, "--pipe", &errs), PH_EINVAL);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_msg(strstr(errs.text[0], "1..256") != NULL && strstr(errs.text[0], "265") == NULL, "%s", errs.text[0]);
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_PIPE_NAME, "", "--pipe", &errs), PH_EINVAL);
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
    svc_cli_options_free(&o);
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
    ck_assert_ptr_eq(svc_value_by_name("framing"), svc_value_by_id(SVC_V_FRAMING));
    ck_assert_ptr_eq(svc_value_by_option("--framing"), svc_value_by_id(SVC_V_FRAMING));
    ck_assert_int_eq(svc_value_by_id(SVC_V_FRAMING)->live, 0);
    svc_config_value_text(&cfg, SVC_V_FRAMING, text, sizeof(text));
    ck_assert_str_eq(text, "message");

    /* The registry's text, case-insensitively as LogLevel. */
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_FRAMING, "length", "registry", &errs), 0);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_LENGTH);
    ck_assert_uint_ne(cfg.set_mask & (1u << SVC_V_FRAMING), 0);
    svc_config_value_text(&cfg, SVC_V_FRAMING, text, sizeof(text));
    ck_assert_str_eq(text, "length");
    svc_config_server(&cfg, &sc);
    ck_assert_int_eq(sc.framing, PH_FRAMING_LENGTH);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_FRAMING, "Message", "registry", &errs), 0);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_MESSAGE);
    ck_assert_uint_eq(errs.count, 0);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_FRAMING, "bytes", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(svc_config_set_string(&cfg, SVC_V_FRAMING, "", "registry", &errs), PH_EINVAL);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_MESSAGE);
    ck_assert_uint_eq(errs.count, 2);
    ck_assert_str_eq(errs.text[0], "invalid configuration value Framing (registry): accepted message or length, "
                                   "given \"bytes\"");
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);
    ck_assert_int_eq(svc_config_set_dword(&cfg, SVC_V_FRAMING, 1, "registry", &errs), PH_EINVAL);

    /* A change is reported as needing a restart (the pipe's type changes with it). */
    ck_assert_int_eq(svc_config_copy(&other, &cfg), 0);
    ck_assert_int_eq(svc_config_set_text(&other, SVC_V_FRAMING, "length", "t", &errs), 0);
    diffs[0] = '\0';
    svc_config_diff(&cfg, &other, on_diff, &n);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(diffs, "Framing message->length restart;");
    svc_config_free(&other);

    /* pipehost run --framing: a wrong value is a configuration error (exit code 1), as other values. */
    memset(&errs, 0, sizeof(errs));
    ck_assert_int_eq(svc_parse_run_options(3, run_ok, 1, &cfg, &ro, &errs), 0);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_LENGTH);
    ck_assert_int_eq(svc_parse_run_options(2, run_bad, 1, &cfg, &ro, &errs), PH_EINVAL);
    ck_assert_int_eq(cfg.framing, PH_FRAMING_LENGTH);
    ck_assert_uint_eq(errs.count, 1);
    ck_assert_str_eq(errs.text[0], "invalid configuration value Framing (--framing): accepted message or length, "
                                   "given \"stream\"");
    ck_assert_int_eq(svc_cfg_errors_exit_code(&errs), PH_EXIT_CONFIG);

    /* The client commands: --framing given or not (then the framing the pipe serves applies). */
    ck_assert_int_eq(cli(4, cli_ok, &o, why), 0);
    ck_assert_int_eq(o.framing_set, 1);
    ck_assert_int_eq(o.framing, PH_FRAMING_LENGTH);
    ck_assert_uint_eq(o.request_len, 6);
    ck_assert_mem_eq(o.request, "ECHO x", 6);
    svc_cli_options_free(&o);
    ck_assert_int_eq(cli(3, cli_msg, &o, why), 0);
    ck_assert_int_eq(o.framing_set, 1);
    ck_assert_int_eq(o.framing, PH_FRAMING_MESSAGE);
    svc_cli_options_free(&o);
    ck_assert_int_eq(cli(1, cli_none, &o, why), 0);
    ck_assert_int_eq(o.framing_set, 0);
    ck_assert_int_eq(o.framing, PH_FRAMING_MESSAGE);
    svc_cli_options_free(&o);
    ck_assert_int_eq(cli(3, cli_bad, &o, why), PH_EINVAL);
    ck_assert_str_eq(why, "--framing accepts message or length, given \"bytes\"");
    ck_assert_ptr_null(o.request);

    ck_assert_int_eq(svc_parse_framing("LENGTH", &sc.framing), 0);
    ck_assert_int_eq(sc.framing, PH_FRAMING_LENGTH);
    ck_assert_int_eq(svc_parse_framing("length ", &sc.framing), PH_EINVAL);
    ck_assert_str_eq(svc_framing_name(PH_FRAMING_MESSAGE), "message");
    ck_assert_str_eq(svc_framing_name(PH_FRAMING_LENGTH), "length");
}
END_TEST

/* A server's text made safe to print (escape.h): what a terminal would act on is shown as \xNN, text of any
 * script stays as it is. */
static void expect_escaped(const char *in, size_t len, const char *want)
{
    char out[256];
    size_t n = svc_escape((const unsigned char *)in, len, out, sizeof(out));

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
    ck_assert_uint_eq(svc_escape((const unsigned char *)"ab\x1b\x1b", 4, small, sizeof(small)), 10);
    ck_assert_str_eq(small, "ab\\x1b");
    ck_assert_uint_eq(svc_escape((const unsigned char *)"x", 1, NULL, 0), 1);
}
END_TEST

/* --raw: the answer's bytes as received, for a file or another program. */
START_TEST(cli_raw_option)
{
    char *argv[] = {"send", "ECHO", "x", "--raw", NULL};
    char why[200];
    svc_cli_options o;

    ck_assert_int_eq(svc_parse_cli(4, argv, &o, why, sizeof(why)), 0);
    ck_assert_int_eq(o.raw, 1);
    svc_cli_options_free(&o);
    argv[3] = "--raw=1";
    ck_assert_int_eq(svc_parse_cli(4, argv, &o, why, sizeof(why)), PH_EINVAL);
    svc_cli_options_free(&o);
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
    return s;
}
