/* svc.c — the SCM side: ServiceMain, the control handler, and status reporting from one place. */
#include "svc.h"

#include "config_win.h"
#include "eventlog.h"
#include "exitcodes.h"
#include "host.h"
#include "messages.h"
#include "winutil.h"

#include <stdlib.h>
#include <string.h>

/* One service per process (SERVICE_WIN32_OWN_PROCESS), and neither ServiceMain nor the dispatcher take a
 * context argument: this is the one place the service's state lives. It is static so that a control that
 * races with the end of ServiceMain still finds valid memory; `closed` tells it not to touch the host. */
typedef struct svc_state {
    SRWLOCK lock;                 /* guards host and closed against the control handler */
    int closed;
    svc_host *host;
    const ph_service_app *app;
    SERVICE_STATUS_HANDLE handle;
    SERVICE_STATUS status;        /* only touched by report_status, on the ServiceMain thread */
    svc_log *log;
} svc_state;

static svc_state g_svc = {SRWLOCK_INIT, 0, NULL, NULL, NULL, {0, 0, 0, 0, 0, 0, 0}, NULL};

/* THE status report. Checkpoints rise on every pending report and reset at RUNNING/STOPPED; controls are
 * accepted only while RUNNING (never while START_PENDING); a non-zero exit code is service-specific. */
static void report_status(svc_state *s, DWORD state, int exit_code, DWORD wait_hint)
{
    s->status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    s->status.dwCurrentState = state;
    s->status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
                                                                  SERVICE_ACCEPT_PRESHUTDOWN |
                                                                  SERVICE_ACCEPT_PARAMCHANGE
                                                            : 0;
    s->status.dwWin32ExitCode = exit_code != 0 ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
    s->status.dwServiceSpecificExitCode = (DWORD)exit_code;
    s->status.dwWaitHint = wait_hint;
    if (state == SERVICE_RUNNING || state == SERVICE_STOPPED)
        s->status.dwCheckPoint = 0;
    else
        s->status.dwCheckPoint++;
    if (!SetServiceStatus(s->handle, &s->status)) {
        DWORD err = GetLastError();
        if (s->log != NULL)
            svc_log_win32(s->log, PH_LOG_ERROR, err, "SetServiceStatus", "reporting state %lu", (unsigned long)state);
    }
}

/* The control handler only signals; the worker and ServiceMain do the work. INTERROGATE needs nothing:
 * the SCM answers it with the last status we reported. */
static DWORD WINAPI control_handler(DWORD control, DWORD event_type, LPVOID event_data, LPVOID context)
{
    svc_state *s = context;
    DWORD rc = NO_ERROR;

    (void)event_type;
    (void)event_data;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
    case SERVICE_CONTROL_PRESHUTDOWN:
        AcquireSRWLockShared(&s->lock);
        if (!s->closed && s->host != NULL)
            svc_host_request_stop(s->host, control == SERVICE_CONTROL_SHUTDOWN);
        ReleaseSRWLockShared(&s->lock);
        break;
    case SERVICE_CONTROL_PARAMCHANGE:
        AcquireSRWLockShared(&s->lock);
        if (!s->closed && s->host != NULL)
            SetEvent(s->host->reload);
        ReleaseSRWLockShared(&s->lock);
        break;
    case SERVICE_CONTROL_INTERROGATE:
        break;
    default:
        rc = ERROR_CALL_NOT_IMPLEMENTED;
        break;
    }
    return rc;
}

/* The SCM waits this long at preshutdown before it moves on; ours comes from PreshutdownTimeoutMs. */
static void set_preshutdown_timeout(const wchar_t *name, DWORD timeout_ms, svc_log *log)
{
    SERVICE_PRESHUTDOWN_INFO info;
    SC_HANDLE scm, svc = NULL;
    DWORD err = 0;

    info.dwPreshutdownTimeout = timeout_ms;
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (scm == NULL)
        err = GetLastError();
    if (scm != NULL) {
        svc = OpenServiceW(scm, name, SERVICE_CHANGE_CONFIG);
        if (svc == NULL)
            err = GetLastError();
    }
    if (svc != NULL && !ChangeServiceConfig2W(svc, SERVICE_CONFIG_PRESHUTDOWN_INFO, &info))
        err = GetLastError();
    if (err != 0)
        svc_log_win32(log, PH_LOG_WARN, err, "setting the preshutdown timeout", "PreshutdownTimeoutMs %lu not applied",
                      (unsigned long)timeout_ms);
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
}

/* Opens the log file named by the configuration, or the default one. Returns 0 or PH_EXIT_LOG. */
static int open_log_file(const wchar_t *name, const svc_config *cfg, svc_log *log)
{
    wchar_t *path = NULL;
    DWORD err = 0;
    char *upath;

    if (cfg->log_file != NULL)
        path = svc_to_wide(cfg->log_file, &err);
    else
        err = svc_default_log_path(name, &path);
    if (path != NULL)
        err = svc_filelog_open(path, cfg->log_max_bytes, cfg->log_file ? NULL : SVC_LOG_DIR_SDDL, &log->file);
    if (err == 0) {
        free(path);
        return 0;
    }
    upath = path ? svc_to_utf8(path, NULL) : NULL;
    svc_log_win32(log, PH_LOG_ERROR, err, "opening the log file", "cannot log to %s (LogFile)",
                  upath ? upath : "(the default log path)");
    free(upath);
    free(path);
    return PH_EXIT_LOG;
}

/* Everything between START_PENDING and STOPPED. Returns the exit code to report with STOPPED. All reporting
 * happens on this thread. */
static int run_service(svc_state *s, const wchar_t *name, svc_log *log)
{
    svc_config cfg;
    svc_cfg_errors errs;
    svc_host host;
    char *uname;
    DWORD err = 0, drain_hint;
    int found = 0, code, log_code;
    unsigned i;
    HANDLE waits[2];

    uname = svc_to_utf8(name, NULL);
    log->events = svc_eventlog_open(name, &err);

    memset(&errs, 0, sizeof(errs));
    svc_config_init(&cfg, s->app->default_pipe);
    svc_config_load_registry(name, &cfg, &errs, &found);
    svc_config_check(&cfg, &errs);
    svc_config_check_sddl(&cfg, &errs);
    svc_log_set_level(log, cfg.log_level);
    /* Even with other values in error, a valid LogFile is used, so the errors land where the operator looks. */
    log_code = open_log_file(name, &cfg, log);
    report_status(s, SERVICE_START_PENDING, 0, 5000);

    if (errs.count > 0) {
        for (i = 0; i < errs.count && i < SVC_CFG_MAX_ERRORS; i++)
            svc_log_event(log, PH_LOG_ERROR, PH_MSG_CONFIG_ERROR, "%s", errs.text[i]);
        if (errs.count > SVC_CFG_MAX_ERRORS)
            svc_log_msg(log, PH_LOG_ERROR, "... and %u more configuration error(s)", errs.count - SVC_CFG_MAX_ERRORS);
        code = svc_cfg_errors_exit_code(&errs);
        svc_log_event(log, PH_LOG_ERROR, PH_MSG_START_FAILED, "service %s refuses to start: configuration invalid "
                      "(exit code %d)", uname ? uname : "?", code);
        svc_config_free(&cfg);
        free(uname);
        return code;
    }
    if (log_code != 0) {
        svc_log_event(log, PH_LOG_ERROR, PH_MSG_START_FAILED, "service %s refuses to start: no log file (exit code %d)",
                      uname ? uname : "?", log_code);
        svc_config_free(&cfg);
        free(uname);
        return log_code;
    }
    svc_log_msg(log, PH_LOG_INFO,
                "service %s starting (pipehost %s, pid %lu): PipeName %s, MaxInstances %lu, PendingInstances %lu, "
                "MaxMessageBytes %lu, IdleTimeoutMs %lu, WriteTimeoutMs %lu, DrainTimeoutMs %lu, Sddl %s",
                uname ? uname : "?", PH_VERSION_STRING, (unsigned long)GetCurrentProcessId(), cfg.pipe_name,
                (unsigned long)cfg.max_instances, (unsigned long)cfg.pending_instances,
                (unsigned long)cfg.max_message_bytes, (unsigned long)cfg.idle_timeout_ms,
                (unsigned long)cfg.write_timeout_ms, (unsigned long)cfg.drain_timeout_ms,
                cfg.sddl ? cfg.sddl : "(default)");
    set_preshutdown_timeout(name, cfg.preshutdown_timeout_ms, log);
    drain_hint = cfg.drain_timeout_ms + 3000;

    err = svc_host_init(&host, &cfg, log, s->app);
    host.service = name;
    host.service_utf8 = uname ? uname : "";
    if (err == 0)
        err = svc_host_launch(&host);
    if (err != 0) {
        svc_log_win32(log, PH_LOG_ERROR, err, "creating the worker", "service cannot start");
        svc_host_close(&host);
        free(uname);
        return PH_EXIT_START_FAILED;
    }
    AcquireSRWLockExclusive(&s->lock);
    s->host = &host;
    ReleaseSRWLockExclusive(&s->lock);

    /* START_PENDING until the pipe accepts clients (or the start failed). */
    waits[0] = host.ready;
    waits[1] = host.thread;
    for (;;) {
        DWORD w = WaitForMultipleObjects(2, waits, FALSE, 1000);
        if (w != WAIT_TIMEOUT)
            break;
        report_status(s, SERVICE_START_PENDING, 0, 5000);
    }
    if (host.exit_code == PH_EXIT_OK) {
        report_status(s, SERVICE_RUNNING, 0, 0);
        svc_log_event(log, PH_LOG_INFO, PH_MSG_STARTED, "service %s is serving %s", host.service_utf8,
                      host.cfg.pipe_name);
        waits[0] = host.stop;
        if (WaitForMultipleObjects(2, waits, FALSE, INFINITE) == WAIT_OBJECT_0)
            svc_log_msg(log, PH_LOG_INFO, "service %s: stop requested%s", host.service_utf8,
                        host.fast_stop ? " (system shutdown)" : "");
        else
            svc_log_msg(log, PH_LOG_ERROR, "service %s: the worker ended without a stop request", host.service_utf8);
        report_status(s, SERVICE_STOP_PENDING, 0, drain_hint);
    }
    /* STOP_PENDING with rising checkpoints while the core drains; STOPPED only after the join. */
    while (WaitForSingleObject(host.thread, 1000) == WAIT_TIMEOUT)
        report_status(s, SERVICE_STOP_PENDING, 0, drain_hint);
    code = host.exit_code;

    AcquireSRWLockExclusive(&s->lock);
    s->host = NULL;
    ReleaseSRWLockExclusive(&s->lock);
    if (code == PH_EXIT_OK)
        svc_log_event(log, PH_LOG_INFO, PH_MSG_STOPPED, "service %s stopped (exit code 0)", host.service_utf8);
    else
        svc_log_msg(log, PH_LOG_ERROR, "service %s stopped: could not start (exit code %d)", host.service_utf8, code);
    svc_host_close(&host);
    free(uname);
    return code;
}

static VOID WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    svc_state *s = &g_svc;
    const wchar_t *name = (argc >= 1 && argv != NULL && argv[0] != NULL && argv[0][0] != L'\0') ? argv[0] : L"pipehost";
    svc_log log;
    int code;

    svc_log_init(&log, PH_LOG_INFO);
    s->handle = RegisterServiceCtrlHandlerExW(name, control_handler, s);
    if (s->handle == NULL)
        return; /* without a status handle nothing can be reported; the SCM sees the process end */
    s->log = &log;
    report_status(s, SERVICE_START_PENDING, 0, 5000);
    code = run_service(s, name, &log);

    AcquireSRWLockExclusive(&s->lock);
    s->closed = 1;
    ReleaseSRWLockExclusive(&s->lock);
    s->log = NULL;
    svc_log_close(&log);
    /* Last: after STOPPED the process may be ended at any moment. */
    report_status(s, SERVICE_STOPPED, code, 0);
}

int svc_dispatch(const ph_service_app *app, DWORD *err)
{
    SERVICE_TABLE_ENTRYW table[2];
    wchar_t empty[1] = {L'\0'};

    /* For an own-process service the name in the table is ignored; ServiceMain gets the real one. */
    table[0].lpServiceName = empty;
    table[0].lpServiceProc = service_main;
    table[1].lpServiceName = NULL;
    table[1].lpServiceProc = NULL;
    g_svc.app = app;
    *err = 0;
    if (!StartServiceCtrlDispatcherW(table)) {
        *err = GetLastError();
        return -1;
    }
    return 0;
}
