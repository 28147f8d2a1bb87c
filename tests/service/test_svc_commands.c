/* test_svc_commands.c — command verbs through the real service: configured in the registry, served by pipehost.exe under the SCM, refused when unsafe. */
#include "svctest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static void teardown(void)
{
    svct_cleanup_all();
}

/* Parameters\<sub> under the service's key, opened for setting values (created if missing). */
static HKEY sub_key(svct *t, const wchar_t *sub)
{
    wchar_t path[400];
    HKEY key = NULL;

    swprintf(path, 400, L"SYSTEM\\CurrentControlSet\\Services\\%ls\\Parameters\\%ls", t->name, sub);
    ck_assert_int_eq(RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL), 0);
    return key;
}

static void set_sz(HKEY key, const wchar_t *name, const wchar_t *value)
{
    ck_assert_int_eq(RegSetValueExW(key, name, 0, REG_SZ, (const BYTE *)value, (DWORD)((wcslen(value) + 1) * 2)), 0);
}

/* Commands\<verb> running cmdchild.exe with the arguments (a REG_MULTI_SZ given with its final NULs). */
static void add_command(svct *t, const wchar_t *verb, const wchar_t *multi, DWORD multi_bytes)
{
    wchar_t sub[100], exe[MAX_PATH];
    HKEY key;

    swprintf(sub, 100, L"Commands\\%ls", verb);
    key = sub_key(t, sub);
    svct_exe_path(PH_TEST_CMDCHILD_EXE, exe, MAX_PATH);
    set_sz(key, L"Program", exe);
    ck_assert_int_eq(RegSetValueExW(key, L"Arguments", 0, REG_MULTI_SZ, (const BYTE *)multi, multi_bytes), 0);
    RegCloseKey(key);
}

static void restrict_verb(svct *t, const wchar_t *verb, const wchar_t *sddl)
{
    HKEY key = sub_key(t, L"Verbs");
    set_sz(key, verb, sddl);
    RegCloseKey(key);
}

/* The whole path: registry, start, a request served by the program, STATUS, stop. */
START_TEST(command_verb_served)
{
    static const wchar_t cat[] = L"cat\0";
    SERVICE_STATUS_PROCESS st;
    unsigned char *resp = NULL;
    size_t len = 0;
    svct *t;

    svct_require_single_scm();
    t = svct_new("cmd", NULL);
    add_command(t, L"UPPER", cat, sizeof(cat));
    restrict_verb(t, L"UPPER", L"D:(A;;GX;;;BA)(A;;GX;;;AU)");
    svct_start_running(t);
    ck_assert_int_eq(svct_transact(t->pipe, "UPPER a\0b", 9, &resp, &len), 0);
    ck_assert_msg(len == 6 && memcmp(resp, "OK a\0b", 6) == 0, "%.*s", (int)len, resp);
    ph_free(resp);
    ck_assert_int_eq(svct_transact(t->pipe, "STATUS", 6, &resp, &len), 0);
    ck_assert_msg(strstr((const char *)resp, "\ncommands_running=0\ncommands_started=1\n") != NULL, "%s", resp);
    ph_free(resp);
    ck_assert(svct_log_has(t, 5000, "command verb UPPER runs", NULL));
    svct_stop(t, 20000, &st);
    ck_assert_uint_eq(st.dwWin32ExitCode, 0);
}
END_TEST

static void expect_config_refused(svct *t, const char *needle)
{
    SERVICE_STATUS_PROCESS st;
    DWORD err = svct_start(t);
    char *log;

    /* As in test_service: judged by the final status and the log, not by StartServiceW's answer. */
    ck_assert_msg(svct_wait_state(t, SERVICE_STOPPED, 20000, &st), "not STOPPED (StartServiceW: %lu)", err);
    ck_assert_msg(st.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR && st.dwServiceSpecificExitCode == 1,
                  "STOPPED with %lu/%lu, expected the configuration's exit code 1", st.dwWin32ExitCode,
                  st.dwServiceSpecificExitCode);
    log = svct_read_file(t->log_path);
    ck_assert_msg(strstr(log, needle) != NULL, "log lacks \"%s\":\n%s", needle, log);
    free(log);
}

/* A command verb without its own descriptor would be open to anyone who may open the pipe. */
START_TEST(command_without_descriptor_refused)
{
    static const wchar_t cat[] = L"cat\0";
    svct *t;

    svct_require_single_scm();
    t = svct_new("cmdnosd", NULL);
    add_command(t, L"RUNME", cat, sizeof(cat));
    expect_config_refused(t, "add Parameters\\Verbs\\RUNME");
}
END_TEST

/* A relative program path, and an unknown value name: each refuses the start, naming it. */
START_TEST(command_bad_entries_refused)
{
    static const wchar_t cat[] = L"cat\0";
    svct *t;
    HKEY key;

    svct_require_single_scm();
    t = svct_new("cmdbad", NULL);
    add_command(t, L"RUNME", cat, sizeof(cat));
    restrict_verb(t, L"RUNME", L"D:(A;;GX;;;BA)");
    key = sub_key(t, L"Commands\\RUNME");
    set_sz(key, L"Program", L"cmdchild.exe");
    RegCloseKey(key);
    expect_config_refused(t, "Program \"cmdchild.exe\" is refused: it is not an absolute path");

    t = svct_new("cmdbad2", NULL);
    add_command(t, L"RUNME", cat, sizeof(cat));
    restrict_verb(t, L"RUNME", L"D:(A;;GX;;;BA)");
    key = sub_key(t, L"Commands\\RUNME");
    set_sz(key, L"Timeout", L"5");
    RegCloseKey(key);
    expect_config_refused(t, "Commands\\RUNME\\Timeout: unknown name");
}
END_TEST

/* `pipehost run --service NAME` (console mode) serves that service's command verbs too, as the docs promise
 * ("the same configuration, the same checks"). */
START_TEST(command_verb_console_mode)
{
    static const wchar_t cat[] = L"cat\0";
    wchar_t line[1024], ev_name[100], log[MAX_PATH];
    unsigned char *resp = NULL;
    size_t len = 0;
    HANDLE ev, proc;
    DWORD code = 0, waited;
    int rc = -1, answered = 0;
    svct *t;

    svct_require_single_scm();
    t = svct_new("cmdrun", NULL);
    add_command(t, L"UPPER", cat, sizeof(cat));
    restrict_verb(t, L"UPPER", L"D:(A;;GX;;;BA)(A;;GX;;;AU)");
    swprintf(ev_name, 100, L"phcmd-run-%lu", (unsigned long)GetCurrentProcessId());
    ev = CreateEventW(NULL, TRUE, FALSE, ev_name);
    ck_assert(ev != NULL);
    swprintf(line, 1024, L"\"%ls\" run --service %hs --stop-event %ls", svct_pipehost_exe(), t->name_a, ev_name);
    ck_assert(GetTempPathW(MAX_PATH, log) > 0);
    wcscat(log, L"phcmd-run.log");
    proc = svct_spawn(line, log);
    answered = svct_wait_ping(t->pipe, 30000, proc);
    if (answered)
        rc = svct_transact(t->pipe, "UPPER a\0b", 9, &resp, &len);
    SetEvent(ev);
    waited = WaitForSingleObject(proc, 30000);
    if (waited != WAIT_OBJECT_0)
        TerminateProcess(proc, 255);
    GetExitCodeProcess(proc, &code);
    CloseHandle(proc);
    CloseHandle(ev);
    ck_assert_msg(answered, "run --service did not serve %s (exit %lu)", t->pipe, (unsigned long)code);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(len == 6 && memcmp(resp, "OK a\0b", 6) == 0, "%.*s", (int)len, resp);
    ph_free(resp);
    ck_assert_uint_eq(waited, WAIT_OBJECT_0);
    ck_assert_uint_eq(code, 0);
    DeleteFileW(log);
}
END_TEST

/* pipehost command add|list|remove: checked first (nothing written when refused), then served after a start. */
START_TEST(command_cli)
{
    wchar_t line[2048], exe[MAX_PATH];
    SERVICE_STATUS_PROCESS st;
    unsigned char *resp = NULL;
    size_t len = 0;
    char *out = NULL;
    svct *t;
    int rc;

    svct_require_single_scm();
    t = svct_new("cmdcli", NULL);
    svct_exe_path(PH_TEST_CMDCHILD_EXE, exe, MAX_PATH);
    swprintf(line, 2048, L"\"%ls\" command add ECHOX --program \"%ls\" --arg cat --max-concurrent 2 --allow "
             L"\"D:(A;;GX;;;BA)(A;;GX;;;AU)\" --name %hs", svct_pipehost_exe(), exe, t->name_a);
    rc = svct_run(line, 30000, &out);
    ck_assert_msg(rc == 0, "add: exit %d: %s", rc, out);
    free(out);
    /* Refused before writing: a relative program; a built-in verb. */
    swprintf(line, 2048, L"\"%ls\" command add NOPE --program cmdchild.exe --allow \"D:(A;;GX;;;BA)\" --name %hs",
             svct_pipehost_exe(), t->name_a);
    rc = svct_run(line, 30000, &out);
    ck_assert_msg(rc == 64 && strstr(out, "not an absolute path") != NULL, "exit %d: %s", rc, out);
    free(out);
    swprintf(line, 2048, L"\"%ls\" command add PING --program \"%ls\" --allow \"D:(A;;GX;;;BA)\" --name %hs",
             svct_pipehost_exe(), exe, t->name_a);
    rc = svct_run(line, 30000, &out);
    ck_assert_msg(rc == 64 && strstr(out, "built-in verb") != NULL, "exit %d: %s", rc, out);
    free(out);
    swprintf(line, 2048, L"\"%ls\" command list --name %hs", svct_pipehost_exe(), t->name_a);
    rc = svct_run(line, 30000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "ECHOX") != NULL && strstr(out, "Arguments: [cat]") != NULL &&
                      strstr(out, "MaxConcurrent=2") != NULL && strstr(out, "NOPE") == NULL,
                  "exit %d: %s", rc, out);
    free(out);
    svct_start_running(t);
    ck_assert_int_eq(svct_transact(t->pipe, "ECHOX hi", 8, &resp, &len), 0);
    ck_assert_msg(len == 5 && memcmp(resp, "OK hi", 5) == 0, "%.*s", (int)len, resp);
    ph_free(resp);
    svct_stop(t, 20000, &st);
    swprintf(line, 2048, L"\"%ls\" command remove ECHOX --name %hs", svct_pipehost_exe(), t->name_a);
    rc = svct_run(line, 30000, &out);
    ck_assert_msg(rc == 0, "remove: exit %d: %s", rc, out);
    free(out);
    swprintf(line, 2048, L"\"%ls\" command list --name %hs", svct_pipehost_exe(), t->name_a);
    rc = svct_run(line, 30000, &out);
    ck_assert_msg(rc == 0 && strstr(out, "no command verbs") != NULL, "exit %d: %s", rc, out);
    free(out);
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
    Suite *s = suite_create("svc_commands");

    add(s, tcase_create("command_verb_served"), command_verb_served);
    add(s, tcase_create("command_without_descriptor_refused"), command_without_descriptor_refused);
    add(s, tcase_create("command_bad_entries_refused"), command_bad_entries_refused);
    add(s, tcase_create("command_cli"), command_cli);
    add(s, tcase_create("command_verb_console_mode"), command_verb_console_mode);
    return s;
}
