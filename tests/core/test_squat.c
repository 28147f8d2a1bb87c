/* test_squat.c — behaviour 5: anti-squatting — the first instance claims the name; a name in use fails start clearly; protected-prefix names. */
#include "coretest.h"

#include <stdio.h>
#include <string.h>

static wchar_t *wide(const char *name, wchar_t *out, size_t size)
{
    char full[sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX];
    size_t i;

    ck_assert_int_eq(ph_pipe_name_normalize(name, full, sizeof(full)), 0);
    for (i = 0; full[i] != '\0' && i + 1 < size; i++)
        out[i] = (wchar_t)(unsigned char)full[i];
    out[i] = L'\0';
    return out;
}

/* A second server on a served name fails with PH_EADDRINUSE (and the Win32 cause), and the first one goes on. */
START_TEST(second_server_gets_addrinuse)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ct_log lg;
    ph_server *first, *second = NULL;
    ph_client *c;
    int rc;

    ct_ctx_init(&ctx);
    ct_log_init(&lg);
    ct_config(&cfg, name, sizeof(name), "squat-second", &ctx, &lg);
    first = ct_start(&cfg, &ctx);
    ck_assert_int_eq(ph_server_new(&cfg, &second), 0);
    rc = ph_server_start(second);
    ck_assert_msg(rc == PH_EADDRINUSE, "second server: %s", ph_err_name(rc));
    ck_assert_uint_ne(ph_server_syserror(second), 0);
    ck_assert(ct_log_has(&lg, PH_LOG_ERROR, "already in use"));
    ck_assert_int_eq(ph_server_start(second), PH_ESTATE); /* once per object */
    ph_server_free(second);
    c = ct_connect(name);
    ct_expect_str(c, "first still serves", "first still serves");
    ph_client_free(c);
    ph_server_free(first);
    ct_log_free(&lg);
    ct_ctx_free(&ctx);
}
END_TEST

/* Also when every instance of the first server is busy (nothing is listening to answer a probe). */
START_TEST(second_server_addrinuse_when_busy)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *first, *second = NULL;
    ph_client *c;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "squat-busy", &ctx, NULL);
    cfg.max_instances = 1;
    cfg.pending_instances = 1;
    first = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ct_expect_str(c, "hold", "hold");
    ck_assert_uint_eq(CT_COUNTER(first, instances_pending), 0);
    ck_assert_int_eq(ph_server_new(&cfg, &second), 0);
    ck_assert_int_eq(ph_server_start(second), PH_EADDRINUSE);
    ph_server_free(second);
    ph_client_free(c);
    ph_server_free(first);
    ct_ctx_free(&ctx);
}
END_TEST

/* A squatter that is not a pipehost server at all (a raw listening pipe) is refused the same way. */
START_TEST(raw_squatter_refused)
{
    char name[CT_NAME_MAX];
    wchar_t wname[CT_NAME_MAX + 16];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;
    HANDLE squatter;

    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "squat-raw", &ctx, NULL);
    squatter =
        CreateNamedPipeW(wide(name, wname, CT_NAME_MAX + 16), PIPE_ACCESS_DUPLEX,
                         PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
    ck_assert(squatter != INVALID_HANDLE_VALUE);
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_EADDRINUSE);
    ph_server_free(s);
    CloseHandle(squatter);
    /* Once the squatter is gone the name is free again. */
    s = ct_start(&cfg, &ctx);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* By construction: the first instance asks for FILE_FLAG_FIRST_PIPE_INSTANCE, later ones do not (they would
 * fail: the flag means "no instance may exist yet"). */
START_TEST(first_instance_flag_requested)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    ph_client *c;
    LONG i;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "squat-flag", &ctx, NULL);
    cfg.max_instances = PH_UNLIMITED_INSTANCES;
    cfg.pending_instances = 3;
    s = ct_start(&cfg, &ctx);
    c = ct_connect(name);
    ct_expect_str(c, "x", "x");
    ck_assert(CT_WAIT(s, instances_pending, 3, 2000));
    ck_assert_int_ge(ct_sys_state.npipes, 4);
    ck_assert_uint_ne(ct_sys_state.pipes[0].open_mode & FILE_FLAG_FIRST_PIPE_INSTANCE, 0);
    for (i = 1; i < ct_sys_state.npipes && i < CT_PIPE_RECORDS; i++)
        ck_assert_uint_eq(ct_sys_state.pipes[i].open_mode & FILE_FLAG_FIRST_PIPE_INSTANCE, 0);
    ph_client_free(c);
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* What Windows does to a squatted name (ERROR_ACCESS_DENIED for the first instance) becomes PH_EADDRINUSE, with
 * the Win32 error kept, and leaves nothing behind. Injected, because Wine does not enforce the flag. */
START_TEST(first_instance_denied_is_addrinuse)
{
    char name[CT_NAME_MAX];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s = NULL;
    int before;

    ct_sys_install();
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "squat-inject", &ctx, NULL);
    ct_sys_state.fail_first_err = ERROR_ACCESS_DENIED;
    before = ct_thread_count();
    ck_assert_int_eq(ph_server_new(&cfg, &s), 0);
    ck_assert_int_eq(ph_server_start(s), PH_EADDRINUSE);
    ck_assert_uint_eq(ph_server_syserror(s), ERROR_ACCESS_DENIED);
    ck_assert_int_eq(ct_sys_state.failed, 1);
    ck_assert_int_eq(ct_sys_state.npipes, 1);    /* no further instance was attempted */
    ck_assert_int_eq(ct_thread_count(), before); /* the pool and reaper were joined */
    ck_assert(ct_pipe_gone(name));
    ph_server_free(s);
    ct_sys_restore();
    ct_ctx_free(&ctx);
}
END_TEST

/* The system's side: creating a first instance of a served name fails with ERROR_ACCESS_DENIED. */
START_TEST(raw_first_instance_on_served_name_denied)
{
    char name[CT_NAME_MAX];
    wchar_t wname[CT_NAME_MAX + 16];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s;
    HANDLE h;
    DWORD err;

    if (ph_test_on_wine())
        ph_test_skip("Wine does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE: a second creator succeeds (WINE.md)");
    ct_ctx_init(&ctx);
    ct_config(&cfg, name, sizeof(name), "squat-os", &ctx, NULL);
    s = ct_start(&cfg, &ctx);
    h = CreateNamedPipeW(wide(name, wname, CT_NAME_MAX + 16), PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                         PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, NULL);
    err = GetLastError();
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    ck_assert(h == INVALID_HANDLE_VALUE);
    ck_assert_uint_eq(err, ERROR_ACCESS_DENIED);
    ph_server_free(s);
    ct_ctx_free(&ctx);
}
END_TEST

/* A name under a protected prefix is served and reached like any other, bare or full, the prefix's words in any
 * case; a second server on it is refused as usual. Wine does not restrict who may create a pipe under
 * ProtectedPrefix\Administrators (WINE.md): here that is an ordinary name, so this shows both sides use it;
 * that only Administrators and SYSTEM can create it is protected_prefix_refuses_users, on Windows. */
START_TEST(protected_prefix_name_served)
{
    char base[CT_NAME_MAX], name[CT_NAME_MAX + 40], full[CT_NAME_MAX + 64], other_case[CT_NAME_MAX + 64];
    ph_server_config cfg;
    ct_ctx ctx;
    ph_server *s, *second = NULL;
    ph_client *c;

    ct_ctx_init(&ctx);
    ct_config(&cfg, base, sizeof(base), "squat-prot", &ctx, NULL);
    snprintf(name, sizeof(name), "ProtectedPrefix\\Administrators\\%s", base);
    snprintf(full, sizeof(full), "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\%s", base);
    snprintf(other_case, sizeof(other_case), "\\\\.\\PIPE\\protectedprefix\\ADMINISTRATORS\\%s", base);
    cfg.pipe_name = name;
    s = ct_start(&cfg, &ctx);
    ck_assert_str_eq(ph_server_pipe_name(s), full);
    c = ct_connect(name);
    ct_expect_str(c, "bare", "bare");
    ph_client_free(c);
    c = ct_connect(full);
    ct_expect_str(c, "full", "full");
    ph_client_free(c);
    c = ct_connect(other_case);
    ct_expect_str(c, "any case", "any case");
    ph_client_free(c);
    /* The plain name is another pipe, which nobody serves. */
    ck_assert(ct_pipe_gone(base));
    ck_assert_int_eq(ph_server_new(&cfg, &second), 0);
    ck_assert_int_eq(ph_server_start(second), PH_EADDRINUSE);
    ph_server_free(second);
    ph_server_free(s);
    ck_assert(ct_pipe_gone(name));
    ct_ctx_free(&ctx);
}
END_TEST

/* The system's side, Windows 10 1709 and later: an ordinary user (Administrators and SYSTEM deny-only) cannot
 * create a pipe under ProtectedPrefix\Administrators, so cannot take such a name first. */
START_TEST(protected_prefix_refuses_users)
{
    typedef LONG(WINAPI * rtl_get_version_fn)(OSVERSIONINFOW *);
    char base[CT_NAME_MAX], name[CT_NAME_MAX + 40];
    wchar_t wname[CT_NAME_MAX + 64];
    DWORD err;
    HANDLE restricted, h;
    OSVERSIONINFOW v;
    rtl_get_version_fn get_version;

    if (ph_test_on_wine())
        ph_test_skip("Wine does not restrict who creates pipes under ProtectedPrefix\\ (WINE.md); Windows 10 1709+ does");
    memset(&v, 0, sizeof(v));
    v.dwOSVersionInfoSize = sizeof(v);
    get_version = (rtl_get_version_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "RtlGetVersion");
    if (get_version == NULL || get_version(&v) != 0 || v.dwMajorVersion < 10 || v.dwBuildNumber < 16299)
        ph_test_skip("the protected prefixes exist from Windows 10 1709 (build 16299) on");
    ph_test_pipe_name(base, sizeof(base), "squat-protuser");
    snprintf(name, sizeof(name), "ProtectedPrefix\\Administrators\\%s", base);
    restricted = ph_test_ordinary_user_token();
    ck_assert(ImpersonateLoggedOnUser(restricted));
    h = CreateNamedPipeW(wide(name, wname, CT_NAME_MAX + 64), PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                         PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1, 4096, 4096, 0, NULL);
    err = GetLastError();
    ck_assert(RevertToSelf());
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    CloseHandle(restricted);
    ck_assert_msg(h == INVALID_HANDLE_VALUE, "an ordinary user created %s", name);
    ck_assert_uint_eq(err, ERROR_ACCESS_DENIED);
}
END_TEST

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("squat");
    TCase *tc;

    tc = tcase_create("second_server_gets_addrinuse");
    tcase_add_test(tc, second_server_gets_addrinuse);
    suite_add_tcase(s, tc);
    tc = tcase_create("second_server_addrinuse_when_busy");
    tcase_add_test(tc, second_server_addrinuse_when_busy);
    suite_add_tcase(s, tc);
    tc = tcase_create("raw_squatter_refused");
    tcase_add_test(tc, raw_squatter_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("first_instance_flag_requested");
    tcase_add_test(tc, first_instance_flag_requested);
    suite_add_tcase(s, tc);
    tc = tcase_create("first_instance_denied_is_addrinuse");
    tcase_add_test(tc, first_instance_denied_is_addrinuse);
    suite_add_tcase(s, tc);
    tc = tcase_create("raw_first_instance_on_served_name_denied");
    tcase_add_test(tc, raw_first_instance_on_served_name_denied);
    suite_add_tcase(s, tc);
    tc = tcase_create("protected_prefix_name_served");
    tcase_add_test(tc, protected_prefix_name_served);
    suite_add_tcase(s, tc);
    tc = tcase_create("protected_prefix_refuses_users");
    tcase_add_test(tc, protected_prefix_refuses_users);
    suite_add_tcase(s, tc);
    return s;
}
