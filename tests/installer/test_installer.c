/* test_installer.c — pipehost install/uninstall/status/reload and the sc scripts, end to end through the real SCM. */
#include "svctest.h"

#include <aclapi.h>
#include <knownfolders.h>
#include <msi.h>
#include <msiquery.h>
#include <sddl.h>
#include <shlobj.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "filelog.h"

#define RUN_MS 120000u
#define SERVICES_KEY "SYSTEM\\CurrentControlSet\\Services\\"
#define EVENTLOG_KEY "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\"

static void wide(const char *s, wchar_t *out, size_t size)
{
    MultiByteToWideChar(CP_UTF8, 0, s, -1, out, (int)size);
}

/* A service name no other run uses. */
static void unique(char *out, size_t size, const char *tag)
{
    static unsigned n;
    snprintf(out, size, "phi-%s-%lu-%u", tag, (unsigned long)GetCurrentProcessId(), ++n);
}

/* The pipehost.exe that ph() runs: this build's, or the one an MSI installed. */
static wchar_t g_exe[MAX_PATH];

/* Every install here passes --allow-unsafe-location: it registers this build's pipehost.exe wherever the build
 * tree is, which on Windows is often a folder every user may change (the refusal itself is tested by
 * test_installer.cli_unsafe_location). */
/* Runs `pipehost.exe ARGS`; returns its exit code, *out its stdout+stderr (malloc'd). */
static int ph(char **out, const char *fmt, ...) PH_PRINTF(2, 3);
static int ph(char **out, const char *fmt, ...)
{
    char args[2048];
    wchar_t cmd[3000], wargs[2048];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    wide(args, wargs, 2048);
    swprintf(cmd, 3000, L"\"%ls\" %ls", g_exe[0] ? g_exe : svct_pipehost_exe(), wargs);
    rc = svct_run(cmd, RUN_MS, out);
    printf("pipehost %s -> %d\n%s\n", args, rc, *out);
    return rc;
}

static int hklm_exists(const char *path)
{
    wchar_t w[600];
    HKEY key;

    wide(path, w, 600);
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, w, 0, KEY_QUERY_VALUE, &key) != ERROR_SUCCESS)
        return 0;
    RegCloseKey(key);
    return 1;
}

static char *params_path(const char *name)
{
    static char path[400];
    snprintf(path, sizeof(path), SERVICES_KEY "%s\\Parameters", name);
    return path;
}

/* A DWORD from the service's Parameters; -1 when absent. */
static long long param_dword(const char *name, const char *value)
{
    wchar_t key[400], v[100];
    DWORD data = 0, size = sizeof(data), type = 0;

    wide(params_path(name), key, 400);
    wide(value, v, 100);
    if (RegGetValueW(HKEY_LOCAL_MACHINE, key, v, RRF_RT_ANY, &type, &data, &size) != ERROR_SUCCESS)
        return -1;
    ck_assert_uint_eq(type, REG_DWORD);
    return data;
}

/* A string from the service's Parameters (UTF-8, in out); 0 when absent. */
static int param_sz(const char *name, const char *value, char *out, size_t size)
{
    wchar_t key[400], v[100], data[600];
    DWORD bytes = sizeof(data), type = 0;

    wide(params_path(name), key, 400);
    wide(value, v, 100);
    if (RegGetValueW(HKEY_LOCAL_MACHINE, key, v, RRF_RT_REG_SZ, &type, data, &bytes) != ERROR_SUCCESS)
        return 0;
    WideCharToMultiByte(CP_UTF8, 0, data, -1, out, (int)size, NULL, NULL);
    return 1;
}

static void set_param_dword(const char *name, const char *value, DWORD data)
{
    wchar_t key[400], v[100];
    wide(params_path(name), key, 400);
    wide(value, v, 100);
    ck_assert_int_eq(RegSetKeyValueW(HKEY_LOCAL_MACHINE, key, v, REG_DWORD, &data, sizeof(data)), 0);
}

/* The service's status from the SCM; 0 when it is not installed. */
static int query(const char *name, SERVICE_STATUS_PROCESS *st, QUERY_SERVICE_CONFIGW *cfg, size_t cfg_size)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    wchar_t w[300];
    DWORD need = 0, err;

    ck_assert_msg(scm != NULL, "OpenSCManagerW: %lu", GetLastError());
    wide(name, w, 300);
    svc = OpenServiceW(scm, w, SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG);
    if (svc == NULL) {
        err = GetLastError();
        CloseServiceHandle(scm);
        ck_assert_msg(err == ERROR_SERVICE_DOES_NOT_EXIST, "OpenServiceW(%s): %lu", name, err);
        return 0;
    }
    if (st != NULL)
        ck_assert(QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)st, sizeof(*st), &need));
    if (cfg != NULL)
        ck_assert_msg(QueryServiceConfigW(svc, cfg, (DWORD)cfg_size, &need), "QueryServiceConfigW: %lu",
                      GetLastError());
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return 1;
}

/* Polls the SCM until the service is in state (bounded). */
static int wait_state(const char *name, DWORD state, unsigned timeout_ms)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;
    SERVICE_STATUS_PROCESS st;

    do {
        if (query(name, &st, NULL, 0) && st.dwCurrentState == state)
            return 1;
        ph_test_sleep_ms(50);
    } while (ph_test_now_ms() < end);
    return 0;
}

static void default_log(const char *name, wchar_t *out, size_t size)
{
    PWSTR dir = NULL;
    ck_assert(SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &dir)));
    swprintf(out, size, L"%ls\\pipehost\\%hs.log", dir, name);
    CoTaskMemFree(dir);
}

/* After an uninstall: no service, no key under Services (Parameters included), no event source. A deleted
 * service leaves the SCM's list only once the last handle to it is closed and its process has exited, which
 * may come a moment after the uninstaller returned: that is waited for, bounded. */
static void expect_gone(const char *name)
{
    unsigned long long end = ph_test_now_ms() + 15000;
    char path[400];
    int installed;

    while ((installed = query(name, NULL, NULL, 0)) != 0 && ph_test_now_ms() < end)
        ph_test_sleep_ms(50);
    ck_assert_msg(!installed, "service %s is still installed 15 s after its uninstall", name);
    snprintf(path, sizeof(path), SERVICES_KEY "%s", name);
    ck_assert_msg(!hklm_exists(path), "HKLM\\%s is still there", path);
    snprintf(path, sizeof(path), EVENTLOG_KEY "%s", name);
    ck_assert_msg(!hklm_exists(path), "event source HKLM\\%s is still there", path);
}

static void expect_reply(const char *pipe, const char *req, const char *want_prefix)
{
    unsigned char *resp = NULL;
    size_t len = 0;
    int rc = svct_transact(pipe, req, strlen(req), &resp, &len);

    ck_assert_msg(rc == 0, "%s on %s: %s", req, pipe, ph_strerror(rc));
    ck_assert_msg(len >= strlen(want_prefix) && memcmp(resp, want_prefix, strlen(want_prefix)) == 0,
                  "%s answered \"%.*s\", want \"%s...\"", req, (int)len, (const char *)resp, want_prefix);
    ph_free(resp);
}

/* PING, ECHO and STATUS answered on the service's own pipe. */
static void expect_serving(const char *pipe, const char *status_needle)
{
    unsigned char *resp = NULL;
    size_t len = 0;

    expect_reply(pipe, "PING", "OK PONG");
    expect_reply(pipe, "ECHO installed", "OK installed");
    ck_assert_int_eq(svct_transact(pipe, "STATUS", 6, &resp, &len), 0);
    ck_assert_msg(strstr((const char *)resp, status_needle) != NULL, "STATUS lacks %s:\n%s", status_needle,
                  (const char *)resp);
    ph_free(resp);
}

/* "pipe=\\.\pipe\x\n" -> the pipe's own name for searching tool output, without the key and the line end. */
static char g_full_name[200];
static void full_name(const char *status_line)
{
    snprintf(g_full_name, sizeof(g_full_name), "%s", status_line + 5);
    g_full_name[strlen(g_full_name) - 1] = '\0';
}

static void must_contain(const char *out, const char *needle)
{
    ck_assert_msg(strstr(out, needle) != NULL, "output lacks \"%s\":\n%s", needle, out);
}

static void stop_service(const char *name)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS ss;
    wchar_t w[300];

    wide(name, w, 300);
    svc = scm ? OpenServiceW(scm, w, SERVICE_STOP) : NULL;
    ck_assert_msg(svc != NULL, "OpenServiceW(%s): %lu", name, GetLastError());
    ck_assert_msg(ControlService(svc, SERVICE_CONTROL_STOP, &ss), "STOP: %lu", GetLastError());
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    ck_assert_msg(wait_state(name, SERVICE_STOPPED, 60000), "%s did not stop", name);
}

/* install → start → PING/ECHO/STATUS on its own pipe → status → change a value → reload → the new limit holds →
 * stop → uninstall → everything gone. */
START_TEST(cli_lifecycle)
{
    char name[80], pipe[120], full[160], *out = NULL, big[400];
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } cfg;
    SERVICE_STATUS_PROCESS st;
    wchar_t log[MAX_PATH], want_bin[MAX_PATH + 4];
    char path[400];
    unsigned char *resp = NULL;
    size_t len = 0;

    svct_require_single_scm();
    unique(name, sizeof(name), "life");
    ph_test_pipe_name(pipe, sizeof(pipe), "inst");
    snprintf(full, sizeof(full), "pipe=\\\\.\\pipe\\%s\n", pipe);
    full_name(full);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --set PipeName=%s --set MaxMessageBytes=4096 --start-now", name, pipe),
                     0);
    must_contain(out, "installed");
    free(out);

    ck_assert(query(name, &st, &cfg.qc, sizeof(cfg)));
    ck_assert_uint_eq(st.dwCurrentState, SERVICE_RUNNING);
    ck_assert_uint_eq(cfg.qc.dwStartType, SERVICE_AUTO_START);
    ck_assert_uint_eq(cfg.qc.dwServiceType, SERVICE_WIN32_OWN_PROCESS);
    /* The binary path is quoted (the unquoted-path hole) and is this build's pipehost.exe. */
    swprintf(want_bin, MAX_PATH + 4, L"\"%ls\"", svct_pipehost_exe());
    ck_assert_msg(_wcsicmp(cfg.qc.lpBinaryPathName, want_bin) == 0, "binary path %ls", cfg.qc.lpBinaryPathName);
    snprintf(path, sizeof(path), EVENTLOG_KEY "%s", name);
    ck_assert_msg(hklm_exists(path), "no event source");
    ck_assert_int_eq(param_dword(name, "MaxMessageBytes"), 4096);

    expect_serving(pipe, full);
    /* The client finds the pipe from the service name. */
    ck_assert_int_eq(ph(&out, "ping --service %s", name), 0);
    must_contain(out, "PONG");
    free(out);
    ck_assert_int_eq(ph(&out, "send ECHO hello --service %s", name), 0);
    must_contain(out, "hello");
    free(out);

    ck_assert_int_eq(ph(&out, "status --name %s", name), 0);
    must_contain(out, "RUNNING");
    must_contain(out, "MaxMessageBytes       4096");
    must_contain(out, "registry");
    must_contain(out, g_full_name);
    free(out);

    /* A live value changes: reload reports the service's own verdict, and the new limit holds. */
    set_param_dword(name, "MaxMessageBytes", 100);
    ck_assert_int_eq(ph(&out, "reload --name %s", name), 0);
    must_contain(out, "MaxMessageBytes 4096 -> 100");
    free(out);
    memcpy(big, "ECHO ", 5);
    memset(big + 5, 'x', 200);
    big[205] = '\0';
    expect_reply(pipe, big, "ERR too-large");
    /* An invalid value is refused by the service, which keeps the running configuration. */
    set_param_dword(name, "MaxMessageBytes", 0);
    ck_assert_int_eq(ph(&out, "reload --name %s", name), 14);
    must_contain(out, "kept its configuration");
    free(out);
    ck_assert_int_eq(svct_transact(pipe, "STATUS", 6, &resp, &len), 0);
    ck_assert_msg(strstr((const char *)resp, "max_message_bytes=100\n") != NULL, "%s", (const char *)resp);
    ph_free(resp);
    set_param_dword(name, "MaxMessageBytes", 100);

    stop_service(name);
    ck_assert_int_eq(ph(&out, "status --name %s", name), 15);
    must_contain(out, "STOPPED");
    free(out);
    default_log(name, log, MAX_PATH);
    out = svct_read_file(log);
    must_contain(out, "PARAMCHANGE");
    free(out);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    expect_gone(name);
    ck_assert_msg(GetFileAttributesW(log) == INVALID_FILE_ATTRIBUTES, "the log %ls is still there", log);
}
END_TEST

/* Installing over an installation updates it and keeps its Parameters; --keep-config carries them over an
 * uninstall to the next install. */
START_TEST(cli_reinstall_keeps)
{
    char name[80], *out = NULL;
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } cfg;
    char saved[300];

    svct_require_single_scm();
    unique(name, sizeof(name), "again");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --start demand --set MaxMessageBytes=1234", name), 0);
    free(out);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --start demand --display-name \"Second %s\" --set DrainTimeoutMs=2000",
                        name, name), 0);
    must_contain(out, "updated");
    free(out);
    ck_assert_int_eq(param_dword(name, "MaxMessageBytes"), 1234);
    ck_assert_int_eq(param_dword(name, "DrainTimeoutMs"), 2000);
    ck_assert(query(name, NULL, &cfg.qc, sizeof(cfg)));
    ck_assert_uint_eq(cfg.qc.dwStartType, SERVICE_DEMAND_START);
    ck_assert_msg(wcsncmp(cfg.qc.lpDisplayName, L"Second ", 7) == 0, "display name %ls", cfg.qc.lpDisplayName);
    /* Another service may not take that display name: exit 11 with a clear message, nothing created. */
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s-2 --start demand --display-name \"Second %s\"", name, name), 11);
    must_contain(out, "display name is already used");
    free(out);
    snprintf(saved, sizeof(saved), "%s-2", name);
    ck_assert(!query(saved, NULL, NULL, 0));

    /* The merged configuration is checked: the kept DrainTimeoutMs 2000 with a PreshutdownTimeoutMs below it
     * + 1000 is refused, and nothing changes. */
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --set PreshutdownTimeoutMs=2500", name), 64);
    must_contain(out, "PreshutdownTimeoutMs");
    free(out);
    ck_assert_int_eq(param_dword(name, "PreshutdownTimeoutMs"), -1);

    ck_assert_int_eq(ph(&out, "uninstall --name %s --keep-config", name), 0);
    free(out);
    expect_gone(name);
    snprintf(saved, sizeof(saved), "SOFTWARE\\pipehost\\SavedParameters\\%s", name);
    ck_assert(hklm_exists(saved));
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --start demand", name), 0);
    must_contain(out, "restored");
    free(out);
    ck_assert_int_eq(param_dword(name, "MaxMessageBytes"), 1234);
    ck_assert(!hklm_exists(saved));
    ck_assert(!hklm_exists("SOFTWARE\\pipehost"));
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    expect_gone(name);
    ck_assert(!hklm_exists(saved));
}
END_TEST

/* A new installation without a PipeName serves its account's protected name, ProtectedPrefix\<prefix>\NAME
 * (LocalSystem: Administrators; LocalService: LocalService), which the client reaches by the service's name or
 * by the pipe's; --no-protected-name keeps the plain name; a PipeName under a prefix the account may not create
 * pipes under is refused before anything changes. Wine lets anyone create under the prefixes (WINE.md): what
 * is shown here is the naming; the protection itself is test_squat.protected_prefix_refuses_users, on Windows. */
START_TEST(cli_protected_name)
{
    char name[80], plain[80], ls[80], text[300], want[300], *out = NULL;

    svct_require_single_scm();
    unique(name, sizeof(name), "prot");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --start demand --start-now", name), 0);
    snprintf(want, sizeof(want), "serving \\\\.\\pipe\\ProtectedPrefix\\Administrators\\%s", name);
    must_contain(out, want);
    free(out);
    ck_assert(param_sz(name, "PipeName", text, sizeof(text)));
    snprintf(want, sizeof(want), "ProtectedPrefix\\Administrators\\%s", name);
    ck_assert_str_eq(text, want);
    snprintf(text, sizeof(text), "pipe=\\\\.\\pipe\\%s\n", want);
    expect_serving(want, text);
    ck_assert_int_eq(ph(&out, "ping --service %s", name), 0);
    must_contain(out, "PONG");
    free(out);
    ck_assert_int_eq(ph(&out, "ping --pipe %s --no-verify-server", want), 0);
    must_contain(out, "PONG");
    free(out);
    ck_assert_int_eq(ph(&out, "status --name %s", name), 0);
    must_contain(out, want);
    must_contain(out, "(pool)");
    must_contain(out, "  pool="); /* the server's STATUS, indented */
    free(out);
    /* Installing over it keeps its name (moving the pipe would strand its clients). */
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --start demand --no-protected-name", name), 0);
    free(out);
    ck_assert(param_sz(name, "PipeName", text, sizeof(text)));
    ck_assert_str_eq(text, want);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    expect_gone(name);

    /* Opting out: no PipeName written, the plain default served. */
    unique(plain, sizeof(plain), "plain");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --start demand --no-protected-name", plain), 0);
    free(out);
    ck_assert(!param_sz(plain, "PipeName", text, sizeof(text)));
    ck_assert_int_eq(ph(&out, "uninstall --name %s", plain), 0);
    free(out);
    expect_gone(plain);

    /* LocalService: its own prefix. A name under another account's prefix is refused, nothing changed. */
    unique(ls, sizeof(ls), "protls");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --account LocalService --start demand", ls), 0);
    free(out);
    ck_assert(param_sz(ls, "PipeName", text, sizeof(text)));
    snprintf(want, sizeof(want), "ProtectedPrefix\\LocalService\\%s", ls);
    ck_assert_str_eq(text, want);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --account LocalService --start demand "
                              "--set PipeName=ProtectedPrefix\\Administrators\\x", ls), 64);
    must_contain(out, "is under ProtectedPrefix\\Administrators, where only Administrators and SYSTEM can create pipes");
    must_contain(out, "--account LocalSystem");
    must_contain(out, "nothing was installed or changed");
    free(out);
    ck_assert(param_sz(ls, "PipeName", text, sizeof(text)));
    ck_assert_str_eq(text, want);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", ls), 0);
    free(out);
    expect_gone(ls);
    /* A virtual account has no prefix at all. */
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --account virtual --set PipeName=ProtectedPrefix\\LocalService\\x",
                        ls), 64);
    must_contain(out, "where only LocalService can create pipes");
    free(out);
    ck_assert(!query(ls, NULL, NULL, 0));
}
END_TEST

START_TEST(cli_uninstall_running)
{
    char name[80], pipe[120], *out = NULL;
    SERVICE_STATUS_PROCESS st;
    HANDLE proc;
    DWORD pid;

    svct_require_single_scm();
    unique(name, sizeof(name), "run");
    ph_test_pipe_name(pipe, sizeof(pipe), "instrun");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --set PipeName=%s --start-now --start demand", name, pipe), 0);
    free(out);
    ck_assert(query(name, &st, NULL, 0));
    ck_assert_uint_eq(st.dwCurrentState, SERVICE_RUNNING);
    pid = st.dwProcessId;
    proc = OpenProcess(SYNCHRONIZE, FALSE, pid);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    must_contain(out, "stopping");
    free(out);
    expect_gone(name);
    /* The service process has ended, not just been forgotten by the SCM. */
    if (proc != NULL) {
        ck_assert_uint_eq(WaitForSingleObject(proc, 30000), WAIT_OBJECT_0);
        CloseHandle(proc);
    }
    ck_assert_int_ne(svct_transact(pipe, "PING", 4, &(unsigned char *){NULL}, &(size_t){0}), 0);
}
END_TEST

START_TEST(cli_uninstall_absent)
{
    char *out = NULL;

    svct_require_single_scm();
    ck_assert_int_eq(ph(&out, "uninstall --name phi-never-installed"), 0);
    must_contain(out, "nothing to remove");
    free(out);
    ck_assert_int_eq(ph(&out, "status --name phi-never-installed"), 12);
    free(out);
    ck_assert_int_eq(ph(&out, "reload --name phi-never-installed"), 12);
    free(out);
    ck_assert_int_eq(ph(&out, "ping --service phi-never-installed"), 2);
    must_contain(out, "no service named phi-never-installed");
    free(out);
}
END_TEST

/* An invalid --set value installs nothing: no service, no keys. */
START_TEST(cli_invalid_set)
{
    char name[80], path[300], *out = NULL;

    svct_require_single_scm();
    unique(name, sizeof(name), "bad");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --set MaxMessageBytes=0", name), 64);
    must_contain(out, "MaxMessageBytes");
    must_contain(out, "nothing was installed");
    free(out);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --set NoSuchValue=1", name), 64);
    must_contain(out, "NoSuchValue");
    free(out);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --set Sddl=D:NO_ACCESS_CONTROL", name), 64);
    free(out);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --account Nobody", name), 64);
    free(out);
    ck_assert(!query(name, NULL, NULL, 0));
    snprintf(path, sizeof(path), SERVICES_KEY "%s", name);
    ck_assert(!hklm_exists(path));
    snprintf(path, sizeof(path), EVENTLOG_KEY "%s", name);
    ck_assert(!hklm_exists(path));
}
END_TEST

/* A step that fails after the service was created takes back what this run created: here the log folder's
 * path is a file that cannot be moved aside (held open without sharing), so the folder cannot be prepared. */
START_TEST(cli_rollback)
{
    char name[80], *out = NULL;
    wchar_t dir[MAX_PATH];
    PWSTR base = NULL;
    HANDLE h;

    svct_require_single_scm();
    unique(name, sizeof(name), "undo");
    ck_assert(SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &base)));
    swprintf(dir, MAX_PATH, L"%ls\\pipehost", base);
    CoTaskMemFree(base);
    h = CreateFileW(dir, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    ck_assert_msg(h != INVALID_HANDLE_VALUE, "cannot create the file %ls: %lu", dir, GetLastError());
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --start demand", name), 1);
    must_contain(out, "not a plain folder");
    must_contain(out, "cannot be moved aside");
    must_contain(out, "rolled back");
    free(out);
    CloseHandle(h);
    expect_gone(name);
    ck_assert(DeleteFileW(dir));
}
END_TEST

/* --start-now of a service that cannot start (its pipe name is served by someone else): installed, exit 13, and
 * the message gives the service-specific code; `status` shows STOPPED with it. */
START_TEST(cli_start_fails)
{
    char name[80], pipe[120], *out = NULL;
    ph_server *squatter = NULL;
    ph_router *router = NULL;
    ph_server_config sc;

    svct_require_single_scm();
    unique(name, sizeof(name), "nostart");
    ph_test_pipe_name(pipe, sizeof(pipe), "taken");
    ck_assert_int_eq(ph_router_new(&router), 0);
    ph_server_config_init(&sc);
    sc.pipe_name = pipe;
    sc.handler = ph_router_handle;
    sc.handler_ctx = router;
    ck_assert_int_eq(ph_server_new(&sc, &squatter), 0);
    ck_assert_int_eq(ph_server_start(squatter), 0);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --set PipeName=%s --start demand --start-now", name, pipe), 13);
    must_contain(out, "did not start");
    must_contain(out, "service-specific code 2");
    free(out);
    ck_assert_int_eq(ph(&out, "status --name %s", name), 15);
    must_contain(out, "STOPPED");
    must_contain(out, "service-specific 2");
    free(out);
    ph_server_stop(squatter);
    ph_server_free(squatter);
    ph_router_free(router);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    expect_gone(name);
}
END_TEST

/* What admins hit, said clearly: command-line mistakes are 64, an unknown service is refused. */
START_TEST(cli_rough_edges)
{
    char *out = NULL;

    ck_assert_int_eq(ph(&out, "run --no-such-option"), 64);
    must_contain(out, "unknown option --no-such-option");
    free(out);
    ck_assert_int_eq(ph(&out, "run --service phi-never-installed"), 64);
    must_contain(out, "no such service is installed");
    free(out);
    ck_assert_int_eq(ph(&out, "ping --pipe x --service y"), 64);
    free(out);
    ck_assert_int_eq(ph(&out, "install --frobnicate"), 64);
    free(out);
}
END_TEST

/* The log folder: a folder pre-created with write access for everyone is taken back (owner SYSTEM, protected
 * DACL without that ACE) and the service's SID gets modify access. */
START_TEST(cli_log_folder)
{
    char name[80], *out = NULL;
    wchar_t dir[MAX_PATH], wname[80], sid[100], *sddl = NULL;
    PWSTR base = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    PSID owner = NULL;
    PACL dacl = NULL;
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD rev = 0;
    wchar_t *owner_text = NULL;

    svct_require_single_scm();
    unique(name, sizeof(name), "acl");
    wide(name, wname, 80);
    ck_assert(SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &base)));
    swprintf(dir, MAX_PATH, L"%ls\\pipehost", base);
    CoTaskMemFree(base);
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:P(A;OICI;FA;;;WD)", SDDL_REVISION_1, &sd, NULL));
    sa.lpSecurityDescriptor = sd;
    ck_assert_msg(CreateDirectoryW(dir, &sa) || GetLastError() == ERROR_ALREADY_EXISTS, "%lu", GetLastError());
    LocalFree(sd);
    sd = NULL;

    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --account LocalService --start demand", name), 0);
    free(out);
    ck_assert_int_eq(ph__svc_admin_service_sid(wname, sid, 100), 0);
    ck_assert_int_eq(GetNamedSecurityInfoW(dir, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                           &owner, NULL, &dacl, NULL, &sd), 0);
    ck_assert(ConvertSidToStringSidW(owner, &owner_text));
    if (ph_test_on_wine() && wcscmp(owner_text, L"S-1-5-18") != 0) {
        /* Wine keeps no security descriptor on files: SetNamedSecurityInfoW succeeds and GetNamedSecurityInfoW
         * reports one made up from the Unix permissions. The descriptor itself is checked by log_dir_sddl. */
        LocalFree(owner_text);
        LocalFree(sd);
        ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
        free(out);
        expect_gone(name);
        ph_test_skip("Wine does not store file security descriptors: the log folder's owner and DACL can only "
                     "be read back on Windows (their construction is tested by test_installer.log_dir_sddl)");
    }
    ck_assert_msg(wcscmp(owner_text, L"S-1-5-18") == 0, "owner %ls", owner_text);
    ck_assert(ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION,
                                                                   &sddl, NULL));
    ck_assert(GetSecurityDescriptorControl(sd, &control, &rev));
    ck_assert_msg(control & SE_DACL_PROTECTED, "DACL not protected: %ls", sddl);
    ck_assert_msg(wcsstr(sddl, L";;;WD)") == NULL, "Everyone still has an ACE: %ls", sddl);
    ck_assert_msg(wcsstr(sddl, sid) != NULL, "no ACE for %ls: %ls", sid, sddl);
    ck_assert_msg(wcsstr(sddl, L";;;SY)") != NULL && wcsstr(sddl, L";;;BA)") != NULL, "%ls", sddl);
    LocalFree(sddl);
    LocalFree(owner_text);
    LocalFree(sd);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    expect_gone(name);
}
END_TEST

/* A log folder someone else made (writable by everyone, a file planted in it) is never re-ACLed: install moves
 * it aside, untouched with what is inside, to pipehost.foreign-<UTC>-<pid>, says so, and makes a fresh one. */
START_TEST(cli_log_folder_foreign_moved_aside)
{
    char name[80], *out = NULL, why[700];
    wchar_t dir[MAX_PATH], base_dir[MAX_PATH], planted[MAX_PATH], pattern[MAX_PATH], aside[MAX_PATH];
    PWSTR base = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    WIN32_FIND_DATAW fd;
    HANDLE f;
    int found = 0;

    svct_require_single_scm();
    unique(name, sizeof(name), "foreign");
    ck_assert(SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &base)));
    swprintf(base_dir, MAX_PATH, L"%ls", base);
    swprintf(dir, MAX_PATH, L"%ls\\pipehost", base);
    CoTaskMemFree(base);
    ck_assert_msg(CreateDirectoryW(dir, NULL) || GetLastError() == ERROR_ALREADY_EXISTS, "%lu", GetLastError());
    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:P(A;OICI;FA;;;WD)", SDDL_REVISION_1, &sd, NULL));
    ck_assert(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    SetNamedSecurityInfoW(dir, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL,
                          NULL, dacl, NULL);
    LocalFree(sd);
    swprintf(planted, MAX_PATH, L"%ls\\planted.txt", dir);
    f = CreateFileW(planted, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    ck_assert(f != INVALID_HANDLE_VALUE);
    CloseHandle(f);
    if (ph__svc_filelog_check_dir(dir, why, sizeof(why)) == 0) {
        DeleteFileW(planted);
        ph_test_skip("the folder does not read back as writable by others here; shown on Windows only");
    }

    ck_assert_int_eq(ph(&out, "install --name %s --account LocalService --start demand", name), 0);
    ck_assert_msg(strstr(out, "was not made by pipehost") != NULL && strstr(out, "moved aside, untouched, to ") != NULL &&
                      strstr(out, "pipehost.foreign-") != NULL,
                  "%s", out);
    free(out);
    /* The planted file went with the old folder; the new one passes the service's own check. */
    ck_assert_msg(GetFileAttributesW(planted) == INVALID_FILE_ATTRIBUTES, "the planted file is still in the log folder");
    ck_assert_msg(ph__svc_filelog_check_dir(dir, why, sizeof(why)) == 0, "the new folder: %s", why);
    swprintf(pattern, MAX_PATH, L"%ls\\pipehost.foreign-*", base_dir);
    f = FindFirstFileW(pattern, &fd);
    while (f != INVALID_HANDLE_VALUE) {
        wchar_t inner[MAX_PATH];
        swprintf(aside, MAX_PATH, L"%ls\\%ls", base_dir, fd.cFileName);
        swprintf(inner, MAX_PATH, L"%ls\\planted.txt", aside);
        if (GetFileAttributesW(inner) != INVALID_FILE_ATTRIBUTES) {
            found = 1;
            DeleteFileW(inner);
        }
        RemoveDirectoryW(aside);
        if (!FindNextFileW(f, &fd)) {
            FindClose(f);
            break;
        }
    }
    ck_assert_msg(found, "no pipehost.foreign-* folder holds the planted file");
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    expect_gone(name);
}
END_TEST

/* The log folder's descriptor: owner SYSTEM, protected, SYSTEM/Administrators full, Users read, the service's SID
 * add files on the folder and modify on its files; other services' SIDs already granted are kept, everything else (here Everyone full, Users full) goes. */
START_TEST(log_dir_sddl)
{
    PSECURITY_DESCRIPTOR old_sd = NULL, sd = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    PACL old_dacl = NULL;
    wchar_t sddl[4096];

    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(
        L"D:(A;OICI;FA;;;WD)(A;OICI;FA;;;BU)(A;OICI;0x1301bf;;;S-1-5-80-1-2-3-4-5)", SDDL_REVISION_1, &old_sd, NULL));
    ck_assert(GetSecurityDescriptorDacl(old_sd, &present, &old_dacl, &defaulted) && present);
    ck_assert_int_eq(ph__svc_admin_log_dir_sddl(L"S-1-5-80-9-9-9-9-9", old_dacl, sddl, 4096), 0);
    /* Each service SID: list and add files on the folder itself, modify on its files only (inherit-only): no
     * DELETE, FILE_DELETE_CHILD, FILE_ADD_SUBDIRECTORY or WRITE_DAC on the folder, so no service can replace
     * it. An old-style grant (modify on the folder too) comes back in the new form. */
    ck_assert_msg(wcscmp(sddl, L"O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)"
                               L"(A;;0x1200ab;;;S-1-5-80-9-9-9-9-9)(A;OIIO;0x1301bf;;;S-1-5-80-9-9-9-9-9)"
                               L"(A;;0x1200ab;;;S-1-5-80-1-2-3-4-5)(A;OIIO;0x1301bf;;;S-1-5-80-1-2-3-4-5)") == 0,
                  "%ls", sddl);
    ck_assert_msg(ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL), "%lu",
                  GetLastError());
    LocalFree(sd);
    /* LocalSystem needs no extra ACE; nothing from the old DACL but service SIDs survives. */
    ck_assert_int_eq(ph__svc_admin_log_dir_sddl(NULL, NULL, sddl, 4096), 0);
    ck_assert_msg(wcscmp(sddl, L"O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)") == 0, "%ls", sddl);
    LocalFree(old_sd);
}
END_TEST

/* "NT SERVICE\TrustedInstaller" is S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464 on every
 * Windows; the derivation is case-insensitive. */
START_TEST(service_sid)
{
    wchar_t sid[100];

    ck_assert_int_eq(ph__svc_admin_service_sid(L"TrustedInstaller", sid, 100), 0);
    ck_assert_msg(wcscmp(sid, L"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464") == 0, "%ls", sid);
    ck_assert_int_eq(ph__svc_admin_service_sid(L"trustedinstaller", sid, 100), 0);
    ck_assert_msg(wcscmp(sid, L"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464") == 0, "%ls", sid);
}
END_TEST

/* Runs `cmd /c installer\SCRIPT args` from the source tree. */
static int script(char **out, const char *script_name, const char *args)
{
    wchar_t dir[MAX_PATH], cmd[3000];

    svct_exe_path(PH_TEST_INSTALLER_DIR, dir, MAX_PATH);
    swprintf(cmd, 3000, L"cmd /c \"\"%ls\\%hs\" %hs\"", dir, script_name, args);
    return svct_run(cmd, RUN_MS, out);
}

/* install.cmd/uninstall.cmd under cmd: the same end-to-end checks as the CLI. */
START_TEST(sc_scripts)
{
    char name[80], pipe[120], full[160], args[1200], exe[MAX_PATH], *out = NULL, big[400];
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } cfg;
    SERVICE_STATUS_PROCESS st;
    wchar_t want_bin[MAX_PATH + 4];
    char path[400];
    int rc;

    svct_require_single_scm();
    unique(name, sizeof(name), "sc");
    ph_test_pipe_name(pipe, sizeof(pipe), "instsc");
    snprintf(full, sizeof(full), "pipe=\\\\.\\pipe\\%s\n", pipe);
    full_name(full);
    WideCharToMultiByte(CP_UTF8, 0, svct_pipehost_exe(), -1, exe, MAX_PATH, NULL, NULL);
    snprintf(args, sizeof(args), "%s \"%s\" %s --allow-unsafe-location", name, exe, pipe);
    rc = script(&out, "install.cmd", args);
    printf("install.cmd %s -> %d\n%s\n", args, rc, out);
    ck_assert_msg(rc == 0, "install.cmd failed: %d\n%s", rc, out);
    must_contain(out, "installed and started");
    free(out);

    ck_assert(query(name, &st, &cfg.qc, sizeof(cfg)));
    ck_assert_uint_eq(st.dwCurrentState, SERVICE_RUNNING);
    ck_assert_uint_eq(cfg.qc.dwStartType, SERVICE_AUTO_START);
    swprintf(want_bin, MAX_PATH + 4, L"\"%ls\"", svct_pipehost_exe());
    ck_assert_msg(_wcsicmp(cfg.qc.lpBinaryPathName, want_bin) == 0, "binary path %ls", cfg.qc.lpBinaryPathName);
    snprintf(path, sizeof(path), EVENTLOG_KEY "%s", name);
    ck_assert_msg(hklm_exists(path), "no event source");
    expect_serving(pipe, full);

    ck_assert_int_eq(ph(&out, "status --name %s", name), 0);
    must_contain(out, "RUNNING");
    must_contain(out, g_full_name);
    free(out);
    set_param_dword(name, "MaxMessageBytes", 100);
    ck_assert_int_eq(ph(&out, "reload --name %s", name), 0);
    free(out);
    memcpy(big, "ECHO ", 5);
    memset(big + 5, 'x', 200);
    big[205] = '\0';
    expect_reply(pipe, big, "ERR too-large");

    rc = script(&out, "uninstall.cmd", name);
    printf("uninstall.cmd %s -> %d\n%s\n", name, rc, out);
    ck_assert_msg(rc == 0, "uninstall.cmd failed: %d\n%s", rc, out);
    free(out);
    expect_gone(name);
    rc = script(&out, "uninstall.cmd", name);
    ck_assert_msg(rc == 0 && strstr(out, "nothing to remove") != NULL, "%d\n%s", rc, out);
    free(out);

    /* A service that cannot start (a pipe name with '/') is removed again, with exit code 1. */
    snprintf(args, sizeof(args), "%s \"%s\" a/b --allow-unsafe-location", name, exe);
    rc = script(&out, "install.cmd", args);
    printf("install.cmd %s -> %d\n%s\n", args, rc, out);
    ck_assert_msg(rc == 1, "install.cmd of a broken service: %d\n%s", rc, out);
    must_contain(out, "rolled back");
    free(out);
    expect_gone(name);
}
END_TEST

/* The command line of the package's configure action (CustomAction ConfigureService), read from the built MSI;
 * without an MSI, the same text as installer/pipehost.wxs has it. */
static void package_command(wchar_t *out, size_t size)
{
    static const wchar_t copy[] =
        L"install --configure-only --set-unless-empty \"PipeName=[PIPENAME]\" --set-unless-empty \"Sddl=[SDDL]\" "
        L"--set-unless-empty \"Framing=[FRAMING]\" --set-unless-empty \"LogLevel=[LOGLEVEL]\" --set-unless-empty "
        L"\"MaxInstances=[MAXINSTANCES]\"";
    char unix_path[MAX_PATH];
    wchar_t msi[MAX_PATH];
    MSIHANDLE db = 0, view = 0, rec = 0;
    DWORD len = (DWORD)size;

    swprintf(out, size, L"%ls", copy);
    snprintf(unix_path, sizeof(unix_path), "%s/pipehost-%s-x64.msi", PH_TEST_MSI_DIR, PH_VERSION_STRING);
    svct_exe_path(unix_path, msi, MAX_PATH);
    if (MsiOpenDatabaseW(msi, MSIDBOPEN_READONLY, &db) != ERROR_SUCCESS)
        return;
    if (MsiDatabaseOpenViewW(db, L"SELECT `Target` FROM `CustomAction` WHERE `Action` = 'ConfigureService'", &view) ==
            ERROR_SUCCESS &&
        MsiViewExecute(view, 0) == ERROR_SUCCESS && MsiViewFetch(view, &rec) == ERROR_SUCCESS)
        ck_assert_int_eq(MsiRecordGetStringW(rec, 1, out, &len), ERROR_SUCCESS);
    if (rec)
        MsiCloseHandle(rec);
    if (view)
        MsiCloseHandle(view);
    MsiCloseHandle(db);
}

/* What Windows Installer does with the action's text: each [PROPERTY] replaced by the property's value, as is. */
static void expand_package_command(const wchar_t *tmpl, const char *const values[5], char *out, size_t size)
{
    static const char *const names[5] = {"[PIPENAME]", "[SDDL]", "[FRAMING]", "[LOGLEVEL]", "[MAXINSTANCES]"};
    char t[1024], *o = out;
    const char *p = t;
    int k;

    WideCharToMultiByte(CP_UTF8, 0, tmpl, -1, t, (int)sizeof(t), NULL, NULL);
    while (*p != '\0' && (size_t)(o - out) + 1 < size) {
        for (k = 0; k < 5; k++)
            if (strncmp(p, names[k], strlen(names[k])) == 0)
                break;
        if (k < 5) {
            size_t n = strlen(values[k]);
            ck_assert((size_t)(o - out) + n + 1 < size);
            memcpy(o, values[k], n);
            o += n;
            p += strlen(names[k]);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
}

/* What the configure action may change, as text: the pipehost service's Parameters values the tests set or the
 * properties name, its failure-action-free path, and the other service's binary path. */
static void package_snapshot(const char *other, char *out, size_t size)
{
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } a, b;
    char pipe[300] = "", sddl[600] = "", framing[40] = "", level[40] = "";

    ck_assert(query("pipehost", NULL, &a.qc, sizeof(a)));
    ck_assert(query(other, NULL, &b.qc, sizeof(b)));
    param_sz("pipehost", "PipeName", pipe, sizeof(pipe));
    param_sz("pipehost", "Sddl", sddl, sizeof(sddl));
    param_sz("pipehost", "Framing", framing, sizeof(framing));
    param_sz("pipehost", "LogLevel", level, sizeof(level));
    snprintf(out, size, "pipehost: %ls start %lu MaxMessageBytes %lld MaxInstances %lld PipeName %s Sddl %s Framing %s "
             "LogLevel %s | %s: %ls start %lu", a.qc.lpBinaryPathName, (unsigned long)a.qc.dwStartType,
             param_dword("pipehost", "MaxMessageBytes"), param_dword("pipehost", "MaxInstances"), pipe, sddl, framing,
             level, other, b.qc.lpBinaryPathName, (unsigned long)b.qc.dwStartType);
}

/* `install --configure-only` is what the MSI runs as LocalSystem, with the public properties pasted into its
 * command line. The package's own command line (read from the built MSI) with hostile property values — a '"'
 * closing the quotes to add options (--name another service, --start-now), a '\' turning the closing quote into
 * one inside the value, a second MaxInstances — is refused, and so are duplicates, other options and other
 * values given directly: exit 64, and neither the pipehost service nor another one has changed. Then honest
 * values are applied. */
START_TEST(cli_package_args)
{
    static const char *const hostile[][5] = {
        {"x\" --name @VICTIM@ --set-unless-empty \"LogLevel=debug", "", "", "", ""},
        {"", "", "", "x\" --start-now \"", ""},
        {"x\\", "D: --no-failure-actions --name @VICTIM@", "", "", ""},
        {"", "", "", "", "10\" --set-unless-empty \"MaxInstances=20"},
        {"", "", "length\"", "", ""},
        {"", "", "bytes", "", ""}, /* passes the form, refused by the service's own rules */
    };
    static const char *const direct[] = {
        "install --configure-only --set-unless-empty PipeName=a --set-unless-empty PipeName=b",
        "install --configure-only --set-unless-empty LogFile=C:\\x.log",
        "install --configure-only --set LogLevel=debug",
        "install --configure-only --name phi-other",
        "install --configure-only --set-unless-empty LogLevel=debug extra",
        "install --configure-only --no-failure-actions",
        "install --configure-only --configure-only",
        "install --configure-only --set-unless-empty=LogLevel=debug",
    };
    const char *honest[5] = {"", "", "length", "debug", "7"};
    char other[80], before[3000], after[3000], cmd[2048], *out = NULL;
    wchar_t tmpl[1024];
    size_t i;

    svct_require_single_scm();
    unique(other, sizeof(other), "victim");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name pipehost --start demand --no-protected-name "
                              "--set MaxMessageBytes=1234"), 0);
    free(out);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --start demand", other), 0);
    free(out);
    package_command(tmpl, 1024);
    package_snapshot(other, before, sizeof(before));
    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char *victim;
        expand_package_command(tmpl, hostile[i], cmd, sizeof(cmd));
        /* The injected --name aims at the other service. */
        if ((victim = strstr(cmd, "@VICTIM@")) != NULL) {
            ck_assert(strlen(cmd) + strlen(other) < sizeof(cmd));
            memmove(victim + strlen(other), victim + 8, strlen(victim + 8) + 1);
            memcpy(victim, other, strlen(other));
        }
        /* The override is part of the form (ALLOWUNSAFELOCATION): it keeps a Windows build tree's location out
         * of the verdict. */
        ck_assert_int_eq(ph(&out, "%s --allow-unsafe-location", cmd), 64);
        must_contain(out, "nothing was");
        free(out);
        package_snapshot(other, after, sizeof(after));
        ck_assert_msg(strcmp(before, after) == 0, "%s\nchanged:\n%s\n%s", cmd, before, after);
    }
    for (i = 0; i < sizeof(direct) / sizeof(direct[0]); i++) {
        ck_assert_int_eq(ph(&out, "%s", direct[i]), 64);
        must_contain(out, "nothing was changed");
        free(out);
        package_snapshot(other, after, sizeof(after));
        ck_assert_msg(strcmp(before, after) == 0, "%s\nchanged:\n%s\n%s", direct[i], before, after);
    }
    expand_package_command(tmpl, honest, cmd, sizeof(cmd));
    ck_assert_int_eq(ph(&out, "%s --allow-unsafe-location", cmd), 0);
    free(out);
    ck_assert_int_eq(param_dword("pipehost", "MaxInstances"), 7);
    ck_assert_int_eq(param_dword("pipehost", "MaxMessageBytes"), 1234);
    ck_assert(param_sz("pipehost", "LogLevel", cmd, sizeof(cmd)));
    ck_assert_str_eq(cmd, "debug");
    ck_assert_int_eq(ph(&out, "uninstall --name pipehost"), 0);
    free(out);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", other), 0);
    free(out);
    expect_gone("pipehost");
    expect_gone(other);
}
END_TEST

/* Whether the DACL of path grants Everyone (S-1-1-0) the right to add files: how the test knows that the system
 * kept the descriptor it was given (Wine maps it onto the Unix mode). */
static int everyone_may_write(const wchar_t *path)
{
    GENERIC_MAPPING files = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    PSID everyone = NULL;
    DWORD i;
    int yes = 0;

    if (GetNamedSecurityInfoW(path, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd) != 0)
        return 0;
    ck_assert(ConvertStringSidToSidW(L"S-1-1-0", &everyone));
    for (i = 0; dacl != NULL && i < dacl->AceCount && !yes; i++) {
        ACCESS_ALLOWED_ACE *ace = NULL;
        DWORD mask;
        if (!GetAce(dacl, i, (void **)&ace) || ace->Header.AceType != ACCESS_ALLOWED_ACE_TYPE ||
            !EqualSid((PSID)&ace->SidStart, everyone))
            continue;
        mask = ace->Mask;
        MapGenericMask(&mask, &files);
        yes = (mask & FILE_ADD_FILE) != 0;
    }
    LocalFree(everyone);
    LocalFree(sd);
    return yes;
}

/* A folder or file whose DACL gives Everyone full control (besides SYSTEM and Administrators). */
static void make_open(const wchar_t *path, int folder)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    HANDLE h;

    ck_assert(ConvertStringSecurityDescriptorToSecurityDescriptorW(
        L"D:P(A;OICI;FA;;;WD)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", SDDL_REVISION_1, &sd, NULL));
    sa.lpSecurityDescriptor = sd;
    if (folder) {
        ck_assert_msg(CreateDirectoryW(path, &sa), "CreateDirectoryW(%ls): %lu", path, GetLastError());
    } else {
        h = CreateFileW(path, GENERIC_WRITE, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        ck_assert_msg(h != INVALID_HANDLE_VALUE, "CreateFileW(%ls): %lu", path, GetLastError());
        CloseHandle(h);
    }
    LocalFree(sd);
}

/* install refuses to register an executable that others can change: in a folder every user may write to, exit
 * 16 with the folder and the principal named, and nothing installed; --allow-unsafe-location installs with a
 * warning; --check-location only reports; install.cmd refuses it the same way (exit 16). A DLL beside the
 * executable that everyone may write is refused in an otherwise safe folder. On Windows the test makes the
 * folder and the DLL with such DACLs itself; Wine ignores a new file's descriptor and derives one from the
 * Unix mode, so under Wine the ctest wrapper prepares them (PH_TEST_LOCATION_DIR: open/ with mode 777,
 * safe/helper.dll with mode 666). */
START_TEST(cli_unsafe_location)
{
    wchar_t tmp[MAX_PATH], open_dir[MAX_PATH], safe_dir[MAX_PATH], exe[MAX_PATH], dll[MAX_PATH];
    char name[80], args[1200], exe_u8[MAX_PATH], *out = NULL;
    const char *prepared;
    int rc;

    svct_require_single_scm();
    unique(name, sizeof(name), "where");
    ck_assert(GetTempPathW(MAX_PATH, tmp) > 0);
    prepared = getenv("PH_TEST_LOCATION_DIR");
    if (prepared != NULL) {
        snprintf(args, sizeof(args), "%s/open", prepared);
        svct_exe_path(args, open_dir, MAX_PATH);
        snprintf(args, sizeof(args), "%s/safe", prepared);
        svct_exe_path(args, safe_dir, MAX_PATH);
    } else {
        swprintf(open_dir, MAX_PATH, L"%lsph-open-%lu", tmp, (unsigned long)GetCurrentProcessId());
        swprintf(safe_dir, MAX_PATH, L"%lsph-safe-%lu", tmp, (unsigned long)GetCurrentProcessId());
        make_open(open_dir, 1);
        ck_assert(CreateDirectoryW(safe_dir, NULL));
    }
    if (!everyone_may_write(open_dir))
        ph_test_skip("this system did not keep a DACL giving Everyone write access to a new folder");

    swprintf(exe, MAX_PATH, L"%ls\\pipehost.exe", open_dir);
    ck_assert_msg(CopyFileW(svct_pipehost_exe(), exe, TRUE), "CopyFileW: %lu", GetLastError());
    memcpy(g_exe, exe, sizeof(exe));
    ck_assert_int_eq(ph(&out, "install --check-location"), 16);
    must_contain(out, "not a safe place for a service's program");
    must_contain(out, "S-1-1-0");
    free(out);
    ck_assert_int_eq(ph(&out, "install --name %s --start demand", name), 16);
    must_contain(out, "--allow-unsafe-location");
    must_contain(out, "nothing was installed or changed");
    free(out);
    ck_assert(!query(name, NULL, NULL, 0));
    snprintf(args, sizeof(args), EVENTLOG_KEY "%s", name);
    ck_assert(!hklm_exists(args));
    /* The override: installed, loudly. */
    ck_assert_int_eq(ph(&out, "install --name %s --start demand --allow-unsafe-location", name), 0);
    must_contain(out, "WARNING");
    free(out);
    ck_assert(query(name, NULL, NULL, 0));
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    expect_gone(name);
    g_exe[0] = L'\0';

    /* install.cmd asks the executable. */
    WideCharToMultiByte(CP_UTF8, 0, exe, -1, exe_u8, MAX_PATH, NULL, NULL);
    snprintf(args, sizeof(args), "%s \"%s\"", name, exe_u8);
    rc = script(&out, "install.cmd", args);
    printf("install.cmd %s -> %d\n%s\n", args, rc, out);
    ck_assert_msg(rc == 16, "install.cmd from an unsafe folder: %d\n%s", rc, out);
    must_contain(out, "refused");
    free(out);
    ck_assert(!query(name, NULL, NULL, 0));

    /* Where the tree itself passes (under Wine every file is the user's, with no other writer), a DLL that
     * everyone may write, planted beside the executable, is refused. */
    swprintf(exe, MAX_PATH, L"%ls\\pipehost.exe", safe_dir);
    /* A name pipehost.exe does not import: an empty version.dll there is loaded in place of System32's, and
     * the process dies before main (0xC0000135), which is the very attack. */
    swprintf(dll, MAX_PATH, L"%ls\\helper.dll", safe_dir);
    ck_assert(CopyFileW(svct_pipehost_exe(), exe, TRUE));
    memcpy(g_exe, exe, sizeof(exe));
    if (prepared == NULL) {
        rc = ph(&out, "install --check-location");
        free(out);
        if (rc != 0) /* the temporary folder is not safe on this system: nothing to show beside it */
            goto cleanup;
        make_open(dll, 0);
    }
    ck_assert_msg(everyone_may_write(dll), "the DLL %ls is not writable by Everyone", dll);
    ck_assert_int_eq(ph(&out, "install --check-location"), 16);
    must_contain(out, "helper.dll");
    must_contain(out, "S-1-1-0");
    free(out);
    /* Without it, the same folder passes. */
    ck_assert(DeleteFileW(dll));
    ck_assert_int_eq(ph(&out, "install --check-location"), 0);
    free(out);
cleanup:
    g_exe[0] = L'\0';
    DeleteFileW(exe);
    RemoveDirectoryW(safe_dir);
    swprintf(exe, MAX_PATH, L"%ls\\pipehost.exe", open_dir);
    DeleteFileW(exe);
    RemoveDirectoryW(open_dir);
}
END_TEST

/* The MSI built by the pipehost_msi target (and the older one for the upgrade, and the same version built again
 * for the same-version upgrade: version "0.1.0-rebuild" is pipehost-0.1.0-x64-rebuild.msi); skips when wixl
 * was missing. */
static void msi_path(const char *version, wchar_t *out, size_t size)
{
    char unix_path[MAX_PATH], v[40];
    const char *dash = strchr(version, '-');

    snprintf(v, sizeof(v), "%.*s", dash ? (int)(dash - version) : (int)strlen(version), version);
    snprintf(unix_path, sizeof(unix_path), "%s/pipehost-%s-x64%s.msi", PH_TEST_MSI_DIR, v, dash ? dash : "");
    svct_exe_path(unix_path, out, size);
    if (GetFileAttributesW(out) == INVALID_FILE_ATTRIBUTES)
        ph_test_skip("no MSI was built (wixl or msibuild not installed when the build was configured)");
}

/* msiexec /i or /x, quiet; returns its exit code (mod 256 under Wine). */
static int msiexec(const char *op, const char *version, const char *extra)
{
    wchar_t msi[MAX_PATH], cmd[1200];
    char *out = NULL;
    int rc;

    msi_path(version, msi, MAX_PATH);
    swprintf(cmd, 1200, L"msiexec %hs \"%ls\" /qn %hs", op, msi, extra ? extra : "");
    rc = svct_run(cmd, RUN_MS, &out);
    printf("msiexec %s %s -> %d\n%s\n", op, version, rc, out);
    free(out);
    return rc;
}

static void installed_exe(wchar_t *out, size_t size)
{
    PWSTR dir = NULL;
    ck_assert(SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramFilesX64, 0, NULL, &dir)));
    swprintf(out, size, L"%ls\\pipehost\\pipehost.exe", dir);
    CoTaskMemFree(dir);
}

/* How many installed products are named pipehost. (Not by UpgradeCode: when Wine removes the old product last,
 * in an upgrade, it drops the whole UpgradeCode registration, the new product's included.) */
static int installed_products(void)
{
    wchar_t code[39], name[100];
    DWORD i, len;
    int n = 0;

    for (i = 0; MsiEnumProductsW(i, code) == ERROR_SUCCESS; i++) {
        len = 100;
        if (MsiGetProductInfoW(code, L"ProductName", name, &len) == ERROR_SUCCESS &&
            wcscmp(name, L"pipehost") == 0)
            n++;
    }
    return n;
}

/* msiexec /i installs and starts the service; it answers on its pipe; status, reload; msiexec /x removes the
 * service, its keys, its event source and its files. */
START_TEST(msi_lifecycle)
{
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } cfg;
    SERVICE_STATUS_PROCESS st;
    wchar_t exe[MAX_PATH], want_bin[MAX_PATH + 4];
    char *out = NULL, big[400];
    HANDLE proc;

    svct_require_single_scm();
    ck_assert_int_eq(msiexec("/i", PH_VERSION_STRING, NULL), 0);
    ck_assert_int_eq(installed_products(), 1);
    installed_exe(exe, MAX_PATH);
    ck_assert_msg(GetFileAttributesW(exe) != INVALID_FILE_ATTRIBUTES, "%ls not installed", exe);
    ck_assert(query("pipehost", &st, &cfg.qc, sizeof(cfg)));
    ck_assert_uint_eq(st.dwCurrentState, SERVICE_RUNNING);
    ck_assert_uint_eq(cfg.qc.dwStartType, SERVICE_AUTO_START);
    /* Quoted by the package's configure step (wixl writes the path without quotes). */
    swprintf(want_bin, MAX_PATH + 4, L"\"%ls\"", exe);
    ck_assert_msg(_wcsicmp(cfg.qc.lpBinaryPathName, want_bin) == 0, "binary path %ls", cfg.qc.lpBinaryPathName);
    ck_assert(hklm_exists(EVENTLOG_KEY "pipehost"));
    expect_serving("pipehost", "pipe=\\\\.\\pipe\\pipehost\n");

    memcpy(g_exe, exe, sizeof(exe));
    ck_assert_int_eq(ph(&out, "ping --service pipehost"), 0);
    free(out);
    ck_assert_int_eq(ph(&out, "status"), 0);
    must_contain(out, "RUNNING");
    must_contain(out, "LogLevel              info");
    free(out);
    set_param_dword("pipehost", "MaxMessageBytes", 100);
    ck_assert_int_eq(ph(&out, "reload"), 0);
    free(out);
    memcpy(big, "ECHO ", 5);
    memset(big + 5, 'x', 200);
    big[205] = '\0';
    expect_reply("pipehost", big, "ERR too-large");
    g_exe[0] = L'\0';

    /* The service is stopped, and its process waited for, before the uninstall: msiexec deletes the files
     * right after the service reports STOPPED, and an executable whose process is still exiting is in use
     * (under load Wine's msiexec then left pipehost.exe behind). msiexec stopping a running service is
     * exercised by msi_upgrade and msi_properties. */
    ck_assert(query("pipehost", &st, NULL, 0));
    proc = OpenProcess(SYNCHRONIZE, FALSE, st.dwProcessId);
    stop_service("pipehost");
    if (proc != NULL) {
        ck_assert_uint_eq(WaitForSingleObject(proc, 30000), WAIT_OBJECT_0);
        CloseHandle(proc);
    }
    ck_assert_int_eq(msiexec("/x", PH_VERSION_STRING, NULL), 0);
    expect_gone("pipehost");
    ck_assert_int_eq(installed_products(), 0);
    ck_assert_msg(GetFileAttributesW(exe) == INVALID_FILE_ATTRIBUTES, "%ls still there", exe);
}
END_TEST

/* A newer package replaces the older one and keeps the configuration. */
START_TEST(msi_upgrade)
{
    SERVICE_STATUS_PROCESS st;
    char *out = NULL;

    svct_require_single_scm();
    ck_assert_int_eq(msiexec("/i", "0.0.1", NULL), 0);
    ck_assert_int_eq(installed_products(), 1);
    ck_assert(wait_state("pipehost", SERVICE_RUNNING, 30000));
    set_param_dword("pipehost", "MaxMessageBytes", 1234);
    ck_assert_int_eq(msiexec("/i", PH_VERSION_STRING, NULL), 0);
    ck_assert_int_eq(installed_products(), 1);
    ck_assert(query("pipehost", &st, NULL, 0));
    ck_assert_uint_eq(st.dwCurrentState, SERVICE_RUNNING);
    ck_assert_int_eq(param_dword("pipehost", "MaxMessageBytes"), 1234);
    expect_serving("pipehost", "max_message_bytes=1234\n");
    ck_assert_int_eq(ph(&out, "status --name pipehost"), 0);
    free(out);
    ck_assert_int_eq(msiexec("/x", PH_VERSION_STRING, NULL), 0);
    expect_gone("pipehost");
    ck_assert_int_eq(installed_products(), 0);
}
END_TEST

/* A service that cannot start (its pipe name is taken) makes the installation roll back: 1627 (91 mod 256
 * under Wine) or 1603, and nothing stays. */
START_TEST(msi_rollback)
{
    ph_server *squatter = NULL;
    ph_router *router = NULL;
    ph_server_config sc;
    wchar_t exe[MAX_PATH];
    int rc;

    svct_require_single_scm();
    ck_assert_int_eq(ph_router_new(&router), 0);
    ph_server_config_init(&sc);
    sc.pipe_name = "pipehost";
    sc.handler = ph_router_handle;
    sc.handler_ctx = router;
    ck_assert_int_eq(ph_server_new(&sc, &squatter), 0);
    ck_assert_int_eq(ph_server_start(squatter), 0);
    rc = msiexec("/i", PH_VERSION_STRING, NULL);
    ph_server_stop(squatter);
    ph_server_free(squatter);
    ph_router_free(router);
    ck_assert_msg(rc == 1627 % 256 || rc == 1627 || rc == 1603 % 256 || rc == 1603, "msiexec: %d", rc);
    expect_gone("pipehost");
    ck_assert_int_eq(installed_products(), 0);
    installed_exe(exe, MAX_PATH);
    ck_assert_msg(GetFileAttributesW(exe) == INVALID_FILE_ATTRIBUTES, "%ls still there", exe);
}
END_TEST

/* The service's description, as the SCM has it. */
static void service_description(const char *name, wchar_t *out, size_t size)
{
    union {
        SERVICE_DESCRIPTIONW d;
        BYTE raw[4096];
    } buf;
    wchar_t wname[200];
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    DWORD need = 0;

    wide(name, wname, 200);
    svc = scm ? OpenServiceW(scm, wname, SERVICE_QUERY_CONFIG) : NULL;
    ck_assert_msg(svc != NULL, "cannot open service %s: %lu", name, GetLastError());
    ck_assert(QueryServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, buf.raw, sizeof(buf), &need));
    swprintf(out, size, L"%ls", buf.d.lpDescription ? buf.d.lpDescription : L"");
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
}

/* Public properties set the service's Parameters before it first starts: it serves the pipe and the framing
 * they name, its description names that pipe, and properties not given leave their values alone. A property
 * the service's rules refuse fails the installation, which rolls back. */
START_TEST(msi_properties)
{
    SERVICE_STATUS_PROCESS st;
    wchar_t exe[MAX_PATH], desc[1000];
    char *out = NULL;
    int rc;

    svct_require_single_scm();
    ck_assert_int_eq(msiexec("/i", PH_VERSION_STRING, "PIPENAME=phmsiprops FRAMING=length LOGLEVEL=debug MAXINSTANCES=10"),
                     0);
    ck_assert(query("pipehost", &st, NULL, 0));
    ck_assert_uint_eq(st.dwCurrentState, SERVICE_RUNNING);
    ck_assert_int_eq(param_dword("pipehost", "MaxInstances"), 10);
    ck_assert_int_eq(param_dword("pipehost", "MaxMessageBytes"), -1); /* not a property: untouched */
    service_description("pipehost", desc, 1000);
    ck_assert_msg(wcsstr(desc, L"\\\\.\\pipe\\phmsiprops") != NULL, "description: %ls", desc);
    installed_exe(exe, MAX_PATH);
    memcpy(g_exe, exe, sizeof(exe));
    ck_assert_int_eq(ph(&out, "ping --service pipehost"), 0);
    must_contain(out, "PONG");
    free(out);
    ck_assert_int_eq(ph(&out, "status --name pipehost"), 0);
    must_contain(out, "pipe=\\\\.\\pipe\\phmsiprops");
    must_contain(out, "length");
    must_contain(out, "debug");
    free(out);
    g_exe[0] = L'\0';
    ck_assert_int_eq(msiexec("/x", PH_VERSION_STRING, NULL), 0);
    expect_gone("pipehost");

    rc = msiexec("/i", PH_VERSION_STRING, "FRAMING=bytes");
    ck_assert_msg(rc == 1627 % 256 || rc == 1627 || rc == 1603 % 256 || rc == 1603, "msiexec with FRAMING=bytes: %d",
                  rc);
    expect_gone("pipehost");
    ck_assert_int_eq(installed_products(), 0);
    installed_exe(exe, MAX_PATH);
    ck_assert_msg(GetFileAttributesW(exe) == INVALID_FILE_ATTRIBUTES, "%ls still there", exe);
}
END_TEST

/* Property values that would inject options into the configure action's command line fail the installation,
 * which rolls back, and the service the injected --name points at is untouched. PIPENAME ends with '\', which
 * turns the '"' closing it into a literal one, so the quotes end one value later and the rest of SDDL becomes
 * options: `--name VICTIM --description …` would re-point that service's binary path to the package's
 * executable (and its pipe name), and the installation would succeed. No value needs a '"' for this; a value
 * with one is the other way in (cli_package_args; Wine's msiexec does not turn "" into '"' as Windows' does). */
START_TEST(msi_property_injection)
{
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } before, after;
    char victim[80], props[400], pipe_before[300] = "", pipe_after[300] = "", *out = NULL;
    wchar_t exe[MAX_PATH];
    int rc;

    svct_require_single_scm();
    unique(victim, sizeof(victim), "victim");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --start demand", victim), 0);
    free(out);
    ck_assert(query(victim, NULL, &before.qc, sizeof(before)));
    param_sz(victim, "PipeName", pipe_before, sizeof(pipe_before));
    snprintf(props, sizeof(props), "PIPENAME=x\\ SDDL=\"D: --name %s --description \"", victim);
    rc = msiexec("/i", PH_VERSION_STRING, props);
    ck_assert_msg(rc == 1603 % 256 || rc == 1603 || rc == 1627 % 256 || rc == 1627, "msiexec: %d", rc);
    expect_gone("pipehost");
    ck_assert_int_eq(installed_products(), 0);
    installed_exe(exe, MAX_PATH);
    ck_assert_msg(GetFileAttributesW(exe) == INVALID_FILE_ATTRIBUTES, "%ls still there", exe);
    ck_assert(query(victim, NULL, &after.qc, sizeof(after)));
    ck_assert_msg(wcscmp(before.qc.lpBinaryPathName, after.qc.lpBinaryPathName) == 0, "%s re-pointed: %ls -> %ls",
                  victim, before.qc.lpBinaryPathName, after.qc.lpBinaryPathName);
    param_sz(victim, "PipeName", pipe_after, sizeof(pipe_after));
    ck_assert_str_eq(pipe_before, pipe_after);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", victim), 0);
    free(out);
}
END_TEST

/* The same version built again (another ProductCode) installs over the installed one: one product, not two,
 * the service running with its configuration; removing it removes everything. */
START_TEST(msi_same_version)
{
    SERVICE_STATUS_PROCESS st;
    char rebuild[60];

    svct_require_single_scm();
    snprintf(rebuild, sizeof(rebuild), "%s-rebuild", PH_VERSION_STRING);
    ck_assert_int_eq(msiexec("/i", PH_VERSION_STRING, NULL), 0);
    ck_assert_int_eq(installed_products(), 1);
    ck_assert(wait_state("pipehost", SERVICE_RUNNING, 30000));
    set_param_dword("pipehost", "MaxMessageBytes", 4321);
    ck_assert_int_eq(msiexec("/i", rebuild, NULL), 0);
    ck_assert_int_eq(installed_products(), 1);
    ck_assert(query("pipehost", &st, NULL, 0));
    ck_assert_uint_eq(st.dwCurrentState, SERVICE_RUNNING);
    ck_assert_int_eq(param_dword("pipehost", "MaxMessageBytes"), 4321);
    ck_assert_int_eq(msiexec("/x", rebuild, NULL), 0);
    expect_gone("pipehost");
    ck_assert_int_eq(installed_products(), 0);
}
END_TEST

/* What an uninstall may leave of the service named pipehost, as a list ("" when nothing). */
static void traces(char *out, size_t size)
{
    static const char *const keys[] = {SERVICES_KEY "pipehost", EVENTLOG_KEY "pipehost", "SOFTWARE\\pipehost"};
    wchar_t log[MAX_PATH], other[MAX_PATH + 4];
    size_t i;

    out[0] = '\0';
    if (query("pipehost", NULL, NULL, 0))
        snprintf(out + strlen(out), size - strlen(out), "service; ");
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (hklm_exists(keys[i]))
            snprintf(out + strlen(out), size - strlen(out), "HKLM\\%s; ", keys[i]);
    default_log("pipehost", log, MAX_PATH);
    if (GetFileAttributesW(log) != INVALID_FILE_ATTRIBUTES)
        snprintf(out + strlen(out), size - strlen(out), "%ls; ", log);
    swprintf(other, MAX_PATH + 4, L"%ls.1", log);
    if (GetFileAttributesW(other) != INVALID_FILE_ATTRIBUTES)
        snprintf(out + strlen(out), size - strlen(out), "%ls; ", other);
    *wcsrchr(log, L'\\') = L'\0';
    if (GetFileAttributesW(log) != INVALID_FILE_ATTRIBUTES)
        snprintf(out + strlen(out), size - strlen(out), "%ls; ", log);
}

/* A rotated log beside the service's own, as the service leaves after a rotation. */
static void plant_rotated_log(void)
{
    wchar_t log[MAX_PATH + 4];
    HANDLE h;

    default_log("pipehost", log, MAX_PATH);
    ck_assert_msg(GetFileAttributesW(log) != INVALID_FILE_ATTRIBUTES, "the service wrote no log %ls", log);
    wcscat(log, L".1");
    h = CreateFileW(log, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    ck_assert_msg(h != INVALID_HANDLE_VALUE, "%ls: %lu", log, GetLastError());
    CloseHandle(h);
}

/* msiexec /x and `pipehost uninstall` leave the same traces: none of the service, its keys, its event source, its
 * default log files and the log folder (empty). (The MSI also removes the executable it installed; the command
 * never copied one.) */
START_TEST(msi_uninstall_traces)
{
    SERVICE_STATUS_PROCESS st;
    char msi_left[2000], cli_left[2000], *out = NULL;
    HANDLE proc;

    svct_require_single_scm();
    ck_assert_int_eq(msiexec("/i", PH_VERSION_STRING, NULL), 0);
    ck_assert(wait_state("pipehost", SERVICE_RUNNING, 30000));
    expect_reply("pipehost", "PING", "OK PONG");
    plant_rotated_log();
    /* Stopped and its process waited for first, as in msi_lifecycle (a process still exiting holds its files). */
    ck_assert(query("pipehost", &st, NULL, 0));
    proc = OpenProcess(SYNCHRONIZE, FALSE, st.dwProcessId);
    stop_service("pipehost");
    if (proc != NULL) {
        ck_assert_uint_eq(WaitForSingleObject(proc, 30000), WAIT_OBJECT_0);
        CloseHandle(proc);
    }
    ck_assert_int_eq(msiexec("/x", PH_VERSION_STRING, NULL), 0);
    expect_gone("pipehost");
    traces(msi_left, sizeof(msi_left));

    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name pipehost --no-protected-name --start-now"), 0);
    free(out);
    expect_reply("pipehost", "PING", "OK PONG");
    plant_rotated_log();
    ck_assert_int_eq(ph(&out, "uninstall --name pipehost"), 0);
    free(out);
    expect_gone("pipehost");
    traces(cli_left, sizeof(cli_left));
    ck_assert_msg(strcmp(msi_left, cli_left) == 0, "msiexec /x left \"%s\", pipehost uninstall left \"%s\"", msi_left,
                  cli_left);
    ck_assert_msg(msi_left[0] == '\0', "left behind: %s", msi_left);
}
END_TEST

static void add(Suite *s, TCase *tc, const TTest *test)
{
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("installer");

    add(s, tcase_create("cli_lifecycle"), cli_lifecycle);
    add(s, tcase_create("cli_reinstall_keeps"), cli_reinstall_keeps);
    add(s, tcase_create("cli_uninstall_running"), cli_uninstall_running);
    add(s, tcase_create("cli_uninstall_absent"), cli_uninstall_absent);
    add(s, tcase_create("cli_invalid_set"), cli_invalid_set);
    add(s, tcase_create("cli_protected_name"), cli_protected_name);
    add(s, tcase_create("cli_rough_edges"), cli_rough_edges);
    add(s, tcase_create("cli_rollback"), cli_rollback);
    add(s, tcase_create("cli_start_fails"), cli_start_fails);
    add(s, tcase_create("cli_log_folder"), cli_log_folder);
    add(s, tcase_create("cli_package_args"), cli_package_args);
    add(s, tcase_create("cli_unsafe_location"), cli_unsafe_location);
    add(s, tcase_create("cli_log_folder_foreign_moved_aside"), cli_log_folder_foreign_moved_aside);
    add(s, tcase_create("service_sid"), service_sid);
    add(s, tcase_create("log_dir_sddl"), log_dir_sddl);
    add(s, tcase_create("sc_scripts"), sc_scripts);
    add(s, tcase_create("msi_lifecycle"), msi_lifecycle);
    add(s, tcase_create("msi_upgrade"), msi_upgrade);
    add(s, tcase_create("msi_rollback"), msi_rollback);
    add(s, tcase_create("msi_properties"), msi_properties);
    add(s, tcase_create("msi_property_injection"), msi_property_injection);
    add(s, tcase_create("msi_same_version"), msi_same_version);
    add(s, tcase_create("msi_uninstall_traces"), msi_uninstall_traces);
    return s;
}
