/* name.c — pipe name checks: bare or full local names in, the full "\\.\pipe\NAME" form out. */
#include "ph_internal.h"

#include <string.h>

int ph_pipe_name_normalize(const char *name, char *out, size_t out_size)
{
    static const char prefix[] = PH_PIPE_PREFIX;
    const size_t plen = sizeof(prefix) - 1;
    const char *bare = name;
    size_t i, n;

    if (name == NULL || out == NULL)
        return PH_EINVAL;
    /* Only the local-machine form is served: "\\server\pipe\x" names another host. */
    if (name[0] == '\\' || name[0] == '/') {
        if (strlen(name) < plen)
            return PH_EBADNAME;
        for (i = 0; i < plen; i++) {
            char c = name[i];
            char p = prefix[i];
            if (c == '/')
                c = '\\';
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != p)
                return PH_EBADNAME;
        }
        bare = name + plen;
    }
    n = strlen(bare);
    if (n == 0 || n > PH_PIPE_NAME_MAX)
        return PH_EBADNAME;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)bare[i];
        /* A backslash would make the name look like a path to a confused reader of logs and is legal but
         * unusual; we refuse it, with '/', control characters and DEL, to keep names unambiguous. */
        if (c < 0x20 || c == 0x7f || c == '\\' || c == '/')
            return PH_EBADNAME;
    }
    if (plen + n + 1 > out_size)
        return PH_EINVAL;
    memcpy(out, prefix, plen);
    memcpy(out + plen, bare, n + 1);
    return 0;
}
