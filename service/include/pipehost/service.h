/* service.h — build your own Windows service on pipehost: the SCM host, console mode and client, with your verbs. */
#ifndef PIPEHOST_SERVICE_H
#define PIPEHOST_SERVICE_H

#include <pipehost/pipehost.h>

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called once per start, on the worker thread, before the pipe is created: add your verbs to router with
 * ph_router_add (the built-in PING, HEALTH, ECHO, STATUS and WHOAMI are already there; adding one of those
 * names replaces it, and a replaced STATUS keeps its restriction). Return 0, or a PH_E… code to refuse to start (the service then stops with exit code 4). */
typedef int (*ph_service_extend_fn)(void *ctx, ph_router *router);

/* A setting of the host program's own, read from the same Parameters key as the built-in values and
 * checked, reported and reloaded exactly like them: a wrong type, a value out of range or a name nobody
 * declared stops the service with exit code 1 (and is refused by `config --set` and by a reload, which
 * keeps the running values); `help` lists it, `status` and `config` show it, a reload reports its change.
 * Handlers read it with ph_service_setting_dword / ph_service_setting_string. */
typedef enum ph_setting_type { PH_SETTING_DWORD = 0, PH_SETTING_STRING = 1 } ph_setting_type;

typedef struct ph_service_setting {
    const char *name;            /* registry value name, e.g. "Greeting": 1..40 letters and digits, not a
                                    built-in name (compared case-insensitively, as the registry does) */
    const char *option;          /* `run` option, "--" + 1..40 of [a-z0-9-], e.g. "--greeting"; NULL: none */
    ph_setting_type type;        /* DWORD: REG_DWORD; STRING: REG_SZ (no control characters) */
    uint32_t min, max;           /* DWORD: accepted range; STRING: accepted length in characters (max <= 1024) */
    uint32_t default_dword;      /* DWORD: the value when none is configured (within min..max) */
    const char *default_string;  /* STRING: the value when none is configured (NULL: ""; its length need not be
                                    within min..max: a default is not a configured value) */
    int restart;                 /* 0: a reload (PARAMCHANGE) applies a change; 1: it waits for the next start */
    const char *help;            /* one line for `help`, e.g. "the word HELLO answers with" */
} ph_service_setting;

/* At most this many settings of your own. */
#define PH_SERVICE_MAX_SETTINGS 12

/* Called on the service's worker thread once the pipe accepts clients (on_start) or when a stop was requested,
 * before the server stops taking requests and drains (on_stop); ctx is hook_ctx. A stop or a reload waits
 * for on_start to return; keep them short (the SCM's stop budget counts on_stop). */
typedef void (*ph_service_hook_fn)(void *ctx);
/* After a reload that the service accepted: changes lists what differed, "Name old -> new; …" (values that
 * wait for a restart say so), "" when nothing did. Your settings read after this return the new values. */
typedef void (*ph_service_reload_fn)(void *ctx, const char *changes);

/* ABI: ph_service_app is read by ph_service_main, which a program links statically (libpipehost_service.a)
 * from the same release as this header; its layout may change between 0.x releases (rebuild your program).
 * Zero-initialise it ({0}, or a designated initialiser) so that members you do not set keep their defaults. */
typedef struct ph_service_app {
    const char *program;          /* name shown in usage, e.g. "pipehost" */
    const char *default_pipe;     /* pipe served when PipeName is not configured, e.g. "pipehost" */
    ph_service_extend_fn extend;  /* optional */
    void *extend_ctx;

    /* Your settings (optional): setting_count entries, at most PH_SERVICE_MAX_SETTINGS. A bad declaration
     * (a bad or repeated name, a default out of range) makes ph_service_main print why and return 1. */
    const ph_service_setting *settings;
    unsigned setting_count;

    /* Connection hooks (optional), passed to the server as ph_server_config's conn_open, conn_close and
     * conn_ctx: per-connection state, set up at a connection's first request and released exactly once when
     * it ends (see "Connection hooks" in pipehost.h). */
    ph_conn_open_fn conn_open;
    ph_conn_close_fn conn_close;
    void *conn_ctx;

    /* Hooks (each optional), with hook_ctx. */
    ph_service_hook_fn on_start;
    ph_service_hook_fn on_stop;
    ph_service_reload_fn on_reload;
    void *hook_ctx;

    /* Your name (each optional; NULL keeps pipehost's):
     * product: the name in `help` and `version` (default: program);
     * message_prefix: the prefix of every message the program prints, "<prefix>: …" (default: program);
     * log_folder: the default log folder, %ProgramData%\<log_folder> (default "pipehost"; one folder name,
     *   1..60 letters, digits, spaces, '.', '-', '_', not starting or ending with a space or '.');
     * registry_root: where `uninstall --keep-config` keeps the configuration, HKLM\SOFTWARE\<registry_root>
     *   (default "pipehost"; one key name, the same characters).
     * A name that breaks these rules makes ph_service_main print why and return 1. */
    const char *product;
    const char *message_prefix;
    const char *log_folder;
    const char *registry_root;
} ph_service_app;

/* A setting's value now (the one in force: a reload changes a setting with restart 0), from any thread at
 * any time while ph_service_main runs (a copy under a lock: never torn by a reload). name is as declared,
 * compared case-insensitively. Returns 0; PH_EINVAL when there is no such setting of that type; for a string,
 * PH_ETOOBIG when size cannot hold it and its NUL (buf then holds "" ). Before the configuration is read (a
 * client command, `help`) they return the declared defaults. */
int ph_service_setting_dword(const char *name, uint32_t *out);
int ph_service_setting_string(const char *name, char *buf, size_t size);

/* The service's name as the SCM started it (UTF-8), "" in console mode (`run`) or outside the service. */
const char *ph_service_name(void);

/* A line in the service's own log: the log file (and the console in `run`) at or below LogLevel, and, for
 * PH_LOG_ERROR and PH_LOG_WARN, the Event Log (ids 5 and 6 of the message table, "Error: …" and
 * "Warning: …"), exactly as the service's own lines. Safe from any thread; before the service's log is
 * open (or after it closed) the line goes to stderr. The text is cut at about 1000 bytes. */
void ph_service_log(ph_log_level level, const char *fmt, ...) PH_PRINTF(2, 3);

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
