/* console.c — `pipehost run`: the same worker in the foreground, stopped by Ctrl+C/Break/close or a named event. */
#include "console.h"

#include "appstate.h"
#include "config_win.h"
#include "exitcodes.h"
#include "host.h"
#include "options.h"
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SetConsoleCtrlHandler takes no context, so the handler finds the host here. The lock keeps it from
 * signalling a host that is being torn down. */
static struct {
    SRWLOCK lock;
    svc_host *host;
    HANDLE done; /* set once the worker has been joined, so a console-close handler can wait for it */
} g_console = {SRWLOCK_INIT, NULL, NULL};

static BOOL WINAPI console_ctrl(DWORD type)
{
    HANDLE done = NULL;

    AcquireSRWLockShared(&g_console.lock);
    if (g_console.host != NULL) {
        ph__svc_host_request_stop(g_console.host, type == CTRL_SHUTDOWN_EVENT);
        done = g_console.done;
    }
    ReleaseSRWLockShared(&g_console.lock);
    /* For close, logoff and shutdown the process ends when this handler returns (or after about 5 s):
     * hold on while the server drains, within that limit. */
    if (done != NULL && (type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT || type == CTRL_SHUTDOWN_EVENT))
        WaitForSingleObject(done, 4500);
    return TRUE;
}

/* Whether the SCM knows the service (it may have no Parameters key: then every value has its default). An
 * SCM that cannot be asked is not taken as "not installed". */
static int service_installed(const wchar_t *name)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc;
    int yes = 1;

    if (scm == NULL)
        return 1;
    svc = OpenServiceW(scm, name, SERVICE_QUERY_STATUS);
    if (svc == NULL)
        yes = GetLastError() != ERROR_SERVICE_DOES_NOT_EXIST;
    else
        CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return yes;
}

static int print_errors(const svc_cfg_errors *errs, const char *program)
{
    unsigned i;
    for (i = 0; i < errs->count && i < SVC_CFG_MAX_ERRORS; i++)
        fprintf(stderr, "%s: %s\n", program, errs->text[i]);
    if (errs->count > SVC_CFG_MAX_ERRORS)
        fprintf(stderr, "%s: ... and %u more error(s)\n", program, errs->count - SVC_CFG_MAX_ERRORS);
    return ph__svc_cfg_errors_exit_code(errs);
}

int ph__svc_console_main(int argc, char **argv, const ph_service_app *app)
{
    svc_run_options opts;
    svc_cfg_errors errs;
    svc_config cfg;
    svc_log log;
    svc_host host;
    wchar_t *wservice = NULL, *wevent = NULL;
    HANDLE user_stop = NULL, waits[3];
    DWORD err = 0, n;
    int found = 0, code, worker_ended = 0;

    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&cfg, app->default_pipe);
    ph__svc_log_init(&log, PH_LOG_INFO);
    log.console = 1;
    log.program = ph__svc_message_prefix();

    /* Pass 1 finds --service; its registry configuration is read next; pass 2 lets the options override. */
    ph__svc_parse_run_options(argc, argv, 0, &cfg, &opts, &errs);
    if (opts.help) {
        ph__svc_config_free(&cfg);
        return -1; /* the caller prints the help */
    }
    if (opts.service != NULL) {
        wservice = ph__svc_to_wide(opts.service, &err);
        if (wservice == NULL)
            ph__svc_cfg_error_usage(&errs, "--service: not a valid name");
        else if (!service_installed(wservice))
            /* Running with the defaults instead would serve a configuration nobody asked for. */
            ph__svc_cfg_error_usage(&errs, "--service %s: no such service is installed (%s install creates it)",
                                opts.service, ph__svc_program());
        else
            ph__svc_config_load_registry(wservice, &cfg, &errs, &found);
    }
    ph__svc_parse_run_options(argc, argv, 1, &cfg, &opts, &errs);
    ph__svc_config_check(&cfg, &errs);
    ph__svc_config_check_sddl(&cfg, &errs);
    if (errs.count > 0) {
        code = print_errors(&errs, ph__svc_message_prefix());
        ph__svc_config_free(&cfg);
        free(wservice);
        return code;
    }
    ph__svc_log_set_level(&log, cfg.log_level);
    if (cfg.log_file != NULL) {
        wchar_t *path = ph__svc_to_wide(cfg.log_file, &err);
        char why[700];
        why[0] = '\0';
        if (path != NULL)
            err = ph__svc_filelog_open(path, cfg.log_max_bytes, SVC_LOG_DIR_SDDL, &log.file, why, sizeof(why));
        free(path);
        if (err != 0 && why[0] != '\0') {
            ph__svc_log_msg(&log, PH_LOG_ERROR, "refusing to log to %s (--log-file): %s", cfg.log_file, why);
            ph__svc_config_free(&cfg);
            free(wservice);
            return PH_EXIT_LOG;
        }
        if (err != 0) {
            ph__svc_log_win32(&log, PH_LOG_ERROR, err, "opening the log file", "cannot log to %s (--log-file)", cfg.log_file);
            ph__svc_config_free(&cfg);
            free(wservice);
            return PH_EXIT_LOG;
        }
    }
    if (opts.stop_event != NULL) {
        wevent = ph__svc_to_wide(opts.stop_event, &err);
        user_stop = wevent ? CreateEventW(NULL, TRUE, FALSE, wevent) : NULL;
        if (user_stop == NULL) {
            err = wevent ? GetLastError() : err;
            ph__svc_log_win32(&log, PH_LOG_ERROR, err, "CreateEventW", "--stop-event %s", opts.stop_event);
            free(wevent);
            ph__svc_config_free(&cfg);
            ph__svc_log_close(&log);
            free(wservice);
            return PH_EXIT_USAGE;
        }
        free(wevent);
    }

    err = ph__svc_host_init(&host, &cfg, &log, app);
    host.commands_from = wservice; /* `run --service NAME` serves that service's command verbs too */
    g_console.done = err == 0 ? CreateEventW(NULL, TRUE, FALSE, NULL) : NULL;
    if (err == 0 && g_console.done == NULL)
        err = GetLastError();
    if (err == 0) {
        AcquireSRWLockExclusive(&g_console.lock);
        g_console.host = &host;
        ReleaseSRWLockExclusive(&g_console.lock);
        if (!SetConsoleCtrlHandler(console_ctrl, TRUE))
            ph__svc_log_win32(&log, PH_LOG_WARN, GetLastError(), "SetConsoleCtrlHandler", "Ctrl+C will not stop gracefully");
        err = ph__svc_host_launch(&host);
    }
    if (err != 0) {
        ph__svc_log_win32(&log, PH_LOG_ERROR, err, "starting the worker", "cannot run");
        code = PH_EXIT_START_FAILED;
        goto out;
    }

    waits[0] = host.ready;
    waits[1] = host.thread;
    WaitForMultipleObjects(2, waits, FALSE, INFINITE);
    if (host.exit_code == PH_EXIT_OK) {
        char summary[160];
        ph__svc_config_summary(&host.cfg, summary, sizeof(summary));
        ph__svc_log_msg(&log, PH_LOG_INFO, "serving %s in the foreground (%s); press Ctrl+C to stop", host.cfg.pipe_name,
                        summary);
        waits[0] = host.stop;
        n = 2;
        if (user_stop != NULL)
            waits[n++] = user_stop;
        if (WaitForMultipleObjects(n, waits, FALSE, INFINITE) != WAIT_OBJECT_0 + 1)
            ph__svc_host_request_stop(&host, 0);
        else
            worker_ended = 1;
        ph__svc_log_msg(&log, PH_LOG_INFO, "stopping");
    }
    /* As in the service: a worker stuck in a handler past the budget ends the process with its own code
     * (it cannot return while the stuck thread uses the host on this stack). */
    if (WaitForSingleObject(host.thread, host.exit_code == PH_EXIT_OK ? ph__svc_host_stop_budget_ms(&host) : INFINITE) ==
        WAIT_TIMEOUT) {
        ph__svc_log_msg(&log, PH_LOG_ERROR, "the stop did not finish within %lu ms (the drain timeout + %u ms): a "
                    "request handler is not returning; ending the process (exit code %d)",
                    (unsigned long)ph__svc_host_stop_budget_ms(&host), SVC_STOP_MARGIN_MS, PH_EXIT_STOP_HUNG);
        TerminateProcess(GetCurrentProcess(), PH_EXIT_STOP_HUNG);
    }
    code = ph__svc_host_exit_code(&host, !worker_ended);
    if (code == PH_EXIT_WORKER_ENDED)
        ph__svc_log_msg(&log, PH_LOG_ERROR, "the worker ended without a stop request (exit code %d)", code);
    if (code == PH_EXIT_OK)
        ph__svc_log_msg(&log, PH_LOG_INFO, "stopped");

out:
    AcquireSRWLockExclusive(&g_console.lock);
    g_console.host = NULL;
    ReleaseSRWLockExclusive(&g_console.lock);
    if (g_console.done != NULL)
        SetEvent(g_console.done);
    SetConsoleCtrlHandler(console_ctrl, FALSE);
    ph__svc_host_close(&host);
    free(wservice);
    if (user_stop != NULL)
        CloseHandle(user_stop);
    ph__svc_log_close(&log);
    /* g_console.done stays open: a close handler may still be waiting on it; the process ends next. */
    return code;
}
