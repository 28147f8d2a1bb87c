/* verbs.c — the built-in request verbs: PING, HEALTH, ECHO (binary-safe), STATUS (counters, administrators only by default) and WHOAMI. */
#include "verbs.h"

#include "cmdrun.h"

#include <pipehost/service.h>

#include <string.h>

#include <windows.h>

/* PING -> "OK PONG". A payload is ignored, so "PING anything" is still a liveness check. */
static ph_handler_result verb_ping(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                   ph_response *resp)
{
    (void)ctx;
    (void)req;
    (void)payload;
    (void)len;
    return ph_response_ok(resp, "PONG", 4) == 0 ? PH_REPLY : PH_REPLY_CLOSE;
}

/* HEALTH -> "OK running": the public health answer for monitors, which tells nothing else (STATUS, with the
 * version, pid, traffic and settings, is for administrators). A server answers only while it runs. */
static ph_handler_result verb_health(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                     ph_response *resp)
{
    (void)ctx;
    (void)req;
    (void)payload;
    (void)len;
    return ph_response_ok(resp, "running", 7) == 0 ? PH_REPLY : PH_REPLY_CLOSE;
}

/* ECHO P -> "OK " P, byte for byte (NULs included); "ECHO" alone -> "OK ". */
static ph_handler_result verb_echo(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                   ph_response *resp)
{
    (void)ctx;
    (void)req;
    return ph_response_ok(resp, payload, len) == 0 ? PH_REPLY : PH_REPLY_CLOSE;
}

/* STATUS -> "OK " and one key=value per line ("\n"), in a fixed order; new keys are only ever added. */
static ph_handler_result status_reply(ph_response *resp, const ph_server *server, uint64_t uptime_ms,
                                      const char *service_name, svc_verbs *v)
{
    ph_counters c;
    ph_limits lim;
    unsigned long reloads = 0;
    char result[sizeof(((svc_verbs *)0)->reload_result)];
    int rc;

    ph_counters_init(&c);
    ph_limits_init(&lim);
    rc = ph_server_counters(server, &c);
    if (rc == 0)
        rc = ph_server_get_limits(server, &lim);
    result[0] = '\0';
    if (v != NULL) {
        AcquireSRWLockShared(&v->lock);
        reloads = v->reloads;
        memcpy(result, v->reload_result, sizeof(result));
        ReleaseSRWLockShared(&v->lock);
    }
    if (rc == 0)
        rc = ph_response_ok(resp, "", 0);
    if (rc == 0)
        rc = ph_response_appendf(resp,
                                 "version=%s\n"
                                 "service=%s\n"
                                 "pid=%lu\n"
                                 "pipe=%s\n"
                                 "uptime_ms=%llu\n"
                                 "connections_total=%llu\n"
                                 "connections_active=%llu\n"
                                 "requests_total=%llu\n"
                                 "errors_total=%llu\n"
                                 "bytes_in=%llu\n"
                                 "bytes_out=%llu\n"
                                 "instances_pending=%llu\n"
                                 "max_message_bytes=%zu\n"
                                 "idle_timeout_ms=%lu\n"
                                 "write_timeout_ms=%lu\n"
                                 "drain_timeout_ms=%lu\n",
                                 PH_VERSION_STRING, service_name, (unsigned long)GetCurrentProcessId(),
                                 ph_server_pipe_name(server), (unsigned long long)uptime_ms,
                                 (unsigned long long)c.connections_total, (unsigned long long)c.connections_active,
                                 (unsigned long long)c.requests_total, (unsigned long long)c.errors_total,
                                 (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out,
                                 (unsigned long long)c.instances_pending, lim.max_message_bytes,
                                 (unsigned long)lim.idle_timeout_ms, (unsigned long)lim.write_timeout_ms,
                                 (unsigned long)lim.drain_timeout_ms);
    /* The service host's own keys: how many PARAMCHANGEs it handled and the last outcome. */
    if (rc == 0 && v != NULL)
        rc = ph_response_appendf(resp, "reloads=%lu\nreload_result=%s\n", reloads, result);
    /* Keys added later come after all of the above, so every earlier key keeps its place. */
    if (rc == 0)
        rc = ph_response_appendf(resp, "first_request_timeout_ms=%lu\nmax_connections_per_user=%lu\n",
                                 (unsigned long)lim.first_request_timeout_ms,
                                 (unsigned long)lim.max_connections_per_user);
    /* The pool the server was configured with (a restart applies a change): "fixed N" or "unlimited". Known
     * to the service host, which holds the configuration; a server of a host program's own leaves it out. */
    if (rc == 0 && v != NULL && v->max_instances != 0) {
        char pool[32];
        ph__svc_config_pool_text(v->max_instances, pool, sizeof(pool));
        rc = ph_response_appendf(resp, "pool=%s\n", pool);
    }
    /* Command verbs: programs running now and runs started since the service started. */
    if (rc == 0 && v != NULL && v->cmdrun != NULL) {
        uint64_t running = 0, started = 0;
        ph__svc_cmdrun_counts(v->cmdrun, &running, &started);
        rc = ph_response_appendf(resp, "commands_running=%llu\ncommands_started=%llu\n", (unsigned long long)running,
                                 (unsigned long long)started);
    }
    if (rc != 0)
        ph_response_err(resp, "internal", "out of memory building the status");
    return PH_REPLY;
}

static ph_handler_result verb_status(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                     ph_response *resp)
{
    svc_verbs *v = ctx;

    (void)req;
    (void)payload;
    (void)len;
    return status_reply(resp, v->server, GetTickCount64() - v->started_ms, v->service_name ? v->service_name : "", v);
}

/* Milliseconds since this process was created: the uptime a server outside the service host reports. */
static uint64_t process_uptime_ms(void)
{
    FILETIME created, exited, kernel, user, now;
    uint64_t a, b;

    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user))
        return 0;
    GetSystemTimeAsFileTime(&now);
    a = ((uint64_t)created.dwHighDateTime << 32) | created.dwLowDateTime;
    b = ((uint64_t)now.dwHighDateTime << 32) | now.dwLowDateTime;
    return b > a ? (b - a) / 10000u : 0;
}

/* STATUS for ph_service_add_builtin_verbs: ctx is the caller's ph_server pointer, read per request. */
static ph_handler_result verb_status_ref(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                         ph_response *resp)
{
    ph_server *const *server = ctx;

    (void)req;
    (void)payload;
    (void)len;
    if (*server == NULL) {
        ph_response_err(resp, "internal", "STATUS: the server is not set up yet");
        return PH_REPLY;
    }
    return status_reply(resp, *server, process_uptime_ms(), "", NULL);
}

/* WHOAMI -> "OK pid=…\nsession=…\nsid=…\n": the caller as the server sees it (from the pipe and its token). */
static ph_handler_result verb_whoami(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                     ph_response *resp)
{
    const ph_client_info *ci = ph_request_client(req);
    int rc;

    (void)ctx;
    (void)payload;
    (void)len;
    rc = ph_response_ok(resp, "", 0);
    if (rc == 0)
        rc = ph_response_appendf(resp, "pid=%lu\nsession=%lu\nsid=%s\n", ci ? ci->pid : 0ul, ci ? ci->session_id : 0ul,
                                 ci && ci->user_sid ? ci->user_sid : "");
    if (rc != 0)
        ph_response_err(resp, "internal", "out of memory");
    return PH_REPLY;
}

void ph__svc_verbs_reloaded(svc_verbs *v, const char *result)
{
    size_t n = strlen(result), i;

    AcquireSRWLockExclusive(&v->lock);
    v->reloads++;
    if (n >= sizeof(v->reload_result))
        n = sizeof(v->reload_result) - 1;
    /* One line in the key=value answer: line breaks in a message would start a fake key. */
    for (i = 0; i < n; i++)
        v->reload_result[i] = (char)((result[i] == '\n' || result[i] == '\r') ? ' ' : result[i]);
    v->reload_result[n] = '\0';
    ReleaseSRWLockExclusive(&v->lock);
}

/* STATUS tells the version, the pid, every user's traffic together and the old and new values of changed
 * settings: administrators only unless the host restricts it otherwise (Parameters\Verbs\STATUS, or a later
 * ph_router_restrict, replaces this one). */
static int add_status(ph_router *router, ph_verb_fn fn, void *ctx)
{
    int rc = ph_router_add(router, "STATUS", fn, ctx);

    return rc == 0 ? ph_router_restrict(router, "STATUS", PH_SERVICE_STATUS_SDDL) : rc;
}

int ph__svc_verbs_register(ph_router *router, svc_verbs *v)
{
    int rc;

    InitializeSRWLock(&v->lock);
    rc = ph_router_add(router, "PING", verb_ping, v);
    if (rc == 0)
        rc = ph_router_add(router, "HEALTH", verb_health, v);
    if (rc == 0)
        rc = ph_router_add(router, "ECHO", verb_echo, v);
    if (rc == 0)
        rc = add_status(router, verb_status, v);
    if (rc == 0)
        rc = ph_router_add(router, "WHOAMI", verb_whoami, v);
    return rc;
}

int ph_service_add_builtin_verbs(ph_router *router, ph_server *const *server)
{
    int rc;

    if (router == NULL || server == NULL)
        return PH_EINVAL;
    rc = ph_router_add(router, "PING", verb_ping, NULL);
    if (rc == 0)
        rc = ph_router_add(router, "HEALTH", verb_health, NULL);
    if (rc == 0)
        rc = ph_router_add(router, "ECHO", verb_echo, NULL);
    if (rc == 0)
        rc = add_status(router, verb_status_ref, (void *)server);
    if (rc == 0)
        rc = ph_router_add(router, "WHOAMI", verb_whoami, NULL);
    return rc;
}
