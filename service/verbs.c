/* verbs.c — the built-in request verbs: PING, ECHO (binary-safe), STATUS (counters) and WHOAMI (caller identity). */
#include "verbs.h"

#include <string.h>

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

/* ECHO P -> "OK " P, byte for byte (NULs included); "ECHO" alone -> "OK ". */
static ph_handler_result verb_echo(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                   ph_response *resp)
{
    (void)ctx;
    (void)req;
    return ph_response_ok(resp, payload, len) == 0 ? PH_REPLY : PH_REPLY_CLOSE;
}

/* STATUS -> "OK " and one key=value per line ("\n"), in a fixed order; new keys are only ever added. */
static ph_handler_result verb_status(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                     ph_response *resp)
{
    svc_verbs *v = ctx;
    ph_counters c;
    ph_limits lim;
    unsigned long reloads;
    char result[sizeof(v->reload_result)];
    int rc;

    (void)req;
    (void)payload;
    (void)len;
    ph_server_counters(v->server, &c);
    ph_server_get_limits(v->server, &lim);
    AcquireSRWLockShared(&v->lock);
    reloads = v->reloads;
    memcpy(result, v->reload_result, sizeof(result));
    ReleaseSRWLockShared(&v->lock);
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
                                 PH_VERSION_STRING, v->service_name ? v->service_name : "",
                                 (unsigned long)GetCurrentProcessId(), ph_server_pipe_name(v->server),
                                 (unsigned long long)(GetTickCount64() - v->started_ms),
                                 (unsigned long long)c.connections_total, (unsigned long long)c.connections_active,
                                 (unsigned long long)c.requests_total, (unsigned long long)c.errors_total,
                                 (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out,
                                 (unsigned long long)c.instances_pending, lim.max_message_bytes,
                                 (unsigned long)lim.idle_timeout_ms, (unsigned long)lim.write_timeout_ms,
                                 (unsigned long)lim.drain_timeout_ms);
    if (rc == 0)
        rc = ph_response_appendf(resp, "reloads=%lu\nreload_result=%s\n", reloads, result);
    if (rc != 0) {
        ph_response_err(resp, "internal", "out of memory building the status");
        return PH_REPLY;
    }
    return PH_REPLY;
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

void svc_verbs_reloaded(svc_verbs *v, const char *result)
{
    size_t n = strlen(result), i;

    AcquireSRWLockExclusive(&v->lock);
    v->reloads++;
    if (n >= sizeof(v->reload_result))
        n = sizeof(v->reload_result) - 1;
    /* One line in the key=value answer: line breaks in a message would start a fake key. */
    for (i = 0; i < n; i++)
        v->reload_result[i] = (result[i] == '\n' || result[i] == '\r') ? ' ' : result[i];
    v->reload_result[n] = '\0';
    ReleaseSRWLockExclusive(&v->lock);
}

int svc_verbs_register(ph_router *router, svc_verbs *v)
{
    int rc;

    InitializeSRWLock(&v->lock);
    rc = ph_router_add(router, "PING", verb_ping, v);
    if (rc == 0)
        rc = ph_router_add(router, "ECHO", verb_echo, v);
    if (rc == 0)
        rc = ph_router_add(router, "STATUS", verb_status, v);
    if (rc == 0)
        rc = ph_router_add(router, "WHOAMI", verb_whoami, v);
    return rc;
}
