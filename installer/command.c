/* command.c — `pipehost command add|remove|list`: an installed service's command verbs, checked with the service's own rules before anything is written. */
#include "admin_int.h"

#include "cmdconf.h"
#include "cmdconf_win.h"
#include "cmdrun_prog.h"
#include "config.h"
#include "config_win.h"
#include "exitcodes.h"
#include "winutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define CMD_MAX_LIST 256

typedef struct cmd_opts {
    const char *action, *verb, *name, *program, *workdir, *allow;
    const char *args[CMD_MAX_LIST], *env[CMD_MAX_LIST];
    size_t nargs, nenv;
    const char *dwords[5][2]; /* registry name, text */
    int ndwords;
} cmd_opts;

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "pipehost command: %s%s%.80s%s (see pipehost help command)\n", what, arg ? " \"" : "",
            arg ? arg : "", arg ? "\"" : "");
    return PH_EXIT_USAGE;
}

static int parse(int argc, char **argv, cmd_opts *o)
{
    static const char *const dword_opts[][2] = {{"--timeout-ms", "TimeoutMs"},
                                               {"--max-output-bytes", "MaxOutputBytes"},
                                               {"--max-concurrent", "MaxConcurrent"}};
    int i;
    size_t k;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;

        if (strncmp(arg, "--", 2) != 0) {
            if (o->action == NULL)
                o->action = arg;
            else if (o->verb == NULL)
                o->verb = arg;
            else
                return usage_error("unexpected argument", arg);
            continue;
        }
        if (strcmp(arg, "--run-as-client") == 0 || strcmp(arg, "--keep-running") == 0) {
            if (o->ndwords >= 5)
                return usage_error("too many options at", arg);
            o->dwords[o->ndwords][0] = arg[2] == 'r' ? "RunAsClient" : "KillOnClientExit";
            o->dwords[o->ndwords++][1] = arg[2] == 'r' ? "1" : "0";
            continue;
        }
        if (value == NULL)
            return usage_error("a value is needed after", arg);
        if (strcmp(arg, "--name") == 0 || strcmp(arg, "--service") == 0)
            o->name = value;
        else if (strcmp(arg, "--program") == 0)
            o->program = value;
        else if (strcmp(arg, "--workdir") == 0)
            o->workdir = value;
        else if (strcmp(arg, "--allow") == 0)
            o->allow = value;
        else if (strcmp(arg, "--arg") == 0 && o->nargs < CMD_MAX_LIST)
            o->args[o->nargs++] = value;
        else if (strcmp(arg, "--env") == 0 && o->nenv < CMD_MAX_LIST)
            o->env[o->nenv++] = value;
        else {
            takes = 0;
            for (k = 0; k < sizeof(dword_opts) / sizeof(dword_opts[0]); k++)
                if (strcmp(arg, dword_opts[k][0]) == 0 && o->ndwords < 5) {
                    o->dwords[o->ndwords][0] = dword_opts[k][1];
                    o->dwords[o->ndwords++][1] = value;
                    takes = 1;
                }
            if (!takes)
                return usage_error("unknown option", arg);
        }
        i++;
    }
    if (o->action == NULL)
        return usage_error("say add, remove or list", NULL);
    return 0;
}

static HKEY open_sub(const wchar_t *params, const wchar_t *sub, int create, DWORD *err)
{
    wchar_t path[600];
    HKEY key = NULL;

    swprintf(path, 600, L"%ls\\%ls", params, sub);
    *err = (DWORD)(create ? RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL)
                          : RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_SET_VALUE, &key));
    return *err == 0 ? key : NULL;
}

static DWORD set_string(HKEY key, const wchar_t *name, const char *utf8, DWORD type)
{
    wchar_t *w = ph__svc_to_wide(utf8, NULL);
    DWORD err;

    if (w == NULL)
        return ERROR_NO_UNICODE_TRANSLATION;
    err = (DWORD)RegSetValueExW(key, name, 0, type, (const BYTE *)w, (DWORD)((wcslen(w) + 1) * sizeof(wchar_t)));
    free(w);
    return err;
}

static DWORD set_multi(HKEY key, const wchar_t *name, const char *const *items, size_t n)
{
    size_t total = 1, used = 0, i;
    wchar_t *block, *w;
    DWORD err;

    for (i = 0; i < n; i++)
        total += strlen(items[i]) * 2 + 1;
    block = calloc(total + 1, sizeof(wchar_t));
    if (block == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    for (i = 0; i < n; i++) {
        w = ph__svc_to_wide(items[i], NULL);
        if (w == NULL) {
            free(block);
            return ERROR_NO_UNICODE_TRANSLATION;
        }
        memcpy(block + used, w, (wcslen(w) + 1) * sizeof(wchar_t));
        used += wcslen(w) + 1;
        free(w);
    }
    block[used++] = L'\0';
    err = (DWORD)RegSetValueExW(key, name, 0, REG_MULTI_SZ, (const BYTE *)block, (DWORD)(used * sizeof(wchar_t)));
    free(block);
    return err;
}

static void print_errors(const svc_cfg_errors *errs)
{
    unsigned i;
    for (i = 0; i < errs->count && i < SVC_CFG_MAX_ERRORS; i++)
        fprintf(stderr, "pipehost command: %s\n", errs->text[i]);
}

static int list(const wchar_t *params, const svc_commands *cmds, const svc_config *cfg)
{
    unsigned i, k;
    size_t a;

    (void)params;
    if (cmds->count == 0)
        printf("no command verbs\n");
    for (i = 0; i < cmds->count; i++) {
        const svc_command *c = &cmds->items[i];
        const char *sddl = NULL;
        for (k = 0; k < cfg->verb_sddl_count; k++)
            if (_stricmp(cfg->verb_sddls[k].verb, c->verb) == 0)
                sddl = cfg->verb_sddls[k].sddl;
        printf("%s\n  Program: %s\n  Arguments:", c->verb, c->program ? c->program : "(none: the service will not start)");
        for (a = 0; a < c->arg_count; a++)
            printf(" [%s]", c->args[a]);
        printf("\n  TimeoutMs=%lu MaxOutputBytes=%lu MaxConcurrent=%lu RunAsClient=%d KillOnClientExit=%d\n",
               (unsigned long)c->timeout_ms, (unsigned long)c->max_output, (unsigned long)c->max_concurrent,
               c->run_as_client, c->kill_on_client_exit);
        printf("  allowed: %s\n", sddl ? sddl : "(no Verbs descriptor: the service will not start)");
    }
    return 0;
}

int ph__svc_admin_command(int argc, char **argv, const ph_service_app *app)
{
    cmd_opts o;
    svc_config cfg;
    svc_commands cmds, fresh;
    svc_cfg_errors errs;
    wchar_t *wname = NULL, *params = NULL, *wverb = NULL, sub[80], *wprog = NULL;
    char why[700];
    HANDLE prog = INVALID_HANDLE_VALUE;
    HKEY key = NULL;
    DWORD err = 0;
    int code = PH_EXIT_USAGE, found = 0, i;
    svc_command *c;

    ph__svc_config_init(&cfg, app->default_pipe);
    memset(&cmds, 0, sizeof(cmds));
    memset(&fresh, 0, sizeof(fresh));
    memset(&errs, 0, sizeof(errs));
    if (parse(argc, argv, &o) != 0)
        goto out;
    if (o.name == NULL)
        o.name = app->program;
    if ((wname = ph__adm_service_name(o.name)) == NULL || (params = ph__svc_params_key_path(wname)) == NULL)
        goto out;
    ph__svc_config_load_key(params, &cfg, &errs, &found);
    ph__svc_commands_load_key(params, &cmds, &errs);
    if (strcmp(o.action, "list") == 0) {
        print_errors(&errs);
        code = list(params, &cmds, &cfg);
        goto out;
    }
    if (o.verb == NULL || (wverb = ph__svc_to_wide(o.verb, NULL)) == NULL || wcslen(wverb) > 40) {
        code = usage_error("name the verb: pipehost command add|remove VERB", NULL);
        goto out;
    }
    swprintf(sub, 80, L"Commands\\%ls", wverb);
    if (strcmp(o.action, "remove") == 0) {
        wchar_t path[600];
        if (ph__svc_commands_find(&cmds, o.verb) == NULL) {
            fprintf(stderr, "pipehost command: %s has no command verb %s\n", o.name, o.verb);
            code = PH_ADMIN_FAILED;
            goto out;
        }
        swprintf(path, 600, L"%ls\\%ls", params, sub);
        err = (DWORD)RegDeleteTreeW(HKEY_LOCAL_MACHINE, path);
        if (err == 0) {
            swprintf(path, 600, L"%ls\\Verbs", params);
            if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_SET_VALUE, &key) == 0) {
                RegDeleteValueW(key, wverb);
                RegCloseKey(key);
                key = NULL;
            }
        }
        code = err ? ph__adm_fail("cannot remove the command verb", "RegDeleteTreeW", err) : 0;
        if (code == 0)
            printf("removed command verb %s of %s; it goes at the next restart of the service\n", o.verb, o.name);
        goto out;
    }
    if (strcmp(o.action, "add") != 0) {
        code = usage_error("unknown action (add, remove or list):", o.action);
        goto out;
    }
    /* Everything is checked with the service's own rules before anything is written. */
    if (errs.count > 0) {
        print_errors(&errs);
        fprintf(stderr, "pipehost command: the service's configuration is already invalid; fix it first\n");
        goto out;
    }
    if (ph__svc_commands_find(&cmds, o.verb) != NULL) {
        fprintf(stderr, "pipehost command: %s already has a command verb %s (remove it first)\n", o.name, o.verb);
        goto out;
    }
    if (o.program == NULL || o.allow == NULL) {
        code = usage_error("add needs --program PATH and --allow SDDL (who may run it)", NULL);
        goto out;
    }
    c = ph__svc_commands_add(&fresh, o.verb, &errs);
    if (c != NULL) {
        ph__svc_command_set_string(c, "Program", o.program, &errs);
        if (o.workdir)
            ph__svc_command_set_string(c, "WorkingDirectory", o.workdir, &errs);
        ph__svc_command_set_list(c, "Arguments", o.args, o.nargs, &errs);
        ph__svc_command_set_list(c, "Environment", o.env, o.nenv, &errs);
        for (i = 0; i < o.ndwords; i++) {
            uint32_t v = 0;
            if (ph__svc_parse_dword(o.dwords[i][1], &v) != 0)
                ph__svc_cfg_error_other(&errs, "%s: \"%.40s\" is not a number", o.dwords[i][0], o.dwords[i][1]);
            else
                ph__svc_command_set_dword(c, o.dwords[i][0], v, &errs);
        }
    }
    ph__svc_config_set_verb_sddl(&cfg, o.verb, o.allow, "--allow", &errs);
    ph__svc_config_check_sddl(&cfg, &errs);
    if (errs.count == 0) {
        wprog = ph__svc_to_wide(o.program, NULL);
        err = wprog ? ph__svc_cmdprog_open(wprog, &prog, why, sizeof(why)) : ERROR_NO_UNICODE_TRANSLATION;
        if (err != 0)
            ph__svc_cfg_error_other(&errs, "Program \"%.200s\" is refused: %s", o.program, wprog ? why : "invalid text");
        else
            CloseHandle(prog);
    }
    if (errs.count > 0) {
        print_errors(&errs);
        fprintf(stderr, "pipehost command: nothing was written\n");
        goto out;
    }
    key = open_sub(params, sub, 1, &err);
    if (key != NULL) {
        err = set_string(key, L"Program", o.program, REG_SZ);
        if (err == 0 && o.workdir)
            err = set_string(key, L"WorkingDirectory", o.workdir, REG_SZ);
        if (err == 0 && o.nargs)
            err = set_multi(key, L"Arguments", o.args, o.nargs);
        if (err == 0 && o.nenv)
            err = set_multi(key, L"Environment", o.env, o.nenv);
        for (i = 0; err == 0 && i < o.ndwords; i++) {
            wchar_t *wn = ph__svc_to_wide(o.dwords[i][0], NULL);
            uint32_t v = 0;
            ph__svc_parse_dword(o.dwords[i][1], &v);
            err = wn ? (DWORD)RegSetValueExW(key, wn, 0, REG_DWORD, (const BYTE *)&v, sizeof(v)) : ERROR_OUTOFMEMORY;
            free(wn);
        }
        RegCloseKey(key);
        key = NULL;
    }
    if (err == 0 && (key = open_sub(params, L"Verbs", 1, &err)) != NULL) {
        err = set_string(key, wverb, o.allow, REG_SZ);
        RegCloseKey(key);
        key = NULL;
    }
    if (err != 0) {
        code = ph__adm_fail("cannot write the command verb", "RegSetValueExW", err);
        goto out;
    }
    printf("added command verb %s to %s, allowed to %s; it runs at the next restart of the service\n", o.verb,
           o.name, o.allow);
    code = 0;
out:
    free(wname);
    free(params);
    free(wverb);
    free(wprog);
    ph__svc_commands_free(&cmds);
    ph__svc_commands_free(&fresh);
    ph__svc_config_free(&cfg);
    return code;
}
