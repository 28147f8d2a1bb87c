/* host.c — the worker thread: builds the verb router, owns the core server, applies PARAMCHANGE, drains at stop. */
#include "host.h"

#include "appstate.h"
#include "cmdconf_win.h"
#include "config_win.h"
#include "eventlog.h"
#include "exitcodes.h"
#include "messages.h"

#include <stdio.h>
#include <string.h>

/* At system shutdown the SCM gives services little time: drain at most this long. */
#define SVC_SHUTDOWN_DRAIN_MS 2000u

DWORD ph__svc_host_init(svc_host *h, svc_config *cfg, svc_log *log, const ph_service_app *app)
{
    DWORD err = 0;

    memset(h, 0, sizeof(*h));
    h->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg)); /* moved */
    h->log = log;
    h->app = app;
    h->service_utf8 = "";
    h->exit_code = PH_EXIT_START_FAILED;
    h->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (h->stop == NULL)
        err = GetLastError();
    h->reload = err ? NULL : CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!err && h->reload == NULL)
        err = GetLastError();
    h->ready = err ? NULL : CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!err && h->ready == NULL)
        err = GetLastError();
    return err;
}

void ph__svc_host_request_stop(svc_host *h, int fast)
{
    if (fast)
        InterlockedExchange(&h->fast_stop, 1);
    SetEvent(h->stop);
}

void ph__svc_host_close(svc_host *h)
{
    if (h->thread != NULL)
        CloseHandle(h->thread);
    if (h->stop != NULL)
        CloseHandle(h->stop);
    if (h->reload != NULL)
        CloseHandle(h->reload);
    if (h->ready != NULL)
        CloseHandle(h->ready);
    h->thread = h->stop = h->reload = h->ready = NULL;
    ph__svc_config_free(&h->cfg);
}

static int exit_code_for(int rc)
{
    switch (rc) {
    case 0: return PH_EXIT_OK;
    case PH_EADDRINUSE: return PH_EXIT_PIPE_IN_USE;
    case PH_EBADSDDL: return PH_EXIT_SECURITY;
    case PH_EBADNAME:
    case PH_EINVAL: return PH_EXIT_CONFIG;
    default: return PH_EXIT_START_FAILED;
    }
}

/* Parameters\Verbs: each named verb gets its security descriptor (already checked by ph__svc_config_check_sddl).
 * A name that is no verb of this program is refused rather than ignored: it is most likely a typo that would
 * leave the intended verb open to everyone. */
static int restrict_verbs(svc_host *h)
{
    unsigned i;
    int rc;

    for (i = 0; i < h->cfg.verb_sddl_count; i++) {
        const svc_verb_sddl *v = &h->cfg.verb_sddls[i];
        rc = ph_router_restrict(h->router, v->verb, v->sddl);
        if (rc == PH_EINVAL)
            ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_CONFIG_ERROR,
                          "invalid per-verb security descriptor Verbs\\%s: there is no verb %s", v->verb, v->verb);
        else if (rc != 0)
            ph__svc_log_event(h->log, PH_LOG_ERROR, ph__svc_eventlog_exit_event(exit_code_for(rc)),
                          "invalid per-verb security descriptor Verbs\\%s: \"%.200s\" was refused: %s", v->verb,
                          v->sddl, ph_strerror(rc));
        if (rc != 0)
            return rc;
        ph__svc_log_msg(h->log, PH_LOG_INFO, "verb %s restricted to %s", v->verb, v->sddl);
    }
    return 0;
}

/* Parameters\Commands: each command verb, checked with the rest of the configuration and its program opened
 * (ph__svc_cmdrun_new refuses an unsafe one). Any error refuses the start: PH_EINVAL, the configuration's exit code. */
static int start_commands(svc_host *h)
{
    svc_cfg_errors errs;
    char why[800];
    unsigned i;
    int rc;

    if (h->commands_from == NULL)
        return 0; /* console mode without --service: no service key to read them from */
    memset(&errs, 0, sizeof(errs));
    ph__svc_commands_load(h->commands_from, &h->cmds, &errs);
    ph__svc_commands_check(&h->cmds, &h->cfg, &errs);
    if (errs.count > 0) {
        for (i = 0; i < errs.count && i < SVC_CFG_MAX_ERRORS; i++)
            ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_CONFIG_ERROR, "%s", errs.text[i]);
        return PH_EINVAL;
    }
    if (h->cmds.count == 0)
        return 0;
    rc = ph__svc_cmdrun_new(&h->cmds, h->log, &h->cmdrun, why, sizeof(why));
    if (rc != 0) {
        ph__svc_log_event(h->log, PH_LOG_ERROR, rc == PH_EINVAL ? PH_MSG_CONFIG_ERROR : PH_MSG_START_FAILED, "%s", why);
        return rc;
    }
    rc = ph__svc_cmdrun_register(h->cmdrun, h->router);
    if (rc != 0) {
        ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_CONFIG_ERROR, "command verbs could not be added: %s (a verb of the "
                      "host program has the same name?)", ph_strerror(rc));
        return PH_EINVAL;
    }
    for (i = 0; i < h->cmds.count; i++)
        ph__svc_log_msg(h->log, PH_LOG_INFO, "command verb %s runs %s", h->cmds.items[i].verb, h->cmds.items[i].program);
    h->verbs.cmdrun = h->cmdrun;
    return 0;
}

/* Builds the router and the server and starts it. On return 0 the pipe accepts clients. */
static int start_server(svc_host *h)
{
    ph_server_config sc;
    int rc;

    rc = ph_router_new(&h->router);
    if (rc == 0) {
        h->verbs.service_name = h->service_utf8;
        h->verbs.max_instances = h->cfg.max_instances;
        rc = ph__svc_verbs_register(h->router, &h->verbs);
    }
    if (rc == 0 && h->app->extend != NULL) {
        rc = h->app->extend(h->app->extend_ctx, h->router);
        if (rc != 0) {
            ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_START_FAILED, "the host program's verbs could not be added: %s",
                          ph_strerror(rc));
            return PH_ESYS;
        }
    }
    if (rc != 0) {
        ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_START_FAILED, "cannot build the verb table: %s", ph_strerror(rc));
        return rc;
    }
    rc = start_commands(h);
    if (rc != 0)
        return rc;
    rc = restrict_verbs(h);
    if (rc != 0)
        return rc;
    ph__svc_config_server(&h->cfg, &sc);
    /* Without Sddl the core's default names OWNER RIGHTS, which for a shared account (LocalService) is every
     * process of that account: the service's own SID takes its place (svcsid.h). */
    if (h->cfg.sddl == NULL) {
        char why[512];
        if (ph__svc_default_sddl_here(h->service, h->default_sddl, sizeof(h->default_sddl), why, sizeof(why)) != 0) {
            ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_SECURITY_REFUSED,
                          "refusing to serve %s with the default security descriptor: %s", h->cfg.pipe_name, why);
            return PH_EBADSDDL;
        }
        if (h->default_sddl[0] != '\0') {
            sc.sddl = h->default_sddl;
            ph__svc_log_msg(h->log, PH_LOG_INFO, "no Sddl: the pipe's descriptor is the default for the service's own SID, %s",
                        h->default_sddl);
        }
    }
    sc.handler = ph_router_handle;
    sc.handler_ctx = h->router;
    sc.conn_open = h->app->conn_open;
    sc.conn_close = h->app->conn_close;
    sc.conn_ctx = h->app->conn_ctx;
    sc.log = ph__svc_log_core;
    sc.log_ctx = h->log;
    sc.log_level = PH_LOG_DEBUG; /* svc_log filters, so PARAMCHANGE can change the level */
    rc = ph_server_new(&sc, &h->server);
    if (rc != 0) {
        ph__svc_log_event(h->log, PH_LOG_ERROR, ph__svc_eventlog_exit_event(exit_code_for(rc)),
                      "cannot configure the server for %s: %s",
                      h->cfg.pipe_name, ph_strerror(rc));
        return rc;
    }
    h->verbs.server = h->server;
    h->verbs.started_ms = GetTickCount64();
    rc = ph_server_start(h->server);
    if (rc != 0) {
        DWORD err = ph_server_syserror(h->server);
        const char *prefix = ph__svc_pipe_protected_prefix(h->cfg.pipe_name);
        char text[256];
        ph_syserror_text(err, text, sizeof(text));
        if (rc == PH_EBADSDDL)
            ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_SECURITY_REFUSED,
                          "invalid configuration value Sddl: the security descriptor \"%.200s\" was refused when "
                          "creating %s (Win32 error %lu: %s)",
                          sc.sddl ? sc.sddl : PH_DEFAULT_SDDL, h->cfg.pipe_name, (unsigned long)err, text);
        else if (rc != PH_EADDRINUSE) /* a name in use is logged by the core ("… is already in use"): said once */
            ph__svc_log_event(h->log, PH_LOG_ERROR, ph__svc_eventlog_exit_event(exit_code_for(rc)),
                          "cannot serve %s: %s (%s; Win32 error %lu: %s)",
                          h->cfg.pipe_name, ph_strerror(rc), ph_err_name(rc), (unsigned long)err, text);
        /* Under a protected prefix (Windows 10 1709+) access denied also means that this account may not create
         * pipes there; the core, which cannot tell, may have reported the name as in use. */
        if (err == ERROR_ACCESS_DENIED && prefix != NULL)
            ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_START_FAILED,
                          "%s is under ProtectedPrefix\\%s, where only %s may create pipes: if this service runs as "
                          "another account, run it as that one or choose another PipeName",
                          h->cfg.pipe_name, prefix,
                          strcmp(prefix, "Administrators") == 0 ? "Administrators and SYSTEM" : prefix);
    }
    return rc;
}

struct diff_ctx {
    svc_host *h;
    int live, restart;
    char changes[1024]; /* "Name old -> new; …" for STATUS's reload_result and the program's on_reload */
};

static void add_change(struct diff_ctx *d, const char *name, const char *old_text, const char *new_text,
                       const char *note)
{
    size_t used = strlen(d->changes);
    if (used + 8 < sizeof(d->changes))
        snprintf(d->changes + used, sizeof(d->changes) - used, "%s%s %.60s -> %.60s%s", used ? "; " : "", name,
                 old_text, new_text, note);
}

static void on_diff(void *ctx, const svc_value_def *def, const char *old_text, const char *new_text)
{
    struct diff_ctx *d = ctx;

    if (def->live) {
        d->live++;
        ph__svc_log_msg(d->h->log, PH_LOG_INFO, "PARAMCHANGE: %s %s -> %s (applies to new requests)", def->name, old_text,
                    new_text);
        add_change(d, def->name, old_text, new_text, "");
    } else {
        add_change(d, def->name, old_text, new_text, " (at the next restart)");
        d->restart++;
        ph__svc_log_msg(d->h->log, PH_LOG_WARN,
                    "PARAMCHANGE: %s changed from %s to %s: this takes effect at the next restart; still using %s",
                    def->name, old_text, new_text, old_text);
    }
}

static int same_verb_sddls(const svc_config *a, const svc_config *b)
{
    unsigned i;

    if (a->verb_sddl_count != b->verb_sddl_count)
        return 0;
    for (i = 0; i < a->verb_sddl_count; i++)
        if (strcmp(a->verb_sddls[i].verb, b->verb_sddls[i].verb) != 0 ||
            strcmp(a->verb_sddls[i].sddl, b->verb_sddls[i].sddl) != 0)
            return 0;
    return 1;
}

/* Re-reads the configuration and applies what can change while running; clients stay connected. A new
 * configuration that does not validate is refused as a whole and the running one kept. */
static void reload(svc_host *h)
{
    svc_config fresh;
    svc_cfg_errors errs;
    ph_limits lim;
    struct diff_ctx d = {h, 0, 0, ""};
    char result[400];
    const svc_value_def *def;
    int found = 0, rc;
    unsigned i;

    if (h->service == NULL)
        return;
    memset(&errs, 0, sizeof(errs));
    ph__svc_config_init(&fresh, h->app->default_pipe);
    ph__svc_config_load_registry(h->service, &fresh, &errs, &found);
    ph__svc_config_check(&fresh, &errs);
    ph__svc_config_check_sddl(&fresh, &errs);
    if (errs.count > 0) {
        for (i = 0; i < errs.count && i < SVC_CFG_MAX_ERRORS; i++)
            ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_RELOAD_REFUSED, "PARAMCHANGE refused, configuration unchanged: %s",
                          errs.text[i]);
        snprintf(result, sizeof(result), "refused: %s%s", errs.text[0], errs.count > 1 ? " (and more, see the log)" : "");
        ph__svc_verbs_reloaded(&h->verbs, result);
        ph__svc_config_free(&fresh);
        return;
    }
    /* Command verbs: their configuration must still be valid (else the reload is refused), a change applies at
     * the next restart, and every program is checked again (one no longer safe is disabled). */
    {
        svc_commands cmds;
        svc_cfg_errors cerrs;
        char why[700];

        memset(&cmds, 0, sizeof(cmds));
        memset(&cerrs, 0, sizeof(cerrs));
        ph__svc_commands_load(h->service, &cmds, &cerrs);
        ph__svc_commands_check(&cmds, &fresh, &cerrs);
        if (cerrs.count == 0 && !ph__svc_commands_equal(&h->cmds, &cmds)) {
            d.restart++;
            ph__svc_log_msg(h->log, PH_LOG_WARN, "PARAMCHANGE: Parameters\\Commands changed: this takes effect at the "
                        "next restart; the command verbs keep their current configuration");
        }
        ph__svc_commands_free(&cmds);
        if (cerrs.count == 0 && ph__svc_cmdrun_recheck(h->cmdrun, why, sizeof(why)) > 0)
            snprintf(cerrs.text[cerrs.count++], sizeof(cerrs.text[0]), "%s", why);
        if (cerrs.count > 0) {
            for (i = 0; i < cerrs.count && i < SVC_CFG_MAX_ERRORS; i++)
                ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_RELOAD_REFUSED,
                              "PARAMCHANGE refused, configuration unchanged: %s", cerrs.text[i]);
            snprintf(result, sizeof(result), "refused: %s%s", cerrs.text[0],
                     cerrs.count > 1 ? " (and more, see the log)" : "");
            ph__svc_verbs_reloaded(&h->verbs, result);
            ph__svc_config_free(&fresh);
            return;
        }
    }
    ph__svc_config_diff(&h->cfg, &fresh, on_diff, &d);
    if (!same_verb_sddls(&h->cfg, &fresh)) {
        d.restart++;
        ph__svc_log_msg(h->log, PH_LOG_WARN, "PARAMCHANGE: Parameters\\Verbs changed: this takes effect at the next "
                    "restart; the verbs keep their current security descriptors");
    }
    ph__svc_config_limits(&fresh, &lim);
    rc = ph_server_set_limits(h->server, &lim);
    if (rc != 0) {
        ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_RELOAD_REFUSED, "PARAMCHANGE: the new limits were refused by the "
                      "server: %s", ph_strerror(rc));
        snprintf(result, sizeof(result), "refused: the server refused the new limits (%s)", ph_strerror(rc));
        ph__svc_verbs_reloaded(&h->verbs, result);
        ph__svc_config_free(&fresh);
        return;
    }
    h->cfg.max_message_bytes = fresh.max_message_bytes;
    h->cfg.idle_timeout_ms = fresh.idle_timeout_ms;
    h->cfg.write_timeout_ms = fresh.write_timeout_ms;
    h->cfg.drain_timeout_ms = fresh.drain_timeout_ms;
    h->cfg.first_request_timeout_ms = fresh.first_request_timeout_ms;
    h->cfg.max_connections_per_user = fresh.max_connections_per_user;
    h->cfg.log_level = fresh.log_level;
    h->cfg.log_max_bytes = fresh.log_max_bytes;
    /* The program's own settings that a reload applies (restart 0); the others keep their running value. */
    for (i = SVC_V_COUNT; i < ph__svc_value_count(); i++) {
        int k = ph__svc_app_index((svc_value_id)i);
        char *swap;
        def = ph__svc_value_by_id((svc_value_id)i);
        if (!def->live)
            continue;
        h->cfg.app_dword[k] = fresh.app_dword[k];
        swap = h->cfg.app_str[k];
        h->cfg.app_str[k] = fresh.app_str[k];
        fresh.app_str[k] = swap; /* freed with fresh */
    }
    if (ph__svc_appstate_publish(&h->cfg) != 0)
        ph__svc_log_msg(h->log, PH_LOG_ERROR, "PARAMCHANGE: out of memory: the program's handlers still see their "
                    "earlier settings");
    ph__svc_log_set_level(h->log, fresh.log_level);
    ph__svc_filelog_set_max(h->log->file, fresh.log_max_bytes);
    ph__svc_config_free(&fresh);
    ph__svc_log_msg(h->log, PH_LOG_INFO, "PARAMCHANGE: configuration reloaded (%d value(s) applied, %d need a restart)",
                d.live, d.restart);
    snprintf(result, sizeof(result), "ok: %d value(s) applied, %d need a restart%s%s", d.live, d.restart,
             d.changes[0] ? ": " : "", d.changes);
    ph__svc_verbs_reloaded(&h->verbs, result);
    if (h->app->on_reload != NULL)
        h->app->on_reload(h->app->hook_ctx, d.changes);
}

static void stop_server(svc_host *h)
{
    ph_counters c;

    if (h->fast_stop) {
        ph_limits lim;
        ph_limits_init(&lim);
        if (ph_server_get_limits(h->server, &lim) == 0 && lim.drain_timeout_ms > SVC_SHUTDOWN_DRAIN_MS) {
            lim.drain_timeout_ms = SVC_SHUTDOWN_DRAIN_MS;
            ph_server_set_limits(h->server, &lim);
        }
    }
    /* Running programs first: their held requests are answered "ERR stopping" instead of holding the drain. */
    ph__svc_cmdrun_shutdown(h->cmdrun, SVC_STOP_MARGIN_MS / 2);
    ph_server_stop(h->server);
    ph_counters_init(&c);
    ph_server_counters(h->server, &c);
    ph__svc_log_msg(h->log, PH_LOG_INFO,
                "served %llu connection(s), %llu request(s), %llu error(s), %llu bytes in, %llu bytes out",
                (unsigned long long)c.connections_total, (unsigned long long)c.requests_total,
                (unsigned long long)c.errors_total, (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out);
}

static DWORD WINAPI worker_main(LPVOID arg)
{
    svc_host *h = arg;
    HANDLE waits[2];
    int rc;

    /* The program's handlers and hooks see this service's name, log and settings from before the first verb. */
    ph__svc_appstate_attach(h->log, h->service_utf8);
    rc = ph__svc_appstate_publish(&h->cfg) == 0 ? start_server(h) : PH_ENOMEM;
    h->exit_code = exit_code_for(rc);
    SetEvent(h->ready);
    if (rc == 0 && h->app->on_start != NULL)
        h->app->on_start(h->app->hook_ctx);
    if (rc == 0) {
        waits[0] = h->stop; /* first, so a stop wins over a pending reload */
        waits[1] = h->reload;
        for (;;) {
            DWORD w = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
            if (w == WAIT_OBJECT_0 + 1) {
                reload(h);
                continue;
            }
            if (w != WAIT_OBJECT_0)
                ph__svc_log_win32(h->log, PH_LOG_ERROR, GetLastError(), "WaitForMultipleObjects", "worker: stopping");
            break;
        }
        if (h->app->on_stop != NULL)
            h->app->on_stop(h->app->hook_ctx);
        stop_server(h);
    }
    ph_server_free(h->server);
    ph_router_free(h->router);
    ph__svc_cmdrun_free(h->cmdrun);
    ph__svc_commands_free(&h->cmds);
    h->server = NULL;
    h->router = NULL;
    ph__svc_appstate_detach();
    h->cmdrun = NULL;
    h->verbs.cmdrun = NULL;
    return 0;
}

int ph__svc_host_wait_stop(svc_host *h)
{
    HANDLE waits[2];

    waits[0] = h->stop; /* first: when both are set, the stop was requested */
    waits[1] = h->thread;
    if (WaitForMultipleObjects(2, waits, FALSE, INFINITE) == WAIT_OBJECT_0)
        return 1;
    ph__svc_log_event(h->log, PH_LOG_ERROR, PH_MSG_ABNORMAL_STOP,
                  "service %s: the worker ended without a stop request (exit code %d)", h->service_utf8,
                  PH_EXIT_WORKER_ENDED);
    return 0;
}

int ph__svc_host_exit_code(const svc_host *h, int stop_requested)
{
    if (h->exit_code != PH_EXIT_OK)
        return h->exit_code;
    return stop_requested ? PH_EXIT_OK : PH_EXIT_WORKER_ENDED;
}

DWORD ph__svc_host_stop_budget_ms(const svc_host *h)
{
    DWORD drain = h->cfg.drain_timeout_ms;

    if (h->fast_stop && drain > SVC_SHUTDOWN_DRAIN_MS)
        drain = SVC_SHUTDOWN_DRAIN_MS;
    return drain + SVC_STOP_MARGIN_MS;
}

DWORD ph__svc_host_launch(svc_host *h)
{
    h->thread = CreateThread(NULL, 0, worker_main, h, 0, NULL);
    return h->thread == NULL ? GetLastError() : 0;
}
