/* main.c — myservice.exe: a complete Windows service on pipehost with verbs, settings and a name of its own.
 *
 * Everything pipehost.exe does comes with it — SCM lifecycle, registry configuration under
 * HKLM\SYSTEM\CurrentControlSet\Services\<name>\Parameters, log file and Event Log, `myservice run`
 * console mode, the client commands — plus what is added below:
 *   - verbs: REVERSE and TIME answer at once; LATER answers after ReplyDelayMs without holding a thread
 *     (PH_DEFER and the server's timer); HELLO answers with the Greeting setting; COUNT says how many requests
 *     this connection has made and how many connections are open (per-connection state, released on close);
 *   - settings of its own, checked, listed by `myservice help` and applied by `myservice reload` like the
 *     built-in ones: Greeting (text) and ReplyDelayMs (DWORD);
 *   - its own name: messages start "myservice:", its log goes to %ProgramData%\MyService\<name>.log, a
 *     configuration kept by `uninstall --keep-config` to HKLM\SOFTWARE\MyService, and its version resource
 *     says so (CMakeLists.txt).
 * Install and try it:
 *
 *   myservice install --start-now
 *   myservice send REVERSE hello        -> olleh
 *   myservice send LATER                -> (after 200 ms) later
 *   myservice config --set Greeting=hi && myservice reload
 *   myservice send HELLO                -> hi
 *
 * A verb handler runs on a server pool thread, possibly on several at once, so it must be thread-safe;
 * it gets the payload (the bytes after "VERB "), fills the response with ph_response_ok/_err and says
 * whether to keep the connection (PH_REPLY) or close it after the reply (PH_REPLY_CLOSE), or that the
 * reply comes later (PH_DEFER).
 */
#include <pipehost/service.h>

#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Its settings: read from Parameters like PipeName; a wrong type or value stops the service with exit 1. */
static const ph_service_setting settings[] = {
    {.name = "Greeting", .option = "--greeting", .type = PH_SETTING_STRING, .min = 1, .max = 100,
     .default_string = "hello", .help = "what HELLO answers"},
    {.name = "ReplyDelayMs", .option = "--reply-delay", .type = PH_SETTING_DWORD, .min = 0, .max = 60000,
     .default_dword = 200, .help = "how long LATER waits before it answers (ms)"},
};

/* Connections open now: counted by the connection hooks, so a test can see that every close was seen. */
static volatile LONG open_connections;

/* Per-connection state: made at a connection's first request, freed when it ends. */
typedef struct conn_state {
    volatile LONG requests;
} conn_state;

static int conn_open(void *ctx, const ph_request *first, void **conn_data)
{
    conn_state *c = calloc(1, sizeof(*c));

    (void)ctx;
    (void)first;
    if (c == NULL)
        return -1; /* refused: "ERR refused" and the connection closes */
    *conn_data = c;
    InterlockedIncrement(&open_connections);
    return 0;
}

static void conn_close(void *ctx, uint64_t connection_id, void *conn_data, ph_close_reason why)
{
    (void)ctx;
    ph_service_log(PH_LOG_DEBUG, "connection %llu closed (reason %d) after %ld request(s)",
                   (unsigned long long)connection_id, (int)why, ((conn_state *)conn_data)->requests);
    free(conn_data);
    InterlockedDecrement(&open_connections);
}

static void count_request(const ph_request *req)
{
    conn_state *c = ph_request_conn_data(req);
    if (c != NULL)
        InterlockedIncrement(&c->requests);
}

/* REVERSE P -> "OK " + P with its bytes in reverse order (binary-safe). */
static ph_handler_result verb_reverse(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                      ph_response *resp)
{
    unsigned char *out;
    size_t i;

    (void)ctx;
    count_request(req);
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
    (void)payload;
    count_request(req);
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

/* LATER -> "OK later", ReplyDelayMs after the request: the request is held and the server's timer sends the
 * reply, so no pool thread waits meanwhile. */
static ph_handler_result verb_later(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                    ph_response *resp)
{
    ph_deferred *d = NULL;
    uint32_t delay = 0;

    (void)ctx;
    (void)payload;
    (void)len;
    count_request(req);
    if (ph_service_setting_dword("ReplyDelayMs", &delay) != 0 || ph_request_defer(req, &d) != 0) {
        ph_response_err(resp, "internal", "cannot hold the request");
        return PH_REPLY;
    }
    if (ph_response_ok(ph_deferred_response(d), "later", 5) != 0 ||
        ph_deferred_complete_after(d, delay, PH_REPLY, NULL, 0) != 0) {
        /* Still ours after a failed ph_deferred_complete_after: answer at once. */
        ph_response_clear(ph_deferred_response(d));
        ph_response_err(ph_deferred_response(d), "internal", "out of memory");
        ph_deferred_complete(d, PH_REPLY, NULL, 0);
    }
    return PH_DEFER;
}

/* HELLO -> "OK " + Greeting, the value in force (a reload changes it; the copy is never torn). */
static ph_handler_result verb_hello(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                    ph_response *resp)
{
    char greeting[128];

    (void)ctx;
    (void)payload;
    (void)len;
    count_request(req);
    if (ph_service_setting_string("Greeting", greeting, sizeof(greeting)) != 0)
        ph_response_err(resp, "internal", "no Greeting");
    else if (ph_response_ok(resp, greeting, strlen(greeting)) != 0)
        ph_response_err(resp, "internal", "out of memory");
    return PH_REPLY;
}

/* COUNT -> "OK requests=N open=M": this connection's requests so far (this one included) and the connections
 * open now. */
static ph_handler_result verb_count(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                    ph_response *resp)
{
    conn_state *c = ph_request_conn_data(req);

    (void)ctx;
    (void)payload;
    (void)len;
    count_request(req);
    if (ph_response_ok(resp, "", 0) != 0 ||
        ph_response_appendf(resp, "requests=%ld open=%ld", c ? c->requests : 0L, open_connections) != 0)
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
    if (rc == 0)
        rc = ph_router_add(router, "LATER", verb_later, NULL);
    if (rc == 0)
        rc = ph_router_add(router, "HELLO", verb_hello, NULL);
    if (rc == 0)
        rc = ph_router_add(router, "COUNT", verb_count, NULL);
    return rc;
}

static void on_start(void *ctx)
{
    (void)ctx;
    ph_service_log(PH_LOG_INFO, "myservice %s is ready", ph_service_name());
}

static void on_stop(void *ctx)
{
    (void)ctx;
    ph_service_log(PH_LOG_INFO, "myservice %s is stopping", ph_service_name());
}

static void on_reload(void *ctx, const char *changes)
{
    (void)ctx;
    ph_service_log(PH_LOG_INFO, "myservice reloaded: %s", changes[0] ? changes : "nothing changed");
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    static const ph_service_app app = {
        .program = "myservice",
        .default_pipe = "myservice",
        .extend = add_verbs,
        .settings = settings,
        .setting_count = sizeof(settings) / sizeof(settings[0]),
        .conn_open = conn_open,
        .conn_close = conn_close,
        .on_start = on_start,
        .on_stop = on_stop,
        .on_reload = on_reload,
        .product = "My Service",
        .log_folder = "MyService",
        .registry_root = "MyService",
    };

    /* First thing, as pipehost.exe does: DLLs loaded later come from System32 only, never from the current
     * folder or PATH, where a user could plant one for the service to load. */
    (void)SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32);
    return ph_service_main(argc, argv, &app);
}
