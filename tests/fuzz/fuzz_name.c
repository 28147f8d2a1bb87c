/* fuzz_name.c — fuzz target: pipe name normalisation (core/src/name.c) on arbitrary names and output sizes. */
#include "fuzz.h"

#include <pipehost/pipehost.h>

#include <string.h>

#define FULL_MAX (sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX) /* prefix + longest name + NUL */

/* Input: byte 0 chooses the size of a second, possibly too small, output buffer; the rest is the name (cut at
 * its first NUL, as a C string is). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char prefix[] = PH_PIPE_PREFIX;
    const size_t plen = sizeof(prefix) - 1;
    char *name, full[FULL_MAX], again[FULL_MAX], *small;
    size_t small_size, n, i;
    int rc, rc2;

    if (size == 0)
        return 0;
    small_size = data[0];
    name = malloc(size);
    if (name == NULL)
        return 0;
    memcpy(name, data + 1, size - 1);
    name[size - 1] = '\0';

    rc = ph_pipe_name_normalize(name, full, sizeof(full));
    FUZZ_CHECK(rc == 0 || rc == PH_EBADNAME);
    if (rc == 0) {
        /* The full local form, a name of 1..256 characters without separators or control characters. */
        n = strlen(full);
        FUZZ_CHECK(n > plen && n <= plen + PH_PIPE_NAME_MAX);
        FUZZ_CHECK(memcmp(full, prefix, plen) == 0);
        for (i = plen; i < n; i++) {
            unsigned char c = (unsigned char)full[i];
            FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '\\' && c != '/');
        }
        /* The bare name is kept as given: it is the input itself or its tail after the prefix. */
        FUZZ_CHECK(strcmp(full + plen, name) == 0 ||
                   (strlen(name) == n && strcmp(full + plen, name + plen) == 0));
        /* Normalising is idempotent. */
        FUZZ_CHECK(ph_pipe_name_normalize(full, again, sizeof(again)) == 0 && strcmp(again, full) == 0);
    }

    /* A buffer of exactly small_size bytes: filled only when the whole name fits, never overrun. */
    small = malloc(small_size ? small_size : 1);
    if (small != NULL) {
        rc2 = ph_pipe_name_normalize(name, small, small_size);
        if (rc != 0)
            FUZZ_CHECK(rc2 == rc);
        else if (strlen(full) + 1 <= small_size)
            FUZZ_CHECK(rc2 == 0 && strcmp(small, full) == 0);
        else
            FUZZ_CHECK(rc2 == PH_EINVAL);
        free(small);
    }
    FUZZ_CHECK(ph_pipe_name_normalize(NULL, full, sizeof(full)) == PH_EINVAL);
    free(name);
    return 0;
}
