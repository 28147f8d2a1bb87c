/* host.h — the worker thread that owns the core server, shared by service mode and console mode. */
#ifndef PH_SVC_HOST_H
#define PH_SVC_HOST_H

#include <windows.h>

#include <pipehost/service.h>

#include "cmdconf.h"
#include "cmdrun.h"
#include "config.h"
#include "svcsid.h"
#include "svclog.h"
#include "verbs.h"

/* The caller (ServiceMain or the console) fills the inputs, calls ph__svc_host_launch, waits for `ready` or the
 * thread's end, and later signals `stop` and joins `thread`. Controls only signal events; the worker does
 * the work. */
typedef struct svc_host {
    /* Inputs, set before ph__svc_host_launch and not changed by the caller afterwards. */
    svc_config cfg;               /* owned; the configuration in force */
    svc_log *log;
    const wchar_t *service;       /* where PARAMCHANGE re-reads the configuration; NULL in console mode */
    const char *service_utf8;     /* for STATUS; "" in console mode */
    const wchar_t *commands_from; /* whose Parameters\Commands to serve: the service, or `run --service NAME`'s;
                                   * NULL: no command verbs (console mode without --service) */
    const ph_service_app *app;

    /* Signals. */
    HANDLE stop;                  /* manual-reset: stop requested (also waited on by ServiceMain) */
    HANDLE reload;                /* auto-reset: PARAMCHANGE */
    HANDLE ready;                 /* manual-reset: the server started (exit_code 0) or failed to */
    HANDLE thread;
    volatile LONG fast_stop;      /* 1: system shutdown, drain briefly */

    /* Result: valid once `ready` is set or the thread has ended. PH_EXIT_… */
    int exit_code;

    /* Owned by the worker thread. */
    ph_server *server;
    ph_router *router;
    svc_verbs verbs;
    char default_sddl[SVC_DEFAULT_SDDL_MAX]; /* without Sddl: the default for this account (svcsid.h), or "" */
    svc_commands cmds;            /* Parameters\Commands of commands_from */
    svc_cmdrun *cmdrun;           /* their runner; NULL without command verbs */
} svc_host;

/* Creates the events; cfg is moved into the host (the caller must not free it). Returns 0 or a Win32 error. */
DWORD ph__svc_host_init(svc_host *h, svc_config *cfg, svc_log *log, const ph_service_app *app);
/* Starts the worker thread. Returns 0 or a Win32 error. */
DWORD ph__svc_host_launch(svc_host *h);
/* Asks the worker to stop (safe from any thread, any number of times). fast: system shutdown. */
void ph__svc_host_request_stop(svc_host *h, int fast);
/* Waits, once the server runs, until a stop is requested (returns 1) or the worker ends without one (returns
 * 0: a fault, logged as such). */
int ph__svc_host_wait_stop(svc_host *h);
/* The exit code once the worker has been joined: its own (a failed start), else 0 only for a requested stop;
 * a worker that ended by itself is a fault (PH_EXIT_WORKER_ENDED) so that the SCM's recovery actions fire. */
int ph__svc_host_exit_code(const svc_host *h, int stop_requested);
/* How long a stop may take before the host counts as hung: the drain timeout in force (shortened at system
 * shutdown) plus SVC_STOP_MARGIN_MS for closing and joining. */
#define SVC_STOP_MARGIN_MS 10000u
DWORD ph__svc_host_stop_budget_ms(const svc_host *h);
/* After the thread has been joined (or never launched): closes every handle and frees the configuration. */
void ph__svc_host_close(svc_host *h);

#endif /* PH_SVC_HOST_H */
