/* test_admin.c — an administrator's commands that never surprise: install over a service, config, --help, events. */
#include "svctest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "eventlog.h"
#include "svclog.h"

#define RUN_MS 120000u
#define SERVICES_KEY L"SYSTEM\\CurrentControlSet\\Services\\"
#define EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\"

/* A service name no other run uses. */
static void unique(char *out, size_t size, const char *tag)
{
    static unsigned n;
    snprintf(out, size, "pha-%s-%lu-%u", tag, (unsigned long)GetCurrentProcessId(), ++n);
}

static void wide(const char *s, wchar_t *out, size_t size)
{
    MultiByteToWideChar(CP_UTF8, 0, s, -1, out, (int)size);
}

/* Every install here passes --allow-unsafe-location: it registers this build's pipehost.exe wherever the build
 * tree is, which on Windows is often a folder every user may change (the refusal itself is tested by
 * test_installer.cli_unsafe_location). */
/* Runs `EXE ARGS` (exe NULL: this build's pipehost.exe); returns its exit code, *out its stdout+stderr. */
static int run_exe(const wchar_t *exe, char **out, const char *fmt, ...) PH_PRINTF(3, 4);
static int run_exe(const wchar_t *exe, char **out, const char *fmt, ...)
{
    char args[2048];
    wchar_t cmd[3000], wargs[2048];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    wide(args, wargs, 2048);
    swprintf(cmd, 3000, L"\"%ls\" %ls", exe ? exe : svct_pipehost_exe(), wargs);
    rc = svct_run(cmd, RUN_MS, out);
    printf("%ls %s -> %d\n%s\n", exe ? exe : L"pipehost", args, rc, *out);
    return rc;
}
#define ph(out, ...) run_exe(NULL, out, __VA_ARGS__)

static void must_contain(const char *out, const char *needle)
{
    ck_assert_msg(strstr(out, needle) != NULL, "output lacks \"%s\":\n%s", needle, out);
}

/* What the SCM has for a service: its configuration and description. */
typedef struct scm_view {
    DWORD start_type, state, exit_code, specific;
    wchar_t account[300], binpath[MAX_PATH + 8], display[300], description[1000];
} scm_view;

static void view(const char *name, scm_view *v)
{
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } cfg;
    union {
        SERVICE_DESCRIPTIONW d;
        BYTE raw[4096];
    } desc;
    SERVICE_STATUS_PROCESS st;
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    wchar_t w[300];
    DWORD need = 0;

    memset(v, 0, sizeof(*v));
    wide(name, w, 300);
    svc = scm ? OpenServiceW(scm, w, SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS) : NULL;
    ck_assert_msg(svc != NULL, "OpenServiceW(%s): %lu", name, GetLastError());
    ck_assert(QueryServiceConfigW(svc, &cfg.qc, sizeof(cfg.raw), &need));
    ck_assert(QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&st, sizeof(st), &need));
    v->start_type = cfg.qc.dwStartType;
    v->state = st.dwCurrentState;
    v->exit_code = st.dwWin32ExitCode;
    v->specific = st.dwServiceSpecificExitCode;
    swprintf(v->account, 300, L"%ls", cfg.qc.lpServiceStartName ? cfg.qc.lpServiceStartName : L"");
    swprintf(v->binpath, MAX_PATH + 8, L"%ls", cfg.qc.lpBinaryPathName ? cfg.qc.lpBinaryPathName : L"");
    swprintf(v->display, 300, L"%ls", cfg.qc.lpDisplayName ? cfg.qc.lpDisplayName : L"");
    if (QueryServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, desc.raw, sizeof(desc.raw), &need) &&
        desc.d.lpDescription != NULL)
        swprintf(v->description, 1000, L"%ls", desc.d.lpDescription);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
}

static int wait_state(const char *name, DWORD state, unsigned timeout_ms, scm_view *v)
{
    unsigned long long end = ph_test_now_ms() + timeout_ms;

    do {
        view(name, v);
        if (v->state == state)
            return 1;
        ph_test_sleep_ms(50);
    } while (ph_test_now_ms() < end);
    return 0;
}

static void control(const char *name, DWORD access, int start)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    SERVICE_STATUS ss;
    wchar_t w[300];

    wide(name, w, 300);
    svc = scm ? OpenServiceW(scm, w, access) : NULL;
    ck_assert_msg(svc != NULL, "OpenServiceW(%s): %lu", name, GetLastError());
    if (start) /* judged by the state reached: under Wine a start may report 1053/1359 (WINE.md) */
        StartServiceW(svc, 0, NULL);
    else
        ck_assert_msg(ControlService(svc, SERVICE_CONTROL_STOP, &ss), "STOP: %lu", GetLastError());
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
}

/* A value of HKLM\<key>\<name> as text ("" when absent): DWORDs in decimal, strings as they are; *type gets its
 * type (REG_NONE when absent). */
static void reg_value(const wchar_t *key, const char *name, char *out, size_t size, DWORD *type)
{
    union {
        DWORD d;
        wchar_t s[1024];
    } data;
    wchar_t wname[100];
    DWORD bytes = sizeof(data);

    out[0] = '\0';
    *type = REG_NONE;
    wide(name, wname, 100);
    memset(&data, 0, sizeof(data));
    if (RegGetValueW(HKEY_LOCAL_MACHINE, key, wname, RRF_RT_ANY | RRF_NOEXPAND, type, &data, &bytes) != 0) {
        *type = REG_NONE;
        return;
    }
    if (*type == REG_DWORD)
        snprintf(out, size, "%lu", (unsigned long)data.d);
    else
        WideCharToMultiByte(CP_UTF8, 0, data.s, -1, out, (int)size, NULL, NULL);
}

static void params_key(const char *name, wchar_t *out, size_t size)
{
    swprintf(out, size, SERVICES_KEY L"%hs\\Parameters", name);
}

static void event_message_file(const char *name, wchar_t *out, size_t size)
{
    wchar_t key[400];
    DWORD bytes = (DWORD)(size * sizeof(wchar_t));

    swprintf(key, 400, EVENTLOG_KEY L"%hs", name);
    out[0] = L'\0';
    ck_assert_msg(RegGetValueW(HKEY_LOCAL_MACHINE, key, L"EventMessageFile", RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ |
                               RRF_NOEXPAND, NULL, out, &bytes) == 0,
                  "no EventMessageFile for %s", name);
}

/* A copy of this build's pipehost.exe in a folder of its own (as an administrator's other copy, e.g. a build
 * folder): out gets its path. */
static void copy_exe(const char *tag, wchar_t *out, size_t size)
{
    wchar_t dir[MAX_PATH];

    ck_assert(GetTempPathW(MAX_PATH, dir) > 0);
    swprintf(out, size, L"%lsphcopy-%hs-%lu", dir, tag, (unsigned long)GetCurrentProcessId());
    ck_assert_msg(CreateDirectoryW(out, NULL) || GetLastError() == ERROR_ALREADY_EXISTS, "%lu", GetLastError());
    wcscat(out, L"\\pipehost.exe");
    ck_assert_msg(CopyFileW(svct_pipehost_exe(), out, FALSE), "CopyFileW: %lu", GetLastError());
}

/* Quick start step 4 was a trap: `install --set` on an existing service reset its account to LocalSystem, its
 * start type, display name and description, and re-pointed its binary (and Event Log source) at whichever copy
 * of pipehost.exe ran it. Now install over a service changes only what its options name, and says so. */
START_TEST(install_keeps_existing)
{
    char name[80], value[200], *out = NULL;
    wchar_t copy[MAX_PATH], key[400], before_events[MAX_PATH + 8], after_events[MAX_PATH + 8], want[MAX_PATH + 8];
    scm_view before, after;
    DWORD type;

    svct_require_single_scm();
    unique(name, sizeof(name), "keep");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --account LocalService --start demand --no-protected-name "
                              "--display-name \"Keep %s\" "
                              "--description \"the admin's own words\"", name, name), 0);
    free(out);
    view(name, &before);
    ck_assert_msg(_wcsicmp(before.account, L"NT AUTHORITY\\LocalService") == 0, "account %ls", before.account);
    event_message_file(name, before_events, MAX_PATH + 8);

    /* From another copy of pipehost.exe, as an administrator following the old Quick Start step 4. */
    copy_exe("keep", copy, MAX_PATH);
    ck_assert_int_eq(run_exe(copy, &out, "install --allow-unsafe-location "
                                         "--name %s --set MaxMessageBytes=4096", name), 0);
    view(name, &after);
    ck_assert_msg(wcscmp(after.account, before.account) == 0, "account %ls became %ls", before.account, after.account);
    ck_assert_msg(wcscmp(after.binpath, before.binpath) == 0, "binary %ls became %ls", before.binpath, after.binpath);
    ck_assert_uint_eq(after.start_type, SERVICE_DEMAND_START);
    ck_assert_msg(wcscmp(after.display, before.display) == 0, "display name %ls", after.display);
    ck_assert_msg(wcscmp(after.description, L"the admin's own words") == 0, "description %ls", after.description);
    event_message_file(name, after_events, MAX_PATH + 8);
    ck_assert_msg(_wcsicmp(after_events, before_events) == 0, "EventMessageFile %ls became %ls", before_events,
                  after_events);
    params_key(name, key, 400);
    reg_value(key, "MaxMessageBytes", value, sizeof(value), &type);
    ck_assert_str_eq(value, "4096");
    must_contain(out, "only what the options name is changed");
    must_contain(out, "(kept; --account changes it)");
    must_contain(out, "(kept; --update-binary-path");
    free(out);

    /* What is named changes, and only that. */
    ck_assert_int_eq(run_exe(copy, &out, "install --allow-unsafe-location "
                                         "--name %s --start auto --update-binary-path", name), 0);
    must_contain(out, "(changed)");
    free(out);
    view(name, &after);
    ck_assert_uint_eq(after.start_type, SERVICE_AUTO_START);
    ck_assert_msg(wcscmp(after.account, before.account) == 0, "account %ls", after.account);
    swprintf(want, MAX_PATH + 8, L"\"%ls\"", copy);
    ck_assert_msg(_wcsicmp(after.binpath, want) == 0, "binary %ls, want %ls", after.binpath, want);
    event_message_file(name, after_events, MAX_PATH + 8);
    ck_assert_msg(_wcsicmp(after_events, copy) == 0, "EventMessageFile %ls, want %ls", after_events, copy);
    ck_assert_msg(wcscmp(after.description, L"the admin's own words") == 0, "description %ls", after.description);

    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --failure-actions --no-failure-actions", name), 64);
    free(out);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    DeleteFileW(copy);

    /* A LocalService service serving its protected name: install --set over it keeps the account, and with it the
     * name its account may create (it used to be refused as if the service were to become LocalSystem). */
    unique(name, sizeof(name), "keepls");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --account LocalService --start demand", name), 0);
    free(out);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --set LogLevel=debug", name), 0);
    free(out);
    view(name, &after);
    ck_assert_msg(_wcsicmp(after.account, L"NT AUTHORITY\\LocalService") == 0, "account %ls", after.account);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
}
END_TEST

/* `config`: an invalid value writes nothing; --set and --unset round trip with the right registry types; the
 * listing shows each value and where it comes from; reload applies a live value to the running service. */
START_TEST(config_roundtrip)
{
    char name[80], value[300], pipe[120], status[200], *out = NULL;
    wchar_t key[400];
    unsigned char *resp = NULL;
    size_t len = 0;
    scm_view v;
    DWORD type;

    svct_require_single_scm();
    unique(name, sizeof(name), "cfg");
    ph_test_pipe_name(pipe, sizeof(pipe), "admcfg");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --start demand --set PipeName=%s", name, pipe), 0);
    free(out);
    params_key(name, key, 400);

    /* Refused by the service's rules: nothing written, exit 64. */
    ck_assert_int_eq(ph(&out, "config --name %s --set MaxMessageBytes=0", name), 64);
    must_contain(out, "MaxMessageBytes");
    must_contain(out, "nothing was changed");
    free(out);
    ck_assert_int_eq(ph(&out, "config --name %s --set LogLevel=debug --set NoSuchValue=1", name), 64);
    must_contain(out, "NoSuchValue");
    free(out);
    ck_assert_int_eq(ph(&out, "config --name %s --set DrainTimeoutMs=60000", name), 64); /* > Preshutdown - 1 s */
    must_contain(out, "PreshutdownTimeoutMs");
    free(out);
    ck_assert_int_eq(ph(&out, "config --name %s --set Sddl=D:NO_ACCESS_CONTROL", name), 64);
    free(out);
    ck_assert_int_eq(ph(&out, "config --name %s --frobnicate", name), 64);
    free(out);
    reg_value(key, "MaxMessageBytes", value, sizeof(value), &type);
    ck_assert_uint_eq(type, REG_NONE);
    reg_value(key, "LogLevel", value, sizeof(value), &type);
    ck_assert_uint_eq(type, REG_NONE);
    reg_value(key, "DrainTimeoutMs", value, sizeof(value), &type);
    ck_assert_uint_eq(type, REG_NONE);

    /* --set: each value with its type. */
    ck_assert_int_eq(ph(&out, "config --name %s --set MaxMessageBytes=2048 --set LogLevel=debug --set "
                              "IdleTimeoutMs=never", name), 0);
    must_contain(out, "not running");
    free(out);
    reg_value(key, "MaxMessageBytes", value, sizeof(value), &type);
    ck_assert_uint_eq(type, REG_DWORD);
    ck_assert_str_eq(value, "2048");
    reg_value(key, "IdleTimeoutMs", value, sizeof(value), &type);
    ck_assert_str_eq(value, "4294967295");
    reg_value(key, "LogLevel", value, sizeof(value), &type);
    ck_assert_uint_eq(type, REG_SZ);
    ck_assert_str_eq(value, "debug");
    ck_assert_int_eq(ph(&out, "config --name %s", name), 0);
    must_contain(out, "MaxMessageBytes       2048");
    must_contain(out, "LogLevel              debug");
    free(out);

    /* --unset: gone from the registry, the default shown again. A value the service refuses (a typo) can be
     * removed too, and a refused value already there does not block its own fix. */
    ck_assert_int_eq(ph(&out, "config --name %s --unset MaxMessageBytes --unset loglevel", name), 0);
    free(out);
    reg_value(key, "MaxMessageBytes", value, sizeof(value), &type);
    ck_assert_uint_eq(type, REG_NONE);
    reg_value(key, "LogLevel", value, sizeof(value), &type);
    ck_assert_uint_eq(type, REG_NONE);
    ck_assert_int_eq(ph(&out, "config --name %s", name), 0);
    must_contain(out, "MaxMessageBytes       65536");
    free(out);
    ck_assert_int_eq(RegSetKeyValueW(HKEY_LOCAL_MACHINE, key, L"MaxMesageBytes", REG_DWORD, &(DWORD){1}, 4), 0);
    ck_assert_int_eq(ph(&out, "config --name %s --set LogLevel=warn", name), 64);
    must_contain(out, "MaxMesageBytes");
    free(out);
    ck_assert_int_eq(ph(&out, "config --name %s --set LogLevel=warn --unset MaxMesageBytes", name), 0);
    free(out);
    reg_value(key, "MaxMesageBytes", value, sizeof(value), &type);
    ck_assert_uint_eq(type, REG_NONE);

    /* Quick start step 4 on a running service: config --set, then reload applies it. */
    control(name, SERVICE_START, 1);
    ck_assert_msg(wait_state(name, SERVICE_RUNNING, 30000, &v), "state %lu, exit %lu/%lu", v.state, v.exit_code,
                  v.specific);
    ck_assert_int_eq(ph(&out, "config --name %s --set MaxMessageBytes=100 --set MaxInstances=16", name), 0);
    must_contain(out, "reload --name");
    must_contain(out, "MaxInstances take effect after a restart");
    free(out);
    ck_assert_int_eq(ph(&out, "reload --name %s", name), 0);
    must_contain(out, "MaxMessageBytes 65536 -> 100");
    free(out);
    ck_assert_int_eq(svct_transact(pipe, "STATUS", 6, &resp, &len), 0);
    snprintf(status, sizeof(status), "max_message_bytes=100\n");
    ck_assert_msg(strstr((const char *)resp, status) != NULL, "%s", (const char *)resp);
    ph_free(resp);
    control(name, SERVICE_STOP, 0);
    ck_assert(wait_state(name, SERVICE_STOPPED, 60000, &v));

    ck_assert_int_eq(ph(&out, "config --name pha-never-installed --set LogLevel=debug"), 12);
    free(out);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
}
END_TEST

/* The service used to re-point its own Event Log source at whichever executable started it, so a copy started
 * from a build folder moved the installed source there. Only install and uninstall register it now. */
START_TEST(event_source_kept)
{
    char name[80], pipe[120], *out = NULL;
    wchar_t copy[MAX_PATH], installed[MAX_PATH + 8], now[MAX_PATH + 8], cmdline[MAX_PATH + 300], ev_name[100];
    SC_HANDLE scm, svc;
    scm_view v;
    HANDLE ev, proc;
    DWORD code = 0;
    int served = 0;

    svct_require_single_scm();
    unique(name, sizeof(name), "evsrc");
    ph_test_pipe_name(pipe, sizeof(pipe), "admev");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --start demand --set PipeName=%s", name, pipe), 0);
    free(out);
    event_message_file(name, installed, MAX_PATH + 8);
    ck_assert_msg(_wcsicmp(installed, svct_pipehost_exe()) == 0, "EventMessageFile %ls", installed);

    /* The service started from another copy. */
    copy_exe("evsrc", copy, MAX_PATH);
    swprintf(cmdline, MAX_PATH + 300, L"\"%ls\"", copy);
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    ck_assert(scm != NULL);
    {
        wchar_t w[100];
        wide(name, w, 100);
        svc = OpenServiceW(scm, w, SERVICE_CHANGE_CONFIG);
    }
    ck_assert_msg(svc != NULL, "%lu", GetLastError());
    ck_assert(ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, cmdline, NULL, NULL,
                                   NULL, NULL, NULL, NULL));
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    control(name, SERVICE_START, 1);
    ck_assert_msg(wait_state(name, SERVICE_RUNNING, 30000, &v), "state %lu, exit %lu/%lu", v.state, v.exit_code,
                  v.specific);
    event_message_file(name, now, MAX_PATH + 8);
    ck_assert_msg(_wcsicmp(now, installed) == 0, "the service moved its Event Log source from %ls to %ls", installed,
                  now);
    control(name, SERVICE_STOP, 0);
    ck_assert(wait_state(name, SERVICE_STOPPED, 60000, &v));

    /* `run --service NAME` from the copy (console mode, elevated here: everyone is under Wine). */
    swprintf(ev_name, 100, L"pha-ev-%lu", (unsigned long)GetCurrentProcessId());
    ev = CreateEventW(NULL, TRUE, FALSE, ev_name);
    ck_assert(ev != NULL);
    swprintf(cmdline, MAX_PATH + 300, L"\"%ls\" run --service %hs --stop-event %ls", copy, name, ev_name);
    {
        wchar_t log[MAX_PATH];
        ck_assert(GetTempPathW(MAX_PATH, log) > 0);
        wcscat(log, L"pha-evsrc-run.log");
        proc = svct_spawn(cmdline, log);
    }
    served = svct_wait_ping(pipe, 30000, proc);
    SetEvent(ev);
    ck_assert_uint_eq(WaitForSingleObject(proc, 30000), WAIT_OBJECT_0);
    GetExitCodeProcess(proc, &code);
    CloseHandle(proc);
    CloseHandle(ev);
    ck_assert_msg(served, "run --service did not serve %s (exit %lu)", pipe, (unsigned long)code);
    event_message_file(name, now, MAX_PATH + 8);
    ck_assert_msg(_wcsicmp(now, installed) == 0, "`run` moved the Event Log source from %ls to %ls", installed, now);

    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    DeleteFileW(copy);
}
END_TEST

/* Every command's --help is its own usage (exit 0), not the global help or a usage error. */
START_TEST(help_per_command)
{
    static const char *const commands[] = {"run", "ping", "status", "whoami", "send", "install", "uninstall",
                                           "reload", "config", "help", "version"};
    char want[80], *out = NULL;
    size_t i;

    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        snprintf(want, sizeof(want), "Usage: pipehost %s", commands[i]);
        ck_assert_int_eq(ph(&out, "%s --help", commands[i]), 0);
        ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s --help:\n%s", commands[i], out);
        ck_assert_msg(strstr(out, "Administration (elevated prompt") == NULL, "%s --help is the global help",
                      commands[i]);
        free(out);
        ck_assert_int_eq(ph(&out, "help %s", commands[i]), 0);
        ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "help %s:\n%s", commands[i], out);
        free(out);
    }
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name x --help"), 0);
    must_contain(out, "Over an existing service it changes only what the options name");
    free(out);
    ck_assert_int_eq(ph(&out, "ping -h"), 0);
    must_contain(out, "Usage: pipehost ping");
    free(out);
    /* After a lone --, --help is a payload word of send. */
    ck_assert_int_ne(ph(&out, "send ECHO --pipe pha-nobody-serves-this --timeout 100 -- --help"), 0);
    ck_assert_msg(strstr(out, "Usage:") == NULL, "%s", out);
    free(out);
    ck_assert_int_eq(ph(&out, "help frobnicate"), 64);
    free(out);
    ck_assert_int_eq(ph(&out, "--help"), 0);
    must_contain(out, "Administration (elevated prompt");
    free(out);
}
END_TEST

/* The recovery policy: three restarts (5 s, 10 s, 30 s), then nothing, so a permanent error (exit codes 1, 2,
 * 3, 5) does not restart every 30 s for ever; the count resets after an hour without a failure; a non-zero exit
 * code counts. Off: no actions, the flag cleared. */
START_TEST(failure_policy)
{
    SC_ACTION actions[SVC_ADMIN_FAILURE_ACTIONS];
    SERVICE_FAILURE_ACTIONSW fa;
    SERVICE_FAILURE_ACTIONS_FLAG flag;

    ph__svc_admin_failure_actions(0, actions, &fa, &flag);
    ck_assert_uint_eq(fa.cActions, 4);
    ck_assert_ptr_eq(fa.lpsaActions, actions);
    ck_assert_uint_eq(actions[0].Type, SC_ACTION_RESTART);
    ck_assert_uint_eq(actions[0].Delay, 5000);
    ck_assert_uint_eq(actions[1].Type, SC_ACTION_RESTART);
    ck_assert_uint_eq(actions[1].Delay, 10000);
    ck_assert_uint_eq(actions[2].Type, SC_ACTION_RESTART);
    ck_assert_uint_eq(actions[2].Delay, 30000);
    /* The SCM repeats the last action for every later failure: it must be none. */
    ck_assert_uint_eq(actions[fa.cActions - 1].Type, SC_ACTION_NONE);
    ck_assert_uint_eq(fa.dwResetPeriod, 3600);
    ck_assert(flag.fFailureActionsOnNonCrashFailures);
    ph__svc_admin_failure_actions(1, actions, &fa, &flag);
    ck_assert_uint_eq(fa.cActions, 0);
    ck_assert_uint_eq(fa.dwResetPeriod, 0);
    ck_assert(!flag.fFailureActionsOnNonCrashFailures);
}
END_TEST

/* What the SCM stores: the policy on a new service, kept by an install over it, removed by --no-failure-actions.
 * Wine stores no failure actions (WINE.md): skipped there, where only the computed policy (failure_policy) and
 * the exit reporting (test_installer.cli_start_fails: STOPPED with 1066 and the service-specific code) can be
 * checked. */
START_TEST(failure_actions_stored)
{
    union {
        SERVICE_FAILURE_ACTIONSW fa;
        BYTE raw[1024];
    } back;
    char name[80], *out = NULL;
    wchar_t w[100];
    SC_HANDLE scm, svc;
    DWORD need = 0;

    svct_require_single_scm();
    unique(name, sizeof(name), "fa");
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --start demand", name), 0);
    free(out);
    wide(name, w, 100);
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    svc = scm ? OpenServiceW(scm, w, SERVICE_QUERY_CONFIG) : NULL;
    ck_assert(svc != NULL);
    memset(&back, 0, sizeof(back));
    if (!QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, back.raw, sizeof(back.raw), &need))
        back.fa.cActions = 0; /* Wine fails the query: the assertions below say so on Windows */
    if (back.fa.cActions == 0 && ph_test_on_wine()) {
        CloseServiceHandle(svc);
        CloseServiceHandle(scm);
        ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
        free(out);
        ph_test_skip("Wine accepts failure actions and stores none: the SCM's restarts (three, then none) can only "
                     "be seen on Windows; the policy itself is test_admin.failure_policy");
    }
    ck_assert_uint_eq(back.fa.cActions, 4);
    ck_assert_uint_eq(back.fa.lpsaActions[3].Type, SC_ACTION_NONE);
    ck_assert_uint_eq(back.fa.dwResetPeriod, 3600);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --set LogLevel=debug", name), 0);
    free(out);
    ck_assert(QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, back.raw, sizeof(back.raw), &need));
    ck_assert_uint_eq(back.fa.cActions, 4);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location --name %s --no-failure-actions", name), 0);
    free(out);
    ck_assert(QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, back.raw, sizeof(back.raw), &need));
    ck_assert_uint_eq(back.fa.cActions, 0);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
}
END_TEST

/* Each cause has its own event id and message in the executable's message table (what the Event Viewer shows),
 * and an exit code maps to its cause's id. */
START_TEST(event_ids)
{
    static const struct {
        DWORD id;       /* as messages.mc declares it: severity bits + the number administrators filter on */
        const char *text;
    } table[] = {
        {0x40000001, "Service started"},
        {0x40000002, "Service stopped"},
        {0xC0000003, "Configuration refused (service exit code 1)"},
        {0xC0000004, "Service could not start (service exit code 4)"},
        {0xC0000005, "Error: "},
        {0x80000006, "Warning: "},
        {0xC0000008, "Service stopped abnormally"},
        {0xC0000009, "already served by another process (service exit code 2)"},
        {0xC000000A, "security descriptor was refused (service exit code 3)"},
        {0xC000000B, "log file cannot be used, or its folder is not safe (service exit code 5)"},
        {0xC000000C, "The pipe server reported an error"},
        {0xC000000D, "configuration change was refused"},
    };
    static const struct {
        int exit_code;
        unsigned id;
    } exits[] = {{0, 2}, {1, 3}, {2, 9}, {3, 10}, {4, 4}, {5, 11}, {6, 8}, {7, 8}, {64, 5}};
    HMODULE exe = LoadLibraryExW(svct_pipehost_exe(), NULL, LOAD_LIBRARY_AS_DATAFILE);
    wchar_t text[512];
    char utf8[1024];
    size_t i;

    ck_assert_msg(exe != NULL, "LoadLibraryExW: %lu", GetLastError());
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_IGNORE_INSERTS, exe, table[i].id, 0x409,
                                 text, 512, NULL);
        ck_assert_msg(n > 0, "event %lu has no message: %lu", (unsigned long)(table[i].id & 0xFFFF), GetLastError());
        WideCharToMultiByte(CP_UTF8, 0, text, -1, utf8, sizeof(utf8), NULL, NULL);
        ck_assert_msg(strstr(utf8, table[i].text) != NULL, "event %lu: \"%s\", want \"%s\"",
                      (unsigned long)(table[i].id & 0xFFFF), utf8, table[i].text);
    }
    FreeLibrary(exe);
    for (i = 0; i < sizeof(exits) / sizeof(exits[0]); i++)
        ck_assert_msg((ph__svc_eventlog_exit_event(exits[i].exit_code) & 0xFFFF) == exits[i].id, "exit %d: event %lu",
                      exits[i].exit_code, (unsigned long)(ph__svc_eventlog_exit_event(exits[i].exit_code) & 0xFFFF));
}
END_TEST

typedef struct seen_event {
    WORD type;
    DWORD id;
    char text[200];
} seen_event;
typedef struct seen {
    seen_event ev[16];
    int n;
} seen;

static void record(void *ctx, WORD type, DWORD event_id, const char *text)
{
    seen *s = ctx;
    if (s->n < 16) {
        s->ev[s->n].type = type;
        s->ev[s->n].id = event_id & 0xFFFF;
        snprintf(s->ev[s->n].text, sizeof(s->ev[s->n].text), "%s", text);
        s->n++;
    }
}

/* The log's events reach the Event Log with their cause's id: the core's errors (pipe failures) 12, an explicit
 * event its own, other errors 5 and warnings 6; information only when it is an explicit event. */
START_TEST(event_plumbing)
{
    svc_log log;
    seen s;

    memset(&s, 0, sizeof(s));
    ph__svc_log_init(&log, PH_LOG_ERROR);
    log.events = (HANDLE)(intptr_t)1; /* any non-NULL source: the hook takes every report */
    ph__svc_eventlog_set_hook(record, &s);
    ph__svc_log_core(&log, PH_LOG_ERROR, "pipe name x is already in use by another server");
    ph__svc_log_core(&log, PH_LOG_WARN, "a slow reader"); /* per-client: file only */
    ph__svc_log_event(&log, PH_LOG_ERROR, ph__svc_eventlog_exit_event(2), "could not start (exit code %d)", 2);
    ph__svc_log_msg(&log, PH_LOG_ERROR, "something else");
    ph__svc_log_msg(&log, PH_LOG_WARN, "a warning");
    ph__svc_log_msg(&log, PH_LOG_INFO, "chatter");
    ph__svc_log_event_win32(&log, PH_LOG_ERROR, ph__svc_eventlog_exit_event(5), ERROR_ACCESS_DENIED, "CreateFileW",
                        "cannot log to %s", "x");
    ph__svc_eventlog_set_hook(NULL, NULL);
    log.events = NULL;
    ck_assert_int_eq(s.n, 5);
    ck_assert_uint_eq(s.ev[0].id, 12);
    ck_assert_uint_eq(s.ev[0].type, EVENTLOG_ERROR_TYPE);
    ck_assert_uint_eq(s.ev[1].id, 9);
    ck_assert_uint_eq(s.ev[2].id, 5);
    ck_assert_uint_eq(s.ev[3].id, 6);
    ck_assert_uint_eq(s.ev[3].type, EVENTLOG_WARNING_TYPE);
    ck_assert_uint_eq(s.ev[4].id, 11);
    ck_assert_msg(strstr(s.ev[4].text, "CreateFileW failed: error 5") != NULL, "%s", s.ev[4].text);
}
END_TEST

/* End to end: a service whose pipe name is taken stops with exit code 2 and writes event 9. Wine's Event Log is a
 * stub (nothing can be read back): skipped there once the exit code is checked. */
START_TEST(events_written)
{
    char name[80], pipe[120], *out = NULL;
    wchar_t wname[100];
    ph_server *squatter = NULL;
    ph_router *router = NULL;
    ph_server_config sc;
    scm_view v;
    HANDLE log;
    BYTE buf[0x10000];
    DWORD read = 0, need = 0;
    int found = 0;

    svct_require_single_scm();
    unique(name, sizeof(name), "ev");
    wide(name, wname, 100);
    ph_test_pipe_name(pipe, sizeof(pipe), "admtaken");
    ck_assert_int_eq(ph_router_new(&router), 0);
    ph_server_config_init(&sc);
    sc.pipe_name = pipe;
    sc.handler = ph_router_handle;
    sc.handler_ctx = router;
    ck_assert_int_eq(ph_server_new(&sc, &squatter), 0);
    ck_assert_int_eq(ph_server_start(squatter), 0);
    ck_assert_int_eq(ph(&out, "install --allow-unsafe-location "
                              "--name %s --start demand --no-failure-actions --set PipeName=%s", name, pipe), 0);
    free(out);
    control(name, SERVICE_START, 1);
    ck_assert_msg(wait_state(name, SERVICE_STOPPED, 60000, &v), "state %lu", v.state);
    ck_assert_uint_eq(v.exit_code, ERROR_SERVICE_SPECIFIC_ERROR);
    ck_assert_uint_eq(v.specific, 2);
    ph_server_stop(squatter);
    ph_server_free(squatter);
    ph_router_free(router);

    log = OpenEventLogW(NULL, L"Application");
    while (log != NULL && !found &&
           ReadEventLogW(log, EVENTLOG_SEQUENTIAL_READ | EVENTLOG_BACKWARDS_READ, 0, buf, sizeof(buf), &read, &need)) {
        DWORD off = 0;
        while (off + sizeof(EVENTLOGRECORD) <= read && !found) {
            EVENTLOGRECORD *r = (EVENTLOGRECORD *)(buf + off);
            const wchar_t *source = (const wchar_t *)(r + 1);
            found = _wcsicmp(source, wname) == 0 && (r->EventID & 0xFFFF) == 9;
            off += r->Length ? r->Length : (DWORD)read;
        }
    }
    if (log != NULL)
        CloseEventLog(log);
    ck_assert_int_eq(ph(&out, "uninstall --name %s", name), 0);
    free(out);
    if (!found && ph_test_on_wine())
        ph_test_skip("Wine's Event Log is a stub (ReportEventW succeeds, nothing can be read back): the ids are "
                     "checked in the message table (event_ids) and in the log's plumbing (event_plumbing)");
    ck_assert_msg(found, "no event 9 from source %s in the Application log", name);
}
END_TEST

static void add(Suite *s, TCase *tc, const TTest *test)
{
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

Suite *ph_test_suite(void)
{
    Suite *s = suite_create("admin");

    add(s, tcase_create("install_keeps_existing"), install_keeps_existing);
    add(s, tcase_create("config_roundtrip"), config_roundtrip);
    add(s, tcase_create("event_source_kept"), event_source_kept);
    add(s, tcase_create("failure_actions_stored"), failure_actions_stored);
    add(s, tcase_create("events_written"), events_written);
    add(s, tcase_create("help_per_command"), help_per_command);
    add(s, tcase_create("failure_policy"), failure_policy);
    add(s, tcase_create("event_ids"), event_ids);
    add(s, tcase_create("event_plumbing"), event_plumbing);
    return s;
}
