/* query.c — `pipehost status` and `reload` for an installed service, and the service name → pipe lookup. */
#include "admin_int.h"
#include "appstate.h"

#include "config_win.h"
#include "escape.h"
#include "exitcodes.h"
#include "options.h"
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct query_opts {
    const char *name;
    int explicit_name, pipe_given, quiet;
    uint32_t timeout_ms;
    int framing_set;    /* --framing given: insist on it (else the pipe's own framing is used) */
    ph_framing framing;
} query_opts;

/* --name/--service NAME, --timeout MS, --framing message|length, --quiet; with allow_pipe, --pipe marks the
 * plain client command. Returns 0 or PH_EXIT_USAGE with the message printed. */
static int parse(int argc, char **argv, int allow_pipe, uint32_t timeout_ms, query_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->timeout_ms = timeout_ms;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '='), *value;
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

        if (len == 7 && strncmp(arg, "--quiet", 7) == 0 && eq == NULL) {
            o->quiet = 1;
            continue;
        }
        /* Server verification options belong to the plain client STATUS, which then answers. */
        if (allow_pipe && len == 18 && strncmp(arg, "--no-verify-server", 18) == 0 && eq == NULL) {
            o->pipe_given = 1;
            continue;
        }
        if (allow_pipe && len == 12 && strncmp(arg, "--server-sid", 12) == 0) {
            o->pipe_given = 1;
            if (eq == NULL)
                i++;
            continue;
        }
        if (!((len == 6 && strncmp(arg, "--name", 6) == 0) || (len == 9 && strncmp(arg, "--service", 9) == 0) ||
              (len == 9 && strncmp(arg, "--timeout", 9) == 0) || (len == 9 && strncmp(arg, "--framing", 9) == 0) ||
              (allow_pipe && len == 6 && strncmp(arg, "--pipe", 6) == 0))) {
            ph__svc_err(" %s: unknown option or argument \"%.80s\" (see %s help)\n", argv[0], arg,
                    ph__svc_program());
            return PH_EXIT_USAGE;
        }
        value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (value == NULL) {
            ph__svc_err(" %s: option %.*s needs a value\n", argv[0], (int)len, arg);
            return PH_EXIT_USAGE;
        }
        if (arg[2] == 'p') {
            o->pipe_given = 1;
        } else if (arg[2] == 'f') {
            if (ph__svc_parse_framing(value, &o->framing) != 0) {
                ph__svc_err(" %s: --framing accepts message or length, given \"%.40s\"\n", argv[0], value);
                return PH_EXIT_USAGE;
            }
            o->framing_set = 1;
        } else if (arg[2] == 't') {
            if (ph__svc_parse_dword(value, &o->timeout_ms) != 0 || o->timeout_ms == 0 || o->timeout_ms > 3600000) {
                ph__svc_err(" %s: --timeout accepts 1..3600000 ms, given \"%.40s\"\n", argv[0], value);
                return PH_EXIT_USAGE;
            }
        } else {
            o->name = value;
            o->explicit_name = 1;
        }
    }
    return 0;
}

int ph__svc_admin_service_pipe(const char *service, const char *default_pipe, char *pipe, size_t size, char *why,
                           size_t why_size)
{
    wchar_t *wname = ph__svc_to_wide(service, NULL);
    SC_HANDLE scm = NULL, svc = NULL;
    svc_config cfg;
    svc_cfg_errors errs;
    int found = 0, rc = -1;
    unsigned i;

    ph__svc_config_init(&cfg, default_pipe);
    memset(&errs, 0, sizeof(errs));
    why[0] = '\0';
    if (wname == NULL) {
        snprintf(why, why_size, "invalid service name \"%.80s\"", service);
        goto out;
    }
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    svc = scm ? OpenServiceW(scm, wname, SERVICE_QUERY_STATUS) : NULL;
    if (svc == NULL && GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST) {
        snprintf(why, why_size, "no service named %.80s is installed", service);
        rc = 1;
        goto out;
    }
    ph__svc_config_load_registry(wname, &cfg, &errs, &found);
    if (errs.kinds & (1u << SVC_V_PIPE_NAME)) {
        /* The message of the value in error (kinds does not say which text is whose; the value's name does). */
        const char *text = "its PipeName value is invalid";
        for (i = 0; i < errs.count && i < SVC_CFG_MAX_ERRORS; i++)
            if (strstr(errs.text[i], "value PipeName ") != NULL) {
                text = errs.text[i];
                break;
            }
        snprintf(why, why_size, "service %.80s: %s", service, text);
        goto out;
    }
    if (strlen(cfg.pipe_name) >= size) {
        snprintf(why, why_size, "pipe name too long");
        goto out;
    }
    memcpy(pipe, cfg.pipe_name, strlen(cfg.pipe_name) + 1);
    rc = 0;
out:
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    ph__svc_config_free(&cfg);
    free(wname);
    return rc;
}

static const char *start_name(DWORD type)
{
    switch (type) {
    case SERVICE_BOOT_START: return "boot";
    case SERVICE_SYSTEM_START: return "system";
    case SERVICE_AUTO_START: return "auto";
    case SERVICE_DEMAND_START: return "demand";
    case SERVICE_DISABLED: return "disabled";
    default: return "?";
    }
}

static void print_scm(SC_HANDLE svc, const char *name, const SERVICE_STATUS_PROCESS *st)
{
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } cfg;
    union {
        BYTE raw[8192];
        SERVICE_DESCRIPTIONW desc;
        SERVICE_FAILURE_ACTIONSW fa;
        SERVICE_DELAYED_AUTO_START_INFO delayed;
    } c2;
    DWORD need = 0, i;
    int delayed = 0;

    printf("service      %s\n", name);
    printf("state        %s", ph__adm_state_name(st->dwCurrentState));
    if (st->dwProcessId != 0)
        printf(" (pid %lu)", (unsigned long)st->dwProcessId);
    printf("\nlast exit    %lu", (unsigned long)st->dwWin32ExitCode);
    if (st->dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR)
        printf(", service-specific %lu (see the exit codes in %s help)", (unsigned long)st->dwServiceSpecificExitCode,
               ph__svc_program());
    printf("\n");
    if (QueryServiceConfig2W(svc, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, c2.raw, sizeof(c2.raw), &need))
        delayed = c2.delayed.fDelayedAutostart != 0;
    if (QueryServiceConfigW(svc, &cfg.qc, sizeof(cfg.raw), &need)) {
        printf("start        %s%s\n", start_name(cfg.qc.dwStartType), delayed ? " (delayed)" : "");
        printf("account      %ls\n", cfg.qc.lpServiceStartName ? cfg.qc.lpServiceStartName : L"LocalSystem");
        printf("display name %ls\n", cfg.qc.lpDisplayName ? cfg.qc.lpDisplayName : L"");
        printf("binary       %ls\n", cfg.qc.lpBinaryPathName ? cfg.qc.lpBinaryPathName : L"");
    } else {
        printf("start        ? (QueryServiceConfigW failed: error %lu)\n", (unsigned long)GetLastError());
    }
    if (QueryServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, c2.raw, sizeof(c2.raw), &need) &&
        c2.desc.lpDescription != NULL)
        printf("description  %ls\n", c2.desc.lpDescription);
    if (QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, c2.raw, sizeof(c2.raw), &need) &&
        c2.fa.cActions > 0 && c2.fa.lpsaActions != NULL) {
        printf("on failure   ");
        for (i = 0; i < c2.fa.cActions; i++) {
            const SC_ACTION *a = &c2.fa.lpsaActions[i];
            if (a->Type == SC_ACTION_NONE)
                printf("%snothing", i ? ", then " : "");
            else
                printf("%s%s after %lu ms", i ? ", " : "", a->Type == SC_ACTION_RESTART ? "restart" : "other action",
                       (unsigned long)a->Delay);
        }
        /* The SCM repeats the last action for every further failure. */
        printf(c2.fa.lpsaActions[c2.fa.cActions - 1].Type == SC_ACTION_NONE ? " (it stays stopped)"
                                                                           : " (repeated for ever)");
        printf("; count reset after %lu s\n", (unsigned long)c2.fa.dwResetPeriod);
    } else {
        printf("on failure   no recovery actions stored\n");
    }
}

/* The configuration the service reads at its next start: registry values merged with the defaults, with
 * the errors found in them. */
static void load_config(const wchar_t *wname, svc_config *cfg, svc_cfg_errors *errs)
{
    int found = 0;

    memset(errs, 0, sizeof(*errs));
    ph__svc_config_load_registry(wname, cfg, errs, &found);
    ph__svc_config_check(cfg, errs);
    ph__svc_config_check_sddl(cfg, errs);
}

/* text escaped (escape.h) into out: registry values are printed to an elevated console too. */
static const char *escaped(const char *text, char *out, size_t size)
{
    ph__svc_escape((const unsigned char *)text, strlen(text), out, size);
    return out;
}

static void print_config(const char *name, const svc_config *cfg, const svc_cfg_errors *errs)
{
    unsigned i;
    char text[300], safe[4 * SVC_CFG_ERROR_TEXT + 1];

    printf("configuration (HKLM\\SYSTEM\\CurrentControlSet\\Services\\%s\\Parameters, with the defaults):\n", name);
    for (i = 0; i < ph__svc_value_count(); i++) {
        const svc_value_def *d = ph__svc_value_by_id((svc_value_id)i);
        ph__svc_config_value_text(cfg, (svc_value_id)i, text, sizeof(text));
        printf("  %-21s %-40s %s\n", d->name, escaped(text, safe, sizeof(safe)),
               (cfg->set_mask & (1u << i)) ? "registry" : "default");
    }
    /* What MaxInstances means, said once: the running server's own pool= follows in its STATUS. */
    ph__svc_config_pool_text(cfg->max_instances, text, sizeof(text));
    printf("  %-21s %-40s %s\n", "(pool)", text,
           cfg->max_instances < SVC_UNLIMITED_INSTANCES ? "MaxInstances below 255: every instance created at start"
                                                        : "MaxInstances 255");
    for (i = 0; i < errs->count && i < SVC_CFG_MAX_ERRORS; i++)
        printf("  ERROR: %s\n", escaped(errs->text[i], safe, sizeof(safe)));
    if (errs->count > 0)
        printf("  (with these errors the service refuses to start, and a reload keeps the running values)\n");
}

int ph__adm_show_config(const char *name, const wchar_t *wname, const char *default_pipe)
{
    svc_config cfg;
    svc_cfg_errors errs;

    ph__svc_config_init(&cfg, default_pipe);
    load_config(wname, &cfg, &errs);
    print_config(name, &cfg, &errs);
    ph__svc_config_free(&cfg);
    return 0;
}

int ph__svc_admin_status(int argc, char **argv, const ph_service_app *app)
{
    query_opts o;
    svc_config cfg;
    svc_cfg_errors errs;
    wchar_t *wname = NULL;
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS_PROCESS st;
    unsigned char *resp = NULL;
    size_t resp_len = 0;
    DWORD need = 0, err;
    int code;

    ph__svc_config_init(&cfg, app->default_pipe);
    if ((code = parse(argc, argv, 1, 5000, &o)) != 0)
        goto out;
    code = -1;
    if (o.pipe_given)
        goto out; /* a pipe, not a service: the plain client STATUS */
    if (o.name == NULL)
        o.name = app->program;
    wname = ph__svc_to_wide(o.name, NULL);
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    svc = (scm && wname) ? OpenServiceW(scm, wname, SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG) : NULL;
    if (svc == NULL) {
        err = GetLastError();
        if (!o.explicit_name && err == ERROR_SERVICE_DOES_NOT_EXIST)
            goto out; /* nothing installed under the program's name: ask its default pipe, as before */
        code = wname ? ph__adm_fail("cannot query the service", scm ? "OpenServiceW" : "OpenSCManagerW", err)
                     : PH_EXIT_USAGE;
        goto out;
    }
    if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&st, sizeof(st), &need)) {
        code = ph__adm_fail("cannot query the service", "QueryServiceStatusEx", GetLastError());
        goto out;
    }
    /* Read also when quiet: the STATUS request below goes to its PipeName. */
    load_config(wname, &cfg, &errs);
    if (!o.quiet) {
        print_scm(svc, o.name, &st);
        print_config(o.name, &cfg, &errs);
    }
    if (st.dwCurrentState != SERVICE_RUNNING) {
        if (!o.quiet)
            printf("server       not running: `net start %s` starts it\n", o.name);
        code = PH_ADMIN_NOT_RUNNING;
        goto out;
    }
    /* Live values as the running server reports them (PipeName, Framing and others apply only after a
     * restart: changed since, they are not the running server's). In the framing the pipe serves, unless
     * --framing insists. */
    code = ph__adm_ask(cfg.pipe_name, o.framing_set ? &o.framing : NULL, st.dwProcessId, "STATUS", o.timeout_ms, &resp,
                   &resp_len);
    if (code != 0)
        goto out;
    /* The server's text, escaped (escape.h): even the service's own answer carries text from elsewhere (a
     * refused value quoted in reload_result). */
    if (resp_len >= 3 && memcmp(resp, "OK ", 3) == 0) {
        if (!o.quiet) {
            size_t i = 3;
            printf("server       STATUS on %s:\n", cfg.pipe_name);
            while (i < resp_len) {
                const unsigned char *end = memchr(resp + i, '\n', resp_len - i);
                size_t n = end ? (size_t)(end - (resp + i)) : resp_len - i;
                (void)fputs("  ", stdout);
                ph__svc_escape_write(stdout, resp + i, n);
                (void)putchar('\n');
                i += n + 1;
            }
        }
        code = PH_CLI_OK;
    } else {
        ph__svc_err(": STATUS on %s answered: ", cfg.pipe_name);
        ph__svc_escape_write(stderr, resp, resp_len > 500 ? 500 : resp_len);
        (void)fputc('\n', stderr);
        code = PH_CLI_ERR_ANSWER;
    }
out:
    ph_free(resp);
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    ph__svc_config_free(&cfg);
    free(wname);
    return code;
}

/* STATUS's reloads counter, or -1 with the message printed. */
static long reload_count(const char *pipe, const ph_framing *framing, unsigned long pid, uint32_t timeout_ms,
                         char *result, size_t size, int *code)
{
    unsigned char *resp = NULL;
    size_t len = 0;
    char text[32];
    long n = -1;

    *code = ph__adm_ask(pipe, framing, pid, "STATUS", timeout_ms, &resp, &len);
    if (*code == 0) {
        ph__adm_status_value(resp, len, "reloads", text, sizeof(text));
        ph__adm_status_value(resp, len, "reload_result", result, size);
        if (text[0] != '\0')
            n = strtol(text, NULL, 10);
        else
            ph__svc_err(" reload: the server on %s does not report reloads (an older version?)\n", pipe);
    }
    ph_free(resp);
    return n;
}

int ph__svc_admin_reload(int argc, char **argv, const ph_service_app *app)
{
    query_opts o;
    svc_config cfg;
    svc_cfg_errors errs;
    wchar_t *wname = NULL;
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS_PROCESS st;
    SERVICE_STATUS ss;
    char result[500];
    const ph_framing *framing;
    long before, now = -1;
    ULONGLONG end;
    int code, found = 0;

    ph__svc_config_init(&cfg, app->default_pipe);
    memset(&errs, 0, sizeof(errs));
    if ((code = parse(argc, argv, 0, 15000, &o)) != 0)
        goto out;
    if (o.name == NULL)
        o.name = app->program;
    if ((wname = ph__adm_service_name(o.name)) == NULL) {
        code = PH_EXIT_USAGE;
        goto out;
    }
    scm = ph__adm_open_scm(SC_MANAGER_CONNECT, &code);
    if (scm == NULL)
        goto out;
    /* PARAMCHANGE needs SERVICE_PAUSE_CONTINUE. */
    svc = OpenServiceW(scm, wname, SERVICE_PAUSE_CONTINUE | SERVICE_QUERY_STATUS);
    if (svc == NULL) {
        code = ph__adm_fail("cannot open the service", "OpenServiceW", GetLastError());
        goto out;
    }
    if (!ph__adm_wait_state(svc, SERVICE_RUNNING, 0, &st)) {
        ph__svc_err(" reload: %s is %s, not running: the configuration is read when it starts\n", o.name,
                ph__adm_state_name(st.dwCurrentState));
        code = PH_ADMIN_NOT_RUNNING;
        goto out;
    }
    ph__svc_config_load_registry(wname, &cfg, &errs, &found);
    framing = o.framing_set ? &o.framing : NULL;
    before = reload_count(cfg.pipe_name, framing, st.dwProcessId, o.timeout_ms, result, sizeof(result), &code);
    if (before < 0) {
        if (code == 0)
            code = PH_ADMIN_FAILED;
        goto out;
    }
    if (!ControlService(svc, SERVICE_CONTROL_PARAMCHANGE, &ss)) {
        code = ph__adm_fail("cannot send PARAMCHANGE", "ControlService", GetLastError());
        goto out;
    }
    /* The outcome is the service's own: wait until its STATUS counts one more reload. */
    end = GetTickCount64() + o.timeout_ms;
    while ((now = reload_count(cfg.pipe_name, framing, st.dwProcessId, o.timeout_ms, result, sizeof(result), &code)) ==
               before &&
           GetTickCount64() < end)
        Sleep(100);
    if (now <= before) {
        if (now >= 0)
            ph__svc_err(" reload: %s did not report handling the change within %lu ms\n", o.name,
                    (unsigned long)o.timeout_ms);
        code = code ? code : PH_ADMIN_FAILED;
        goto out;
    }
    /* The result is the server's text (a refused value is quoted in it): escaped (escape.h). */
    if (strncmp(result, "ok", 2) == 0) {
        ph__svc_out(": %s reloaded its configuration: ", o.name);
        ph__svc_escape_write(stdout, (const unsigned char *)result, strlen(result));
        (void)putchar('\n');
        code = 0;
    } else {
        ph__svc_err(": %s kept its configuration: ", o.name);
        ph__svc_escape_write(stderr, (const unsigned char *)result, strlen(result));
        (void)fputc('\n', stderr);
        code = PH_ADMIN_REFUSED;
    }
out:
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    ph__svc_config_free(&cfg);
    free(wname);
    return code;
}
