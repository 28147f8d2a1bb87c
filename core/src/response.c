/* response.c — building a response message: raw bytes, printf-style text, and the OK/ERR conventions. */
#include "ph_internal.h"

#include <string.h>

int ph_response_append(ph_response *resp, const void *data, size_t len)
{
    if (resp == NULL || (data == NULL && len > 0))
        return PH_EINVAL;
    return ph__buf_append(&resp->buf, data, len);
}

int ph_response_appendf(ph_response *resp, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (resp == NULL || fmt == NULL)
        return PH_EINVAL;
    va_start(ap, fmt);
    rc = ph__buf_vappendf(&resp->buf, fmt, ap);
    va_end(ap);
    return rc;
}

int ph_response_ok(ph_response *resp, const void *payload, size_t len)
{
    int rc;

    if (resp == NULL || (payload == NULL && len > 0))
        return PH_EINVAL;
    ph__buf_reset(&resp->buf);
    rc = ph__buf_reserve(&resp->buf, 3 + len);
    if (rc != 0)
        return rc;
    ph__buf_append(&resp->buf, "OK ", 3);
    return ph__buf_append(&resp->buf, payload, len);
}

int ph_response_err(ph_response *resp, const char *code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (resp == NULL || code == NULL || fmt == NULL)
        return PH_EINVAL;
    ph__buf_reset(&resp->buf);
    rc = ph__buf_append(&resp->buf, "ERR ", 4);
    if (rc == 0)
        rc = ph__buf_append(&resp->buf, code, strlen(code));
    if (rc == 0)
        rc = ph__buf_append(&resp->buf, " ", 1);
    if (rc == 0) {
        va_start(ap, fmt);
        rc = ph__buf_vappendf(&resp->buf, fmt, ap);
        va_end(ap);
    }
    return rc;
}

size_t ph_response_len(const ph_response *resp)
{
    return resp ? resp->buf.len : 0;
}

const unsigned char *ph_response_data(const ph_response *resp)
{
    return resp ? resp->buf.data : NULL;
}

void ph_response_clear(ph_response *resp)
{
    if (resp != NULL)
        ph__buf_reset(&resp->buf);
}
