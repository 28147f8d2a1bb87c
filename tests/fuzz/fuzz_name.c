/* fuzz_name.c — fuzz target: pipe name normalisation (core/src/name.c) on arbitrary names and output sizes. */
#include "fuzz.h"

#include <pipehost/pipehost.h>

#include <string.h>

#define FULL_MAX (sizeof(PH_PIPE_PREFIX) + PH_PIPE_NAME_MAX) /* prefix + longest name + NUL */

/* The protected prefixes, in the spelling the output uses (core/src/name.c). */
static const char *const protected_prefixes[] = {
    "ProtectedPrefix\\Administrators\\",
    "ProtectedPrefix\\LocalService\\",
    "ProtectedPrefix\\NetworkService\\",
};

/* The length of the protected prefix the bare name in full starts with, 0 when none. */
static size_t protected_len(const char *bare)
{
    size_t i;

    for (i = 0; i < sizeof(protected_prefixes) / sizeof(protected_prefixes[0]); i++)
        if (strncmp(bare, protected_prefixes[i], strlen(protected_prefixes[i])) == 0)
            return strlen(protected_prefixes[i]);
    return 0;
}

/* a and b equal over n bytes, ASCII letters compared without case. */
static int same_nocase(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z')
            y += 'a' - 'A';
        if (x != y)
            return 0;
    }
    return 1;
}

/* Input: byte 0 chooses the size of a second, possibly too small, output buffer; the rest is the name (cut at
 * its first NUL, as a C string is). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char prefix[] = PH_PIPE_PREFIX;
    const size_t plen = sizeof(prefix) - 1;
    char *name, full[FULL_MAX], again[FULL_MAX], *small;
    const char *given;
    size_t small_size, n, i, kept;
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
        /* The full local form, a name of 1..256 characters without separators or control characters, except
         * the separators of a protected prefix (in its one spelling), which a non-empty name follows. */
        n = strlen(full);
        FUZZ_CHECK(n > plen && n <= plen + PH_PIPE_NAME_MAX);
        FUZZ_CHECK(memcmp(full, prefix, plen) == 0);
        kept = protected_len(full + plen);
        FUZZ_CHECK(n > plen + kept);
        for (i = plen + kept; i < n; i++) {
            unsigned char c = (unsigned char)full[i];
            FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '\\' && c != '/');
        }
        /* The bare name is kept as given (the input itself or its tail after the prefix), but for the case of a
         * protected prefix's words. */
        given = strlen(name) == n ? name + plen : name;
        FUZZ_CHECK(strlen(given) == n - plen);
        FUZZ_CHECK(same_nocase(full + plen, given, kept) && strcmp(full + plen + kept, given + kept) == 0);
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
