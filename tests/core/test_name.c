/* test_name.c — pipe name normalisation: bare and full local names in (protected prefixes too), "\\.\pipe\NAME" out, everything else refused. */
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
        "\\\\.\\pipe\\ProtectedPrefix\\Users\\b", /* a prefix that is not one of the protected three */
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

/* The protected prefixes (Windows 10 1709 and later: only their accounts may create pipes there): exactly
 * ProtectedPrefix\{Administrators,LocalService,NetworkService}\NAME, the prefix's words in any case and
 * written out in one spelling, NAME under today's rules. */
START_TEST(protected_prefixes)
{
    static const char *const good[][2] = {
        {"ProtectedPrefix\\Administrators\\pipehost", "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\pipehost"},
        {"ProtectedPrefix\\LocalService\\x", "\\\\.\\pipe\\ProtectedPrefix\\LocalService\\x"},
        {"ProtectedPrefix\\NetworkService\\x.y-1", "\\\\.\\pipe\\ProtectedPrefix\\NetworkService\\x.y-1"},
        {"\\\\.\\pipe\\ProtectedPrefix\\Administrators\\Mixed", "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\Mixed"},
        /* Case-insensitive prefix words, canonical spelling out; the name keeps its case. */
        {"protectedprefix\\ADMINISTRATORS\\Name", "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\Name"},
        {"\\\\.\\PIPE\\PROTECTEDPREFIX\\networkservice\\n", "\\\\.\\pipe\\ProtectedPrefix\\NetworkService\\n"},
        {"//./pipe/ProtectedPrefix\\LocalService\\n", "\\\\.\\pipe\\ProtectedPrefix\\LocalService\\n"},
    };
    static const char *const bad[] = {
        "ProtectedPrefix\\Administrators\\",       /* the prefix alone names no pipe */
        "ProtectedPrefix\\Administrators",         /* a '\\' in a name that is no prefix */
        "ProtectedPrefix\\Users\\x",               /* no such prefix */
        "ProtectedPrefix\\\\x",
        "ProtectedPrefix\\Administrators\\a\\b",   /* one more '\\' */
        "ProtectedPrefix\\Administrators\\a/b",    /* '/' after the prefix */
        "ProtectedPrefix/Administrators/x",        /* the prefix's separators are '\\' only */
        "ProtectedPrefix\\Administrators\\tab\there",
        "x\\ProtectedPrefix\\Administrators\\y",   /* not at the start */
        "\\\\server\\pipe\\ProtectedPrefix\\Administrators\\x",
        " ProtectedPrefix\\Administrators\\x",
    };
    char out[FULL_MAX], again[FULL_MAX], name[PH_PIPE_NAME_MAX + 2];
    size_t i, plen = strlen("ProtectedPrefix\\Administrators\\");

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ck_assert_msg(ph_pipe_name_normalize(good[i][0], out, sizeof(out)) == 0, "refused \"%s\"", good[i][0]);
        ck_assert_str_eq(out, good[i][1]);
        /* Idempotent. */
        ck_assert_int_eq(ph_pipe_name_normalize(good[i][1], again, sizeof(again)), 0);
        ck_assert_str_eq(again, good[i][1]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(ph_pipe_name_normalize(bad[i], out, sizeof(out)) == PH_EBADNAME, "accepted \"%s\"", bad[i]);
    /* 256 characters in all, the prefix included, as Windows counts a pipe name. */
    memcpy(name, "ProtectedPrefix\\Administrators\\", plen);
    memset(name + plen, 'n', PH_PIPE_NAME_MAX - plen);
    name[PH_PIPE_NAME_MAX] = '\0';
    ck_assert_int_eq(ph_pipe_name_normalize(name, out, sizeof(out)), 0);
    ck_assert_uint_eq(strlen(out), sizeof(PH_PIPE_PREFIX) - 1 + PH_PIPE_NAME_MAX);
    name[PH_PIPE_NAME_MAX] = 'n';
    name[PH_PIPE_NAME_MAX + 1] = '\0';
    ck_assert_int_eq(ph_pipe_name_normalize(name, out, sizeof(out)), PH_EBADNAME);
    /* The output buffer: exactly the full name and its NUL, never overrun. */
    ck_assert_int_eq(ph_pipe_name_normalize("ProtectedPrefix\\LocalService\\ab", out,
                                            strlen("\\\\.\\pipe\\ProtectedPrefix\\LocalService\\ab")),
                     PH_EINVAL);
    ck_assert_int_eq(ph_pipe_name_normalize("ProtectedPrefix\\LocalService\\ab", out,
                                            strlen("\\\\.\\pipe\\ProtectedPrefix\\LocalService\\ab") + 1),
                     0);
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
    tc = tcase_create("protected_prefixes");
    tcase_add_test(tc, protected_prefixes);
    suite_add_tcase(s, tc);
    tc = tcase_create("length_limits");
    tcase_add_test(tc, length_limits);
    suite_add_tcase(s, tc);
    return s;
}
