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

/* One string of the executable's version resource (StringFileInfo\040904b0\key), into out. */
static void version_string(const wchar_t *exe, const wchar_t *key, char *out, size_t size)
{
    DWORD handle = 0, n = GetFileVersionInfoSizeW(exe, &handle);
    void *info = n ? malloc(n) : NULL;
    wchar_t path[120], *value = NULL;
    UINT len = 0;

    out[0] = '\0';
    ck_assert_msg(info != NULL, "GetFileVersionInfoSizeW: %lu", GetLastError());
    ck_assert(GetFileVersionInfoW(exe, 0, n, info));
    swprintf(path, 120, L"\\StringFileInfo\\040904b0\\%ls", key);
    if (VerQueryValueW(info, path, (void **)&value, &len) && value != NULL)
        WideCharToMultiByte(CP_UTF8, 0, value, -1, out, (int)size, NULL, NULL);
    free(info);
}

/* A reply to req on the connection c, compared whole. */
static void expect_on(ph_client *c, const char *req, const char *want)
{
    unsigned char *resp = NULL;
    size_t len = 0;

    ck_assert_int_eq(ph_client_transact(c, req, strlen(req), &resp, &len, 10000, 0), 0);
    ck_assert_msg(len == strlen(want) && memcmp(resp, want, len) == 0, "%s: %.*s", req, (int)len, (char *)resp);
    ph_free(resp);
}

/* Polls HELLO on fresh connections until it answers want (a reload is applied by the worker, not at once). */
static int hello_becomes(const char *pipe, const char *want, unsigned timeout_ms)
{
    unsigned long long t0 = ph_test_now_ms();
    unsigned char *resp = NULL;
    size_t len = 0;
    int ok = 0;

    while (!ok && ph_test_now_ms() - t0 < timeout_ms) {
        ck_assert_int_eq(svct_transact(pipe, "HELLO", 5, &resp, &len), 0);
        ok = len == strlen(want) && memcmp(resp, want, len) == 0;
        ph_free(resp);
        if (!ok)
            ph_test_sleep_ms(50);
    }
    return ok;
}

/* What the example shows beyond verbs: its version resource, a reply that comes later, per-connection state
 * released on close, a setting of its own (default, reload, refusal), its hooks and logger, its log folder. */
static void run_example_features(svct *t, const wchar_t *exe)
{
    char text[200], *out = NULL, *log;
    wchar_t program_data[MAX_PATH], log_path[MAX_PATH], log_dir[MAX_PATH], saved[300];
    HKEY key = NULL;
    unsigned char *resp = NULL;
    size_t len = 0;
    unsigned long long t0, elapsed;
    ph_client *c = NULL;
    SERVICE_STATUS s;
    SERVICE_STATUS_PROCESS st;
    int rc, ok = 0, asked = 0;

    version_string(exe, L"CompanyName", text, sizeof(text));
    ck_assert_str_eq(text, "Example Corp");
    version_string(exe, L"FileDescription", text, sizeof(text));
    ck_assert_str_eq(text, "My Service: an example service on pipehost");
    version_string(exe, L"ProductName", text, sizeof(text));
    ck_assert_str_eq(text, "My Service");
    version_string(exe, L"ProductVersion", text, sizeof(text));
    ck_assert_str_eq(text, "1.2.3");
    version_string(exe, L"PipehostVersion", text, sizeof(text));
    ck_assert_str_eq(text, PH_VERSION_STRING);

    /* Its own settings are in its help, and `version` carries its product name. */
    rc = svct_run(cmdline(exe, "help"), 20000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "--greeting TEXT") != NULL && strstr(out, "Greeting") != NULL &&
                      strstr(out, "ReplyDelayMs") != NULL && strstr(out, "how long LATER waits") != NULL,
                  "%d\n%s", rc, out);
    free(out);
    rc = svct_run(cmdline(exe, "version"), 20000, &out);
    ck_assert_msg(rc == 0 && strncmp(out, "My Service " PH_VERSION_STRING, 11 + strlen(PH_VERSION_STRING)) == 0,
                  "%d\n%s", rc, out);
    free(out);

    /* Its default log folder, %ProgramData%\MyService, instead of LogFile. */
    ck_assert(ExpandEnvironmentStringsW(L"%ProgramData%", program_data, MAX_PATH) > 0);
    swprintf(log_dir, MAX_PATH, L"%ls\\MyService", program_data);
    swprintf(log_path, MAX_PATH, L"%ls\\%ls.log", log_dir, t->name);
    svct_delete_value(t, "LogFile");
    svct_set_dword(t, "ReplyDelayMs", 300);
    svct_start_running(t);

    /* LATER is held (no thread waits) and answered by the server's timer ReplyDelayMs later. */
    t0 = ph_test_now_ms();
    ck_assert_int_eq(svct_transact(t->pipe, "LATER", 5, &resp, &len), 0);
    elapsed = ph_test_now_ms() - t0;
    ck_assert_msg(len == 8 && memcmp(resp, "OK later", 8) == 0, "%.*s", (int)len, (char *)resp);
    ph_free(resp);
    ck_assert_msg(elapsed >= 290, "LATER answered after %llu ms, before ReplyDelayMs (300)", elapsed);

    /* Per-connection state: counted per connection, and released when the connection ends (open= falls back to
     * 1, this connection, once every earlier connection's close hook ran). */
    ck_assert_int_eq(ph_client_new(&c), 0);
    ck_assert_int_eq(ph_client_connect(c, t->pipe, 5000, 0), 0);
    t0 = ph_test_now_ms();
    while (!ok && ph_test_now_ms() - t0 < 10000) {
        ck_assert_int_eq(ph_client_transact(c, "COUNT", 5, &resp, &len, 10000, 0), 0);
        asked++;
        ok = strstr((char *)resp, " open=1") != NULL;
        ph_free(resp);
        if (!ok)
            ph_test_sleep_ms(50);
    }
    ck_assert_msg(ok, "an earlier connection's state was not released within 10 s");
    expect_on(c, "REVERSE ab", "OK ba");
    snprintf(text, sizeof(text), "OK requests=%d open=1", asked + 2);
    expect_on(c, "COUNT", text);
    ph_client_free(c);

    /* A setting of its own: the default, then a reload applies a new value; an invalid one is refused. */
    ck_assert(hello_becomes(t->pipe, "OK hello", 1000));
    svct_set_sz(t, "Greeting", "good day");
    ck_assert_msg(ControlService(t->svc, SERVICE_CONTROL_PARAMCHANGE, &s), "PARAMCHANGE: %lu", GetLastError());
    ck_assert_msg(hello_becomes(t->pipe, "OK good day", 10000), "the new Greeting was not applied within 10 s");
    svct_set_sz(t, "Greeting", "");
    ck_assert(ControlService(t->svc, SERVICE_CONTROL_PARAMCHANGE, &s));
    t0 = ph_test_now_ms();
    while ((log = svct_read_file(log_path)) != NULL && strstr(log, "PARAMCHANGE refused") == NULL &&
           ph_test_now_ms() - t0 < 10000) {
        free(log);
        ph_test_sleep_ms(50);
    }
    ck_assert_ptr_nonnull(log);
    /* Its hooks wrote through its logger into its own log, beside the service's own lines. */
    ck_assert_msg(strstr(log, "[info] myservice ") != NULL && strstr(log, " is ready") != NULL &&
                      strstr(log, "myservice reloaded: Greeting hello -> good day") != NULL &&
                      strstr(log, "invalid configuration value Greeting (registry): accepted length 1..100") != NULL,
                  "log %ls:\n%s", log_path, log);
    free(log);
    ck_assert(hello_becomes(t->pipe, "OK good day", 1000));
    /* `status` shows its settings with the built-in ones, and `config --set` checks them with the same rules
     * (the registry still holds the refused "", so status reports that error too). */
    snprintf(text, sizeof(text), "status --name %s", t->name_a);
    rc = svct_run(cmdline(exe, text), 30000, &out);
    ck_assert_msg(strstr(out, "ReplyDelayMs") != NULL && strstr(out, "Greeting") != NULL &&
                      strstr(out, "ERROR: invalid configuration value Greeting (registry)") != NULL,
                  "%d\n%s", rc, out);
    free(out);
    snprintf(text, sizeof(text), "config --name %s --set ReplyDelayMs=70000", t->name_a);
    rc = svct_run(cmdline(exe, text), 30000, &out);
    ck_assert_msg(rc == 64 && strncmp(out, "myservice", 9) == 0 &&
                      strstr(out, "ReplyDelayMs (--set): accepted range 0..60000, given 70000") != NULL,
                  "%d\n%s", rc, out);
    free(out);
    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
    log = svct_read_file(log_path);
    ck_assert_msg(strstr(log, " is stopping") != NULL, "%s", log);
    free(log);

    /* At start, a value of its own out of range stops it like a built-in one: exit code 1. */
    svct_set_dword(t, "ReplyDelayMs", 70000);
    svct_start(t);
    ck_assert(svct_wait_state(t, SERVICE_STOPPED, 20000, &st));
    ck_assert_uint_eq(st.dwWin32ExitCode, ERROR_SERVICE_SPECIFIC_ERROR);
    ck_assert_uint_eq(st.dwServiceSpecificExitCode, 1);
    log = svct_read_file(log_path);
    ck_assert_msg(strstr(log, "invalid configuration value ReplyDelayMs (registry): accepted range 0..60000, given "
                              "70000") != NULL, "%s", log);
    free(log);

    /* Its uninstall keeps the configuration under its own registry root and removes its default log. */
    /* (The test's own handle would leave the service marked for deletion: uninstall then ends with 1.) */
    CloseServiceHandle(t->svc);
    t->svc = NULL;
    snprintf(text, sizeof(text), "uninstall --name %s --keep-config", t->name_a);
    rc = svct_run(cmdline(exe, text), 90000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "HKLM\\SOFTWARE\\MyService\\SavedParameters\\") != NULL, "%d\n%s", rc,
                  out);
    free(out);
    swprintf(saved, 300, L"SOFTWARE\\MyService\\SavedParameters\\%ls", t->name);
    ck_assert_int_eq(RegOpenKeyExW(HKEY_LOCAL_MACHINE, saved, 0, KEY_READ, &key), ERROR_SUCCESS);
    RegCloseKey(key);
    swprintf(saved, 300, L"SOFTWARE\\pipehost\\SavedParameters\\%ls", t->name);
    ck_assert_int_ne(RegOpenKeyExW(HKEY_LOCAL_MACHINE, saved, 0, KEY_READ, &key), ERROR_SUCCESS);
    ck_assert_msg(GetFileAttributesW(log_path) == INVALID_FILE_ATTRIBUTES, "%ls was not removed", log_path);
    swprintf(saved, 300, L"SOFTWARE\\MyService\\SavedParameters\\%ls", t->name);
    RegDeleteTreeW(HKEY_LOCAL_MACHINE, saved);
    RegDeleteKeyW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\MyService\\SavedParameters");
    RegDeleteKeyW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\MyService");
    DeleteFileW(log_path);
    RemoveDirectoryW(log_dir); /* only when no other service's log is left in it */
}

/* build_path: the myservice.exe that tests/package/run.sh built against the installed prefix (the package.*
 * fixture). Installed as a service, started, asked its own verbs and the built-in ones, and stopped; then
 * what it shows beyond verbs (run_example_features). */
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
    run_example_features(t, exe);
}

START_TEST(custom_service_static)
{
    run_custom_service(PH_TEST_PKG_STATIC_EXE, "pkg-static");
}
END_TEST

/* The example as built in this tree (the same source and CMake function): quicker to run than the package's. */
START_TEST(custom_service_in_tree)
{
    run_custom_service(PH_TEST_MYSERVICE_EXE, "ex-tree");
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

    add(s, tcase_create("custom_service_in_tree"), custom_service_in_tree);
    add(s, tcase_create("custom_service_static"), custom_service_static);
    add(s, tcase_create("custom_service_shared"), custom_service_shared);
    return s;
}
