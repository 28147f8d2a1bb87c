/* buf.c — growable byte buffers with overflow-checked growth, used for requests and responses. */
#include "ph_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ph__buf_reserve(ph_buf *b, size_t extra)
{
    size_t need, cap;
    unsigned char *p;

    /* One byte more than asked for keeps room for the terminating NUL. */
    if (extra > (size_t)-1 - b->len - 1)
        return PH_ENOMEM;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return PH_ENOMEM;
    /* A first allocation holds no text yet: terminate it, so "NUL-terminated when non-NULL" always holds
     * (ph__buf_detach of an empty buffer hands this out as an empty string). */
    p[b->len] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int ph__buf_append(ph_buf *b, const void *data, size_t len)
{
    int rc = ph__buf_reserve(b, len);
    if (rc != 0)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int ph__buf_vappendf(ph_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n, rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return PH_EINVAL;
    rc = ph__buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

void ph__buf_reset(ph_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void ph__buf_free(ph_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

unsigned char *ph__buf_detach(ph_buf *b, size_t *len)
{
    unsigned char *p;

    if (b->data == NULL && ph__buf_reserve(b, 0) != 0)
        return NULL;
    p = b->data;
    *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void ph_free(void *p)
{
    free(p);
}

void ph__printable(char *out, size_t out_size, const unsigned char *data, size_t len)
{
    size_t i, n = 0;

    if (out_size == 0)
        return;
    for (i = 0; i < len && n + 1 < out_size; i++)
        out[n++] = (char)((data[i] >= 0x20 && data[i] < 0x7f) ? data[i] : '?');
    out[n] = '\0';
}

void ph__say(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}
