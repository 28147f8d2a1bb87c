/* test_fixed.c — the fixed pool: nobody can add an instance of the served name while the server runs. */
#include "coretest.h"

#include <aclapi.h>

#include <stdio.h>
#include <string.h>


typedef struct squatter {
    HANDLE process, out, stop;
} squatter;

/* Starts squatter.exe on the full name of pipe `name`, its output to a pipe we read at the end. */
static void squat_start(squatter *sq, const char *name, const char *tag)
{
    char full[CT_NAME_MAX + 16], cmd[1024], ev[96], exe[MAX_PATH];
    char *slash;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    HANDLE rd = NULL, wr = NULL;

    ck_assert_int_eq(ph_pipe_name_normalize(name, full, sizeof(full)), 0);
    /* ph_squatter.exe is built beside this test program. */
    ck_assert_uint_gt(GetModuleFileNameA(NULL, exe, sizeof(exe)), 0);
    slash = strrchr(exe, '\\');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash + 1, sizeof(exe) - (size_t)(slash + 1 - exe), "ph_squatter.exe");
    snprintf(ev, sizeof(ev), "pipehost-test-squat-%s-%lu", tag, (unsigned long)GetCurrentProcessId());
    sq->stop = CreateEventA(NULL, TRUE, FALSE, ev);
    ck_assert_ptr_nonnull(sq->stop);
    ck_assert(CreatePipe(&rd, &wr, &sa, 0));
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdOutput = wr;
    si.hStdError = wr;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    snprintf(cmd, sizeof(cmd), "\"%s\" \"%s\" \"%s\"", exe, full, ev);
    ck_assert_msg(CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi), "cannot start %s: %lu", exe,
                  (unsigned long)GetLastError());
    CloseHandle(wr);
    CloseHandle(pi.hThread);
    sq->process = pi.hProcess;
    sq->out = rd;
}

/* Stops it and returns how many instances it got (attempts in *attempts). */
static unsigned long squat_stop(squatter *sq, unsigned long *attempts)
{
    char buf[128];
    DWORD n = 0, code = 1;
    unsigned long a = 0, got = ~0ul;

    SetEvent(sq->stop);
    ck_assert_uint_eq(WaitForSingleObject(sq->process, 10000), WAIT_OBJECT_0);
    ck_assert(GetExitCodeProcess(sq->process, &code));
    ck_assert_uint_eq(code, 0);
    memset(buf, 0, sizeof(buf));
    ReadFile(sq->out, buf, sizeof(buf) - 1, &n, NULL);
    ck_assert_msg(sscanf(buf, "attempts %lu got %lu", &a, &got) == 2, "squatter said: %s", buf);
    CloseHandle(sq->process);
    CloseHandle(sq->out);
    CloseHandle(sq->stop);
    *attempts = a;
    return got;
}

static void churn(void *arg, unsigned index)
{
    const char *name = arg;
    int i;

    (void)index;
    for (i = 0; i < 25; i++) {
        ph_client *c = NULL;
        unsigned char *r = NULL;
        size_t len = 0;
        if (ph_client_new(&c) == 0 && ph_client_connect(c, name, 10000, 0) == 0)
            ph_client_transact(c, "churn", 5, &r, &len, 10000, 0);
        ph_free(r);
        ph_client_free(c);
    }
}

/* While a fixed pool runs — idle, under churn, a 32-client burst and a limits change — a second process
 * looping CreateNamedPipeW on the name (with and without FILE_FLAG_FIRST_PIPE_INSTANCE) never gets an
 * instance: the pipe has nMaxInstances instances the whole time. The squatter runs as our own account,
 * which the descriptor lets create instances (OWNER RIGHTS), so only the instance count stops it; Windows
 * would also stop an ordinary user by the DACL while the server starts and after it narrows at stop, which
 * Wine cannot show (it enforces no pipe DACL): the squatter is therefore started after ph_server_start
 * returned and stopped before ph_server_stop. */
START_TEST(nobody_adds_an_instance_while_running)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ph_limits lim;
    ct_ctx ctx;
    ph_server *s;
    squatter sq;
    unsigned long attempts = 0, got;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "fixed-squat", &ctx, NULL);
    cfg.max_instances = 16;
    s = ct_start(&cfg, &ctx);
    squat_start(&sq, name, "fixed");
    ph_test_sleep_ms(200);
    ck_assert(ct_run_threads(8, churn, name, 60000));
    ck_assert(ct_run_threads(32, churn, name, 60000)); /* more clients than instances: some wait */
    ph_limits_init(&lim);
    lim.max_connections_per_user = 0;
    lim.idle_timeout_ms = 5000;
    ck_assert_int_eq(ph_server_set_limits(s, &lim), 0);
    ck_assert(ct_run_threads(8, churn, name, 60000));
    ck_assert_uint_eq(CT_COUNTER(s, instances_total), 16);
    got = squat_stop(&sq, &attempts);
    printf("squatter: %lu attempts, %lu instances got\n", attempts, got);
    ck_assert_uint_gt(attempts, 100);
    ck_assert_uint_eq(got, 0);
    ck_assert_uint_eq(CT_COUNTER(s, connections_total), 8 * 25 * 2 + 32 * 25);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* The same squatter against the unlimited pool gets instances: the check above can fail, and the unlimited
 * pool relies on the DACL alone (which is why it keeps the strict rights). */
START_TEST(unlimited_pool_relies_on_the_dacl)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    squatter sq;
    unsigned long attempts = 0, got;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "unl-squat", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES;
    s = ct_start(&cfg, &ctx);
    squat_start(&sq, name, "unl");
    ph_test_sleep_ms(300);
    got = squat_stop(&sq, &attempts);
    printf("squatter: %lu attempts, %lu instances got\n", attempts, got);
    ck_assert_uint_gt(got, 0);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* The Authenticated Users entry's mask read through a handle to the pipe (0 if there is none). */
static ACCESS_MASK au_mask(HANDLE h)
{
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    unsigned char au[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof(au), i;
    ACCESS_MASK mask = 0;

    ck_assert(CreateWellKnownSid(WinAuthenticatedUserSid, NULL, au, &size));
    ck_assert_uint_eq(GetSecurityInfo(h, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd),
                      ERROR_SUCCESS);
    for (i = 0; dacl != NULL && i < dacl->AceCount; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        ck_assert(GetAce(dacl, i, (void **)&ace));
        if (ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE && EqualSid((PSID)&ace->SidStart, au))
            mask = ace->Mask;
    }
    LocalFree(sd);
    return mask;
}

static void stop_in_background(void *arg, unsigned index)
{
    (void)index;
    ph_server_stop(arg);
}

/* Stop narrows the DACL back before any instance may close: while a request is still in flight (so the
 * server is stopping and its instances exist), the descriptor read through a client's handle is the strict
 * one again. */
START_TEST(stop_narrows_before_closing)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    ct_threads *t;
    HANDLE raw;
    unsigned char *m = NULL;
    size_t len = 0;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "fixed-narrow", &ctx, NULL);
    cfg.max_instances = 4;
    s = ct_start(&cfg, &ctx);
    raw = ct_raw_connect(name, GENERIC_READ | FILE_WRITE_DATA | READ_CONTROL, 0);
    ck_assert(raw != INVALID_HANDLE_VALUE);
    ck_assert_uint_eq(au_mask(raw), 0x12019f); /* widened while running */
    c = ct_connect(name);
    ck_assert_int_eq(ph_client_send(c, "SLEEP 800", 9, 5000), 0);
    ck_assert_uint_eq(WaitForSingleObject(ctx.entered, 5000), WAIT_OBJECT_0);
    t = ct_spawn(1, stop_in_background, s);
    ph_test_sleep_ms(200); /* the stop has begun; the handler still sleeps */
    ck_assert_uint_eq(CT_COUNTER(s, connections_active), 1);
    ck_assert_uint_eq(au_mask(raw), 0x12019b); /* narrowed, with the instances still there */
    ck_assert_int_eq(ph_client_recv(c, &m, &len, 5000, 0), 0); /* the in-flight reply still arrives */
    ck_assert_str_eq((char *)m, "SLEPT");
    ph_free(m);
    ck_assert(ct_join(t, 10000));
    ph_client_free(c);
    CloseHandle(raw);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("fixed");
    TCase *tc;

    tc = tcase_create("nobody_adds_an_instance_while_running");
    tcase_add_test(tc, nobody_adds_an_instance_while_running);
    suite_add_tcase(s, tc);
    tc = tcase_create("stop_narrows_before_closing");
    tcase_add_test(tc, stop_narrows_before_closing);
    suite_add_tcase(s, tc);
    tc = tcase_create("unlimited_pool_relies_on_the_dacl");
    tcase_add_test(tc, unlimited_pool_relies_on_the_dacl);
    suite_add_tcase(s, tc);
    return s;
}
