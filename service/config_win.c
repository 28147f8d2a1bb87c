/* config_win.c — configuration from the registry (Services\<name>\Parameters) and the Windows-only checks. */
#include "config_win.h"

#include "winutil.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static const char *type_name(DWORD type)
{
    switch (type) {
    case REG_NONE: return "REG_NONE";
    case REG_SZ: return "REG_SZ";
    case REG_EXPAND_SZ: return "REG_EXPAND_SZ";
    case REG_BINARY: return "REG_BINARY";
    case REG_DWORD: return "REG_DWORD";
    case REG_DWORD_BIG_ENDIAN: return "REG_DWORD_BIG_ENDIAN";
    case REG_LINK: return "REG_LINK";
    case REG_MULTI_SZ: return "REG_MULTI_SZ";
    case REG_QWORD: return "REG_QWORD";
    default: return "an unknown type";
    }
}

/* A REG_SZ / REG_EXPAND_SZ value as UTF-8. The data need not end with a NUL (the registry does not enforce
 * it); an embedded NUL is refused, as it would silently cut the value. REG_EXPAND_SZ is expanded. */
static int string_value(const BYTE *data, DWORD size, DWORD type, char **out, const char **why)
{
    size_t n = size / sizeof(wchar_t), i;
    wchar_t *w, *expanded = NULL;
    DWORD err = 0;

    *out = NULL;
    if (size % sizeof(wchar_t) != 0) {
        *why = "its data has an odd number of bytes";
        return PH_EINVAL;
    }
    w = malloc((n + 1) * sizeof(wchar_t));
    if (w == NULL)
        return PH_ENOMEM;
    memcpy(w, data, n * sizeof(wchar_t));
    w[n] = L'\0';
    while (n > 0 && w[n - 1] == L'\0')
        n--;
    for (i = 0; i < n; i++)
        if (w[i] == L'\0') {
            free(w);
            *why = "it contains a NUL character";
            return PH_EINVAL;
        }
    if (type == REG_EXPAND_SZ) {
        DWORD need = ExpandEnvironmentStringsW(w, NULL, 0);
        if (need == 0 || (expanded = malloc(need * sizeof(wchar_t))) == NULL ||
            ExpandEnvironmentStringsW(w, expanded, need) != need) {
            free(expanded);
            free(w);
            *why = "its environment variables cannot be expanded";
            return PH_EINVAL;
        }
        free(w);
        w = expanded;
    }
    *out = ph__svc_to_utf8(w, &err);
    free(w);
    if (*out == NULL) {
        *why = "it is not valid Unicode text";
        return err == ERROR_NOT_ENOUGH_MEMORY ? PH_ENOMEM : PH_EINVAL;
    }
    return 0;
}

/* One registry value, checked for its type and then by the platform-neutral rules. */
static void apply_value(svc_config *cfg, const wchar_t *wname, DWORD type, const BYTE *data, DWORD size,
                        svc_cfg_errors *errs)
{
    char *name;
    const svc_value_def *def;

    /* An empty (Default) value carries no setting: `reg add KEY /f` creates one (Wine's reg does), and
     * refusing to start over it would punish a harmless step. A (Default) with data is still an error. */
    if (wname[0] == L'\0' && (type == REG_SZ || type == REG_EXPAND_SZ || type == REG_NONE) &&
        (size == 0 || (size == sizeof(wchar_t) && data[0] == 0 && data[1] == 0)))
        return;
    name = ph__svc_to_utf8(wname, NULL);
    def = name ? ph__svc_value_by_name(name) : NULL;
    if (def == NULL) {
        /* An unknown name is most likely a typo: applying the default instead would be a guess. */
        char names[1000];
        size_t used = 0;
        unsigned i;
        names[0] = '\0';
        for (i = 0; i < ph__svc_value_count() && used < sizeof(names); i++)
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                                     ph__svc_value_by_id((svc_value_id)i)->name);
        ph__svc_cfg_error_other(errs, "unknown configuration value \"%s\" (registry): accepted names are %s",
                            name ? (name[0] ? name : "(Default)") : "?", names);
        free(name);
        return;
    }
    free(name);
    if (def->type == SVC_T_DWORD) {
        uint32_t v;
        if (type != REG_DWORD || size != sizeof(DWORD)) {
            ph__svc_cfg_error(errs, def->id, "registry", "accepted type REG_DWORD (%lu..%lu%s%s), given %s",
                          (unsigned long)def->min, (unsigned long)def->max, def->unit[0] ? " " : "", def->unit,
                          type == REG_DWORD ? "REG_DWORD of the wrong size" : type_name(type));
            return;
        }
        memcpy(&v, data, sizeof(v));
        ph__svc_config_set_dword(cfg, def->id, v, "registry", errs);
    } else {
        char *text = NULL;
        const char *why = NULL;
        int expand_ok = def->id == SVC_V_LOG_FILE;
        if (type != REG_SZ && !(type == REG_EXPAND_SZ && expand_ok)) {
            ph__svc_cfg_error(errs, def->id, "registry", "accepted type REG_SZ%s, given %s",
                          expand_ok ? " or REG_EXPAND_SZ" : "", type_name(type));
            return;
        }
        if (string_value(data, size, type, &text, &why) != 0) {
            if (why != NULL)
                ph__svc_cfg_error(errs, def->id, "registry", "not accepted because %s", why);
            else
                ph__svc_cfg_error_other(errs, "out of memory reading %s", def->name);
            return;
        }
        ph__svc_config_set_string(cfg, def->id, text, "registry", errs);
        free(text);
    }
}

/* Parameters\Verbs: one REG_SZ value per restricted verb, named after the verb, holding its SDDL. */
static void load_verbs(HKEY params, svc_config *cfg, svc_cfg_errors *errs)
{
    DWORD max_name = 0, max_data = 0, i;
    wchar_t *name = NULL;
    BYTE *data = NULL;
    HKEY key = NULL;
    LSTATUS st;

    st = RegOpenKeyExW(params, L"Verbs", 0, KEY_QUERY_VALUE, &key);
    if (st == ERROR_FILE_NOT_FOUND)
        return; /* no verb is restricted */
    if (st != ERROR_SUCCESS) {
        char text[256];
        ph_syserror_text((unsigned long)st, text, sizeof(text));
        ph__svc_cfg_error_other(errs, "cannot open the per-verb security key Parameters\\Verbs: RegOpenKeyExW failed: "
                            "error %ld (%s)", (long)st, text);
        return;
    }
    st = RegQueryInfoKeyW(key, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &max_name, &max_data, NULL, NULL);
    if (st == ERROR_SUCCESS) {
        name = malloc((max_name + 1) * sizeof(wchar_t));
        data = malloc(max_data + sizeof(wchar_t));
        if (name == NULL || data == NULL)
            st = ERROR_NOT_ENOUGH_MEMORY;
    }
    for (i = 0; st == ERROR_SUCCESS; i++) {
        DWORD name_len = max_name + 1, size = max_data, type = 0;
        char *verb = NULL, *text = NULL;
        const char *why = NULL;

        st = RegEnumValueW(key, i, name, &name_len, NULL, &type, data, &size);
        if (st == ERROR_NO_MORE_ITEMS) {
            st = ERROR_SUCCESS;
            break;
        }
        if (st != ERROR_SUCCESS)
            break;
        verb = ph__svc_to_utf8(name, NULL);
        if (verb == NULL || verb[0] == '\0')
            ph__svc_cfg_error_verb(errs, SVC_CFG_KIND_OTHER, verb ? "(Default)" : "?", "registry",
                               "a value of Parameters\\Verbs must be named after a verb");
        else if (type != REG_SZ)
            ph__svc_cfg_error_verb(errs, SVC_CFG_KIND_VERB_SDDL, verb, "registry", "accepted type REG_SZ, given %s",
                               type_name(type));
        else if (string_value(data, size, type, &text, &why) != 0)
            ph__svc_cfg_error_verb(errs, SVC_CFG_KIND_VERB_SDDL, verb, "registry", "not accepted because %s",
                               why ? why : "out of memory");
        else
            ph__svc_config_set_verb_sddl(cfg, verb, text, "registry", errs);
        free(text);
        free(verb);
    }
    if (st != ERROR_SUCCESS)
        ph__svc_cfg_error_other(errs, "cannot read Parameters\\Verbs: error %ld", (long)st);
    free(name);
    free(data);
    RegCloseKey(key);
}

int ph__svc_config_load_registry(const wchar_t *service, svc_config *cfg, svc_cfg_errors *errs, int *found)
{
    wchar_t *path = ph__svc_params_key_path(service);
    int rc;

    *found = 0;
    if (path == NULL) {
        ph__svc_cfg_error_other(errs, "out of memory reading the configuration");
        return PH_ENOMEM;
    }
    rc = ph__svc_config_load_key(path, cfg, errs, found);
    free(path);
    return rc;
}

int ph__svc_config_load_key(const wchar_t *path, svc_config *cfg, svc_cfg_errors *errs, int *found)
{
    DWORD max_name = 0, max_data = 0, i;
    wchar_t *name = NULL;
    BYTE *data = NULL;
    HKEY key = NULL;
    LSTATUS st;
    unsigned before = errs->count;

    *found = 0;
    st = RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_QUERY_VALUE, &key);
    if (st == ERROR_FILE_NOT_FOUND)
        return 0; /* no Parameters key: every value has its default */
    if (st != ERROR_SUCCESS) {
        char text[256], *upath = ph__svc_to_utf8(path, NULL);
        ph_syserror_text((unsigned long)st, text, sizeof(text));
        ph__svc_cfg_error_other(errs, "cannot open the configuration key HKLM\\%s: RegOpenKeyExW failed: error %ld (%s)",
                            upath ? upath : "?", (long)st, text);
        free(upath);
        return PH_EINVAL;
    }
    *found = 1;
    st = RegQueryInfoKeyW(key, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &max_name, &max_data, NULL, NULL);
    if (st == ERROR_SUCCESS) {
        name = malloc((max_name + 1) * sizeof(wchar_t));
        data = malloc(max_data + sizeof(wchar_t));
        if (name == NULL || data == NULL)
            st = ERROR_NOT_ENOUGH_MEMORY;
    }
    for (i = 0; st == ERROR_SUCCESS; i++) {
        DWORD name_len = max_name + 1, size = max_data, type = 0;
        st = RegEnumValueW(key, i, name, &name_len, NULL, &type, data, &size);
        if (st == ERROR_NO_MORE_ITEMS) {
            st = ERROR_SUCCESS;
            break;
        }
        if (st == ERROR_SUCCESS)
            apply_value(cfg, name, type, data, size, errs);
    }
    if (st != ERROR_SUCCESS)
        ph__svc_cfg_error_other(errs, "cannot read the configuration values: error %ld (the key changed while being read?)",
                            (long)st);
    load_verbs(key, cfg, errs);
    free(name);
    free(data);
    RegCloseKey(key);
    return errs->count == before ? 0 : PH_EINVAL;
}

int ph__svc_config_check_sddl(const svc_config *cfg, svc_cfg_errors *errs)
{
    char why[512];
    unsigned i;
    int rc = 0, r;

    /* No Sddl: the core's default, which the core's own tests pass through the same checker. A fixed pool
     * (MaxInstances below 255) may grant anyone FILE_CREATE_PIPE_INSTANCE: with all its instances created,
     * nobody can add one. An unlimited pool may not. */
    if (cfg->sddl != NULL) {
        int fixed = cfg->max_instances < SVC_UNLIMITED_INSTANCES;
        r = ph_sddl_check(cfg->sddl, fixed ? PH_SDDL_PIPE_FIXED : PH_SDDL_PIPE, why, sizeof(why));
        if (r == PH_ENOMEM)
            ph__svc_cfg_error_other(errs, "out of memory checking Sddl");
        else if (r != 0 && !fixed && ph_sddl_check(cfg->sddl, PH_SDDL_PIPE_FIXED, NULL, 0) == 0)
            ph__svc_cfg_error(errs, SVC_V_SDDL, "with MaxInstances",
                          "given \"%.120s\", refused with MaxInstances %lu (an unlimited pool; a fixed pool is "
                          "MaxInstances 1..254): %s",
                          cfg->sddl, (unsigned long)cfg->max_instances, why);
        else if (r != 0)
            ph__svc_cfg_error(errs, SVC_V_SDDL, "check", "given \"%.120s\", refused: %s", cfg->sddl, why);
        rc = r != 0 ? PH_EINVAL : rc;
    }
    for (i = 0; i < cfg->verb_sddl_count; i++) {
        r = ph_sddl_check(cfg->verb_sddls[i].sddl, PH_SDDL_ACCESS, why, sizeof(why));
        if (r == PH_ENOMEM)
            ph__svc_cfg_error_other(errs, "out of memory checking Verbs\\%s", cfg->verb_sddls[i].verb);
        else if (r != 0)
            ph__svc_cfg_error_verb(errs, SVC_CFG_KIND_VERB_SDDL, cfg->verb_sddls[i].verb, "check",
                               "given \"%.120s\", refused: %s", cfg->verb_sddls[i].sddl, why);
        rc = r != 0 ? PH_EINVAL : rc;
    }
    return rc;
}
