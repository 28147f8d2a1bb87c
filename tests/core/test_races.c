/* test_races.c — start/stop interleavings and refill failures, forced through the syscall table. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

typedef struct starter {
    ph_server *s;
    volatile LONG rc;
    volatile LONG done;
} starter;

static DWORD WINAPI start_main(LPVOID arg)
{
    starter *st = arg;
    InterlockedExchange(&st->rc, ph_server_start(st->s));
    InterlockedExchange(&st->done, 1);
    return 0;
}

/* A stop while start is still creating instances: the two are serialised. Start fails cleanly with
 * PH_ECANCELED (before: it carried on with a freed security descriptor, error 1305, and could leave threads
 * nobody joins), stop returns only when everything start built is gone, and the name is free again. */
START_TEST(stop_during_start)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ct_log lg;
    ph_server *s = NULL, *again = NULL;
    starter st;
    HANDLE t;
    int before;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_log_init(&lg);
    ct_config(&cfg, name, sizeof(name), "race-startstop", &ctx, &lg);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 4;
    ct_sys_state.next_delay_ms = 300; /* start sits in its second create */
    before = ct_thread_count();
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    memset(&st, 0, sizeof(st));
    st.s = s;
    t = CreateThread(NULL, 0, start_main, &st, 0, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(WaitForSingleObject(ct_sys_state.delay_entered, 5000), WAIT_OBJECT_0);
    ck_assert_int_eq(ph_server_stop(s), 0);
    /* Stop waited for start: it is over (its thread may still be on its way out), and it failed because of
     * the stop. */
    ck_assert_uint_eq(WaitForSingleObject(t, 5000), WAIT_OBJECT_0);
    ck_assert_int_eq(st.done, 1);
    CloseHandle(t);
    ck_assert_msg(st.rc == PH_ECANCELED, "start returned %s", ph_err_name((int)st.rc));
    ck_assert(!ct_log_has(&lg, PH_LOG_ERROR, "error 1305"));
    ck_assert(ct_pipe_gone(name));
    ck_assert_int_eq(ct_thread_count(), before);
    ph_server_free(s);
    /* The name is free for the next server. */
    ct_sys_state.next_delay_ms = 0;
    ck_assert_int_eq(ph_server_new(&cfg, &again), 0);
    ck_assert_int_eq(ph_server_start(again), 0);
    ph_server_free(again);
    ct_sys_restore();
    ct_log_free(&lg);
    ct_ctx_free(&ctx);
}
END_TEST

/* An instance being created when the stop begins is waited for and closed: after ph_server_stop returns no
 * instance of the name exists (before: the refill linked it after the drain and it outlived the stop, so a
 * client could still open the pipe and a new server got PH_EADDRINUSE). */
START_TEST(instance_being_created_does_not_outlive_stop)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s, *again = NULL;
    ph_client *c;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "race-refill", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 1;
    s = ct_start(&cfg, &ctx);
    ct_sys_state.next_delay_ms = 500; /* the refill after the next accept sits in its create */
    c = ct_connect(name);
    ck_assert_uint_eq(WaitForSingleObject(ct_sys_state.delay_entered, 5000), WAIT_OBJECT_0);
    ck_assert_int_eq(ph_server_stop(s), 0);
    ck_assert(ct_pipe_gone(name));
    ct_sys_state.next_delay_ms = 0;
    ck_assert_int_eq(ph_server_new(&cfg, &again), 0);
    ck_assert_int_eq(ph_server_start(again), 0);
    ph_server_free(again);
    ph_client_free(c);
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* ConnectNamedPipe failing at once on every instance: start fails with the error instead of returning 0 with
 * nothing listening, and nothing spins (before: 20,004 CreateNamedPipeW calls in 1.2 s). */
START_TEST(failing_accept_fails_start)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;
    int rc;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "race-acceptfail", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    ct_sys_state.fail_connect_err = ERROR_INVALID_FUNCTION;
    InterlockedExchange(&ct_sys_state.fail_connect, -1);
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    rc = ph_server_start(s);
    ck_assert_msg(rc != 0, "start succeeded with every accept failing");
    ck_assert_uint_eq(ph_server_syserror(s), ERROR_INVALID_FUNCTION);
    Sleep(200);
    ck_assert_int_le(ct_sys_state.ncreates, 3);
    ck_assert(ct_pipe_gone(name));
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* A refill whose accepts keep failing backs off (10 ms doubling to 1 s), logs once when failing starts and
 * once when it clears, and recovers by itself. */
START_TEST(failing_refill_backs_off_and_recovers)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ct_log lg;
    ph_server *s;
    ph_client *c;
    LONG creates;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_log_init(&lg);
    ct_config(&cfg, name, sizeof(name), "race-backoff", &ctx, &lg);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 2;
    s = ct_start(&cfg, &ctx);
    ct_sys_state.fail_connect_err = ERROR_INVALID_FUNCTION;
    InterlockedExchange(&ct_sys_state.fail_connect, -1);
    creates = ct_sys_state.ncreates;
    c = ct_connect(name); /* takes a waiting instance: the refill starts failing */
    ct_expect_str(c, "x", "x");
    Sleep(700);
    creates = ct_sys_state.ncreates - creates;
    printf("%ld creates in 700 ms of failing accepts\n", (long)creates);
    ck_assert_int_ge(creates, 2);  /* it does retry… */
    ck_assert_int_le(creates, 12); /* …but backs off: 10, 20, 40, 80, 160, 320 ms */
    ck_assert_int_eq(ct_log_count(&lg, PH_LOG_ERROR, "cannot add a waiting instance"), 1);
    InterlockedExchange(&ct_sys_state.fail_connect, 0);
    ck_assert(CT_WAIT(s, instances_pending, 2, 5000));
    ck_assert(ct_wait_log(&lg, PH_LOG_INFO, "has waiting instances again", 3000));
    ck_assert_int_eq(ct_log_count(&lg, PH_LOG_INFO, "has waiting instances again"), 1);
    ct_expect_str(c, "still", "still");
    ph_client_free(c);
    ph_server_free(s);
    ct_sys_restore();
    ct_log_free(&lg);
    ct_ctx_free(&ctx);
}
END_TEST

/* A log callback that stops the server when the server's own background thread logs: the stop returns at
 * once instead of joining the thread it runs on (before: the reaper joined itself and hung). */
typedef struct stopper {
    ph_server *volatile s;
    DWORD main_thread;
    volatile LONG first_thread;
    volatile LONG called, returned;
} stopper;

static void stopping_log(void *ctx, ph_log_level level, const char *message)
{
    stopper *st = ctx;
    DWORD self = GetCurrentThreadId();

    (void)level;
    if (strstr(message, "instance") == NULL || self == st->main_thread || st->s == NULL)
        return;
    /* The first such message comes from the pool thread whose accept found the refill failing; a later one
     * from another thread is the background retry's. */
    if (InterlockedCompareExchange(&st->first_thread, (LONG)self, 0) == 0 || (DWORD)st->first_thread == self)
        return;
    if (InterlockedExchange(&st->called, 1) == 0) {
        ph_server_stop(st->s);
        InterlockedExchange(&st->returned, 1);
    }
}

START_TEST(stop_from_log_callback_on_background_thread)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    stopper st;

    memset(&st, 0, sizeof(st));
    st.main_thread = GetCurrentThreadId();
    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "race-logstop", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    cfg.pending_instances = 1;
    cfg.log = stopping_log;
    cfg.log_ctx = &st;
    cfg.log_level = PH_LOG_DEBUG;
    s = ct_start(&cfg, &ctx);
    st.s = s;
    ct_sys_state.fail_next_err = ERROR_NOT_ENOUGH_MEMORY;
    InterlockedExchange(&ct_sys_state.fail_next, 3);
    c = ct_connect(name);
    ck_assert_msg(ct_wait_long(&st.called, 1, 5000), "the background thread never logged");
    ck_assert_msg(ct_wait_long(&st.returned, 1, 3000), "ph_server_stop on the server's own thread did not return");
    ph_client_free(c);
    ph_server_free(s); /* joins here */
    ck_assert(ct_pipe_gone(name));
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* ph_server_set_limits from another thread while servers start and stop over and over: the limits are only
 * stored (no event is signalled), so it can never touch a handle a stop has closed. A stress check: the
 * old defect (SetEvent on a closed handle) had no outcome a test could observe reliably.
 * The test's own hand-over of each server is a handshake: the calling thread reads the server and calls
 * ph_server_set_limits under `lock`, and the main thread clears the server under the same lock before it
 * frees it, so no call can still be running on a freed server (before: the main thread slept 1 ms and
 * hoped, and a caller preempted for longer used freed memory). The lock is never held across a start or a
 * stop, so the calls still race with both. */
typedef struct limiter {
    CRITICAL_SECTION lock;
    ph_server *s; /* under lock */
    volatile LONG quit;
    volatile LONG calls, bad;
} limiter;

static DWORD WINAPI limits_main(LPVOID arg)
{
    limiter *l = arg;
    ph_limits lim;

    ph_limits_init(&lim);
    while (!l->quit) {
        EnterCriticalSection(&l->lock);
        if (l->s != NULL) {
            lim.idle_timeout_ms = 1000 + (uint32_t)(l->calls % 1000);
            if (ph_server_set_limits(l->s, &lim) != 0)
                InterlockedIncrement(&l->bad);
            InterlockedIncrement(&l->calls);
        }
        LeaveCriticalSection(&l->lock);
        SwitchToThread();
    }
    return 0;
}

static void limiter_set(limiter *l, ph_server *s)
{
    EnterCriticalSection(&l->lock);
    l->s = s;
    LeaveCriticalSection(&l->lock);
}

START_TEST(set_limits_while_starting_and_stopping)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    limiter l;
    HANDLE t;
    int i;

    memset(&l, 0, sizeof(l));
    InitializeCriticalSection(&l.lock);
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "race-limits", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES; /* the unlimited pool's instance policy */
    t = CreateThread(NULL, 0, limits_main, &l, 0, NULL);
    ck_assert_ptr_nonnull(t);
    for (i = 0; i < 20; i++) {
        ph_server *s = NULL;
        ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
        limiter_set(&l, s);
        ck_assert_int_eq(ph_server_start(s), 0);
        ck_assert_int_eq(ph_server_stop(s), 0);
        limiter_set(&l, NULL); /* returns only once no call on s is under way */
        ph_server_free(s);
    }
    InterlockedExchange(&l.quit, 1);
    ck_assert_uint_eq(WaitForSingleObject(t, 5000), WAIT_OBJECT_0);
    CloseHandle(t);
    ck_assert_int_gt(l.calls, 0);
    ck_assert_int_eq(l.bad, 0);
    DeleteCriticalSection(&l.lock);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("races");
    TCase *tc;

    tc = tcase_create("stop_during_start");
    tcase_add_test(tc, stop_during_start);
    suite_add_tcase(s, tc);
    tc = tcase_create("instance_being_created_does_not_outlive_stop");
    tcase_add_test(tc, instance_being_created_does_not_outlive_stop);
    suite_add_tcase(s, tc);
    tc = tcase_create("failing_accept_fails_start");
    tcase_add_test(tc, failing_accept_fails_start);
    suite_add_tcase(s, tc);
    tc = tcase_create("failing_refill_backs_off_and_recovers");
    tcase_add_test(tc, failing_refill_backs_off_and_recovers);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_from_log_callback_on_background_thread");
    tcase_add_test(tc, stop_from_log_callback_on_background_thread);
    suite_add_tcase(s, tc);
    tc = tcase_create("set_limits_while_starting_and_stopping");
    tcase_add_test(tc, set_limits_while_starting_and_stopping);
    suite_add_tcase(s, tc);
    return s;
}
