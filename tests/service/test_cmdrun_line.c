/* test_cmdrun_line.c — command verbs: argument quoting (round trip through CommandLineToArgvW's rules) and the environment block. */
#include "testsupport.h"

#include "cmdrun_line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CommandLineToArgvW's rules, as documented (and as the Microsoft C runtime applies them since 2008): argv[0]
 * runs to the closing quote or the first blank; then blanks separate arguments, quotes toggle quoting, 2n
 * backslashes before a quote are n backslashes (the quote toggles), 2n+1 are n and a literal quote, other
 * backslashes are literal. Writes up to max arguments, each malloc'd; returns the count. */
static size_t parse(const char *line, char **argv, size_t max)
{
    size_t argc = 0;
    const char *p = line;
    char *cur;
    size_t len;

    cur = malloc(strlen(line) + 1);
    len = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            cur[len++] = *p;
        if (*p == '"')
            p++;
    } else {
        for (; *p && *p != ' ' && *p != '\t'; p++)
            cur[len++] = *p;
    }
    cur[len] = '\0';
    argv[argc++] = cur;
    for (;;) {
        int quoted = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || argc == max)
            break;
        cur = malloc(strlen(line) + 1);
        len = 0;
        while (*p && (quoted || (*p != ' ' && *p != '\t'))) {
            size_t n = 0, i;
            while (*p == '\\') {
                n++;
                p++;
            }
            if (*p == '"') {
                for (i = 0; i < n / 2; i++)
                    cur[len++] = '\\';
                if (n % 2) {
                    cur[len++] = '"';
                } else if (quoted && p[1] == '"') {
                    cur[len++] = '"'; /* "" inside quotes: a literal quote */
                    p++;
                } else {
                    quoted = !quoted;
                }
                p++;
            } else {
                for (i = 0; i < n; i++)
                    cur[len++] = '\\';
                if (*p && (quoted || (*p != ' ' && *p != '\t')))
                    cur[len++] = *p++;
            }
        }
        cur[len] = '\0';
        argv[argc++] = cur;
    }
    return argc;
}

static void round_trip(const char *const *args, size_t n)
{
    char *argv[64];
    char *line = ph__svc_cmdline_build("C:\\Program Files\\x\\prog.exe", args, n);
    size_t argc, i;

    ck_assert_ptr_nonnull(line);
    argc = parse(line, argv, 64);
    ck_assert_msg(argc == n + 1, "line [%s]: %lu arguments, want %lu", line, (unsigned long)argc,
                  (unsigned long)(n + 1));
    ck_assert_str_eq(argv[0], "C:\\Program Files\\x\\prog.exe");
    for (i = 0; i < n; i++)
        ck_assert_msg(strcmp(argv[i + 1], args[i]) == 0, "line [%s]: argument %lu is [%s], want [%s]", line, (unsigned long)i,
                      argv[i + 1], args[i]);
    for (i = 0; i < argc; i++)
        free(argv[i]);
    free(line);
}

START_TEST(quote_simple)
{
    static const char *const args[] = {"restart", "--name=Spooler", "a\\b\\c", "x\\\\"};
    char *line = ph__svc_cmdline_build("C:\\p.exe", args, 4);

    /* Arguments without blanks or quotes stay as they are. */
    ck_assert_str_eq(line, "\"C:\\p.exe\" restart --name=Spooler a\\b\\c x\\\\");
    free(line);
    round_trip(args, 4);
}
END_TEST

START_TEST(quote_hard)
{
    static const char *const args[] = {"",       "a b",      "\"",         "\\\"",    "a\\",    "a\\ b\\",
                                       "\\\\\"", "\t",       "x\"y z\"\\", "& | % ^", "%PATH%", "line\nbreak",
                                       "\"\"",   "trail\\\\", " ",         "\\"};
    round_trip(args, sizeof(args) / sizeof(args[0]));
}
END_TEST

START_TEST(quote_every_pair)
{
    /* Every string of up to four characters from the alphabet that matters to the parser. */
    static const char alpha[] = {'a', ' ', '"', '\\', '\t'};
    char buf[5];
    const char *args[1];
    unsigned len, idx, k;

    args[0] = buf;
    for (len = 0; len <= 4; len++) {
        unsigned total = 1;
        for (k = 0; k < len; k++)
            total *= 5;
        for (idx = 0; idx < total; idx++) {
            unsigned v = idx;
            for (k = 0; k < len; k++) {
                buf[k] = alpha[v % 5];
                v /= 5;
            }
            buf[len] = '\0';
            round_trip(args, 1);
        }
    }
}
END_TEST

START_TEST(quote_measure)
{
    size_t used = 0, need = ph__svc_cmdline_quote("a \"b\"\\", NULL, 0, &used);
    char small[4];

    ck_assert_uint_eq(need, strlen("\"a \\\"b\\\"\\\\\""));
    /* A buffer too small gets no more than fits, and stays terminated. */
    used = 0;
    ck_assert_uint_eq(ph__svc_cmdline_quote("a \"b\"\\", small, sizeof(small), &used), need);
    ck_assert_uint_eq(strlen(small), 3);
}
END_TEST

START_TEST(env_check)
{
    char why[200];

    ck_assert_int_eq(ph__svc_cmdenv_check("MODE=fast", why, sizeof(why)), 0);
    ck_assert_int_eq(ph__svc_cmdenv_check("EMPTY=", why, sizeof(why)), 0);
    ck_assert_int_eq(ph__svc_cmdenv_check("NOEQUALS", why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "NAME=VALUE"));
    ck_assert_int_eq(ph__svc_cmdenv_check("=x", why, sizeof(why)), -1);
    ck_assert_int_eq(ph__svc_cmdenv_check("A=b\nC=d", why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "control"));
    ck_assert_int_eq(ph__svc_cmdenv_check("systemroot=C:\\evil", why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "set by the service"));
    ck_assert_int_eq(ph__svc_cmdenv_check("PIPEHOST_USER_SID=S-1-5-18", why, sizeof(why)), -1);
    ck_assert_int_eq(ph__svc_cmdenv_check("pipehost_anything=1", why, sizeof(why)), -1);
    ck_assert_int_eq(ph__svc_cmdenv_check("PIPEHOSTX=1", why, sizeof(why)), 0);
}
END_TEST

START_TEST(env_block)
{
    static const char *const conf[] = {"zeta=1", "Alpha=two words", "MODE=a=b"};
    svc_cmd_identity id = {"S-1-5-21-1-2-3-1001", 4242, 3, "RESTART", 77};
    size_t len = 0, count = 0;
    const char *p;
    char *block = ph__svc_cmdenv_build(conf, 3, "C:\\Windows", &id, &len);
    static const char *const want[] = {"Alpha=two words", "MODE=a=b",          "PIPEHOST_CLIENT_PID=4242",
                                       "PIPEHOST_CONN_ID=77", "PIPEHOST_SESSION=3", "PIPEHOST_USER_SID=S-1-5-21-1-2-3-1001",
                                       "PIPEHOST_VERB=RESTART", "SystemRoot=C:\\Windows", "zeta=1"};

    ck_assert_ptr_nonnull(block);
    /* Exactly these entries, sorted case-insensitively, double-NUL terminated; nothing else. */
    for (p = block; *p; p += strlen(p) + 1) {
        ck_assert_uint_lt(count, sizeof(want) / sizeof(want[0]));
        ck_assert_str_eq(p, want[count]);
        count++;
    }
    ck_assert_uint_eq(count, sizeof(want) / sizeof(want[0]));
    ck_assert_uint_eq(len, (size_t)(p - block) + 1);
    free(block);
    /* No SystemRoot when none is given; an entry without '=' is refused. */
    block = ph__svc_cmdenv_build(NULL, 0, NULL, &id, &len);
    ck_assert_ptr_nonnull(block);
    for (p = block; *p; p += strlen(p) + 1)
        ck_assert_msg(strncmp(p, "SystemRoot=", 11) != 0, "SystemRoot present");
    free(block);
    ck_assert_ptr_null(ph__svc_cmdenv_build((const char *const[]){"BAD"}, 1, NULL, &id, &len));
}
END_TEST

static void add(Suite *s, TCase *tc, const TTest *test)
{
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("cmdrun_line");

    add(s, tcase_create("quote_simple"), quote_simple);
    add(s, tcase_create("quote_hard"), quote_hard);
    add(s, tcase_create("quote_every_pair"), quote_every_pair);
    add(s, tcase_create("quote_measure"), quote_measure);
    add(s, tcase_create("env_check"), env_check);
    add(s, tcase_create("env_block"), env_block);
    return s;
}
