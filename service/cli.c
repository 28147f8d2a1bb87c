/* cli.c — the client commands: ping, status, whoami and send, through the core client, with clear exit codes. */
#include "app.h"

#include "admin.h"
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
                    "leave --framing out to use the pipe's)\n", program, pipe, svc_framing_name(other),
                    svc_framing_name(framing), svc_framing_name(other));
            return PH_CLI_FAILED;
        }
        fprintf(stderr, "%s: cannot connect to %s: %s (Win32 error %lu: %s)\n", program, pipe, ph_strerror(rc),
                (unsigned long)err, text);
        return PH_CLI_FAILED;
    case PH_EUNTRUSTED:
        if (service_pid != 0)
            fprintf(stderr, "%s: refusing %s: it is not served by the service's process (pid %lu); nothing was "
                    "sent. Another program may have taken the pipe name.\n", program, pipe, service_pid);
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

/* The process id of a running service, or 0 (not running, not installed, or the SCM cannot be asked). */
static unsigned long running_pid(const char *service)
{
    wchar_t *wname = svc_to_wide(service, NULL);
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS_PROCESS st;
    DWORD need = 0;
    unsigned long pid = 0;

    if (wname == NULL)
        goto out;
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    svc = scm ? OpenServiceW(scm, wname, SERVICE_QUERY_STATUS) : NULL;
    if (svc != NULL && QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&st, sizeof(st), &need) &&
        st.dwCurrentState == SERVICE_RUNNING)
        pid = st.dwProcessId;
out:
    if (svc != NULL)
        CloseServiceHandle(svc);
    if (scm != NULL)
        CloseServiceHandle(scm);
    free(wname);
    return pid;
}

int svc_cli_main(int argc, char **argv, const ph_service_app *app)
{
    svc_cli_options o;
    char why[200], pipe[sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX], svc_pipe[sizeof(pipe)];
    ph_client *c = NULL;
    unsigned char *resp = NULL;
    size_t resp_len = 0;
    unsigned long service_pid = 0;
    unsigned flags;
    int rc, code;

    rc = svc_parse_cli(argc, argv, &o, why, sizeof(why));
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", app->program, rc == PH_ENOMEM ? "out of memory" : why);
        return PH_EXIT_USAGE;
    }
    /* --service NAME: that service's PipeName. Neither option: the PipeName of a service installed under the
     * program's own name, if there is one, else the program's default pipe. Without --framing the pipe is
     * spoken to in the framing it serves (its type says which), so a Framing changed in the registry but not
     * yet applied by a restart does not get in the way; --framing insists on one. */
    if (o.pipe == NULL) {
        char why_pipe[300];
        int found = svc_admin_service_pipe(o.service ? o.service : app->program, app->default_pipe, svc_pipe,
                                           sizeof(svc_pipe), why_pipe, sizeof(why_pipe));
        if (found != 0 && o.service != NULL) {
            fprintf(stderr, "pipehost: %s\n", why_pipe);
            svc_cli_options_free(&o);
            return found > 0 ? PH_CLI_NOT_FOUND : PH_CLI_FAILED;
        }
        if (found == 0) {
            o.pipe = svc_pipe;
            service_pid = running_pid(o.service ? o.service : app->program);
        }
    }
    if (ph_pipe_name_normalize(o.pipe ? o.pipe : app->default_pipe, pipe, sizeof(pipe)) != 0) {
        fprintf(stderr, "%s: invalid pipe name \"%.80s\" (bare \"NAME\" or full \"\\\\.\\pipe\\NAME\")\n",
                app->program, o.pipe ? o.pipe : app->default_pipe);
        svc_cli_options_free(&o);
        return PH_EXIT_USAGE;
    }
    rc = ph_client_new(&c);
    if (rc == 0 && o.server_sid != NULL && ph_client_require_server(c, o.server_sid) != 0) {
        fprintf(stderr, "pipehost: --server-sid: \"%.80s\" is not a valid SID\n", o.server_sid);
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
        code = c ? fail_connect(app->program, rc, c, pipe, o.timeout_ms, o.server_sid, by_pid, o.framing)
                 : PH_CLI_FAILED;
        goto out;
    }
    rc = ph_client_transact(c, o.request, o.request_len, &resp, &resp_len, o.timeout_ms, 0);
    if (rc != 0) {
        code = fail_transact(app->program, rc, c, pipe, o.timeout_ms);
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
        fprintf(stderr, "%s: the server answered: %.*s\n", app->program, (int)(resp_len > 2000 ? 2000 : resp_len),
                (const char *)resp);
        code = PH_CLI_ERR_ANSWER;
    } else {
        fprintf(stderr, "%s: unexpected answer from %s (%zu bytes, neither \"OK \" nor \"ERR \")\n", app->program, pipe,
                resp_len);
        code = PH_CLI_FAILED;
    }

out:
    ph_free(resp);
    ph_client_free(c);
    svc_cli_options_free(&o);
    return code;
}
