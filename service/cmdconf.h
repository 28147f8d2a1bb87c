/* cmdconf.h — command verbs' configuration (Parameters\Commands\<VERB>): values, defaults and strict checks (platform-neutral). */
#ifndef PH_SVC_CMDCONF_H
#define PH_SVC_CMDCONF_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

/* One command verb: a request "VERB payload" runs program with args, the payload on its standard input. */
typedef struct svc_command {
    char *verb;            /* 1..32 printable ASCII characters, no space; not a built-in verb */
    char *program;         /* Program (REG_SZ/REG_EXPAND_SZ), required: absolute, local (cmdrun_prog.c) */
    char **args;           /* Arguments (REG_MULTI_SZ): fixed, each quoted for CommandLineToArgvW */
    size_t arg_count;
    char *workdir;         /* WorkingDirectory (REG_SZ): NULL = the program's folder */
    uint32_t timeout_ms;   /* TimeoutMs 100..3600000, default 30000: then the job is ended */
    uint32_t max_output;   /* MaxOutputBytes 0..67108864, default 1048576: more ends the program */
    uint32_t max_concurrent; /* MaxConcurrent 1..64, default 4: beyond it, "ERR busy …" at once (never queued) */
    char **env;            /* Environment (REG_MULTI_SZ): NAME=VALUE entries (ph__svc_cmdenv_check) */
    size_t env_count;
    int run_as_client;     /* RunAsClient 0/1, default 0: run with the client's token (impersonation level only) */
    int kill_on_client_exit; /* KillOnClientExit 0/1, default 1: end the job when the client leaves */
} svc_command;

typedef struct svc_commands {
    svc_command *items;
    unsigned count;
} svc_commands;
#define SVC_MAX_COMMANDS 64

void ph__svc_commands_free(svc_commands *cmds);
/* Adds a verb with the defaults above. Refused (NULL, error recorded): a bad shape, a built-in verb's name
 * (ph__svc_command_builtin), a verb already added (case-insensitive), more than SVC_MAX_COMMANDS. */
svc_command *ph__svc_commands_add(svc_commands *cmds, const char *verb, svc_cfg_errors *errs);
/* Whether verb is one of the service's built-in verbs (PING, ECHO, STATUS, WHOAMI, HEALTH), any case. */
int ph__svc_command_builtin(const char *verb);
/* Sets one value by its registry name (case-insensitive). A DWORD value: TimeoutMs, MaxOutputBytes,
 * MaxConcurrent, RunAsClient, KillOnClientExit; a string: Program, WorkingDirectory; a list: Arguments,
 * Environment. Unknown names, wrong kinds, values out of range and malformed entries are refused with an
 * error naming Commands\VERB\Name. Returns 0, PH_EINVAL or PH_ENOMEM. */
int ph__svc_command_set_dword(svc_command *cmd, const char *name, uint32_t value, svc_cfg_errors *errs);
int ph__svc_command_set_string(svc_command *cmd, const char *name, const char *value, svc_cfg_errors *errs);
int ph__svc_command_set_list(svc_command *cmd, const char *name, const char *const *items, size_t n,
                         svc_cfg_errors *errs);
/* What holds between values and with the rest of the configuration: each verb has a Program and its own
 * per-verb descriptor (Parameters\Verbs\<VERB>; without one a command verb would be open to whoever may open
 * the pipe, so the service refuses to start). Returns 0 or PH_EINVAL with errors recorded. */
int ph__svc_commands_check(const svc_commands *cmds, const svc_config *cfg, svc_cfg_errors *errs);
/* The command for verb (case-insensitive), or NULL. */
const svc_command *ph__svc_commands_find(const svc_commands *cmds, const char *verb);

/* 1 when a and b configure the same verbs with the same values (in any order of verbs). */
int ph__svc_commands_equal(const svc_commands *a, const svc_commands *b);

#endif /* PH_SVC_CMDCONF_H */
