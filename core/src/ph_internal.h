/* ph_internal.h — declarations shared by the core's own files (ph__ names); never installed. */
#ifndef PH_INTERNAL_H
#define PH_INTERNAL_H

#include "pipehost/pipehost.h"

#include <stdarg.h>
#include <stddef.h>

/* container_of: from a pointer to an embedded member back to its owner (an OVERLAPPED to its connection). */
#define ph__container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define ph__array_size(a) (sizeof(a) / sizeof((a)[0]))

/* A growable byte buffer. data is always NUL-terminated when non-NULL (the NUL is not counted in len), so a
 * text message can be used as a C string without a copy. */
typedef struct ph_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} ph_buf;

int ph__buf_reserve(ph_buf *b, size_t extra);
int ph__buf_append(ph_buf *b, const void *data, size_t len);
int ph__buf_vappendf(ph_buf *b, const char *fmt, va_list ap) PH_PRINTF(2, 0);
void ph__buf_reset(ph_buf *b);
void ph__buf_free(ph_buf *b);
/* Hands the storage to the caller (who frees it with ph_free) and leaves b empty. */
unsigned char *ph__buf_detach(ph_buf *b, size_t *len);

struct ph_response {
    ph_buf buf;
};

/* Sanitised copy of untrusted bytes for messages: printable ASCII kept, others as '?', cut at max chars. */
void ph__printable(char *out, size_t out_size, const unsigned char *data, size_t len);

#endif /* PH_INTERNAL_H */
