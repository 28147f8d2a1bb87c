/* cmdconf.c — command verbs' configuration: names, ranges, defaults and checks, refused as a whole when wrong. */
#include "cmdconf.h"

#include "cmdrun_line.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static int upper(int c)
{
    return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

static int same_nocase(const char *a, const char *b)
{
    while (*a && upper((unsigned char)*a) == upper((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static void free_list(char **list, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void ph__svc_commands_free(svc_commands *cmds)
{
    unsigned i;

    if (cmds == NULL)
        return;
    for (i = 0; i < cmds->count; i++) {
        svc_command *c = &cmds->items[i];
        free(c->verb);
        free(c->program);
        free(c->workdir);
        free_list(c->args, c->arg_count);
        free_list(c->env, c->env_count);
    }
    free(cmds->items);
    cmds->items = NULL;
    cmds->count = 0;
}

int ph__svc_command_builtin(const char *verb)
{
    static const char *const builtin[] = {"PING", "ECHO", "STATUS", "WHOAMI", "HEALTH"};
    size_t i;

    for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (same_nocase(verb, builtin[i]))
            return 1;
    return 0;
}

svc_command *ph__svc_commands_add(svc_commands *cmds, const char *verb, svc_cfg_errors *errs)
{
    size_t n = strlen(verb), i;
    svc_command *grown, *c;

    for (i = 0; i < n; i++)
        if ((unsigned char)verb[i] <= 0x20 || (unsigned char)verb[i] >= 0x7f)
            break;
    if (n == 0 || n > 32 || i < n) {
        ph__svc_cfg_error_other(errs, "invalid command verb Commands\\%.40s: a verb has 1 to 32 printable ASCII "
                            "characters and no space", verb);
        return NULL;
    }
    if (ph__svc_command_builtin(verb)) {
        ph__svc_cfg_error_other(errs, "invalid command verb Commands\\%s: %s is a built-in verb and cannot run a program",
                            verb, verb);
        return NULL;
    }
    if (ph__svc_commands_find(cmds, verb) != NULL) {
        ph__svc_cfg_error_other(errs, "invalid command verb Commands\\%s: it is configured twice", verb);
        return NULL;
    }
    if (cmds->count >= SVC_MAX_COMMANDS) {
        ph__svc_cfg_error_other(errs, "invalid command verb Commands\\%s: at most %d command verbs are accepted", verb,
                            SVC_MAX_COMMANDS);
        return NULL;
    }
    grown = realloc(cmds->items, (cmds->count + 1) * sizeof(*grown));
    if (grown == NULL) {
        ph__svc_cfg_error_other(errs, "out of memory reading Commands\\%s", verb);
        return NULL;
    }
    cmds->items = grown;
    c = &cmds->items[cmds->count];
    memset(c, 0, sizeof(*c));
    c->verb = dup_str(verb);
    if (c->verb == NULL) {
        ph__svc_cfg_error_other(errs, "out of memory reading Commands\\%s", verb);
        return NULL;
    }
    c->timeout_ms = 30000;
    c->max_output = 1024u * 1024;
    c->max_concurrent = 4;
    c->run_as_client = 0;
    c->kill_on_client_exit = 1;
    cmds->count++;
    return c;
}

const svc_command *ph__svc_commands_find(const svc_commands *cmds, const char *verb)
{
    unsigned i;

    for (i = 0; i < cmds->count; i++)
        if (same_nocase(cmds->items[i].verb, verb))
            return &cmds->items[i];
    return NULL;
}

struct dword_def {
    const char *name;
    uint32_t min, max;
    size_t offset;
};

static const struct dword_def dword_defs[] = {
    {"TimeoutMs", 100, 3600000, offsetof(svc_command, timeout_ms)},
    {"MaxOutputBytes", 0, 64u * 1024 * 1024, offsetof(svc_command, max_output)},
    {"MaxConcurrent", 1, 64, offsetof(svc_command, max_concurrent)},
};

static const char *const string_names[] = {"Program", "WorkingDirectory"};
static const char *const list_names[] = {"Arguments", "Environment"};

static const char *kind_of(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof(dword_defs) / sizeof(dword_defs[0]); i++)
        if (same_nocase(name, dword_defs[i].name))
            return "a DWORD (REG_DWORD)";
    if (same_nocase(name, "RunAsClient") || same_nocase(name, "KillOnClientExit"))
        return "a DWORD (REG_DWORD)";
    for (i = 0; i < 2; i++)
        if (same_nocase(name, string_names[i]))
            return "a string (REG_SZ or REG_EXPAND_SZ)";
    for (i = 0; i < 2; i++)
        if (same_nocase(name, list_names[i]))
            return "a list (REG_MULTI_SZ)";
    return NULL;
}

/* An unknown name, or a known one given as the wrong kind. */
static int wrong(const svc_command *cmd, const char *name, svc_cfg_errors *errs)
{
    const char *kind = kind_of(name);

    if (kind == NULL)
        ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\%.60s: unknown name (accepted: Program, "
                            "Arguments, WorkingDirectory, TimeoutMs, MaxOutputBytes, MaxConcurrent, Environment, "
                            "RunAsClient, KillOnClientExit)", cmd->verb, name);
    else
        ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\%s: it must be %s", cmd->verb, name, kind);
    return PH_EINVAL;
}

int ph__svc_command_set_dword(svc_command *cmd, const char *name, uint32_t value, svc_cfg_errors *errs)
{
    size_t i;

    for (i = 0; i < sizeof(dword_defs) / sizeof(dword_defs[0]); i++) {
        const struct dword_def *d = &dword_defs[i];
        if (!same_nocase(name, d->name))
            continue;
        if (value < d->min || value > d->max) {
            ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\%s: accepted %lu..%lu, given %lu",
                                cmd->verb, d->name, (unsigned long)d->min, (unsigned long)d->max,
                                (unsigned long)value);
            return PH_EINVAL;
        }
        *(uint32_t *)(void *)((char *)cmd + d->offset) = value;
        return 0;
    }
    if (same_nocase(name, "RunAsClient") || same_nocase(name, "KillOnClientExit")) {
        if (value > 1) {
            ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\%s: accepted 0 or 1, given %lu",
                                cmd->verb, name, (unsigned long)value);
            return PH_EINVAL;
        }
        if (same_nocase(name, "RunAsClient"))
            cmd->run_as_client = (int)value;
        else
            cmd->kill_on_client_exit = (int)value;
        return 0;
    }
    return wrong(cmd, name, errs);
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

int ph__svc_command_set_string(svc_command *cmd, const char *name, const char *value, svc_cfg_errors *errs)
{
    char **slot;
    char *copy;

    if (same_nocase(name, "Program"))
        slot = &cmd->program;
    else if (same_nocase(name, "WorkingDirectory"))
        slot = &cmd->workdir;
    else
        return wrong(cmd, name, errs);
    /* The path's full rules are Windows' (cmdrun_prog.c); here: a length and no control characters. */
    if (value[0] == '\0' || strlen(value) >= 260 || has_control(value)) {
        ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\%s: accepted an absolute path of 1..259 "
                            "characters without control characters, given \"%.80s\"", cmd->verb, name, value);
        return PH_EINVAL;
    }
    copy = dup_str(value);
    if (copy == NULL)
        return PH_ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

int ph__svc_command_set_list(svc_command *cmd, const char *name, const char *const *items, size_t n,
                         svc_cfg_errors *errs)
{
    int is_env = same_nocase(name, "Environment");
    char **list, ***slot = is_env ? &cmd->env : &cmd->args;
    size_t *count = is_env ? &cmd->env_count : &cmd->arg_count, i, j;
    char why[200];

    if (!is_env && !same_nocase(name, "Arguments"))
        return wrong(cmd, name, errs);
    if (n > 256) {
        ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\%s: at most 256 entries, given %zu",
                            cmd->verb, name, n);
        return PH_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if (is_env && ph__svc_cmdenv_check(items[i], why, sizeof(why)) != 0) {
            ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\Environment: entry %zu \"%.60s\" is "
                                "refused: %s", cmd->verb, i + 1, items[i], why);
            return PH_EINVAL;
        }
        for (j = 0; is_env && j < i; j++) {
            const char *a = items[i], *b = items[j];
            while (*a != '=' && upper((unsigned char)*a) == upper((unsigned char)*b)) {
                a++;
                b++;
            }
            if (*a == '=' && *b == '=') {
                ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\Environment: entry %zu names "
                                    "the same variable as entry %zu", cmd->verb, i + 1, j + 1);
                return PH_EINVAL;
            }
        }
        if (!is_env && (strlen(items[i]) > 4096 || has_control(items[i]))) {
            ph__svc_cfg_error_other(errs, "invalid configuration value Commands\\%s\\Arguments: entry %zu is longer than "
                                "4096 characters or has a control character", cmd->verb, i + 1);
            return PH_EINVAL;
        }
    }
    list = calloc(n + 1, sizeof(*list));
    if (list == NULL)
        return PH_ENOMEM;
    for (i = 0; i < n; i++)
        if ((list[i] = dup_str(items[i])) == NULL) {
            free_list(list, i);
            return PH_ENOMEM;
        }
    free_list(*slot, *count);
    *slot = list;
    *count = n;
    return 0;
}

int ph__svc_commands_check(const svc_commands *cmds, const svc_config *cfg, svc_cfg_errors *errs)
{
    unsigned i, k;
    int rc = 0;

    for (i = 0; i < cmds->count; i++) {
        const svc_command *c = &cmds->items[i];
        int restricted = 0;
        if (c->program == NULL) {
            ph__svc_cfg_error_other(errs, "invalid command verb Commands\\%s: Program is required (an absolute path on "
                                "a local drive)", c->verb);
            rc = PH_EINVAL;
        }
        for (k = 0; k < cfg->verb_sddl_count; k++)
            restricted |= same_nocase(cfg->verb_sddls[k].verb, c->verb);
        if (!restricted) {
            ph__svc_cfg_error_other(errs, "invalid command verb Commands\\%s: it has no security descriptor of its own: "
                                "add Parameters\\Verbs\\%s (an SDDL naming who may run it)", c->verb, c->verb);
            rc = PH_EINVAL;
        }
    }
    return rc;
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
    size_t i;
    if (na != nb)
        return 0;
    for (i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

int ph__svc_commands_equal(const svc_commands *a, const svc_commands *b)
{
    unsigned i;

    if (a->count != b->count)
        return 0;
    for (i = 0; i < a->count; i++) {
        const svc_command *x = &a->items[i], *y = ph__svc_commands_find(b, x->verb);
        if (y == NULL || strcmp(x->verb, y->verb) != 0 || !same_str(x->program, y->program) ||
            !same_str(x->workdir, y->workdir) || !same_list(x->args, x->arg_count, y->args, y->arg_count) ||
            !same_list(x->env, x->env_count, y->env, y->env_count) || x->timeout_ms != y->timeout_ms ||
            x->max_output != y->max_output || x->max_concurrent != y->max_concurrent ||
            x->run_as_client != y->run_as_client || x->kill_on_client_exit != y->kill_on_client_exit)
            return 0;
    }
    return 1;
}
