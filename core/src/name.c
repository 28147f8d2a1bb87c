/* name.c — pipe name checks: bare or full local names in, the full "\\.\pipe\NAME" form out. */
#include "ph_internal.h"

#include <string.h>

/* The protected prefixes (Windows 10 1709 and later; undocumented, stable since): the Session Manager
 * creates \Device\NamedPipe\ProtectedPrefix\Administrators, \LocalService and \NetworkService with DACLs
 * that let only Administrators and SYSTEM, LocalService, or NetworkService respectively create pipes under
 * them (James Forshaw, "Named Pipe Secure Prefixes", tiraniddo.dev, 5 November 2017; WireGuard for
 * Windows serves \\.\pipe\ProtectedPrefix\Administrators\WireGuard\<tunnel>, wireguard-windows
 * attacksurface.md). Matched without regard to case, as the pipe file system does, and written out in this
 * spelling. */
static const char *const protected_prefixes[] = {
    "ProtectedPrefix\\Administrators\\",
    "ProtectedPrefix\\LocalService\\",
    "ProtectedPrefix\\NetworkService\\",
};

static int equal_nocase(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

/* The length of the protected prefix bare starts with (0 when none), and its canonical spelling. */
static size_t protected_prefix(const char *bare, size_t n, const char **spelling)
{
    size_t i;

    for (i = 0; i < sizeof(protected_prefixes) / sizeof(protected_prefixes[0]); i++) {
        size_t len = strlen(protected_prefixes[i]);
        if (n >= len && equal_nocase(bare, protected_prefixes[i], len)) {
            *spelling = protected_prefixes[i];
            return len;
        }
    }
    *spelling = "";
    return 0;
}

int ph_pipe_name_normalize(const char *name, char *out, size_t out_size)
{
    static const char prefix[] = PH_PIPE_PREFIX;
    const size_t plen = sizeof(prefix) - 1;
    const char *bare = name, *spelling;
    size_t i, n, kept;

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
    /* A protected prefix is the one place a '\' may appear; the name after it follows the rules below (and
     * must not be empty: the prefix alone names no pipe). The whole, prefix included, is at most
     * PH_PIPE_NAME_MAX characters, as Windows counts a pipe name. */
    kept = protected_prefix(bare, n, &spelling);
    if (kept == n)
        return PH_EBADNAME;
    for (i = kept; i < n; i++) {
        unsigned char c = (unsigned char)bare[i];
        /* A backslash would make the name look like a path to a confused reader of logs and is legal but
         * unusual; we refuse it, with '/', control characters and DEL, to keep names unambiguous. */
        if (c < 0x20 || c == 0x7f || c == '\\' || c == '/')
            return PH_EBADNAME;
    }
    if (plen + n + 1 > out_size)
        return PH_EINVAL;
    memcpy(out, prefix, plen);
    memcpy(out + plen, spelling, kept);
    memcpy(out + plen + kept, bare + kept, n - kept + 1);
    return 0;
}
