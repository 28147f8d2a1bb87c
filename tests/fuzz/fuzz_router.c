/* fuzz_router.c — fuzz target: the verb router (core/src/router.c) on arbitrary request bytes and verb names. */
#include "fuzz.h"

#include "ph_internal.h"

#include <string.h>

/* Input: byte 0 chooses the flags and whether bytes 1.. up to the first '\n' name an extra verb to add (any
 * bytes: ph_router_add must refuse the bad ones); the rest is the request message. */
#define SEL_ADD_VERB 0x1u
#define SEL_TOO_LARGE 0x2u

typedef struct verb_ctx {
    const ph_request *req; /* the request being routed, to check what the router hands to the verb */
    unsigned calls;
} verb_ctx;

/* Checks the router's promise to a verb: the payload is the bytes after the first space, inside the request. */
static ph_handler_result verb_check(void *ctx, const ph_request *req, const unsigned char *payload, size_t len,
                                    ph_response *resp)
{
    verb_ctx *v = ctx;
    const unsigned char *end;

    FUZZ_CHECK(req == v->req);
    FUZZ_CHECK(req->data != NULL);
    end = req->data + req->len;
    if (payload == NULL) {
        FUZZ_CHECK(len == 0);
        FUZZ_CHECK(memchr(req->data, ' ', req->len) == NULL);
    } else {
        FUZZ_CHECK(payload > req->data && payload <= end);
        FUZZ_CHECK(payload[-1] == ' ');
        FUZZ_CHECK(len == (size_t)(end - payload));
        FUZZ_CHECK(memchr(req->data, ' ', (size_t)(payload - 1 - req->data)) == NULL);
    }
    v->calls++;
    ph_response_ok(resp, payload, len);
    return PH_REPLY;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const verbs[] = {"PING", "ECHO", "status", "X", "WhoAmI", "a-b_c.d",
                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "V1", "V2", "V3"};
    ph_router *r = NULL;
    struct ph_response resp;
    verb_ctx vc;
    ph_request req;
    unsigned char *msg = NULL;
    unsigned sel;
    size_t i, off = 1;
    ph_handler_result res;

    if (size == 0)
        return 0;
    sel = data[0];
    if (ph_router_new(&r) != 0)
        return 0;
    memset(&vc, 0, sizeof(vc));
    /* Ten verbs: the table grows past its first allocation of eight. */
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        FUZZ_CHECK(ph_router_add(r, verbs[i], verb_check, &vc) == 0);
    FUZZ_CHECK(ph_router_add(r, "ping", verb_check, &vc) == 0); /* replaces PING */
    if (sel & SEL_ADD_VERB) {
        const uint8_t *nl = memchr(data + 1, '\n', size - 1);
        size_t vlen = nl ? (size_t)(nl - (data + 1)) : size - 1;
        char verb[64];
        int rc;
        if (vlen < sizeof(verb)) {
            memcpy(verb, data + 1, vlen);
            verb[vlen] = '\0';
            rc = ph_router_add(r, verb, verb_check, &vc);
            /* Accepted exactly when the documented rule holds: 1-32 printable non-space ASCII characters. */
            {
                size_t n = strlen(verb), k;
                int valid = n >= 1 && n <= 32;
                for (k = 0; k < n; k++)
                    if ((unsigned char)verb[k] <= ' ' || (unsigned char)verb[k] >= 0x7f)
                        valid = 0;
                FUZZ_CHECK(rc == (valid ? 0 : PH_EINVAL));
            }
        }
        off = nl ? (size_t)(nl - data) + 1 : size;
    }

    memset(&resp, 0, sizeof(resp));
    memset(&req, 0, sizeof(req));
    req.len = size - off;
    req.max_message_bytes = 65536;
    req.connection_id = 1;
    if (sel & SEL_TOO_LARGE) {
        /* As the server hands it over: no data, only the count of bytes seen. */
        req.flags = PH_REQ_TOO_LARGE;
        req.data = NULL;
    } else {
        /* An exact copy plus the promised NUL, so a read past it is caught. */
        msg = malloc(req.len + 1);
        if (msg == NULL)
            goto out;
        memcpy(msg, data + off, req.len);
        msg[req.len] = '\0';
        req.data = msg;
    }
    vc.req = &req;
    res = ph_router_handle(r, &req, &resp);
    FUZZ_CHECK(res == PH_REPLY || res == PH_NO_REPLY || res == PH_REPLY_CLOSE);
    if (res == PH_NO_REPLY) {
        FUZZ_CHECK(vc.calls == 0 && req.len <= 2);
    } else {
        FUZZ_CHECK(resp.buf.data != NULL && resp.buf.data[resp.buf.len] == '\0');
        if (vc.calls == 0)
            FUZZ_CHECK(resp.buf.len >= 4 && memcmp(resp.buf.data, "ERR ", 4) == 0);
        else
            FUZZ_CHECK(resp.buf.len >= 3 && memcmp(resp.buf.data, "OK ", 3) == 0);
    }
    if (sel & SEL_TOO_LARGE)
        FUZZ_CHECK(res == PH_REPLY_CLOSE && vc.calls == 0);
    FUZZ_CHECK(vc.calls <= 1);

out:
    free(msg);
    ph__buf_free(&resp.buf);
    ph_router_free(r);
    return 0;
}
