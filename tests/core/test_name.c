/* test_name.c — pipe name normalisation: bare and full local names in, "\\.\pipe\NAME" out, everything else refused. */
#include "testsupport.h"

#include <pipehost/pipehost.h>
#include <string.h>

#define FULL_MAX (sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX)

START_TEST(bare_and_full)
{
    char out[FULL_MAX];

    ck_assert_int_eq(ph_pipe_name_normalize("pipehost", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "\\\\.\\pipe\\pipehost");
    ck_assert_int_eq(ph_pipe_name_normalize("\\\\.\\pipe\\pipehost", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "\\\\.\\pipe\\pipehost");
    /* The prefix is matched case-insensitively and with either slash, as Windows does. */
    ck_assert_int_eq(ph_pipe_name_normalize("\\\\.\\PIPE\\Mixed.Case-1", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "\\\\.\\pipe\\Mixed.Case-1");
    ck_assert_int_eq(ph_pipe_name_normalize("//./pipe/x", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "\\\\.\\pipe\\x");
    /* UTF-8 beyond ASCII is a name like any other. */
    ck_assert_int_eq(ph_pipe_name_normalize("caf\xc3\xa9", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "\\\\.\\pipe\\caf\xc3\xa9");
}
END_TEST

START_TEST(refused)
{
    static const char *const bad[] = {
        "",                    /* empty */
        "\\\\.\\pipe\\",       /* prefix only */
        "\\\\server\\pipe\\x", /* another host: never served */
        "\\\\.\\pip\\x",       /* not the pipe namespace */
        "\\\\.\\pipe",         /* truncated prefix */
        "a\\b",                /* separator in the name */
        "a/b",
        "\\\\.\\pipe\\a\\b",
        "tab\there", /* control characters */
        "del\x7f",
        "\\x", /* starts like a path but is not the prefix */
    };
    char out[FULL_MAX];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(out, "untouched");
        ck_assert_msg(ph_pipe_name_normalize(bad[i], out, sizeof(out)) == PH_EBADNAME, "accepted bad name #%lu",
                      (unsigned long)i);
    }
    ck_assert_int_eq(ph_pipe_name_normalize(NULL, out, sizeof(out)), PH_EINVAL);
    ck_assert_int_eq(ph_pipe_name_normalize("x", NULL, 10), PH_EINVAL);
}
END_TEST

START_TEST(length_limits)
{
    char name[PH_PIPE_NAME_MAX + 2];
    char out[FULL_MAX];

    memset(name, 'n', PH_PIPE_NAME_MAX);
    name[PH_PIPE_NAME_MAX] = '\0';
    ck_assert_int_eq(ph_pipe_name_normalize(name, out, sizeof(out)), 0);
    ck_assert_uint_eq(strlen(out), sizeof(PH_PIPE_PREFIX) - 1 + PH_PIPE_NAME_MAX);
    name[PH_PIPE_NAME_MAX] = 'n';
    name[PH_PIPE_NAME_MAX + 1] = '\0';
    ck_assert_int_eq(ph_pipe_name_normalize(name, out, sizeof(out)), PH_EBADNAME);
    /* An output buffer one byte too small is the caller's error, not a bad name, and is not overrun. */
    memset(out, '#', sizeof(out));
    ck_assert_int_eq(ph_pipe_name_normalize("abc", out, sizeof(PH_PIPE_PREFIX) - 1 + 3), PH_EINVAL);
    ck_assert_int_eq(ph_pipe_name_normalize("abc", out, sizeof(PH_PIPE_PREFIX) - 1 + 4), 0);
    ck_assert_str_eq(out, "\\\\.\\pipe\\abc");
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("name");
    TCase *tc;

    tc = tcase_create("bare_and_full");
    tcase_add_test(tc, bare_and_full);
    suite_add_tcase(s, tc);
    tc = tcase_create("refused");
    tcase_add_test(tc, refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("length_limits");
    tcase_add_test(tc, length_limits);
    suite_add_tcase(s, tc);
    return s;
}
