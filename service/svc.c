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
#include <wchar.h>

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
            ph__svc_log_win32(s->log, PH_LOG_ERROR, err, "SetServiceStatus", "reporting state %lu", (unsigned long)state);
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
            ph__svc_host_request_stop(s->host, control == SERVICE_CONTROL_SHUTDOWN);
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

/* The SCM waits this long at preshutdown before it moves on. Setting it is the installer's job (`pipehost
 * install` writes PreshutdownTimeoutMs into the SCM): changing one's own SCM configuration at every start
 * needs SERVICE_CHANGE_CONFIG, which LocalService and virtual accounts do not have. Here it is only read,
 * and a value that would cut the drain short, or differs from PreshutdownTimeoutMs, is reported. */
static void check_preshutdown_timeout(const wchar_t *name, const svc_config *cfg, svc_log *log)
{
    union {
        SERVICE_PRESHUTDOWN_INFO info;
        BYTE raw[64];
    } pre;
    SC_HANDLE scm, svc = NULL;
    DWORD err = 0, need = 0, have;

    memset(&pre, 0, sizeof(pre));
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (scm == NULL)
        err = GetLastError();
    if (scm != NULL) {
        svc = OpenServiceW(scm, name, SERVICE_QUERY_CONFIG);
        if (svc == NULL)
            err = GetLastError();
    }
    if (svc != NULL && !QueryServiceConfig2W(svc, SERVICE_CONFIG_PRESHUTDOWN_INFO, pre.raw, sizeof(pre.raw), &need))
        err = GetLastError();
    if (err != 0) {
        ph__svc_log_win32(log, PH_LOG_WARN, err, "reading the preshutdown timeout", "cannot check PreshutdownTimeoutMs");
        goto cleanup;
    }
    have = pre.info.dwPreshutdownTimeout;
    if (have < (uint64_t)cfg->drain_timeout_ms + 1000)
        ph__svc_log_msg(log, PH_LOG_WARN, "the SCM's preshutdown timeout for this service is %lu ms, less than "
                    "DrainTimeoutMs (%lu ms) + 1000: at system shutdown requests may be cut off; run `%s "
                    "install` again to apply PreshutdownTimeoutMs", (unsigned long)have,
                    (unsigned long)cfg->drain_timeout_ms, ph__svc_program());
    else if ((cfg->set_mask & (1u << SVC_V_PRESHUTDOWN)) && have != cfg->preshutdown_timeout_ms)
        ph__svc_log_msg(log, PH_LOG_WARN, "PreshutdownTimeoutMs is %lu ms but the SCM has %lu ms for this service: the "
                    "service does not change its own SCM configuration; run `%s install` again to apply it",
                    (unsigned long)cfg->preshutdown_timeout_ms, (unsigned long)have, ph__svc_program());
    else
        ph__svc_log_msg(log, PH_LOG_DEBUG, "preshutdown timeout %lu ms", (unsigned long)have);
cleanup:
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
}

/* Opens the log file named by the configuration, or the default one, with the same rules for both: the
 * folder the file is in, and every folder the service creates on the way, must be safe for a privileged
 * service (ph__svc_filelog_open), or the service refuses to start. Returns 0 or PH_EXIT_LOG. */
static int open_log_file(const wchar_t *name, const svc_config *cfg, svc_log *log)
{
    wchar_t *path = NULL;
    DWORD err = 0;
    char *upath, why[700];

    why[0] = '\0';
    if (cfg->log_file != NULL)
        path = ph__svc_to_wide(cfg->log_file, &err);
    else
        err = ph__svc_default_log_path(name, &path);
    if (path != NULL)
        err = ph__svc_filelog_open(path, cfg->log_max_bytes, SVC_LOG_DIR_SDDL, &log->file, why, sizeof(why));
    upath = path ? ph__svc_to_utf8(path, NULL) : NULL;
    if (err != 0 && why[0] != '\0')
        ph__svc_log_event(log, PH_LOG_ERROR, PH_MSG_LOG_REFUSED,
                      "refusing to log to %s (%s): it is not safe for a privileged service: %s. Use a folder owned "
                      "by SYSTEM or Administrators that only they (and the service's own account) may write, or "
                      "a folder that does not exist yet (the service creates it with those permissions)",
                      upath ? upath : "?", cfg->log_file ? "LogFile" : "the default log file", why);
    else if (err != 0)
        ph__svc_log_event_win32(log, PH_LOG_ERROR, PH_MSG_LOG_REFUSED, err, "opening the log file",
                            "cannot log to %s (LogFile)", upath ? upath : "(the default log path)");
    free(upath);
    free(path);
    return err == 0 ? 0 : PH_EXIT_LOG;
}

/* Everything between START_PENDING and STOPPED. Returns the exit code to report with STOPPED. All reporting
 * happens on this thread. */
static int run_service(svc_state *s, const wchar_t *name, svc_log *log)
{
    svc_config cfg;
    svc_cfg_errors errs;
    svc_host host;
    char *uname;
    DWORD err = 0, events_err = 0, budget = 0;
    ULONGLONG deadline = 0;
    int found = 0, code, log_code, requested = 0, registered = 0;
    unsigned i;
    HANDLE waits[2];

    uname = ph__svc_to_utf8(name, NULL);
    /* Only opened: the source's registration is install's (a copy started elsewhere must not move it). */
    log->events = ph__svc_eventlog_open(name, &registered, &events_err);

    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, s->app->default_pipe);
    ph__svc_config_load_registry(name, &cfg, &errs, &found);
    ph__svc_config_check(&cfg, &errs);
    ph__svc_config_check_sddl(&cfg, &errs);
    ph__svc_log_set_level(log, cfg.log_level);
    /* Even with other values in error, a valid LogFile is used, so the errors land where the operator looks. */
    log_code = open_log_file(name, &cfg, log);
    report_status(s, SERVICE_START_PENDING, 0, 5000);
    if (log->events == NULL)
        ph__svc_log_win32(log, PH_LOG_WARN, events_err, "RegisterEventSourceW", "no Event Log entries will be written");
    else if (!registered)
        ph__svc_log_msg(log, PH_LOG_WARN, "the Event Log source %s is not registered (`%s install` registers it): "
                    "its entries are recorded without their texts", uname ? uname : "?", ph__svc_program());

    if (errs.count > 0) {
        /* Every error under the id of the exit code they cause (configuration, or descriptor refused). */
        code = ph__svc_cfg_errors_exit_code(&errs);
        for (i = 0; i < errs.count && i < SVC_CFG_MAX_ERRORS; i++)
            ph__svc_log_event(log, PH_LOG_ERROR, ph__svc_eventlog_exit_event(code), "%s", errs.text[i]);
        if (errs.count > SVC_CFG_MAX_ERRORS)
            ph__svc_log_msg(log, PH_LOG_ERROR, "... and %u more configuration error(s)", errs.count - SVC_CFG_MAX_ERRORS);
        ph__svc_log_event(log, PH_LOG_ERROR, ph__svc_eventlog_exit_event(code), "service %s refuses to start: configuration "
                      "invalid (exit code %d)", uname ? uname : "?", code);
        ph__svc_config_free(&cfg);
        free(uname);
        return code;
    }
    if (log_code != 0) {
        ph__svc_log_event(log, PH_LOG_ERROR, ph__svc_eventlog_exit_event(log_code), "service %s refuses to start: no log "
                      "file (exit code %d)", uname ? uname : "?", log_code);
        ph__svc_config_free(&cfg);
        free(uname);
        return log_code;
    }
    ph__svc_log_msg(log, PH_LOG_INFO,
                "service %s starting (pipehost %s, pid %lu): PipeName %s, MaxInstances %lu, PendingInstances %lu, "
                "MaxMessageBytes %lu, IdleTimeoutMs %lu, WriteTimeoutMs %lu, DrainTimeoutMs %lu, Framing %s, Sddl %s",
                uname ? uname : "?", PH_VERSION_STRING, (unsigned long)GetCurrentProcessId(), cfg.pipe_name,
                (unsigned long)cfg.max_instances, (unsigned long)cfg.pending_instances,
                (unsigned long)cfg.max_message_bytes, (unsigned long)cfg.idle_timeout_ms,
                (unsigned long)cfg.write_timeout_ms, (unsigned long)cfg.drain_timeout_ms, ph__svc_framing_name(cfg.framing),
                cfg.sddl ? cfg.sddl : "(default)");
    check_preshutdown_timeout(name, &cfg, log);

    err = ph__svc_host_init(&host, &cfg, log, s->app);
    host.service = name;
    host.service_utf8 = uname ? uname : "";
    host.commands_from = name;
    if (err == 0)
        err = ph__svc_host_launch(&host);
    if (err != 0) {
        ph__svc_log_event_win32(log, PH_LOG_ERROR, PH_MSG_START_FAILED, err, "creating the worker",
                            "service cannot start (exit code %d)", PH_EXIT_START_FAILED);
        ph__svc_host_close(&host);
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
        char summary[160];
        ph__svc_config_summary(&host.cfg, summary, sizeof(summary));
        ph__svc_log_event(log, PH_LOG_INFO, PH_MSG_STARTED, "service %s is serving %s (%s)", host.service_utf8,
                          host.cfg.pipe_name, summary);
        requested = ph__svc_host_wait_stop(&host);
        if (requested)
            ph__svc_log_msg(log, PH_LOG_INFO, "service %s: stop requested%s", host.service_utf8,
                        host.fast_stop ? " (system shutdown)" : "");
        budget = ph__svc_host_stop_budget_ms(&host);
        deadline = GetTickCount64() + budget;
        report_status(s, SERVICE_STOP_PENDING, 0, budget);
    }
    /* STOP_PENDING with rising checkpoints while the core drains; STOPPED only after the join. A worker
     * still running past the budget is stuck in a handler: raising checkpoints for ever would defeat the
     * SCM's hang detection, so the process ends itself, STOPPED reported with its own exit code. It cannot
     * return: the stuck thread still uses the host on this stack. */
    while (WaitForSingleObject(host.thread, 1000) == WAIT_TIMEOUT) {
        if (deadline != 0 && GetTickCount64() >= deadline) {
            ph__svc_log_event(log, PH_LOG_ERROR, PH_MSG_ABNORMAL_STOP,
                          "service %s: the stop did not finish within %lu ms (the drain timeout + %u ms): a request "
                          "handler is not returning; ending the process (exit code %d)", host.service_utf8,
                          (unsigned long)budget, SVC_STOP_MARGIN_MS, PH_EXIT_STOP_HUNG);
            report_status(s, SERVICE_STOPPED, PH_EXIT_STOP_HUNG, 0);
            TerminateProcess(GetCurrentProcess(), PH_EXIT_STOP_HUNG);
        }
        report_status(s, SERVICE_STOP_PENDING, 0, budget);
    }
    /* A failed start keeps its code (requested does not matter then). */
    code = ph__svc_host_exit_code(&host, requested);

    AcquireSRWLockExclusive(&s->lock);
    s->host = NULL;
    ReleaseSRWLockExclusive(&s->lock);
    if (code == PH_EXIT_OK)
        ph__svc_log_event(log, PH_LOG_INFO, PH_MSG_STOPPED, "service %s stopped (exit code 0)", host.service_utf8);
    else if (code == PH_EXIT_WORKER_ENDED) /* the worker's end was reported as event 8 already */
        ph__svc_log_msg(log, PH_LOG_ERROR, "service %s stopped after a fault (exit code %d)", host.service_utf8, code);
    else
        ph__svc_log_event(log, PH_LOG_ERROR, ph__svc_eventlog_exit_event(code), "service %s stopped: could not start (exit "
                      "code %d)", host.service_utf8, code);
    ph__svc_host_close(&host);
    free(uname);
    return code;
}

static VOID WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    svc_state *s = &g_svc;
    const wchar_t *name = (argc >= 1 && argv != NULL && argv[0] != NULL && argv[0][0] != L'\0') ? argv[0] : L"pipehost";
    svc_log log;
    int code;

    ph__svc_log_init(&log, PH_LOG_INFO);
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
    ph__svc_log_close(&log);
    /* Last: after STOPPED the process may be ended at any moment. */
    report_status(s, SERVICE_STOPPED, code, 0);
}

int ph__svc_dispatch(const ph_service_app *app, DWORD *err)
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
