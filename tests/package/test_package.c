/* test_package.c — a service built outside this tree from the installed package, run under the real SCM. */
#include "svctest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void teardown(void)
{
    svct_cleanup_all();
}

static wchar_t *cmdline(const wchar_t *exe, const char *args)
{
    static wchar_t buf[2048];
    wchar_t wargs[1500];
    MultiByteToWideChar(CP_UTF8, 0, args, -1, wargs, 1500);
    swprintf(buf, 2048, L"\"%ls\" %ls", exe, wargs);
    return buf;
}

/* build_path: the myservice.exe that tests/package/run.sh built against the installed prefix (the package.*
 * fixture). Installed as a service, started, asked its own verbs and the built-in ones, and stopped. */
static void run_custom_service(const char *build_path, const char *tag)
{
    wchar_t exe[MAX_PATH];
    svct *t;
    SERVICE_STATUS_PROCESS st;
    unsigned char *resp = NULL;
    size_t len = 0;
    char args[300], want[120], nopipe[128], *out = NULL;
    int rc;

    svct_exe_path(build_path, exe, MAX_PATH);
    ck_assert_msg(GetFileAttributesW(exe) != INVALID_FILE_ATTRIBUTES,
                  "%s is missing: the package.%s fixture (tests/package/run.sh) did not build it", build_path, tag);
    t = svct_new(tag, exe);
    svct_start_running(t);
    ck_assert_int_eq(svct_transact(t->pipe, "REVERSE abc\0d", 13, &resp, &len), 0);
    ck_assert_msg(len == 8 && memcmp(resp, "OK d\0cba", 8) == 0, "%s", (char *)resp);
    ph_free(resp);
    ck_assert_int_eq(svct_transact(t->pipe, "PING", 4, &resp, &len), 0);
    ck_assert_str_eq((char *)resp, "OK PONG");
    ph_free(resp);
    ck_assert_int_eq(svct_transact(t->pipe, "STATUS", 6, &resp, &len), 0);
    snprintf(want, sizeof(want), "service=%s\n", t->name_a);
    ck_assert_msg(strncmp((char *)resp, "OK version=", 11) == 0 && strstr((char *)resp, want) != NULL, "%s",
                  (char *)resp);
    ph_free(resp);
    /* Its client commands work and speak in its name. */
    /* Under Wine the service runs as the test user, not a service account: skip the server check. */
    snprintf(args, sizeof(args), "send REVERSE olleh --pipe %s --no-verify-server", t->pipe);
    rc = svct_run(cmdline(exe, args), 20000, &out);
    ck_assert_msg(rc == 0 && strncmp(out, "hello", 5) == 0, "%d\n%s", rc, out);
    free(out);
    ph_test_pipe_name(nopipe, sizeof(nopipe), "absent");
    snprintf(args, sizeof(args), "ping --pipe %s", nopipe);
    rc = svct_run(cmdline(exe, args), 20000, &out);
    ck_assert_msg(rc == 2 && strncmp(out, "myservice: no server is listening", 33) == 0, "%d\n%s", rc, out);
    free(out);
    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}

START_TEST(custom_service_static)
{
    run_custom_service(PH_TEST_PKG_STATIC_EXE, "pkg-static");
}
END_TEST

/* The same service linked with pipehost.dll, which ph_add_service_executable put next to it. */
START_TEST(custom_service_shared)
{
    run_custom_service(PH_TEST_PKG_SHARED_EXE, "pkg-shared");
}
END_TEST

static void add(Suite *s, TCase *tc, const TTest *test)
{
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("package");

    add(s, tcase_create("custom_service_static"), custom_service_static);
    add(s, tcase_create("custom_service_shared"), custom_service_shared);
    return s;
}
