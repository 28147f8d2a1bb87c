/* main.c — myservice.exe: a complete Windows service on pipehost with its own verbs, REVERSE and TIME.
 *
 * Everything pipehost.exe does comes with it — SCM lifecycle, registry configuration under
 * HKLM\SYSTEM\CurrentControlSet\Services\<name>\Parameters, log file and Event Log, `myservice run`
 * console mode, the client commands — plus the verbs added below. Install and try it:
 *
 *   sc create myservice binPath= "\"C:\path\to\myservice.exe\""
 *   net start myservice
 *   myservice send REVERSE hello        -> olleh
 *   myservice send TIME                 -> 2025-01-31T12:00:00.000Z
 *
 * A verb handler runs on a server pool thread, possibly on several at once, so it must be thread-safe;
 * it gets the payload (the bytes after "VERB "), fills the response with ph_response_ok/_err and says
 * whether to keep the connection (PH_REPLY) or close it after the reply (PH_REPLY_CLOSE).
 */
#include <pipehost/service.h>

#include <windows.h>

#include <stdlib.h>
#include <wchar.h>

/* REVERSE P -> "OK " + P with its bytes in reverse order (binary-safe). */
static ph_handler_result verb_reverse(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                      ph_response *resp)
{
    unsigned char *out;
    size_t i;

    (void)ctx;
    (void)req;
    if (len == 0)
        return ph_response_ok(resp, "", 0) == 0 ? PH_REPLY : PH_REPLY_CLOSE;
    out = malloc(len);
    if (out == NULL) {
        ph_response_err(resp, "internal", "out of memory");
        return PH_REPLY;
    }
    for (i = 0; i < len; i++)
        out[i] = payload[len - 1 - i];
    if (ph_response_ok(resp, out, len) != 0)
        ph_response_err(resp, "internal", "out of memory");
    free(out);
    return PH_REPLY;
}

/* TIME -> "OK " + the server's UTC time, ISO 8601 with milliseconds. A payload is refused. */
static ph_handler_result verb_time(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                   ph_response *resp)
{
    SYSTEMTIME t;

    (void)ctx;
    (void)req;
    (void)payload;
    if (len != 0) {
        ph_response_err(resp, "bad-request", "TIME takes no payload");
        return PH_REPLY;
    }
    GetSystemTime(&t);
    if (ph_response_ok(resp, "", 0) != 0 ||
        ph_response_appendf(resp, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", t.wYear, t.wMonth, t.wDay, t.wHour,
                            t.wMinute, t.wSecond, t.wMilliseconds) != 0)
        ph_response_err(resp, "internal", "out of memory");
    return PH_REPLY;
}

/* Called once per start, before the pipe is created: the place to add verbs (and to set up whatever
 * state they share, passed through ctx). */
static int add_verbs(void *ctx, ph_router *router)
{
    int rc;

    (void)ctx;
    rc = ph_router_add(router, "REVERSE", verb_reverse, NULL);
    if (rc == 0)
        rc = ph_router_add(router, "TIME", verb_time, NULL);
    return rc;
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    static const ph_service_app app = {.program = "myservice", .default_pipe = "myservice", .extend = add_verbs};
    return ph_service_main(argc, argv, &app);
}
