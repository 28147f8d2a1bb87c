/* svctest.c — service test fixtures: SCM install/remove, registry configuration, polling, processes, log files. */
#include "svctest.h"

#include <sddl.h>
#include <tlhelp32.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define MAX_SERVICES 8

/* Static storage, so teardown finds the services after a failed test has left its stack frame. */
static svct g_pool[MAX_SERVICES];
static int g_ncreated;
static int g_atexit;

void svct_exe_path(const char *build_path, wchar_t *out, size_t size)
{
    size_t i, o = 0;

    if (build_path[0] == '/' && size > 2) {
        out[o++] = L'Z';
        out[o++] = L':';
    }
    for (i = 0; build_path[i] != '\0' && o + 1 < size; i++)
        out[o++] = build_path[i] == '/' ? L'\\' : (wchar_t)(unsigned char)build_path[i];
    out[o] = L'\0';
}

const wchar_t *svct_pipehost_exe(void)
{
    static wchar_t path[MAX_PATH];
    if (path[0] == L'\0')
        svct_exe_path(PH_TEST_PIPEHOST_EXE, path, MAX_PATH);
    return path;
}

const wchar_t *svct_myservice_exe(void)
{
    static wchar_t path[MAX_PATH];
    if (path[0] == L'\0')
        svct_exe_path(PH_TEST_MYSERVICE_EXE, path, MAX_PATH);
    return path;
}

#ifdef PH_TEST_HANGSVC_EXE /* only the suites that use the hanging service are given its path */
const wchar_t *svct_hangsvc_exe(void)
{
    static wchar_t path[MAX_PATH];
    if (path[0] == L'\0')
        svct_exe_path(PH_TEST_HANGSVC_EXE, path, MAX_PATH);
    return path;
}
#endif

void svct_require_single_scm(void)
{
    PROCESSENTRY32W pe;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    int n = 0;

    if (snap == INVALID_HANDLE_VALUE)
        return;
    pe.dwSize = sizeof(pe);
    if (Process32FirstW(snap, &pe)) {
        do {
            if (_wcsicmp(pe.szExeFile, L"services.exe") == 0)
                n++;
        } while (Process32NextW(snap, &pe));
    }
    CloseHandle(snap);
    ck_assert_msg(n <= 1,
                  "%d services.exe processes run in this Wine prefix: each serves \\pipe\\svcctl, so SCM calls land on "
                  "either at random (a fresh `wineboot -i` starts two; restart the prefix's wineserver after it)", n);
}

static void wide(const char *s, wchar_t *out, size_t size)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, out, (int)size);
    ck_assert_msg(n > 0, "cannot convert %s", s);
}

static HKEY params_key(svct *t)
{
    wchar_t path[300];
    HKEY key = NULL;
    LSTATUS st;

    swprintf(path, 300, L"SYSTEM\\CurrentControlSet\\Services\\%ls\\Parameters", t->name);
    st = RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL);
    ck_assert_msg(st == ERROR_SUCCESS, "RegCreateKeyExW(%ls) failed: %ld", path, (long)st);
    return key;
}

void svct_set_raw(svct *t, const char *value, DWORD type, const void *data, DWORD size)
{
    wchar_t wname[100];
    HKEY key = params_key(t);
    LSTATUS st;

    wide(value, wname, 100);
    st = RegSetValueExW(key, wname, 0, type, data, size);
    RegCloseKey(key);
    ck_assert_msg(st == ERROR_SUCCESS, "RegSetValueExW(%s) failed: %ld", value, (long)st);
}

void svct_set_dword(svct *t, const char *value, DWORD data)
{
    svct_set_raw(t, value, REG_DWORD, &data, sizeof(data));
}

void svct_set_sz(svct *t, const char *value, const char *data)
{
    wchar_t w[1024];
    wide(data, w, 1024);
    svct_set_raw(t, value, REG_SZ, w, (DWORD)((wcslen(w) + 1) * sizeof(wchar_t)));
}

void svct_delete_value(svct *t, const char *value)
{
    wchar_t wname[100];
    HKEY key = params_key(t);
    wide(value, wname, 100);
    RegDeleteValueW(key, wname);
    RegCloseKey(key);
}

static void atexit_cleanup(void)
{
    svct_cleanup_all();
}

/* The folder of the test services' LogFile: %ProgramData%\phsvc-tests, made like the service's own (owner
 * SYSTEM or Administrators, protected, only they write; Users read), since the service refuses to log into a
 * folder anyone else may write (a user's temp folder is owned by the user). */
void svct_log_dir(wchar_t *out, size_t size)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t base[MAX_PATH];
    DWORD n = GetEnvironmentVariableW(L"ProgramData", base, MAX_PATH);

    ck_assert_msg(n > 0 && n < MAX_PATH, "ProgramData is not set");
    swprintf(out, size, L"%ls\\phsvc-tests", base);
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)",
                                                                   SDDL_REVISION_1, &sd, NULL));
    sa.lpSecurityDescriptor = sd;
    ck_assert_msg(CreateDirectoryW(out, &sa) || GetLastError() == ERROR_ALREADY_EXISTS, "CreateDirectoryW(%ls): %lu", out,
                  GetLastError());
    LocalFree(sd);
}

svct *svct_new(const char *tag, const wchar_t *exe)
{
    static unsigned counter;
    wchar_t bin[MAX_PATH + 4], tmp[MAX_PATH];
    DWORD err;
    svct *t;

    svct_require_single_scm();
    ck_assert_msg(g_ncreated < MAX_SERVICES, "too many test services");
    t = &g_pool[g_ncreated++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name_a, sizeof(t->name_a), "phsvc-%s-%lu-%u", tag, (unsigned long)GetCurrentProcessId(), ++counter);
    wide(t->name_a, t->name, 80);
    ph_test_pipe_name(t->pipe, sizeof(t->pipe), tag);
    snprintf(t->pipe_full, sizeof(t->pipe_full), "\\\\.\\pipe\\%s", t->pipe);
    svct_log_dir(tmp, MAX_PATH);
    swprintf(t->log_path, MAX_PATH, L"%ls\\%ls.log", tmp, t->name);
    WideCharToMultiByte(CP_UTF8, 0, t->log_path, -1, t->log_path_a, MAX_PATH, NULL, NULL);
    DeleteFileW(t->log_path);

    t->scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_ALL_ACCESS);
    ck_assert_msg(t->scm != NULL, "OpenSCManagerW failed: %lu", GetLastError());
    /* The path is quoted: unquoted paths with spaces are a classic privilege-escalation hole. */
    swprintf(bin, MAX_PATH + 4, L"\"%ls\"", exe ? exe : svct_pipehost_exe());
    t->svc = CreateServiceW(t->scm, t->name, t->name, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                            SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, bin, NULL, NULL, NULL, NULL, NULL);
    err = GetLastError();
    ck_assert_msg(t->svc != NULL, "CreateServiceW(%ls, %ls) failed: %lu", t->name, bin, err);
    if (!g_atexit) {
        atexit(atexit_cleanup);
        g_atexit = 1;
    }
    svct_set_sz(t, "PipeName", t->pipe);
    svct_set_sz(t, "LogFile", t->log_path_a);
    return t;
}

DWORD svct_start(svct *t)
{
    return StartServiceW(t->svc, 0, NULL) ? 0 : GetLastError();
}

static int query(svct *t, SERVICE_STATUS_PROCESS *st)
{
    DWORD need = 0;
    return QueryServiceStatusEx(t->svc, SC_STATUS_PROCESS_INFO, (LPBYTE)st, sizeof(*st), &need);
}

int svct_wait_state(svct *t, DWORD state, unsigned timeout_ms, SERVICE_STATUS_PROCESS *st)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;

    for (;;) {
        ck_assert_msg(query(t, st), "QueryServiceStatusEx failed: %lu", GetLastError());
        if (st->dwCurrentState == state)
            return 1;
        if (ph_test_now_ms() >= end)
            return 0;
        ph_test_sleep_ms(20);
    }
}

void svct_start_running(svct *t)
{
    SERVICE_STATUS_PROCESS st;
    DWORD err = svct_start(t);
    char *log;
    int ok;

    ck_assert_msg(err == 0, "StartServiceW(%s) failed: %lu", t->name_a, err);
    ok = svct_wait_state(t, SERVICE_RUNNING, 20000, &st);
    if (!ok) {
        log = svct_read_file(t->log_path);
        ck_abort_msg("%s did not reach RUNNING in 20 s: state %lu, exit %lu/%lu; log:\n%s", t->name_a,
                     st.dwCurrentState, st.dwWin32ExitCode, st.dwServiceSpecificExitCode, log);
    }
}

void svct_stop(svct *t, unsigned timeout_ms, SERVICE_STATUS_PROCESS *st)
{
    SERVICE_STATUS s;

    if (!ControlService(t->svc, SERVICE_CONTROL_STOP, &s)) {
        DWORD err = GetLastError();
        ck_assert_msg(err == ERROR_SERVICE_NOT_ACTIVE, "ControlService(STOP) failed: %lu", err);
    }
    ck_assert_msg(svct_wait_state(t, SERVICE_STOPPED, timeout_ms, st), "%s not STOPPED within %u ms (state %lu)",
                  t->name_a, timeout_ms, st->dwCurrentState);
}

static void remove_service(svct *t)
{
    SERVICE_STATUS s;
    SERVICE_STATUS_PROCESS st;
    wchar_t path[300];
    unsigned long long end;

    if (t->svc != NULL) {
        ControlService(t->svc, SERVICE_CONTROL_STOP, &s);
        end = ph_test_now_ms() + 15000;
        while (query(t, &st) && st.dwCurrentState != SERVICE_STOPPED && ph_test_now_ms() < end)
            ph_test_sleep_ms(50);
        DeleteService(t->svc);
        CloseServiceHandle(t->svc);
        t->svc = NULL;
    }
    if (t->scm != NULL) {
        CloseServiceHandle(t->scm);
        t->scm = NULL;
    }
    swprintf(path, 300, L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\%ls", t->name);
    RegDeleteKeyW(HKEY_LOCAL_MACHINE, path);
    swprintf(path, 300, L"SYSTEM\\CurrentControlSet\\Services\\%ls\\Parameters", t->name);
    RegDeleteKeyW(HKEY_LOCAL_MACHINE, path);
    if (t->log_path[0] != L'\0') {
        /* Kept on failure for the post-mortem would be nice, but the temp folder dies with the prefix. */
        wchar_t rotated[MAX_PATH + 3];
        swprintf(rotated, MAX_PATH + 3, L"%ls.1", t->log_path);
        DeleteFileW(t->log_path);
        DeleteFileW(rotated);
    }
}

void svct_cleanup_all(void)
{
    while (g_ncreated > 0)
        remove_service(&g_pool[--g_ncreated]);
}

char *svct_read_file(const wchar_t *path)
{
    HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    LARGE_INTEGER size;
    DWORD got = 0;
    char *buf;

    if (h == INVALID_HANDLE_VALUE || !GetFileSizeEx(h, &size) || size.QuadPart > 16 * 1024 * 1024) {
        if (h != INVALID_HANDLE_VALUE)
            CloseHandle(h);
        buf = malloc(1);
        ck_assert(buf != NULL);
        buf[0] = '\0';
        return buf;
    }
    buf = malloc((size_t)size.QuadPart + 1);
    ck_assert(buf != NULL);
    if (!ReadFile(h, buf, (DWORD)size.QuadPart, &got, NULL))
        got = 0;
    buf[got] = '\0';
    CloseHandle(h);
    return buf;
}

int svct_log_has(svct *t, unsigned timeout_ms, ...)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;

    for (;;) {
        char *text = svct_read_file(t->log_path);
        const char *needle;
        int all = 1;
        va_list ap;

        va_start(ap, timeout_ms);
        while ((needle = va_arg(ap, const char *)) != NULL)
            if (strstr(text, needle) == NULL)
                all = 0;
        va_end(ap);
        free(text);
        if (all)
            return 1;
        if (ph_test_now_ms() >= end)
            return 0;
        ph_test_sleep_ms(50);
    }
}

int svct_transact(const char *pipe, const void *req, size_t len, unsigned char **resp, size_t *resp_len)
{
    ph_client *c = NULL;
    int rc = ph_client_new(&c);

    *resp = NULL;
    *resp_len = 0;
    if (rc == 0)
        rc = ph_client_connect(c, pipe, 5000, 0);
    if (rc == 0)
        rc = ph_client_transact(c, req, len, resp, resp_len, 10000, 0);
    ph_client_free(c);
    return rc;
}

BOOL svct_create_process(const wchar_t *cmdline, DWORD flags, STARTUPINFOW *si, PROCESS_INFORMATION *pi)
{
    size_t n = wcslen(cmdline) + 1;
    wchar_t *cmd = malloc(n * sizeof(wchar_t)); /* CreateProcessW may write to its command line */
    DWORD err = ERROR_NOT_ENOUGH_MEMORY;
    BOOL ok = FALSE;
    int attempt;

    for (attempt = 1; cmd != NULL && attempt <= 5; attempt++) {
        memcpy(cmd, cmdline, n * sizeof(wchar_t));
        ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, flags, NULL, NULL, si, pi);
        err = ok ? 0 : GetLastError();
        if (ok || err != ERROR_INTERNAL_ERROR)
            break;
        fprintf(stderr, "svct: CreateProcessW(%ls) failed with 1359 (try %d of 5); retrying\n", cmdline, attempt);
        ph_test_sleep_ms(200);
    }
    free(cmd);
    SetLastError(err);
    return ok;
}

HANDLE svct_spawn(const wchar_t *cmdline, const wchar_t *out_file)
{
    return svct_spawn_flags(cmdline, 0, out_file);
}

HANDLE svct_spawn_flags(const wchar_t *cmdline, DWORD flags, const wchar_t *out_file)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    HANDLE h = CreateFileW(out_file, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa,
                           CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY, NULL);

    ck_assert_msg(h != INVALID_HANDLE_VALUE, "cannot create %ls: %lu", out_file, GetLastError());
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = h;
    si.hStdError = h;
    if (!svct_create_process(cmdline, flags, &si, &pi)) {
        DWORD err = GetLastError();
        CloseHandle(h);
        ck_abort_msg("CreateProcessW(%ls) failed: %lu", cmdline, err);
    }
    CloseHandle(h);
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

int svct_wait_ping(const char *pipe, unsigned timeout_ms, HANDLE proc)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;
    unsigned char *resp = NULL;
    size_t len = 0;

    while (ph_test_now_ms() < end && (proc == NULL || WaitForSingleObject(proc, 0) == WAIT_TIMEOUT)) {
        if (svct_transact(pipe, "PING", 4, &resp, &len) == 0) {
            ph_free(resp);
            return 1;
        }
        ph_test_sleep_ms(50);
    }
    return 0;
}

int svct_run(const wchar_t *cmdline, unsigned timeout_ms, char **out)
{
    PROCESS_INFORMATION pi;
    wchar_t tmp[MAX_PATH], file[MAX_PATH];
    DWORD code = 0;
    static unsigned counter;
    int rc;

    /* Output goes to a file, not a pipe: a child that writes more than a pipe holds cannot block. */
    ck_assert(GetTempPathW(MAX_PATH, tmp) > 0);
    swprintf(file, MAX_PATH, L"%lsphsvc-out-%lu-%u.txt", tmp, (unsigned long)GetCurrentProcessId(), ++counter);
    pi.hProcess = svct_spawn(cmdline, file);
    if (WaitForSingleObject(pi.hProcess, timeout_ms) != WAIT_OBJECT_0) {
        TerminateProcess(pi.hProcess, 255);
        WaitForSingleObject(pi.hProcess, 5000);
        rc = -1;
    } else {
        GetExitCodeProcess(pi.hProcess, &code);
        rc = (int)code;
    }
    CloseHandle(pi.hProcess);
    if (out != NULL)
        *out = svct_read_file(file);
    DeleteFileW(file);
    return rc;
}
