/* cli.c — the client commands: ping, status, whoami and send, through the core client, with clear exit codes. */
#include "app.h"

#include "admin.h"
#include "escape.h"
#include "appstate.h"
#include "exitcodes.h"
#include "options.h"
#include "svclog.h"
#include "winutil.h"

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail_connect(const char *program, int rc, const ph_client *c, const char *pipe, uint32_t timeout_ms,
                        const char *required, unsigned long service_pid, ph_framing framing)
{
    DWORD err = ph_client_syserror(c);
    char text[256];

    ph_syserror_text(err, text, sizeof(text));
    switch (rc) {
    case PH_ENOTFOUND:
        fprintf(stderr, "%s: no server is listening on %s (is the service running? is the pipe name right?)\n", program,
                pipe);
        return PH_CLI_NOT_FOUND;
    case PH_ETIMEDOUT:
        fprintf(stderr, "%s: %s stayed busy for %lu ms: every instance is serving another client\n", program, pipe,
                (unsigned long)timeout_ms);
        return PH_CLI_BUSY;
    case PH_EACCESS:
        fprintf(stderr, "%s: access to %s denied by its security descriptor (Win32 error %lu: %s)\n", program, pipe,
                (unsigned long)err, text);
        return PH_CLI_ACCESS;
    case PH_EBADNAME:
        fprintf(stderr, "%s: invalid pipe name %s\n", program, pipe);
        return PH_EXIT_USAGE;
    case PH_EINVAL:
        /* The client refuses a pipe of the other type: the server frames the other way. Nothing was sent. */
        if (err == ERROR_INVALID_PARAMETER) {
            ph_framing other = framing == PH_FRAMING_LENGTH ? PH_FRAMING_MESSAGE : PH_FRAMING_LENGTH;
            fprintf(stderr, "%s: %s is served with %s framing, not %s; nothing was sent (use --framing %s, or "
                    "leave --framing out to use the pipe's)\n", program, pipe, ph__svc_framing_name(other),
                    ph__svc_framing_name(framing), ph__svc_framing_name(other));
            return PH_CLI_FAILED;
        }
        fprintf(stderr, "%s: cannot connect to %s: %s (Win32 error %lu: %s)\n", program, pipe, ph_strerror(rc),
                (unsigned long)err, text);
        return PH_CLI_FAILED;
    case PH_EUNTRUSTED:
        if (service_pid != 0 && ph_client_server_pid(c) != 0)
            fprintf(stderr, "%s: refusing %s: it is served by process %lu, not by the service's process (pid %lu); "
                    "nothing was sent. Another program may have taken the pipe name.\n", program, pipe,
                    ph_client_server_pid(c), service_pid);
        else if (service_pid != 0)
            fprintf(stderr, "%s: refusing %s: the process serving it cannot be read (Win32 error %lu: %s), so it "
                    "cannot be shown to be the service's (pid %lu); nothing was sent\n", program, pipe,
                    (unsigned long)err, text, service_pid);
        else if (ph_client_server_account(c)[0] == '\0')
            fprintf(stderr, "%s: refusing %s: the account of its server cannot be read (Win32 error %lu: %s); "
                    "nothing was sent\n", program, pipe, (unsigned long)err, text);
        else
            fprintf(stderr, "%s: refusing %s: its server runs as %s, not %s; nothing was sent. Another program "
                    "may have taken the pipe name. If you started that server yourself (pipehost run), add "
                    "--no-verify-server or --server-sid %s\n", program, pipe, ph_client_server_account(c),
                    required ? required : "a service account (SYSTEM, LocalService, NetworkService or a service SID)",
                    ph_client_server_account(c));
        return PH_CLI_UNTRUSTED;
    default:
        fprintf(stderr, "%s: cannot connect to %s: %s (Win32 error %lu: %s)\n", program, pipe, ph_strerror(rc),
                (unsigned long)err, text);
        return PH_CLI_FAILED;
    }
}

static int fail_transact(const char *program, int rc, const ph_client *c, const char *pipe, uint32_t timeout_ms)
{
    DWORD err = ph_client_syserror(c);
    char text[256];

    ph_syserror_text(err, text, sizeof(text));
    if (rc == PH_ETIMEDOUT) {
        fprintf(stderr, "%s: no answer from %s within %lu ms\n", program, pipe, (unsigned long)timeout_ms);
        return PH_CLI_BUSY;
    }
    if (rc == PH_EPIPE) {
        fprintf(stderr, "%s: %s closed the connection without answering\n", program, pipe);
        return PH_CLI_FAILED;
    }
    fprintf(stderr, "%s: request to %s failed: %s (Win32 error %lu: %s)\n", program, pipe, ph_strerror(rc),
            (unsigned long)err, text);
    return PH_CLI_FAILED;
}

/* The id of the service's process, whatever its state (its pipe exists before it reports RUNNING, so
 * START_PENDING counts), or 0 when it has none (stopped). *state gets its state. Returns 0 or the Win32 error
 * when the SCM could not be asked. */
static DWORD service_process(const char *service, unsigned long *pid, DWORD *state)
{
    wchar_t *wname = ph__svc_to_wide(service, NULL);
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS_PROCESS st;
    DWORD need = 0, err = 0;

    *pid = 0;
    *state = SERVICE_STOPPED;
    if (wname == NULL)
        return ERROR_INVALID_NAME;
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    svc = scm ? OpenServiceW(scm, wname, SERVICE_QUERY_STATUS) : NULL;
    if (svc == NULL || !QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&st, sizeof(st), &need)) {
        err = GetLastError();
    } else {
        *pid = st.dwProcessId;
        *state = st.dwCurrentState;
    }
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    free(wname);
    return err;
}

/* The server's answer on f: escaped (escape.h) unless raw, with a line end added if it has none. Returns 0 or
 * -1 when a write failed. */
static int print_answer(FILE *f, const unsigned char *text, size_t len, int raw)
{
    int failed = fflush(f) != 0;

    if (raw) {
        _setmode(_fileno(f), _O_BINARY);
        failed |= fwrite(text, 1, len, f) != len;
    } else {
        failed |= ph__svc_escape_write(f, text, len) != 0;
    }
    if (len > 0 && text[len - 1] != '\n')
        failed |= fputc('\n', f) == EOF;
    failed |= fflush(f) != 0;
    return failed ? -1 : 0;
}

int ph__svc_cli_main(int argc, char **argv, const ph_service_app *app)
{
    svc_cli_options o;
    char why[200], pipe[sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX], svc_pipe[sizeof(pipe)];
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    size_t resp_len = 0;
    unsigned long service_pid = 0;
    unsigned flags;
    int rc, code;

    rc = ph__svc_parse_cli(argc, argv, &o, why, sizeof(why));
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", ph__svc_message_prefix(), rc == PH_ENOMEM ? "out of memory" : why);
        return PH_EXIT_USAGE;
    }
    /* --service NAME: that service's PipeName. Neither option: the PipeName of a service installed under the
     * program's own name, if there is one, else the program's default pipe. Without --framing the pipe is
     * spoken to in the framing it serves (its type says which), so a Framing changed in the registry but not
     * yet applied by a restart does not get in the way; --framing insists on one. */
    if (o.pipe == NULL) {
        char why_pipe[300];
        int found = ph__svc_admin_service_pipe(o.service ? o.service : app->program, app->default_pipe, svc_pipe,
                                           sizeof(svc_pipe), why_pipe, sizeof(why_pipe));
        if (found != 0 && o.service != NULL) {
            ph__svc_err(": %s\n", why_pipe);
            ph__svc_cli_options_free(&o);
            return found > 0 ? PH_CLI_NOT_FOUND : PH_CLI_FAILED;
        }
        if (found == 0) {
            const char *name = o.service ? o.service : app->program;
            DWORD state = SERVICE_STOPPED, err;

            o.pipe = svc_pipe;
            /* The pipe is this service's: by default only its process may serve it (any other server is a
             * squatter, whatever account it runs as). Stopped, it serves nothing: nothing is sent. The caller's
             * own --server-sid or --no-verify-server (a `pipehost run --service NAME` of their own) decides
             * instead. */
            err = service_process(name, &service_pid, &state);
            if (o.server_sid == NULL && !o.no_verify_server && (err != 0 || service_pid == 0)) {
                char text[256];
                ph_syserror_text(err, text, sizeof(text));
                if (err != 0)
                    fprintf(stderr, "%s: cannot ask the Service Control Manager which process is service %s "
                            "(Win32 error %lu: %s), so its server cannot be verified; nothing was sent\n",
                            app->program, name, (unsigned long)err, text);
                else
                    fprintf(stderr, "%s: service %s is not running (%s): nothing was sent. If you serve its pipe "
                            "yourself (pipehost run), add --no-verify-server or --server-sid\n", app->program,
                            name, ph__svc_admin_state_name(state));
                ph__svc_cli_options_free(&o);
                return err != 0 ? PH_CLI_UNTRUSTED : PH_CLI_NOT_FOUND;
            }
        }
    }
    if (ph_pipe_name_normalize(o.pipe ? o.pipe : app->default_pipe, pipe, sizeof(pipe)) != 0) {
        fprintf(stderr, "%s: invalid pipe name \"%.80s\" (bare \"NAME\" or full \"\\\\.\\pipe\\NAME\")\n",
                ph__svc_message_prefix(), o.pipe ? o.pipe : app->default_pipe);
        ph__svc_cli_options_free(&o);
        return PH_EXIT_USAGE;
    }
    rc = ph_client_new(&c);
    if (rc == 0 && o.server_sid != NULL && ph_client_require_server(c, o.server_sid) != 0) {
        ph__svc_err(": --server-sid: \"%.80s\" is not a valid SID\n", o.server_sid);
        code = PH_EXIT_USAGE;
        goto out;
    }
    /* By default the server must be a service's: the pipe this program talks to is served by one. When we
     * know which service (its PipeName is the pipe) and it runs, its process must be the server, whatever
     * account it runs as; otherwise the server must run as a service account. */
    if (rc == 0 && service_pid != 0 && o.server_sid == NULL && !o.no_verify_server)
        ph_client_require_server_pid(c, service_pid);
    flags = (o.no_verify_server ? 0u : PH_CLIENT_VERIFY_SERVER) | (o.impersonation ? PH_CLIENT_IMPERSONATION : 0u) |
            (!o.framing_set ? PH_CLIENT_ANY_FRAMING : o.framing == PH_FRAMING_LENGTH ? PH_CLIENT_LENGTH_FRAMING : 0u);
    if (rc == 0)
        rc = ph_client_connect(c, pipe, o.timeout_ms, flags);
    if (rc != 0) {
        unsigned long by_pid = o.server_sid == NULL && !o.no_verify_server ? service_pid : 0;
        code = c ? fail_connect(ph__svc_message_prefix(), rc, c, pipe, o.timeout_ms, o.server_sid, by_pid, o.framing)
                 : PH_CLI_FAILED;
        goto out;
    }
    rc = ph_client_transact(c, o.request, o.request_len, &resp, &resp_len, o.timeout_ms, 0);
    if (rc != 0) {
        code = fail_transact(ph__svc_message_prefix(), rc, c, pipe, o.timeout_ms);
        goto out;
    }
    if (resp_len >= 3 && memcmp(resp, "OK ", 3) == 0) {
        /* The payload escaped for the terminal (escape.h), or with --raw exactly as sent (binary-safe). */
        code = PH_CLI_OK;
        if (!o.quiet && resp_len > 3 && print_answer(stdout, resp + 3, resp_len - 3, o.raw) != 0) {
            /* An answer that did not reach its reader (a full disk, a closed pipe) is not a success. */
            ph__svc_err(": the answer from %s could not be written to standard output\n", pipe);
            code = PH_CLI_FAILED;
        }
    } else if (resp_len >= 4 && memcmp(resp, "ERR ", 4) == 0) {
        fprintf(stderr, "%s: the server answered: ", ph__svc_message_prefix());
        print_answer(stderr, resp, resp_len > 2000 ? 2000 : resp_len, 0);
        if (resp_len >= 14 && memcmp(resp, "ERR forbidden ", 14) == 0 && o.request_len >= 6 &&
            _strnicmp((const char *)o.request, "STATUS", 6) == 0)
            fprintf(stderr, "%s: STATUS is for administrators by default (run it elevated); anyone may ask "
                    "`%s send HEALTH`\n", ph__svc_message_prefix(), app->program);
        code = PH_CLI_ERR_ANSWER;
    } else {
        fprintf(stderr, "%s: unexpected answer from %s (%zu bytes, neither \"OK \" nor \"ERR \")\n",
                ph__svc_message_prefix(), pipe, resp_len);
        code = PH_CLI_FAILED;
    }

out:
    ph_free(resp);
    ph_client_free(c);
    ph__svc_cli_options_free(&o);
    return code;
}
