/* app.c — ph_service_main: picks the mode from the command line (service, console, client, help). */
#include <pipehost/service.h>

#include "admin.h"
#include "app.h"
#include "console.h"
#include "appstate.h"
#include "config.h"
#include "exitcodes.h"
#include "svc.h"
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The configuration values: their `run` option, registry name, type and range; the program's own settings
 * after the built-in ones, each with its help line and whether a reload applies it. */
static void print_values(FILE *out)
{
    unsigned i;

    for (i = 0; i < ph__svc_value_count(); i++) {
        const svc_value_def *d = ph__svc_value_by_id((svc_value_id)i);
        char opt[64];
        snprintf(opt, sizeof(opt), "%s %s", d->option ? d->option : "(registry only)",
                 d->option == NULL ? "" : d->type == SVC_T_DWORD ? "N" : "TEXT");
        if (d->help != NULL) {
            char def[80];
            svc_config defaults;
            ph__svc_config_init(&defaults, NULL);
            ph__svc_config_value_text(&defaults, d->id, def, sizeof(def));
            ph__svc_config_free(&defaults);
            fprintf(out, "  %-27s %-21s %s %lu..%lu, default \"%s\", %s: %s\n", opt, d->name,
                    d->type == SVC_T_DWORD ? "REG_DWORD" : "REG_SZ of length", (unsigned long)d->min,
                    (unsigned long)d->max, def, d->live ? "a reload applies it" : "applies at the next start",
                    d->help);
        } else if (d->type == SVC_T_DWORD)
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
}

static void print_help(FILE *out, const ph_service_app *app)
{
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
            "      (or as --server-sid SID), and on a service's pipe (--service, or the service named after this\n"
            "      program) any process but that service's; --no-verify-server talks to a server run by anyone;\n"
            "      --framing insists on the server's framing (default: whichever the pipe serves);\n"
            "      answers are printed with control bytes and terminal escapes as \\xNN (--raw: as received);\n"
            "      STATUS is for administrators (elevated); anyone may `send HEALTH` (OK running)\n"
            "  %s help [COMMAND] | version      COMMAND --help: that command's own usage\n"
            "\n"
            "Administration (elevated prompt; NAME defaults to %s):\n"
            "  install [--name NAME] [--display-name TEXT] [--description TEXT]\n"
            "          [--start auto|delayed-auto|demand] [--account LocalSystem|LocalService|NetworkService|virtual]\n"
            "          [--failure-actions | --no-failure-actions] [--set Name=Value ...] [--start-now]\n"
            "          [--configure-only] [--set-unless-empty Name=Value ...] (for packages: nothing after = sets\n"
            "          nothing) [--no-protected-name] [--update-binary-path] [--allow-unsafe-location]\n"
            "          [--check-location]\n"
            "      creates the service; over an existing one it changes only what the options name (account,\n"
            "      start, display name, description, failure actions, binary path and Parameters are kept);\n"
            "      a new service without a PipeName serves \\\\.\\pipe\\ProtectedPrefix\\<account>\\NAME, which\n"
            "      no other user can create first (LocalSystem: Administrators; LocalService, NetworkService:\n"
            "      their own; not for virtual accounts); --no-protected-name keeps the plain name; this\n"
            "      executable is refused (exit 16) where anyone but administrators can change it, a DLL beside\n"
            "      it or a folder above it (--check-location only checks; --allow-unsafe-location overrides)\n"
            "  uninstall [--name NAME] [--keep-config] [--keep-logs]\n"
            "  config [--name NAME] [--set Name=Value ...] [--unset Name ...]\n"
            "                            list the effective configuration, or change it (checked first; an\n"
            "                            invalid value changes nothing); `reload` applies it\n"
            "  command add VERB --program PATH --allow SDDL [--arg A ...] [--env N=V ...] [--workdir DIR]\n"
            "          [--timeout-ms MS] [--max-output-bytes N] [--max-concurrent N] [--run-as-client]\n"
            "          [--keep-running] [--name NAME] | command remove VERB | command list\n"
            "                            a verb that runs a program (docs/commands.md); checked first, a\n"
            "                            restart applies it\n"
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
            ph__svc_product_name(), PH_VERSION_STRING, app->program, app->program, app->program, app->program, app->program,
            app->program);
    print_values(out);
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
            "14 reload refused, 15 not running, 16 unsafe location, 64 usage or an invalid --set value (nothing\n"
            "changed).\n");
}

static const char client_options[] =
    "  --pipe NAME              the pipe, NAME or \\\\.\\pipe\\NAME (default: the PipeName of the service named\n"
    "                           after this program if one is installed, else the program's default pipe)\n"
    "  --service NAME           the PipeName of that installed service; its running process must be the server\n"
    "  --timeout MS             wait at most this long for a free instance and for the answer (1..3600000,\n"
    "                           default 5000)\n"
    "  --quiet                  print nothing on success\n"
    "  --raw                    write the answer's bytes as received (default: control bytes, terminal escapes\n"
    "                           and invalid UTF-8 shown as \\xNN, e.g. ESC as \\x1b)\n"
    "  --server-sid SID         the server must run as this account (default: a service account)\n"
    "  --no-verify-server       talk to a server run by anyone (e.g. your own `run`)\n"
    "  --impersonation          let the server act as you (needed by a command verb with RunAsClient; the\n"
    "                           default, identification level, only tells it who you are)\n"
    "  --framing message|length insist on the server's framing (default: whichever the pipe serves)\n"
    "Exit codes: 0 answered OK, 1 answered ERR, 2 no such pipe, 3 busy or no answer in time, 4 access denied,\n"
    "5 other failure, 6 the server is not the one required (nothing was sent), 64 usage.\n";

static const char admin_codes[] =
    "Exit codes: 0 done, 1 a step failed, 10 not elevated, 11 name taken or marked for deletion, 12 not\n"
    "installed, 13 installed but did not start, 14 reload refused, 15 not running, 16 unsafe location of the\n"
    "executable, 64 usage or an invalid value (nothing changed).\n";

/* The usage of one command (`pipehost COMMAND --help`, `pipehost help COMMAND`). Returns 0, or -1 for a word
 * that is no command. */
static int command_usage(FILE *out, const char *cmd, const ph_service_app *app)
{
    const char *p = app->program;

    if (strcmp(cmd, "run") == 0) {
        fprintf(out,
                "Usage: %s run [--service NAME] [--stop-event NAME] [options]\n"
                "Serves in this console until Ctrl+C, Ctrl+Break or the console closes; logs to the console.\n"
                "  --service NAME              read that service's configuration (Parameters) first\n"
                "  --stop-event NAME           also stop when this named event is set (for scripts)\n"
                "Options, and the registry values they override:\n", p);
        print_values(out);
        fprintf(out, "Exit codes: as the service's (see %s help), 64 usage.\n", p);
    } else if (strcmp(cmd, "ping") == 0 || strcmp(cmd, "whoami") == 0) {
        fprintf(out,
                "Usage: %s %s [--pipe NAME | --service NAME] [--timeout MS] [--quiet]\n"
                "       [--server-sid SID | --no-verify-server] [--framing message|length]\n"
                "%s\n%s", p, cmd,
                cmd[0] == 'p' ? "Sends PING; the server answers PONG." :
                                "Sends WHOAMI; the server answers with who it sees (user SID, pid, session).",
                client_options);
    } else if (strcmp(cmd, "send") == 0) {
        fprintf(out,
                "Usage: %s send VERB [PAYLOAD...] [--pipe NAME | --service NAME] [--timeout MS] [--quiet] [--raw]\n"
                "       [--server-sid SID | --no-verify-server] [--framing message|length] [-- PAYLOAD...]\n"
                "Sends \"VERB PAYLOAD\" (payload words joined by single spaces; after a lone -- every argument is\n"
                "payload) and prints the answer's payload.\n%s", p, client_options);
    } else if (strcmp(cmd, "status") == 0) {
        fprintf(out,
                "Usage: %s status [--name NAME] [--framing message|length] [--timeout MS] [--quiet]\n"
                "       %s status --pipe NAME [client options, as for ping]\n"
                "For an installed service (NAME, default %s): the SCM's view (state, pid, last exit codes, start\n"
                "type, account, binary, failure actions), the effective configuration, then the server's STATUS.\n"
                "With --pipe, or when no service NAME is installed: the plain client STATUS.\n%s", p, p, p,
                admin_codes);
    } else if (strcmp(cmd, "install") == 0) {
        fprintf(out,
                "Usage: %s install [--name NAME] [--display-name TEXT] [--description TEXT]\n"
                "       [--start auto|delayed-auto|demand] [--account LocalSystem|LocalService|NetworkService|virtual]\n"
                "       [--failure-actions | --no-failure-actions] [--set Name=Value ...] [--start-now]\n"
                "       [--no-protected-name] [--update-binary-path] [--allow-unsafe-location] [--check-location]\n"
                "       [--configure-only] [--set-unless-empty Name=Value ...]   (for packages)\n"
                "Creates the service NAME (default %s): this executable, quoted; auto start; LocalSystem; pipehost's\n"
                "failure actions; a protected pipe name unless --set PipeName or --no-protected-name; the Event Log\n"
                "source and the log folder. Over an existing service it changes only what the options name: its\n"
                "account, start type, display name, description, failure actions, binary path and Parameters are\n"
                "kept unless given (--update-binary-path points it at this executable). To change the\n"
                "configuration of an installed service use `%s config --set`.\n"
                "Every --set value, and the configuration it makes, is checked with the service's rules first: an\n"
                "invalid one installs and changes nothing.\n"
                "The executable registered (a new service, --update-binary-path, --configure-only) must sit where\n"
                "only administrators can change it, the DLLs beside it and the folders above it (e.g. under\n"
                "%%ProgramFiles%%): else exit 16, nothing changed. --allow-unsafe-location goes on with a warning;\n"
                "--check-location only checks this executable's location.\n"
                "--configure-only (a package's custom action) accepts only --set-unless-empty Name=Value for\n"
                "PipeName, Sddl, Framing, LogLevel and MaxInstances, each once, and --allow-unsafe-location; a\n"
                "value with a double quote or a control character is refused (exit 64, nothing changed).\n%s",
                p, p, p, admin_codes);
    } else if (strcmp(cmd, "uninstall") == 0) {
        fprintf(out,
                "Usage: %s uninstall [--name NAME] [--keep-config] [--keep-logs]\n"
                "Stops the service (waits up to 60 s), deletes it, its Event Log source and its default log files.\n"
                "  --keep-config   keep its Parameters for the next install of NAME\n"
                "  --keep-logs     keep its log files\n%s", p, admin_codes);
    } else if (strcmp(cmd, "reload") == 0) {
        fprintf(out,
                "Usage: %s reload [--name NAME] [--framing message|length] [--timeout MS]\n"
                "Sends PARAMCHANGE and waits for the service's verdict: the live values apply at once, the others\n"
                "after a restart; an invalid configuration is refused and the running one kept (exit 14).\n%s", p,
                admin_codes);
    } else if (strcmp(cmd, "config") == 0) {
        fprintf(out,
                "Usage: %s config [--name NAME] [--set Name=Value ...] [--unset Name ...]\n"
                "Without --set or --unset: the effective configuration of the installed service NAME (default %s),\n"
                "each value from the registry or its default. With them: writes Name=Value (the registry type\n"
                "comes from the value) and removes Name (its default applies again) in\n"
                "HKLM\\SYSTEM\\CurrentControlSet\\Services\\NAME\\Parameters, after checking the configuration this\n"
                "makes with the service's own rules: an invalid value changes nothing (exit 64). Nothing else of\n"
                "the service changes. `%s reload --name NAME` applies it to a running service. `%s help` lists the\n"
                "values.\n%s", p, p, p, p, admin_codes);
    } else if (strcmp(cmd, "command") == 0) {
        fprintf(out,
                "Usage: %s command add VERB --program PATH --allow SDDL [--arg A ...] [--env NAME=VALUE ...]\n"
                "           [--workdir DIR] [--timeout-ms MS] [--max-output-bytes N] [--max-concurrent N]\n"
                "           [--run-as-client] [--keep-running] [--name NAME]\n"
                "       %s command remove VERB [--name NAME]\n"
                "       %s command list [--name NAME]\n"
                "A command verb runs PATH (absolute, local, in folders only administrators may write) with the\n"
                "fixed arguments, the request's payload on its standard input; --allow is who may call it (an SDDL,\n"
                "written to Parameters\\Verbs). Checked with the service's rules first (nothing is written when\n"
                "refused, exit 64); a restart of the service applies it. See docs/commands.md.\n%s",
                p, p, p, admin_codes);
    } else if (strcmp(cmd, "help") == 0) {
        fprintf(out, "Usage: %s help [COMMAND]\nEvery command and option, or COMMAND's own usage.\n", p);
    } else if (strcmp(cmd, "version") == 0) {
        fprintf(out, "Usage: %s version\nPrints the program's name and version.\n", p);
    } else {
        return -1;
    }
    return 0;
}

/* Whether the arguments after a command ask for its usage: --help before a lone "--" (after it, a payload
 * word), or -h or /? as the only argument (elsewhere they may be payload words of `send`). */
static int wants_help(int argc, char **argv)
{
    int i;

    if (argc == 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "/?") == 0))
        return 1;
    for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
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

    if (ph__svc_dispatch(app, &err) == 0)
        return 0;
    if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT && fallback)
        return not_under_scm(app);
    fprintf(stderr, "%s: StartServiceCtrlDispatcherW failed: error %lu\n", ph__svc_message_prefix(), (unsigned long)err);
    return PH_EXIT_START_FAILED;
}

/* The program's names and settings, checked and made known to every part before anything else runs. A bad
 * declaration is the program's own bug: said on stderr, exit PH_EXIT_CONFIG. */
static int declare(const ph_service_app *app)
{
    char why[400];
    svc_config defaults;
    int rc;

    if (ph__svc_check_app_names(app->log_folder, app->registry_root, app->message_prefix, why, sizeof(why)) != 0 ||
        ph__svc_config_declare_app_values(app->settings, app->setting_count, why, sizeof(why)) != 0) {
        fprintf(stderr, "%s: invalid ph_service_app: %s\n", app->message_prefix ? app->message_prefix : app->program,
                why);
        return PH_EXIT_CONFIG;
    }
    ph__svc_appstate_set_app(app);
    /* Until a configuration is read, the program's handlers see the declared defaults. */
    ph__svc_config_init(&defaults, app->default_pipe);
    rc = ph__svc_appstate_publish(&defaults);
    ph__svc_config_free(&defaults);
    if (rc != 0) {
        fprintf(stderr, "%s: out of memory\n", ph__svc_message_prefix());
        return PH_EXIT_START_FAILED;
    }
    return PH_EXIT_OK;
}

int ph_service_main(int argc, wchar_t **argv, const ph_service_app *app)
{
    char **args = NULL;
    const char *cmd;
    int i, code;

    if (app == NULL || app->program == NULL || app->default_pipe == NULL) {
        fprintf(stderr, "pipehost: ph_service_main needs an app with program and default_pipe\n");
        return PH_EXIT_CONFIG;
    }
    code = declare(app);
    if (code != PH_EXIT_OK)
        return code;
    if (argc < 2)
        return dispatch(app, 1);
    args = calloc((size_t)argc + 1, sizeof(char *));
    if (args == NULL) {
        fprintf(stderr, "%s: out of memory\n", ph__svc_message_prefix());
        return PH_EXIT_START_FAILED;
    }
    for (i = 0; i < argc; i++) {
        args[i] = ph__svc_to_utf8(argv[i], NULL);
        if (args[i] == NULL) {
            fprintf(stderr, "%s: argument %d is not valid Unicode text\n", ph__svc_message_prefix(), i);
            code = PH_EXIT_USAGE;
            goto out;
        }
    }
    cmd = args[1];
    if (wants_help(argc - 2, args + 2) && command_usage(stdout, cmd, app) == 0) {
        code = PH_EXIT_OK;
    } else if (strcmp(cmd, "service") == 0) {
        code = dispatch(app, 0);
    } else if (strcmp(cmd, "run") == 0) {
        code = ph__svc_console_main(argc - 1, args + 1, app);
        if (code < 0) {
            command_usage(stdout, "run", app);
            code = PH_EXIT_OK;
        }
    } else if (strcmp(cmd, "install") == 0) {
        code = ph__svc_admin_install(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "uninstall") == 0) {
        code = ph__svc_admin_uninstall(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "reload") == 0) {
        code = ph__svc_admin_reload(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "config") == 0) {
        code = ph__svc_admin_config(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "command") == 0) {
        code = ph__svc_admin_command(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "status") == 0 && (code = ph__svc_admin_status(argc - 1, args + 1, app)) >= 0) {
        /* an installed service's status was shown */
    } else if (strcmp(cmd, "ping") == 0 || strcmp(cmd, "status") == 0 || strcmp(cmd, "whoami") == 0 ||
               strcmp(cmd, "send") == 0) {
        code = ph__svc_cli_main(argc - 1, args + 1, app);
    } else if (strcmp(cmd, "help") == 0 && argc == 3) {
        code = command_usage(stdout, args[2], app) == 0 ? PH_EXIT_OK : PH_EXIT_USAGE;
        if (code != PH_EXIT_OK)
            fprintf(stderr, "%s: no command \"%.80s\" (%s help lists them)\n", ph__svc_message_prefix(), args[2],
                    app->program);
    } else if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
               strcmp(cmd, "/?") == 0) {
        print_help(stdout, app);
        code = PH_EXIT_OK;
    } else if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("%s %s\n", ph__svc_product_name(), PH_VERSION_STRING);
        code = PH_EXIT_OK;
    } else {
        fprintf(stderr, "%s: unknown command \"%.80s\"\n\n", ph__svc_message_prefix(), cmd);
        print_help(stderr, app);
        code = PH_EXIT_USAGE;
    }
out:
    for (i = 0; i < argc; i++)
        free(args[i]);
    free(args);
    return code;
}
