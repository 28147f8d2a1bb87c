/* security.c — the pipe's security descriptor from SDDL, refusing anything that would leave it unprotected. */
#include "ph_win.h"

#include <sddl.h>
#include <stdlib.h>
#include <string.h>

/* True when the DACL part of an SDDL string carries the NO_ACCESS_CONTROL flag. Windows makes a NULL DACL of
 * it, which the check below refuses; Wine 8 makes an ordinary DACL of it instead, so the text itself is
 * checked too, and the answer is the same everywhere. A ':' outside an ACE's parentheses starts a part
 * ("O:", "G:", "D:", "S:"): SIDs never contain one. */
static int dacl_text_disables_access_control(const char *sddl)
{
    static const char flag[] = "NO_ACCESS_CONTROL";
    char part = 0;
    int depth = 0;
    size_t i;

    for (i = 0; sddl[i] != '\0'; i++) {
        char ch = sddl[i];
        if (ch == '(')
            depth++;
        else if (ch == ')')
            depth -= depth > 0;
        else if (depth == 0 && ch == ':' && i > 0)
            part = sddl[i - 1];
        else if (depth == 0 && (part == 'D' || part == 'd') && strncmp(sddl + i, flag, sizeof(flag) - 1) == 0)
            return 1;
    }
    return 0;
}

int ph__security_from_sddl(const char *sddl, PSECURITY_DESCRIPTOR *out, DWORD *syserr)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t *wsddl = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    int rc = PH_EBADSDDL;

    *out = NULL;
    *syserr = 0;
    if (sddl == NULL || sddl[0] == '\0') {
        *syserr = ERROR_INVALID_PARAMETER;
        goto cleanup;
    }
    if (dacl_text_disables_access_control(sddl)) {
        *syserr = ERROR_INVALID_SECURITY_DESCR;
        goto cleanup;
    }
    wsddl = ph__utf8_to_wide(sddl, syserr);
    if (wsddl == NULL)
        goto cleanup;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(wsddl, SDDL_REVISION_1, &sd, NULL)) {
        *syserr = GetLastError();
        goto cleanup;
    }
    /* A descriptor without a DACL, or with a NULL DACL ("D:NO_ACCESS_CONTROL"), lets everyone in: that is
     * never what a configuration meant, so it is an error rather than a silent weakening. */
    if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
        *syserr = GetLastError();
        goto cleanup;
    }
    if (!present || dacl == NULL) {
        *syserr = ERROR_INVALID_SECURITY_DESCR;
        goto cleanup;
    }
    if (!IsValidSecurityDescriptor(sd)) {
        *syserr = ERROR_INVALID_SECURITY_DESCR;
        goto cleanup;
    }
    *out = sd;
    sd = NULL;
    rc = 0;

cleanup:
    if (sd != NULL)
        LocalFree(sd);
    free(wsddl);
    return rc;
}
