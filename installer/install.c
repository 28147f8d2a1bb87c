/* install.c — `pipehost install` and `uninstall`: the service, its settings, configuration, event source, log folder. */
#include "admin_int.h"
#include "appstate.h"

#include "config_win.h"
#include "exitcodes.h"
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct inst_opts {
    const char *name, *display, *description, *start, *account;
    const char **sets; /* "Name=Value", in command-line order */
    int nsets;
    int no_failure_actions, start_now, configure_only, keep_config, keep_logs, no_protected_name;
    int failure_actions, update_binary_path; /* an existing service: set pipehost's failure actions, re-point it */
    int allow_unsafe_location, check_location;
} inst_opts;

static int is(const char *arg, const char *name)
{
    return strcmp(arg, name) == 0;
}

/* Options take "--opt VALUE" or "--opt=VALUE". flags lists the options without a value, values those with
 * one. Returns 0 or PH_EXIT_USAGE with the message printed. */
static int parse(int argc, char **argv, const char *const *flags, const char *const *values, inst_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->sets = calloc((size_t)argc + 1, sizeof(*o->sets));
    if (o->sets == NULL) {
        ph__svc_err(": out of memory\n");
        return PH_EXIT_USAGE;
    }
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '='), *value = NULL;
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        char name[40];
        const char *const *f;
        int known = 0;

        if (strncmp(arg, "--", 2) != 0 || len >= sizeof(name)) {
            ph__svc_err(" %s: unexpected argument \"%.80s\" (options start with --; see %s help)\n",
                    argv[0], arg, ph__svc_program());
            return PH_EXIT_USAGE;
        }
        memcpy(name, arg, len);
        name[len] = '\0';
        for (f = flags; *f && !known; f++)
            if (is(name, *f)) {
                if (eq != NULL) {
                    ph__svc_err(" %s: option %s takes no value\n", argv[0], name);
                    return PH_EXIT_USAGE;
                }
                known = 1;
            }
        if (known) {
            if (is(name, "--no-failure-actions"))
                o->no_failure_actions = 1;
            else if (is(name, "--start-now"))
                o->start_now = 1;
            else if (is(name, "--configure-only"))
                o->configure_only = 1;
            else if (is(name, "--keep-config"))
                o->keep_config = 1;
            else if (is(name, "--keep-logs"))
                o->keep_logs = 1;
            else if (is(name, "--no-protected-name"))
                o->no_protected_name = 1;
            else if (is(name, "--failure-actions"))
                o->failure_actions = 1;
            else if (is(name, "--update-binary-path"))
                o->update_binary_path = 1;
            else if (is(name, "--allow-unsafe-location"))
                o->allow_unsafe_location = 1;
            else if (is(name, "--check-location"))
                o->check_location = 1;
            continue;
        }
        for (f = values; *f && !known; f++)
            known = is(name, *f);
        if (!known) {
            ph__svc_err(" %s: unknown option %s (see %s help)\n", argv[0], name, ph__svc_program());
            return PH_EXIT_USAGE;
        }
        value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (value == NULL) {
            ph__svc_err(" %s: option %s needs a value\n", argv[0], name);
            return PH_EXIT_USAGE;
        }
        if (is(name, "--name") || is(name, "--service"))
            o->name = value;
        else if (is(name, "--display-name"))
            o->display = value;
        else if (is(name, "--description"))
            o->description = value;
        else if (is(name, "--start"))
            o->start = value;
        else if (is(name, "--account"))
            o->account = value;
        else if (is(name, "--set-unless-empty") && (eq = strchr(value, '=')) != NULL && eq[1] == '\0')
            continue; /* Name= with nothing after it: a package's property that was not given sets nothing */
        else
            o->sets[o->nsets++] = value;
    }
    return 0;
}

/* The Parameters values a package's public properties may set through `install --configure-only`, each with
 * --set-unless-empty at most once. */
static const char *const package_values[] = {"PipeName", "Sddl", "Framing", "LogLevel", "MaxInstances", NULL};

/* `install --configure-only` runs from a package's custom action as LocalSystem, with property values an
 * installing user may have chosen pasted into its command line. So it accepts exactly the package's form:
 * --configure-only once, --allow-unsafe-location at most once, and "--set-unless-empty Name=Value" (two
 * arguments) for the names in package_values, each at most once; no other option, no positional argument, and
 * no value holding '"' or a control character (a '"' in a property closes the quotes around it and lets the
 * rest through as options; an odd run of '\' before the closing quote turns it into a '"' inside the value).
 * The values themselves are then checked with the service's own rules (check_sets), before anything is
 * written. Returns 0 or PH_EXIT_USAGE (printed). */
static int check_package_args(int argc, char **argv)
{
    int i, seen[sizeof(package_values) / sizeof(package_values[0])] = {0}, configure_seen = 0, unsafe = 0;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *value, *eq, *p;
        size_t k, n;

        if (is(arg, "--configure-only") && configure_seen++ == 0)
            continue;
        if (is(arg, "--allow-unsafe-location") && unsafe++ == 0)
            continue;
        if (!is(arg, "--set-unless-empty")) {
            ph__svc_err(" install: --configure-only accepts only --set-unless-empty Name=Value for %s, "
                            "each once, and --allow-unsafe-location; refused \"%.80s\" (nothing was changed)\n",
                    "PipeName, Sddl, Framing, LogLevel and MaxInstances", arg);
            return PH_EXIT_USAGE;
        }
        value = i + 1 < argc ? argv[++i] : "";
        eq = strchr(value, '=');
        n = eq ? (size_t)(eq - value) : 0;
        for (k = 0; package_values[k] != NULL; k++)
            if (strlen(package_values[k]) == n && strncmp(value, package_values[k], n) == 0)
                break;
        if (eq == NULL || package_values[k] == NULL || seen[k]++ != 0) {
            int unknown = eq == NULL || package_values[k] == NULL;
            ph__svc_err(" install: --configure-only: \"%.80s\" is %s (nothing was changed)\n", value,
                    unknown ? "not PipeName=, Sddl=, Framing=, LogLevel= or MaxInstances=" : "given twice");
            return PH_EXIT_USAGE;
        }
        for (p = eq + 1; *p != '\0'; p++)
            if (*p == '"' || (unsigned char)*p < 0x20 || *p == 0x7f) {
                ph__svc_err(" install: --configure-only: the value of %s holds %s, which no %s may "
                                "hold (nothing was changed)\n", package_values[k],
                        *p == '"' ? "a double quote" : "a control character", package_values[k]);
                return PH_EXIT_USAGE;
            }
    }
    return 0;
}

static int equal_nocase(const char *a, const char *b)
{
    return _stricmp(a, b) == 0;
}

/* Whether a --set (or a --set-unless-empty with a value) sets the value called name. */
static int sets_value(const inst_opts *o, const char *name)
{
    size_t n = strlen(name);
    int i;

    for (i = 0; i < o->nsets; i++)
        if (_strnicmp(o->sets[i], name, n) == 0 && o->sets[i][n] == '=')
            return 1;
    return 0;
}

/* A service runs its executable as its account (LocalSystem by default): whoever can replace that file, plant a
 * DLL beside it or swap a folder on its path runs code as that account. So install refuses to register an
 * executable ph__svc_admin_check_location refuses (PH_ADMIN_UNSAFE_LOCATION, nothing changed); with
 * --allow-unsafe-location it says so loudly and goes on. --check-location only reports. Returns 0 or the code
 * (printed). */
static int check_location(const inst_opts *o, const wchar_t *exe)
{
    wchar_t where[MAX_PATH + 8];
    char why[400];
    DWORD err = ph__svc_admin_check_location(exe, where, sizeof(where) / sizeof(where[0]), why, sizeof(why));

    if (err == 0) {
        if (o->check_location)
            ph__svc_out(": %ls: only administrators (and SYSTEM) can change it, the DLLs beside it or the folders "
                   "above it\n", exe);
        return 0;
    }
    ph__svc_err(
            " install: %s: %ls is not a safe place for a service's program: %s (error %lu). Whoever can "
            "change it can run code as the service. Put %ls in a folder only administrators can change (e.g. "
            "under %%ProgramFiles%%)%s\n",
            o->allow_unsafe_location && !o->check_location ? "WARNING" : "refused", where, why, (unsigned long)err,
            exe,
            o->check_location || o->allow_unsafe_location ? "" : ", or accept the risk with --allow-unsafe-location");
    if (o->allow_unsafe_location && !o->check_location) {
        ph__svc_err(" install: WARNING: going on as --allow-unsafe-location says\n");
        return 0;
    }
    if (!o->check_location)
        ph__svc_err(" install: nothing was installed or changed\n");
    return PH_ADMIN_UNSAFE_LOCATION;
}

/* What the SCM takes for --account: NULL is LocalSystem. */
static int account_name(const char *account, const wchar_t *service, wchar_t *out, size_t size, int *local_system)
{
    *local_system = 0;
    if (account == NULL || equal_nocase(account, "LocalSystem")) {
        *local_system = 1;
        swprintf(out, size, L"LocalSystem");
    } else if (equal_nocase(account, "LocalService")) {
        swprintf(out, size, L"NT AUTHORITY\\LocalService");
    } else if (equal_nocase(account, "NetworkService")) {
        swprintf(out, size, L"NT AUTHORITY\\NetworkService");
    } else if (equal_nocase(account, "virtual")) {
        swprintf(out, size, L"NT SERVICE\\%ls", service);
    } else {
        ph__svc_err(" install: --account accepts LocalSystem, LocalService, NetworkService or virtual, "
                        "given \"%.80s\"\n", account);
        return PH_EXIT_USAGE;
    }
    return 0;
}

/* The protected pipe-name prefix an account may create pipes under (Windows 10 1709 and later: see
 * ph_pipe_name_normalize): LocalSystem is in the Administrators prefix's DACL, LocalService and NetworkService
 * each have their own, a virtual account (NT SERVICE\NAME) is in none. NULL for none. */
static const char *account_prefix(const char *account)
{
    if (account == NULL || equal_nocase(account, "LocalSystem"))
        return "Administrators";
    if (equal_nocase(account, "LocalService"))
        return "LocalService";
    if (equal_nocase(account, "NetworkService"))
        return "NetworkService";
    return NULL;
}

/* A new installation without a PipeName of its own (--set, or a kept configuration) serves the protected name
 * of its account, \\.\pipe\ProtectedPrefix\<prefix>\NAME, NAME the service's name: then no other user can
 * create the name first while the service is stopped, restarting or not yet started (FILE_FLAG_FIRST_PIPE_
 * INSTANCE only stops them sharing it). The price: clients name the longer pipe (`pipehost ping --service NAME`
 * finds it by itself). --no-protected-name keeps the plain default; an update keeps what it has, as moving the
 * pipe would strand its clients; a virtual account has no prefix. The value goes to o's --set list (slots for
 * it: parse allocates argc + 1) and cfg. Returns 0 or PH_EXIT_USAGE (printed). */
static int default_protected_name(inst_opts *o, svc_config *cfg, int existed, char *setting, size_t size)
{
    const char *prefix = account_prefix(o->account);
    svc_cfg_errors errs;

    if (existed || o->configure_only || o->no_protected_name || (cfg->set_mask & (1u << SVC_V_PIPE_NAME)))
        return 0;
    if (prefix == NULL) {
        ph__svc_out(": a virtual account can create no pipe under a protected prefix: serving %s, which another "
               "user could create while the service is not running (the client's server check still refuses them)\n",
               cfg->pipe_name);
        return 0;
    }
    memset(&errs, 0, sizeof(errs));
    snprintf(setting, size, "PipeName=ProtectedPrefix\\%s\\%s", prefix, o->name);
    if (ph__svc_config_set_string(cfg, SVC_V_PIPE_NAME, setting + sizeof("PipeName=") - 1, "install", &errs) != 0) {
        ph__svc_err(" install: %s (give --set PipeName=... or --no-protected-name)\n",
                errs.count ? errs.text[0] : "the protected pipe name does not fit");
        return PH_EXIT_USAGE;
    }
    o->sets[o->nsets++] = setting;
    ph__svc_out(": serving %s: only %s can create a pipe under this prefix (Windows 10 1709 and later), so no "
           "other user can take the name while the service is stopped; clients must use this name "
           "(--no-protected-name keeps the plain one)\n",
           cfg->pipe_name, equal_nocase(prefix, "Administrators") ? "Administrators and SYSTEM" : prefix);
    return 0;
}

/* A PipeName under a protected prefix that the service's account may not create pipes under would fail every
 * start (access denied on Windows 10 1709 and later): refused before anything changes. Returns 0 or
 * PH_EXIT_USAGE (printed). */
static int check_protected_name(const inst_opts *o, const svc_config *cfg, const wchar_t *account)
{
    const char *prefix = ph__svc_pipe_protected_prefix(cfg->pipe_name), *mine = account_prefix(o->account);

    if (prefix == NULL || o->configure_only || (mine != NULL && strcmp(prefix, mine) == 0))
        return 0;
    ph__svc_err(
            " install: PipeName %s is under ProtectedPrefix\\%s, where only %s can create pipes, but the "
            "service would run as %ls: use %s, or another PipeName\n",
            cfg->pipe_name, prefix, strcmp(prefix, "Administrators") == 0 ? "Administrators and SYSTEM" : prefix,
            account, strcmp(prefix, "Administrators") == 0 ? "--account LocalSystem" :
                     strcmp(prefix, "LocalService") == 0 ? "--account LocalService" : "--account NetworkService");
    ph__svc_err(" install: nothing was installed or changed\n");
    return PH_EXIT_USAGE;
}

/* Checks every --set Name=Value against the configuration already in force (or saved), with the service's own
 * rules. Returns 0, or PH_EXIT_USAGE with every problem printed. */
static int check_sets(const inst_opts *o, svc_config *cfg, svc_cfg_errors *errs)
{
    int i;
    unsigned k;

    for (i = 0; i < o->nsets; i++) {
        const char *eq = strchr(o->sets[i], '=');
        char name[64];
        const svc_value_def *def;
        size_t n = eq ? (size_t)(eq - o->sets[i]) : 0;

        if (eq == NULL || n == 0 || n >= sizeof(name)) {
            ph__svc_cfg_error_other(errs, "--set takes Name=Value (e.g. --set MaxMessageBytes=65536), given \"%.80s\"",
                                o->sets[i]);
            continue;
        }
        memcpy(name, o->sets[i], n);
        name[n] = '\0';
        def = ph__svc_value_by_name(name);
        if (def == NULL) {
            ph__svc_cfg_error_other(errs, "--set: unknown configuration value \"%s\" (%s help lists them)", name,
                                ph__svc_program());
            continue;
        }
        if (def->id == SVC_V_LOG_FILE && strchr(eq + 1, '%') != NULL) {
            /* Stored as REG_EXPAND_SZ; the service checks the expanded path, so that is what is checked. */
            wchar_t *w = ph__svc_to_wide(eq + 1, NULL), expanded[2048];
            char *u = NULL;
            if (w != NULL && ExpandEnvironmentStringsW(w, expanded, 2048) - 1u < 2047u)
                u = ph__svc_to_utf8(expanded, NULL);
            ph__svc_config_set_text(cfg, def->id, u ? u : eq + 1, "--set", errs);
            free(u);
            free(w);
        } else {
            ph__svc_config_set_text(cfg, def->id, eq + 1, "--set", errs);
        }
    }
    ph__svc_config_check(cfg, errs);
    ph__svc_config_check_sddl(cfg, errs);
    if (errs->count == 0)
        return 0;
    for (k = 0; k < errs->count && k < SVC_CFG_MAX_ERRORS; k++)
        ph__svc_err(" install: %s\n", errs->text[k]);
    ph__svc_err(" install: nothing was installed or changed\n");
    return PH_EXIT_USAGE;
}

/* Writes each --set value into key with its registry type. Returns 0 or a Win32 error. */
static DWORD write_sets(HKEY key, const inst_opts *o)
{
    int i;

    for (i = 0; i < o->nsets; i++) {
        const char *eq = strchr(o->sets[i], '=');
        char name[64];
        const svc_value_def *def;
        wchar_t *wname, *wvalue;
        LSTATUS st;

        memcpy(name, o->sets[i], (size_t)(eq - o->sets[i]));
        name[eq - o->sets[i]] = '\0';
        def = ph__svc_value_by_name(name);
        wname = ph__svc_to_wide(def->name, NULL);
        if (wname == NULL)
            return ERROR_NOT_ENOUGH_MEMORY;
        if (def->type == SVC_T_DWORD) {
            uint32_t v = SVC_INFINITE;
            DWORD d;
            if (ph__svc_parse_dword(eq + 1, &v) != 0)
                v = SVC_INFINITE; /* "never"/"infinite": the only words check_sets let through */
            d = v;
            st = RegSetValueExW(key, wname, 0, REG_DWORD, (const BYTE *)&d, sizeof(d));
        } else {
            DWORD type = (def->id == SVC_V_LOG_FILE && strchr(eq + 1, '%') != NULL) ? REG_EXPAND_SZ : REG_SZ;
            wvalue = ph__svc_to_wide(eq + 1, NULL);
            st = wvalue ? RegSetValueExW(key, wname, 0, type, (const BYTE *)wvalue,
                                         (DWORD)((wcslen(wvalue) + 1) * sizeof(wchar_t)))
                        : ERROR_NOT_ENOUGH_MEMORY;
            free(wvalue);
        }
        free(wname);
        if (st != ERROR_SUCCESS)
            return (DWORD)st;
        ph__svc_out(": set %s\n", o->sets[i]);
    }
    return 0;
}

/* ChangeServiceConfig2W for an optional setting: ERROR_INVALID_LEVEL (124) and the like mean this system does
 * not support the level, which is reported and skipped. Returns 0 or the Win32 error of a real failure. */
static DWORD config2(SC_HANDLE svc, DWORD level, void *info, const char *what)
{
    DWORD err;

    if (ChangeServiceConfig2W(svc, level, info))
        return 0;
    err = GetLastError();
    if (err == ERROR_INVALID_LEVEL || err == ERROR_CALL_NOT_IMPLEMENTED || err == ERROR_NOT_SUPPORTED) {
        ph__svc_err(" install: warning: %s not set: this system does not support it (error %lu)\n", what,
                (unsigned long)err);
        return 0;
    }
    ph__adm_fail(what, "ChangeServiceConfig2W", err);
    return err;
}

void ph__svc_admin_failure_actions(int off, SC_ACTION actions[SVC_ADMIN_FAILURE_ACTIONS], SERVICE_FAILURE_ACTIONSW *fa,
                               SERVICE_FAILURE_ACTIONS_FLAG *flag)
{
    static const SC_ACTION policy[SVC_ADMIN_FAILURE_ACTIONS] = {
        {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 10000}, {SC_ACTION_RESTART, 30000}, {SC_ACTION_NONE, 0}};

    memcpy(actions, policy, sizeof(policy));
    memset(fa, 0, sizeof(*fa));
    fa->dwResetPeriod = off ? 0 : SVC_ADMIN_FAILURE_RESET_S;
    fa->cActions = off ? 0 : SVC_ADMIN_FAILURE_ACTIONS;
    fa->lpsaActions = actions; /* with cActions 0, a non-NULL array deletes the actions */
    flag->fFailureActionsOnNonCrashFailures = off ? FALSE : TRUE;
}

/* Sets pipehost's recovery policy (ph__svc_admin_failure_actions), or with off clears the actions and the flag. */
static DWORD set_failure_actions(SC_HANDLE svc, int off)
{
    SC_ACTION actions[SVC_ADMIN_FAILURE_ACTIONS];
    SERVICE_FAILURE_ACTIONSW fa;
    SERVICE_FAILURE_ACTIONS_FLAG flag;
    union {
        SERVICE_FAILURE_ACTIONSW fa;
        BYTE raw[512];
    } back;
    DWORD err, need = 0;

    ph__svc_admin_failure_actions(off, actions, &fa, &flag);
    err = config2(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &fa, "failure actions");
    if (err == 0)
        err = config2(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag, "failure actions flag");
    if (err != 0 || off)
        return err;
    /* Some systems (Wine) accept the actions and keep nothing: say so rather than claim them. */
    if (!QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, back.raw, sizeof(back.raw), &need) ||
        back.fa.cActions != SVC_ADMIN_FAILURE_ACTIONS)
        ph__svc_err(" install: warning: failure actions were accepted but not stored by this system\n");
    else
        ph__svc_out(": failure actions: restart after 5 s, 10 s, 30 s, then none (it stays stopped); the count "
               "is reset after %u s without a failure; a non-zero exit code counts\n", SVC_ADMIN_FAILURE_RESET_S);
    return 0;
}

/* Event Log source: the executable holds the message table. Returns 0 or a Win32 error; *created when new. */
static DWORD register_event_source(const wchar_t *name, const wchar_t *exe, int *created)
{
    wchar_t *path = ph__adm_key_path(ADM_EVENTLOG_KEY, name);
    DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE, disp = 0;
    HKEY key = NULL;
    LSTATUS st;

    *created = 0;
    if (path == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    st = RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, REG_OPTION_NON_VOLATILE, KEY_SET_VALUE, NULL, &key, &disp);
    free(path);
    if (st != ERROR_SUCCESS)
        return (DWORD)st;
    *created = disp == REG_CREATED_NEW_KEY;
    st = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)exe,
                        (DWORD)((wcslen(exe) + 1) * sizeof(wchar_t)));
    if (st == ERROR_SUCCESS)
        st = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types, sizeof(types));
    RegCloseKey(key);
    return (DWORD)st;
}

static void delete_event_source(const wchar_t *name)
{
    wchar_t *path = ph__adm_key_path(ADM_EVENTLOG_KEY, name);
    if (path != NULL)
        RegDeleteKeyW(HKEY_LOCAL_MACHINE, path);
    free(path);
}

/* Writes the Parameters key: a configuration saved by `uninstall --keep-config` first (when restoring), then the
 * --set values. Returns 0 or a Win32 error. */
static DWORD write_parameters(const wchar_t *name, const inst_opts *o, const wchar_t *saved)
{
    wchar_t *path = ph__svc_params_key_path(name);
    HKEY key = NULL, from = NULL;
    LSTATUS st;
    DWORD err;

    if (path == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    st = RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, REG_OPTION_NON_VOLATILE, KEY_ALL_ACCESS, NULL, &key, NULL);
    free(path);
    if (st != ERROR_SUCCESS)
        return (DWORD)st;
    if (saved != NULL) {
        st = RegOpenKeyExW(HKEY_LOCAL_MACHINE, saved, 0, KEY_READ, &from);
        if (st == ERROR_SUCCESS) {
            st = RegCopyTreeW(from, NULL, key);
            RegCloseKey(from);
        }
        if (st != ERROR_SUCCESS) {
            RegCloseKey(key);
            return (DWORD)st;
        }
        ph__svc_out(": restored the configuration kept by uninstall --keep-config\n");
    }
    err = write_sets(key, o);
    RegCloseKey(key);
    return err;
}

/* What one install run sets up once the service exists, and what it created (for a rollback). */
typedef struct inst_state {
    const inst_opts *o;
    const ph_service_app *app;
    const svc_config *cfg;      /* the checked configuration: existing or kept values plus --set */
    SC_HANDLE svc;
    const wchar_t *wname, *saved;
    const wchar_t *event_exe;   /* the message file for the Event Log source: the service's own executable */
    int restore, local_system;
    int update;                 /* an existing service (not --configure-only): only what the options name changes */
    int account_given;          /* --account was given */
    const char *old_pipe;       /* update: the PipeName in force before --set */
    int created_event, created_dir;
    wchar_t sid[100], logdir[MAX_PATH];
} inst_state;

static void default_description(const char *pipe, const char *program, char *out, size_t size)
{
    snprintf(out, size, "Serves local requests on the named pipe %s (%s)", pipe, program);
}

/* Whether this run writes the description. A new service: always. A package's (--configure-only): when given, or
 * when --set changed the pipe its description names. An existing service: when given, or when --set moved the
 * pipe and the description is still the default one naming the old pipe (then it would be wrong); a description
 * of the administrator's own is theirs. */
static int writes_description(const inst_state *s)
{
    union {
        SERVICE_DESCRIPTIONW d;
        BYTE raw[4096];
    } cur;
    char old_text[400];
    wchar_t *wold;
    DWORD need = 0;
    int same;

    if (s->o->description != NULL)
        return 1;
    if (!s->update)
        return !s->o->configure_only || sets_value(s->o, "PipeName");
    if (!sets_value(s->o, "PipeName") || strcmp(s->old_pipe, s->cfg->pipe_name) == 0)
        return 0;
    if (!QueryServiceConfig2W(s->svc, SERVICE_CONFIG_DESCRIPTION, cur.raw, sizeof(cur.raw), &need) ||
        cur.d.lpDescription == NULL)
        return 0;
    default_description(s->old_pipe, s->app->program, old_text, sizeof(old_text));
    wold = ph__svc_to_wide(old_text, NULL);
    same = wold != NULL && wcscmp(wold, cur.d.lpDescription) == 0;
    free(wold);
    return same;
}

/* The service's optional settings, its Parameters, Event Log source and log folder. Returns 0 or the Win32
 * error of the step that failed (reported). */
static DWORD configure(inst_state *s)
{
    SERVICE_DESCRIPTIONW desc;
    SERVICE_DELAYED_AUTO_START_INFO delayed;
    SERVICE_SID_INFO sidinfo;
    SERVICE_PRESHUTDOWN_INFO pre;
    char default_desc[400], why[700];
    wchar_t moved[MAX_PATH + 80];
    DWORD err;

    if (writes_description(s)) {
        default_description(s->cfg->pipe_name, s->app->program, default_desc, sizeof(default_desc));
        desc.lpDescription = ph__svc_to_wide(s->o->description ? s->o->description : default_desc, NULL);
        err = desc.lpDescription ? config2(s->svc, SERVICE_CONFIG_DESCRIPTION, &desc, "description")
                                 : ERROR_NO_UNICODE_TRANSLATION;
        free(desc.lpDescription);
        if (err != 0)
            return err;
    }
    /* An existing service keeps its failure actions (an administrator may have changed them) unless told. */
    if ((!s->update || s->o->failure_actions || s->o->no_failure_actions) &&
        (err = set_failure_actions(s->svc, s->o->no_failure_actions)) != 0)
        return err;
    if ((!s->o->configure_only && !s->update) || s->o->start != NULL) {
        delayed.fDelayedAutostart = s->o->start != NULL && equal_nocase(s->o->start, "delayed-auto");
        if ((err = config2(s->svc, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed, "delayed auto-start")) != 0)
            return err;
    }
    /* The service SID in the token: the log folder's ACE for it takes effect, and the pipe's SDDL may name it.
     * An existing service got it when installed; it is set again with a new account. */
    sidinfo.dwServiceSidType = SERVICE_SID_TYPE_UNRESTRICTED;
    if ((!s->update || s->account_given) &&
        (err = config2(s->svc, SERVICE_CONFIG_SERVICE_SID_INFO, &sidinfo, "service SID type")) != 0)
        return err;
    /* Set here once, not at every start: a LocalService or virtual account may not change its own configuration. */
    pre.dwPreshutdownTimeout = s->cfg->preshutdown_timeout_ms;
    if ((err = config2(s->svc, SERVICE_CONFIG_PRESHUTDOWN_INFO, &pre, "preshutdown timeout")) != 0)
        return err;

    if ((err = write_parameters(s->wname, s->o, s->restore ? s->saved : NULL)) != 0) {
        ph__adm_fail("cannot write the configuration (Parameters)", "RegSetValueExW", err);
        return err;
    }
    if (s->event_exe == NULL) {
        ph__svc_err(" install: warning: the service's executable cannot be told from its binary path: "
                        "the Event Log source is left as it is\n");
    } else if ((err = register_event_source(s->wname, s->event_exe, &s->created_event)) != 0) {
        ph__adm_fail("cannot register the Event Log source", "RegSetValueExW", err);
        return err;
    } else {
        ph__svc_out(": Event Log source %s (messages from %ls)\n", s->o->name, s->event_exe);
    }
    s->sid[0] = L'\0';
    if (!s->local_system &&
        (err = ph__svc_admin_service_sid(s->wname, s->sid, sizeof(s->sid) / sizeof(s->sid[0]))) != 0) {
        ph__adm_fail("cannot compute the service SID", "CryptHashData", err);
        return err;
    }
    err = ph__svc_admin_prepare_log_dir(s->local_system ? NULL : s->sid, s->logdir,
                                    sizeof(s->logdir) / sizeof(s->logdir[0]), &s->created_dir, moved,
                                    sizeof(moved) / sizeof(moved[0]), why, sizeof(why));
    if (moved[0] != L'\0')
        ph__svc_out(": the log folder %ls was not made by %s (%s): moved aside, untouched, to %ls; a new "
                "one is created. Look through it, then delete it\n", s->logdir, ph__svc_product_name(), why, moved);
    if (err != 0) {
        if (moved[0] == L'\0' && why[0] != '\0')
            ph__svc_err(" install: the log folder %ls was not made by %s (%s) and cannot be moved aside: remove it "
                    "(or move it away) and install again\n", s->logdir, ph__svc_product_name(), why);
        ph__adm_fail("cannot prepare the log folder", moved[0] == L'\0' && why[0] != '\0' ? "moving it aside"
                                                                                       : "creating or securing it", err);
        return err;
    }
    ph__svc_out(": log folder %ls (owner SYSTEM; SYSTEM and Administrators full control%s%ls%s, Users read)\n",
            s->logdir, s->local_system ? "" : ", ", s->local_system ? L"" : s->sid,
            s->local_system ? "" : " add files, modify its files");
    return 0;
}

/* What an existing service has: install changes none of it unless an option says so. */
typedef struct existing_svc {
    DWORD start_type;
    int delayed;
    const char *account_kw;       /* LocalSystem, LocalService, NetworkService, virtual, or "other" (a user) */
    int has_exe;                  /* exe was found in binpath */
    wchar_t account[300], binpath[MAX_PATH + 8], exe[MAX_PATH + 1], display[300];
} existing_svc;

/* The executable in a service's command line: the quoted first word, or an unquoted path up to and including
 * ".exe" (wixl writes paths with spaces unquoted). Returns 1, or 0 when there is none. */
static int binary_exe(const wchar_t *cmdline, wchar_t *out, size_t size)
{
    const wchar_t *start = cmdline, *end = NULL, *p;
    size_t n;

    if (*start == L'"') {
        start++;
        end = wcschr(start, L'"');
    } else {
        for (p = start; *p != L'\0' && end == NULL; p++)
            if (_wcsnicmp(p, L".exe", 4) == 0 && (p[4] == L'\0' || p[4] == L' '))
                end = p + 4;
    }
    if (end == NULL || end == start || (n = (size_t)(end - start)) >= size)
        return 0;
    memcpy(out, start, n * sizeof(wchar_t));
    out[n] = L'\0';
    return 1;
}

/* Reads what an existing service has. Returns 0 or PH_ADMIN_FAILED (printed). */
static int read_existing(SC_HANDLE svc, const wchar_t *wname, existing_svc *e)
{
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } cfg;
    union {
        SERVICE_DELAYED_AUTO_START_INFO d;
        BYTE raw[64];
    } delayed;
    const wchar_t *acct;
    wchar_t virt[300];
    DWORD need = 0;

    memset(e, 0, sizeof(*e));
    if (!QueryServiceConfigW(svc, &cfg.qc, sizeof(cfg.raw), &need))
        return ph__adm_fail("cannot read the service's settings", "QueryServiceConfigW", GetLastError());
    if (QueryServiceConfig2W(svc, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, delayed.raw, sizeof(delayed.raw), &need))
        e->delayed = delayed.d.fDelayedAutostart != 0;
    e->start_type = cfg.qc.dwStartType;
    acct = cfg.qc.lpServiceStartName && cfg.qc.lpServiceStartName[0] ? cfg.qc.lpServiceStartName : L"LocalSystem";
    swprintf(e->account, sizeof(e->account) / sizeof(e->account[0]), L"%ls", acct);
    swprintf(virt, sizeof(virt) / sizeof(virt[0]), L"NT SERVICE\\%ls", wname);
    e->account_kw = _wcsicmp(acct, L"LocalSystem") == 0 || _wcsicmp(acct, L".\\LocalSystem") == 0 ? "LocalSystem"
                    : _wcsicmp(acct, L"NT AUTHORITY\\LocalService") == 0                           ? "LocalService"
                    : _wcsicmp(acct, L"NT AUTHORITY\\NetworkService") == 0                         ? "NetworkService"
                    : _wcsicmp(acct, virt) == 0                                                    ? "virtual"
                                                                                                   : "other";
    swprintf(e->binpath, sizeof(e->binpath) / sizeof(e->binpath[0]), L"%ls",
             cfg.qc.lpBinaryPathName ? cfg.qc.lpBinaryPathName : L"");
    swprintf(e->display, sizeof(e->display) / sizeof(e->display[0]), L"%ls",
             cfg.qc.lpDisplayName ? cfg.qc.lpDisplayName : L"");
    e->has_exe = binary_exe(e->binpath, e->exe, sizeof(e->exe) / sizeof(e->exe[0]));
    return 0;
}

static const char *start_text(DWORD type, int delayed)
{
    return type == SERVICE_AUTO_START ? (delayed ? "delayed-auto" : "auto")
           : type == SERVICE_DEMAND_START ? "demand"
           : type == SERVICE_DISABLED     ? "disabled"
                                          : "boot/system";
}

/* install over an existing service changes only what the options name: its account, start type, display name
 * and binary path (--update-binary-path: this pipehost.exe) with ChangeServiceConfigW, nothing when none is
 * given. Says what changed and what was kept. Returns 0 or PH_ADMIN_… (printed). */
static int update_service(SC_HANDLE svc, const inst_opts *o, int account_given, const existing_svc *e,
                          DWORD start_type, const wchar_t *account, const wchar_t *binpath, const wchar_t *wdisplay)
{
    if ((account_given || o->start != NULL || o->display != NULL || o->update_binary_path) &&
        !ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, o->start ? start_type : SERVICE_NO_CHANGE, SERVICE_NO_CHANGE,
                              o->update_binary_path ? binpath : NULL, NULL, NULL, NULL,
                              account_given ? account : NULL, NULL, o->display ? wdisplay : NULL))
        return ph__adm_fail("cannot update the service", "ChangeServiceConfigW", GetLastError());
    ph__svc_out(": service %s exists: only what the options name is changed\n", o->name);
    ph__svc_out(":   account       %ls%s\n", account_given ? account : e->account,
           account_given ? " (changed)" : " (kept; --account changes it)");
    ph__svc_out(":   start         %s%s\n", o->start ? o->start : start_text(e->start_type, e->delayed),
           o->start ? " (changed)" : " (kept; --start changes it)");
    ph__svc_out(":   display name  %ls%s\n", o->display ? wdisplay : e->display,
           o->display ? " (changed)" : " (kept; --display-name changes it)");
    ph__svc_out(":   binary        %ls%s\n", o->update_binary_path ? binpath : e->binpath,
           o->update_binary_path ? " (changed)" : " (kept; --update-binary-path points it at this executable)");
    ph__svc_out(":   description   %s\n", o->description ? "(changed)" : "(kept; --description changes it)");
    ph__svc_out(":   failure actions %s\n", o->failure_actions      ? "(set: restart after 5, 10, 30 s)"
                                           : o->no_failure_actions ? "(removed)"
                                                                   : "(kept; --failure-actions or "
                                                                     "--no-failure-actions change them)");
    ph__svc_out(":   Parameters    kept but for --set (`%s config` changes them without install)\n", ph__svc_program());
    return 0;
}

int ph__svc_admin_install(int argc, char **argv, const ph_service_app *app)
{
    static const char *const flags[] = {"--no-failure-actions", "--start-now", "--configure-only",
                                        "--no-protected-name", "--failure-actions", "--update-binary-path",
                                        "--allow-unsafe-location", "--check-location", NULL};
    static const char *const values[] = {"--name", "--service", "--display-name", "--description", "--start",
                                         "--account", "--set", "--set-unless-empty", NULL};
    inst_opts o;
    svc_config cfg;
    svc_cfg_errors errs;
    wchar_t *wname = NULL, *wdisplay = NULL, *saved = NULL, *params = NULL;
    wchar_t exe[MAX_PATH + 1], binpath[MAX_PATH + 8], account[300];
    char protected_setting[SVC_PIPE_NAME_SIZE + 16];
    char old_pipe[SVC_PIPE_NAME_SIZE];
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS_PROCESS st;
    inst_state ist;
    existing_svc ex;
    DWORD start_type = SERVICE_AUTO_START, err = 0, n;
    int code = PH_EXIT_USAGE, existed = 0, restore = 0, local_system = 1, found = 0, created_service = 0, rc;
    int update = 0, account_given = 0;

    ph__svc_config_init(&cfg, app->default_pipe);
    memset(&errs, 0, sizeof(errs));
    memset(&o, 0, sizeof(o));
    for (rc = 1; rc < argc; rc++)
        if (is(argv[rc], "--configure-only") && check_package_args(argc, argv) != 0)
            goto out;
    if (parse(argc, argv, flags, values, &o) != 0)
        goto out;
    if (o.name == NULL)
        o.name = app->program;
    if ((wname = ph__adm_service_name(o.name)) == NULL)
        goto out;
    if (o.start != NULL && !equal_nocase(o.start, "auto") && !equal_nocase(o.start, "delayed-auto") &&
        !equal_nocase(o.start, "demand")) {
        ph__svc_err(" install: --start accepts auto, delayed-auto or demand, given \"%.80s\"\n", o.start);
        goto out;
    }
    if (o.start != NULL && equal_nocase(o.start, "demand"))
        start_type = SERVICE_DEMAND_START;
    if (account_name(o.account, wname, account, sizeof(account) / sizeof(account[0]), &local_system) != 0)
        goto out;
    if (o.configure_only && o.account != NULL) {
        ph__svc_err(" install: --configure-only leaves the account to the package; --account not "
                        "accepted with it\n");
        goto out;
    }
    if (o.failure_actions && o.no_failure_actions) {
        ph__svc_err(" install: --failure-actions and --no-failure-actions contradict each other\n");
        goto out;
    }
    account_given = o.account != NULL;
    n = GetModuleFileNameW(NULL, exe, MAX_PATH + 1);
    if (n == 0 || n > MAX_PATH) {
        code = ph__adm_fail("cannot find this program's path", "GetModuleFileNameW",
                        n == 0 ? GetLastError() : ERROR_INSUFFICIENT_BUFFER);
        goto out;
    }
    if (o.check_location) {
        code = check_location(&o, exe);
        goto out;
    }
    /* Quoted: an unquoted path with spaces lets whoever can write C:\Program.exe run as the service. */
    swprintf(binpath, sizeof(binpath) / sizeof(binpath[0]), L"\"%ls\"", exe);

    scm = ph__adm_open_scm(SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE, &code);
    if (scm == NULL)
        goto out;
    svc = OpenServiceW(scm, wname, SERVICE_ALL_ACCESS);
    if (svc == NULL && (err = GetLastError()) != ERROR_SERVICE_DOES_NOT_EXIST) {
        code = ph__adm_fail("cannot open the service", "OpenServiceW", err);
        goto out;
    }
    existed = svc != NULL;
    if (o.configure_only && !existed) {
        ph__svc_err(" install: --configure-only: service %s is not installed\n", o.name);
        code = PH_ADMIN_NOT_INSTALLED;
        goto out;
    }
    /* Installing over a service changes only what the options name. Its account is the one in force (for the
     * protected-name check and the log folder), not LocalSystem by default. */
    update = existed && !o.configure_only;
    if (update) {
        if ((code = read_existing(svc, wname, &ex)) != 0)
            goto out;
        code = PH_EXIT_USAGE;
        if (!account_given) {
            o.account = ex.account_kw;
            local_system = ex.account_kw != NULL && strcmp(ex.account_kw, "LocalSystem") == 0;
            swprintf(account, sizeof(account) / sizeof(account[0]), L"%ls", ex.account);
        }
    }

    /* This executable is registered for a new service, a package's (which quotes the path) and on request. */
    if ((!update || o.update_binary_path) && (code = check_location(&o, exe)) != 0)
        goto out;
    code = PH_EXIT_USAGE;

    /* The configuration the service will read: what it has (or what uninstall --keep-config kept) plus --set.
     * It must pass the service's own checks before anything changes. */
    saved = ph__adm_saved_key(wname, 0);
    params = ph__svc_params_key_path(wname);
    if (saved == NULL || params == NULL) {
        ph__svc_err(": out of memory\n");
        code = PH_ADMIN_FAILED;
        goto out;
    }
    /* A kept configuration is restored by a new installation, and by a package's --configure-only (the MSI has
     * just created the service, with default Parameters that the kept values override). */
    restore = (!existed || o.configure_only) && ph__adm_key_exists(saved);
    if (existed)
        ph__svc_config_load_key(params, &cfg, &errs, &found);
    memcpy(old_pipe, cfg.pipe_name, sizeof(old_pipe));
    if (restore)
        ph__svc_config_load_key(saved, &cfg, &errs, &found);
    if ((code = check_sets(&o, &cfg, &errs)) != 0)
        goto out;
    if ((code = default_protected_name(&o, &cfg, existed, protected_setting, sizeof(protected_setting))) != 0 ||
        (code = check_protected_name(&o, &cfg, account)) != 0)
        goto out;
    code = PH_ADMIN_FAILED;

    if (!o.configure_only) {
        wdisplay = ph__svc_to_wide(o.display ? o.display : o.name, NULL);
        if (wdisplay == NULL) {
            ph__svc_err(" install: --display-name is not valid text\n");
            code = PH_EXIT_USAGE;
            goto out;
        }
        if (!existed) {
            svc = CreateServiceW(scm, wname, wdisplay, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS, start_type,
                                 SERVICE_ERROR_NORMAL, binpath, NULL, NULL, NULL, local_system ? NULL : account, NULL);
            if (svc == NULL) {
                code = ph__adm_fail("cannot create the service", "CreateServiceW", GetLastError());
                goto out;
            }
            created_service = 1;
            ph__svc_out(": created service %s (%ls, start %s, account %ls)\n", o.name, binpath,
                   o.start ? o.start : "auto", account);
        } else if ((code = update_service(svc, &o, account_given, &ex, start_type, account, binpath, wdisplay)) !=
                   0) {
            goto out;
        }
        code = PH_ADMIN_FAILED;
    }
    /* The package created the service; its path may have been written unquoted (wixl does): quote it. */
    if (o.configure_only && !ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, binpath,
                                                  NULL, NULL, NULL, NULL, NULL, NULL)) {
        code = ph__adm_fail("cannot update the service's path", "ChangeServiceConfigW", GetLastError());
        goto out;
    }
    memset(&ist, 0, sizeof(ist));
    ist.o = &o;
    ist.app = app;
    ist.cfg = &cfg;
    ist.svc = svc;
    ist.wname = wname;
    /* The message file is the executable the service runs: an update that keeps the binary path keeps it. */
    ist.event_exe = !update || o.update_binary_path ? exe : ex.has_exe ? ex.exe : NULL;
    ist.saved = saved;
    ist.restore = restore;
    ist.local_system = local_system;
    ist.update = update;
    ist.account_given = account_given;
    ist.old_pipe = old_pipe;
    err = configure(&ist);
    if (err != 0) {
        /* Only what this run created is taken back; an existing installation keeps what it had. */
        if (ist.created_dir)
            RemoveDirectoryW(ist.logdir);
        if (ist.created_event)
            delete_event_source(wname);
        if (created_service) {
            DeleteService(svc);
            ph__svc_err(" install: rolled back: service %s removed\n", o.name);
        }
        code = err == ERROR_ACCESS_DENIED ? PH_ADMIN_DENIED : PH_ADMIN_FAILED;
        goto out;
    }
    if (restore) {
        /* Used up: the next uninstall decides anew. The parents go too once empty (RegDeleteKeyW leaves a key
         * that still has subkeys). */
        wchar_t *parent = ph__adm_saved_key(L"", 1);
        RegDeleteTreeW(HKEY_LOCAL_MACHINE, saved);
        if (parent != NULL) {
            RegDeleteKeyW(HKEY_LOCAL_MACHINE, parent);
            *wcsrchr(parent, L'\\') = L'\0'; /* HKLM\SOFTWARE\<root> */
            RegDeleteKeyW(HKEY_LOCAL_MACHINE, parent);
        }
        free(parent);
    }

    code = 0;
    memset(&st, 0, sizeof(st));
    rc = ph__adm_wait_state(svc, SERVICE_RUNNING, 0, &st);
    if (rc && existed)
        ph__svc_out(": %s is running: `%s reload --name %s` applies the live values; restart it for the "
               "others\n", o.name, ph__svc_program(), o.name);
    else if (o.start_now && !rc) {
        if (!StartServiceW(svc, 0, NULL) && (err = GetLastError()) != ERROR_SERVICE_ALREADY_RUNNING)
            ph__svc_err(": StartServiceW: error %lu\n", (unsigned long)err);
        if (ph__adm_wait_state(svc, SERVICE_RUNNING, ADM_START_WAIT_MS, &st)) {
            ph__svc_out(": %s is running (pid %lu), serving %s\n", o.name, (unsigned long)st.dwProcessId,
                   cfg.pipe_name);
        } else {
            ph__svc_err(": %s did not start: state %s, exit code %lu, service-specific code %lu; its log "
                            "is in %ls (or LogFile) and the Event Log\n", o.name, ph__adm_state_name(st.dwCurrentState),
                    (unsigned long)st.dwWin32ExitCode, (unsigned long)st.dwServiceSpecificExitCode, ist.logdir);
            code = PH_ADMIN_NOT_STARTED;
        }
    }
    if (code == 0)
        ph__svc_out(": %s installed%s\n", o.name, existed ? " (updated)" : "");
out:
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    ph__svc_config_free(&cfg);
    free(o.sets);
    free(wname);
    free(wdisplay);
    free(saved);
    free(params);
    return code;
}

int ph__svc_admin_uninstall(int argc, char **argv, const ph_service_app *app)
{
    static const char *const flags[] = {"--keep-config", "--keep-logs", NULL};
    static const char *const values[] = {"--name", "--service", NULL};
    inst_opts o;
    wchar_t *wname = NULL, *params = NULL, *saved = NULL, *event = NULL, *log = NULL;
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS_PROCESS st;
    SERVICE_STATUS ss;
    HKEY from = NULL, to = NULL;
    DWORD err;
    int code = PH_EXIT_USAGE, complete = 1; /* 0: not stopped, or not deleted, in time */

    if (parse(argc, argv, flags, values, &o) != 0)
        goto out;
    if (o.name == NULL)
        o.name = app->program;
    if ((wname = ph__adm_service_name(o.name)) == NULL)
        goto out;
    params = ph__svc_params_key_path(wname);
    saved = ph__adm_saved_key(wname, 0);
    event = ph__adm_key_path(ADM_EVENTLOG_KEY, wname);
    if (params == NULL || saved == NULL || event == NULL) {
        code = PH_ADMIN_FAILED;
        goto out;
    }
    scm = ph__adm_open_scm(SC_MANAGER_CONNECT, &code);
    if (scm == NULL)
        goto out;
    svc = OpenServiceW(scm, wname, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE);
    if (svc == NULL) {
        err = GetLastError();
        if (err != ERROR_SERVICE_DOES_NOT_EXIST) {
            code = ph__adm_fail("cannot open the service", "OpenServiceW", err);
            goto out;
        }
        if (ph__adm_key_exists(event)) {
            RegDeleteKeyW(HKEY_LOCAL_MACHINE, event);
            ph__svc_out(": removed a leftover Event Log source %s\n", o.name);
        }
        ph__svc_out(": service %s is not installed: nothing to remove\n", o.name);
        code = 0;
        goto out;
    }

    /* Stop first, bounded: the service drains its clients (DrainTimeoutMs) before it reports STOPPED. */
    if (!ph__adm_wait_state(svc, SERVICE_STOPPED, 0, &st)) {
        ph__svc_out(": stopping %s (pid %lu)\n", o.name, (unsigned long)st.dwProcessId);
        if (!ControlService(svc, SERVICE_CONTROL_STOP, &ss) && (err = GetLastError()) != ERROR_SERVICE_NOT_ACTIVE &&
            err != ERROR_SERVICE_CANNOT_ACCEPT_CTRL) {
            code = ph__adm_fail("cannot stop the service", "ControlService", err);
            goto out;
        }
        complete = ph__adm_wait_state(svc, SERVICE_STOPPED, ADM_STOP_WAIT_MS, &st);
        if (!complete)
            ph__svc_err(": warning: %s is still %s after %u s; it is removed once it stops\n", o.name,
                    ph__adm_state_name(st.dwCurrentState), ADM_STOP_WAIT_MS / 1000);
    }
    if (o.keep_config && RegOpenKeyExW(HKEY_LOCAL_MACHINE, params, 0, KEY_READ, &from) == ERROR_SUCCESS) {
        RegDeleteTreeW(HKEY_LOCAL_MACHINE, saved);
        err = (DWORD)RegCreateKeyExW(HKEY_LOCAL_MACHINE, saved, 0, NULL, REG_OPTION_NON_VOLATILE, KEY_ALL_ACCESS,
                                     NULL, &to, NULL);
        if (err == 0)
            err = (DWORD)RegCopyTreeW(from, NULL, to);
        if (err != 0) {
            code = ph__adm_fail("cannot keep the configuration (nothing removed)", "RegCopyTreeW", err);
            goto out;
        }
        ph__svc_out(": configuration kept in HKLM\\%ls until the next install of %s\n", saved, o.name);
    }
    if (!DeleteService(svc)) {
        code = ph__adm_fail("cannot delete the service", "DeleteService", GetLastError());
        goto out;
    }
    /* DeleteService only marks it: it goes once every handle is closed (and its process has ended). Wait a
     * little, so that on return the name is free again, or say why it is not. */
    CloseServiceHandle(svc);
    svc = NULL;
    if (!ph__adm_wait_deleted(scm, wname, 15000)) {
        ph__svc_err(": warning: %s is marked for deletion: Windows removes it once every program "
                        "holding it open (services.msc, Event Viewer) closes it\n", o.name);
        complete = 0;
    }
    ph__svc_out(": service %s deleted\n", o.name);
    if (ph__adm_key_exists(event)) {
        err = (DWORD)RegDeleteKeyW(HKEY_LOCAL_MACHINE, event);
        if (err != 0)
            ph__adm_fail("cannot remove the Event Log source", "RegDeleteKeyW", err);
        else
            ph__svc_out(": Event Log source %s removed\n", o.name);
    }
    if (!o.keep_logs && ph__svc_default_log_path(wname, &log) == 0) {
        size_t n = wcslen(log);
        wchar_t *rotated = malloc((n + 3) * sizeof(wchar_t));
        if (rotated != NULL) {
            swprintf(rotated, n + 3, L"%ls.1", log);
            DeleteFileW(rotated);
            free(rotated);
        }
        if (DeleteFileW(log))
            ph__svc_out(": log %ls removed (--keep-logs keeps it)\n", log);
        /* The folder goes only when no other service's log is left in it. */
        while (n > 0 && log[n - 1] != L'\\')
            n--;
        if (n > 0) {
            log[n - 1] = L'\0';
            RemoveDirectoryW(log);
        }
    }
    code = complete ? 0 : PH_ADMIN_FAILED;
    if (code == 0)
        ph__svc_out(": %s uninstalled\n", o.name);
out:
    if (from != NULL)
        RegCloseKey(from);
    if (to != NULL)
        RegCloseKey(to);
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    free(o.sets);
    free(wname);
    free(params);
    free(saved);
    free(event);
    free(log);
    return code;
}
