/* app.c — ph_service_main: picks the mode from the command line (service, console, client, help). */
#include <pipehost/service.h>

#include "admin.h"
#include "app.h"
#include "config.h"
#include "exitcodes.h"
#include "svc.h"
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_help(FILE *out, const ph_service_app *app)
{
    size_t i;

    fprintf(out,
            "%s %s: a Windows service serving local requests on a named pipe\n"
            "\n"
            "Usage:\n"
            "  %s                        (started by the Service Control Manager)\n"
            "  %s run [options]          serve in this console until Ctrl+C\n"
            "  %s ping|status|whoami [--pipe NAME | --service NAME] [--timeout MS] [--quiet]\n"
            "      [--server-sid SID | --no-verify-server] [--framing message|length]\n"
            "  %s send VERB [PAYLOAD...] [--pipe NAME | --service NAME] [--timeout MS]\n"
            "      [--server-sid SID | --no-verify-server] [--framing message|length]\n"
            "      the client refuses a server not running as SYSTEM, LocalService, NetworkService or a service SID\n"
            "      (or as --server-sid SID); --no-verify-server talks to a server run by anyone, e.g. `run`;\n"
            "      --framing insists on the server's framing (default: whichever the pipe serves)\n"
            "  %s help | version\n"
            "\n"
            "Administration (elevated prompt; NAME defaults to %s):\n"
            "  install [--name NAME] [--display-name TEXT] [--description TEXT]\n"
            "          [--start auto|delayed-auto|demand] [--account LocalSystem|LocalService|NetworkService|virtual]\n"
            "          [--no-failure-actions] [--set Name=Value ...] [--start-now] [--configure-only]\n"
            "          [--set-unless-empty Name=Value ...] (for packages: nothing after = sets nothing)\n"
            "          [--no-protected-name]\n"
            "      creates or updates the service (existing Parameters are kept unless --set changes them);\n"
            "      a new service without a PipeName serves \\\\.\\pipe\\ProtectedPrefix\\<account>\\NAME, which\n"
            "      no other user can create first (LocalSystem: Administrators; LocalService, NetworkService:\n"
            "      their own; not for virtual accounts); --no-protected-name keeps the plain name\n"
            "  uninstall [--name NAME] [--keep-config] [--keep-logs]\n"
            "  status [--name NAME] [--framing message|length]\n"
            "                            the SCM's view, the effective configuration, the server's STATUS\n"
            "  reload [--name NAME] [--framing message|length]\n"
            "                            PARAMCHANGE, and whether the service accepted the new values\n"
            "      --framing as for the client commands (default: whichever the pipe serves)\n"
            "\n"
            "Options of run, and the registry values of the service (HKLM\\SYSTEM\\CurrentControlSet\\Services\\\n"
            "NAME\\Parameters) they override; run reads that key only with --service NAME:\n"
            "  --service NAME              read that service's configuration first\n"
            "  --stop-event NAME           also stop when this named event is set (for scripts)\n",
            app->program, PH_VERSION_STRING, app->program, app->program, app->program, app->program, app->program,
            app->program);
    for (i = 0; i < SVC_V_COUNT; i++) {
        const svc_value_def *d = svc_value_by_id((svc_value_id)i);
        char opt[64];
        snprintf(opt, sizeof(opt), "%s %s", d->option, d->type == SVC_T_DWORD ? "N" : "TEXT");
        if (d->type == SVC_T_DWORD)
            fprintf(out, "  %-27s %-21s REG_DWORD %lu..%lu %s%s\n", opt, d->name, (unsigned long)d->min,
                    (unsigned long)d->max, d->unit,
                    d->never ? (d->max == SVC_INFINITE ? " (= never)" : " or 4294967295 (never)")
                    : d->id == SVC_V_MAX_INSTANCES  ? " (255 = unlimited, below: a fixed pool)"
                    : d->id == SVC_V_MAX_CONN_PER_USER ? " (0 = no limit)"
                                                       : "");
        else
            fprintf(out, "  %-27s %-21s REG_SZ%s\n", opt, d->name,
                    d->id == SVC_V_LOG_FILE    ? " or REG_EXPAND_SZ"
                    : d->id == SVC_V_LOG_LEVEL ? " error|warn|info|debug"
                    : d->id == SVC_V_FRAMING   ? " message|length"
                                               : "");
    }
    fprintf(out,
            "  Parameters\\Verbs\\VERB      REG_SZ SDDL: who may call VERB (AccessCheck; e.g. \"D:(A;;GX;;;BA)\")\n"
            "\n"
            "Service exit codes: 0 stopped cleanly, 1 configuration invalid, 2 pipe name in use, 3 security\n"
            "descriptor refused, 4 other start failure, 5 log file cannot be opened or its folder is unsafe,\n"
            "6 the worker ended without a stop request, 7 a handler did not return at stop, 64 usage.\n"
            "Client exit codes: 0 OK, 1 the server answered ERR, 2 no such pipe, 3 busy or no answer in time,\n"
            "4 access denied, 5 other failure, 6 the server is not a service's (see --no-verify-server), 64 usage.\n"
            "Administration exit codes: 0 done, 1 a step failed (an install removes what it created), 10 not\n"
            "elevated, 11 name taken or marked for deletion, 12 not installed, 13 installed but did not start,\n"
            "14 reload refused, 15 not running, 64 usage or an invalid --set value (nothing changed).\n");
}

static int not_under_scm(const ph_service_app *app)
{
    fprintf(stderr,
            "%s: this program is a Windows service and was not started by the Service Control Manager.\n"
            "  To run it in this console:  %s run [--pipe NAME]   (Ctrl+C stops it)\n"
            "  To install it (elevated):  %s install --start-now\n"
            "  To talk to it:             %s ping | status | whoami | send VERB [PAYLOAD]\n"
            "  More:                      %s help\n",
            app->program, app->program, app->program, app->program, app->program);
    return PH_EXIT_USAGE;
}

static int dispatch(const ph_service_app *app, int fallback)
{
    DWORD err = 0;

    if (svc_dispatch(app, &err) == 0)
        return 0;
    if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT && fallback)
        return not_under_scm(app);
    fprintf(stderr, "%s: StartServiceCtrlDispatcherW failed: error %lu\n", app->program, (unsigned long)err);
    return PH_EXIT_START_FAILED;
}

int ph_service_main(int argc, wchar_t **argv, const ph_service_app *app)
{
    char **args = NULL;
    const char *cmd;
    int i, code;

    if (argc < 2)
        return dispatch(app, 1);
    args = calloc((size_t)argc + 1, sizeof(char *));
    if (args == NULL) {
        fprintf(stderr, "%s: out of memory\n", app->program);
        return PH_EXIT_START_FAILED;
    }
    for (i = 0; i < argc; i++) {
        args[i] = svc_to_utf8(argv[i], NULL);
        if (args[i] == NULL) {
            fprintf(stderr, "%s: argument %d is not valid Unicode text\n", app->program, i);
            code = PH_EXIT_USAGE;
            goto out;
        }
    }
    cmd = args[1];
    if (strcmp(cmd, "service") == 0) {
        code = dispatch(app, 0);
    } else if (strcmp(cmd, "run") == 0) {
        code = svc_console_main(argc - 1, args + 1, app);
        if (code < 0) {
            print_help(stdout, app);
            code = PH_EXIT_OK;
        }
    } else if (strcmp(cmd, "install") == 0) {
        code = svc_admin_install(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "uninstall") == 0) {
        code = svc_admin_uninstall(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "reload") == 0) {
        code = svc_admin_reload(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "status") == 0 && (code = svc_admin_status(argc - 1, args + 1, app)) >= 0) {
        /* an installed service's status was shown */
    } else if (strcmp(cmd, "ping") == 0 || strcmp(cmd, "status") == 0 || strcmp(cmd, "whoami") == 0 ||
               strcmp(cmd, "send") == 0) {
        code = svc_cli_main(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
               strcmp(cmd, "/?") == 0) {
        print_help(stdout, app);
        code = PH_EXIT_OK;
    } else if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("%s %s\n", app->program, PH_VERSION_STRING);
        code = PH_EXIT_OK;
    } else {
        fprintf(stderr, "%s: unknown command \"%.80s\"\n\n", app->program, cmd);
        print_help(stderr, app);
        code = PH_EXIT_USAGE;
    }
out:
    for (i = 0; i < argc; i++)
        free(args[i]);
    free(args);
    return code;
}
