/* test_response.c — response building and the byte buffers under it: growth, NUL termination, OK/ERR forms, binary data. */
#include "testsupport.h"

#include <pipehost/pipehost.h>
#include <stdlib.h>
#include <string.h>

/* The library builds ph_response objects itself; a test reaches the struct through the internal header. */
#include "../../core/src/ph_internal.h"

START_TEST(buffer_growth)
{
    ph_buf b = {NULL, 0, 0};
    unsigned char chunk[1000];
    unsigned char *p;
    size_t i, len = 0;

    for (i = 0; i < sizeof(chunk); i++)
        chunk[i] = (unsigned char)i;
    /* 300 KB in uneven pieces: every growth step keeps the earlier bytes and a NUL after the last one. */
    for (i = 0; i < 300; i++) {
        ck_assert_int_eq(ph__buf_append(&b, chunk, sizeof(chunk) - (i % 7)), 0);
        len += sizeof(chunk) - (i % 7);
        ck_assert_uint_eq(b.len, len);
        ck_assert_uint_gt(b.cap, b.len);
        ck_assert_int_eq(b.data[b.len], 0);
    }
    ck_assert_int_eq(memcmp(b.data, chunk, sizeof(chunk)), 0);
    ph__buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(b.data[0], 0);
    ck_assert_int_eq(ph__buf_append(&b, "xy", 2), 0);
    p = ph__buf_detach(&b, &len);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(len, 2);
    ck_assert_str_eq((char *)p, "xy");
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.cap, 0);
    ph_free(p);
    /* Detaching an empty buffer still gives a NUL-terminated allocation the caller can free. */
    p = ph__buf_detach(&b, &len);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(p[0], 0);
    ph_free(p);
    ph__buf_free(&b);
}
END_TEST

START_TEST(buffer_overflow_refused)
{
    ph_buf b = {NULL, 0, 0};

    ck_assert_int_eq(ph__buf_append(&b, "abc", 3), 0);
    /* A size that would wrap the length must fail cleanly, not allocate a tiny buffer. */
    ck_assert_int_eq(ph__buf_reserve(&b, (size_t)-1), PH_ENOMEM);
    ck_assert_int_eq(ph__buf_reserve(&b, (size_t)-1 - 3), PH_ENOMEM);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_str_eq((char *)b.data, "abc");
    ph__buf_free(&b);
}
END_TEST

START_TEST(response_forms)
{
    struct ph_response r;
    static const unsigned char bin[5] = {'a', 0, 'b', 0xff, 0};
    char big[5000];

    memset(&r, 0, sizeof(r));
    ck_assert_uint_eq(ph_response_len(&r), 0);
    ck_assert_int_eq(ph_response_append(&r, "hello ", 6), 0);
    ck_assert_int_eq(ph_response_appendf(&r, "%d-%s-%zu", 42, "x", (size_t)7), 0);
    ck_assert_uint_eq(ph_response_len(&r), 12);
    ck_assert_str_eq((const char *)ph_response_data(&r), "hello 42-x-7");

    /* OK and ERR replace what was there; OK is binary-safe. */
    ck_assert_int_eq(ph_response_ok(&r, bin, sizeof(bin)), 0);
    ck_assert_uint_eq(ph_response_len(&r), 3 + sizeof(bin));
    ck_assert_int_eq(memcmp(ph_response_data(&r), "OK a\0b\xff\0", 8), 0);
    ck_assert_int_eq(ph_response_err(&r, "bad-thing", "code %u", 7u), 0);
    ck_assert_str_eq((const char *)ph_response_data(&r), "ERR bad-thing code 7");
    ck_assert_uint_eq(ph_response_len(&r), strlen("ERR bad-thing code 7"));
    ck_assert_int_eq(ph_response_ok(&r, NULL, 0), 0);
    ck_assert_str_eq((const char *)ph_response_data(&r), "OK ");

    /* A formatted piece larger than any first allocation. */
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ph_response_clear(&r);
    ck_assert_uint_eq(ph_response_len(&r), 0);
    ck_assert_int_eq(ph_response_appendf(&r, "<%s>", big), 0);
    ck_assert_uint_eq(ph_response_len(&r), sizeof(big) + 1);
    ck_assert_int_eq(ph_response_data(&r)[0], '<');
    ck_assert_int_eq(ph_response_data(&r)[sizeof(big)], '>');
    ph__buf_free(&r.buf);
}
END_TEST

START_TEST(response_bad_args)
{
    struct ph_response r;

    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(ph_response_append(NULL, "x", 1), PH_EINVAL);
    ck_assert_int_eq(ph_response_append(&r, NULL, 1), PH_EINVAL);
    ck_assert_int_eq(ph_response_append(&r, NULL, 0), 0);
    ck_assert_int_eq(ph_response_ok(NULL, "x", 1), PH_EINVAL);
    ck_assert_int_eq(ph_response_ok(&r, NULL, 2), PH_EINVAL);
    ck_assert_int_eq(ph_response_err(&r, NULL, "x"), PH_EINVAL);
    ck_assert_uint_eq(ph_response_len(NULL), 0);
    ck_assert_ptr_null(ph_response_data(NULL));
    ph_response_clear(NULL);
    ph__buf_free(&r.buf);
}
END_TEST

START_TEST(printable)
{
    char out[8];
    static const unsigned char in[] = {'a', '\n', 0x80, 'b', 0, 'c', 'd', 'e', 'f', 'g'};

    ph__printable(out, sizeof(out), in, sizeof(in));
    ck_assert_str_eq(out, "a??b?cd");
    ph__printable(out, 1, in, sizeof(in));
    ck_assert_str_eq(out, "");
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("response");
    TCase *tc;

    tc = tcase_create("buffer_growth");
    tcase_add_test(tc, buffer_growth);
    suite_add_tcase(s, tc);
    tc = tcase_create("buffer_overflow_refused");
    tcase_add_test(tc, buffer_overflow_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("response_forms");
    tcase_add_test(tc, response_forms);
    suite_add_tcase(s, tc);
    tc = tcase_create("response_bad_args");
    tcase_add_test(tc, response_bad_args);
    suite_add_tcase(s, tc);
    tc = tcase_create("printable");
    tcase_add_test(tc, printable);
    suite_add_tcase(s, tc);
    return s;
}
