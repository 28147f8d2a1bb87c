/* service.h — build your own Windows service on pipehost: the SCM host, console mode and client, with your verbs. */
#ifndef PIPEHOST_SERVICE_H
#define PIPEHOST_SERVICE_H

#include <pipehost/pipehost.h>

#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called once per start, on the worker thread, before the pipe is created: add your verbs to router with
 * ph_router_add (the built-in PING, HEALTH, ECHO, STATUS and WHOAMI are already there; adding one of those
 * names replaces it, and a replaced STATUS keeps its restriction). Return 0, or a PH_E… code to refuse to start (the service then stops with exit code 4). */
typedef int (*ph_service_extend_fn)(void *ctx, ph_router *router);

typedef struct ph_service_app {
    const char *program;          /* name shown in usage and messages, e.g. "pipehost" */
    const char *default_pipe;     /* pipe served when PipeName is not configured, e.g. "pipehost" */
    ph_service_extend_fn extend;  /* optional */
    void *extend_ctx;
} ph_service_app;

/* The whole program: call it from wmain. With no arguments it connects to the Service Control Manager
 * (or, started from a console, explains how to run it); "run" serves in the foreground; "ping", "status",
 * "whoami" and "send" are the client; "help" lists every option and configuration value. Returns the
 * process exit code (see service/exitcodes.h and the README). */
int ph_service_main(int argc, wchar_t **argv, const ph_service_app *app);

/* Who may call STATUS by default (AccessCheck, ph_router_restrict): SYSTEM and Administrators (an elevated
 * token; a non-elevated administrator's has Administrators for deny only). STATUS shows the version, the
 * pid, everyone's traffic and changed settings; HEALTH is the public answer. A service overrides it with
 * Parameters\Verbs\STATUS, a program of its own with ph_router_restrict after adding the verbs. */
#define PH_SERVICE_STATUS_SDDL "O:SYG:SYD:(A;;GA;;;SY)(A;;GA;;;BA)"

/* The service host's built-in verbs for a server of your own on the core alone (a ph_router as the
 * handler of a ph_server you create): adds PING, HEALTH, ECHO, STATUS and WHOAMI to router, answering as
 * they do in a service, STATUS restricted to PH_SERVICE_STATUS_SDDL. STATUS reads *server at each request,
 * so the call can come before ph_server_new fills it; until then STATUS answers "ERR internal"; its
 * uptime_ms counts from the process start and its service key is empty. *server must stay valid while the
 * router is used. Returns 0, PH_EINVAL, PH_ENOMEM or PH_EBADSDDL.
 *
 *     ph_router_new(&router);
 *     ph_service_add_builtin_verbs(router, &server);   then your own ph_router_add calls
 *     cfg.handler = ph_router_handle; cfg.handler_ctx = router;
 *     ph_server_new(&cfg, &server); ph_server_start(server);
 */
int ph_service_add_builtin_verbs(ph_router *router, ph_server *const *server);

#ifdef __cplusplus
}
#endif
#endif /* PIPEHOST_SERVICE_H */
