/* options.h — command-line parsing for `pipehost run` and the client commands (platform-neutral). */
#ifndef PH_SVC_OPTIONS_H
#define PH_SVC_OPTIONS_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct svc_run_options {
    const char *service;     /* --service NAME: read that service's registry configuration first */
    const char *stop_event;  /* --stop-event NAME: a named event that stops the server like Ctrl+C */
    int help;                /* --help / -h */
} svc_run_options;

/* Parses `run [options]` (argv[0] is "run"). Options take "--name VALUE" or "--name=VALUE"; value options
 * are those of the configuration table (--pipe, --max-message, …). With apply = 0 only --service,
 * --stop-event and --help are read (first pass, before the registry); with apply = 1 the values are set on
 * cfg, overriding what was there. Errors are collected in errs. Returns 0 or PH_EINVAL. */
int ph__svc_parse_run_options(int argc, char **argv, int apply, svc_config *cfg, svc_run_options *opts,
                          svc_cfg_errors *errs);

/* A client command, parsed. */
typedef struct svc_cli_options {
    const char *pipe;        /* --pipe NAME; NULL = the program's default */
    const char *service;     /* --service NAME: that installed service's PipeName (not with --pipe) */
    uint32_t timeout_ms;     /* --timeout MS; default 5000 */
    int quiet;               /* --quiet: print nothing on success */
    int raw;                 /* --raw: write the answer's bytes as received (default: escaped, escape.h) */
    int no_verify_server;    /* --no-verify-server: accept a server running as any account */
    int impersonation;       /* --impersonation: let the server act as us (a command verb with RunAsClient) */
    const char *server_sid;  /* --server-sid SID: the server must run as this account */
    int framing_set;         /* --framing was given… */
    ph_framing framing;      /* …as this (message or length); otherwise the service's Framing, or message */
    unsigned char *request;  /* malloc'd request message */
    size_t request_len;
} svc_cli_options;

/* Parses `ping|status|whoami|send VERB [PAYLOAD…]` with options anywhere (argv[0] is the
 * command). `send` joins several payload words with single spaces; after a lone "--" every argument is a
 * payload word. On failure,
 * why gets a one-line explanation. Returns 0 or PH_EINVAL (PH_ENOMEM). Free with ph__svc_cli_options_free. */
int ph__svc_parse_cli(int argc, char **argv, svc_cli_options *out, char *why, size_t why_size);
void ph__svc_cli_options_free(svc_cli_options *o);

#endif /* PH_SVC_OPTIONS_H */
