/* test_lograte.c — the log rate limit: bursts, one line per interval, summaries, per-user bound, line keys. */
#include "testsupport.h"

#include "lograte.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    unsigned calls;
    uint32_t total;
    char last[400];
} summaries;

static void collect(void *ctx, int level, const char *user, const char *kind, uint32_t count)
{
    summaries *s = ctx;
    s->calls++;
    s->total += count;
    snprintf(s->last, sizeof(s->last), "%d|%s|%s|%u", level, user, kind, (unsigned)count);
}

static svc_lograte rl;

/* The "forbidden" flood: the first SVC_LOGRATE_BURST lines, then one per interval; the held-back ones are
 * summarised, with their count, before the next line of the key. */
START_TEST(burst_then_one_per_interval)
{
    summaries s;
    unsigned i, written = 0;
    uint64_t t = 1000;

    memset(&s, 0, sizeof(s));
    ph__svc_lograte_init(&rl);
    for (i = 0; i < 1000; i++)
        written += (unsigned)ph__svc_lograte_admit(&rl, "S-1-5-21-1-2-3-1001", "PING forbidden", 1, t, collect, &s);
    ck_assert_uint_eq(written, SVC_LOGRATE_BURST);
    ck_assert_uint_eq(s.calls, 0);
    /* Just before an interval: still nothing. */
    t += SVC_LOGRATE_INTERVAL_MS - 1;
    ck_assert_int_eq(ph__svc_lograte_admit(&rl, "S-1-5-21-1-2-3-1001", "PING forbidden", 1, t, collect, &s), 0);
    /* One interval on: one line, after the summary of the 991 held back. */
    t += 1;
    ck_assert_int_eq(ph__svc_lograte_admit(&rl, "S-1-5-21-1-2-3-1001", "PING forbidden", 1, t, collect, &s), 1);
    ck_assert_uint_eq(s.calls, 1);
    ck_assert_str_eq(s.last, "1|S-1-5-21-1-2-3-1001|PING forbidden|991");
    ck_assert_int_eq(ph__svc_lograte_admit(&rl, "S-1-5-21-1-2-3-1001", "PING forbidden", 1, t, collect, &s), 0);
    /* A long quiet time refills the burst, not more. */
    t += 3600u * 1000u;
    written = 0;
    for (i = 0; i < 100; i++)
        written += (unsigned)ph__svc_lograte_admit(&rl, "S-1-5-21-1-2-3-1001", "PING forbidden", 1, t, collect, &s);
    ck_assert_uint_eq(written, SVC_LOGRATE_BURST);
}
END_TEST

/* One user's flood does not hold back another user's lines of the same kind, nor the same user's other kinds
 * within the per-user budget. */
START_TEST(keys_are_separate)
{
    summaries s;
    unsigned i;

    memset(&s, 0, sizeof(s));
    ph__svc_lograte_init(&rl);
    for (i = 0; i < 500; i++)
        ph__svc_lograte_admit(&rl, "S-1-5-21-9-9-9-666", "PING forbidden", 1, 10, collect, &s);
    ck_assert_int_eq(ph__svc_lograte_admit(&rl, "S-1-5-21-1-2-3-1001", "PING forbidden", 1, 10, collect, &s), 1);
    ck_assert_int_eq(ph__svc_lograte_admit(&rl, "S-1-5-21-9-9-9-666", "request too large", 1, 10, collect, &s), 1);
    ck_assert_int_eq(ph__svc_lograte_admit(&rl, "", "client did not read its response in time", 1, 10, collect, &s), 1);
}
END_TEST

/* Varying the kind (e.g. the verb's name) does not get past the per-user bound; and the user's slot is not
 * pushed out by its own kinds (users have their own table). */
START_TEST(per_user_bound)
{
    summaries s;
    unsigned i, written = 0;
    char kind[40];
    uint64_t t = 5;

    memset(&s, 0, sizeof(s));
    ph__svc_lograte_init(&rl);
    for (i = 0; i < 10000; i++) {
        snprintf(kind, sizeof(kind), "VERB%u forbidden", i);
        written += (unsigned)ph__svc_lograte_admit(&rl, "S-1-5-21-9-9-9-666", kind, 1, t, collect, &s);
    }
    ck_assert_uint_eq(written, SVC_LOGRATE_USER_BURST);
    /* Ten seconds of it at 1000 lines a second: about one line a second gets through. */
    written = 0;
    for (i = 0; i < 10000; i++) {
        snprintf(kind, sizeof(kind), "VERB%u forbidden", i);
        written += (unsigned)ph__svc_lograte_admit(&rl, "S-1-5-21-9-9-9-666", kind, 1, t + i, collect, &s);
    }
    ck_assert_uint_le(written, 10 + 1);
    ck_assert_uint_ge(written, 9);
    /* Reused kind slots had their held-back lines summarised, none lost: every line is written or counted. */
    ph__svc_lograte_flush(&rl, t + 20000, 1, collect, &s);
    ck_assert_uint_eq(s.total + SVC_LOGRATE_USER_BURST + written, 20000);
}
END_TEST

/* A flood that stops is summarised by a later flush (an interval after the last summary) and by the final one. */
START_TEST(flush_summaries)
{
    summaries s;
    unsigned i;

    memset(&s, 0, sizeof(s));
    ph__svc_lograte_init(&rl);
    for (i = 0; i < 25; i++)
        ph__svc_lograte_admit(&rl, "S-1-5-21-1-2-3-1001", "idle timeout", 2, 100, collect, &s);
    ph__svc_lograte_flush(&rl, 100 + SVC_LOGRATE_INTERVAL_MS - 1, 0, collect, &s);
    ck_assert_uint_eq(s.calls, 0);
    ph__svc_lograte_flush(&rl, 100 + SVC_LOGRATE_INTERVAL_MS, 0, collect, &s);
    ck_assert_uint_eq(s.calls, 1);
    ck_assert_str_eq(s.last, "2|S-1-5-21-1-2-3-1001|idle timeout|15");
    /* Nothing more to say. */
    ph__svc_lograte_flush(&rl, 100 + 3 * SVC_LOGRATE_INTERVAL_MS, 1, collect, &s);
    ck_assert_uint_eq(s.calls, 1);
    ph__svc_lograte_admit(&rl, "S-1-5-21-1-2-3-1001", "idle timeout", 2, 100 + SVC_LOGRATE_INTERVAL_MS, collect, &s);
    ph__svc_lograte_admit(&rl, "S-1-5-21-1-2-3-1001", "idle timeout", 2, 100 + SVC_LOGRATE_INTERVAL_MS, collect, &s);
    ph__svc_lograte_flush(&rl, 100 + SVC_LOGRATE_INTERVAL_MS, 1, collect, &s);
    ck_assert_uint_eq(s.calls, 2);
    ck_assert_str_eq(s.last, "2|S-1-5-21-1-2-3-1001|idle timeout|1");
}
END_TEST

/* The key of a core line: the SID after "user ", the text without the connection number, SID or digits. */
START_TEST(classify_lines)
{
    char user[SVC_LOGRATE_USER_MAX], kind[SVC_LOGRATE_KIND_MAX], kind2[SVC_LOGRATE_KIND_MAX];

    ph__svc_lograte_classify("connection 17: PING forbidden for user S-1-5-21-1-2-3-1001 (pid 4242): not granted", user,
                         sizeof(user), kind, sizeof(kind));
    ck_assert_str_eq(user, "S-1-5-21-1-2-3-1001");
    ck_assert_str_eq(kind, "PING forbidden for user  (pid #): not granted");
    ph__svc_lograte_classify("connection 99999: PING forbidden for user S-1-5-21-1-2-3-1001 (pid 7): not granted", user,
                         sizeof(user), kind2, sizeof(kind2));
    ck_assert_str_eq(kind, kind2);
    ph__svc_lograte_classify("connection 5: client did not read its response in time", user, sizeof(user), kind,
                         sizeof(kind));
    ck_assert_str_eq(user, "");
    ck_assert_str_eq(kind, "client did not read its response in time");
    /* Cut to the buffer. */
    ph__svc_lograte_classify("connection 5: a very long line that goes on and on and on and on and on and on and on", user,
                         sizeof(user), kind, 10);
    ck_assert_str_eq(kind, "a very lo");
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("lograte");
    TCase *tc;

    tc = tcase_create("burst_then_one_per_interval");
    tcase_add_test(tc, burst_then_one_per_interval);
    suite_add_tcase(s, tc);
    tc = tcase_create("keys_are_separate");
    tcase_add_test(tc, keys_are_separate);
    suite_add_tcase(s, tc);
    tc = tcase_create("per_user_bound");
    tcase_add_test(tc, per_user_bound);
    suite_add_tcase(s, tc);
    tc = tcase_create("flush_summaries");
    tcase_add_test(tc, flush_summaries);
    suite_add_tcase(s, tc);
    tc = tcase_create("classify_lines");
    tcase_add_test(tc, classify_lines);
    suite_add_tcase(s, tc);
    return s;
}
