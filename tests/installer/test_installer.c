/* test_installer.c — pipehost install/uninstall/status/reload and the sc scripts, end to end through the real SCM. */
#include "svctest.h"

#include <aclapi.h>
#include <knownfolders.h>
#include <msi.h>
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
    ck_assert_int_eq(ph(&out, "install --name %s --set PipeName=%s --set MaxMessageBytes=4096 --start-now", name, pipe),
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
    ck_assert_int_eq(ph(&out, "install --name %s --start demand --set MaxMessageBytes=1234", name), 0);
    free(out);
    ck_assert_int_eq(ph(&out, "install --name %s --start demand --display-name \"Second %s\" --set DrainTimeoutMs=2000",
                        name, name), 0);
    must_contain(out, "updated");
    free(out);
    ck_assert_int_eq(param_dword(name, "MaxMessageBytes"), 1234);
    ck_assert_int_eq(param_dword(name, "DrainTimeoutMs"), 2000);
    ck_assert(query(name, NULL, &cfg.qc, sizeof(cfg)));
    ck_assert_uint_eq(cfg.qc.dwStartType, SERVICE_DEMAND_START);
    ck_assert_msg(wcsncmp(cfg.qc.lpDisplayName, L"Second ", 7) == 0, "display name %ls", cfg.qc.lpDisplayName);
    /* Another service may not take that display name: exit 11 with a clear message, nothing created. */
    ck_assert_int_eq(ph(&out, "install --name %s-2 --start demand --display-name \"Second %s\"", name, name), 11);
    must_contain(out, "display name is already used");
    free(out);
    snprintf(saved, sizeof(saved), "%s-2", name);
    ck_assert(!query(saved, NULL, NULL, 0));

    /* The merged configuration is checked: the kept DrainTimeoutMs 2000 with a PreshutdownTimeoutMs below it
     * + 1000 is refused, and nothing changes. */
    ck_assert_int_eq(ph(&out, "install --name %s --set PreshutdownTimeoutMs=2500", name), 64);
    must_contain(out, "PreshutdownTimeoutMs");
    free(out);
    ck_assert_int_eq(param_dword(name, "PreshutdownTimeoutMs"), -1);

    ck_assert_int_eq(ph(&out, "uninstall --name %s --keep-config", name), 0);
    free(out);
    expect_gone(name);
    snprintf(saved, sizeof(saved), "SOFTWARE\\pipehost\\SavedParameters\\%s", name);
    ck_assert(hklm_exists(saved));
    ck_assert_int_eq(ph(&out, "install --name %s --start demand", name), 0);
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
    ck_assert_int_eq(ph(&out, "install --name %s --start demand --start-now", name), 0);
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
    ck_assert_int_eq(ph(&out, "install --name %s --start demand --no-protected-name", name), 0);
    free(out);
    ck_assert(param_sz(name, "PipeName", text, sizeof(text)));
    ck_assert_str_eq(text, want);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    expect_gone(name);

    /* Opting out: no PipeName written, the plain default served. */
    unique(plain, sizeof(plain), "plain");
    ck_assert_int_eq(ph(&out, "install --name %s --start demand --no-protected-name", plain), 0);
    free(out);
    ck_assert(!param_sz(plain, "PipeName", text, sizeof(text)));
    ck_assert_int_eq(ph(&out, "uninstall --name %s", plain), 0);
    free(out);
    expect_gone(plain);

    /* LocalService: its own prefix. A name under another account's prefix is refused, nothing changed. */
    unique(ls, sizeof(ls), "protls");
    ck_assert_int_eq(ph(&out, "install --name %s --account LocalService --start demand", ls), 0);
    free(out);
    ck_assert(param_sz(ls, "PipeName", text, sizeof(text)));
    snprintf(want, sizeof(want), "ProtectedPrefix\\LocalService\\%s", ls);
    ck_assert_str_eq(text, want);
    ck_assert_int_eq(ph(&out, "install --name %s --account LocalService --start demand "
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
    ck_assert_int_eq(ph(&out, "install --name %s --account virtual --set PipeName=ProtectedPrefix\\LocalService\\x",
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
    ck_assert_int_eq(ph(&out, "install --name %s --set PipeName=%s --start-now --start demand", name, pipe), 0);
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
    ck_assert_int_eq(ph(&out, "install --name %s --set MaxMessageBytes=0", name), 64);
    must_contain(out, "MaxMessageBytes");
    must_contain(out, "nothing was installed");
    free(out);
    ck_assert_int_eq(ph(&out, "install --name %s --set NoSuchValue=1", name), 64);
    must_contain(out, "NoSuchValue");
    free(out);
    ck_assert_int_eq(ph(&out, "install --name %s --set Sddl=D:NO_ACCESS_CONTROL", name), 64);
    free(out);
    ck_assert_int_eq(ph(&out, "install --name %s --account Nobody", name), 64);
    free(out);
    ck_assert(!query(name, NULL, NULL, 0));
    snprintf(path, sizeof(path), SERVICES_KEY "%s", name);
    ck_assert(!hklm_exists(path));
    snprintf(path, sizeof(path), EVENTLOG_KEY "%s", name);
    ck_assert(!hklm_exists(path));
}
END_TEST

/* A step that fails after the service was created takes back what this run created: here the log folder's
 * path is a file (a junction or link is refused the same way, never followed). */
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
    CloseHandle(h);
    ck_assert_int_eq(ph(&out, "install --name %s --start demand", name), 1);
    must_contain(out, "not a plain folder");
    must_contain(out, "rolled back");
    free(out);
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
    ck_assert_int_eq(ph(&out, "install --name %s --set PipeName=%s --start demand --start-now", name, pipe), 13);
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

    ck_assert_int_eq(ph(&out, "install --name %s --account LocalService --start demand", name), 0);
    free(out);
    ck_assert_int_eq(svc_admin_service_sid(wname, sid, 100), 0);
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
    if (svc_filelog_check_dir(dir, why, sizeof(why)) == 0) {
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
    ck_assert_msg(svc_filelog_check_dir(dir, why, sizeof(why)) == 0, "the new folder: %s", why);
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
    ck_assert_int_eq(svc_admin_log_dir_sddl(L"S-1-5-80-9-9-9-9-9", old_dacl, sddl, 4096), 0);
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
    ck_assert_int_eq(svc_admin_log_dir_sddl(NULL, NULL, sddl, 4096), 0);
    ck_assert_msg(wcscmp(sddl, L"O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)") == 0, "%ls", sddl);
    LocalFree(old_sd);
}
END_TEST

/* "NT SERVICE\TrustedInstaller" is S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464 on every
 * Windows; the derivation is case-insensitive. */
START_TEST(service_sid)
{
    wchar_t sid[100];

    ck_assert_int_eq(svc_admin_service_sid(L"TrustedInstaller", sid, 100), 0);
    ck_assert_msg(wcscmp(sid, L"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464") == 0, "%ls", sid);
    ck_assert_int_eq(svc_admin_service_sid(L"trustedinstaller", sid, 100), 0);
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
    snprintf(args, sizeof(args), "%s \"%s\" %s", name, exe, pipe);
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
    snprintf(args, sizeof(args), "%s \"%s\" a/b", name, exe);
    rc = script(&out, "install.cmd", args);
    printf("install.cmd %s -> %d\n%s\n", args, rc, out);
    ck_assert_msg(rc == 1, "install.cmd of a broken service: %d\n%s", rc, out);
    must_contain(out, "rolled back");
    free(out);
    expect_gone(name);
}
END_TEST

/* The MSI built by the pipehost_msi target (and the older one for the upgrade); skips when wixl was missing. */
static void msi_path(const char *version, wchar_t *out, size_t size)
{
    char unix_path[MAX_PATH];

    snprintf(unix_path, sizeof(unix_path), "%s/pipehost-%s-x64.msi", PH_TEST_MSI_DIR, version);
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
    add(s, tcase_create("cli_log_folder_foreign_moved_aside"), cli_log_folder_foreign_moved_aside);
    add(s, tcase_create("service_sid"), service_sid);
    add(s, tcase_create("log_dir_sddl"), log_dir_sddl);
    add(s, tcase_create("sc_scripts"), sc_scripts);
    add(s, tcase_create("msi_lifecycle"), msi_lifecycle);
    add(s, tcase_create("msi_upgrade"), msi_upgrade);
    add(s, tcase_create("msi_rollback"), msi_rollback);
    add(s, tcase_create("msi_properties"), msi_properties);
    return s;
}
