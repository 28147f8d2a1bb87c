/* router.c — the verb router: splits "VERB[ payload]" requests and dispatches them through a host-extended table. */
#include "ph_internal.h"

#include <stdlib.h>
#include <string.h>

#define PH_VERB_MAX 32

typedef struct ph_route {
    char verb[PH_VERB_MAX + 1];
    ph_verb_fn fn;
    void *ctx;
    ph__verb_acl *acl; /* NULL: anyone who can open the pipe may call the verb */
} ph_route;

struct ph_router {
    ph_route *routes;
    size_t count;
    size_t cap;
};

int ph_router_new(ph_router **out)
{
    if (out == NULL)
        return PH_EINVAL;
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : PH_ENOMEM;
}

void ph_router_free(ph_router *router)
{
    size_t i;

    if (router == NULL)
        return;
    for (i = 0; i < router->count; i++)
        ph__verb_acl_free(router->routes[i].acl);
    free(router->routes);
    free(router);
}

static int ascii_upper(int c)
{
    return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

static int verb_equal(const char *verb, const unsigned char *data, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (verb[i] == '\0' || ascii_upper(verb[i]) != ascii_upper(data[i]))
            return 0;
    return verb[len] == '\0';
}

int ph_router_add(ph_router *router, const char *verb, ph_verb_fn fn, void *ctx)
{
    size_t i, n;
    ph_route *r;

    if (router == NULL || verb == NULL || fn == NULL)
        return PH_EINVAL;
    n = strlen(verb);
    if (n == 0 || n > PH_VERB_MAX)
        return PH_EINVAL;
    for (i = 0; i < n; i++)
        if (verb[i] <= ' ' || verb[i] >= 0x7f)
            return PH_EINVAL;
    /* A verb is in the table at most once: replace it, or append it at i == count. */
    for (i = 0; i < router->count; i++)
        if (verb_equal(router->routes[i].verb, (const unsigned char *)verb, n))
            break;
    if (i == router->count) {
        if (router->count == router->cap) {
            size_t cap = router->cap ? router->cap * 2 : 8;
            ph_route *p = realloc(router->routes, cap * sizeof(*p));
            if (p == NULL)
                return PH_ENOMEM;
            router->routes = p;
            router->cap = cap;
        }
        router->count++;
        router->routes[i].acl = NULL;
    }
    /* A replaced verb keeps its restriction: replacing the code must not silently open it to everyone. */
    r = &router->routes[i];
    memcpy(r->verb, verb, n + 1);
    r->fn = fn;
    r->ctx = ctx;
    return 0;
}

int ph_router_restrict(ph_router *router, const char *verb, const char *sddl)
{
    ph_route *r = NULL;
    ph__verb_acl *acl = NULL;
    size_t i, n;
    int rc;

    if (router == NULL || verb == NULL || sddl == NULL)
        return PH_EINVAL;
    n = strlen(verb);
    for (i = 0; i < router->count; i++)
        if (verb_equal(router->routes[i].verb, (const unsigned char *)verb, n))
            r = &router->routes[i];
    if (n == 0 || r == NULL)
        return PH_EINVAL;
    rc = ph__verb_acl_new(sddl, &acl);
    if (rc != 0)
        return rc;
    ph__verb_acl_free(r->acl);
    r->acl = acl;
    return 0;
}

ph_handler_result ph_router_handle(void *router, const ph_request *req, ph_response *resp)
{
    const ph_router *table = router;
    const unsigned char *data = req->data;
    const unsigned char *space, *payload = NULL;
    size_t verb_len, payload_len = 0, i;
    char shown[PH_VERB_MAX + 4];

    if (req->flags & PH_REQ_TOO_LARGE) {
        ph_response_err(resp, "too-large", "request of %zu bytes or more exceeds the limit of %zu bytes",
                        req->len, req->max_message_bytes);
        return PH_REPLY_CLOSE;
    }
    if (req->len == 0) {
        ph_response_err(resp, "empty-request", "an empty message has no verb");
        return PH_REPLY;
    }
    /* A bare line end is what `echo VERB> \\.\pipe\x` sends after the verb, as a message of its own. */
    if ((req->len == 2 && data[0] == '\r' && data[1] == '\n') || (req->len == 1 && data[0] == '\n'))
        return PH_NO_REPLY;

    space = memchr(data, ' ', req->len);
    if (space != NULL) {
        verb_len = (size_t)(space - data);
        payload = space + 1;
        payload_len = req->len - verb_len - 1;
    } else {
        verb_len = req->len; /* at least 1: the empty message was answered above */
        if (data[verb_len - 1] == '\n')
            verb_len--;
        if (verb_len >= 1 && data[verb_len - 1] == '\r')
            verb_len--;
    }
    for (i = 0; table != NULL && i < table->count; i++) {
        const ph_route *r = &table->routes[i];
        if (!verb_equal(r->verb, data, verb_len))
            continue;
        /* Checked before the verb runs, on every call: the decision rests on the client's token now. */
        if (r->acl != NULL && !ph__verb_acl_allows(r->acl, req, r->verb)) {
            ph_response_err(resp, "forbidden", "you are not allowed to call %s", r->verb);
            return PH_REPLY;
        }
        return r->fn(r->ctx, req, payload, payload_len, resp);
    }

    ph__printable(shown, sizeof(shown), data, verb_len > PH_VERB_MAX ? PH_VERB_MAX : verb_len);
    ph_response_err(resp, "unknown-verb", "'%s%s' is not a known verb", shown, verb_len > PH_VERB_MAX ? "…" : "");
    return PH_REPLY;
}
