/* server_host.c — pipehost-bench-host: pipehost.exe's host plus a bench-only SLEEP verb for the slow-handler cell. */
#include <pipehost/service.h>

#include <windows.h>

#include <wchar.h>

/* This is service/main.c with one verb added through the host's extension point (as examples/myservice
 * adds its verbs): the same ph_service_main, configuration, defaults and engine, so `pipehost-bench-host
 * run ...` serves exactly as `pipehost run ...` does. Only the slow-handler cell of bench/load.c uses it;
 * every other cell measures pipehost.exe itself. The verb stays out of pipehost.exe on purpose: a verb that
 * holds a pool thread for seconds on request is a denial of service in a production verb table. */

#define SLEEP_MAX_MS 10000u

/* SLEEP MS -> holds the pool thread that runs it for MS milliseconds (decimal, 0..10000), then answers
 * "OK MS": a handler that is slow, as a verb doing real work (a database, a disk, a network call) is. */
static ph_handler_result verb_sleep(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                    ph_response *resp)
{
    unsigned long ms = 0;
    size_t i;

    (void)ctx;
    (void)req;
    for (i = 0; i < len && payload[i] >= '0' && payload[i] <= '9' && ms <= SLEEP_MAX_MS; i++)
        ms = ms * 10 + (unsigned long)(payload[i] - '0');
    if (len == 0 || i != len || ms > SLEEP_MAX_MS) {
        ph_response_err(resp, "bad-request", "SLEEP takes a number of milliseconds, 0..%u", SLEEP_MAX_MS);
        return PH_REPLY;
    }
    Sleep((DWORD)ms);
    if (ph_response_ok(resp, payload, len) != 0)
        ph_response_err(resp, "internal", "out of memory");
    return PH_REPLY;
}

static int add_verbs(void *ctx, ph_router *router)
{
    (void)ctx;
    return ph_router_add(router, "SLEEP", verb_sleep, NULL);
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    /* The program and default pipe names are pipehost's, so that messages and defaults read the same. */
    static const ph_service_app app = {.program = "pipehost", .default_pipe = "pipehost", .extend = add_verbs};
    return ph_service_main(argc, argv, &app);
}
