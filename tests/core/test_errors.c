/* test_errors.c — the error list: every code has a distinct message and symbolic name; unknown codes are handled. */
#include "testsupport.h"

#include <pipehost/pipehost.h>
#include <string.h>

typedef struct code {
    int value;
    const char *name;
} code;

/* Built from the same X-macro as the enum, so a code added there is checked here without editing this file. */
static const code codes[] = {
#define PH_XX_(name, val, msg) {PH_E##name, "PH_E" #name},
    PH_ERRNO_MAP(PH_XX_)
#undef PH_XX_
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

START_TEST(every_code_named)
{
    size_t i, j;

    ck_assert_uint_ge(NCODES, 16);
    for (i = 0; i < NCODES; i++) {
        const char *text = ph_strerror(codes[i].value);
        ck_assert_int_lt(codes[i].value, 0);
        ck_assert_ptr_nonnull(text);
        ck_assert_uint_gt(strlen(text), 3);
        ck_assert_str_ne(text, "unknown error");
        ck_assert_str_eq(ph_err_name(codes[i].value), codes[i].name);
        for (j = 0; j < i; j++) {
            ck_assert_int_ne(codes[i].value, codes[j].value); /* numbers are never reused */
            ck_assert_str_ne(ph_strerror(codes[j].value), text);
            ck_assert_str_ne(ph_err_name(codes[j].value), ph_err_name(codes[i].value));
        }
    }
    /* The numbers the public header promises stay where they are. */
    ck_assert_int_eq(PH_EINVAL, -1);
    ck_assert_int_eq(PH_EADDRINUSE, -3);
    ck_assert_int_eq(PH_EBADSDDL, -4);
    ck_assert_int_eq(PH_ENOTSUP, -16);
}
END_TEST

START_TEST(success_and_unknown)
{
    ck_assert_str_eq(ph_err_name(0), "PH_OK");
    ck_assert_str_ne(ph_strerror(0), "unknown error");
    ck_assert_str_eq(ph_strerror(-9999), "unknown error");
    ck_assert_str_eq(ph_strerror(1), "unknown error");
    ck_assert_str_eq(ph_err_name(-9999), "PH_EUNKNOWN");
    ck_assert_ptr_nonnull(ph_strerror(-2147483647 - 1));
    ck_assert_str_eq(ph_strerror(PH_EADDRINUSE), "pipe name already in use");
}
END_TEST

START_TEST(log_level_names)
{
    ck_assert_str_eq(ph_log_level_name(PH_LOG_ERROR), "error");
    ck_assert_str_eq(ph_log_level_name(PH_LOG_WARN), "warn");
    ck_assert_str_eq(ph_log_level_name(PH_LOG_INFO), "info");
    ck_assert_str_eq(ph_log_level_name(PH_LOG_DEBUG), "debug");
    ck_assert_str_eq(ph_log_level_name((ph_log_level)42), "unknown");
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc;

    tc = tcase_create("every_code_named");
    tcase_add_test(tc, every_code_named);
    suite_add_tcase(s, tc);
    tc = tcase_create("success_and_unknown");
    tcase_add_test(tc, success_and_unknown);
    suite_add_tcase(s, tc);
    tc = tcase_create("log_level_names");
    tcase_add_test(tc, log_level_names);
    suite_add_tcase(s, tc);
    return s;
}
