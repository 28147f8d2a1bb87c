/* cmdconf_win.c — reads Parameters\Commands\<VERB> from the registry into the command verbs' configuration. */
#include "cmdconf_win.h"

#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* The registry does not promise a terminating NUL: copies size bytes and adds two. NULL when out of memory. */
static wchar_t *terminated(const BYTE *data, DWORD size)
{
    size_t n = size / sizeof(wchar_t);
    wchar_t *w = malloc((n + 2) * sizeof(wchar_t));

    if (w == NULL)
        return NULL;
    memcpy(w, data, n * sizeof(wchar_t));
    w[n] = L'\0';
    w[n + 1] = L'\0';
    return w;
}

/* A REG_SZ/REG_EXPAND_SZ value as UTF-8 (expanded for REG_EXPAND_SZ); NULL with why set. */
static char *string_of(const BYTE *data, DWORD size, DWORD type, const char **why)
{
    wchar_t *w = terminated(data, size), *x = NULL;
    size_t n;
    char *out;

    if (w == NULL) {
        *why = "out of memory";
        return NULL;
    }
    n = size / sizeof(wchar_t);
    while (n > 0 && w[n - 1] == L'\0')
        n--;
    if (wcslen(w) != n) {
        free(w);
        *why = "it contains a NUL character";
        return NULL;
    }
    if (type == REG_EXPAND_SZ) {
        DWORD need = ExpandEnvironmentStringsW(w, NULL, 0);
        x = need ? malloc(need * sizeof(wchar_t)) : NULL;
        if (x == NULL || ExpandEnvironmentStringsW(w, x, need) != need) {
            free(x);
            free(w);
            *why = "its environment variables cannot be expanded";
            return NULL;
        }
        free(w);
        w = x;
    }
    out = ph__svc_to_utf8(w, NULL);
    free(w);
    if (out == NULL)
        *why = "it is not valid Unicode text";
    return out;
}

/* A REG_MULTI_SZ as UTF-8 strings (*items malloc'd, each malloc'd); an empty string inside the list is
 * refused (it would end the list for most readers). Returns the count, or -1 with why set. */
static long multi_of(const BYTE *data, DWORD size, char ***items, const char **why)
{
    wchar_t *w = terminated(data, size), *p, *end;
    long count = 0, i;
    char **list;

    *items = NULL;
    if (w == NULL) {
        *why = "out of memory";
        return -1;
    }
    end = w + size / sizeof(wchar_t);
    while (end > w && end[-1] == L'\0')
        end--;
    for (p = w; p < end; p += wcslen(p) + 1) {
        if (*p == L'\0') {
            free(w);
            *why = "it has an empty entry";
            return -1;
        }
        count++;
    }
    list = calloc((size_t)count + 1, sizeof(*list));
    for (p = w, i = 0; list != NULL && i < count; p += wcslen(p) + 1, i++)
        if ((list[i] = ph__svc_to_utf8(p, NULL)) == NULL) {
            while (i-- > 0)
                free(list[i]);
            free(list);
            list = NULL;
        }
    free(w);
    if (list == NULL) {
        *why = "out of memory, or an entry is not valid Unicode text";
        return -1;
    }
    *items = list;
    return count;
}

static void load_verb(HKEY commands, const wchar_t *wverb, svc_commands *cmds, svc_cfg_errors *errs)
{
    DWORD max_name = 0, max_data = 0, subkeys = 0, i;
    char *verb = ph__svc_to_utf8(wverb, NULL), *name = NULL;
    wchar_t *wname = NULL;
    BYTE *data = NULL;
    svc_command *cmd;
    HKEY key = NULL;
    LSTATUS st;

    if (verb == NULL) {
        ph__svc_cfg_error_other(errs, "invalid command verb under Parameters\\Commands: its name is not valid text");
        return;
    }
    cmd = ph__svc_commands_add(cmds, verb, errs);
    if (cmd == NULL)
        goto done;
    st = RegOpenKeyExW(commands, wverb, 0, KEY_QUERY_VALUE, &key);
    if (st == ERROR_SUCCESS)
        st = RegQueryInfoKeyW(key, NULL, NULL, NULL, &subkeys, NULL, NULL, NULL, &max_name, &max_data, NULL, NULL);
    if (st == ERROR_SUCCESS && subkeys != 0) {
        ph__svc_cfg_error_other(errs, "invalid command verb Commands\\%s: it has subkeys; its settings are values", verb);
        goto done;
    }
    if (st == ERROR_SUCCESS) {
        wname = malloc((max_name + 1) * sizeof(wchar_t));
        data = malloc(max_data + sizeof(wchar_t));
        if (wname == NULL || data == NULL)
            st = ERROR_NOT_ENOUGH_MEMORY;
    }
    for (i = 0; st == ERROR_SUCCESS; i++) {
        DWORD name_len = max_name + 1, size = max_data, type = 0;
        const char *why = NULL;
        char *text, **list;
        long n;

        st = RegEnumValueW(key, i, wname, &name_len, NULL, &type, data, &size);
        if (st == ERROR_NO_MORE_ITEMS) {
            st = ERROR_SUCCESS;
            break;
        }
        if (st != ERROR_SUCCESS)
            break;
        free(name);
        name = ph__svc_to_utf8(wname, NULL);
        if (name == NULL || name[0] == '\0') {
            ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s: a value has no name (the default "
                                "value is not used)", verb);
            continue;
        }
        if (type == REG_DWORD && size == sizeof(DWORD)) {
            DWORD v;
            memcpy(&v, data, sizeof(v));
            ph__svc_command_set_dword(cmd, name, v, errs);
        } else if (type == REG_SZ || type == REG_EXPAND_SZ) {
            text = string_of(data, size, type, &why);
            if (text == NULL) {
                ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\%s: %s", verb, name, why);
                continue;
            }
            ph__svc_command_set_string(cmd, name, text, errs);
            free(text);
        } else if (type == REG_MULTI_SZ) {
            n = multi_of(data, size, &list, &why);
            if (n < 0) {
                ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\%s: %s", verb, name, why);
                continue;
            }
            ph__svc_command_set_list(cmd, name, (const char *const *)list, (size_t)n, errs);
            while (n-- > 0)
                free(list[n]);
            free(list);
        } else {
            ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\%s: its registry type (%lu) is not "
                                "accepted (REG_DWORD, REG_SZ, REG_EXPAND_SZ or REG_MULTI_SZ, as the value requires)",
                                verb, name, (unsigned long)type);
        }
    }
    if (st != ERROR_SUCCESS)
        ph__svc_cfg_error_other(errs, "cannot read Parameters\\Commands\\%s: error %ld", verb, (long)st);
done:
    free(name);
    free(wname);
    free(data);
    if (key != NULL)
        RegCloseKey(key);
    free(verb);
}

int ph__svc_commands_load_key(const wchar_t *params_path, svc_commands *cmds, svc_cfg_errors *errs)
{
    unsigned before = errs->count;
    wchar_t path[512], sub[256];
    HKEY key = NULL;
    DWORD i, values = 0;
    LSTATUS st;

    if (swprintf(path, 512, L"%ls\\Commands", params_path) < 0) {
        ph__svc_cfg_error_other(errs, "the configuration key's path is too long");
        return PH_EINVAL;
    }
    st = RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_QUERY_VALUE | KEY_ENUMERATE_SUB_KEYS, &key);
    if (st == ERROR_FILE_NOT_FOUND)
        return 0; /* no command verb */
    if (st != ERROR_SUCCESS) {
        ph__svc_cfg_error_other(errs, "cannot open Parameters\\Commands: RegOpenKeyExW failed: error %ld", (long)st);
        return PH_EINVAL;
    }
    st = RegQueryInfoKeyW(key, NULL, NULL, NULL, NULL, NULL, NULL, &values, NULL, NULL, NULL, NULL);
    if (st == ERROR_SUCCESS && values != 0)
        ph__svc_cfg_error_other(errs, "invalid configuration: Parameters\\Commands holds values; each command verb is a "
                            "subkey named after the verb");
    for (i = 0; st == ERROR_SUCCESS; i++) {
        DWORD len = 256;
        st = RegEnumKeyExW(key, i, sub, &len, NULL, NULL, NULL, NULL);
        if (st == ERROR_NO_MORE_ITEMS) {
            st = ERROR_SUCCESS;
            break;
        }
        if (st == ERROR_SUCCESS)
            load_verb(key, sub, cmds, errs);
    }
    if (st != ERROR_SUCCESS)
        ph__svc_cfg_error_other(errs, "cannot read Parameters\\Commands: error %ld", (long)st);
    RegCloseKey(key);
    return errs->count == before ? 0 : PH_EINVAL;
}

int ph__svc_commands_load(const wchar_t *service, svc_commands *cmds, svc_cfg_errors *errs)
{
    wchar_t *path = ph__svc_params_key_path(service);
    int rc;

    if (path == NULL) {
        ph__svc_cfg_error_other(errs, "out of memory reading the configuration");
        return PH_ENOMEM;
    }
    rc = ph__svc_commands_load_key(path, cmds, errs);
    free(path);
    return rc;
}
