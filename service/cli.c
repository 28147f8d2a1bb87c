/* cli.c — the client commands: ping, status, whoami and send, through the core client, with clear exit codes. */
#include "app.h"

#include "exitcodes.h"
#include "options.h"
#include "svclog.h"

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <string.h>

static int fail_connect(int rc, const ph_client *c, const char *pipe, uint32_t timeout_ms)
{
    DWORD err = ph_client_syserror(c);
    char text[256];

    ph_syserror_text(err, text, sizeof(text));
    switch (rc) {
    case PH_ENOTFOUND:
        fprintf(stderr, "pipehost: no server is listening on %s (is the service running? is the pipe name right?)\n",
                pipe);
        return PH_CLI_NOT_FOUND;
    case PH_ETIMEDOUT:
        fprintf(stderr, "pipehost: %s stayed busy for %lu ms: every instance is serving another client\n", pipe,
                (unsigned long)timeout_ms);
        return PH_CLI_BUSY;
    case PH_EACCESS:
        fprintf(stderr, "pipehost: access to %s denied by its security descriptor (Win32 error %lu: %s)\n", pipe,
                (unsigned long)err, text);
        return PH_CLI_ACCESS;
    case PH_EBADNAME:
        fprintf(stderr, "pipehost: invalid pipe name %s\n", pipe);
        return PH_EXIT_USAGE;
    default:
        fprintf(stderr, "pipehost: cannot connect to %s: %s (Win32 error %lu: %s)\n", pipe, ph_strerror(rc),
                (unsigned long)err, text);
        return PH_CLI_FAILED;
    }
}

static int fail_transact(int rc, const ph_client *c, const char *pipe, uint32_t timeout_ms)
{
    DWORD err = ph_client_syserror(c);
    char text[256];

    ph_syserror_text(err, text, sizeof(text));
    if (rc == PH_ETIMEDOUT) {
        fprintf(stderr, "pipehost: no answer from %s within %lu ms\n", pipe, (unsigned long)timeout_ms);
        return PH_CLI_BUSY;
    }
    if (rc == PH_EPIPE) {
        fprintf(stderr, "pipehost: %s closed the connection without answering\n", pipe);
        return PH_CLI_FAILED;
    }
    fprintf(stderr, "pipehost: request to %s failed: %s (Win32 error %lu: %s)\n", pipe, ph_strerror(rc),
            (unsigned long)err, text);
    return PH_CLI_FAILED;
}

int svc_cli_main(int argc, char **argv, const ph_service_app *app)
{
    svc_cli_options o;
    char why[200], pipe[sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX];
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    size_t resp_len = 0;
    int rc, code;

    rc = svc_parse_cli(argc, argv, &o, why, sizeof(why));
    if (rc != 0) {
        fprintf(stderr, "pipehost: %s\n", rc == PH_ENOMEM ? "out of memory" : why);
        return PH_EXIT_USAGE;
    }
    if (ph_pipe_name_normalize(o.pipe ? o.pipe : app->default_pipe, pipe, sizeof(pipe)) != 0) {
        fprintf(stderr, "pipehost: invalid pipe name \"%.80s\" (bare \"pipehost\" or full \"\\\\.\\pipe\\pipehost\")\n",
                o.pipe ? o.pipe : app->default_pipe);
        svc_cli_options_free(&o);
        return PH_EXIT_USAGE;
    }
    rc = ph_client_new(&c);
    if (rc == 0)
        rc = ph_client_connect(c, pipe, o.timeout_ms, 0);
    if (rc != 0) {
        code = c ? fail_connect(rc, c, pipe, o.timeout_ms) : PH_CLI_FAILED;
        goto out;
    }
    rc = ph_client_transact(c, o.request, o.request_len, &resp, &resp_len, o.timeout_ms, 0);
    if (rc != 0) {
        code = fail_transact(rc, c, pipe, o.timeout_ms);
        goto out;
    }
    if (resp_len >= 3 && memcmp(resp, "OK ", 3) == 0) {
        /* The payload exactly as sent (binary-safe), with a line end added for the terminal if it has none. */
        code = PH_CLI_OK;
        if (!o.quiet && resp_len > 3) {
            int failed = fflush(stdout) != 0;
            _setmode(_fileno(stdout), _O_BINARY);
            failed |= fwrite(resp + 3, 1, resp_len - 3, stdout) != resp_len - 3;
            if (resp[resp_len - 1] != '\n')
                failed |= fputc('\n', stdout) == EOF;
            failed |= fflush(stdout) != 0;
            /* An answer that did not reach its reader (a full disk, a closed pipe) is not a success. */
            if (failed) {
                fprintf(stderr, "pipehost: the answer from %s could not be written to standard output\n", pipe);
                code = PH_CLI_FAILED;
            }
        }
    } else if (resp_len >= 4 && memcmp(resp, "ERR ", 4) == 0) {
        fprintf(stderr, "pipehost: the server answered: %.*s\n", (int)(resp_len > 2000 ? 2000 : resp_len),
                (const char *)resp);
        code = PH_CLI_ERR_ANSWER;
    } else {
        fprintf(stderr, "pipehost: unexpected answer from %s (%zu bytes, neither \"OK \" nor \"ERR \")\n", pipe,
                resp_len);
        code = PH_CLI_FAILED;
    }

out:
    ph_free(resp);
    ph_client_free(c);
    svc_cli_options_free(&o);
    return code;
}
