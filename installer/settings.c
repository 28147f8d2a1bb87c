/* settings.c — `pipehost config`: shows an installed service's configuration and changes it, checked first. */
#include "admin_int.h"
#include "appstate.h"

#include "config_win.h"
#include "exitcodes.h"
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct cfg_opts {
    const char *name;
    const char **sets;   /* "Name=Value", in command-line order */
    const char **unsets; /* "Name" */
    int nsets, nunsets;
} cfg_opts;

/* --name/--service NAME, --set Name=Value, --unset Name ("--opt VALUE" or "--opt=VALUE"). Returns 0 or
 * PH_EXIT_USAGE (printed). */
static int parse(int argc, char **argv, cfg_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->sets = calloc((size_t)argc + 1, sizeof(*o->sets));
    o->unsets = calloc((size_t)argc + 1, sizeof(*o->unsets));
    if (o->sets == NULL || o->unsets == NULL) {
        ph__svc_err(": out of memory\n");
        return PH_EXIT_USAGE;
    }
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '='), *value;
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        int is_name = (len == 6 && strncmp(arg, "--name", 6) == 0) || (len == 9 && strncmp(arg, "--service", 9) == 0);
        int is_set = len == 5 && strncmp(arg, "--set", 5) == 0, is_unset = len == 7 && strncmp(arg, "--unset", 7) == 0;

        if (!is_name && !is_set && !is_unset) {
            ph__svc_err(" config: unknown option or argument \"%.80s\" (see %s config --help)\n", arg,
                    ph__svc_program());
            return PH_EXIT_USAGE;
        }
        value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (value == NULL || value[0] == '\0') {
            ph__svc_err(" config: option %.*s needs a value\n", (int)len, arg);
            return PH_EXIT_USAGE;
        }
        if (is_name)
            o->name = value;
        else if (is_set)
            o->sets[o->nsets++] = value;
        else
            o->unsets[o->nunsets++] = value;
    }
    return 0;
}

/* The registry value name of a --set ("Name=Value" -> "Name") into out; 0 if it has no '=' or is too long. */
static int set_name(const char *set, char *out, size_t size)
{
    const char *eq = strchr(set, '=');
    size_t n = eq ? (size_t)(eq - set) : 0;

    if (n == 0 || n >= size)
        return 0;
    memcpy(out, set, n);
    out[n] = '\0';
    return 1;
}

/* Whether the service's Parameters key holds a value of that name (any type). */
static int registry_has(const wchar_t *params, const char *name)
{
    wchar_t *w = ph__svc_to_wide(name, NULL);
    LSTATUS st = w ? RegGetValueW(HKEY_LOCAL_MACHINE, params, w, RRF_RT_ANY | RRF_NOEXPAND, NULL, NULL, NULL)
                   : ERROR_NOT_ENOUGH_MEMORY;

    free(w);
    return st == ERROR_SUCCESS;
}

/* Puts value id back to its default in cfg, as the service sees a value that is absent. */
static void reset_to_default(svc_config *cfg, svc_value_id id, const char *default_pipe)
{
    svc_config def;
    svc_cfg_errors ignored;
    char text[SVC_PIPE_NAME_SIZE + 16];

    if (id == SVC_V_SDDL) {
        free(cfg->sddl);
        cfg->sddl = NULL;
    } else if (id == SVC_V_LOG_FILE) {
        free(cfg->log_file);
        cfg->log_file = NULL;
    } else {
        /* Every other value's default, as text, is accepted by its own setter. */
        memset(&ignored, 0, sizeof(ignored));
        ph__svc_config_init(&def, default_pipe);
        ph__svc_config_value_text(&def, id, text, sizeof(text));
        ph__svc_config_set_text(cfg, id, text, "default", &ignored);
        ph__svc_config_free(&def);
    }
    cfg->set_mask &= ~(1u << id);
}

/* Whether a loader error is about a value this command replaces or removes (changed[] lists the registry names):
 * then the change fixes it and it is not held against the result. The loaders name the value in a fixed form. */
static int error_is_replaced(const char *text, const char *const *changed, int n)
{
    char head[120];
    int i;

    for (i = 0; i < n; i++) {
        snprintf(head, sizeof(head), "invalid configuration value %s (registry)", changed[i]);
        if (_strnicmp(text, head, strlen(head)) == 0)
            return 1;
        snprintf(head, sizeof(head), "unknown configuration value \"%s\" (registry)", changed[i]);
        if (_strnicmp(text, head, strlen(head)) == 0)
            return 1;
    }
    return 0;
}

/* The protected prefix the service's account may create pipes under (see install.c's account_prefix), or NULL. */
static const char *service_prefix(SC_HANDLE svc, wchar_t *account, size_t size)
{
    union {
        QUERY_SERVICE_CONFIGW qc;
        BYTE raw[8192];
    } q;
    DWORD need = 0;
    const wchar_t *a;

    if (!QueryServiceConfigW(svc, &q.qc, sizeof(q.raw), &need)) {
        swprintf(account, size, L"?");
        return NULL;
    }
    a = q.qc.lpServiceStartName && q.qc.lpServiceStartName[0] ? q.qc.lpServiceStartName : L"LocalSystem";
    swprintf(account, size, L"%ls", a);
    if (_wcsicmp(a, L"LocalSystem") == 0 || _wcsicmp(a, L".\\LocalSystem") == 0)
        return "Administrators";
    if (_wcsicmp(a, L"NT AUTHORITY\\LocalService") == 0)
        return "LocalService";
    if (_wcsicmp(a, L"NT AUTHORITY\\NetworkService") == 0)
        return "NetworkService";
    return NULL;
}

/* Builds the configuration the service would read after the change and checks it with the service's rules: the
 * registry's values, the --set values over them, the --unset ones back to their defaults. Every problem is put
 * in errs. changed gets the registry names touched (for the caller). */
static void check_change(const cfg_opts *o, const wchar_t *params, const char *default_pipe, svc_config *cfg,
                         svc_cfg_errors *errs, const char **changed, char (*names)[64])
{
    svc_cfg_errors loaded;
    int i, j, n = 0, found = 0;
    unsigned k;

    /* Names first: each must be known (an --unset may also remove a stray value the service refuses), once. */
    for (i = 0; i < o->nsets + o->nunsets; i++) {
        const char *item = i < o->nsets ? o->sets[i] : o->unsets[i - o->nsets];
        const svc_value_def *def;

        if (i < o->nsets ? !set_name(item, names[n], sizeof(names[n]))
                         : snprintf(names[n], sizeof(names[n]), "%s", item) >= (int)sizeof(names[n])) {
            ph__svc_cfg_error_other(errs, "--set takes Name=Value (e.g. --set MaxMessageBytes=65536), given \"%.80s\"",
                                item);
            continue;
        }
        def = ph__svc_value_by_name(names[n]);
        if (def != NULL)
            snprintf(names[n], sizeof(names[n]), "%s", def->name); /* the registry's spelling */
        else if (i < o->nsets || !registry_has(params, names[n])) {
            ph__svc_cfg_error_other(errs, "%s: unknown configuration value \"%.60s\" (%s help lists them)",
                                i < o->nsets ? "--set" : "--unset", names[n], ph__svc_program());
            continue;
        }
        for (j = 0; j < n; j++)
            if (_stricmp(names[j], names[n]) == 0)
                break;
        if (j < n) {
            ph__svc_cfg_error_other(errs, "%s is given more than once", names[n]);
            continue;
        }
        changed[n] = names[n];
        n++;
    }
    changed[n] = NULL;
    if (errs->count > 0)
        return;

    memset(&loaded, 0, sizeof(loaded));
    ph__svc_config_load_key(params, cfg, &loaded, &found);
    for (k = 0; k < loaded.count && k < SVC_CFG_MAX_ERRORS; k++)
        if (!error_is_replaced(loaded.text[k], changed, n))
            ph__svc_cfg_error_other(errs, "%s (already in the registry: --set or --unset it in the same command)", loaded.text[k]);
    if (loaded.count > SVC_CFG_MAX_ERRORS)
        ph__svc_cfg_error_other(errs, "... and %u more error(s) already in the registry",
                            loaded.count - SVC_CFG_MAX_ERRORS);

    for (i = 0; i < o->nsets; i++) {
        const char *value = strchr(o->sets[i], '=') + 1;
        const svc_value_def *def = ph__svc_value_by_name(changed[i]);

        if (def->id == SVC_V_LOG_FILE && strchr(value, '%') != NULL) {
            /* Written as REG_EXPAND_SZ; the service checks the expanded path, so that is what is checked. */
            wchar_t *w = ph__svc_to_wide(value, NULL), expanded[2048];
            char *u = NULL;
            if (w != NULL && ExpandEnvironmentStringsW(w, expanded, 2048) - 1u < 2047u)
                u = ph__svc_to_utf8(expanded, NULL);
            ph__svc_config_set_text(cfg, def->id, u ? u : value, "--set", errs);
            free(u);
            free(w);
        } else {
            ph__svc_config_set_text(cfg, def->id, value, "--set", errs);
        }
    }
    for (i = o->nsets; i < n; i++) {
        const svc_value_def *def = ph__svc_value_by_name(changed[i]);
        if (def != NULL)
            reset_to_default(cfg, def->id, default_pipe);
    }
    ph__svc_config_check(cfg, errs);
    ph__svc_config_check_sddl(cfg, errs);
}

/* Writes the --set values with their registry types and deletes the --unset ones. Returns 0 or a Win32 error
 * (reported; values before it were written). */
static DWORD write_change(const wchar_t *params, const cfg_opts *o, const char *const *changed)
{
    HKEY key = NULL;
    LSTATUS st;
    int i;

    st = RegCreateKeyExW(HKEY_LOCAL_MACHINE, params, 0, NULL, REG_OPTION_NON_VOLATILE, KEY_SET_VALUE, NULL, &key,
                         NULL);
    if (st != ERROR_SUCCESS) {
        ph__adm_fail("cannot open the service's Parameters", "RegCreateKeyExW", (DWORD)st);
        return (DWORD)st;
    }
    for (i = 0; st == ERROR_SUCCESS && i < o->nsets + o->nunsets; i++) {
        const svc_value_def *def = ph__svc_value_by_name(changed[i]);
        wchar_t *wname = ph__svc_to_wide(changed[i], NULL), *wvalue = NULL;
        const char *value = i < o->nsets ? strchr(o->sets[i], '=') + 1 : NULL;

        if (wname == NULL) {
            st = ERROR_NOT_ENOUGH_MEMORY;
        } else if (value == NULL) {
            st = RegDeleteValueW(key, wname);
            if (st == ERROR_FILE_NOT_FOUND)
                ph__svc_out(": %s was not set (its default applies)\n", changed[i]);
            else if (st == ERROR_SUCCESS)
                ph__svc_out(": removed %s (its default applies)\n", changed[i]);
            st = st == ERROR_FILE_NOT_FOUND ? ERROR_SUCCESS : st;
        } else if (def->type == SVC_T_DWORD) {
            uint32_t v = SVC_INFINITE;
            DWORD d;
            if (ph__svc_parse_dword(value, &v) != 0)
                v = SVC_INFINITE; /* "never": the only words the check lets through */
            d = v;
            st = RegSetValueExW(key, wname, 0, REG_DWORD, (const BYTE *)&d, sizeof(d));
        } else {
            DWORD type = def->id == SVC_V_LOG_FILE && strchr(value, '%') != NULL ? REG_EXPAND_SZ : REG_SZ;
            wvalue = ph__svc_to_wide(value, NULL);
            st = wvalue ? RegSetValueExW(key, wname, 0, type, (const BYTE *)wvalue,
                                         (DWORD)((wcslen(wvalue) + 1) * sizeof(wchar_t)))
                        : ERROR_NOT_ENOUGH_MEMORY;
        }
        if (st == ERROR_SUCCESS && value != NULL)
            ph__svc_out(": set %s\n", o->sets[i]);
        else if (st != ERROR_SUCCESS)
            ph__adm_fail("cannot write the configuration", value ? "RegSetValueExW" : "RegDeleteValueW", (DWORD)st);
        free(wname);
        free(wvalue);
    }
    RegCloseKey(key);
    return (DWORD)st;
}

/* A changed PreshutdownTimeoutMs goes to the SCM too: the service reads it there and may not set it itself. */
static void apply_preshutdown(SC_HANDLE svc, const svc_config *cfg)
{
    SERVICE_PRESHUTDOWN_INFO pre;
    DWORD err;

    pre.dwPreshutdownTimeout = cfg->preshutdown_timeout_ms;
    if (ChangeServiceConfig2W(svc, SERVICE_CONFIG_PRESHUTDOWN_INFO, &pre))
        ph__svc_out(": the SCM's preshutdown timeout is now %lu ms\n", (unsigned long)pre.dwPreshutdownTimeout);
    else if ((err = GetLastError()) == ERROR_INVALID_LEVEL || err == ERROR_NOT_SUPPORTED)
        ph__svc_err(" config: warning: this system has no preshutdown timeout (error %lu)\n",
                (unsigned long)err);
    else
        ph__adm_fail("cannot set the SCM's preshutdown timeout", "ChangeServiceConfig2W", err);
}

static int changes_pipe(const char *const *changed)
{
    int i;

    for (i = 0; changed[i] != NULL; i++)
        if (_stricmp(changed[i], "PipeName") == 0)
            return 1;
    return 0;
}

int ph__svc_admin_config(int argc, char **argv, const ph_service_app *app)
{
    cfg_opts o;
    svc_config cfg;
    svc_cfg_errors errs;
    wchar_t *wname = NULL, *params = NULL, account[300];
    const char **changed = NULL;
    char (*names)[64] = NULL, restart[400];
    const char *prefix, *mine;
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS_PROCESS st;
    DWORD need = 0, err;
    int code = PH_EXIT_USAGE, i, running;
    unsigned k;

    ph__svc_config_init(&cfg, app->default_pipe);
    memset(&errs, 0, sizeof(errs));
    if (parse(argc, argv, &o) != 0)
        goto out;
    if (o.name == NULL)
        o.name = app->program;
    if ((wname = ph__adm_service_name(o.name)) == NULL || (params = ph__svc_params_key_path(wname)) == NULL)
        goto out;
    scm = ph__adm_open_scm(SC_MANAGER_CONNECT, &code);
    if (scm == NULL)
        goto out;
    svc = OpenServiceW(scm, wname,
                       SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS | ((o.nsets + o.nunsets) != 0 ? SERVICE_CHANGE_CONFIG : 0));
    if (svc == NULL) {
        err = GetLastError();
        code = err == ERROR_SERVICE_DOES_NOT_EXIST
                   ? (ph__svc_err(" config: no service named %s is installed\n", o.name),
                      PH_ADMIN_NOT_INSTALLED)
                   : ph__adm_fail("cannot open the service", "OpenServiceW", err);
        goto out;
    }
    if (o.nsets + o.nunsets == 0) {
        code = ph__adm_show_config(o.name, wname, app->default_pipe);
        goto out;
    }

    changed = calloc((size_t)o.nsets + (size_t)o.nunsets + 1, sizeof(*changed));
    names = calloc((size_t)o.nsets + (size_t)o.nunsets + 1, sizeof(*names));
    if (changed == NULL || names == NULL) {
        ph__svc_err(": out of memory\n");
        code = PH_ADMIN_FAILED;
        goto out;
    }
    check_change(&o, params, app->default_pipe, &cfg, &errs, changed, names);
    /* A new PipeName under a protected prefix the service's account may not use would fail every start. */
    prefix = ph__svc_pipe_protected_prefix(cfg.pipe_name);
    mine = service_prefix(svc, account, sizeof(account) / sizeof(account[0]));
    if (errs.count == 0 && (cfg.set_mask & (1u << SVC_V_PIPE_NAME)) && changes_pipe(changed) && prefix != NULL &&
        (mine == NULL || strcmp(prefix, mine) != 0))
        ph__svc_cfg_error(&errs, SVC_V_PIPE_NAME, "--set", "%s is under ProtectedPrefix\\%s, where the service's account "
                      "(%ls) cannot create pipes", cfg.pipe_name, prefix, account);
    if (errs.count > 0) {
        for (k = 0; k < errs.count && k < SVC_CFG_MAX_ERRORS; k++)
            ph__svc_err(" config: %s\n", errs.text[k]);
        ph__svc_err(" config: nothing was changed\n");
        code = PH_EXIT_USAGE;
        goto out;
    }
    if (write_change(params, &o, changed) != 0) {
        code = PH_ADMIN_FAILED;
        goto out;
    }
    restart[0] = '\0';
    for (i = 0; changed[i] != NULL; i++) {
        const svc_value_def *def = ph__svc_value_by_name(changed[i]);
        if (def != NULL && def->id == SVC_V_PRESHUTDOWN)
            apply_preshutdown(svc, &cfg);
        if (def != NULL && !def->live && strlen(restart) + strlen(def->name) + 3 < sizeof(restart))
            snprintf(restart + strlen(restart), sizeof(restart) - strlen(restart), "%s%s", restart[0] ? ", " : "",
                     def->name);
    }
    running = QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&st, sizeof(st), &need) &&
              st.dwCurrentState == SERVICE_RUNNING;
    if (!running)
        ph__svc_out(": %s is not running: it reads the new configuration when it starts\n", o.name);
    else if (restart[0] == '\0')
        ph__svc_out(": `%s reload --name %s` applies it to the running service\n", ph__svc_program(), o.name);
    else
        ph__svc_out(": `%s reload --name %s` applies the live values; %s take effect after a restart "
               "(net stop %s && net start %s)\n", ph__svc_program(), o.name, restart, o.name, o.name);
    code = 0;
out:
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    ph__svc_config_free(&cfg);
    free(o.sets);
    free(o.unsets);
    free(changed);
    free(names);
    free(wname);
    free(params);
    return code;
}
