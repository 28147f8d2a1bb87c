/* fuzz_response.c — fuzz target: responses and the byte buffers under them (core/src/response.c, buf.c). */
#include "fuzz.h"

#include "ph_internal.h"

#include <string.h>

/* Input: a program of operations on one response, each checked against a plain model of what the response
 * must hold (the bytes, and the NUL after them). An operation is a byte (op) and a byte (n) and n bytes of
 * argument where it takes one. */

typedef struct model {
    unsigned char *data;
    size_t len;
} model;

static int model_set(model *m, const void *a, size_t alen, const void *b, size_t blen)
{
    unsigned char *p = malloc(alen + blen + 1);
    if (p == NULL)
        return -1;
    if (alen > 0)
        memcpy(p, a, alen);
    if (blen > 0)
        memcpy(p + alen, b, blen);
    free(m->data);
    m->data = p;
    m->len = alen + blen;
    return 0;
}

static int model_append(model *m, const void *b, size_t blen)
{
    unsigned char *p = malloc(m->len + blen + 1);
    if (p == NULL)
        return -1;
    if (m->len > 0)
        memcpy(p, m->data, m->len);
    if (blen > 0)
        memcpy(p + m->len, b, blen);
    free(m->data);
    m->data = p;
    m->len += blen;
    return 0;
}

static void check_same(const struct ph_response *r, const model *m)
{
    FUZZ_CHECK(ph_response_len(r) == m->len);
    if (r->buf.data == NULL) {
        FUZZ_CHECK(m->len == 0);
        return;
    }
    FUZZ_CHECK(r->buf.len < r->buf.cap);
    FUZZ_CHECK(m->len == 0 || memcmp(ph_response_data(r), m->data, m->len) == 0);
    FUZZ_CHECK(ph_response_data(r)[m->len] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ph_response r;
    model m = {NULL, 0};
    size_t off = 0;
    unsigned steps = 0;

    memset(&r, 0, sizeof(r));
    while (off + 2 <= size && steps++ < 256) {
        unsigned op = data[off] % 9;
        size_t n = data[off + 1];
        const uint8_t *arg = data + off + 2;
        int rc;

        off += 2;
        if (n > size - off)
            n = size - off;
        switch (op) {
        case 0: /* raw bytes */
            rc = ph_response_append(&r, arg, n);
            FUZZ_CHECK(rc == 0);
            model_append(&m, arg, n);
            off += n;
            break;
        case 1: { /* printf-style text: a number */
            char num[32];
            int k = snprintf(num, sizeof(num), "%zu", n * 1000003u);
            FUZZ_CHECK(ph_response_appendf(&r, "%zu", n * 1000003u) == 0);
            model_append(&m, num, (size_t)k);
            break;
        }
        case 2: /* OK + binary payload replaces the content */
            FUZZ_CHECK(ph_response_ok(&r, arg, n) == 0);
            model_set(&m, "OK ", 3, arg, n);
            off += n;
            break;
        case 3: { /* ERR code text, with untrusted text made printable as the router does */
            char shown[300], expect[400];
            int k;
            ph__printable(shown, sizeof(shown), arg, n);
            FUZZ_CHECK(strlen(shown) == (n < sizeof(shown) ? n : sizeof(shown) - 1));
            FUZZ_CHECK(ph_response_err(&r, "fuzz-code", "'%s' refused", shown) == 0);
            k = snprintf(expect, sizeof(expect), "ERR fuzz-code '%s' refused", shown);
            model_set(&m, expect, (size_t)k, NULL, 0);
            off += n;
            break;
        }
        case 4: /* clear */
            ph_response_clear(&r);
            model_set(&m, NULL, 0, NULL, 0);
            break;
        case 5: { /* hand the bytes out and start again, as a reply is given to the writer */
            size_t len = 0;
            unsigned char *p = ph__buf_detach(&r.buf, &len);
            FUZZ_CHECK(p != NULL && len == m.len && p[len] == '\0');
            FUZZ_CHECK(len == 0 || memcmp(p, m.data, len) == 0);
            ph_free(p);
            FUZZ_CHECK(r.buf.data == NULL && r.buf.len == 0 && r.buf.cap == 0);
            model_set(&m, NULL, 0, NULL, 0);
            break;
        }
        case 6: { /* the printable copy never overruns its buffer, whatever its size */
            size_t out_size = n % 40;
            char *out = malloc(out_size ? out_size : 1);
            size_t i, shown;
            if (out == NULL)
                break;
            ph__printable(out, out_size, arg, size - off);
            if (out_size > 0) {
                shown = strlen(out);
                FUZZ_CHECK(shown < out_size && shown <= size - off);
                for (i = 0; i < shown; i++)
                    FUZZ_CHECK(out[i] >= 0x20 && out[i] < 0x7f && (out[i] == '?' || out[i] == (char)arg[i]));
            }
            free(out);
            break;
        }
        case 7: /* invalid arguments are refused, not followed */
            FUZZ_CHECK(ph_response_append(&r, NULL, n + 1) == PH_EINVAL);
            FUZZ_CHECK(ph_response_ok(&r, NULL, n + 1) == PH_EINVAL);
            FUZZ_CHECK(ph_response_append(NULL, arg, 0) == PH_EINVAL);
            FUZZ_CHECK(ph_response_append(&r, NULL, 0) == 0);
            break;
        case 8: /* every error code has a message and a name */
            FUZZ_CHECK(ph_strerror(-(int)n) != NULL && ph_err_name(-(int)n) != NULL);
            FUZZ_CHECK(ph_strerror((int)n) != NULL && ph_err_name((int)n) != NULL);
            break;
        default:
            break;
        }
        check_same(&r, &m);
    }
    ph__buf_free(&r.buf);
    free(m.data);
    return 0;
}
