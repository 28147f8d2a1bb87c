/* options.c — command-line parsing for console mode and the client, kept free of Win32 so it is tested natively. */
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "--name=value" -> name part length and value; "--name" -> value NULL. */
static size_t split_option(const char *arg, const char **value)
{
    const char *eq = strchr(arg, '=');
    *value = eq ? eq + 1 : NULL;
    return eq ? (size_t)(eq - arg) : strlen(arg);
}

static int option_is(const char *arg, size_t len, const char *name)
{
    return strlen(name) == len && strncmp(arg, name, len) == 0;
}

int ph__svc_parse_run_options(int argc, char **argv, int apply, svc_config *cfg, svc_run_options *opts,
                          svc_cfg_errors *errs)
{
    int i, rc = 0;

    memset(opts, 0, sizeof(*opts));
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *value;
        size_t len = split_option(arg, &value);
        char name[64];
        const svc_value_def *def;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "/?") == 0) {
            opts->help = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || len >= sizeof(name)) {
            if (apply)
                ph__svc_cfg_error_usage(errs, "unexpected argument \"%.80s\" (options start with --; see %s help)",
                                    arg, ph__svc_program());
            rc = PH_EINVAL;
            continue;
        }
        memcpy(name, arg, len);
        name[len] = '\0';
        def = ph__svc_value_by_option(name);
        if (def == NULL && !option_is(arg, len, "--service") && !option_is(arg, len, "--stop-event")) {
            if (apply)
                ph__svc_cfg_error_usage(errs, "unknown option %s (see %s help)", name, ph__svc_program());
            rc = PH_EINVAL;
            continue;
        }
        if (value == NULL) {
            if (i + 1 >= argc) {
                if (apply)
                    ph__svc_cfg_error_usage(errs, "option %s needs a value", name);
                rc = PH_EINVAL;
                continue;
            }
            value = argv[++i];
        }
        if (def == NULL) {
            if (option_is(arg, len, "--service"))
                opts->service = value;
            else
                opts->stop_event = value;
            if (value[0] == '\0') {
                if (apply)
                    ph__svc_cfg_error_usage(errs, "option %s needs a non-empty value", name);
                rc = PH_EINVAL;
            }
            continue;
        }
        if (apply && ph__svc_config_set_text(cfg, def->id, value, def->option, errs) != 0)
            rc = PH_EINVAL;
    }
    return rc;
}

void ph__svc_cli_options_free(svc_cli_options *o)
{
    free(o->request);
    o->request = NULL;
    o->request_len = 0;
}

int ph__svc_parse_cli(int argc, char **argv, svc_cli_options *out, char *why, size_t why_size)
{
    const char *command = argc > 0 ? argv[0] : "";
    const char **pos = NULL;
    int npos = 0, i, ends = 0, rc = PH_EINVAL;
    size_t len, off;

    memset(out, 0, sizeof(*out));
    out->timeout_ms = 5000;
    why[0] = '\0';
    pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*pos));
    if (pos == NULL)
        return PH_ENOMEM;
    /* Options may come anywhere; after "--" every argument is positional (a payload word). */
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *value;
        size_t n;

        if (!ends && strcmp(arg, "--") == 0) {
            ends = 1;
            continue;
        }
        if (ends || strncmp(arg, "--", 2) != 0) {
            pos[npos++] = arg;
            continue;
        }
        n = split_option(arg, &value);
        if (option_is(arg, n, "--quiet") && value == NULL) {
            out->quiet = 1;
            continue;
        }
        if (option_is(arg, n, "--raw") && value == NULL) {
            out->raw = 1;
            continue;
        }
        if (option_is(arg, n, "--no-verify-server") && value == NULL) {
            out->no_verify_server = 1;
            continue;
        }
        if (option_is(arg, n, "--impersonation") && value == NULL) {
            out->impersonation = 1;
            continue;
        }
        if (!option_is(arg, n, "--pipe") && !option_is(arg, n, "--timeout") && !option_is(arg, n, "--server-sid") &&
            !option_is(arg, n, "--service") && !option_is(arg, n, "--framing")) {
            snprintf(why, why_size, "unknown option %.*s (a payload starting with -- goes after a lone --)",
                     (int)(n > 60 ? 60 : n), arg);
            goto out;
        }
        if (value == NULL) {
            if (i + 1 >= argc) {
                snprintf(why, why_size, "option %.*s needs a value", (int)n, arg);
                goto out;
            }
            value = argv[++i];
        }
        if (option_is(arg, n, "--pipe")) {
            out->pipe = value;
        } else if (option_is(arg, n, "--server-sid")) {
            /* Only the shape here; the system parses it (ph_client_require_server). */
            if (strncmp(value, "S-1-", 4) != 0 && strncmp(value, "s-1-", 4) != 0) {
                snprintf(why, why_size, "--server-sid accepts a SID such as S-1-5-18, given \"%.60s\"", value);
                goto out;
            }
            out->server_sid = value;
        } else if (option_is(arg, n, "--framing")) {
            if (ph__svc_parse_framing(value, &out->framing) != 0) {
                snprintf(why, why_size, "--framing accepts message or length, given \"%.40s\"", value);
                goto out;
            }
            out->framing_set = 1;
        } else if (option_is(arg, n, "--service")) {
            if (value[0] == '\0') {
                snprintf(why, why_size, "--service needs a service name");
                goto out;
            }
            out->service = value;
        } else if (ph__svc_parse_dword(value, &out->timeout_ms) != 0 || out->timeout_ms == 0 ||
                   out->timeout_ms > 3600000) {
            snprintf(why, why_size, "--timeout accepts 1..3600000 ms, given \"%.40s\"", value);
            goto out;
        }
    }
    if (out->no_verify_server && out->server_sid != NULL) {
        snprintf(why, why_size, "--no-verify-server and --server-sid contradict each other");
        goto out;
    }

    if (out->pipe != NULL && out->service != NULL) {
        snprintf(why, why_size, "--pipe and --service both name the pipe: give one");
        goto out;
    }
    if (strcmp(command, "ping") == 0 || strcmp(command, "status") == 0 || strcmp(command, "whoami") == 0) {
        const char *verb = command[0] == 'p' ? "PING" : command[0] == 's' ? "STATUS" : "WHOAMI";
        if (npos > 0) {
            snprintf(why, why_size, "%s takes no arguments, given \"%.40s\"", command, pos[0]);
            goto out;
        }
        len = strlen(verb);
        out->request = malloc(len + 1);
        if (out->request == NULL) {
            rc = PH_ENOMEM;
            goto out;
        }
        memcpy(out->request, verb, len + 1);
        out->request_len = len;
        rc = 0;
        goto out;
    }
    if (strcmp(command, "send") != 0) {
        snprintf(why, why_size, "unknown command \"%.40s\"", command);
        goto out;
    }
    if (npos == 0 || pos[0][0] == '\0') {
        snprintf(why, why_size, "send needs a verb: %s send VERB [PAYLOAD...]", ph__svc_program());
        goto out;
    }
    if (strchr(pos[0], ' ') != NULL) {
        snprintf(why, why_size, "a verb has no spaces, given \"%.40s\" (put the payload in its own argument)",
                 pos[0]);
        goto out;
    }
    /* VERB, then " " + the payload words joined by single spaces. An explicitly empty payload ("") still
     * sends "VERB ". */
    len = strlen(pos[0]);
    for (i = 1; i < npos; i++)
        len += 1 + strlen(pos[i]);
    out->request = malloc(len + 1);
    if (out->request == NULL) {
        rc = PH_ENOMEM;
        goto out;
    }
    off = strlen(pos[0]);
    memcpy(out->request, pos[0], off);
    for (i = 1; i < npos; i++) {
        size_t n = strlen(pos[i]);
        out->request[off++] = ' ';
        memcpy(out->request + off, pos[i], n);
        off += n;
    }
    out->request[off] = '\0';
    out->request_len = off;
    rc = 0;

out:
    free(pos);
    if (rc != 0)
        ph__svc_cli_options_free(out);
    return rc;
}
